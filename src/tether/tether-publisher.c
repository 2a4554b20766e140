/* tether-publisher.c: the publish state machine — pipeline, SRT attempts across the
 * media nodes, the retry window, and announcing the stream in the room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "tether-enum-types.h"
#include "tether-media-private.h"
#include "tether-publisher.h"

/* Between two attempts; short, the connect timeout already paces a dead node. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define CONNECT_TIMEOUT_MS 1000
#define PEER_IDLE_MS 2000
#define STALL_MS 1000

/* What the appsink's streaming thread may touch: the current link, under a lock. */
typedef struct
{
  GMutex lock;
  TetherSrtLink *link;
} SendSlot;

struct _TetherPublisher
{
  GObject parent_instance;

  GMainContext *context;
  TetherRoom *room;
  char *stream_id;
  double av_retry_time;
  TetherPublisherSource source;
  char *node_pref;
  char *extra;
  guint width;
  guint height;
  guint framerate;
  gboolean audio;
  guint latency;

  TetherPublisherState state;
  int error_code;

  GstElement *pipeline;
  GstElement *sink;
  GSource *bus_source;
  SendSlot *slot;

  /* The current attempt. */
  GStrv nodes;
  guint node_index;
  char *current_node;
  TetherSrtLink *link;
  guint generation;
  guint attempt;
  gboolean connected;

  GSource *window_source;   /* REQUESTING: the av_retry_time window */
  GSource *retry_source;    /* REQUESTING: backoff before the next attempt */
  GSource *stats_source;    /* while started */

  GCancellable *announce_cancellable;
  char *announced_node;     /* the node the room was told, NULL when not announced */
  gint64 bytes_sent;
};

G_DEFINE_FINAL_TYPE (TetherPublisher, tether_publisher, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOM,
  PROP_STREAM_ID,
  PROP_AV_RETRY_TIME,
  PROP_SOURCE,
  PROP_NODE,
  PROP_EXTRA,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_FRAMERATE,
  PROP_AUDIO,
  PROP_LATENCY,
  PROP_STATE,
  PROP_ERROR_CODE,
  PROP_CURRENT_NODE,
  PROP_BYTES_SENT,
  N_PROPS
};

enum
{
  STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void try_current_node (TetherPublisher *self);

/* ---- the send slot ------------------------------------------------------- */

static void
send_slot_set_link (SendSlot      *slot,
                    TetherSrtLink *link)
{
  TetherSrtLink *old;

  g_mutex_lock (&slot->lock);
  old = slot->link;
  slot->link = link ? tether_srt_link_ref (link) : NULL;
  g_mutex_unlock (&slot->lock);
  g_clear_pointer (&old, tether_srt_link_unref);
}

static void
send_slot_free (gpointer data)
{
  SendSlot *slot = data;

  g_clear_pointer (&slot->link, tether_srt_link_unref);
  g_mutex_clear (&slot->lock);
  g_free (slot);
}

/* Streaming thread. */
static GstFlowReturn
on_new_sample (GstAppSink *sink,
               gpointer    data)
{
  SendSlot *slot = data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  TetherSrtLink *link = NULL;
  GstBufferList *list;
  GstBuffer *buffer;

  if (sample == NULL)
    return GST_FLOW_EOS;

  g_mutex_lock (&slot->lock);
  if (slot->link != NULL)
    link = tether_srt_link_ref (slot->link);
  g_mutex_unlock (&slot->lock);
  if (link == NULL)
    return GST_FLOW_OK;

  list = gst_sample_get_buffer_list (sample);
  if (list != NULL)
    {
      for (guint i = 0; i < gst_buffer_list_length (list); i++)
        tether_srt_link_send (link, gst_buffer_list_get (list, i));
    }
  else if ((buffer = gst_sample_get_buffer (sample)) != NULL)
    {
      tether_srt_link_send (link, buffer);
    }
  tether_srt_link_unref (link);
  return GST_FLOW_OK;
}

/* ---- the state machine --------------------------------------------------- */

const char *
tether_publisher_state_to_string (TetherPublisherState state)
{
  switch (state)
    {
    case TETHER_PUBLISHER_STATE_NO_PUBLISH: return "NO_PUBLISH";
    case TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING: return "PUBLISH_REQUESTING";
    case TETHER_PUBLISHER_STATE_PUBLISHING: return "PUBLISHING";
    default: return "UNKNOWN";
    }
}

static void
set_current_node (TetherPublisher *self,
                  const char      *node)
{
  if (g_strcmp0 (self->current_node, node) == 0)
    return;
  g_free (self->current_node);
  self->current_node = g_strdup (node);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT_NODE]);
}

