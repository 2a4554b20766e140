/* bench-media-pipelines.c: bench-media's publisher (a test picture → x264 → mpegtsmux →
 * the link code of TetherPublisher, optionally stamping each frame's capture time into
 * its pixels) and its player (the link code of TetherPlayer → appsrc → tsdemux →
 * h264parse → decoder, as TetherPlayer builds it), timed to the first frame
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "bench-media.h"
#include "tether-test-utils.h"

/* ---- the bench publisher: x264 → mpegtsmux → the TetherPublisher link code --------- */

static GstBusSyncReply
pub_bus_sync (GstBus     *bus,
              GstMessage *message,
              gpointer    data)
{
  BenchPub *pub = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      g_printerr ("publisher pipeline error: %s\n", error->message);
      g_atomic_int_inc (&pub->errors);
    }
  return GST_BUS_DROP;   /* nobody watches this bus; keep it from growing */
}

static GstFlowReturn
pub_new_sample (GstAppSink *sink,
                gpointer    data)
{
  BenchPub *pub = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  TetherSrtLink *link = NULL;

  if (sample == NULL)
    return GST_FLOW_EOS;
  g_mutex_lock (&pub->lock);
  if (pub->link != NULL)
    link = tether_srt_link_ref (pub->link);
  g_mutex_unlock (&pub->lock);
  if (link != NULL)
    {
      GstBufferList *list = gst_sample_get_buffer_list (sample);

      if (list != NULL)
        for (guint i = 0; i < gst_buffer_list_length (list); i++)
          tether_srt_link_send (link, gst_buffer_list_get (list, i));
      else
        tether_srt_link_send (link, gst_sample_get_buffer (sample));
      tether_srt_link_unref (link);
    }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* Writes the capture time (monotonic ms, 32 bits) into the luma plane: row 0 of 16×16
 * blocks holds the bits (white = 1), row 1 their complement, so that a damaged read
 * is recognised. Runs on the source's streaming thread, right after the live source
 * released the frame at its capture time. */
static GstPadProbeReturn
stamp_probe (GstPad          *pad,
             GstPadProbeInfo *info,
             gpointer         data)
{
  BenchPub *pub = data;
  GstBuffer *buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  guint32 stamp = (guint32) (g_get_monotonic_time () / 1000);
  GstVideoFrame frame;

  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  if (pub->stamped != NULL)
    {
      g_mutex_lock (&pub->trace_lock);
      /* keyed by frame number: the encoder re-times its output on the frame grid */
      g_hash_table_insert (pub->stamped,
                           GSIZE_TO_POINTER ((gsize) (GST_BUFFER_PTS (buffer) * FPS / GST_SECOND) + 1),
                           GSIZE_TO_POINTER ((gsize) g_get_monotonic_time ()));
      g_mutex_unlock (&pub->trace_lock);
    }
  if (!gst_video_frame_map (&frame, &pub->info, buffer, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  {
    guint8 *y = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (guint bit = 0; bit < 32; bit++)
      {
        gboolean one = (stamp >> (31 - bit)) & 1;

        for (guint row = 0; row < 2 * STAMP_BLOCK; row++)
          {
            gboolean white = row < STAMP_BLOCK ? one : !one;

            memset (y + row * stride + bit * STAMP_BLOCK, white ? 235 : 16, STAMP_BLOCK);
          }
      }
  }
  gst_video_frame_unmap (&frame);
  return GST_PAD_PROBE_OK;
}

/* BENCH_MEDIA_TRACE: capture → this pad, by PTS. */
static GstPadProbeReturn
trace_probe (GstPad          *pad,
             GstPadProbeInfo *info,
             gpointer         data)
{
  BenchPub *pub = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  gpointer t;

  g_mutex_lock (&pub->trace_lock);
  /* x264enc shifts its output by 1000 hours (to keep DTS positive) */
  t = g_hash_table_lookup (pub->stamped,
                           GSIZE_TO_POINTER ((gsize) (((GST_BUFFER_PTS (buffer) % (1000 * 3600 * GST_SECOND))
                                                        * FPS + GST_SECOND / 2) / GST_SECOND) + 1));
  g_mutex_unlock (&pub->trace_lock);
  if (t != NULL)
    g_printerr ("trace %s: %.1f ms after capture\n", GST_OBJECT_NAME (GST_PAD_PARENT (pad)),
                (g_get_monotonic_time () - (gint64) GPOINTER_TO_SIZE (t)) / 1000.0);
  else
    g_printerr ("trace %s: pts %" GST_TIME_FORMAT " unknown\n", GST_OBJECT_NAME (GST_PAD_PARENT (pad)),
                GST_TIME_ARGS (GST_BUFFER_PTS (buffer)));
  return GST_PAD_PROBE_OK;
}

BenchPub *
bench_pub_new (const char *pattern,
               guint       bitrate_kbps,
               gboolean    stamp)
{
  BenchPub *pub = g_new0 (BenchPub, 1);
  GstAppSinkCallbacks callbacks = { .new_sample = pub_new_sample };
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstBus) bus = NULL;
  /* As TetherPublisher builds it (tether-publisher.c, describe_pipeline), video only. */
  g_autofree char *desc = g_strdup_printf (
    "videotestsrc is-live=true pattern=%s "
    "! video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1 ! identity name=stamp "
    "! queue max-size-buffers=2 leaky=downstream "
    "! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max=%u bitrate=%u "
    "! video/x-h264,profile=constrained-baseline ! h264parse name=parse config-interval=-1 "
    "! mpegtsmux name=mux alignment=0 "
    "! appsink name=sink sync=false async=false enable-last-sample=false",
    pattern, WIDTH, HEIGHT, FPS, GOP_FRAMES, bitrate_kbps);

  g_mutex_init (&pub->lock);
  gst_video_info_set_format (&pub->info, GST_VIDEO_FORMAT_I420, WIDTH, HEIGHT);
  pub->pipeline = gst_parse_launch (desc, &error);
  if (pub->pipeline == NULL)
    g_error ("publisher pipeline: %s", error->message);
  sink = gst_bin_get_by_name (GST_BIN (pub->pipeline), "sink");
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, pub, NULL);
  if (stamp)
    {
      g_autoptr(GstElement) identity = gst_bin_get_by_name (GST_BIN (pub->pipeline), "stamp");
      g_autoptr(GstPad) pad = gst_element_get_static_pad (identity, "src");

      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, stamp_probe, pub, NULL);
      if (g_getenv ("BENCH_MEDIA_TRACE") != NULL)
        {
          static const char * const names[] = { "enc", "parse", "mux" };

          g_mutex_init (&pub->trace_lock);
          pub->stamped = g_hash_table_new (NULL, NULL);
          for (guint i = 0; i < G_N_ELEMENTS (names); i++)
            {
              g_autoptr(GstElement) e = gst_bin_get_by_name (GST_BIN (pub->pipeline), names[i]);
              g_autoptr(GstPad) src = gst_element_get_static_pad (e, "src");

              gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, trace_probe, pub, NULL);
            }
        }
    }
  bus = gst_element_get_bus (pub->pipeline);
  gst_bus_set_sync_handler (bus, pub_bus_sync, pub, NULL);
  gst_element_set_state (pub->pipeline, GST_STATE_PLAYING);
  return pub;
}

