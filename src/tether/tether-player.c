/* tether-player.c: TetherPlayer, a TetherMediaSession that plays — one pipeline per
 * attempt (appsrc → tsdemux → decoders → sinks), live-edge alignment, frame statistics,
 * and following its stream when the room says it moved
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "tether-enum-types.h"
#include "tether-media-private.h"
#include "tether-player.h"
#include "tether-stream.h"

#define DEMUX_LATENCY_MS 50
/* The volume as the pipeline's data carries it: millionths. */
#define VOLUME_UNITS 1000000.0
#define FIRST_FRAME_MESSAGE "tether-first-frame"

/* What the decoder's streaming thread may touch: counters, no GObject. */
typedef struct
{
  gatomicrefcount ref;
  gint frames;
  gint first_posted;
  guint generation;
  /* Live-edge alignment, tsdemux's streaming thread only (see align_to_live_edge). */
  GstElement *pipeline;       /* weak: the pipeline outlives its probes */
  gint64 first_demuxed_at;    /* monotonic µs of the first video buffer, 0 before */
  gboolean aligned;
  GstClockTimeDiff min_slack;
} FrameCounter;

/* When, after the first video buffer left tsdemux, frames measure how early they are:
 * after the cached GOP's burst (up to a GOP of old frames at once), for 0.7 s. */
#define ALIGN_WINDOW_START_US (300 * G_TIME_SPAN_MILLISECOND)
#define ALIGN_WINDOW_END_US (1000 * G_TIME_SPAN_MILLISECOND)
/* What stays between a frame leaving tsdemux and its display once aligned: decoding,
 * conversion and the arrival jitter the window did not see. */
#define ALIGN_MARGIN (30 * GST_MSECOND)

struct _TetherPlayer
{
  TetherMediaSession parent_instance;

  GstElement *video_sink;
  gboolean audio;
  gboolean muted;
  double volume;

  /* The current attempt: a pipeline, rebuilt each time (the link is the base's). */
  GstElement *pipeline;
  FrameCounter *counter;

  /* Statistics the base does not keep. */
  gint64 started_at;
  guint64 stats_frames;
  guint64 frames_total;     /* frames of finished attempts */
  double fps;
  gint64 first_frame_ms;

  /* TetherPlayer:stats, and the link's totals at the last tick for the loss share. */
  TetherPlayerStats stats;
  gint64 stats_received;
  gint64 stats_lost;
};

G_DEFINE_FINAL_TYPE (TetherPlayer, tether_player, TETHER_TYPE_MEDIA_SESSION)

enum
{
  PROP_0,
  PROP_VIDEO_SINK,
  PROP_AUDIO,
  PROP_MUTED,
  PROP_STATE,
  PROP_FRAMES_DECODED,
  PROP_FPS,
  PROP_FIRST_FRAME_MS,
  PROP_VOLUME,
  PROP_STATS,
  PROP_QUALITY,
  N_PROPS
};

