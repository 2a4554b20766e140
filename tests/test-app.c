/* test-app.c: the GTK app against a real server, a real media node and real faults —
 * the badge through login and a cut, tiles that come and go with streams and count
 * frames, KICK_OUT back to the start page, the demo room, and room links: a link opens
 * a public room as a guest (renewed), a private one says why, the server field reads
 * host:port, and the room's link goes to the clipboard
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "app-fixture.h"

/* ---- tests ------------------------------------------------------------------------- */

static void
test_login (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "start");
  window_join (f, "viewer");
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "room");
  TETHER_WAIT_UNTIL (badge_state (f) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpstr (tether_connection_badge_get_text (tether_window_get_badge (f->window)), ==,
                   tether_room_state_get_label (TETHER_ROOM_STATE_LOGINED));
  g_assert_nonnull (tether_room_get_room_session_id (tether_session_get_room (f->session)));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 0);
}

static void
test_login_failed (Fixture *f, gconstpointer data)
{
  session_join (f, "viewer", NULL, "not-a-token");
  TETHER_WAIT_UNTIL (g_strcmp0 (tether_window_get_page_name (f->window), "start") == 0, WAIT_MS);
  g_assert_true (tether_start_page_has_error (tether_window_get_start_page (f->window)));
  /* Said once, on the start page's card: no toast repeating it. */
  g_assert_null (tether_window_get_last_toast (f->window));
}

static void
test_stream_tile (Fixture *f, gconstpointer data)
{
  gboolean reveal;

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);

  host_login (f, "host");
  host_publish (f, "cam");
  /* Autoplay: ADD → a tile whose paintable receives frames. */
  if (!TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam") != NULL, WAIT_MS))
    return;
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 1);
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 20));
  g_test_message ("tile frames: %" G_GUINT64_FORMAT, tile_frames (f, "cam"));
  /* Live, in the words of live video sites, not the player's "Playing". */
  g_assert_cmpstr (tether_video_tile_get_badge_text (tether_window_get_tile (f->window, "cam")), ==,
                   "Live");

  save_screenshot (GTK_WIDGET (f->window), "screenshot-main.png");

  /* F9 hides and shows people and streams. */
  reveal = adw_flap_get_reveal_flap (f->window->flap);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.toggle-sidebar", NULL));
  g_assert_cmpint (adw_flap_get_reveal_flap (f->window->flap), ==, !reveal);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.toggle-sidebar", NULL));
  g_assert_cmpint (adw_flap_get_reveal_flap (f->window->flap), ==, reveal);

  /* DELETE → the tile goes, the empty page comes back. */
  tether_publisher_stop (f->publisher);
  g_clear_object (&f->publisher);
  TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam") == NULL, WAIT_MS);
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 0);

  /* The header-bar Publish button opens the preview, whose Go Live publishes (the preview
   * is test-app-publish.c's): the host sees the viewer's test picture arrive. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (tether_window_get_publish_preview (f->window)),
                                             "preview.go-live", NULL));
  TETHER_WAIT_UNTIL (room_has_stream (f->host_room, "viewer-test"), WAIT_MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  TETHER_WAIT_UNTIL (!room_has_stream (f->host_room, "viewer-test"), WAIT_MS);
}

static void
test_reconnect (Fixture *f, gconstpointer data)
{
  gint64 start;

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, "cam");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  wait_tile_frames (f, "cam", 5);

  /* A silent cut of the app's room connection: the badge says so by itself. */
  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (badge_state (f) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  /* The time left, not a racing attempt counter (that is in the details). */
  g_assert_nonnull (strstr (tether_connection_badge_get_text (tether_window_get_badge (f->window)),
                            " left"));
  tether_test_run_for (1500);
  g_assert_cmpint (badge_state (f), ==, TETHER_ROOM_STATE_RECONNECTING);
  /* Our outage, not the host's: the tile does not say "Waiting for Host". */
  g_assert_true (tether_video_tile_get_offline (tether_window_get_tile (f->window, "cam")));
  g_assert_false (tether_video_tile_get_waiting_shown (tether_window_get_tile (f->window, "cam")));
  g_test_message ("badge: %s", tether_connection_badge_get_text (tether_window_get_badge (f->window)));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-reconnecting.png");

  /* The network comes back: no user action, the badge and the picture come back. */
  start = g_get_monotonic_time ();
  tether_fault_proxy_restore (f->proxy);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_test_message ("back after %.1f s", (g_get_monotonic_time () - start) / 1e6);
  g_assert_nonnull (tether_room_get_last_report (tether_session_get_room (f->session)));
  /* "Reconnected" is news for a few seconds; then the badge says Connected again. */
  g_assert_cmpstr (tether_connection_badge_get_text (tether_window_get_badge (f->window)), ==,
                   "Reconnected");
  /* and no toast still says the connection is lost (its 4 s would outlast the break) */
  g_assert_false (tether_window_get_break_toast_shown (f->window));
  TETHER_WAIT_UNTIL (g_strcmp0 (tether_connection_badge_get_text (tether_window_get_badge (f->window)),
                                "Connected") == 0, WAIT_MS);
  g_assert_cmpint (badge_state (f), ==, TETHER_ROOM_STATE_RECONNECTED);
  g_assert_false (tether_video_tile_get_offline (tether_window_get_tile (f->window, "cam")));
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 20));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 1);
  g_assert_nonnull (tether_window_get_last_toast (f->window));
}

