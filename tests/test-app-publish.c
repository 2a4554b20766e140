/* test-app-publish.c: going live from the app against a real server and media node — the
 * preview plays the test picture and publishes nothing, Go Live puts the stream in the
 * room (seen by a second client) with the red Live pill, "Live as" and yourself first in
 * People, Stop takes it away, Cancel publishes nothing and ends the preview's pipeline;
 * the preferences show the retry windows in minutes
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "app-fixture.h"
#include "tether-preferences-private.h"
#include "tether-publish-preview-private.h"

/* ---- a camera: a device provider whose one "Video/Source" is a colour-bar picture ---- */

typedef struct { GstDevice parent_instance; } TestCamera;
typedef struct { GstDeviceClass parent_class; } TestCameraClass;
typedef struct { GstDeviceProvider parent_instance; } TestCameraProvider;
typedef struct { GstDeviceProviderClass parent_class; } TestCameraProviderClass;

static GType test_camera_get_type (void);
static GType test_camera_provider_get_type (void);
G_DEFINE_TYPE (TestCamera, test_camera, GST_TYPE_DEVICE)
G_DEFINE_TYPE (TestCameraProvider, test_camera_provider, GST_TYPE_DEVICE_PROVIDER)

static GstElement *
test_camera_create_element (GstDevice  *device,
                            const char *name)
{
  GstElement *source = gst_element_factory_make ("videotestsrc", name);

  g_object_set (source, "is-live", TRUE, NULL);
  gst_util_set_object_arg (G_OBJECT (source), "pattern", "smpte");
  return source;
}

static void
test_camera_class_init (TestCameraClass *klass)
{
  GST_DEVICE_CLASS (klass)->create_element = test_camera_create_element;
}

static void
test_camera_init (TestCamera *self)
{
}

static GList *
test_camera_provider_probe (GstDeviceProvider *provider)
{
  g_autoptr(GstCaps) caps = gst_caps_from_string ("video/x-raw");

  return g_list_append (NULL, gst_object_ref_sink (g_object_new (test_camera_get_type (),
                                                                 "display-name", "Test Camera",
                                                                 "device-class", "Video/Source",
                                                                 "caps", caps, NULL)));
}

static void
test_camera_provider_class_init (TestCameraProviderClass *klass)
{
  GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS (klass);

  provider_class->probe = test_camera_provider_probe;
  gst_device_provider_class_set_static_metadata (provider_class, "Tether test camera",
                                                 "Source/Video", "One camera for the app tests",
                                                 "Tether");
}

static void
test_camera_provider_init (TestCameraProvider *self)
{
}

static gboolean
test_camera_plugin_init (GstPlugin *plugin)
{
  return gst_device_provider_register (plugin, "tethertestcameras", GST_RANK_PRIMARY,
                                       test_camera_provider_get_type ());
}

/* The window joins "lobby" as Ada (user "ada"), a host is in the room to look. */
static void
join_as_ada (Fixture *f)
{
  g_autofree char *token = tether_test_token ("ada", "lobby", 3600);

  session_join (f, "ada", "Ada", token);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_true (badge_in (f));
  host_login (f, "host");
}

static TetherPublishPreview *
open_preview (Fixture *f)
{
  TetherPublishPreview *preview;
  guint64 target;

  g_assert_null (tether_window_get_publish_preview (f->window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  preview = tether_window_get_publish_preview (f->window);
  g_assert_nonnull (preview);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (preview)));
  /* The test picture and any camera the monitor found. */
  g_assert_cmpuint (tether_publish_preview_get_n_sources (preview), >=, 1);

  /* The self-view plays: frames keep arriving in its paintable. */
  target = tether_paintable_sink_get_frame_count (tether_publish_preview_get_sink (preview)) + 20;
  g_assert_true (TETHER_WAIT_UNTIL (tether_paintable_sink_get_frame_count (
                                      tether_publish_preview_get_sink (preview)) >= target,
                                    WAIT_MS));
  g_test_message ("preview frames: %" G_GUINT64_FORMAT,
                  tether_paintable_sink_get_frame_count (tether_publish_preview_get_sink (preview)));
  return preview;
}

/* Nothing of Ada's is in the room, as the host sees it, nor in the session. */
static void
assert_nothing_published (Fixture *f)
{
  g_assert_null (tether_session_get_publisher (f->session));
  g_assert_cmpuint (g_list_model_get_n_items (tether_room_get_streams (f->host_room)), ==, 0);
}

static char *
person_name (Fixture *f,
             guint    position)
{
  return tether_window_dup_person_label (f->window, position);
}