static void
drop_link (TetherPublisher *self)
{
  if (self->slot != NULL)
    send_slot_set_link (self->slot, NULL);
  if (self->link != NULL)
    {
      tether_srt_link_stop (self->link);
      g_clear_pointer (&self->link, tether_srt_link_unref);
    }
  self->connected = FALSE;
}

static void
teardown_pipeline (TetherPublisher *self)
{
  drop_link (self);
  tether_media_clear_source (&self->bus_source);
  tether_media_clear_source (&self->stats_source);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      gst_clear_object (&self->sink);
      gst_clear_object (&self->pipeline);
    }
  /* The appsink freed the slot with its callbacks. */
  self->slot = NULL;
}

static void
withdraw (TetherPublisher *self,
          const char      *reason)
{
  g_cancellable_cancel (self->announce_cancellable);
  g_clear_object (&self->announce_cancellable);
  if (self->announced_node == NULL)
    return;
  g_clear_pointer (&self->announced_node, g_free);
  tether_room_delete_stream (self->room, self->stream_id, reason);
}

static gboolean
window_expired_cb (gpointer data);

/* The one place the state changes: logs, switches the timers, notifies, emits. */
static void
set_state (TetherPublisher      *self,
           TetherPublisherState  state,
           int                   error_code,
           int                   reject,
           const char           *message)
{
  g_autofree char *extended = NULL;
  TetherPublisherState old = self->state;

  if (old == state && self->error_code == error_code)
    return;

  g_debug ("Publisher %s: %s → %s (%d %s)%s%s", self->stream_id,
           tether_publisher_state_to_string (old), tether_publisher_state_to_string (state),
           error_code, tether_error_code_to_string (error_code),
           message ? ": " : "", message ? message : "");

  self->state = state;
  switch (state)
    {
    case TETHER_PUBLISHER_STATE_NO_PUBLISH:
      tether_media_clear_source (&self->window_source);
      tether_media_clear_source (&self->retry_source);
      teardown_pipeline (self);
      break;
    case TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING:
      /* The window runs from the moment the break was seen, across all attempts. */
      if (self->window_source == NULL)
        self->window_source = tether_media_timeout_source (self->context, self->av_retry_time,
                                                           window_expired_cb, self);
      break;
    case TETHER_PUBLISHER_STATE_PUBLISHING:
      tether_media_clear_source (&self->window_source);
      tether_media_clear_source (&self->retry_source);
      break;
    default:
      g_assert_not_reached ();
    }

  extended = tether_media_extended_data (self->stream_id, self->current_node, self->attempt,
                                         reject, message);

  g_object_freeze_notify (G_OBJECT (self));
  if (old != state)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (self->error_code != error_code)
    {
      self->error_code = error_code;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_CODE]);
    }
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[STATE_CHANGED], 0, state, error_code, extended);
}

/* Ends publishing for good: steady errors, the window running out, stop(), the room. */
static void
give_up (TetherPublisher *self,
         int              error_code,
         int              reject,
         const char      *message,
         const char      *withdraw_reason)
{
  g_autoptr(TetherPublisher) keep = g_object_ref (self);

  withdraw (self, withdraw_reason);
  set_state (self, TETHER_PUBLISHER_STATE_NO_PUBLISH, error_code, reject, message);
}