static void
test_kick_out (Fixture *f, gconstpointer data)
{
  TetherStartPage *start;

  window_join (f, "dup");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);

  /* The same user id logs in elsewhere: the window's session is KICK_OUT. */
  host_login (f, "dup");
  TETHER_WAIT_UNTIL (g_strcmp0 (tether_window_get_page_name (f->window), "start") == 0, WAIT_MS);
  start = tether_window_get_start_page (f->window);
  g_assert_true (tether_start_page_has_error (start));
  g_test_message ("kicked: %s — %s", tether_start_page_get_error_title (start),
                  tether_start_page_get_error_message (start));
  g_assert_cmpint (badge_state (f), ==, TETHER_ROOM_STATE_KICK_OUT);
  g_assert_null (tether_session_get_room (f->session));
}

/* The host's media link breaks: the tile shows "waiting for the host" and, when the
 * link is back, plays again — nobody presses anything. */
static void
test_host_lost (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherUdpFaultProxy) udp = add_proxied_media_node (f);

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish_on (f, "cam", "node-b");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  wait_tile_frames (f, "cam", 10);

  tether_udp_fault_proxy_cut (udp);
  if (!TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam") != NULL
                          && tether_video_tile_get_look (tether_window_get_tile (f->window, "cam"))
                             == TETHER_TILE_LOOK_WAITING, WAIT_MS))
    return;
  /* The host's outage, while we are connected: the tile says who it waits for. */
  g_assert_true (tether_video_tile_get_waiting_shown (tether_window_get_tile (f->window, "cam")));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-waiting.png");

  tether_udp_fault_proxy_restore (udp);
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), 30000);
  g_assert_true (wait_tile_frames (f, "cam", 20));
}

static TetherStream *
find_stream (TetherRoom *room, const char *stream_id)
{
  GListModel *streams = tether_room_get_streams (room);

  for (guint i = 0; i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_str_equal (tether_stream_get_id (s), stream_id))
        return g_steal_pointer (&s);
    }
  return NULL;
}

/* The settings reach the engine and the session through their bindings: the retry
 * windows, and autoplay switched off (play by hand) and on again while in the room. */
static void
test_settings (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherEngine *engine = tether_session_get_engine (f->session);
  g_autoptr(TetherStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  double room_retry = 0;

  g_settings_set_double (settings, "room-retry-time", 42);
  g_settings_set_double (settings, "av-retry-time", 7.5);
  g_object_get (engine, "room-retry-time", &room_retry, NULL);
  g_assert_cmpfloat (room_retry, ==, 42);
  g_assert_cmpfloat (tether_engine_get_av_retry_time (engine), ==, 7.5);
  g_settings_reset (settings, "room-retry-time");
  g_settings_reset (settings, "av-retry-time");
  g_assert_cmpfloat (tether_engine_get_room_retry_time (engine), ==, 1200);

  g_settings_set_boolean (settings, "autoplay", FALSE);
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_null (tether_session_get_autoplay (f->session));
  host_login (f, "host");
  host_publish (f, "cam");
  TETHER_WAIT_UNTIL ((stream = find_stream (tether_session_get_room (f->session), "cam")) != NULL,
                     WAIT_MS);
  g_assert_nonnull (stream);
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 0);

  /* By hand: the stream plays in a tile, and stops again. */
  g_assert_true (tether_session_toggle_player (f->session, stream, &error));
  g_assert_no_error (error);
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (tether_session_toggle_player (f->session, stream, &error));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 0);

  /* Autoplay back on in the room: it plays the stream by itself. */
  g_settings_set_boolean (settings, "autoplay", TRUE);
  g_assert_nonnull (tether_session_get_autoplay (f->session));
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 10));
  g_settings_reset (settings, "autoplay");
}