enum
{
  STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const TetherMediaSessionInfo player_info = {
  .receiver = TRUE,
  .denied_error = TETHER_ERROR_PLAY_DENIED,
  .taken_error = TETHER_ERROR_PLAY_DENIED,
  .retry_timeout_error = TETHER_ERROR_PLAY_RETRY_TIMEOUT,
  .retry_timeout_message = "no media node delivered the stream within av_retry_time",
};

#define SESSION(self) (TETHER_MEDIA_SESSION (self))

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

/* A sync=true sink shows a frame at its running time plus the pipeline's latency. That
 * time is set by how tsdemux maps the stream's clock (PCR, which mpegtsmux sends 125 ms
 * ahead of the pictures) onto the arrival of the first data, plus tsdemux's and the
 * decoder's declared latency; a player that starts from the node's cached GOP maps it
 * on an old frame. Either way frames wait long after they could be shown (about 180 ms
 * measured). For a second after the cached GOP's burst this measures how early frames
 * leave tsdemux (their slack: before the queue, where the sink's waiting does not hold
 * them back), then moves every sink's timing so the tightest frame keeps ALIGN_MARGIN:
 * the picture plays at the live edge. SRT's latency on the player's socket is what
 * absorbs the network's jitter before this point. tsdemux's streaming thread. */
static void
align_to_live_edge (FrameCounter *counter,
                    GstPad       *pad,
                    GstBuffer    *buffer)
{
  g_autoptr(GstEvent) event = NULL;
  g_autoptr(GstQuery) query = NULL;
  const GstSegment *segment;
  GstClockTime rt, now, latency = 0;
  gint64 since;
  gboolean live;

  if (counter->aligned || counter->pipeline == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return;
  if (counter->first_demuxed_at == 0)
    counter->first_demuxed_at = g_get_monotonic_time ();
  since = g_get_monotonic_time () - counter->first_demuxed_at;
  if (since < ALIGN_WINDOW_START_US)
    return;
  if (since >= ALIGN_WINDOW_END_US)
    {
      counter->aligned = TRUE;
      if (counter->min_slack != G_MAXINT64 && counter->min_slack > ALIGN_MARGIN)
        {
          GST_INFO ("playing %" GST_STIME_FORMAT " earlier, at the live edge",
                    GST_STIME_ARGS (counter->min_slack - ALIGN_MARGIN));
          set_sinks_offset (counter->pipeline, -(counter->min_slack - ALIGN_MARGIN));
        }
      return;
    }
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
}

/* tsdemux hands on one PES packet per buffer, and an H.264 PES carries one access
 * unit (H.222.0 2.14; what mpegtsmux, ffmpeg and OBS write), but its caps do not say
 * so: h264parse would then hold every picture until the next one starts, a frame
 * interval (33 ms at 30 frame/s). The caps it sends say alignment=au. */
static GstPadProbeReturn
align_caps (GstPadProbeInfo *info)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps;
  const GstStructure *s;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  s = gst_caps_get_size (caps) == 1 ? gst_caps_get_structure (caps, 0) : NULL;
  if (s == NULL || !gst_structure_has_name (s, "video/x-h264")
      || gst_structure_has_field (s, "alignment")
      || g_strcmp0 (gst_structure_get_string (s, "stream-format"), "byte-stream") != 0)
    return GST_PAD_PROBE_OK;
  caps = gst_caps_copy (caps);
  gst_caps_set_simple (caps, "alignment", G_TYPE_STRING, "au", NULL);
  GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_caps (caps);
  gst_caps_unref (caps);
  gst_event_unref (event);
  return GST_PAD_PROBE_OK;
}

/* The video queue's sink pad: tsdemux's video output, for the live-edge alignment
 * and the caps. */
static GstPadProbeReturn
align_probe (GstPad          *pad,
             GstPadProbeInfo *info,
             gpointer         data)
{
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    return align_caps (info);
  align_to_live_edge (data, pad, GST_PAD_PROBE_INFO_BUFFER (info));
  return GST_PAD_PROBE_OK;
}

/* videoconvert's sink pad: counts decoded frames, posts the first one of each attempt. */
static GstPadProbeReturn
count_frames_probe (GstPad          *pad,
                    GstPadProbeInfo *info,
                    gpointer         data)
{
  FrameCounter *counter = data;
  GstElement *element;
  g_atomic_int_inc (&counter->frames);
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

/* The volume and mute the main thread last asked for (store_audio_settings(); GData has
 * its own lock), onto the "avolume" element in @bin if there is one. Any thread. */
static void
apply_audio_settings (GstElement *pipeline,
                      GstBin     *bin)
{
  g_autoptr(GstElement) volume = gst_bin_get_by_name (bin, "avolume");
  GObject *data = G_OBJECT (pipeline);

  if (volume != NULL)
    g_object_set (volume,
                  "mute", GPOINTER_TO_INT (g_object_get_data (data, "tether-mute")),
                  "volume", GPOINTER_TO_UINT (g_object_get_data (data, "tether-volume")) / VOLUME_UNITS,
                  NULL);
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
        apply_audio_settings (pipeline, GST_BIN (bin));
      gst_bin_add (GST_BIN (pipeline), bin);
      sinkpad = gst_element_get_static_pad (bin, "sink");
      gst_pad_link (pad, sinkpad);
      gst_element_sync_state_with_parent (bin);
    }
}

/* ---- the attempt ----------------------------------------------------------- */

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

/* The pipeline of an attempt goes away (the app's video sink is kept for the next). */
static void
tether_player_end_attempt (TetherMediaSession *session)
{
  TetherPlayer *self = TETHER_PLAYER (session);

  tether_media_session_watch_bus (session, NULL);
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

/* ---- the H.264 decoder ------------------------------------------------------ */

/* Hardware decoders first. GStreamer 1.22's va plugin (gst-plugins-bad) registers
 * vah264dec only when it finds a VA-API device, so being in the registry is the check;
 * vaapih264dec is the older gstreamer-vaapi's. */
static const char * const h264_hardware_decoders[] = { "vah264dec", "vaapih264dec", NULL };
/* Then software. gst-libav last: libavformat drags in a second libsrt (see
 * tether-media-private.h). openh264dec decodes only the 8-bit 4:2:0 profiles
 * (constrained-baseline to high); its sink template says so. */
static const char * const h264_software_decoders[] = { "openh264dec", "avdec_h264", NULL };

/* Set once a hardware decoder failed in this process: later attempts decode in software. */
static gint h264_hardware_failed;
/* Set once the warning that TETHER_DECODER names no installed element was given. */
static gint forced_decoder_missing;

static gboolean
is_h264_hardware_decoder (const char *factory)
{
  return factory != NULL && g_strv_contains (h264_hardware_decoders, factory);
}

/* The H.264 decoders an attempt tries, in order (a %NULL-terminated array to free with
 * g_strfreev()): the hardware ones that are installed unless one failed before, then
 * the software ones. `TETHER_DECODER=software` skips the hardware ones; another value
 * names the only decoder to use, when it is installed. Logged at debug level, and so are
 * the decoders that decodebin then tries (on_decoder_added_or_removed). */
static char **
choose_h264_decoders (const char *stream_id)
{
  const char *forced = g_getenv ("TETHER_DECODER");
  gboolean software_only = g_strcmp0 (forced, "software") == 0;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) decoders = NULL;
  g_autofree char *list = NULL;

  if (forced != NULL && *forced != '\0' && !software_only)
    {
      if (tether_media_element_exists (forced))
        {
          g_debug ("Player %s: H.264 decoder %s, as TETHER_DECODER says", stream_id, forced);
          g_strv_builder_add (builder, forced);
          return g_strv_builder_end (builder);
        }
      if (!g_atomic_int_exchange (&forced_decoder_missing, TRUE))
        g_warning ("TETHER_DECODER names %s, which is not installed; choosing as usual", forced);
    }
  if (!software_only && !g_atomic_int_get (&h264_hardware_failed))
    for (guint i = 0; h264_hardware_decoders[i] != NULL; i++)
      if (tether_media_element_exists (h264_hardware_decoders[i]))
        g_strv_builder_add (builder, h264_hardware_decoders[i]);
  for (guint i = 0; h264_software_decoders[i] != NULL; i++)
    if (tether_media_element_exists (h264_software_decoders[i]))
      g_strv_builder_add (builder, h264_software_decoders[i]);
  decoders = g_strv_builder_end (builder);
  list = g_strjoinv (", ", decoders);
  g_debug ("Player %s: H.264 decoders to try: %s%s", stream_id, *list ? list : "none",
           g_atomic_int_get (&h264_hardware_failed) ? " (a hardware decoder failed before)" : "");
  return g_steal_pointer (&decoders);
}

/* The bus, on an error: a hardware decoder that fails mid-stream leaves the next
 * attempts to software (decodebin already moves on by itself when one fails to start). */
static void
note_decoder_error (GstMessage *message)
{
  GstElementFactory *factory = GST_IS_ELEMENT (GST_MESSAGE_SRC (message))
                               ? gst_element_get_factory (GST_ELEMENT (GST_MESSAGE_SRC (message)))
                               : NULL;
  const char *name = factory ? gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (factory)) : NULL;