static gboolean
window_expired_cb (gpointer data)
{
  TetherPublisher *self = data;

  g_clear_pointer (&self->window_source, g_source_unref);
  give_up (self, TETHER_ERROR_PUBLISH_RETRY_TIMEOUT, 0,
           "no media node accepted the stream within av_retry_time", "media_lost");
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer data)
{
  TetherPublisher *self = data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  try_current_node (self);
  return G_SOURCE_REMOVE;
}

/* After a failed attempt: the next node, after a short jittered pause. */
static void
schedule_next_node (TetherPublisher *self)
{
  guint n = self->nodes ? g_strv_length (self->nodes) : 0;
  guint delay;

  drop_link (self);
  if (n > 0)
    self->node_index = (self->node_index + 1) % n;
  delay = MIN (BACKOFF_MAX_MS, BACKOFF_MIN_MS * (1u << MIN (self->attempt / MAX (n, 1), 4u)));
  delay = delay / 2 + g_random_int_range (0, (gint32) delay / 2 + 1);
  tether_media_clear_source (&self->retry_source);
  self->retry_source = tether_media_timeout_source (self->context, delay / 1000.0, retry_cb, self);
}

static void
try_current_node (TetherPublisher *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *streamid = NULL;
  const char *node, *url;
  guint16 port = 0;

  drop_link (self);

  /* The room may have logged in again since, with another node list. */
  if (self->nodes == NULL || self->nodes[0] == NULL)
    {
      g_clear_pointer (&self->nodes, g_strfreev);
      self->nodes = tether_media_node_order (self->room, self->current_node ? self->current_node
                                                                            : self->node_pref);
      self->node_index = 0;
    }
  if (self->nodes[0] == NULL)
    {
      /* No node known (yet): keep trying within the window, the room may get some. */
      set_current_node (self, NULL);
      self->attempt++;
      schedule_next_node (self);
      return;
    }

  node = self->nodes[self->node_index];
  set_current_node (self, node);
  self->attempt++;
  url = tether_room_get_media_node_url (self->room, node);
  if (url == NULL || !tether_media_parse_srt_url (url, &host, &port, &error))
    {
      g_debug ("Publisher %s: node %s has no usable URL", self->stream_id, node);
      schedule_next_node (self);
      return;
    }

  streamid = tether_srt_stream_id_new (self->stream_id, "publish",
                                           tether_room_get_token (self->room));
  self->generation++;
  g_debug ("Publisher %s: attempt %u on node %s (%s:%u)", self->stream_id, self->attempt,
           node, host, port);
  self->link = tether_srt_link_start (self->generation, FALSE, host, port, streamid,
                                      (int) self->latency, CONNECT_TIMEOUT_MS, PEER_IDLE_MS,
                                      STALL_MS, self->sink, NULL);
  send_slot_set_link (self->slot, self->link);
}

/* ---- announcing ---------------------------------------------------------- */