static gboolean
some_tile_has_frames (Fixture *f)
{
  for (guint i = 0; i < tether_window_get_n_tiles (f->window); i++)
    {
      TetherVideoTile *tile = tether_window_get_nth_tile (f->window, i);

      if (tether_video_tile_get_look (tile) == TETHER_TILE_LOOK_PLAYING
          && tether_paintable_sink_get_frame_count (tether_video_tile_get_sink (tile)) > 10)
        return TRUE;
    }
  return FALSE;
}

static void
test_demo (Fixture *f, gconstpointer data)
{
  gint64 start = g_get_monotonic_time ();

  /* The demo room service is the tether-server program ($TETHER_SERVER). */
  tether_window_start_demo (f->window);
  g_assert_true (TETHER_WAIT_UNTIL (some_tile_has_frames (f), 10000));
  g_test_message ("demo: a playing tile after %.1f s", (g_get_monotonic_time () - start) / 1e6);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-demo.png");
}

/* ---- room links and guests ---------------------------------------------------------- */

/* Rooms pub-* are public (guest tokens last 5 s, see fixture_setup()). */
static void
make_public (TetherServer *server, gpointer data)
{
  tether_server_add_public_room (server, "pub-*");
}

static void
server_make_public (Fixture *f)
{
  tether_test_server_run_sync (f->server, make_public, NULL);
}

static char *
link_to (Fixture *f, const char *room)
{
  return g_strdup_printf ("tether+insecure://127.0.0.1:%u/%s",
                          tether_test_server_get_port (f->server), room);
}

static char *
clipboard_text (GtkWidget *widget)
{
  GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (widget));
  GValue value = G_VALUE_INIT;
  char *text = NULL;

  g_value_init (&value, G_TYPE_STRING);
  if (content != NULL && gdk_content_provider_get_value (content, &value, NULL))
    text = g_value_dup_string (&value);
  g_value_unset (&value);
  return text;
}

/* A link to a public room, with no token and no app secret: the app asks for a guest
 * token, joins as the guest, renews the token before it runs out, and copies the
 * room's link. */
