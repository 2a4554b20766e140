/* tether-publisher.c: the publish state machine — pipeline, SRT attempts across the
 * media nodes, the retry window, and announcing the stream in the room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "tether-enum-types.h"
#include "tether-media-private.h"
#include "tether-publisher.h"

/* What the appsink's streaming thread may touch: the current link, under a lock. */
typedef struct
{
  GMutex lock;
  TetherSrtLink *link;
} SendSlot;

struct _TetherPublisher
{
  TetherMediaSession parent_instance;

  TetherPublisherSource source;
  GstDevice *device;        /* the camera to open, NULL for the default one */
  char *extra;
  guint width;
  guint height;
  guint framerate;
  gboolean audio;

  /* From start to NO_PUBLISH: capture and encoding outlive the attempts. */
  GstElement *pipeline;
  GstElement *sink;
  SendSlot *slot;

  GCancellable *announce_cancellable;
  char *announced_node;     /* the node the room was told, NULL when not announced */
  gint64 bytes_sent;
};

G_DEFINE_FINAL_TYPE (TetherPublisher, tether_publisher, TETHER_TYPE_MEDIA_SESSION)

enum
{
  PROP_0,
  PROP_SOURCE,
  PROP_DEVICE,
  PROP_EXTRA,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_FRAMERATE,
  PROP_AUDIO,
  PROP_STATE,
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

static const TetherMediaSessionInfo publisher_info = {
  .receiver = FALSE,
  .denied_error = TETHER_ERROR_PUBLISH_DENIED,
  .taken_error = TETHER_ERROR_STREAM_ID_TAKEN,
  .retry_timeout_error = TETHER_ERROR_PUBLISH_RETRY_TIMEOUT,
  .retry_timeout_message = "no media node accepted the stream within av_retry_time",
};

#define SESSION(self) (TETHER_MEDIA_SESSION (self))

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
teardown_pipeline (TetherPublisher *self)
{
  tether_media_session_watch_bus (SESSION (self), NULL);
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
  tether_room_delete_stream (tether_media_session_get_room (SESSION (self)),
                             tether_media_session_get_stream_id (SESSION (self)), reason);
}

/* The pipeline runs on; the attempt's link leaves the send slot (it is stopped). */
static GstElement *
tether_publisher_prepare_attempt (TetherMediaSession  *session,
                                  GError             **error)
{
  return TETHER_PUBLISHER (session)->sink;
}

static void
tether_publisher_end_attempt (TetherMediaSession *session)
{
  TetherPublisher *self = TETHER_PUBLISHER (session);

  if (self->slot != NULL)
    send_slot_set_link (self->slot, NULL);
}

/* Going NO_PUBLISH: the room is told (unless @reason is NULL), capture stops. */
static void
tether_publisher_ending (TetherMediaSession *session,
                         const char         *reason)
{
  TetherPublisher *self = TETHER_PUBLISHER (session);

  withdraw (self, reason);
  teardown_pipeline (self);
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
  if (self->announced_node == NULL
      || tether_media_session_get_state (SESSION (self)) == TETHER_MEDIA_SESSION_STATE_IDLE)
    return;

  g_debug ("Publisher %s: the room refused the stream: %s",
           tether_media_session_get_stream_id (SESSION (self)), error->message);
  if (error->domain == TETHER_ERROR
      && (error->code == TETHER_ERROR_STREAM_ID_TAKEN || error->code == TETHER_ERROR_PUBLISH_DENIED
          || error->code == TETHER_ERROR_STREAM_ID_INVALID))
    {
      /* Not ours to withdraw. */
      g_clear_pointer (&self->announced_node, g_free);
      tether_media_session_give_up (SESSION (self), error->code, 0, error->message, NULL);
    }
}

static void
announce (TetherPublisher *self)
{
  TetherMediaSession *session = SESSION (self);
  const char *node = tether_media_session_get_current_node (session);

  if (g_strcmp0 (self->announced_node, node) == 0)
    return;

  g_free (self->announced_node);
  self->announced_node = g_strdup (node);
  g_cancellable_cancel (self->announce_cancellable);
  g_clear_object (&self->announce_cancellable);
  self->announce_cancellable = g_cancellable_new ();
  tether_room_add_stream_async (tether_media_session_get_room (session),
                                tether_media_session_get_stream_id (session), node, self->extra,
                                self->announce_cancellable, announce_cb, g_object_ref (self));
}

/* ---- link events and the bus --------------------------------------------- */

static void
tether_publisher_link_connected (TetherMediaSession *session)
{
  TetherPublisher *self = TETHER_PUBLISHER (session);

  send_slot_set_link (self->slot, tether_media_session_get_link (session));
  /* Start the node, and its players, on a key frame now rather than in a second. */
  gst_element_send_event (self->sink,
                          gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
                                                                       TRUE, 0));
}