  if (is_h264_hardware_decoder (name) && !g_atomic_int_exchange (&h264_hardware_failed, TRUE))
    g_debug ("hardware decoder %s failed: decoding in software from now on", name);
}

static void
free_closure_strv (gpointer  data,
                   GClosure *closure)
{
  g_strfreev (data);
}

static void
free_closure_string (gpointer  data,
                     GClosure *closure)
{
  g_free (data);
}

/* decodebin's "element-added" and "element-removed", on a streaming thread: logs the
 * decoders it tries and those that did not start (it removes them and tries the next). */
static void
on_decoder_added_or_removed (GstBin     *bin,
                             GstElement *element,
                             gpointer    data)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  const char *klass = factory ? gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS)
                              : NULL;
  const char *name;
  g_autoptr(GstObject) parent = NULL;

  if (klass == NULL || strstr (klass, "Decoder") == NULL)
    return;
  name = gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (factory));
  parent = gst_object_get_parent (GST_OBJECT (element));
  if (parent != NULL)
    g_debug ("Player %s: decoding with %s%s", (const char *) data, name,
             is_h264_hardware_decoder (name) ? " (hardware)" : "");
  else if (GST_STATE_TARGET (bin) >= GST_STATE_PAUSED)  /* not the attempt's end */
    g_debug ("Player %s: %s did not start, trying the next decoder", (const char *) data, name);
}

/* The caps decodebin autoplugs with must be h264parse's from the SPS. Its first caps,
 * sent before it read one, have no profile and no size, and decodebin keeps only the
 * decoders whose sink template takes all of the caps it sees first: openh264dec and
 * vah264dec, which list profiles and sizes, would never be tried. So a probe before
 * decodebin holds back caps without a profile or a size until h264parse sends the full
 * ones, which it does before its first frame; should a frame come first, the held caps
 * go with it as they are (decodebin then picks among the decoders that take them). */
typedef struct
{
  GMutex lock;
  GstEvent *held;               /* the last caps held back */
  gboolean forwarding;
} CapsHold;

static void
caps_hold_free (gpointer data)
{
  CapsHold *hold = data;

  gst_clear_event (&hold->held);
  g_mutex_clear (&hold->lock);
  g_free (hold);
}

static GstPadProbeReturn
caps_hold_probe (GstPad          *pad,
                 GstPadProbeInfo *info,
                 gpointer         data)
{
  CapsHold *hold = data;
  GstEvent *event;
  GstCaps *caps;
  const GstStructure *s;

  if (hold->forwarding)
    return GST_PAD_PROBE_OK;
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    {
      g_mutex_lock (&hold->lock);
      event = g_steal_pointer (&hold->held);
      g_mutex_unlock (&hold->lock);
      if (event != NULL)
        {
          hold->forwarding = TRUE;
          gst_pad_push_event (pad, event);
          hold->forwarding = FALSE;
        }
      return GST_PAD_PROBE_REMOVE;
    }
  event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  s = gst_caps_get_structure (caps, 0);
  if (gst_structure_has_field (s, "profile") && gst_structure_has_field (s, "width"))
    return GST_PAD_PROBE_REMOVE;
  g_mutex_lock (&hold->lock);
  gst_clear_event (&hold->held);
  hold->held = gst_event_ref (event);
  g_mutex_unlock (&hold->lock);
  return GST_PAD_PROBE_DROP;
}

static void
hold_caps_until_sps (GstElement *pipeline)
{
  g_autoptr(GstElement) capsfilter = gst_bin_get_by_name (GST_BIN (pipeline), "h264caps");
  g_autoptr(GstPad) pad = gst_element_get_static_pad (capsfilter, "src");
  CapsHold *hold = g_new0 (CapsHold, 1);

  g_mutex_init (&hold->lock);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                     caps_hold_probe, hold, caps_hold_free);
}