static void
test_link_guest (Fixture *f, gconstpointer data)
{
  g_autofree char *link = link_to (f, "pub-1");
  g_autofree char *expected = g_strdup_printf ("%s?app=%s", link, TETHER_TEST_APP_ID);
  g_autoptr(GFile) file = g_file_new_for_uri (link);
  g_autofree char *uri = g_file_get_uri (file);
  g_autofree char *copied = NULL;
  g_autofree char *first_token = NULL, *room_setting = NULL;
  TetherRoom *room;

  server_make_public (f);
  /* What GApplication's open hands the app: the link as it was given. */
  g_assert_cmpstr (uri, ==, link);

  tether_window_open_link (f->window, uri);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_true (badge_in (f));
  room = tether_session_get_room (f->session);
  g_assert_cmpstr (tether_room_get_id (room), ==, "pub-1");
  g_assert_true (g_str_has_prefix (tether_room_get_user_id (room), "guest-"));
  g_assert_cmpstr (tether_room_get_server_url (room), ==, tether_test_server_get_url (f->server));
  /* A guest plays and never publishes: no Publish button. */
  g_assert_true (tether_session_is_guest (f->session));
  g_assert_false (gtk_widget_is_visible (GTK_WIDGET (f->window->publish_button)));
  /* The start page shows what the link named. */
  room_setting = g_settings_get_string (tether_session_get_settings (f->session), "room-id");
  g_assert_cmpstr (room_setting, ==, "pub-1");

  /* The guest token lasts 5 s: renewed on each warning, the guest stays in. */
  first_token = g_strdup (tether_room_get_token (room));
  tether_test_run_for (7000);
  g_assert_true (tether_session_get_room (f->session) == room);
  g_assert_true (badge_in (f));
  g_assert_cmpstr (tether_room_get_token (room), !=, first_token);

  /* Ctrl+Shift+C: the link, with the app id, and never a token, on the clipboard. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.copy-link", NULL));
  g_assert_cmpstr (tether_window_get_last_toast (f->window), ==, "Link copied");
  copied = clipboard_text (GTK_WIDGET (f->window));
  g_assert_cmpstr (copied, ==, expected);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-link-copied.png");
}

/* A link with several hosts, the first dead: the guest token and the room come from
 * the second; the server field keeps both, and the copied link names both. */
static void
test_link_several_hosts (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherTestServer) gone = tether_test_server_new (NULL);
  guint16 dead_port = tether_test_server_get_port (gone);
  guint16 port = tether_test_server_get_port (f->server);
  g_autofree char *link = g_strdup_printf ("tether+insecure://127.0.0.1:%u,localhost:%u/pub-3",
                                           dead_port, port);
  g_autofree char *live_url = g_strdup_printf ("ws://localhost:%u/ws", port);
  g_autofree char *servers = g_strdup_printf ("ws://127.0.0.1:%u/ws, %s", dead_port, live_url);
  g_autofree char *expected = g_strdup_printf ("tether+insecure://localhost:%u,127.0.0.1:%u/pub-3"
                                               "?app=%s", port, dead_port, TETHER_TEST_APP_ID);
  g_autofree char *setting = NULL, *copied = NULL;

  /* Its port, with nothing listening any more. */
  g_clear_pointer (&gone, tether_test_server_free);
  server_make_public (f);
  tether_window_open_link (f->window, link);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_true (badge_in (f));
  g_assert_cmpstr (tether_room_get_server_url (tether_session_get_room (f->session)), ==,
                   live_url);
  setting = g_settings_get_string (tether_session_get_settings (f->session), "server-url");
  g_assert_cmpstr (setting, ==, servers);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.copy-link", NULL));
  copied = clipboard_text (GTK_WIDGET (f->window));
  g_assert_cmpstr (copied, ==, expected);
  g_settings_reset (tether_session_get_settings (f->session), "server-url");
}

/* A link to a room that is not public, with no credential: the start page says so in
 * words; a link that is not one says what it expected. */
static void
test_link_not_public (Fixture *f, gconstpointer data)
{
  g_autofree char *link = link_to (f, "private");
  TetherStartPage *start = tether_window_get_start_page (f->window);
  g_autofree char *expected = tether_describe_error (TETHER_ERROR_ROOM_NOT_PUBLIC);

  server_make_public (f);
  tether_window_open_link (f->window, link);
  TETHER_WAIT_UNTIL (tether_start_page_has_error (start), WAIT_MS);
  g_test_message ("not public: %s — %s", tether_start_page_get_error_title (start),
                  tether_start_page_get_error_message (start));
  g_assert_cmpstr (tether_start_page_get_error_message (start), ==, expected);
  g_assert_null (tether_session_get_room (f->session));
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "start");
  save_screenshot (GTK_WIDGET (f->window), "screenshot-not-public.png");

  /* Fixing a field makes the old error go: it was about what the fields said then. */
  g_settings_set_string (tether_session_get_settings (f->session), "room-id", "pub-1");
  g_assert_false (tether_start_page_has_error (start));

  tether_window_open_link (f->window, "tether://example.org/a/b");
  g_assert_true (tether_start_page_has_error (start));
  g_test_message ("bad link: %s", tether_start_page_get_error_message (start));
  g_assert_nonnull (strstr (tether_start_page_get_error_message (start), "path segment"));
}

/* The server field: a wrong port says what was expected, inline, until it is fixed;
 * `localhost:PORT` becomes the room service's URL and Enter's action joins. */
static void
test_server_field (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherStartPage *start = tether_window_get_start_page (f->window);
  g_autofree char *host_port = g_strdup_printf ("localhost:%u",
                                                tether_test_server_get_port (f->server));
  g_autofree char *url = g_strdup_printf ("ws://localhost:%u/ws",
                                          tether_test_server_get_port (f->server));
  g_autofree char *server_url = NULL;

  server_make_public (f);
  g_settings_set_string (settings, "room-id", "pub-2");
  g_settings_set_string (settings, "server-url", "localhost:99999");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (start), "start.join", NULL));
  g_assert_nonnull (tether_start_page_get_server_error (start));
  g_test_message ("server field: %s", tether_start_page_get_server_error (start));
  g_assert_nonnull (strstr (tether_start_page_get_server_error (start), "65535"));
  g_assert_null (tether_session_get_room (f->session));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-server-error.png");

  /* Fixed: the message goes at once. */
  g_settings_set_string (settings, "server-url", host_port);
  g_assert_null (tether_start_page_get_server_error (start));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (start), "start.join", NULL));
  server_url = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (server_url, ==, url);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_true (badge_in (f));
  g_assert_cmpstr (tether_room_get_id (tether_session_get_room (f->session)), ==, "pub-2");
  g_settings_reset (settings, "server-url");
  g_settings_reset (settings, "room-id");
}

