/* tether-player.c: the play state machine — one pipeline per attempt, a data watchdog,
 * SRT attempts across the media nodes, the retry window and statistics
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsrc.h>

#include "tether-enum-types.h"
#include "tether-media-private.h"
#include "tether-player.h"
#include "tether-stream.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define CONNECT_TIMEOUT_MS 1000
#define PEER_IDLE_MS 2000
#define WATCHDOG_MS 200
#define DEMUX_LATENCY_MS 50
#define FIRST_FRAME_MESSAGE "tether-first-frame"

/* What the decoder's streaming thread may touch: counters, no GObject. */
typedef struct
{
  gatomicrefcount ref;
  gint frames;
  gint first_posted;
  guint generation;
  /* Live-edge alignment, streaming thread only (see align_to_live_edge). */
  GstElement *pipeline;       /* weak: the pipeline outlives its probes */
  GstClockTimeDiff min_slack;
} FrameCounter;

/* Frames that measure how early frames reach the sinks, after the GOP burst. */
#define ALIGN_FIRST_FRAME 15
#define ALIGN_LAST_FRAME 45
/* What stays between a frame's arrival and its display once aligned. */
#define ALIGN_MARGIN (30 * GST_MSECOND)

struct _TetherPlayer
{
  GObject parent_instance;

  GMainContext *context;
  TetherRoom *room;
  char *stream_id;
  char *node_pref;
  double av_retry_time;
  GstElement *video_sink;
  gboolean audio;
  gboolean muted;
  guint latency;
  double stall_timeout;

  TetherPlayerState state;
  int error_code;

  /* The current attempt: a pipeline and a link, rebuilt each time. */
  GstElement *pipeline;
  GSource *bus_source;
  FrameCounter *counter;
  TetherSrtLink *link;
  guint generation;
  gboolean connected;
  GStrv nodes;
  guint node_index;
  char *current_node;
  guint attempt;

  GSource *window_source;
  GSource *retry_source;
  GSource *watchdog_source;

  /* Watchdog and statistics. */
  gint64 started_at;
  gint64 last_bytes;
  gint64 last_progress;
  gint64 stats_at;
  gint64 stats_bytes;
  guint64 stats_frames;
  guint64 frames_total;     /* frames of finished attempts */
  double fps;
  double bitrate;
  double rtt;
  gint64 packets_lost;
  gint64 first_frame_ms;
};

G_DEFINE_FINAL_TYPE (TetherPlayer, tether_player, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOM,
  PROP_STREAM_ID,
  PROP_NODE,
  PROP_AV_RETRY_TIME,
  PROP_VIDEO_SINK,
  PROP_AUDIO,
  PROP_MUTED,
  PROP_LATENCY,
  PROP_STALL_TIMEOUT,
  PROP_STATE,
  PROP_ERROR_CODE,
  PROP_CURRENT_NODE,
  PROP_FRAMES_DECODED,
  PROP_FPS,
  PROP_BITRATE,
  PROP_RTT,
  PROP_PACKETS_LOST,
  PROP_FIRST_FRAME_MS,
  N_PROPS
};

enum
{
  STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void try_current_node (TetherPlayer *self);
static gboolean bus_cb (GstBus *bus, GstMessage *message, gpointer data);

/* ---- streaming-thread pieces --------------------------------------------- */

static FrameCounter *
frame_counter_ref (FrameCounter *counter)
{
  g_atomic_ref_count_inc (&counter->ref);
  return counter;
}

static void
frame_counter_unref (gpointer data)
{
  FrameCounter *counter = data;

  if (g_atomic_ref_count_dec (&counter->ref))
    g_free (counter);
}

/* Moves every sink of @pipeline by @offset, video and audio alike so they stay in
 * sync; nothing moves unless every sink can. */
static void
set_sinks_offset (GstElement       *pipeline,
                  GstClockTimeDiff  offset)
{
  g_autoptr(GstIterator) it = gst_bin_iterate_sinks (GST_BIN (pipeline));
  g_autoptr(GPtrArray) sinks = g_ptr_array_new_with_free_func (gst_object_unref);
  GValue item = G_VALUE_INIT;

  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
    {
      GObject *sink = g_value_get_object (&item);

      if (g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "ts-offset") == NULL)
        {
          g_value_unset (&item);
          return;
        }
      g_ptr_array_add (sinks, g_object_ref (sink));
      g_value_reset (&item);
    }
  g_value_unset (&item);

  for (guint i = 0; i < sinks->len; i++)
    g_object_set (sinks->pdata[i], "ts-offset", (gint64) offset, NULL);
}

/* A player that starts from the node's cached GOP maps the stream's clock on an old
 * frame and so shows everything a little later than it could (about 60 ms measured).
 * Over frames 15–45 this measures how early frames reach the sinks (their slack), then
 * moves every sink's timing so the tightest frame keeps ALIGN_MARGIN: the picture
 * plays at the live edge. Streaming thread. */