/* decodebin's "autoplug-sort", on tsdemux's streaming thread: @factories are those
 * whose sink template takes @caps (the stream's profile, known once h264parse read the
 * SPS; byte-stream, which openh264dec needs, as the capsfilter before it asks), by rank.
 * Keeps only @data's decoders (choose_h264_decoders()), in their order, so a High 4:4:4
 * or High 10 stream (x264enc's default for videotestsrc is 4:4:4) gets avdec_h264 while
 * 4:2:0 keeps openh264dec, and no decoder of higher rank the player did not choose is
 * tried. decodebin tries the next when one fails to start. %NULL (decodebin's own
 * order) for any other caps. */
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static GValueArray *
on_autoplug_sort (GstElement  *bin,
                  GstPad      *pad,
                  GstCaps     *caps,
                  GValueArray *factories,
                  gpointer     data)
{
  const char * const *decoders = data;
  GValueArray *sorted = g_value_array_new (g_strv_length ((char **) decoders));

  for (guint i = 0; decoders[i] != NULL; i++)
    for (guint j = 0; j < factories->n_values; j++)
      {
        GValue *value = g_value_array_get_nth (factories, j);
        GstPluginFeature *feature = g_value_get_object (value);

        if (g_str_equal (gst_plugin_feature_get_name (feature), decoders[i]))
          g_value_array_append (sorted, value);
      }
  if (sorted->n_values == 0)
    g_clear_pointer (&sorted, g_value_array_free);
  return sorted;
}
G_GNUC_END_IGNORE_DEPRECATIONS

/* Leaves the volume and mute where the audio branch, built later on tsdemux's thread,
 * reads them (apply_audio_settings()). */
static void
store_audio_settings (TetherPlayer *self,
                      GstElement   *pipeline)
{
  g_object_set_data (G_OBJECT (pipeline), "tether-mute", GINT_TO_POINTER (self->muted));
  /* A value in the pointer itself: nothing the streaming thread reads is ever freed. */
  g_object_set_data (G_OBJECT (pipeline), "tether-volume",
                     GUINT_TO_POINTER ((guint) (self->volume * VOLUME_UNITS + 0.5)));
}

/* The running pipeline follows the player's volume and mute at once. */
static void
push_audio_settings (TetherPlayer *self)
{
  if (self->pipeline == NULL)
    return;
  store_audio_settings (self, self->pipeline);
  apply_audio_settings (self->pipeline, GST_BIN (self->pipeline));
}

static GstElement *
build_pipeline (TetherPlayer  *self,
                GError       **error)
{
  const char *stream_id = tether_media_session_get_stream_id (SESSION (self));
  char **decoders = choose_h264_decoders (stream_id);
  g_autofree char *desc = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GstElement) demux = NULL;
  g_autoptr(GstElement) dec = NULL;
  g_autoptr(GstElement) convert = NULL;
  g_autoptr(GstPad) pad = NULL;
  g_autoptr(GstElement) queue = NULL;
  g_autoptr(GstPad) queue_pad = NULL;
  GstElement *pipeline;
  GstElement *sink;
  gboolean play_audio;

  if (decoders[0] == NULL)
    {
      g_strfreev (decoders);
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_MEDIA_ELEMENT_MISSING,
                           "no H.264 decoder (avdec_h264 or openh264dec) is installed");
      return NULL;
    }

  desc = g_strdup_printf ("appsrc name=src is-live=true do-timestamp=true format=time "
                          "max-bytes=4000000 "
                          "caps=\"video/mpegts,systemstream=(boolean)true,packetsize=(int)188\" "
                          "! tsdemux name=demux latency=%d "
                          "queue name=vqueue max-size-buffers=0 max-size-bytes=0 "
                          "max-size-time=1000000000 ! h264parse "
                          "! capsfilter name=h264caps "
                          "caps=video/x-h264,stream-format=byte-stream,alignment=au "
                          "! decodebin name=dec "
                          "! videoconvert name=convert",
                          DEMUX_LATENCY_MS);
  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (pipeline == NULL)
    {
      g_strfreev (decoders);
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
      g_strfreev (decoders);
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
  store_audio_settings (self, pipeline);
  demux = gst_bin_get_by_name (GST_BIN (pipeline), "demux");
  g_signal_connect (demux, "pad-added", G_CALLBACK (on_pad_added), GINT_TO_POINTER (play_audio));

  dec = gst_bin_get_by_name (GST_BIN (pipeline), "dec");
  g_signal_connect_data (dec, "autoplug-sort", G_CALLBACK (on_autoplug_sort), decoders,
                         free_closure_strv, 0);
  g_signal_connect_data (dec, "element-added", G_CALLBACK (on_decoder_added_or_removed),
                         g_strdup (stream_id), free_closure_string, 0);
  g_signal_connect_data (dec, "element-removed", G_CALLBACK (on_decoder_added_or_removed),
                         g_strdup (stream_id), free_closure_string, 0);
  hold_caps_until_sps (pipeline);
  /* Decoded frames are counted where they enter videoconvert: decodebin's pad comes late. */
  pad = gst_element_get_static_pad (convert, "sink");
  self->counter = g_new0 (FrameCounter, 1);
  g_atomic_ref_count_init (&self->counter->ref);
  self->counter->generation = tether_media_session_get_generation (SESSION (self));
  self->counter->pipeline = pipeline;
  self->counter->min_slack = G_MAXINT64;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_frames_probe,
                     frame_counter_ref (self->counter), frame_counter_unref);
  queue = gst_bin_get_by_name (GST_BIN (pipeline), "vqueue");
  queue_pad = gst_element_get_static_pad (queue, "sink");
  gst_pad_add_probe (queue_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                     align_probe,
                     frame_counter_ref (self->counter), frame_counter_unref);
  return pipeline;
}

