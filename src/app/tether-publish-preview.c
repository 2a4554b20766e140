/* tether-publish-preview.c: the self-view before going live — the test picture or a
 * camera found by a GstDeviceMonitor ("Video/Source"), the microphone on or off, the
 * picture playing in a paintable sink, and Go Live (the session publishes) or Cancel
 * (nothing is published). The pipeline and the monitor run only while it is open.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-publish-preview-private.h"

/* The publisher's picture (tether-publisher.c's defaults): the preview shows what goes out. */
#define PREVIEW_CAPS "video/x-raw,width=640,height=360,framerate=30/1"

struct _TetherPublishPreview
{
  AdwWindow parent_instance;

  TetherSession *session;
  GstDeviceMonitor *monitor;      /* cameras, while open */
  guint monitor_watch;
  GPtrArray *devices;             /* GstDevice: the source rows after the test picture */
  GstDevice *current;             /* the source shown; NULL for the test picture */
  GstElement *pipeline;           /* the self-view, NULL when stopped */
  guint pipeline_watch;
  TetherPaintableSink *sink;
  gboolean filling;               /* the source list is being rebuilt */

  /* template children */
  GtkPicture *picture;
  GtkLabel *error_label;
  AdwComboRow *source_row;
  GtkStringList *source_names;
  AdwActionRow *audio_row;
  GtkSwitch *audio_switch;
};

G_DEFINE_FINAL_TYPE (TetherPublishPreview, tether_publish_preview, ADW_TYPE_WINDOW)

/* ---- the self-view --------------------------------------------------------------- */

static void
stop_pipeline (TetherPublishPreview *self)
{
  GstElement *element = tether_paintable_sink_get_element (self->sink);

  g_clear_handle_id (&self->pipeline_watch, g_source_remove);
  if (self->pipeline == NULL)
    return;
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  /* The sink is the tile's kind: it outlives the pipeline and joins the next one. */
  if (gst_object_has_as_parent (GST_OBJECT (element), GST_OBJECT (self->pipeline)))
    gst_bin_remove (GST_BIN (self->pipeline), element);
  gst_clear_object (&self->pipeline);
}

static void
show_error (TetherPublishPreview *self,
            const char           *text)
{
  gtk_label_set_text (self->error_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), text != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "preview.go-live", text == NULL);
}

static gboolean
pipeline_bus_cb (GstBus     *bus,
                 GstMessage *message,
                 gpointer    data)
{
  TetherPublishPreview *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
    return G_SOURCE_CONTINUE;
  gst_message_parse_error (message, &error, NULL);
  g_debug ("preview: %s", error->message);
  /* Translators: %s is GStreamer's error message */
  text = g_strdup_printf (_("This source shows no picture: %s"), error->message);
  self->pipeline_watch = 0;
  stop_pipeline (self);
  show_error (self, text);
  return G_SOURCE_REMOVE;
}

static GstElement *
build_pipeline (TetherPublishPreview  *self,
                GError               **error)
{
  g_autoptr(GString) d = g_string_new (NULL);
  g_autoptr(GstElementFactory) overlay = gst_element_factory_find ("timeoverlay");
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstElement) out = NULL;
  GstElement *sink = tether_paintable_sink_get_element (self->sink);
  GstElement *parsed;

  if (self->current != NULL)
    g_string_append (d, "videoconvert name=in ! videoscale ! videorate ! " PREVIEW_CAPS " ");
  else
    {
      g_string_append (d, "videotestsrc is-live=true pattern=ball ! " PREVIEW_CAPS " ");
      if (overlay != NULL)
        g_string_append (d, "! timeoverlay font-desc=\"Sans 24\" ");
    }
  g_string_append (d, "! videoconvert name=out");

  parsed = gst_parse_launch_full (d->str, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (parsed == NULL)
    return NULL;
  pipeline = gst_object_ref_sink (parsed);

  if (self->current != NULL)
    {
      g_autoptr(GstElement) in = gst_bin_get_by_name (GST_BIN (pipeline), "in");
      GstElement *camera = gst_device_create_element (self->current, NULL);

      if (camera == NULL || !gst_bin_add (GST_BIN (pipeline), camera)
          || !gst_element_link (camera, in))
        {
          g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                               _("The camera cannot be opened"));
          return NULL;
        }
    }
  out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  gst_bin_add (GST_BIN (pipeline), sink);
  if (!gst_element_link (out, sink))
    {
      gst_bin_remove (GST_BIN (pipeline), sink);
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                           _("The picture cannot be shown"));
      return NULL;
    }
  return g_steal_pointer (&pipeline);
}