/* The node takes the data: PUBLISHING, and the room learns where the stream is. */
static void
tether_publisher_link_first_data (TetherMediaSession *session)
{
  tether_media_session_succeeded (session);
  announce (TETHER_PUBLISHER (session));
}

static void
tether_publisher_bus_message (TetherMediaSession *session,
                              GstMessage         *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *debug = NULL;
  g_autofree char *what = NULL;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
    return;
  gst_message_parse_error (message, &error, &debug);
  what = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
  g_warning ("Publisher %s: pipeline error from %s (%s)",
             tether_media_session_get_stream_id (session), what, debug ? debug : "");
  tether_media_session_give_up (session, TETHER_ERROR_MEDIA_PIPELINE, 0, what, "media_lost");
}

static void
tether_publisher_update_stats (TetherMediaSession *session,
                               double              seconds)
{
  TetherPublisher *self = TETHER_PUBLISHER (session);
  TetherSrtLink *link = tether_media_session_get_link (session);
  gint64 bytes = link ? tether_srt_link_get_bytes (link) : 0;

  /* Bytes are per link; report the running total of the current one. */
  if (bytes != self->bytes_sent)
    {
      self->bytes_sent = bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_SENT]);
    }
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

  if (self->source == TETHER_PUBLISHER_SOURCE_CAMERA && self->device != NULL)
    {
      /* build_pipeline() adds the device's own element in front of "capture". */
      g_string_append_printf (d, "videoconvert name=capture ! videoscale ! videorate ! %s ", caps);
    }
  else if (self->source == TETHER_PUBLISHER_SOURCE_CAMERA)
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
    g_info ("Publisher %s: no AAC or Opus encoder, publishing video only",
            tether_media_session_get_stream_id (SESSION (self)));

  /* alignment=0: packets come one by one as they are muxed, and tether_srt_link_send()
   * packs them 7 to a message, sending a picture's last ones as soon as its PES ends;
   * alignment=7 held them until the next picture filled the 7, a frame interval of
   * glass-to-glass latency. */
  g_string_append (d, "mpegtsmux name=mux alignment=0 "
                      "! appsink name=sink sync=false async=false enable-last-sample=false");
  return g_string_free (g_steal_pointer (&d), FALSE);
}

/* The chosen camera: the element its provider makes for it (the right v4l2src device
 * or PipeWire node), linked to the "capture" videoconvert of the description. */
static gboolean
add_device_source (TetherPublisher  *self,
                   GError          **error)
{
  g_autoptr(GstElement) capture = gst_bin_get_by_name (GST_BIN (self->pipeline), "capture");
  GstElement *source = gst_device_create_element (self->device, NULL);

  if (source == NULL)
    {
      g_autofree char *name = gst_device_get_display_name (self->device);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                   "no element can open the camera %s", name);
      return FALSE;
    }
  gst_bin_add (GST_BIN (self->pipeline), source);
  if (!gst_element_link (source, capture))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_PIPELINE,
                           "the camera gives no picture the publisher can use");
      return FALSE;
    }
  return TRUE;
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
  g_debug ("Publisher %s: %s", tether_media_session_get_stream_id (SESSION (self)), desc);

  self->pipeline = gst_object_ref_sink (pipeline);
  if (self->source == TETHER_PUBLISHER_SOURCE_CAMERA && self->device != NULL
      && !add_device_source (self, error))
    {
      gst_clear_object (&self->pipeline);
      return FALSE;
    }
  self->sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "sink");
  self->slot = g_new0 (SendSlot, 1);
  g_mutex_init (&self->slot->lock);
  gst_app_sink_set_callbacks (GST_APP_SINK (self->sink), &callbacks, self->slot, send_slot_free);
  tether_media_session_watch_bus (SESSION (self), self->pipeline);

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      teardown_pipeline (self);
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_PIPELINE,
                           "the publish pipeline does not start (is the camera in use?)");
      return FALSE;
    }
  return TRUE;
}