void
bench_pub_disconnect (BenchPub *pub)
{
  TetherSrtLink *old;

  g_mutex_lock (&pub->lock);
  old = g_steal_pointer (&pub->link);
  g_mutex_unlock (&pub->lock);
  if (old != NULL)
    {
      tether_srt_link_stop (old);
      tether_srt_link_unref (old);
    }
}

/* Connects (replacing any earlier link); TRUE once the link is up. */
gboolean
bench_pub_connect (BenchPub   *pub,
                   guint16     port,
                   const char *streamid)
{
  g_autoptr(GstElement) sink = gst_bin_get_by_name (GST_BIN (pub->pipeline), "sink");
  g_autofree char *passphrase = bench_passphrase (streamid);
  TetherSrtLink *link;
  gboolean up;

  bench_pub_disconnect (pub);
  link = tether_srt_link_start (++pub->generation, FALSE, "127.0.0.1", port, streamid,
                                passphrase, LATENCY_MS, 1000, 2000, 0, sink, NULL);
  g_mutex_lock (&pub->lock);
  pub->link = link;
  g_mutex_unlock (&pub->lock);
  up = TETHER_POLL_UNTIL (g_atomic_int_get (&link->up), 3000);
  if (!up)
    g_printerr ("publisher: no connection to 127.0.0.1:%u\n", port);
  return up;
}

void
bench_pub_free (BenchPub *pub)
{
  if (pub == NULL)
    return;
  bench_pub_disconnect (pub);
  gst_element_set_state (pub->pipeline, GST_STATE_NULL);
  gst_object_unref (pub->pipeline);
  g_mutex_clear (&pub->lock);
  g_free (pub);
}

/* ---- the bench player: libsrt link → appsrc → tsdemux → h264parse → decoder ------- */