static void
start_pipeline (TetherPublishPreview *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;

  stop_pipeline (self);
  tether_paintable_sink_clear (self->sink);
  show_error (self, NULL);
  self->pipeline = build_pipeline (self, &error);
  if (self->pipeline == NULL)
    {
      show_error (self, error->message);
      return;
    }
  bus = gst_element_get_bus (self->pipeline);
  self->pipeline_watch = gst_bus_add_watch (bus, pipeline_bus_cb, self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      stop_pipeline (self);
      show_error (self, _("This source does not start: is the camera in use?"));
    }
}

/* ---- the sources ------------------------------------------------------------------- */

static GstDevice *
selected_device (TetherPublishPreview *self)
{
  guint selected = adw_combo_row_get_selected (self->source_row);

  return selected >= 1 && selected - 1 < self->devices->len
           ? g_ptr_array_index (self->devices, selected - 1)
           : NULL;
}

static void
source_selected_cb (TetherPublishPreview *self)
{
  GstDevice *device;

  if (self->filling)
    return;
  device = selected_device (self);
  if (device == self->current && self->pipeline != NULL)
    return;
  g_set_object (&self->current, device);
  /* With a camera, the microphone is the microphone. */
  adw_action_row_set_subtitle (self->audio_row, device == NULL ? _("With the test picture, a test tone") : "");
  start_pipeline (self);
}

/* The test picture, then every camera; the choice stays on its source when cameras come
 * and go, and falls back to the test picture when its camera went. At opening, @camera
 * is the camera to start on (by name; another one when it is not there), NULL for the
 * test picture. */
static void
fill_sources (TetherPublishPreview *self,
              const char           *camera)
{
  GList *found = self->monitor != NULL ? gst_device_monitor_get_devices (self->monitor) : NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *current_name = self->current ? gst_device_get_display_name (self->current) : NULL;
  const char *wanted = current_name != NULL ? current_name : camera;
  guint selected = 0;

  g_ptr_array_set_size (self->devices, 0);
  g_ptr_array_add (names, g_strdup (_("Test picture")));
  for (GList *l = found; l != NULL; l = l->next)
    {
      GstDevice *device = l->data;   /* the list's reference goes to self->devices */
      char *name = gst_device_get_display_name (device);

      g_ptr_array_add (self->devices, device);
      g_ptr_array_add (names, name);
      if (device == self->current || g_strcmp0 (name, wanted) == 0)
        selected = names->len - 1;
    }
  g_list_free (found);
  g_ptr_array_add (names, NULL);
  if (selected == 0 && self->current == NULL && camera != NULL && self->devices->len > 0)
    selected = 1;

  self->filling = TRUE;
  gtk_string_list_splice (self->source_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->source_names)),
                          (const char * const *) names->pdata);
  adw_combo_row_set_selected (self->source_row, selected);
  self->filling = FALSE;
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->source_row),
                               self->devices->len == 0 ? _("No camera found") : "");
  source_selected_cb (self);
}

static gboolean
monitor_bus_cb (GstBus     *bus,
                GstMessage *message,
                gpointer    data)
{
  TetherPublishPreview *self = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_DEVICE_ADDED
      || GST_MESSAGE_TYPE (message) == GST_MESSAGE_DEVICE_REMOVED)
    fill_sources (self, NULL);
  return G_SOURCE_CONTINUE;
}

static void
start_monitor (TetherPublishPreview *self)
{
  g_autoptr(GstBus) bus = NULL;

  self->monitor = gst_device_monitor_new ();
  gst_device_monitor_add_filter (self->monitor, "Video/Source", NULL);
  bus = gst_device_monitor_get_bus (self->monitor);
  self->monitor_watch = gst_bus_add_watch (bus, monitor_bus_cb, self);
  /* No provider (no v4l2, no PipeWire) is no error: the test picture remains. */
  if (!gst_device_monitor_start (self->monitor))
    g_debug ("preview: no camera monitor");
}

/* Closing, going live or the room ending: the camera is let go at once. */
static void
stop_all (TetherPublishPreview *self)
{
  stop_pipeline (self);
  g_clear_handle_id (&self->monitor_watch, g_source_remove);
  if (self->monitor != NULL)
    gst_device_monitor_stop (self->monitor);
  g_clear_object (&self->monitor);
  g_ptr_array_set_size (self->devices, 0);
  g_clear_object (&self->current);
}

/* ---- going live ----------------------------------------------------------------------- */

