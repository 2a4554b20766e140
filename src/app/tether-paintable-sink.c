/* tether-paintable-sink.c: videoscale → appsink → newest frame under a lock → one idle →
 * a texture that wraps the buffer's memory, made on the main thread (see docs/design.md,
 * "The thread rules" and "Frames and decoders"); with the cairo renderer the streaming
 * thread scales frames to the size they are drawn at, so the main thread only copies
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <epoxy/gl.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <string.h>

#include "tether-paintable-sink.h"

struct _TetherPaintableSink
{
  GObject parent_instance;

  GstElement *element;          /* owned (ref_sink'ed): the bin, or gtk4paintablesink */
  GstElement *appsink;          /* in element */
  GstPad *source_pad;           /* owned: element's sink pad, the frames before videoscale */
  GdkPaintable *external;       /* gtk4paintablesink's paintable, when that is used */
  GMainContext *context;        /* where the idle runs: the creator's */

  GMutex lock;
  GstSample *pending;           /* under lock: the newest frame not shown yet */
  GstCaps *pending_source;      /* under lock: its caps before videoscale */
  GSource *idle;                /* under lock: at most one scheduled */

  /* main thread only */
  GdkTexture *texture;
  int width;                    /* the stream's picture, before scaling */
  int height;
  double pixel_aspect;
  guint64 frame_count;
  gboolean prescale;            /* the cairo renderer: scale on the streaming thread */
  int scale_factor;             /* the largest of the monitors' */
  int asked_width;              /* the size videoscale was last asked for (0: none) */
  int asked_height;
  int want_width;               /* the size drawn at, to ask for once it settles */
  int want_height;
  guint rescale_id;
};

/* Sizes settle for this long (a window being resized, a tile animating) before the
 * streaming thread is asked to scale to them. */
#define RESCALE_DELAY_MS 200
/* No scaling to more than this: the renderer scales the rest. */
#define MAX_SCALED_PIXELS (3840 * 2160)

enum
{
  PROP_0,
  PROP_ELEMENT,
  PROP_FRAME_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void paintable_iface_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TetherPaintableSink, tether_paintable_sink, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE, paintable_iface_init))

/* Keeps a buffer mapped for as long as a texture uses its memory. */
typedef struct
{
  GstBuffer *buffer;
  GstMapInfo map;
} MappedBuffer;

static void
mapped_buffer_free (gpointer data)
{
  MappedBuffer *m = data;

  gst_buffer_unmap (m->buffer, &m->map);
  gst_buffer_unref (m->buffer);
  g_free (m);
}

/* The one format the sink asks videoconvert for (on the streaming thread): packed RGB.
 * It is the format that costs the main thread least with GTK 4.8: its cairo renderer
 * copies a GDK_MEMORY_R8G8B8 texture into its BGRA surface with a byte shuffle (0.4 ms
 * for 640×360 here), while every 4-byte format, even its own premultiplied BGRA, goes
 * through floats (1.6–3.3 ms; GTK 4.10 has fast paths); its GL renderer uploads it as
 * GL_RGB as it is, on GL and GLES. Video is opaque, so nothing is lost. */
#define SINK_VIDEO_FORMAT GST_VIDEO_FORMAT_RGB
#define SINK_FORMAT_NAME "RGB"
#define SINK_CAPS "video/x-raw,format=RGB"
#define SINK_MEMORY_FORMAT GDK_MEMORY_R8G8B8