static void
announce_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(TetherPublisher) self = user_data;
  g_autoptr(GError) error = NULL;

  if (tether_room_add_stream_finish (TETHER_ROOM (source), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Replaced by a newer announcement (another node): that one reports. */
  if (self->announced_node == NULL || self->state == TETHER_PUBLISHER_STATE_NO_PUBLISH)
    return;

  g_debug ("Publisher %s: the room refused the stream: %s", self->stream_id, error->message);
  if (error->domain == TETHER_ERROR
      && (error->code == TETHER_ERROR_STREAM_ID_TAKEN || error->code == TETHER_ERROR_PUBLISH_DENIED
          || error->code == TETHER_ERROR_STREAM_ID_INVALID))
    {
      /* Not ours to withdraw. */
      g_clear_pointer (&self->announced_node, g_free);
      give_up (self, error->code, 0, error->message, NULL);
    }
}

static void
announce (TetherPublisher *self)
{
  if (g_strcmp0 (self->announced_node, self->current_node) == 0)
    return;

  g_free (self->announced_node);
  self->announced_node = g_strdup (self->current_node);
  g_cancellable_cancel (self->announce_cancellable);
  g_clear_object (&self->announce_cancellable);
  self->announce_cancellable = g_cancellable_new ();
  tether_room_add_stream_async (self->room, self->stream_id, self->current_node, self->extra,
                                self->announce_cancellable, announce_cb, g_object_ref (self));
}

/* ---- the bus: where the streaming and link threads reach the main context -- */

static void
on_link_event (TetherPublisher    *self,
               TetherSrtLinkEvent  event,
               int                 reject,
               const char         *text)
{
  switch (event)
    {
    case TETHER_SRT_LINK_CONNECTED:
      self->connected = TRUE;
      /* Start the node, and its players, on a key frame now rather than in a second. */
      gst_element_send_event (self->sink,
                              gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
                                                                           TRUE, 0));
      break;

    case TETHER_SRT_LINK_FIRST_DATA:
      self->attempt = 0;
      g_clear_pointer (&self->nodes, g_strfreev);
      self->nodes = tether_media_node_order (self->room, self->current_node);
      self->node_index = 0;
      set_state (self, TETHER_PUBLISHER_STATE_PUBLISHING, 0, 0, NULL);
      announce (self);
      break;

    case TETHER_SRT_LINK_FAILED:
      if (reject == SRT_REJX_CONFLICT)
        give_up (self, TETHER_ERROR_STREAM_ID_TAKEN, reject, text, "media_lost");
      else if (tether_media_reject_is_steady (reject))
        give_up (self, TETHER_ERROR_PUBLISH_DENIED, reject, text, "media_lost");
      else
        {
          g_debug ("Publisher %s: node %s failed: %s", self->stream_id, self->current_node, text);
          schedule_next_node (self);
        }
      break;

    case TETHER_SRT_LINK_BROKEN:
      g_debug ("Publisher %s: media break on node %s: %s", self->stream_id, self->current_node, text);
      set_state (self, TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING, TETHER_ERROR_MEDIA_NODE_UNREACHABLE,
                 0, text);
      /* The link to this node just died: with other nodes, walk the list from the next
       * one (a crashed node would cost a whole connect timeout first); alone, retry it. */
      drop_link (self);
      if (self->nodes != NULL && g_strv_length (self->nodes) > 1)
        self->node_index = (self->node_index + 1) % g_strv_length (self->nodes);
      tether_media_clear_source (&self->retry_source);
      self->retry_source = tether_media_timeout_source (self->context, BACKOFF_MIN_MS / 1000.0, retry_cb, self);
      break;

    default:
      break;
    }
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    data)
{
  TetherPublisher *self = data;
  TetherSrtLinkEvent event;
  guint generation = 0;
  int reject = 0;
  const char *text = NULL;

  if (tether_srt_link_parse_message (message, &event, &generation, &reject, &text))
    {
      if (self->link != NULL && generation == self->generation)
        on_link_event (self, event, reject, text);
      return G_SOURCE_CONTINUE;
    }

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *debug = NULL;
      g_autofree char *what = NULL;

      gst_message_parse_error (message, &error, &debug);
      what = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
      g_warning ("Publisher %s: pipeline error from %s (%s)", self->stream_id, what,
                 debug ? debug : "");
      give_up (self, TETHER_ERROR_MEDIA_PIPELINE, 0, what, "media_lost");
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
stats_cb (gpointer data)
{
  TetherPublisher *self = data;
  gint64 bytes = self->link ? tether_srt_link_get_bytes (self->link) : 0;

  /* Bytes are per link; report the running total of the current one. */
  if (bytes != self->bytes_sent)
    {
      self->bytes_sent = bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_SENT]);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the pipeline -------------------------------------------------------- */

static char *
describe_pipeline (TetherPublisher *self,
                   GError         **error)
{
  static const char * const h264[] = { "x264enc", "openh264enc", NULL };
  /* gst-libav last: libavformat drags in a second libsrt (see tether-media-private.h). */
  static const char * const aac[] = { "voaacenc", "fdkaacenc", "avenc_aac", "opusenc", NULL };
  g_autoptr(GString) d = g_string_new (NULL);
  const char *venc = tether_media_pick_element (h264);
  const char *aenc = tether_media_pick_element (aac);
  g_autofree char *caps = g_strdup_printf ("video/x-raw,width=%u,height=%u,framerate=%u/1",
                                           self->width, self->height, self->framerate);

  if (venc == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                           "no H.264 encoder (x264enc or openh264enc) is installed");
      return NULL;
    }

  if (self->source == TETHER_PUBLISHER_SOURCE_CAMERA)
    {
      const char *cam = tether_media_element_exists ("pipewiresrc") ? "pipewiresrc" : "v4l2src";

      if (!tether_media_element_exists (cam))
        {
          g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                               "no camera source (pipewiresrc or v4l2src) is installed");
          return NULL;
        }
      g_string_append_printf (d, "%s ! videoconvert ! videoscale ! videorate ! %s ", cam, caps);
    }
  else
    {
      g_string_append_printf (d, "videotestsrc is-live=true pattern=ball ! %s ", caps);
      /* The clock in the picture makes latency visible; pango is optional. */
      if (tether_media_element_exists ("timeoverlay"))
        g_string_append (d, "! timeoverlay font-desc=\"Sans 24\" ");
    }
  /* 8-bit 4:2:0 constrained baseline: left alone, x264enc picks High 4:4:4 10-bit from a
   * test source, which openh264, browsers and hardware decoders cannot play. */
  g_string_append (d, "! videoconvert ! video/x-raw,format=I420 "
                      "! queue max-size-buffers=2 leaky=downstream ");
  if (g_str_equal (venc, "x264enc"))
    g_string_append_printf (d, "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%u "
                               "bitrate=1500 ", self->framerate);
  else
    g_string_append_printf (d, "! openh264enc gop-size=%u complexity=low ", self->framerate);
  g_string_append (d, "! video/x-h264,profile=constrained-baseline "
                      "! h264parse config-interval=-1 ! queue ! mux. ");

  if (self->audio && aenc != NULL)
    {
      const char *src = self->source == TETHER_PUBLISHER_SOURCE_CAMERA
                          ? "autoaudiosrc"
                          : "audiotestsrc is-live=true wave=sine freq=440 volume=0.1";

      g_string_append_printf (d, "%s ! audioconvert ! audioresample "
                                 "! audio/x-raw,rate=48000,channels=2 ! %s ", src, aenc);
      if (!g_str_equal (aenc, "opusenc"))
        g_string_append (d, "! aacparse ");
      g_string_append (d, "! queue ! mux. ");
    }
  else if (self->audio)
    g_info ("Publisher %s: no AAC or Opus encoder, publishing video only", self->stream_id);

  g_string_append (d, "mpegtsmux name=mux alignment=7 "
                      "! appsink name=sink sync=false async=false enable-last-sample=false");
  return g_string_free (g_steal_pointer (&d), FALSE);
}