static void
go_live_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TetherPublishPreview *self = TETHER_PUBLISH_PREVIEW (widget);
  GSettings *settings = tether_session_get_settings (self->session);
  g_autoptr(GstDevice) device = self->current ? g_object_ref (self->current) : NULL;
  gboolean audio = gtk_switch_get_active (self->audio_switch);
  g_autoptr(GError) error = NULL;

  /* Many cameras open once at a time: the publisher's now. */
  stop_pipeline (self);
  if (!tether_session_publish (self->session,
                               device != NULL ? TETHER_PUBLISHER_SOURCE_CAMERA
                                              : TETHER_PUBLISHER_SOURCE_TEST,
                               device, audio, &error))
    {
      /* Translators: %s is an error message */
      g_autofree char *text = g_strdup_printf (_("Cannot go live: %s"), error->message);

      start_pipeline (self);
      show_error (self, text);
      return;
    }
  g_settings_set_string (settings, "publish-source", device != NULL ? "camera" : "test");
  if (device != NULL)
    {
      g_autofree char *name = gst_device_get_display_name (device);

      g_settings_set_string (settings, "publish-camera", name);
    }
  g_settings_set_boolean (settings, "publish-audio", audio);
  gtk_window_close (GTK_WINDOW (self));
}

static void
session_room_changed_cb (TetherPublishPreview *self)
{
  if (tether_session_get_room (self->session) == NULL)
    gtk_window_close (GTK_WINDOW (self));
}

/* ---- GObject ---------------------------------------------------------------------------- */

/**
 * tether_publish_preview_new:
 * @parent: the window it belongs to
 * @session: the session that goes live
 *
 * Returns: (transfer none): a new preview, showing the source of "publish-source"
 */
TetherPublishPreview *
tether_publish_preview_new (GtkWindow     *parent,
                            TetherSession *session)
{
  TetherPublishPreview *self;
  GSettings *settings;
  g_autofree char *source = NULL;
  g_autofree char *camera = NULL;

  g_return_val_if_fail (TETHER_IS_SESSION (session), NULL);

  self = g_object_new (TETHER_TYPE_PUBLISH_PREVIEW, "transient-for", parent,
                       "destroy-with-parent", TRUE, NULL);
  self->session = g_object_ref (session);
  settings = tether_session_get_settings (session);
  source = g_settings_get_string (settings, "publish-source");
  gtk_switch_set_active (self->audio_switch, g_settings_get_boolean (settings, "publish-audio"));
  g_signal_connect_object (session, "notify::room", G_CALLBACK (session_room_changed_cb), self,
                           G_CONNECT_SWAPPED);
  start_monitor (self);
  camera = g_settings_get_string (settings, "publish-camera");
  fill_sources (self, g_str_equal (source, "camera") ? camera : NULL);
  return self;
}

static gboolean
tether_publish_preview_close_request (GtkWindow *window)
{
  stop_all (TETHER_PUBLISH_PREVIEW (window));

  return GTK_WINDOW_CLASS (tether_publish_preview_parent_class)->close_request (window);
}

static void
tether_publish_preview_dispose (GObject *object)
{
  TetherPublishPreview *self = TETHER_PUBLISH_PREVIEW (object);

  stop_all (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_PUBLISH_PREVIEW);
  g_clear_object (&self->sink);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (tether_publish_preview_parent_class)->dispose (object);
}

static void
tether_publish_preview_finalize (GObject *object)
{
  TetherPublishPreview *self = TETHER_PUBLISH_PREVIEW (object);

  g_ptr_array_unref (self->devices);

  G_OBJECT_CLASS (tether_publish_preview_parent_class)->finalize (object);
}

static void
tether_publish_preview_class_init (TetherPublishPreviewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tether_publish_preview_dispose;
  object_class->finalize = tether_publish_preview_finalize;
  window_class->close_request = tether_publish_preview_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-publish-preview.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, picture);
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, error_label);
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, source_row);
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, source_names);
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, audio_row);
  gtk_widget_class_bind_template_child (widget_class, TetherPublishPreview, audio_switch);
  gtk_widget_class_bind_template_callback (widget_class, source_selected_cb);

  gtk_widget_class_install_action (widget_class, "preview.go-live", NULL, go_live_action);
  /* Escape is Cancel, as in every dialog. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tether_publish_preview_init (TetherPublishPreview *self)
{
  self->devices = g_ptr_array_new_with_free_func (g_object_unref);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->sink = tether_paintable_sink_new ();
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (self->sink));
}

/* ---- read-outs for tests/test-app-publish.c ------------------------------------------------- */

TetherPaintableSink *
tether_publish_preview_get_sink (TetherPublishPreview *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISH_PREVIEW (self), NULL);
  return self->sink;
}

GstElement *
tether_publish_preview_get_pipeline (TetherPublishPreview *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISH_PREVIEW (self), NULL);
  return self->pipeline;
}

guint
tether_publish_preview_get_n_sources (TetherPublishPreview *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISH_PREVIEW (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->source_names));
}

AdwComboRow *
tether_publish_preview_get_source_row (TetherPublishPreview *self)
{
  g_return_val_if_fail (TETHER_IS_PUBLISH_PREVIEW (self), NULL);
  return self->source_row;
}