/* One pipeline per attempt; the link pushes into its appsrc. */
static GstElement *
tether_player_prepare_attempt (TetherMediaSession  *session,
                               GError             **error)
{
  TetherPlayer *self = TETHER_PLAYER (session);
  g_autoptr(GstElement) appsrc = NULL;

  self->pipeline = build_pipeline (self, error);
  if (self->pipeline == NULL)
    return NULL;
  tether_media_session_watch_bus (session, self->pipeline);
  appsrc = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  return appsrc;  /* the pipeline keeps it */
}

/* ---- the bus: the streaming threads reach the main context ------------------ */

static void
on_first_frame (TetherPlayer *self)
{
  if (self->first_frame_ms < 0)
    {
      self->first_frame_ms = (g_get_monotonic_time () - self->started_at) / 1000;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRST_FRAME_MS]);
    }
  tether_media_session_succeeded (SESSION (self));
}

static void
tether_player_bus_message (TetherMediaSession *session,
                           GstMessage         *message)
{
  TetherPlayer *self = TETHER_PLAYER (session);
  const GstStructure *s;
  guint generation = 0;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_APPLICATION:
      s = gst_message_get_structure (message);
      if (s != NULL && gst_structure_has_name (s, FIRST_FRAME_MESSAGE)
          && gst_structure_get_uint (s, "generation", &generation)
          && generation == tether_media_session_get_generation (session)
          && tether_media_session_get_state (session) != TETHER_MEDIA_SESSION_STATE_IDLE)
        on_first_frame (self);
      break;

    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;
        g_autofree char *what = NULL;

        gst_message_parse_error (message, &error, &debug);
        note_decoder_error (message);
        what = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
        /* A decoder or demuxer choking on a damaged stream: a fresh attempt fixes it. */
        g_debug ("Player %s: pipeline error from %s (%s)",
                 tether_media_session_get_stream_id (session), what, debug ? debug : "");
        tether_media_session_media_break (session, FALSE, what);
      }
      break;

    default:
      break;
    }
}

/* The decoded picture's size, from the caps entering videoconvert. */
static void
collect_picture_stats (TetherPlayer      *self,
                       TetherPlayerStats *stats)
{
  g_autoptr(GstElement) convert = gst_bin_get_by_name (GST_BIN (self->pipeline), "convert");
  g_autoptr(GstPad) pad = convert ? gst_element_get_static_pad (convert, "sink") : NULL;
  g_autoptr(GstCaps) caps = pad ? gst_pad_get_current_caps (pad) : NULL;
  GstVideoInfo info;

  if (caps != NULL && gst_video_info_from_caps (&info, caps))
    {
      stats->width = GST_VIDEO_INFO_WIDTH (&info);
      stats->height = GST_VIDEO_INFO_HEIGHT (&info);
    }
}

/* What the pipeline adds to the delay, and what the sink dropped: the latency the
 * pipeline reports (tsdemux, the decoder, the sink), moved by the live-edge alignment's
 * ts-offset; GstBaseSink's "stats" for the frames it dropped as late. */
static void
collect_pipeline_stats (TetherPlayer      *self,
                        TetherPlayerStats *stats,
                        double            *pipeline_ms)
{
  g_autoptr(GstQuery) query = gst_query_new_latency ();
  GstElement *sink = self->video_sink;
  g_autoptr(GstElement) fakesink = NULL;
  GstClockTime min = 0;
  gint64 offset = 0;
  gboolean live;

  *pipeline_ms = 0;
  if (gst_element_query (self->pipeline, query))
    {
      gst_query_parse_latency (query, &live, &min, NULL);
      *pipeline_ms = (double) min / GST_MSECOND;
    }
  if (sink == NULL)
    sink = fakesink = gst_bin_get_by_name (GST_BIN (self->pipeline), "vsink");
  if (sink == NULL || !GST_IS_BASE_SINK (sink))
    return;
  g_object_get (sink, "ts-offset", &offset, NULL);
  *pipeline_ms = MAX (0, *pipeline_ms + (double) offset / GST_MSECOND);
  {
    g_autoptr(GstStructure) s = NULL;
    guint64 dropped = 0;

    g_object_get (sink, "stats", &s, NULL);
    if (s != NULL && gst_structure_get_uint64 (s, "dropped", &dropped))
      stats->frames_dropped = dropped;
  }
}

/* Fills TetherPlayer:stats and :quality from the frame counters, the pipeline and the
 * SRT link; main context, once a second (@seconds), or a new window (0). */