static gboolean
build_pipeline (TetherPublisher *self,
                GError         **error)
{
  g_autofree char *desc = describe_pipeline (self, error);
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  g_autoptr(GError) parse_error = NULL;
  GstElement *pipeline;

  if (desc == NULL)
    return FALSE;

  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (pipeline == NULL)
    {
      g_set_error (error, TETHER_ERROR,
                   g_error_matches (parse_error, GST_PARSE_ERROR, GST_PARSE_ERROR_NO_SUCH_ELEMENT)
                     ? TETHER_ERROR_MEDIA_ELEMENT_MISSING : TETHER_ERROR_MEDIA_PIPELINE,
                   "cannot build the publish pipeline: %s", parse_error->message);
      return FALSE;
    }
  g_debug ("Publisher %s: %s", self->stream_id, desc);

  self->pipeline = gst_object_ref_sink (pipeline);
  self->sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "sink");
  self->slot = g_new0 (SendSlot, 1);
  g_mutex_init (&self->slot->lock);
  gst_app_sink_set_callbacks (GST_APP_SINK (self->sink), &callbacks, self->slot, send_slot_free);
  self->bus_source = tether_media_bus_source (self->pipeline, self->context, bus_cb, self);
  self->stats_source = tether_media_timeout_source (self->context, 1.0, stats_cb, self);

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      teardown_pipeline (self);
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_PIPELINE,
                           "the publish pipeline does not start (is the camera in use?)");
      return FALSE;
    }
  return TRUE;
}