static void
align_to_live_edge (FrameCounter *counter,
                    GstPad       *pad,
                    GstBuffer    *buffer,
                    int           frame)
{
  g_autoptr(GstEvent) event = NULL;
  g_autoptr(GstQuery) query = NULL;
  const GstSegment *segment;
  GstClockTime rt, now, latency = 0;
  gboolean live;

  if (frame <= ALIGN_FIRST_FRAME || frame > ALIGN_LAST_FRAME || counter->pipeline == NULL
      || !GST_BUFFER_PTS_IS_VALID (buffer))
    return;
  event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (event == NULL)
    return;
  gst_event_parse_segment (event, &segment);
  rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  now = gst_element_get_current_running_time (counter->pipeline);
  query = gst_query_new_latency ();
  if (!GST_CLOCK_TIME_IS_VALID (rt) || !GST_CLOCK_TIME_IS_VALID (now)
      || !gst_element_query (counter->pipeline, query))
    return;
  gst_query_parse_latency (query, &live, &latency, NULL);

  counter->min_slack = MIN (counter->min_slack, GST_CLOCK_DIFF (now, rt + latency));
  if (frame == ALIGN_LAST_FRAME && counter->min_slack > ALIGN_MARGIN)
    {
      GST_INFO ("playing %" GST_STIME_FORMAT " earlier, at the live edge",
                GST_STIME_ARGS (counter->min_slack - ALIGN_MARGIN));
      set_sinks_offset (counter->pipeline, -(counter->min_slack - ALIGN_MARGIN));
    }
}

/* Decoder src pad: counts frames, posts the first one of each attempt. */
static GstPadProbeReturn
count_frames_probe (GstPad          *pad,
                    GstPadProbeInfo *info,
                    gpointer         data)
{
  FrameCounter *counter = data;
  GstElement *element;
  int frame = g_atomic_int_add (&counter->frames, 1) + 1;

  align_to_live_edge (counter, pad, GST_PAD_PROBE_INFO_BUFFER (info), frame);
  if (g_atomic_int_compare_and_exchange (&counter->first_posted, 0, 1)
      && (element = gst_pad_get_parent_element (pad)) != NULL)
    {
      GstStructure *s = gst_structure_new (FIRST_FRAME_MESSAGE, "generation", G_TYPE_UINT,
                                           counter->generation, NULL);

      gst_element_post_message (element, gst_message_new_application (GST_OBJECT (element), s));
      gst_object_unref (element);
    }
  return GST_PAD_PROBE_OK;
}

/* tsdemux's streaming thread: wires video to the prepared chain and audio to a
 * decoder and a sink (or a fakesink). Touches only GStreamer objects. */
static void
on_pad_added (GstElement *demux,
              GstPad     *pad,
              gpointer    data)
{
  gboolean play_audio = GPOINTER_TO_INT (data);
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  g_autoptr(GstElement) pipeline = GST_ELEMENT (gst_element_get_parent (demux));
  const GstStructure *s;
  const char *name;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps == NULL || gst_caps_is_empty (caps) || pipeline == NULL)
    return;
  s = gst_caps_get_structure (caps, 0);
  name = gst_structure_get_name (s);

  if (g_str_equal (name, "video/x-h264"))
    {
      g_autoptr(GstElement) queue = gst_bin_get_by_name (GST_BIN (pipeline), "vqueue");
      g_autoptr(GstPad) sinkpad = gst_element_get_static_pad (queue, "sink");

      if (!gst_pad_is_linked (sinkpad))
        gst_pad_link (pad, sinkpad);
    }
  else if (g_str_has_prefix (name, "audio/"))
    {
      g_autoptr(GstElement) existing = gst_bin_get_by_name (GST_BIN (pipeline), "aqueue");
      g_autoptr(GError) error = NULL;
      g_autoptr(GstPad) sinkpad = NULL;
      GstElement *bin;

      if (existing != NULL)
        return;  /* one audio track */
      if (play_audio)
        {
          /* Named decoders rather than decodebin, which would pick gst-libav's. */
          static const char * const aac[] = { "faad", "fdkaacdec", "avdec_aac", NULL };
          static const char * const opus[] = { "opusdec", "avdec_opus", NULL };
          const char *dec = g_str_equal (name, "audio/mpeg") ? tether_media_pick_element (aac)
                                                            : tether_media_pick_element (opus);
          g_autofree char *desc = g_strdup_printf ("queue name=aqueue max-size-time=500000000 "
                                                   "leaky=downstream ! %s%s ! audioconvert "
                                                   "! audioresample ! volume name=avolume "
                                                   "! autoaudiosink",
                                                   g_str_equal (name, "audio/mpeg") ? "aacparse ! " : "",
                                                   dec ? dec : "decodebin");

          bin = gst_parse_bin_from_description (desc, TRUE, &error);
        }
      else
        bin = gst_parse_bin_from_description ("queue name=aqueue ! fakesink sync=false async=false",
                                              TRUE, &error);
      if (bin == NULL)
        {
          GST_WARNING ("no audio branch: %s", error->message);
          return;
        }
      if (play_audio)
        {
          /* The mute the main thread last asked for (GData has its own lock). */
          g_autoptr(GstElement) volume = gst_bin_get_by_name (GST_BIN (bin), "avolume");

          g_object_set (volume, "mute",
                        GPOINTER_TO_INT (g_object_get_data (G_OBJECT (pipeline), "tether-mute")),
                        NULL);
        }
      gst_bin_add (GST_BIN (pipeline), bin);
      sinkpad = gst_element_get_static_pad (bin, "sink");
      gst_pad_link (pad, sinkpad);
      gst_element_sync_state_with_parent (bin);
    }
}