static GstBusSyncReply
play_bus_sync (GstBus     *bus,
               GstMessage *message,
               gpointer    data)
{
  BenchPlay *play = data;
  TetherSrtLinkEvent event;
  guint generation = 0;
  int reject = 0;
  const char *text = NULL;
  gint64 now = g_get_monotonic_time ();

  if (tether_srt_link_parse_message (message, &event, &generation, &reject, &text))
    {
      g_mutex_lock (&play->lock);
      if (event == TETHER_SRT_LINK_CONNECTED && play->t_connected == 0)
        play->t_connected = now;
      else if (event == TETHER_SRT_LINK_FIRST_DATA && play->t_first_data == 0)
        play->t_first_data = now;
      else if (event == TETHER_SRT_LINK_FAILED || event == TETHER_SRT_LINK_BROKEN)
        play->failed = TRUE;
      g_mutex_unlock (&play->lock);
    }
  else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      g_printerr ("player pipeline error: %s\n", error->message);
    }
  return GST_BUS_DROP;
}

static GstPadProbeReturn
first_frame_probe (GstPad          *pad,
                   GstPadProbeInfo *info,
                   gpointer         data)
{
  BenchPlay *play = data;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&play->lock);
  if (play->t_first_frame == 0)
    play->t_first_frame = now;
  g_mutex_unlock (&play->lock);
  return GST_PAD_PROBE_REMOVE;
}

static void
play_pad_added (GstElement *demux,
                GstPad     *pad,
                gpointer    data)
{
  GstElement *queue = data;
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad (queue, "sink");
  g_autoptr(GstCaps) caps = gst_pad_query_caps (pad, NULL);

  if (caps != NULL && !gst_caps_is_empty (caps)
      && gst_structure_has_name (gst_caps_get_structure (caps, 0), "video/x-h264")
      && !gst_pad_is_linked (sinkpad))
    gst_pad_link (pad, sinkpad);
}

const char *
pick_decoder (void)
{
  /* TetherPlayer's order (tether-player.c, build_pipeline). */
  static const char * const decoders[] = { "openh264dec", "avdec_h264", NULL };
  const char *dec = tether_media_pick_element (decoders);

  if (dec == NULL)
    g_error ("no H.264 decoder");
  return dec;
}

BenchPlay *
bench_play_start (guint16     port,
                  const char *streamid)
{
  BenchPlay *play = g_new0 (BenchPlay, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) appsrc = NULL;
  g_autoptr(GstElement) demux = NULL;
  g_autoptr(GstElement) queue = NULL;
  g_autoptr(GstElement) dec = NULL;
  g_autoptr(GstPad) pad = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autofree char *passphrase = NULL;
  g_autofree char *desc = g_strdup_printf (
    "appsrc name=src is-live=true do-timestamp=true format=time max-bytes=4000000 "
    "caps=\"video/mpegts,systemstream=(boolean)true,packetsize=(int)188\" "
    "! tsdemux name=demux latency=50 "
    "queue name=vqueue max-size-buffers=0 max-size-bytes=0 max-size-time=1000000000 "
    "! h264parse ! %s name=dec ! videoconvert ! fakesink sync=false async=false",
    pick_decoder ());

  g_mutex_init (&play->lock);
  play->pipeline = gst_parse_launch (desc, &error);
  if (play->pipeline == NULL)
    g_error ("player pipeline: %s", error->message);
  demux = gst_bin_get_by_name (GST_BIN (play->pipeline), "demux");
  queue = gst_bin_get_by_name (GST_BIN (play->pipeline), "vqueue");
  g_signal_connect (demux, "pad-added", G_CALLBACK (play_pad_added), queue);
  dec = gst_bin_get_by_name (GST_BIN (play->pipeline), "dec");
  pad = gst_element_get_static_pad (dec, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, first_frame_probe, play, NULL);
  bus = gst_element_get_bus (play->pipeline);
  gst_bus_set_sync_handler (bus, play_bus_sync, play, NULL);
  appsrc = gst_bin_get_by_name (GST_BIN (play->pipeline), "src");
  gst_element_set_state (play->pipeline, GST_STATE_PLAYING);

  play->t_start = g_get_monotonic_time ();
  passphrase = bench_passphrase (streamid);
  play->link = tether_srt_link_start (1, TRUE, "127.0.0.1", port, streamid, passphrase,
                                      LATENCY_MS, 1000, 2000, 0, appsrc, appsrc);
  return play;
}

gboolean
bench_play_done (BenchPlay *play)
{
  gboolean done;

  g_mutex_lock (&play->lock);
  done = play->t_first_frame != 0 || play->failed;
  g_mutex_unlock (&play->lock);
  return done;
}

void
bench_play_free (BenchPlay *play)
{
  tether_srt_link_stop (play->link);
  tether_srt_link_unref (play->link);
  gst_element_set_state (play->pipeline, GST_STATE_NULL);
  gst_object_unref (play->pipeline);
  g_mutex_clear (&play->lock);
  g_free (play);
}