static void
collect_stats (TetherPlayer *self,
               double        seconds)
{
  TetherMediaSession *session = SESSION (self);
  TetherSrtLink *link = tether_media_session_get_link (session);
  TetherPlayerStats stats = { 0 };
  TetherStreamQuality old_quality = self->stats.quality;
  SRT_TRACEBSTATS perf;
  double pipeline_ms = 0;
  gboolean silent = FALSE;

  stats.fps = self->fps;
  stats.bitrate = tether_media_session_get_bitrate (session);
  stats.frames_decoded = tether_player_get_frames_decoded (self);
  if (self->pipeline != NULL)
    {
      collect_picture_stats (self, &stats);
      collect_pipeline_stats (self, &stats, &pipeline_ms);
    }
  if (link != NULL && tether_srt_link_get_stats (link, &perf))
    {
      gint64 received = perf.pktRecvTotal;
      gint64 lost = perf.pktRcvLossTotal;

      stats.rtt_ms = perf.msRTT;
      stats.packets_received = received;
      stats.packets_lost = lost;
      stats.packets_retransmitted = perf.pktRcvRetrans;  /* never cleared: a total */
      stats.packets_dropped = perf.pktRcvDropTotal;
      stats.latency_ms = perf.msRTT / 2 + perf.msRcvTsbPdDelay + pipeline_ms;
      if (seconds > 0 && received >= self->stats_received && lost >= self->stats_lost
          && received + lost > self->stats_received + self->stats_lost)
        stats.loss_rate = (double) (lost - self->stats_lost)
                          / ((received - self->stats_received) + (lost - self->stats_lost));
      /* A live stream always sends: a second with nothing is as bad as it gets. */
      silent = seconds > 0 && received == self->stats_received;
      self->stats_received = received;
      self->stats_lost = lost;
    }
  else
    self->stats_received = self->stats_lost = 0;

  if (tether_player_get_state (self) == TETHER_PLAYER_STATE_PLAYING && seconds > 0)
    stats.quality = silent ? TETHER_STREAM_QUALITY_BAD
                           : tether_stream_quality_from_network (stats.loss_rate, stats.rtt_ms);
  self->stats = stats;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATS]);
  if (stats.quality != old_quality)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUALITY]);
}

/* Leaving PLAYING: the quality of a picture that is gone is unknown, at once rather
 * than at the next tick. */
static void
on_state_notify (TetherPlayer *self)
{
  if (tether_player_get_state (self) == TETHER_PLAYER_STATE_PLAYING
      || self->stats.quality == TETHER_STREAM_QUALITY_UNKNOWN)
    return;
  self->stats.quality = TETHER_STREAM_QUALITY_UNKNOWN;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUALITY]);
}

static void
tether_player_update_stats (TetherMediaSession *session,
                            double              seconds)
{
  TetherPlayer *self = TETHER_PLAYER (session);
  guint64 frames = tether_player_get_frames_decoded (self);
  double fps;

  if (seconds > 0)
    {
      fps = (frames - self->stats_frames) / seconds;
      if (self->fps != fps)
        {
          self->fps = fps;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FPS]);
        }
      if (frames != self->stats_frames)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_DECODED]);
    }
  self->stats_frames = frames;
  collect_stats (self, seconds);
}

/* ---- the room ------------------------------------------------------------ */

static void
on_room_stream_update (TetherRoom       *room,
                       TetherUpdateType  update,
                       GPtrArray        *streams,
                       const char       *reason,
                       gpointer          data)
{
  TetherPlayer *self = data;
  TetherMediaSession *session = SESSION (self);

  for (guint i = 0; streams != NULL && i < streams->len; i++)
    {
      TetherStream *stream = g_ptr_array_index (streams, i);
      gboolean idle = tether_media_session_get_state (session) == TETHER_MEDIA_SESSION_STATE_IDLE;

      if (g_strcmp0 (tether_stream_get_id (stream), tether_media_session_get_stream_id (session)) != 0)
        continue;
      if (update == TETHER_UPDATE_DELETE && g_strcmp0 (reason, "replaced") == 0)
        {
          /* The room's way of saying "changed": the new version follows as an ADD. */
          continue;
        }
      if (update == TETHER_UPDATE_DELETE)
        {
          /* Never keep pulling a deleted stream. */
          if (!idle)
            tether_media_session_give_up (session, TETHER_ERROR_PLAY_STREAM_DELETED, 0,
                                          reason ? reason : "deleted", NULL);
        }
      else
        {
          const char *node = tether_stream_get_node (stream);
          const char *current = tether_media_session_get_current_node (session);
          gboolean moved = node != NULL && *node != '\0' && current != NULL
                           && g_strcmp0 (node, current) != 0
                           && !tether_media_session_follows_edge (session);

          /* The publisher moved (its node died, or it failed over): follow it now
           * rather than after our own stall check and a connect to the old node.
           * Not from an edge node of a cascade: the edge pulls from the new node, and
           * the player keeps its connection. */
          tether_media_session_set_node (session, node);
          if (moved && !idle)
            tether_media_session_media_break (session, TRUE, "the stream moved to another node");
        }
    }
}

/* ---- public API ---------------------------------------------------------- */

/**
 * tether_player_new:
 * @room: the room the stream is in
 * @stream_id: the stream to play
 * @node: (nullable): the media node of the stream (TetherStream:node)
 * @av_retry_time: seconds of retrying after a media break
 *
 * The player lives on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a new player, NO_PLAY
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
 * @self: a #TetherPlayer
 * @error: return location for a #GError
 *
 * PLAY_REQUESTING now, PLAYING on the first decoded frame.
 *
 * Returns: %FALSE when a needed element is missing
 */
gboolean
tether_player_start (TetherPlayer  *self,
                     GError       **error)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_media_session_get_state (SESSION (self)) != TETHER_MEDIA_SESSION_STATE_IDLE)
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
  return tether_media_session_start_walk (SESSION (self));
}