/* ---- the state machine --------------------------------------------------- */

const char *
tether_player_state_to_string (TetherPlayerState state)
{
  switch (state)
    {
    case TETHER_PLAYER_STATE_NO_PLAY: return "NO_PLAY";
    case TETHER_PLAYER_STATE_PLAY_REQUESTING: return "PLAY_REQUESTING";
    case TETHER_PLAYER_STATE_PLAYING: return "PLAYING";
    default: return "UNKNOWN";
    }
}

static void
set_current_node (TetherPlayer *self,
                  const char   *node)
{
  if (g_strcmp0 (self->current_node, node) == 0)
    return;
  g_free (self->current_node);
  self->current_node = g_strdup (node);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT_NODE]);
}

/* Ends the attempt: the link thread is told to stop, the pipeline goes away (the
 * app's video sink is kept for the next one). */
static void
teardown_attempt (TetherPlayer *self)
{
  if (self->link != NULL)
    {
      tether_srt_link_stop (self->link);
      g_clear_pointer (&self->link, tether_srt_link_unref);
    }
  self->connected = FALSE;
  tether_media_clear_source (&self->bus_source);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      if (self->video_sink != NULL && gst_object_has_as_parent (GST_OBJECT (self->video_sink),
                                                                GST_OBJECT (self->pipeline)))
        gst_bin_remove (GST_BIN (self->pipeline), self->video_sink);
      gst_clear_object (&self->pipeline);
    }
  if (self->counter != NULL)
    {
      self->frames_total += (guint) g_atomic_int_get (&self->counter->frames);
      g_clear_pointer (&self->counter, frame_counter_unref);
    }
}

static gboolean window_expired_cb (gpointer data);
static gboolean watchdog_cb (gpointer data);