/* Main thread: wraps the sample's buffer in a texture without copying. */
static GdkTexture *
texture_from_sample (GstSample *sample)
{
  GstCaps *caps = gst_sample_get_caps (sample);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstVideoInfo info;
  GstVideoMeta *meta;
  MappedBuffer *m;
  g_autoptr(GBytes) bytes = NULL;
  gsize offset;
  int stride;

  if (caps == NULL || buffer == NULL || !gst_video_info_from_caps (&info, caps)
      || GST_VIDEO_INFO_FORMAT (&info) != SINK_VIDEO_FORMAT)
    return NULL;

  offset = GST_VIDEO_INFO_PLANE_OFFSET (&info, 0);
  stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  meta = gst_buffer_get_video_meta (buffer);
  if (meta != NULL)
    {
      offset = meta->offset[0];
      stride = meta->stride[0];
    }

  m = g_new0 (MappedBuffer, 1);
  m->buffer = gst_buffer_ref (buffer);
  if (!gst_buffer_map (m->buffer, &m->map, GST_MAP_READ)
      || m->map.size < offset + (gsize) stride * (GST_VIDEO_INFO_HEIGHT (&info) - 1))
    {
      gst_buffer_unref (m->buffer);
      g_free (m);
      return NULL;
    }

  bytes = g_bytes_new_with_free_func (m->map.data + offset, m->map.size - offset,
                                      mapped_buffer_free, m);
  return gdk_memory_texture_new (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
                                 SINK_MEMORY_FORMAT, bytes, stride);
}

static gboolean
frame_idle_cb (gpointer data)
{
  TetherPaintableSink *self = data;
  g_autoptr(GstSample) sample = NULL;
  g_autoptr(GstCaps) source = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GstVideoInfo info;
  double par = 1.0;
  int width, height;
  gboolean size_changed;

  g_mutex_lock (&self->lock);
  sample = g_steal_pointer (&self->pending);
  source = g_steal_pointer (&self->pending_source);
  g_clear_pointer (&self->idle, g_source_unref);
  g_mutex_unlock (&self->lock);

  if (sample == NULL || (texture = texture_from_sample (sample)) == NULL)
    return G_SOURCE_REMOVE;

  /* The intrinsic size is the stream's, not what videoscale made of it for this tile. */
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  if (source == NULL || !gst_video_info_from_caps (&info, source))
    gst_video_info_from_caps (&info, gst_sample_get_caps (sample));
  else
    {
      width = GST_VIDEO_INFO_WIDTH (&info);
      height = GST_VIDEO_INFO_HEIGHT (&info);
    }
  if (GST_VIDEO_INFO_PAR_D (&info) > 0 && GST_VIDEO_INFO_PAR_N (&info) > 0)
    par = (double) GST_VIDEO_INFO_PAR_N (&info) / GST_VIDEO_INFO_PAR_D (&info);

  size_changed = self->texture == NULL || width != self->width || height != self->height
                 || par != self->pixel_aspect;
  g_set_object (&self->texture, texture);
  self->width = width;
  self->height = height;
  self->pixel_aspect = par;
  self->frame_count++;

  if (size_changed)
    gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAME_COUNT]);
  return G_SOURCE_REMOVE;
}

/* Streaming thread: keep only the newest frame; schedule an idle if none is pending. */
static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    data)
{
  TetherPaintableSink *self = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstCaps *source;

  if (sample == NULL)
    return GST_FLOW_EOS;
  source = gst_pad_get_current_caps (self->source_pad);

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->pending, gst_sample_unref);
  gst_clear_caps (&self->pending_source);
  self->pending = sample;
  self->pending_source = source;
  if (self->idle == NULL)
    {
      self->idle = g_idle_source_new ();
      g_source_set_priority (self->idle, G_PRIORITY_DEFAULT);
      g_source_set_static_name (self->idle, "[tether] paintable frame");
      /* The idle holds a reference so that a frame in flight outlives a dispose. */
      g_source_set_callback (self->idle, frame_idle_cb, g_object_ref (self), g_object_unref);
      g_source_attach (self->idle, self->context);
    }
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static void
external_invalidate_contents_cb (GdkPaintable        *paintable,
                                 TetherPaintableSink *self)
{
  self->frame_count++;
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAME_COUNT]);
}

static void
external_invalidate_size_cb (GdkPaintable        *paintable,
                             TetherPaintableSink *self)
{
  gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
}

/* Main thread: asks videoscale for the size frames are drawn at. */
static gboolean
rescale_cb (gpointer data)
{
  TetherPaintableSink *self = data;
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GstPad) pad = gst_element_get_static_pad (self->appsink, "sink");

  self->rescale_id = 0;
  g_debug ("paintable sink %p: frames scaled to %d×%d before they reach the main thread",
           self, self->want_width, self->want_height);
  caps = gst_caps_new_simple ("video/x-raw",
                              "format", G_TYPE_STRING, SINK_FORMAT_NAME,
                              "width", G_TYPE_INT, self->want_width,
                              "height", G_TYPE_INT, self->want_height,
                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                              NULL);
  g_object_set (self->appsink, "caps", caps, NULL);
  gst_pad_push_event (pad, gst_event_new_reconfigure ());
  self->asked_width = self->want_width;
  self->asked_height = self->want_height;
  return G_SOURCE_REMOVE;
}

