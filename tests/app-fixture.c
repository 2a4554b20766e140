/* app-fixture.c: what the app tests share — a real server with a media node behind a
 * fault proxy, a session and its window, a host that publishes, frame counting,
 * screenshots, and a display (Xvfb when there is none)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include "app-fixture.h"

static GPid xvfb_pid;

typedef struct
{
  const char *id;
  char *url;
} NodeSpec;

static void
add_node_in_server (TetherServer *server, gpointer data)
{
  NodeSpec *spec = data;

  tether_server_add_media_node (server, spec->id, spec->url);
}

void
add_media_node (Fixture *f, const char *id, const char *url)
{
  NodeSpec spec = { id, (char *) url };

  tether_test_server_run_sync (f->server, add_node_in_server, &spec);
}

void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NodeSpec spec = { "node-a", NULL };

  f->server = tether_test_server_new ("heartbeat-timeout", HEARTBEAT_TIMEOUT,
                                      "heartbeat-interval", HEARTBEAT_INTERVAL,
                                      "session-ttl", 60.0,
                                      /* guests (test_link_guest): renewed each 2 s */
                                      "guest-token-ttl", 5.0, "token-warning", 3.0,
                                      NULL);
  f->proxy = tether_fault_proxy_new ("127.0.0.1", tether_test_server_get_port (f->server));
  f->relay = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_assert_true (tether_relay_listen (f->relay, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  spec.url = g_strdup_printf ("srt://127.0.0.1:%u", tether_relay_get_port (f->relay));
  add_media_node (f, spec.id, spec.url);
  g_free (spec.url);

  f->session = tether_session_new ();
  f->window = tether_window_new (NULL, f->session);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1024, 640);
  gtk_window_present (GTK_WINDOW (f->window));
}

void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->publisher != NULL)
    tether_publisher_stop (f->publisher);
  g_clear_object (&f->publisher);
  if (f->host_room != NULL && tether_room_get_state (f->host_room) != TETHER_ROOM_STATE_LOGOUT
      && tether_room_get_state (f->host_room) != TETHER_ROOM_STATE_KICK_OUT)
    tether_room_logout (f->host_room);
  g_clear_object (&f->host_room);
  g_clear_object (&f->host_engine);

  gtk_window_destroy (GTK_WINDOW (f->window));
  tether_session_shutdown (f->session);
  g_clear_object (&f->session);
  tether_test_run_for (200);

  tether_relay_stop (f->relay);
  g_clear_object (&f->relay);
  g_clear_object (&f->proxy);
  g_clear_pointer (&f->server, tether_test_server_free);
  tether_test_run_for (200);
}

/* The session joins "lobby" as @user_id with @token, through the fault proxy. */
void
session_join (Fixture *f, const char *user_id, const char *user_name, const char *token)
{
  g_autofree char *url = tether_fault_proxy_get_ws_url (f->proxy);
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", url,
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", "lobby",
                                                      "user-id", user_id,
                                                      "user-name", user_name,
                                                      "token", token,
                                                      NULL);

  tether_session_join (f->session, login);
}

/* The window joins "lobby" as @user_id, through the fault proxy. */
void
window_join (Fixture *f, const char *user_id)
{
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);

  session_join (f, user_id, "Viewer", token);
}

TetherRoomState
badge_state (Fixture *f)
{
  return tether_connection_badge_get_state (tether_window_get_badge (f->window));
}

gboolean
badge_in (Fixture *f)
{
  return badge_state (f) == TETHER_ROOM_STATE_LOGINED || badge_state (f) == TETHER_ROOM_STATE_RECONNECTED;
}

void
host_login (Fixture *f, const char *user_id)
{
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autofree char *url = g_strdup (tether_test_server_get_url (f->server));
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", url,
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", "lobby", "user-id", user_id,
                                                      "user-name", "Host", "token", token, NULL);

  f->host_engine = tether_engine_new ();
  f->host_room = tether_engine_login_room (f->host_engine, login);
  TETHER_WAIT_UNTIL (tether_room_get_state (f->host_room) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
}

void
host_publish_on (Fixture *f, const char *stream_id, const char *node)
{
  g_autoptr(GError) error = NULL;

  f->publisher = tether_publisher_new (f->host_room, stream_id, 30);
  g_object_set (f->publisher, "width", 320, "height", 240, "audio", FALSE, NULL);
  if (node != NULL)
    tether_media_session_set_node (TETHER_MEDIA_SESSION (f->publisher), node);
  g_assert_true (tether_publisher_start (f->publisher, &error));
  g_assert_no_error (error);
}

void
host_publish (Fixture *f, const char *stream_id)
{
  host_publish_on (f, stream_id, NULL);
}

TetherUdpFaultProxy *
add_proxied_media_node (Fixture *f)
{
  TetherUdpFaultProxy *udp = tether_udp_fault_proxy_new ("127.0.0.1", tether_relay_get_port (f->relay));
  g_autofree char *url = g_strdup_printf ("srt://127.0.0.1:%u", tether_udp_fault_proxy_get_port (udp));

  add_media_node (f, "node-b", url);
  return udp;
}