static void
set_state (TetherPlayer      *self,
           TetherPlayerState  state,
           int                error_code,
           int                reject,
           const char        *message)
{
  g_autofree char *extended = NULL;
  TetherPlayerState old = self->state;

  if (old == state && self->error_code == error_code)
    return;

  g_debug ("Player %s: %s → %s (%d %s)%s%s", self->stream_id,
           tether_player_state_to_string (old), tether_player_state_to_string (state),
           error_code, tether_error_code_to_string (error_code),
           message ? ": " : "", message ? message : "");

  self->state = state;
  switch (state)
    {
    case TETHER_PLAYER_STATE_NO_PLAY:
      tether_media_clear_source (&self->window_source);
      tether_media_clear_source (&self->retry_source);
      tether_media_clear_source (&self->watchdog_source);
      teardown_attempt (self);
      break;
    case TETHER_PLAYER_STATE_PLAY_REQUESTING:
      if (self->window_source == NULL)
        self->window_source = tether_media_timeout_source (self->context, self->av_retry_time,
                                                           window_expired_cb, self);
      if (self->watchdog_source == NULL)
        self->watchdog_source = tether_media_timeout_source (self->context, WATCHDOG_MS / 1000.0,
                                                             watchdog_cb, self);
      break;
    case TETHER_PLAYER_STATE_PLAYING:
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

static void
give_up (TetherPlayer *self,
         int           error_code,
         int           reject,
         const char   *message)
{
  g_autoptr(TetherPlayer) keep = g_object_ref (self);

  set_state (self, TETHER_PLAYER_STATE_NO_PLAY, error_code, reject, message);
}

static gboolean
window_expired_cb (gpointer data)
{
  TetherPlayer *self = data;

  g_clear_pointer (&self->window_source, g_source_unref);
  give_up (self, TETHER_ERROR_PLAY_RETRY_TIMEOUT, 0,
           "no media node delivered the stream within av_retry_time");
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer data)
{
  TetherPlayer *self = data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  try_current_node (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (TetherPlayer *self,
                gboolean      next_node)
{
  guint n = self->nodes ? g_strv_length (self->nodes) : 0;
  guint delay = BACKOFF_MIN_MS;

  teardown_attempt (self);
  if (next_node)
    {
      if (n > 0)
        self->node_index = (self->node_index + 1) % n;
      delay = MIN (BACKOFF_MAX_MS, BACKOFF_MIN_MS * (1u << MIN (self->attempt / MAX (n, 1), 4u)));
      delay = delay / 2 + g_random_int_range (0, (gint32) delay / 2 + 1);
    }
  tether_media_clear_source (&self->retry_source);
  self->retry_source = tether_media_timeout_source (self->context, delay / 1000.0, retry_cb, self);
}

/* A media break or a stall: back to REQUESTING, the same node first. */
static void
media_break (TetherPlayer *self,
             const char   *why)
{
  g_debug ("Player %s: media break on node %s: %s", self->stream_id, self->current_node, why);
  set_state (self, TETHER_PLAYER_STATE_PLAY_REQUESTING, TETHER_ERROR_MEDIA_NODE_UNREACHABLE, 0, why);
  schedule_retry (self, FALSE);
}

static GstElement *
build_pipeline (TetherPlayer  *self,
                GError       **error)
{
  /* gst-libav last: libavformat drags in a second libsrt (see tether-media-private.h). */
  static const char * const decoders[] = { "openh264dec", "avdec_h264", NULL };
  const char *decoder = tether_media_pick_element (decoders);
  g_autofree char *desc = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GstElement) demux = NULL;
  g_autoptr(GstElement) dec = NULL;
  g_autoptr(GstElement) convert = NULL;
  g_autoptr(GstPad) pad = NULL;
  GstElement *pipeline;
  GstElement *sink;
  gboolean play_audio;

  if (decoder == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                           "no H.264 decoder (avdec_h264 or openh264dec) is installed");
      return NULL;
    }

  desc = g_strdup_printf ("appsrc name=src is-live=true do-timestamp=true format=time "
                          "max-bytes=4000000 "
                          "caps=\"video/mpegts,systemstream=(boolean)true,packetsize=(int)188\" "
                          "! tsdemux name=demux latency=%d "
                          "queue name=vqueue max-size-buffers=0 max-size-bytes=0 "
                          "max-size-time=1000000000 ! h264parse ! %s name=dec "
                          "! videoconvert name=convert",
                          DEMUX_LATENCY_MS, decoder);
  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (pipeline == NULL)
    {
      g_set_error (error, TETHER_ERROR,
                   g_error_matches (parse_error, GST_PARSE_ERROR, GST_PARSE_ERROR_NO_SUCH_ELEMENT)
                     ? TETHER_ERROR_MEDIA_ELEMENT_MISSING : TETHER_ERROR_MEDIA_PIPELINE,
                   "cannot build the play pipeline: %s", parse_error->message);
      return NULL;
    }
  gst_object_ref_sink (pipeline);

  if (self->video_sink != NULL)
    sink = self->video_sink;
  else
    sink = gst_element_factory_make_full ("fakesink", "name", "vsink", "sync", FALSE,
                                          "async", FALSE, NULL);
  gst_bin_add (GST_BIN (pipeline), sink);
  convert = gst_bin_get_by_name (GST_BIN (pipeline), "convert");
  if (!gst_element_link (convert, sink))
    {
      gst_bin_remove (GST_BIN (pipeline), sink);
      gst_object_unref (pipeline);
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_PIPELINE,
                           "the video sink does not take raw video");
      return NULL;
    }

  play_audio = self->audio && g_getenv ("TETHER_NO_AUDIO") == NULL
               && tether_media_element_exists ("autoaudiosink");
  if (play_audio)
    {
      /* autoaudiosink falls back to a sink that blocks forever when there is no device. */
      const char *runtime = g_get_user_runtime_dir ();
      g_autofree char *pulse = g_build_filename (runtime, "pulse", "native", NULL);
      g_autofree char *pw = g_build_filename (runtime, "pipewire-0", NULL);

      play_audio = g_getenv ("PULSE_SERVER") != NULL || g_file_test (pulse, G_FILE_TEST_EXISTS)
                   || g_file_test (pw, G_FILE_TEST_EXISTS)
                   || g_file_test ("/dev/snd/controlC0", G_FILE_TEST_EXISTS);
    }
  g_object_set_data (G_OBJECT (pipeline), "tether-mute", GINT_TO_POINTER (self->muted));
  demux = gst_bin_get_by_name (GST_BIN (pipeline), "demux");
  g_signal_connect (demux, "pad-added", G_CALLBACK (on_pad_added), GINT_TO_POINTER (play_audio));

  dec = gst_bin_get_by_name (GST_BIN (pipeline), "dec");
  pad = gst_element_get_static_pad (dec, "src");
  self->counter = g_new0 (FrameCounter, 1);
  g_atomic_ref_count_init (&self->counter->ref);
  self->counter->generation = self->generation;
  self->counter->pipeline = pipeline;
  self->counter->min_slack = G_MAXINT64;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_frames_probe,
                     frame_counter_ref (self->counter), frame_counter_unref);
  return pipeline;
}

static void
try_current_node (TetherPlayer *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) appsrc = NULL;
  g_autofree char *host = NULL;
  g_autofree char *streamid = NULL;
  const char *node, *url;
  guint16 port = 0;

  teardown_attempt (self);

  if (self->nodes == NULL || self->nodes[0] == NULL)
    {
      g_clear_pointer (&self->nodes, g_strfreev);
      self->nodes = tether_media_node_order (self->room, self->node_pref);
      self->node_index = 0;
    }
  self->attempt++;
  if (self->nodes[0] == NULL)
    {
      set_current_node (self, NULL);
      schedule_retry (self, TRUE);
      return;
    }

  node = self->nodes[self->node_index];
  set_current_node (self, node);
  url = tether_room_get_media_node_url (self->room, node);
  if (url == NULL || !tether_media_parse_srt_url (url, &host, &port, &error))
    {
      schedule_retry (self, TRUE);
      return;
    }

  self->generation++;
  self->pipeline = build_pipeline (self, &error);
  if (self->pipeline == NULL)
    {
      give_up (self, error->code, 0, error->message);
      return;
    }
  self->bus_source = tether_media_bus_source (self->pipeline, self->context, bus_cb, self);
  appsrc = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);

  streamid = tether_srt_stream_id_new (self->stream_id, "request",
                                           tether_room_get_token (self->room));
  g_debug ("Player %s: attempt %u on node %s (%s:%u)", self->stream_id, self->attempt, node,
           host, port);
  self->last_progress = g_get_monotonic_time ();
  self->last_bytes = 0;
  self->link = tether_srt_link_start (self->generation, TRUE, host, port, streamid,
                                      (int) self->latency, CONNECT_TIMEOUT_MS, PEER_IDLE_MS,
                                      0, appsrc, appsrc);
}