static gboolean
people_include (Fixture    *f,
                const char *name)
{
  GListModel *people = tether_window_get_people (f->window);

  for (guint i = 0; i < g_list_model_get_n_items (people); i++)
    {
      g_autofree char *n = person_name (f, i);

      if (g_strcmp0 (n, name) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_preview_go_live (Fixture *f, gconstpointer data)
{
  TetherPublishPreview *preview;
  GtkWidget *pill = GTK_WIDGET (f->window->publish_badge);
  GtkWidget *button = GTK_WIDGET (f->window->publish_button);
  g_autofree char *first = NULL;

  join_as_ada (f);
  g_assert_cmpstr (tether_window_get_subtitle (f->window), ==, "Watching as Ada");
  /* Yourself, first, marked; the host after you. */
  TETHER_WAIT_UNTIL (people_include (f, "Host"), WAIT_MS);
  first = person_name (f, 0);
  g_assert_cmpstr (first, ==, "Ada (You)");
  g_assert_true (people_include (f, "Host"));

  preview = open_preview (f);
  /* The preview runs, and still nothing is published. */
  g_assert_nonnull (tether_publish_preview_get_pipeline (preview));
  assert_nothing_published (f);
  save_screenshot (GTK_WIDGET (preview), "preview.png");
  assert_nothing_published (f);

  /* Go Live: the preview closes, the stream appears in the room. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preview), "preview.go-live", NULL));
  g_assert_true (TETHER_WAIT_UNTIL (tether_window_get_publish_preview (f->window) == NULL, WAIT_MS));
  g_assert_nonnull (tether_session_get_publisher (f->session));
  g_assert_true (TETHER_WAIT_UNTIL (room_has_stream (f->host_room, "ada-test"), WAIT_MS));
  TETHER_WAIT_UNTIL (tether_publisher_get_state (tether_session_get_publisher (f->session))
                       == TETHER_PUBLISHER_STATE_PUBLISHING, WAIT_MS);

  /* The header: a compact red Live pill, like the tiles'; Stop is destructive. */
  g_assert_true (gtk_widget_get_visible (pill));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (pill)), ==, "Live");
  g_assert_true (gtk_widget_has_css_class (pill, "state-badge"));
  g_assert_true (gtk_widget_has_css_class (pill, "state-playing"));
  TETHER_WAIT_UNTIL (gtk_widget_get_height (pill) > 0, WAIT_MS);
  g_test_message ("Live pill: %d×%d in a %d px header", gtk_widget_get_width (pill),
                  gtk_widget_get_height (pill), gtk_widget_get_height (GTK_WIDGET (f->window->room_header)));
  g_assert_cmpint (gtk_widget_get_height (pill), <, gtk_widget_get_height (button));
  g_assert_true (gtk_widget_has_css_class (button, "destructive-action"));
  g_assert_false (gtk_widget_has_css_class (button, "suggested-action"));
  /* Who you are now. */
  g_assert_cmpstr (tether_window_get_subtitle (f->window), ==, "Live as Ada");
  g_free (first);
  first = person_name (f, 0);
  g_assert_cmpstr (first, ==, "Ada (You)");
  /* Your own stream is no tile: the empty grid does not say that no one streams. */
  g_assert_cmpstr (adw_status_page_get_title (f->window->empty_status), ==, "You Are Live");

  /* The picture of the state: the host streams too, the People page shows you first. */
  host_publish (f, "cam");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  wait_tile_frames (f, "cam", 10);
  gtk_stack_set_visible_child_name (GTK_STACK (gtk_widget_get_last_child (adw_flap_get_flap (f->window->flap))),
                                    "people");
  save_screenshot (GTK_WIDGET (f->window), "publishing.png");

  /* Stop: the stream leaves the room, the header calms down. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  g_assert_true (TETHER_WAIT_UNTIL (!room_has_stream (f->host_room, "ada-test"), WAIT_MS));
  g_assert_null (tether_session_get_publisher (f->session));
  g_assert_false (gtk_widget_get_visible (pill));
  g_assert_true (gtk_widget_has_css_class (button, "suggested-action"));
  g_assert_cmpstr (tether_window_get_subtitle (f->window), ==, "Watching as Ada");
  g_assert_cmpstr (adw_status_page_get_title (f->window->empty_status), ==, "No One Is Streaming");
}

static void
test_preview_cancel (Fixture *f, gconstpointer data)
{
  TetherPublishPreview *preview;
  g_autoptr(GstElement) pipeline = NULL;

  join_as_ada (f);
  preview = open_preview (f);
  pipeline = gst_object_ref (tether_publish_preview_get_pipeline (preview));
  g_assert_cmpint (GST_STATE (pipeline), ==, GST_STATE_PLAYING);

  /* Cancel (the button's window.close, as Escape): the preview and its pipeline end. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preview), "window.close", NULL));
  g_assert_true (TETHER_WAIT_UNTIL (tether_window_get_publish_preview (f->window) == NULL, WAIT_MS));
  g_assert_cmpint (GST_STATE (pipeline), ==, GST_STATE_NULL);
  /* Nobody else holds it: it goes with our reference. */
  g_assert_cmpint (GST_OBJECT_REFCOUNT_VALUE (pipeline), ==, 1);

  /* Nothing reaches the room: the host would have seen the stream by now. */
  tether_test_run_for (1500);
  assert_nothing_published (f);
  g_assert_cmpstr (tether_window_get_subtitle (f->window), ==, "Watching as Ada");

  /* Opening it again works, and leaving the room closes it. */
  preview = open_preview (f);
  g_assert_nonnull (preview);
  tether_window_leave (f->window);
  g_assert_true (TETHER_WAIT_UNTIL (tether_window_get_publish_preview (f->window) == NULL, WAIT_MS));
}

/* The camera the device monitor found: its picture in the preview, then published by
 * the publisher from the same GstDevice. */
static void
test_preview_camera (Fixture *f, gconstpointer data)
{
  TetherPublishPreview *preview;
  TetherPaintableSink *sink;
  GstElement *test_pipeline;
  g_autoptr(GstDevice) device = NULL;
  guint64 target;

  join_as_ada (f);
  preview = open_preview (f);
  g_assert_cmpuint (tether_publish_preview_get_n_sources (preview), ==, 2);
  g_assert_cmpuint (adw_combo_row_get_selected (tether_publish_preview_get_source_row (preview)), ==, 0);
  test_pipeline = tether_publish_preview_get_pipeline (preview);

  /* Choosing the camera: a new pipeline, and the picture goes on. */
  adw_combo_row_set_selected (tether_publish_preview_get_source_row (preview), 1);
  g_assert_nonnull (tether_publish_preview_get_pipeline (preview));
  g_assert_true (tether_publish_preview_get_pipeline (preview) != test_pipeline);
  sink = tether_publish_preview_get_sink (preview);
  target = tether_paintable_sink_get_frame_count (sink) + 20;
  g_assert_true (TETHER_WAIT_UNTIL (tether_paintable_sink_get_frame_count (sink) >= target, WAIT_MS));
  assert_nothing_published (f);
  save_screenshot (GTK_WIDGET (preview), "preview-camera.png");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preview), "preview.go-live", NULL));
  g_assert_true (TETHER_WAIT_UNTIL (room_has_stream (f->host_room, "ada-camera"), WAIT_MS));
  g_object_get (tether_session_get_publisher (f->session), "device", &device, NULL);
  g_assert_nonnull (device);
  g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (device, test_camera_get_type ()));
  /* Remembered: the next preview starts on the camera. */
  g_assert_cmpstr (g_settings_get_string (tether_session_get_settings (f->session), "publish-source"),
                   ==, "camera");
  g_assert_cmpstr (g_settings_get_string (tether_session_get_settings (f->session), "publish-camera"),
                   ==, "Test Camera");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  g_assert_true (TETHER_WAIT_UNTIL (!room_has_stream (f->host_room, "ada-camera"), WAIT_MS));
  preview = open_preview (f);
  g_assert_cmpuint (adw_combo_row_get_selected (tether_publish_preview_get_source_row (preview)), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preview), "window.close", NULL));
  /* The settings (memory) outlive the test. */
  g_settings_reset (tether_session_get_settings (f->session), "publish-source");
  g_settings_reset (tether_session_get_settings (f->session), "publish-camera");
}