/* Main thread, from a snapshot at @width × @height: once that size settles, frames come
 * scaled to it (in device pixels), and the cairo renderer copies rather than scales. */
static void
want_size (TetherPaintableSink *self,
           double               width,
           double               height)
{
  int w = (int) (width * self->scale_factor + 0.5);
  int h = (int) (height * self->scale_factor + 0.5);

  if (w < 16 || h < 16 || (gint64) w * h > MAX_SCALED_PIXELS)
    return;
  if (w == self->want_width && h == self->want_height)
    return;  /* asked for already, or about to be */
  self->want_width = w;
  self->want_height = h;
  g_clear_handle_id (&self->rescale_id, g_source_remove);
  if (w != self->asked_width || h != self->asked_height)
    self->rescale_id = g_timeout_add (RESCALE_DELAY_MS, rescale_cb, self);
}

static void
tether_paintable_sink_snapshot (GdkPaintable *paintable,
                                GdkSnapshot  *snapshot,
                                double        width,
                                double        height)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (paintable);

  if (self->external != NULL)
    gdk_paintable_snapshot (self->external, snapshot, width, height);
  else if (self->texture != NULL)
    {
      gtk_snapshot_append_texture (GTK_SNAPSHOT (snapshot), self->texture,
                                   &GRAPHENE_RECT_INIT (0, 0, width, height));
      if (self->prescale)
        want_size (self, width, height);
    }
}

static GdkPaintable *
tether_paintable_sink_get_current_image (GdkPaintable *paintable)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (paintable);

  if (self->external != NULL)
    return gdk_paintable_get_current_image (self->external);
  if (self->texture != NULL)
    return GDK_PAINTABLE (g_object_ref (self->texture));
  return gdk_paintable_new_empty (self->width, self->height);
}

static int
tether_paintable_sink_get_intrinsic_width (GdkPaintable *paintable)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (paintable);

  if (self->external != NULL)
    return gdk_paintable_get_intrinsic_width (self->external);
  return (int) (self->width * self->pixel_aspect);
}

static int
tether_paintable_sink_get_intrinsic_height (GdkPaintable *paintable)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (paintable);

  if (self->external != NULL)
    return gdk_paintable_get_intrinsic_height (self->external);
  return self->height;
}

static double
tether_paintable_sink_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (paintable);

  if (self->external != NULL)
    return gdk_paintable_get_intrinsic_aspect_ratio (self->external);
  if (self->height == 0)
    return 0.0;
  return self->width * self->pixel_aspect / self->height;
}

static void
paintable_iface_init (GdkPaintableInterface *iface)
{
  iface->snapshot = tether_paintable_sink_snapshot;
  iface->get_current_image = tether_paintable_sink_get_current_image;
  iface->get_intrinsic_width = tether_paintable_sink_get_intrinsic_width;
  iface->get_intrinsic_height = tether_paintable_sink_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = tether_paintable_sink_get_intrinsic_aspect_ratio;
}

static void
tether_paintable_sink_dispose (GObject *object)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (object);

  if (self->appsink != NULL)
    {
      GstAppSinkCallbacks none = { NULL, };

      gst_app_sink_set_callbacks (GST_APP_SINK (self->appsink), &none, NULL, NULL);
      self->appsink = NULL;
    }
  gst_clear_object (&self->source_pad);
  if (self->external != NULL)
    g_signal_handlers_disconnect_by_data (self->external, self);
  g_clear_object (&self->external);
  gst_clear_object (&self->element);

  g_mutex_lock (&self->lock);
  if (self->idle != NULL)
    {
      g_source_destroy (self->idle);
      g_clear_pointer (&self->idle, g_source_unref);
    }
  g_clear_pointer (&self->pending, gst_sample_unref);
  gst_clear_caps (&self->pending_source);
  g_mutex_unlock (&self->lock);

  g_clear_handle_id (&self->rescale_id, g_source_remove);
  g_clear_object (&self->texture);

  G_OBJECT_CLASS (tether_paintable_sink_parent_class)->dispose (object);
}