/* ---- public API ---------------------------------------------------------- */

/**
 * tether_publisher_new:
 * @room: the room the stream is announced in
 * @stream_id: the stream id
 * @av_retry_time: seconds of retrying after a media break
 *
 * The publisher lives on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a new publisher, NO_PUBLISH
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
 * @self: a #TetherPublisher
 * @error: return location for a #GError
 *
 * Builds the pipeline and starts publishing: PUBLISH_REQUESTING now, PUBLISHING when
 * a media node takes the data.
 *
 * Returns: %FALSE (and still NO_PUBLISH) when an element is missing or the pipeline
 *   does not start
 */
gboolean
tether_publisher_start (TetherPublisher  *self,
                        GError          **error)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_media_session_get_state (SESSION (self)) != TETHER_MEDIA_SESSION_STATE_IDLE)
    return TRUE;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  if (!build_pipeline (self, error))
    return FALSE;

  tether_media_session_start_walk (SESSION (self));
  return TRUE;
}

/**
 * tether_publisher_stop:
 * @self: a #TetherPublisher
 *
 * Stops publishing and withdraws the stream ("stopped"): NO_PUBLISH with no error.
 */
void
tether_publisher_stop (TetherPublisher *self)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));

  if (tether_media_session_get_state (SESSION (self)) == TETHER_MEDIA_SESSION_STATE_IDLE)
    return;
  tether_media_session_give_up (SESSION (self), 0, 0, NULL, "stopped");
}

/**
 * tether_publisher_get_state:
 * @self: a #TetherPublisher
 *
 * Returns: the publish state
 */
TetherPublisherState
tether_publisher_get_state (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), TETHER_PUBLISHER_STATE_NO_PUBLISH);
  return (TetherPublisherState) tether_media_session_get_state (SESSION (self));
}

/**
 * tether_publisher_get_bytes_sent:
 * @self: a #TetherPublisher
 *
 * Returns: the bytes sent on the current link, updated once a second
 */
gint64
tether_publisher_get_bytes_sent (TetherPublisher *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISHER (self), 0);
  return self->bytes_sent;
}

/**
 * tether_publisher_set_source:
 * @self: a #TetherPublisher
 * @source: what to capture
 *
 * Read at start.
 */
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
 * tether_publisher_set_device:
 * @self: a #TetherPublisher
 * @device: (nullable): a camera found by a #GstDeviceMonitor ("Video/Source"), or
 *   %NULL for the default camera
 *
 * The camera captured when #TetherPublisher:source is
 * %TETHER_PUBLISHER_SOURCE_CAMERA. Read at start.
 */
void
tether_publisher_set_device (TetherPublisher *self,
                             GstDevice       *device)
{
  g_return_if_fail (TETHER_IS_PUBLISHER (self));
  g_return_if_fail (device == NULL || GST_IS_DEVICE (device));

  if (g_set_object (&self->device, device))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE]);
}

/* ---- GObject ------------------------------------------------------------- */

static void
tether_publisher_dispose (GObject *object)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  tether_media_session_shutdown (SESSION (self));
  teardown_pipeline (self);
  if (self->announced_node != NULL)
    withdraw (self, "stopped");
  g_cancellable_cancel (self->announce_cancellable);
  g_clear_object (&self->announce_cancellable);
  g_clear_object (&self->device);

  G_OBJECT_CLASS (tether_publisher_parent_class)->dispose (object);
}