guint64
tile_frames (Fixture *f, const char *stream_id)
{
  TetherVideoTile *tile = tether_window_get_tile (f->window, stream_id);

  return tile ? tether_paintable_sink_get_frame_count (tether_video_tile_get_sink (tile)) : 0;
}

gboolean
tile_playing (Fixture *f, const char *stream_id)
{
  TetherVideoTile *tile = tether_window_get_tile (f->window, stream_id);

  return tile != NULL && tether_video_tile_get_look (tile) == TETHER_TILE_LOOK_PLAYING;
}

/* Frames keep arriving in the tile's paintable: @n more than now. */
gboolean
wait_tile_frames (Fixture *f, const char *stream_id, guint n)
{
  guint64 target = tile_frames (f, stream_id) + n;

  return TETHER_WAIT_UNTIL (tile_frames (f, stream_id) >= target, WAIT_MS);
}

gboolean
room_has_stream (TetherRoom *room, const char *stream_id)
{
  GListModel *streams = tether_room_get_streams (room);

  for (guint i = 0; i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_str_equal (tether_stream_get_id (s), stream_id))
        return TRUE;
    }
  return FALSE;
}

/* gtk_widget_snapshot → the window's renderer → PNG in G_TEST_BUILDDIR. */
void
save_screenshot (GtkWidget *widget, const char *name)
{
  /* A toplevel does not paint into a GtkWidgetPaintable; its content does. */
  GtkWidget *content = gtk_widget_get_first_child (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (content);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, name, NULL);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (widget));
  int width, height;

  /* A window a test has just opened may not have drawn its first frame yet. */
  TETHER_WAIT_UNTIL (gtk_widget_get_mapped (content) && gtk_widget_get_width (content) > 0,
                     WAIT_MS);
  width = gtk_widget_get_width (content);
  height = gtk_widget_get_height (content);
  /* The paintable takes its image when the widget next draws. */
  gtk_widget_queue_draw (content);
  tether_test_run_for (300);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* ---- a display --------------------------------------------------------------------- */

static void
stop_xvfb (void)
{
  if (xvfb_pid > 0)
    {
      kill (xvfb_pid, SIGTERM);
      g_spawn_close_pid (xvfb_pid);
      xvfb_pid = 0;
    }
}

/* Starts `Xvfb :N` when there is no display; FALSE (with @why) when that cannot be done. */
static gboolean
ensure_display (char **why)
{
  g_autofree char *xvfb = NULL;

  if (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL)
    return TRUE;
  xvfb = g_find_program_in_path ("Xvfb");
  if (xvfb == NULL)
    {
      *why = g_strdup ("no DISPLAY and no Xvfb (apt install xvfb) — the app tests need a display");
      return FALSE;
    }

  for (guint n = 90 + (guint) (getpid () % 100); n < 400; n++)
    {
      g_autofree char *display = g_strdup_printf (":%u", n);
      g_autofree char *lock = g_strdup_printf ("/tmp/.X%u-lock", n);
      g_autofree char *socket = g_strdup_printf ("/tmp/.X11-unix/X%u", n);
      const char *argv[] = { xvfb, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp", NULL };
      g_autoptr(GError) error = NULL;

      if (g_file_test (lock, G_FILE_TEST_EXISTS) || g_file_test (socket, G_FILE_TEST_EXISTS))
        continue;
      if (!g_spawn_async (NULL, (char **) argv, NULL,
                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                          NULL, NULL, &xvfb_pid, &error))
        {
          *why = g_strdup_printf ("cannot start Xvfb: %s", error->message);
          return FALSE;
        }
      for (guint i = 0; i < 100 && !g_file_test (socket, G_FILE_TEST_EXISTS); i++)
        g_usleep (50 * 1000);
      if (!g_file_test (socket, G_FILE_TEST_EXISTS))
        {
          stop_xvfb ();
          continue;
        }
      g_setenv ("DISPLAY", display, TRUE);
      atexit (stop_xvfb);
      return TRUE;
    }
  *why = g_strdup ("no free X display number for Xvfb");
  return FALSE;
}

static void
test_skipped (gconstpointer why)
{
  g_test_skip (why);
}
/* Sets up the environment, a display (Xvfb if there is none), GTK, libadwaita and
 * GStreamer for the app tests. FALSE when there is no display: then it has registered
 * one skipped test that says why, and the caller only runs g_test_run(). */
gboolean
app_fixture_init (int *argc, char ***argv)
{
  g_autofree char *why = NULL;
  g_autofree char *schema_dir = NULL;

  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GDK_BACKEND", "x11", FALSE);
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GTK_A11Y", "none", FALSE);
  g_test_init (argc, argv, NULL);

  /* The schema compiled into the build tree by data/meson.build. */
  schema_dir = g_test_build_filename (G_TEST_BUILT, "..", "data", NULL);
  g_setenv ("GSETTINGS_SCHEMA_DIR", schema_dir, TRUE);

  if (!ensure_display (&why) || !gtk_init_check ())
    {
      if (why == NULL)
        why = g_strdup_printf ("cannot open the display %s", g_getenv ("DISPLAY"));
      g_test_add_data_func ("/app/skipped", g_steal_pointer (&why), test_skipped);
      return FALSE;
    }
  adw_init ();
  gst_init (argc, argv);
  tether_media_init (NULL);
  return TRUE;
}