/* ---- the room ------------------------------------------------------------ */

static void
on_room_state_changed (TetherRoom      *room,
                       TetherRoomState  room_state,
                       int              error_code,
                       const char      *extended,
                       gpointer         data)
{
  TetherPublisher *self = data;

  if (self->state == TETHER_PUBLISHER_STATE_NO_PUBLISH)
    return;
  if (room_state == TETHER_ROOM_STATE_RECONNECT_FAILED || room_state == TETHER_ROOM_STATE_KICK_OUT
      || room_state == TETHER_ROOM_STATE_LOGOUT || room_state == TETHER_ROOM_STATE_LOGIN_FAILED)
    {
      /* Logging out is the user's own doing: no error. */
      if (error_code == 0 && room_state != TETHER_ROOM_STATE_LOGOUT)
        error_code = TETHER_ERROR_NOT_LOGGED_IN;
      give_up (self, error_code, 0, "left the room", "stopped");
    }
}

/* ---- public API ---------------------------------------------------------- */

/**
 * tether_publisher_new:
 * @room: the room the stream is announced in
 * @stream_id: the stream id
 * @av_retry_time: seconds of retrying after a media break
 *
 * The publisher lives on the thread-default main context of the caller.
 */
TetherPublisher *
tether_publisher_new (TetherRoom *room,
                      const char *stream_id,
                      double      av_retry_time)
{
  g_return_val_if_fail (TETHER_IS_ROOM (room), NULL);
  g_return_val_if_fail (stream_id != NULL, NULL);

  return g_object_new (TETHER_TYPE_PUBLISHER,
                       "room", room,
                       "stream-id", stream_id,
                       "av-retry-time", av_retry_time,
                       NULL);
}

/**
 * tether_publisher_start:
 *
 * Builds the pipeline and starts publishing: PUBLISH_REQUESTING now, PUBLISHING when
 * a media node takes the data. Fails (and stays NO_PUBLISH) when an element is
 * missing or the pipeline does not start.
 */
gboolean
tether_publisher_start (TetherPublisher  *self,
                        GError          **error)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state != TETHER_PUBLISHER_STATE_NO_PUBLISH)
    return TRUE;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  if (!build_pipeline (self, error))
    return FALSE;

  self->attempt = 0;
  g_clear_pointer (&self->nodes, g_strfreev);
  g_clear_pointer (&self->current_node, g_free);
  self->nodes = tether_media_node_order (self->room, self->node_pref);
  self->node_index = 0;
  set_state (self, TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING, 0, 0, NULL);
  try_current_node (self);
  return TRUE;
}

/**
 * tether_publisher_stop:
 *
 * Stops publishing and withdraws the stream ("stopped"): NO_PUBLISH with no error.
 */
void
tether_publisher_stop (TetherPublisher *self)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));

  if (self->state == TETHER_PUBLISHER_STATE_NO_PUBLISH)
    return;
  give_up (self, 0, 0, NULL, "stopped");
}

TetherRoom *
tether_publisher_get_room (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), NULL);
  return self->room;
}

const char *
tether_publisher_get_stream_id (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), NULL);
  return self->stream_id;
}