/* ---- the bus: where the streaming and link threads reach the main context -- */

static void
on_link_event (TetherPlayer       *self,
               TetherSrtLinkEvent  event,
               int                 reject,
               const char         *text)
{
  switch (event)
    {
    case TETHER_SRT_LINK_CONNECTED:
      self->connected = TRUE;
      self->last_progress = g_get_monotonic_time ();
      break;

    case TETHER_SRT_LINK_FIRST_DATA:
      break;

    case TETHER_SRT_LINK_FAILED:
      if (tether_media_reject_is_steady (reject))
        give_up (self, TETHER_ERROR_PLAY_DENIED, reject, text);
      else
        {
          g_debug ("Player %s: node %s failed: %s", self->stream_id, self->current_node, text);
          schedule_retry (self, TRUE);
        }
      break;

    case TETHER_SRT_LINK_BROKEN:
      media_break (self, text);
      break;

    default:
      break;
    }
}

static void
on_first_frame (TetherPlayer *self)
{
  if (self->first_frame_ms < 0)
    {
      self->first_frame_ms = (g_get_monotonic_time () - self->started_at) / 1000;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRST_FRAME_MS]);
    }
  self->attempt = 0;
  /* The next break walks the list from this node. */
  g_clear_pointer (&self->nodes, g_strfreev);
  self->nodes = tether_media_node_order (self->room, self->current_node);
  self->node_index = 0;
  set_state (self, TETHER_PLAYER_STATE_PLAYING, 0, 0, NULL);
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    data)
{
  TetherPlayer *self = data;
  TetherSrtLinkEvent event;
  guint generation = 0;
  int reject = 0;
  const char *text = NULL;
  const GstStructure *s;

  if (tether_srt_link_parse_message (message, &event, &generation, &reject, &text))
    {
      if (self->link != NULL && generation == self->generation)
        on_link_event (self, event, reject, text);
      return G_SOURCE_CONTINUE;
    }

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_APPLICATION:
      s = gst_message_get_structure (message);
      if (s != NULL && gst_structure_has_name (s, FIRST_FRAME_MESSAGE)
          && gst_structure_get_uint (s, "generation", &generation)
          && generation == self->generation && self->state != TETHER_PLAYER_STATE_NO_PLAY)
        on_first_frame (self);
      break;

    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;
        g_autofree char *what = NULL;

        gst_message_parse_error (message, &error, &debug);
        what = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
        /* A decoder or demuxer choking on a damaged stream: a fresh attempt fixes it. */
        g_debug ("Player %s: pipeline error from %s (%s)", self->stream_id, what, debug ? debug : "");
        media_break (self, what);
      }
      break;

    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- watchdog and statistics --------------------------------------------- */

static void
update_double (TetherPlayer *self,
               double       *field,
               double        value,
               guint         prop_id)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
update_stats (TetherPlayer *self,
              gint64        now,
              gint64        bytes)
{
  guint64 frames = tether_player_get_frames_decoded (self);
  double seconds = (now - self->stats_at) / (double) G_USEC_PER_SEC;
  SRT_TRACEBSTATS perf;

  if (self->stats_at == 0 || seconds <= 0 || bytes < self->stats_bytes)
    {
      self->stats_at = now;
      self->stats_bytes = bytes;
      self->stats_frames = frames;
      return;
    }
  if (seconds < 1.0)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  update_double (self, &self->fps, (frames - self->stats_frames) / seconds, PROP_FPS);
  update_double (self, &self->bitrate, 8.0 * (bytes - self->stats_bytes) / seconds, PROP_BITRATE);
  if (self->link != NULL && tether_srt_link_get_stats (self->link, &perf))
    {
      update_double (self, &self->rtt, perf.msRTT, PROP_RTT);
      if (self->packets_lost != perf.pktRcvLossTotal)
        {
          self->packets_lost = perf.pktRcvLossTotal;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PACKETS_LOST]);
        }
    }
  if (frames != self->stats_frames)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_DECODED]);
  g_object_thaw_notify (G_OBJECT (self));

  self->stats_at = now;
  self->stats_bytes = bytes;
  self->stats_frames = frames;
}

/* SRT itself notices a silent peer only after seconds; a second without data is
 * enough for live media to call it a break. */
