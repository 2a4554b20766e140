/* test-app-perf.c: the viewer's frame path and decoder choice (issue 12, item 11) — the
 * paintable sink hands a frame's own memory to its texture (no copy) in the format the
 * renderers take as it is, software GL chooses the cairo renderer, and a hardware H.264
 * decoder that fails (to start, or mid-stream) leaves the picture to a software one
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <string.h>

#include "app-fixture.h"
#include "tether-paintable-sink.h"
#include "tether-video-tile.h"

#define W 64
#define H 36

/* ---- the frame path ---------------------------------------------------------------- */

static gboolean
frames_at_least (TetherPaintableSink *sink, guint64 n)
{
  return tether_paintable_sink_get_frame_count (sink) >= n;
}

static void
test_sink_zero_copy (void)
{
  g_autoptr(TetherPaintableSink) sink = tether_paintable_sink_new ();
  GstElement *element = tether_paintable_sink_get_element (sink);
  g_autoptr(GstElement) pipeline = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("appsrc", NULL);
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = g_malloc (W * H * 3);
  g_autofree guchar *expected = g_malloc (W * H * 4);
  g_autofree guchar *downloaded = g_malloc0 (W * H * 4);
  GstBuffer *buffer;
  GstMemory *memory;

  g_assert_nonnull (element);
  if (!GST_IS_BIN (element))
    {
      g_test_skip ("gtk4paintablesink is installed: the frame path is its own");
      return;
    }
  /* The sink asks for packed RGB, which GTK 4.8 draws without converting through floats. */
  caps = gst_pad_query_caps (GST_ELEMENT (element)->sinkpads->data, NULL);
  {
    g_autofree char *text = gst_caps_to_string (caps);
    g_test_message ("sink caps: %s", text);
  }
  g_assert_cmpuint (gst_caps_get_size (caps), ==, 1);
  g_assert_cmpstr (gst_structure_get_string (gst_caps_get_structure (caps, 0), "format"), ==,
                   "RGB");
  gst_clear_caps (&caps);

  /* Every pixel its own colour; downloaded as GDK_MEMORY_DEFAULT (BGRA, opaque). */
  for (guint i = 0; i < W * H; i++)
    {
      guchar r = i & 0xff, g = (i >> 8) & 0xff, b = (i * 7) & 0xff;
      guint32 argb = 0xff000000u | ((guint32) r << 16) | ((guint32) g << 8) | b;

      pixels[i * 3 + 0] = r;
      pixels[i * 3 + 1] = g;
      pixels[i * 3 + 2] = b;
      memcpy (expected + i * 4, &argb, 4);   /* cairo's ARGB32: native-endian words */
    }
  caps = gst_caps_new_simple ("video/x-raw",
                              "format", G_TYPE_STRING, "RGB",
                              "width", G_TYPE_INT, W, "height", G_TYPE_INT, H,
                              "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, element, NULL);
  g_assert_true (gst_element_link (src, element));
  {
    g_autoptr(GstIterator) it = gst_bin_iterate_sinks (GST_BIN (element));
    GValue item = G_VALUE_INIT;

    g_assert_cmpint (gst_iterator_next (it, &item), ==, GST_ITERATOR_OK);
    g_assert_true (GST_IS_APP_SINK (g_value_get_object (&item)));
    g_object_set (g_value_get_object (&item), "sync", FALSE, NULL);
    g_value_unset (&item);
  }
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  buffer = gst_buffer_new_memdup (pixels, W * H * 3);
  GST_BUFFER_PTS (buffer) = 0;
  GST_BUFFER_DURATION (buffer) = GST_SECOND / 30;
  /* Our own reference to the frame's memory: the texture must hold that memory (through
   * the buffer, mapped), not a copy of it. */
  memory = gst_memory_ref (gst_buffer_peek_memory (buffer, 0));
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (memory), ==, 2);
  g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), buffer), ==, GST_FLOW_OK);
  TETHER_WAIT_UNTIL (frames_at_least (sink, 1), WAIT_MS);
  g_assert_cmpuint (tether_paintable_sink_get_frame_count (sink), ==, 1);
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (memory), >=, 2);

  texture = GDK_TEXTURE (gdk_paintable_get_current_image (GDK_PAINTABLE (sink)));
  g_assert_true (GDK_IS_MEMORY_TEXTURE (texture));
  g_assert_cmpint (gdk_texture_get_width (texture), ==, W);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, H);
  gdk_texture_download (texture, downloaded, W * 4);
  g_assert_cmpmem (downloaded, W * H * 4, expected, W * H * 4);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (sink)), ==, W);

  /* The next frame: appsink keeps its newest buffer, so only our old texture holds the
   * first frame now, and lets it go when it goes. */
  buffer = gst_buffer_new_memdup (pixels, W * H * 3);
  GST_BUFFER_PTS (buffer) = GST_SECOND / 30;
  g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), buffer), ==, GST_FLOW_OK);
  TETHER_WAIT_UNTIL (frames_at_least (sink, 2), WAIT_MS);
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (memory), >=, 2);
  g_clear_object (&texture);
  g_assert_cmpint (GST_MINI_OBJECT_REFCOUNT_VALUE (memory), ==, 1);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_memory_unref (memory);
}