TetherPublisherState
tether_publisher_get_state (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), TETHER_PUBLISHER_STATE_NO_PUBLISH);
  return self->state;
}

int
tether_publisher_get_error_code (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), 0);
  return self->error_code;
}

/**
 * tether_publisher_get_current_node:
 *
 * Returns: (nullable): the media node in use or being tried
 */
const char *
tether_publisher_get_current_node (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), NULL);
  return self->current_node;
}

gint64
tether_publisher_get_bytes_sent (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), 0);
  return self->bytes_sent;
}

void
tether_publisher_set_source (TetherPublisher       *self,
                             TetherPublisherSource  source)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));

  if (self->source == source)
    return;
  self->source = source;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOURCE]);
}

/**
 * tether_publisher_set_node:
 * @node_id: (nullable): the media node to try first
 */
void
tether_publisher_set_node (TetherPublisher *self,
                           const char      *node_id)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));

  if (g_strcmp0 (self->node_pref, node_id) == 0)
    return;
  g_free (self->node_pref);
  self->node_pref = g_strdup (node_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NODE]);
}

void
tether_publisher_set_av_retry_time (TetherPublisher *self,
                                    double           seconds)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));

  if (self->av_retry_time == seconds)
    return;
  self->av_retry_time = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AV_RETRY_TIME]);
}

/* ---- GObject ------------------------------------------------------------- */

static void
tether_publisher_constructed (GObject *object)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  G_OBJECT_CLASS (tether_publisher_parent_class)->constructed (object);

  g_assert (self->room != NULL && self->stream_id != NULL);
  g_signal_connect_object (self->room, "state-changed", G_CALLBACK (on_room_state_changed),
                           self, 0);
}

static void
tether_publisher_dispose (GObject *object)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  tether_media_clear_source (&self->window_source);
  tether_media_clear_source (&self->retry_source);
  teardown_pipeline (self);
  if (self->room != NULL && self->announced_node != NULL)
    withdraw (self, "stopped");
  g_cancellable_cancel (self->announce_cancellable);
  g_clear_object (&self->announce_cancellable);
  g_clear_object (&self->room);

  G_OBJECT_CLASS (tether_publisher_parent_class)->dispose (object);
}

static void
tether_publisher_finalize (GObject *object)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  g_free (self->stream_id);
  g_free (self->node_pref);
  g_free (self->extra);
  g_free (self->current_node);
  g_free (self->announced_node);
  g_strfreev (self->nodes);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_publisher_parent_class)->finalize (object);
}

