/* tether-paintable-sink.c: appsink → newest frame under a lock → one idle → a texture
 * that wraps the buffer's memory, made on the main thread (see docs/design.md, "The
 * thread rules")
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

  GstElement *element;          /* owned (ref_sink'ed) */
  GdkPaintable *external;       /* gtk4paintablesink's paintable, when that is used */
  GMainContext *context;        /* where the idle runs: the creator's */

  GMutex lock;
  GstSample *pending;           /* under lock: the newest frame not shown yet */
  GSource *idle;                /* under lock: at most one scheduled */

  /* main thread only */
  GdkTexture *texture;
  int width;
  int height;
  double pixel_aspect;
  guint64 frame_count;
};

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
#define SINK_CAPS "video/x-raw,format=RGB"
#define SINK_MEMORY_FORMAT GDK_MEMORY_R8G8B8

/* Main thread: wraps the sample's buffer in a texture without copying. */
static GdkTexture *
texture_from_sample (GstSample *sample,
                     double    *pixel_aspect)
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
  *pixel_aspect = GST_VIDEO_INFO_PAR_D (&info) > 0
                  ? (double) GST_VIDEO_INFO_PAR_N (&info) / GST_VIDEO_INFO_PAR_D (&info)
                  : 1.0;
  return gdk_memory_texture_new (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
                                 SINK_MEMORY_FORMAT, bytes, stride);
}

static gboolean
frame_idle_cb (gpointer data)
{
  TetherPaintableSink *self = data;
  g_autoptr(GstSample) sample = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  double par = 1.0;
  gboolean size_changed;

  g_mutex_lock (&self->lock);
  sample = g_steal_pointer (&self->pending);
  g_clear_pointer (&self->idle, g_source_unref);
  g_mutex_unlock (&self->lock);

  if (sample == NULL || (texture = texture_from_sample (sample, &par)) == NULL)
    return G_SOURCE_REMOVE;

  size_changed = self->texture == NULL
                 || gdk_texture_get_width (texture) != self->width
                 || gdk_texture_get_height (texture) != self->height
                 || par != self->pixel_aspect;
  g_set_object (&self->texture, texture);
  self->width = gdk_texture_get_width (texture);
  self->height = gdk_texture_get_height (texture);
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

  if (sample == NULL)
    return GST_FLOW_EOS;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->pending, gst_sample_unref);
  self->pending = sample;
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
    gtk_snapshot_append_texture (GTK_SNAPSHOT (snapshot), self->texture,
                                 &GRAPHENE_RECT_INIT (0, 0, width, height));
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

  if (self->element != NULL && self->external == NULL)
    {
      GstAppSinkCallbacks none = { NULL, };

      gst_app_sink_set_callbacks (GST_APP_SINK (self->element), &none, NULL, NULL);
    }
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
  g_mutex_unlock (&self->lock);

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

static GstElement *
make_appsink (TetherPaintableSink *self)
{
  GstAppSinkCallbacks callbacks = { NULL, };
  g_autoptr(GstCaps) caps = NULL;
  GstElement *sink;

  sink = gst_element_factory_make ("appsink", NULL);
  if (sink == NULL)
    return NULL;

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
  return sink;
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
    element = make_appsink (self);

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