static void
tether_publisher_finalize (GObject *object)
{
  TetherPublisher *self = TETHER_PUBLISHER (object);

  g_free (self->extra);
  g_free (self->announced_node);

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
    case PROP_SOURCE: g_value_set_enum (value, self->source); break;
    case PROP_DEVICE: g_value_set_object (value, self->device); break;
    case PROP_EXTRA: g_value_set_string (value, self->extra); break;
    case PROP_WIDTH: g_value_set_uint (value, self->width); break;
    case PROP_HEIGHT: g_value_set_uint (value, self->height); break;
    case PROP_FRAMERATE: g_value_set_uint (value, self->framerate); break;
    case PROP_AUDIO: g_value_set_boolean (value, self->audio); break;
    case PROP_STATE: g_value_set_enum (value, tether_publisher_get_state (self)); break;
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
    case PROP_SOURCE: tether_publisher_set_source (self, g_value_get_enum (value)); break;
    case PROP_DEVICE: tether_publisher_set_device (self, g_value_get_object (value)); break;
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
  TetherMediaSessionClass *session_class = TETHER_MEDIA_SESSION_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_publisher_dispose;
  object_class->finalize = tether_publisher_finalize;
  object_class->get_property = tether_publisher_get_property;
  object_class->set_property = tether_publisher_set_property;

  session_class->prepare_attempt = tether_publisher_prepare_attempt;
  session_class->end_attempt = tether_publisher_end_attempt;
  session_class->link_connected = tether_publisher_link_connected;
  session_class->link_first_data = tether_publisher_link_first_data;
  session_class->bus_message = tether_publisher_bus_message;
  session_class->update_stats = tether_publisher_update_stats;
  session_class->ending = tether_publisher_ending;

  /**
   * TetherPublisher:source:
   *
   * What to capture; read at start.
   */
  properties[PROP_SOURCE] =
    g_param_spec_enum ("source", NULL, NULL, TETHER_TYPE_PUBLISHER_SOURCE,
                       TETHER_PUBLISHER_SOURCE_TEST, rw);
  /**
   * TetherPublisher:device:
   *
   * The camera to capture from (a #GstDevice of class "Video/Source"); %NULL for the
   * default one. Read at start.
   */
  properties[PROP_DEVICE] = g_param_spec_object ("device", NULL, NULL, GST_TYPE_DEVICE, rw);
  /**
   * TetherPublisher:extra:
   *
   * Application data announced with the stream.
   */
  properties[PROP_EXTRA] = g_param_spec_string ("extra", NULL, NULL, NULL, rw);
  /**
   * TetherPublisher:width:
   *
   * Picture width of the test or camera source; read at start.
   */
  properties[PROP_WIDTH] = g_param_spec_uint ("width", NULL, NULL, 16, 7680, 640, rw);
  /**
   * TetherPublisher:height:
   *
   * Picture height; read at start.
   */
  properties[PROP_HEIGHT] = g_param_spec_uint ("height", NULL, NULL, 16, 4320, 360, rw);
  /**
   * TetherPublisher:framerate:
   *
   * Frames per second; read at start.
   */
  properties[PROP_FRAMERATE] = g_param_spec_uint ("framerate", NULL, NULL, 1, 120, 30, rw);
  /**
   * TetherPublisher:audio:
   *
   * Send audio too, when an AAC or Opus encoder is installed.
   */
  properties[PROP_AUDIO] = g_param_spec_boolean ("audio", NULL, NULL, TRUE, rw);
  /**
   * TetherPublisher:state:
   *
   * The publish state.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_PUBLISHER_STATE,
                       TETHER_PUBLISHER_STATE_NO_PUBLISH, ro);
  /**
   * TetherPublisher:bytes-sent:
   *
   * Bytes sent on the current link, updated once a second.
   */
  properties[PROP_BYTES_SENT] =
    g_param_spec_int64 ("bytes-sent", NULL, NULL, 0, G_MAXINT64, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherPublisher::state-changed:
   * @self: the object that changed state
   * @state: the new #TetherPublisherState
   * @error_code: a #TetherError code, 0 when none
   * @extended_data: a JSON object: "stream_id", "node", "attempt", maybe "reject", "message"
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_PUBLISHER_STATE, G_TYPE_INT, G_TYPE_STRING);

  tether_media_session_class_set_info (session_class, &publisher_info, properties[PROP_STATE],
                                       signals[STATE_CHANGED]);
}

static void
tether_publisher_init (TetherPublisher *self)
{
  self->width = 640;
  self->height = 360;
  self->framerate = 30;
  self->audio = TRUE;
}