static void
tether_publisher_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  switch (prop_id)
    {
    case PROP_ROOM: g_value_set_object (value, self->room); break;
    case PROP_STREAM_ID: g_value_set_string (value, self->stream_id); break;
    case PROP_AV_RETRY_TIME: g_value_set_double (value, self->av_retry_time); break;
    case PROP_SOURCE: g_value_set_enum (value, self->source); break;
    case PROP_NODE: g_value_set_string (value, self->node_pref); break;
    case PROP_EXTRA: g_value_set_string (value, self->extra); break;
    case PROP_WIDTH: g_value_set_uint (value, self->width); break;
    case PROP_HEIGHT: g_value_set_uint (value, self->height); break;
    case PROP_FRAMERATE: g_value_set_uint (value, self->framerate); break;
    case PROP_AUDIO: g_value_set_boolean (value, self->audio); break;
    case PROP_LATENCY: g_value_set_uint (value, self->latency); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_ERROR_CODE: g_value_set_int (value, self->error_code); break;
    case PROP_CURRENT_NODE: g_value_set_string (value, self->current_node); break;
    case PROP_BYTES_SENT: g_value_set_int64 (value, self->bytes_sent); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_uint_prop (TetherPublisher *self,
               guint           *field,
               guint            value,
               guint            prop_id)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
tether_publisher_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  switch (prop_id)
    {
    case PROP_ROOM: self->room = g_value_dup_object (value); break;
    case PROP_STREAM_ID: self->stream_id = g_value_dup_string (value); break;
    case PROP_AV_RETRY_TIME: tether_publisher_set_av_retry_time (self, g_value_get_double (value)); break;
    case PROP_SOURCE: tether_publisher_set_source (self, g_value_get_enum (value)); break;
    case PROP_NODE: tether_publisher_set_node (self, g_value_get_string (value)); break;
    case PROP_EXTRA:
      if (g_strcmp0 (self->extra, g_value_get_string (value)) != 0)
        {
          g_free (self->extra);
          self->extra = g_value_dup_string (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_WIDTH: set_uint_prop (self, &self->width, g_value_get_uint (value), prop_id); break;
    case PROP_HEIGHT: set_uint_prop (self, &self->height, g_value_get_uint (value), prop_id); break;
    case PROP_FRAMERATE: set_uint_prop (self, &self->framerate, g_value_get_uint (value), prop_id); break;
    case PROP_LATENCY: set_uint_prop (self, &self->latency, g_value_get_uint (value), prop_id); break;
    case PROP_AUDIO:
      if (self->audio != g_value_get_boolean (value))
        {
          self->audio = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_publisher_class_init (TetherPublisherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_publisher_constructed;
  object_class->dispose = tether_publisher_dispose;
  object_class->finalize = tether_publisher_finalize;
  object_class->get_property = tether_publisher_get_property;
  object_class->set_property = tether_publisher_set_property;

  properties[PROP_ROOM] = g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM, co);
  properties[PROP_STREAM_ID] = g_param_spec_string ("stream-id", NULL, NULL, NULL, co);
  properties[PROP_AV_RETRY_TIME] =
    g_param_spec_double ("av-retry-time", NULL, NULL, 0, G_MAXDOUBLE, 1200, rw);
  properties[PROP_SOURCE] =
    g_param_spec_enum ("source", NULL, NULL, TETHER_TYPE_PUBLISHER_SOURCE,
                       TETHER_PUBLISHER_SOURCE_TEST, rw);
  properties[PROP_NODE] = g_param_spec_string ("node", NULL, NULL, NULL, rw);
  properties[PROP_EXTRA] = g_param_spec_string ("extra", NULL, NULL, NULL, rw);
  properties[PROP_WIDTH] = g_param_spec_uint ("width", NULL, NULL, 16, 7680, 640, rw);
  properties[PROP_HEIGHT] = g_param_spec_uint ("height", NULL, NULL, 16, 4320, 360, rw);
  properties[PROP_FRAMERATE] = g_param_spec_uint ("framerate", NULL, NULL, 1, 120, 30, rw);
  properties[PROP_AUDIO] = g_param_spec_boolean ("audio", NULL, NULL, TRUE, rw);
  properties[PROP_LATENCY] = g_param_spec_uint ("latency", NULL, NULL, 20, 8000, 120, rw);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_PUBLISHER_STATE,
                       TETHER_PUBLISHER_STATE_NO_PUBLISH, ro);
  properties[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_CURRENT_NODE] = g_param_spec_string ("current-node", NULL, NULL, NULL, ro);
  properties[PROP_BYTES_SENT] =
    g_param_spec_int64 ("bytes-sent", NULL, NULL, 0, G_MAXINT64, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherPublisher::state-changed:
   * @state: the new #TetherPublisherState
   * @error_code: a #TetherError code, 0 when none
   * @extended_data: a JSON object: "stream_id", "node", "attempt", maybe "reject", "message"
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_PUBLISHER_STATE, G_TYPE_INT, G_TYPE_STRING);
}

static void
tether_publisher_init (TetherPublisher *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->av_retry_time = 1200;
  self->width = 640;
  self->height = 360;
  self->framerate = 30;
  self->audio = TRUE;
  self->latency = 120;
  self->state = TETHER_PUBLISHER_STATE_NO_PUBLISH;
}