/**
 * tether_player_stop:
 * @self: a #TetherPlayer
 *
 * NO_PLAY with no error.
 */
void
tether_player_stop (TetherPlayer *self)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  if (tether_media_session_get_state (SESSION (self)) == TETHER_MEDIA_SESSION_STATE_IDLE)
    return;
  tether_media_session_give_up (SESSION (self), 0, 0, NULL, "stopped");
}

/**
 * tether_player_set_muted:
 * @self: a #TetherPlayer
 * @muted: whether to silence the audio
 *
 * Silences the audio at once, on the running pipeline and on later attempts.
 */
void
tether_player_set_muted (TetherPlayer *self,
                         gboolean      muted)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  muted = !!muted;
  if (self->muted == muted)
    return;
  self->muted = muted;
  push_audio_settings (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

/**
 * tether_player_get_muted:
 * @self: a #TetherPlayer
 *
 * Returns: whether the audio is silenced
 */
gboolean
tether_player_get_muted (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), FALSE);
  return self->muted;
}

/**
 * tether_player_set_volume:
 * @self: a #TetherPlayer
 * @volume: the audio's linear amplitude factor, 0 (silence) to 1 (as sent)
 *
 * Sets the audio's volume at once, on the running pipeline and on later attempts. An
 * application with a perceptual (cubic) slider converts it first, e.g. with
 * gst_stream_volume_convert_volume().
 */
void
tether_player_set_volume (TetherPlayer *self,
                          double        volume)
{
  g_return_if_fail (TETHER_IS_PLAYER (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->volume == volume)
    return;
  self->volume = volume;
  push_audio_settings (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOLUME]);
}

/**
 * tether_player_get_volume:
 * @self: a #TetherPlayer
 *
 * Returns: the audio's linear amplitude factor, 0 to 1
 */
double
tether_player_get_volume (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), 1.0);
  return self->volume;
}

/**
 * tether_player_get_stats:
 * @self: a #TetherPlayer
 *
 * The measurements of the last second (#TetherPlayer:stats); all zero before the
 * player has played for a second.
 *
 * Returns: (transfer none): the player's statistics, valid until the next refresh
 */
const TetherPlayerStats *
tether_player_get_stats (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  return &self->stats;
}

/**
 * tether_player_get_quality:
 * @self: a #TetherPlayer
 *
 * Returns: the network quality of the last second, %TETHER_STREAM_QUALITY_UNKNOWN
 *   when that second was not spent playing or the player no longer plays
 */
TetherStreamQuality
tether_player_get_quality (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), TETHER_STREAM_QUALITY_UNKNOWN);
  return self->stats.quality;
}

/**
 * tether_player_get_state:
 * @self: a #TetherPlayer
 *
 * Returns: the play state
 */
TetherPlayerState
tether_player_get_state (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), TETHER_PLAYER_STATE_NO_PLAY);
  return (TetherPlayerState) tether_media_session_get_state (SESSION (self));
}

/**
 * tether_player_set_video_sink:
 * @self: a #TetherPlayer
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
 * @self: a #TetherPlayer
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
 * @self: a #TetherPlayer
 *
 * Returns: the frames decoded since the player was created, live
 */
guint64
tether_player_get_frames_decoded (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), 0);
  return self->frames_total + (self->counter ? (guint) g_atomic_int_get (&self->counter->frames) : 0);
}

/**
 * tether_player_get_first_frame_ms:
 * @self: a #TetherPlayer
 *
 * Returns: milliseconds from the first start to the first decoded frame, -1 before
 */
gint64
tether_player_get_first_frame_ms (TetherPlayer *self)
{
  g_return_val_if_fail (TETHER_IS_PLAYER (self), -1);
  return self->first_frame_ms;
}

/**
 * tether_player_dup_stats_json:
 * @self: a #TetherPlayer
 *
 * Returns: (transfer full): `{"stream_id", "state", "node", "frames_decoded", "fps",
 *   "bitrate", "rtt_ms", "packets_lost", "first_frame_ms"}` as a JSON object
 */
char *
tether_player_dup_stats_json (TetherPlayer *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  TetherMediaSession *session;
  const char *node;

  g_return_val_if_fail (TETHER_IS_PLAYER (self), NULL);
  session = SESSION (self);
  node = tether_media_session_get_current_node (session);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "stream_id");
  json_builder_add_string_value (b, tether_media_session_get_stream_id (session));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, tether_player_state_to_string (tether_player_get_state (self)));
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, node ? node : "");
  json_builder_set_member_name (b, "frames_decoded");
  json_builder_add_int_value (b, (gint64) tether_player_get_frames_decoded (self));
  json_builder_set_member_name (b, "fps");
  json_builder_add_double_value (b, self->fps);
  json_builder_set_member_name (b, "bitrate");
  json_builder_add_double_value (b, tether_media_session_get_bitrate (session));
  json_builder_set_member_name (b, "rtt_ms");
  json_builder_add_double_value (b, tether_media_session_get_rtt (session));
  json_builder_set_member_name (b, "packets_lost");
  json_builder_add_int_value (b, tether_media_session_get_packets_lost (session));
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

  g_signal_connect_object (tether_media_session_get_room (SESSION (self)), "stream-update",
                           G_CALLBACK (on_room_stream_update), self, 0);
  g_signal_connect (self, "notify::state", G_CALLBACK (on_state_notify), NULL);
}