static gboolean
watchdog_cb (gpointer data)
{
  TetherPlayer *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 bytes = self->link ? tether_srt_link_get_bytes (self->link) : 0;

  update_stats (self, now, bytes);

  if (self->link == NULL || !self->connected)
    return G_SOURCE_CONTINUE;
  if (bytes != self->last_bytes)
    {
      self->last_bytes = bytes;
      self->last_progress = now;
      return G_SOURCE_CONTINUE;
    }
  if (now - self->last_progress > (gint64) (self->stall_timeout * G_USEC_PER_SEC))
    media_break (self, "no data from the media node");
  return G_SOURCE_CONTINUE;
}

/* ---- the room ------------------------------------------------------------ */

static void
on_room_state_changed (TetherRoom      *room,
                       TetherRoomState  room_state,
                       int              error_code,
                       const char      *extended,
                       gpointer         data)
{
  TetherPlayer *self = data;

  if (self->state == TETHER_PLAYER_STATE_NO_PLAY)
    return;
  if (room_state == TETHER_ROOM_STATE_RECONNECT_FAILED || room_state == TETHER_ROOM_STATE_KICK_OUT
      || room_state == TETHER_ROOM_STATE_LOGOUT || room_state == TETHER_ROOM_STATE_LOGIN_FAILED)
    {
      if (error_code == 0 && room_state != TETHER_ROOM_STATE_LOGOUT)
        error_code = TETHER_ERROR_NOT_LOGGED_IN;
      give_up (self, error_code, 0, "left the room");
    }
}

static void
on_room_stream_update (TetherRoom       *room,
                       TetherUpdateType  update,
                       GPtrArray        *streams,
                       const char       *reason,
                       gpointer          data)
{
  TetherPlayer *self = data;

  for (guint i = 0; streams != NULL && i < streams->len; i++)
    {
      TetherStream *stream = g_ptr_array_index (streams, i);

      if (g_strcmp0 (tether_stream_get_id (stream), self->stream_id) != 0)
        continue;
      if (update == TETHER_UPDATE_DELETE && g_strcmp0 (reason, "replaced") == 0)
        {
          /* The room's way of saying "changed": the new version follows as an ADD. */
          continue;
        }
      if (update == TETHER_UPDATE_DELETE)
        {
          /* Never keep pulling a deleted stream. */
          if (self->state != TETHER_PLAYER_STATE_NO_PLAY)
            give_up (self, TETHER_ERROR_PLAY_STREAM_DELETED, 0, reason ? reason : "deleted");
        }
      else
        {
          const char *node = tether_stream_get_node (stream);
          gboolean moved = node != NULL && *node != '\0' && self->current_node != NULL
                           && g_strcmp0 (node, self->current_node) != 0;

          /* The publisher moved (its node died, or it failed over): follow it now
           * rather than after our own stall check and a connect to the old node. */
          tether_player_set_node (self, node);
          if (moved && self->state != TETHER_PLAYER_STATE_NO_PLAY)
            {
              g_clear_pointer (&self->nodes, g_strfreev);
              media_break (self, "the stream moved to another node");
            }
        }
    }
}

/* ---- public API ---------------------------------------------------------- */

/**
 * tether_player_new:
 * @node: (nullable): the media node of the stream (TetherStream:node)
 *
 * The player lives on the thread-default main context of the caller.
 */
TetherPlayer *
tether_player_new (TetherRoom *room,
                   const char *stream_id,
                   const char *node,
                   double      av_retry_time)
{
  g_return_val_if_fail (TETHER_IS_ROOM (room), NULL);
  g_return_val_if_fail (stream_id != NULL, NULL);

  return g_object_new (TETHER_TYPE_PLAYER,
                       "room", room,
                       "stream-id", stream_id,
                       "node", node,
                       "av-retry-time", av_retry_time,
                       NULL);
}

/**
 * tether_player_start:
 *
 * PLAY_REQUESTING now, PLAYING on the first decoded frame.
 */
gboolean
tether_player_start (TetherPlayer  *self,
                     GError       **error)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state != TETHER_PLAYER_STATE_NO_PLAY)
    return TRUE;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  if (!tether_media_element_exists ("tsdemux") || !tether_media_element_exists ("h264parse")
      || !tether_media_element_exists ("appsrc"))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                           "tsdemux, h264parse or appsrc is not installed");
      return FALSE;
    }

  self->started_at = g_get_monotonic_time ();
  self->attempt = 0;
  g_clear_pointer (&self->nodes, g_strfreev);
  g_clear_pointer (&self->current_node, g_free);
  self->nodes = tether_media_node_order (self->room, self->node_pref);
  self->node_index = 0;
  set_state (self, TETHER_PLAYER_STATE_PLAY_REQUESTING, 0, 0, NULL);
  try_current_node (self);
  return self->state != TETHER_PLAYER_STATE_NO_PLAY;
}

/**
 * tether_player_stop:
 *
 * NO_PLAY with no error.
 */
void
tether_player_stop (TetherPlayer *self)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  if (self->state == TETHER_PLAYER_STATE_NO_PLAY)
    return;
  give_up (self, 0, 0, NULL);
}

void
tether_player_set_muted (TetherPlayer *self,
                         gboolean      muted)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  muted = !!muted;
  if (self->muted == muted)
    return;
  self->muted = muted;
  if (self->pipeline != NULL)
    {
      g_autoptr(GstElement) volume = NULL;

      g_object_set_data (G_OBJECT (self->pipeline), "tether-mute", GINT_TO_POINTER (muted));
      volume = gst_bin_get_by_name (GST_BIN (self->pipeline), "avolume");
      if (volume != NULL)
        g_object_set (volume, "mute", muted, NULL);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

gboolean
tether_player_get_muted (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), FALSE);
  return self->muted;
}