static void
tether_paintable_sink_finalize (GObject *object)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (object);

  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tether_paintable_sink_parent_class)->finalize (object);
}

static void
tether_paintable_sink_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TetherPaintableSink *self = TETHER_PAINTABLE_SINK (object);

  switch (prop_id)
    {
    case PROP_ELEMENT:
      g_value_set_object (value, self->element);
      break;
    case PROP_FRAME_COUNT:
      g_value_set_uint64 (value, self->frame_count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_paintable_sink_class_init (TetherPaintableSinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tether_paintable_sink_dispose;
  object_class->finalize = tether_paintable_sink_finalize;
  object_class->get_property = tether_paintable_sink_get_property;

  /**
   * TetherPaintableSink:element:
   *
   * The sink element to give a pipeline: an appsink, or gtk4paintablesink when that
   * element is installed.
   */
  properties[PROP_ELEMENT] =
    g_param_spec_object ("element", NULL, NULL, GST_TYPE_ELEMENT,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * TetherPaintableSink:frame-count:
   *
   * Frames shown so far; notified at most once per idle.
   */
  properties[PROP_FRAME_COUNT] =
    g_param_spec_uint64 ("frame-count", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_paintable_sink_init (TetherPaintableSink *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->pixel_aspect = 1.0;
}

/* videoscale ! appsink in a bin. videoscale passes frames through untouched until the
 * snapshot asks for a size (only with the cairo renderer: GL scales for free). */
static GstElement *
make_bin (TetherPaintableSink *self)
{
  GstAppSinkCallbacks callbacks = { NULL, };
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GstPad) pad = NULL;
  GstElement *bin, *scale, *sink;

  scale = gst_element_factory_make ("videoscale", NULL);
  sink = gst_element_factory_make ("appsink", NULL);
  if (scale == NULL || sink == NULL)
    {
      gst_clear_object (&scale);
      gst_clear_object (&sink);
      return NULL;
    }
  bin = gst_bin_new (NULL);
  gst_bin_add_many (GST_BIN (bin), scale, sink, NULL);
  gst_element_link (scale, sink);
  pad = gst_element_get_static_pad (scale, "sink");
  self->source_pad = gst_object_ref (gst_ghost_pad_new ("sink", pad));
  gst_element_add_pad (bin, self->source_pad);
  /* A pixel or so of another aspect ratio after rounding: stretch, no black lines. */
  g_object_set (scale, "add-borders", FALSE, NULL);

  caps = gst_caps_from_string (SINK_CAPS);
  g_object_set (sink,
                "caps", caps,
                "max-buffers", 1,
                "drop", TRUE,
                "sync", TRUE,
                "qos", TRUE,
                "enable-last-sample", FALSE,
                NULL);
  callbacks.new_sample = new_sample_cb;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);
  self->appsink = sink;
  return bin;
}

/* The largest scale factor of the display's monitors: a cairo window on a 2× monitor
 * draws frames at twice their size in logical pixels. */
static int
max_scale_factor (void)
{
  GdkDisplay *display = gdk_display_get_default ();
  GListModel *monitors = display ? gdk_display_get_monitors (display) : NULL;
  int scale = 1;

  for (guint i = 0; monitors != NULL && i < g_list_model_get_n_items (monitors); i++)
    {
      g_autoptr(GdkMonitor) monitor = g_list_model_get_item (monitors, i);

      scale = MAX (scale, gdk_monitor_get_scale_factor (monitor));
    }
  return scale;
}

/**
 * tether_paintable_sink_new:
 *
 * Creates the sink and its element. Frames are shown on the thread-default main
 * context of the caller.
 */
TetherPaintableSink *
tether_paintable_sink_new (void)
{
  TetherPaintableSink *self;
  GstElement *element = NULL;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  self = g_object_new (TETHER_TYPE_PAINTABLE_SINK, NULL);

  /* gtk4paintablesink (gst-plugins-rs) does all of this with GL; Debian 12 lacks it. */
  if (g_getenv ("TETHER_NO_GTK4PAINTABLESINK") == NULL)
    element = gst_element_factory_make ("gtk4paintablesink", NULL);
  if (element != NULL)
    {
      g_object_get (element, "paintable", &self->external, NULL);
      if (self->external != NULL)
        {
          g_signal_connect (self->external, "invalidate-contents",
                            G_CALLBACK (external_invalidate_contents_cb), self);
          g_signal_connect (self->external, "invalidate-size",
                            G_CALLBACK (external_invalidate_size_cb), self);
        }
      else
        gst_clear_object (&element);
    }
  if (element == NULL)
    {
      element = make_bin (self);
      self->prescale = g_strcmp0 (g_getenv ("GSK_RENDERER"), "cairo") == 0;
      self->scale_factor = max_scale_factor ();
    }

  if (element != NULL)
    self->element = gst_object_ref_sink (element);
  return self;
}

GstElement *
tether_paintable_sink_get_element (TetherPaintableSink *self)
{
  g_return_val_if_fail (TETHER_IS_PAINTABLE_SINK (self), NULL);

  return self->element;
}

GdkPaintable *
tether_paintable_sink_get_paintable (TetherPaintableSink *self)
{
  g_return_val_if_fail (TETHER_IS_PAINTABLE_SINK (self), NULL);

  return GDK_PAINTABLE (self);
}

guint64
tether_paintable_sink_get_frame_count (TetherPaintableSink *self)
{
  g_return_val_if_fail (TETHER_IS_PAINTABLE_SINK (self), 0);

  return self->frame_count;
}

/**
 * tether_paintable_sink_clear:
 *
 * Forgets the last frame, e.g. when the stream it came from is gone.
 */
void
tether_paintable_sink_clear (TetherPaintableSink *self)
{
  g_return_if_fail (TETHER_IS_PAINTABLE_SINK (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->pending, gst_sample_unref);
  g_mutex_unlock (&self->lock);
  if (self->texture == NULL)
    return;
  g_clear_object (&self->texture);
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

/* GL_RENDERER strings of Mesa's software rasterizers (llvmpipe, softpipe, the old swrast). */
static gboolean
gl_renderer_is_software (const char *renderer)
{
  static const char * const software[] = { "llvmpipe", "softpipe", "Software Rasterizer", "swrast", NULL };

  for (guint i = 0; renderer != NULL && software[i] != NULL; i++)
    if (strstr (renderer, software[i]) != NULL)
      return TRUE;
  return FALSE;
}

/**
 * tether_paintable_sink_choose_renderer:
 * @display: the display the windows will be on
 *
 * Before the first window is shown: when GL on @display is a software rasterizer (a VM,
 * Xvfb, a machine without a GPU driver) and `GSK_RENDERER` is not set, sets it to
 * `cairo`. GTK 4.8's GL renderer redraws the whole window for every video frame there,
 * which costs several times the CPU of the cairo renderer's damaged-area redraws (see
 * docs/benchmarks.md, "Viewer app: CPU and memory"). A `GSK_RENDERER` of the user's wins.
 *
 * Returns: whether it chose the cairo renderer
 */
gboolean
tether_paintable_sink_choose_renderer (GdkDisplay *display)
{
  g_autoptr(GdkGLContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *renderer;
  gboolean software;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), FALSE);

  if (g_getenv ("GSK_RENDERER") != NULL)
    return FALSE;
  context = gdk_display_create_gl_context (display, &error);
  if (context == NULL || !gdk_gl_context_realize (context, &error))
    {
      /* GTK falls back to cairo by itself. */
      g_debug ("no GL: %s", error->message);
      return FALSE;
    }
  gdk_gl_context_make_current (context);
  renderer = (const char *) glGetString (GL_RENDERER);
  software = gl_renderer_is_software (renderer);
  g_debug ("GL renderer: %s%s", renderer ? renderer : "(unknown)",
           software ? ": software, drawing with cairo" : "");
  gdk_gl_context_clear_current ();
  if (software)
    g_setenv ("GSK_RENDERER", "cairo", TRUE);
  return software;
}