static void
tether_player_dispose (GObject *object)
{
  TetherPlayer *self = TETHER_PLAYER (object);

  tether_media_session_shutdown (SESSION (self));
  gst_clear_object (&self->video_sink);

  G_OBJECT_CLASS (tether_player_parent_class)->dispose (object);
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
    case PROP_VIDEO_SINK: g_value_set_object (value, self->video_sink); break;
    case PROP_AUDIO: g_value_set_boolean (value, self->audio); break;
    case PROP_MUTED: g_value_set_boolean (value, self->muted); break;
    case PROP_STATE: g_value_set_enum (value, tether_player_get_state (self)); break;
    case PROP_FRAMES_DECODED: g_value_set_uint64 (value, tether_player_get_frames_decoded (self)); break;
    case PROP_FPS: g_value_set_double (value, self->fps); break;
    case PROP_FIRST_FRAME_MS: g_value_set_int64 (value, self->first_frame_ms); break;
    case PROP_VOLUME: g_value_set_double (value, self->volume); break;
    case PROP_STATS: g_value_set_boxed (value, &self->stats); break;
    case PROP_QUALITY: g_value_set_enum (value, self->stats.quality); break;
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
    case PROP_VIDEO_SINK: tether_player_set_video_sink (self, g_value_get_object (value)); break;
    case PROP_AUDIO:
      if (self->audio != g_value_get_boolean (value))
        {
          self->audio = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_MUTED: tether_player_set_muted (self, g_value_get_boolean (value)); break;
    case PROP_VOLUME: tether_player_set_volume (self, g_value_get_double (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_player_class_init (TetherPlayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TetherMediaSessionClass *session_class = TETHER_MEDIA_SESSION_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_player_constructed;
  object_class->dispose = tether_player_dispose;
  object_class->get_property = tether_player_get_property;
  object_class->set_property = tether_player_set_property;

  session_class->prepare_attempt = tether_player_prepare_attempt;
  session_class->end_attempt = tether_player_end_attempt;
  session_class->bus_message = tether_player_bus_message;
  session_class->update_stats = tether_player_update_stats;

  /**
   * TetherPlayer:video-sink:
   *
   * The sink for decoded video; %NULL: a fakesink that only counts frames.
   */
  properties[PROP_VIDEO_SINK] =
    g_param_spec_object ("video-sink", NULL, NULL, GST_TYPE_ELEMENT, rw);
  /**
   * TetherPlayer:audio:
   *
   * Play audio. Never blocks: without an audio device (or with TETHER_NO_AUDIO set)
   * the audio is dropped.
   */
  properties[PROP_AUDIO] = g_param_spec_boolean ("audio", NULL, NULL, TRUE, rw);
  /**
   * TetherPlayer:muted:
   *
   * Silences the audio at once, on the running pipeline and on later attempts.
   */
  properties[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, rw);
  /**
   * TetherPlayer:state:
   *
   * The play state.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_PLAYER_STATE,
                       TETHER_PLAYER_STATE_NO_PLAY, ro);
  /**
   * TetherPlayer:frames-decoded:
   *
   * Frames decoded since the player was created; notified once a second.
   */
  properties[PROP_FRAMES_DECODED] =
    g_param_spec_uint64 ("frames-decoded", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * TetherPlayer:fps:
   *
   * Decoded frames per second, updated once a second.
   */
  properties[PROP_FPS] = g_param_spec_double ("fps", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  /**
   * TetherPlayer:first-frame-ms:
   *
   * Milliseconds from start to the first decoded frame; -1 before.
   */
  properties[PROP_FIRST_FRAME_MS] =
    g_param_spec_int64 ("first-frame-ms", NULL, NULL, -1, G_MAXINT64, -1, ro);
  /**
   * TetherPlayer:volume:
   *
   * The audio's linear amplitude factor, 0 to 1; the pipeline's volume element
   * follows it at once.
   */
  properties[PROP_VOLUME] = g_param_spec_double ("volume", NULL, NULL, 0, 1, 1, rw);
  /**
   * TetherPlayer:stats:
   *
   * A #TetherPlayerStats with the last second's measurements; notified once a second
   * while the player runs.
   */
  properties[PROP_STATS] =
    g_param_spec_boxed ("stats", NULL, NULL, TETHER_TYPE_PLAYER_STATS, ro);
  /**
   * TetherPlayer:quality:
   *
   * The network quality of the last second (#TetherStreamQuality), from the link's
   * loss and round-trip time; notified when it changes.
   */
  properties[PROP_QUALITY] =
    g_param_spec_enum ("quality", NULL, NULL, TETHER_TYPE_STREAM_QUALITY,
                       TETHER_STREAM_QUALITY_UNKNOWN, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherPlayer::state-changed:
   * @self: the object that changed state
   * @state: the new #TetherPlayerState
   * @error_code: a #TetherError code, 0 when none
   * @extended_data: a JSON object: "stream_id", "node", "attempt", maybe "reject", "message"
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_PLAYER_STATE, G_TYPE_INT, G_TYPE_STRING);

  tether_media_session_class_set_info (session_class, &player_info, properties[PROP_STATE],
                                       signals[STATE_CHANGED]);
}

static void
tether_player_init (TetherPlayer *self)
{
  self->audio = TRUE;
  self->volume = 1.0;
  self->first_frame_ms = -1;
}