TetherRoom *
tether_player_get_room (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  return self->room;
}

const char *
tether_player_get_stream_id (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  return self->stream_id;
}

TetherPlayerState
tether_player_get_state (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), TETHER_PLAYER_STATE_NO_PLAY);
  return self->state;
}

int
tether_player_get_error_code (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), 0);
  return self->error_code;
}

/**
 * tether_player_get_current_node:
 *
 * Returns: (nullable): the node in use or being tried
 */
const char *
tether_player_get_current_node (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  return self->current_node;
}

/**
 * tether_player_set_node:
 * @node: (nullable): the node to try first from the next attempt on
 */
void
tether_player_set_node (TetherPlayer *self,
                        const char   *node)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  if (node != NULL && *node == '\0')
    node = NULL;
  if (g_strcmp0 (self->node_pref, node) == 0)
    return;
  g_free (self->node_pref);
  self->node_pref = g_strdup (node);
  /* A walk in progress starts again from the new node. */
  if (self->state == TETHER_PLAYER_STATE_PLAY_REQUESTING)
    g_clear_pointer (&self->nodes, g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NODE]);
}

/**
 * tether_player_set_video_sink:
 * @sink: (nullable) (transfer none): a video sink, e.g. a paintable sink
 *
 * Takes effect at the next attempt; set it before tether_player_start().
 */
void
tether_player_set_video_sink (TetherPlayer *self,
                              GstElement   *sink)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));
  g_return_if_fail (sink == NULL || GST_IS_ELEMENT (sink));

  if (self->video_sink == sink)
    return;
  if (self->video_sink != NULL && self->pipeline != NULL
      && gst_object_has_as_parent (GST_OBJECT (self->video_sink), GST_OBJECT (self->pipeline)))
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (self->pipeline), self->video_sink);
    }
  gst_clear_object (&self->video_sink);
  if (sink != NULL)
    self->video_sink = gst_object_ref_sink (sink);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIDEO_SINK]);
}

/**
 * tether_player_get_video_sink:
 *
 * Returns: (nullable) (transfer none): the video sink set by the application
 */
GstElement *
tether_player_get_video_sink (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  return self->video_sink;
}

/**
 * tether_player_get_frames_decoded:
 *
 * Returns: the frames decoded since the player was created, live
 */
guint64
tether_player_get_frames_decoded (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), 0);
  return self->frames_total + (self->counter ? (guint) g_atomic_int_get (&self->counter->frames) : 0);
}

gint64
tether_player_get_first_frame_ms (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), -1);
  return self->first_frame_ms;
}

/**
 * tether_player_dup_stats_json:
 *
 * Returns: (transfer full): `{"state", "node", "frames_decoded", "fps", "bitrate", "rtt_ms",
 *   "packets_lost", "first_frame_ms"}` as a JSON object
 */
char *
tether_player_dup_stats_json (TetherPlayer *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "stream_id");
  json_builder_add_string_value (b, self->stream_id);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, tether_player_state_to_string (self->state));
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, self->current_node ? self->current_node : "");
  json_builder_set_member_name (b, "frames_decoded");
  json_builder_add_int_value (b, (gint64) tether_player_get_frames_decoded (self));
  json_builder_set_member_name (b, "fps");
  json_builder_add_double_value (b, self->fps);
  json_builder_set_member_name (b, "bitrate");
  json_builder_add_double_value (b, self->bitrate);
  json_builder_set_member_name (b, "rtt_ms");
  json_builder_add_double_value (b, self->rtt);
  json_builder_set_member_name (b, "packets_lost");
  json_builder_add_int_value (b, self->packets_lost);
  json_builder_set_member_name (b, "first_frame_ms");
  json_builder_add_int_value (b, self->first_frame_ms);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* ---- GObject ------------------------------------------------------------- */

static void
tether_player_constructed (GObject *object)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  G_OBJECT_CLASS (tether_player_parent_class)->constructed (object);

  g_assert (self->room != NULL && self->stream_id != NULL);
  g_signal_connect_object (self->room, "state-changed", G_CALLBACK (on_room_state_changed),
                           self, 0);
  g_signal_connect_object (self->room, "stream-update", G_CALLBACK (on_room_stream_update),
                           self, 0);
}

static void
tether_player_dispose (GObject *object)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  tether_media_clear_source (&self->window_source);
  tether_media_clear_source (&self->retry_source);
  tether_media_clear_source (&self->watchdog_source);
  teardown_attempt (self);
  gst_clear_object (&self->video_sink);
  g_clear_object (&self->room);

  G_OBJECT_CLASS (tether_player_parent_class)->dispose (object);
}

static void
tether_player_finalize (GObject *object)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  g_free (self->stream_id);
  g_free (self->node_pref);
  g_free (self->current_node);
  g_strfreev (self->nodes);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_player_parent_class)->finalize (object);
}