/* Under Xvfb GL is Mesa's llvmpipe: the app draws with cairo, unless GSK_RENDERER says. */
static void
test_renderer_choice (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("GSK_RENDERER"));
  GdkDisplay *display = gdk_display_get_default ();
  gboolean chose;

  g_setenv ("GSK_RENDERER", "gl", TRUE);
  g_assert_false (tether_paintable_sink_choose_renderer (display));
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "gl");

  g_unsetenv ("GSK_RENDERER");
  chose = tether_paintable_sink_choose_renderer (display);
  g_test_message ("software GL here: %s", chose ? "yes, cairo chosen" : "no");
  if (g_getenv ("TETHER_TEST_HARDWARE_GL") == NULL)
    /* Xvfb has no GPU: set TETHER_TEST_HARDWARE_GL when the display has one. */
    g_assert_true (chose);
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, chose ? "cairo" : NULL);

  if (saved != NULL)
    g_setenv ("GSK_RENDERER", saved, TRUE);
  else
    g_unsetenv ("GSK_RENDERER");
}

/* With the cairo renderer (the fixture's) frames reach the main thread at the size the
 * tile draws them, the stream's size stays the paintable's intrinsic size. */
static int
current_frame_width (GdkPaintable *paintable)
{
  g_autoptr(GdkPaintable) image = gdk_paintable_get_current_image (paintable);

  return GDK_IS_TEXTURE (image) ? gdk_texture_get_width (GDK_TEXTURE (image)) : 0;
}

static void
test_prescale (Fixture *f, gconstpointer data)
{
  GdkPaintable *paintable;
  g_autoptr(GdkPaintable) image = NULL;
  double aspect;

  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "cairo");
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, "cam");  /* 320×240 */
  if (!TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam") != NULL, WAIT_MS))
    return;
  g_assert_true (wait_tile_frames (f, "cam", 10));
  paintable = GDK_PAINTABLE (tether_video_tile_get_sink (tether_window_get_tile (f->window, "cam")));
  TETHER_WAIT_UNTIL (current_frame_width (paintable) != 320, WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 5));
  image = gdk_paintable_get_current_image (paintable);
  g_test_message ("frames drawn at %d×%d", gdk_paintable_get_intrinsic_width (image),
                  gdk_paintable_get_intrinsic_height (image));
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (image), >, 320);
  aspect = (double) gdk_paintable_get_intrinsic_width (image) / gdk_paintable_get_intrinsic_height (image);
  g_assert_cmpfloat_with_epsilon (aspect, 4.0 / 3.0, 0.02);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (paintable), ==, 320);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (paintable), ==, 240);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-prescale.png");
}

/* ---- a hardware decoder that fails ---------------------------------------------------
 * Two fake hardware H.264 decoders under the names the player tries first: "vah264dec"
 * does not start (decodebin moves on to the next by itself), "vaapih264dec" starts and
 * fails on the first frame (the player's next attempt decodes in software). */

typedef struct
{
  GstElement parent;
  GstPad *sinkpad;
  GstPad *srcpad;
} FakeDec;

typedef struct
{
  GstElementClass parent_class;
} FakeDecClass;