static gboolean
start_error_says (TetherStartPage *start, const char *text)
{
  return tether_start_page_has_error (start)
         && strstr (tether_start_page_get_error_message (start), text) != NULL;
}

/* A server whose certificate the system does not trust, and a port nobody listens on:
 * the start page says so in words, for a guest and for a login with a token. */
static void
test_link_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autoptr(GTlsCertificate) certificate = tether_test_tls_load (tls->cert_file, tls->key_file);
  g_autoptr(TetherTestServer) tls_server = tether_test_server_new ("tls-certificate", certificate,
                                                                   NULL);
  g_autofree char *untrusted = tether_describe_error (TETHER_ERROR_TLS_CERTIFICATE);
  g_autofree char *unreachable = tether_describe_error (TETHER_ERROR_NETWORK);
  g_autofree char *link = g_strdup_printf ("tether://127.0.0.1:%u/pub-1",
                                           tether_test_server_get_port (tls_server));
  g_autofree char *token = tether_test_token ("viewer", "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autofree char *closed_link = NULL;
  TetherStartPage *start = tether_window_get_start_page (f->window);

  /* A guest: the guest-token request meets the certificate first. */
  tether_window_open_link (f->window, link);
  TETHER_WAIT_UNTIL (tether_start_page_has_error (start), WAIT_MS);
  g_test_message ("guest, untrusted: %s", tether_start_page_get_error_message (start));
  g_assert_true (start_error_says (start, untrusted));
  g_assert_null (strstr (tether_start_page_get_error_message (start), "1019"));
  g_assert_true (start_error_says (start, "not signed by a trusted authority"));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-untrusted.png");

  /* With a token: LOGIN_FAILED 1019, and libtether's reason. */
  tether_start_page_clear_error (start);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                        "server-url", tether_test_server_get_url (tls_server),
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", "viewer",
                        "token", token, NULL);
  tether_session_join (f->session, login);
  TETHER_WAIT_UNTIL (tether_start_page_has_error (start), WAIT_MS);
  g_test_message ("token, untrusted: %s", tether_start_page_get_error_message (start));
  g_assert_true (start_error_says (start, untrusted));
  g_assert_true (start_error_says (start, "not signed by a trusted authority"));

  /* A port that refuses connections (bound, never listening): no guest token. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  g_clear_object (&address);
  address = g_socket_get_local_address (socket, NULL);
  closed_link = g_strdup_printf ("tether+insecure://127.0.0.1:%u/pub-1",
                                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  tether_start_page_clear_error (start);
  tether_window_open_link (f->window, closed_link);
  TETHER_WAIT_UNTIL (tether_start_page_has_error (start), WAIT_MS);
  g_test_message ("refused: %s", tether_start_page_get_error_message (start));
  g_assert_true (start_error_says (start, unreachable));
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app/login", test_login);
  APP_TEST_ADD ("/app/login-failed", test_login_failed);
  APP_TEST_ADD ("/app/stream-tile", test_stream_tile);
  APP_TEST_ADD ("/app/reconnect", test_reconnect);
  APP_TEST_ADD ("/app/host-lost", test_host_lost);
  APP_TEST_ADD ("/app/kick-out", test_kick_out);
  APP_TEST_ADD ("/app/settings", test_settings);
  APP_TEST_ADD ("/app/demo", test_demo);
  APP_TEST_ADD ("/app/link-guest", test_link_guest);
  APP_TEST_ADD ("/app/link-several-hosts", test_link_several_hosts);
  APP_TEST_ADD ("/app/link-not-public", test_link_not_public);
  APP_TEST_ADD ("/app/server-field", test_server_field);
  APP_TEST_ADD ("/app/link-errors", test_link_errors);

  return g_test_run ();
}