static void
tether_player_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  switch (prop_id)
    {
    case PROP_ROOM: g_value_set_object (value, self->room); break;
    case PROP_STREAM_ID: g_value_set_string (value, self->stream_id); break;
    case PROP_NODE: g_value_set_string (value, self->node_pref); break;
    case PROP_AV_RETRY_TIME: g_value_set_double (value, self->av_retry_time); break;
    case PROP_VIDEO_SINK: g_value_set_object (value, self->video_sink); break;
    case PROP_AUDIO: g_value_set_boolean (value, self->audio); break;
    case PROP_MUTED: g_value_set_boolean (value, self->muted); break;
    case PROP_LATENCY: g_value_set_uint (value, self->latency); break;
    case PROP_STALL_TIMEOUT: g_value_set_double (value, self->stall_timeout); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_ERROR_CODE: g_value_set_int (value, self->error_code); break;
    case PROP_CURRENT_NODE: g_value_set_string (value, self->current_node); break;
    case PROP_FRAMES_DECODED: g_value_set_uint64 (value, tether_player_get_frames_decoded (self)); break;
    case PROP_FPS: g_value_set_double (value, self->fps); break;
    case PROP_BITRATE: g_value_set_double (value, self->bitrate); break;
    case PROP_RTT: g_value_set_double (value, self->rtt); break;
    case PROP_PACKETS_LOST: g_value_set_int64 (value, self->packets_lost); break;
    case PROP_FIRST_FRAME_MS: g_value_set_int64 (value, self->first_frame_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_player_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  switch (prop_id)
    {
    case PROP_ROOM: self->room = g_value_dup_object (value); break;
    case PROP_STREAM_ID: self->stream_id = g_value_dup_string (value); break;
    case PROP_NODE: tether_player_set_node (self, g_value_get_string (value)); break;
    case PROP_AV_RETRY_TIME:
      update_double (self, &self->av_retry_time, g_value_get_double (value), prop_id);
      break;
    case PROP_VIDEO_SINK: tether_player_set_video_sink (self, g_value_get_object (value)); break;
    case PROP_AUDIO:
      if (self->audio != g_value_get_boolean (value))
        {
          self->audio = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_MUTED: tether_player_set_muted (self, g_value_get_boolean (value)); break;
    case PROP_LATENCY:
      if (self->latency != g_value_get_uint (value))
        {
          self->latency = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_STALL_TIMEOUT:
      update_double (self, &self->stall_timeout, g_value_get_double (value), prop_id);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_player_class_init (TetherPlayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_player_constructed;
  object_class->dispose = tether_player_dispose;
  object_class->finalize = tether_player_finalize;
  object_class->get_property = tether_player_get_property;
  object_class->set_property = tether_player_set_property;

  properties[PROP_ROOM] = g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM, co);
  properties[PROP_STREAM_ID] = g_param_spec_string ("stream-id", NULL, NULL, NULL, co);
  properties[PROP_NODE] = g_param_spec_string ("node", NULL, NULL, NULL, rw);
  properties[PROP_AV_RETRY_TIME] =
    g_param_spec_double ("av-retry-time", NULL, NULL, 0, G_MAXDOUBLE, 1200, rw);
  properties[PROP_VIDEO_SINK] =
    g_param_spec_object ("video-sink", NULL, NULL, GST_TYPE_ELEMENT, rw);
  properties[PROP_AUDIO] = g_param_spec_boolean ("audio", NULL, NULL, TRUE, rw);
  /**
   * TetherPlayer:muted:
   *
   * Silences the audio at once, on the running pipeline and on later attempts.
   */
  properties[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, rw);
  properties[PROP_LATENCY] = g_param_spec_uint ("latency", NULL, NULL, 20, 8000, 120, rw);
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_double ("stall-timeout", NULL, NULL, 0.1, 60, 1.0, rw);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_PLAYER_STATE,
                       TETHER_PLAYER_STATE_NO_PLAY, ro);
  properties[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_CURRENT_NODE] = g_param_spec_string ("current-node", NULL, NULL, NULL, ro);
  properties[PROP_FRAMES_DECODED] =
    g_param_spec_uint64 ("frames-decoded", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_FPS] = g_param_spec_double ("fps", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  properties[PROP_BITRATE] = g_param_spec_double ("bitrate", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  properties[PROP_RTT] = g_param_spec_double ("rtt", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  properties[PROP_PACKETS_LOST] =
    g_param_spec_int64 ("packets-lost", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_FIRST_FRAME_MS] =
    g_param_spec_int64 ("first-frame-ms", NULL, NULL, -1, G_MAXINT64, -1, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherPlayer::state-changed:
   * @state: the new #TetherPlayerState
   * @error_code: a #TetherError code, 0 when none
   * @extended_data: a JSON object: "stream_id", "node", "attempt", maybe "reject", "message"
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_PLAYER_STATE, G_TYPE_INT, G_TYPE_STRING);
}

static void
tether_player_init (TetherPlayer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->av_retry_time = 1200;
  self->audio = TRUE;
  self->latency = 120;
  self->stall_timeout = 1.0;
  self->first_frame_ms = -1;
  self->state = TETHER_PLAYER_STATE_NO_PLAY;
}