static gint fake_start_failures;
static gint fake_frame_failures;

static GstStaticPadTemplate fake_sink_template =
  GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                           /* as vah264dec's: profiles and sizes, which the caps
                            * decodebin autoplugs with must carry */
                           GST_STATIC_CAPS ("video/x-h264,stream-format=byte-stream,alignment=au,"
                                            "profile={constrained-baseline,baseline,main,high},"
                                            "width=[1,4096],height=[1,4096]"));
static GstStaticPadTemplate fake_src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));

static GType fake_dec_get_type (void);
G_DEFINE_TYPE (FakeDec, fake_dec, GST_TYPE_ELEMENT)

/* A type of its own per name: an element class knows one factory. */
typedef FakeDec FakeStartDec;
typedef FakeDecClass FakeStartDecClass;
static GType fake_start_dec_get_type (void);
G_DEFINE_TYPE (FakeStartDec, fake_start_dec, fake_dec_get_type ())

static void
fake_start_dec_class_init (FakeStartDecClass *klass)
{
}

static void
fake_start_dec_init (FakeStartDec *self)
{
}

static GstFlowReturn
fake_dec_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  gst_buffer_unref (buffer);
  g_atomic_int_inc (&fake_frame_failures);
  GST_ELEMENT_ERROR (parent, STREAM, DECODE, ("fake hardware decoder failed"), (NULL));
  return GST_FLOW_ERROR;
}

static GstStateChangeReturn
fake_dec_change_state (GstElement *element, GstStateChange transition)
{
  if (transition == GST_STATE_CHANGE_NULL_TO_READY
      && G_TYPE_CHECK_INSTANCE_TYPE (element, fake_start_dec_get_type ()))
    {
      g_atomic_int_inc (&fake_start_failures);
      return GST_STATE_CHANGE_FAILURE;
    }
  return GST_ELEMENT_CLASS (fake_dec_parent_class)->change_state (element, transition);
}

static void
fake_dec_class_init (FakeDecClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  element_class->change_state = fake_dec_change_state;
  gst_element_class_add_static_pad_template (element_class, &fake_sink_template);
  gst_element_class_add_static_pad_template (element_class, &fake_src_template);
  gst_element_class_set_static_metadata (element_class, "Fake hardware H.264 decoder",
                                         "Codec/Decoder/Video/Hardware", "Fails", "tests");
}

static void
fake_dec_init (FakeDec *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&fake_sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, fake_dec_chain);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&fake_src_template, "src");
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
}

static void
test_decoder_fallback (Fixture *f, gconstpointer data)
{
  TetherVideoTile *tile;

  if (gst_element_factory_find ("vah264dec") == NULL)
    g_assert_true (gst_element_register (NULL, "vah264dec", GST_RANK_PRIMARY + 1, fake_start_dec_get_type ()));
  else
    {
      g_test_skip ("a real vah264dec is installed here");
      return;
    }
  g_assert_true (gst_element_register (NULL, "vaapih264dec", GST_RANK_PRIMARY + 1, fake_dec_get_type ()));

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, "cam");
  if (!TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam") != NULL, WAIT_MS))
    return;
  /* The picture arrives, decoded in software, after both hardware decoders failed. */
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 20));
  g_test_message ("start failures %d, frame failures %d", g_atomic_int_get (&fake_start_failures),
                  g_atomic_int_get (&fake_frame_failures));
  g_assert_cmpint (g_atomic_int_get (&fake_start_failures), >=, 1);
  g_assert_cmpint (g_atomic_int_get (&fake_frame_failures), >=, 1);
  tile = tether_window_get_tile (f->window, "cam");
  g_assert_cmpuint (tether_player_get_frames_decoded (tether_video_tile_get_player (tile)), >, 0);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-decoder-fallback.png");
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  g_test_add_func ("/app-perf/sink-zero-copy", test_sink_zero_copy);
  g_test_add_func ("/app-perf/renderer-choice", test_renderer_choice);
  APP_TEST_ADD ("/app-perf/prescale", test_prescale);
  APP_TEST_ADD ("/app-perf/decoder-fallback", test_decoder_fallback);

  return g_test_run ();
}