static void
test_preferences_minutes (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherPreferences *prefs;
  GtkSpinButton *room_spin, *av_spin;

  g_settings_set_double (settings, "room-retry-time", 1200);
  g_settings_set_double (settings, "av-retry-time", 90);
  prefs = TETHER_PREFERENCES (tether_preferences_new (GTK_WINDOW (f->window)));
  gtk_window_present (GTK_WINDOW (prefs));
  room_spin = tether_preferences_get_room_retry_spin (prefs);
  av_spin = tether_preferences_get_av_retry_spin (prefs);

  /* 1200 s shows as 20 (minutes), 90 s as 2. */
  g_assert_cmpfloat (gtk_spin_button_get_value (room_spin), ==, 20);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (room_spin)), ==, "20");
  g_assert_cmpfloat (gtk_spin_button_get_value (av_spin), ==, 2);
  /* …and was not written back by showing it. */
  g_assert_cmpfloat (g_settings_get_double (settings, "av-retry-time"), ==, 90);

  /* Editing stores seconds again. */
  gtk_spin_button_set_value (room_spin, 5);
  g_assert_cmpfloat (g_settings_get_double (settings, "room-retry-time"), ==, 300);
  gtk_spin_button_set_value (room_spin, 20);
  save_screenshot (GTK_WIDGET (prefs), "preferences.png");
  gtk_window_destroy (GTK_WINDOW (prefs));
}

/* ---- in Chinese ------------------------------------------------------------------------ */

/* Every label and tooltip under @widget, with the widget's type. */
static void
collect_texts (GtkWidget *widget,
               GPtrArray *texts)
{
  const char *tooltip = gtk_widget_get_tooltip_text (widget);

  if (!gtk_widget_get_visible (widget))
    return;
  if (GTK_IS_LABEL (widget) && *gtk_label_get_text (GTK_LABEL (widget)) != '\0')
    g_ptr_array_add (texts, g_strdup (gtk_label_get_text (GTK_LABEL (widget))));
  if (tooltip != NULL)
    g_ptr_array_add (texts, g_strdup (tooltip));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_texts (child, texts);
}

/* Nothing under @widget shows an English text the translation has a Chinese one for
 * (a string set without _(), or before the locale); texts with Latin letters are listed
 * for a reader (names, ids and codes keep theirs). */
static void
assert_translated (GtkWidget  *widget,
                   const char *what)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  collect_texts (widget, texts);
  g_assert_cmpuint (texts->len, >, 0);
  for (guint i = 0; i < texts->len; i++)
    {
      const char *text = g_ptr_array_index (texts, i);

      for (const char *p = text; *p != '\0'; p++)
        if (g_ascii_isalpha (*p))
          {
            g_test_message ("%s: Latin text: %s", what, text);
            break;
          }
      g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, text), ==, text);
    }
}

/* The app in Simplified Chinese, from the .mo of this build (po/zh_CN/LC_MESSAGES). */
static gboolean
use_chinese (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "..", "po", NULL);
  g_autofree char *mo = g_build_filename (dir, "zh_CN", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);

  if (!g_file_test (mo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no zh_CN .mo in the build");
      return FALSE;
    }
  if (setlocale (LC_ALL, "zh_CN.UTF-8") == NULL)
    {
      g_test_skip ("no zh_CN.UTF-8 locale (locale-gen)");
      return FALSE;
    }
  g_setenv ("LANGUAGE", "zh_CN", TRUE);
  bindtextdomain (GETTEXT_PACKAGE, dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  return TRUE;
}

static void
test_chinese (Fixture *f, gconstpointer data)
{
  TetherPublishPreview *preview;
  GtkWidget *prefs;

  if (!use_chinese ())
    return;
  /* A window built in Chinese, for the same session. */
  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = tether_window_new (NULL, f->session);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1024, 640);
  gtk_window_present (GTK_WINDOW (f->window));

  join_as_ada (f);
  g_assert_cmpstr (tether_window_get_subtitle (f->window), ==, "以 Ada 的身份观看");
  preview = open_preview (f);
  assert_translated (GTK_WIDGET (preview), "preview");
  save_screenshot (GTK_WIDGET (preview), "preview-zh_CN.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (preview), "preview.go-live", NULL));
  TETHER_WAIT_UNTIL (tether_session_get_publisher (f->session) != NULL
                       && tether_publisher_get_state (tether_session_get_publisher (f->session))
                            == TETHER_PUBLISHER_STATE_PUBLISHING, WAIT_MS);
  g_assert_cmpstr (gtk_label_get_text (f->window->publish_badge), ==, "直播中");
  assert_translated (GTK_WIDGET (f->window), "window");
  save_screenshot (GTK_WIDGET (f->window), "publishing-zh_CN.png");

  prefs = tether_preferences_new (GTK_WINDOW (f->window));
  gtk_window_present (GTK_WINDOW (prefs));
  assert_translated (prefs, "preferences");
  save_screenshot (prefs, "preferences-zh_CN.png");
  gtk_window_destroy (GTK_WINDOW (prefs));

  g_unsetenv ("LANGUAGE");
  setlocale (LC_ALL, "C.UTF-8");
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();
  g_assert_true (gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "tethertestcamera",
                                             "a camera for the app tests", test_camera_plugin_init,
                                             "1.0", "GPL", "tether", "tether", "tests/test-app-publish.c"));

  APP_TEST_ADD ("/app-publish/preview-go-live", test_preview_go_live);
  APP_TEST_ADD ("/app-publish/preview-cancel", test_preview_cancel);
  APP_TEST_ADD ("/app-publish/camera", test_preview_camera);
  APP_TEST_ADD ("/app-publish/preferences-minutes", test_preferences_minutes);
  /* Last: it leaves gettext bound to this build's .mo. */
  APP_TEST_ADD ("/app-publish/zh-CN", test_chinese);

  return g_test_run ();
}
