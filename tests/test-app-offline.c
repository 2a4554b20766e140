/* test-app-offline.c: when the room gives up — the Offline state over the room's last
 * pictures (why, when, Try Again, Leave), Try Again and the network coming back; join
 * errors in words (refused at once, unknown host, TLS, timeout); the start page (the
 * last room offered again, Join in view at 700 px, the error card in view); the
 * connection popover
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "app-fixture.h"

/* ---- a network monitor whose availability the test flips ------------------------------
 * The only stand-in here: loopback has no network state a test could change. */

#define TEST_TYPE_MONITOR (test_monitor_get_type ())
G_DECLARE_FINAL_TYPE (TestMonitor, test_monitor, TEST, MONITOR, GObject)

struct _TestMonitor
{
  GObject parent_instance;
  gboolean available;
};

enum { PROP_MON_0, PROP_AVAILABLE, PROP_METERED, PROP_CONNECTIVITY };

static gboolean
test_monitor_can_reach (GNetworkMonitor     *monitor,
                        GSocketConnectable  *connectable,
                        GCancellable        *cancellable,
                        GError             **error)
{
  return TRUE;
}

static void
test_monitor_iface_init (GNetworkMonitorInterface *iface)
{
  iface->can_reach = test_monitor_can_reach;
}

static gboolean
test_monitor_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
test_monitor_initable_iface_init (GInitableIface *iface)
{
  iface->init = test_monitor_initable_init;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestMonitor, test_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      test_monitor_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR,
                                                      test_monitor_iface_init))

static void
test_monitor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TestMonitor *self = TEST_MONITOR (object);

  switch (prop_id)
    {
    case PROP_AVAILABLE: g_value_set_boolean (value, self->available); break;
    case PROP_METERED: g_value_set_boolean (value, FALSE); break;
    case PROP_CONNECTIVITY:
      g_value_set_enum (value, self->available ? G_NETWORK_CONNECTIVITY_FULL
                                               : G_NETWORK_CONNECTIVITY_LOCAL);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_monitor_class_init (TestMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_monitor_get_property;
  g_object_class_override_property (object_class, PROP_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, PROP_METERED, "network-metered");
  g_object_class_override_property (object_class, PROP_CONNECTIVITY, "connectivity");
}

static void
test_monitor_init (TestMonitor *self)
{
  self->available = TRUE;
}

static void
test_monitor_set_available (TestMonitor *self, gboolean available)
{
  self->available = available;
  g_object_notify (G_OBJECT (self), "network-available");
  g_signal_emit_by_name (self, "network-changed", available);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static TetherOfflineView *
offline_view (Fixture *f)
{
  return tether_window_get_offline_view (f->window);
}

static gboolean
offline_shown (Fixture *f)
{
  return tether_offline_view_is_shown (offline_view (f));
}

/* In the room with the host's stream playing, a short retry window; then the room
 * link is cut silently and the window runs out. */
static void
play_then_give_up (Fixture *f)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherVideoTile *tile;

  g_settings_set_double (settings, "room-retry-time", 5);
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, "cam");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 5));

  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (badge_state (f) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  g_assert_false (offline_shown (f));
  TETHER_WAIT_UNTIL (offline_shown (f), 5000 + WAIT_MS);

  /* Still the room, Offline, with why and when, and the pictures it had. */
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "room");
  g_assert_cmpint (badge_state (f), ==, TETHER_ROOM_STATE_RECONNECT_FAILED);
  g_test_message ("offline: %s / %s", tether_offline_view_get_reason (offline_view (f)),
                  tether_offline_view_get_time_text (offline_view (f)));
  g_assert_cmpstr (tether_offline_view_get_reason (offline_view (f)), !=, "");
  g_assert_true (g_str_has_prefix (tether_offline_view_get_time_text (offline_view (f)),
                                   "Gave up at "));
  g_assert_true (gtk_widget_is_visible (tether_offline_view_get_retry_button (offline_view (f))));
  g_assert_true (gtk_widget_has_css_class (tether_offline_view_get_retry_button (offline_view (f)),
                                           "suggested-action"));
  tile = tether_window_get_tile (f->window, "cam");
  g_assert_nonnull (tile);
  g_assert_true (tether_video_tile_get_offline (tile));
  g_assert_false (tether_video_tile_get_waiting_shown (tile));
  /* The tile's badge says what the window says, not that the stream stopped. */
  g_assert_cmpstr (tether_video_tile_get_badge_text (tile), ==, "Offline");
  g_assert_cmpuint (tile_frames (f, "cam"), >, 0);
  /* Said once, in the room: no toast on top, no start page behind. */
  g_assert_false (tether_start_page_has_error (tether_window_get_start_page (f->window)));
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
test_give_up_try_again (Fixture *f, gconstpointer data)
{
  play_then_give_up (f);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-offline.png");

  /* The server is reachable again; Try Again: back in, and the stream plays again. */
  tether_fault_proxy_restore (f->proxy);
  g_signal_emit_by_name (tether_offline_view_get_retry_button (offline_view (f)), "clicked");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_false (offline_shown (f));
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "room");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 10));
  g_assert_false (tether_video_tile_get_offline (tether_window_get_tile (f->window, "cam")));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 1);
}

static void
test_give_up_leave (Fixture *f, gconstpointer data)
{
  play_then_give_up (f);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.leave", NULL));
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "start");
  g_assert_false (offline_shown (f));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 0);
}

static void
test_network_back (Fixture *f, gconstpointer data)
{
  g_autoptr(TestMonitor) monitor = g_object_new (TEST_TYPE_MONITOR, NULL);
  guint accepted;

  tether_offline_view_set_network_monitor (offline_view (f), G_NETWORK_MONITOR (monitor));
  play_then_give_up (f);

  /* The network goes: nothing to try. */
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);
  test_monitor_set_available (monitor, FALSE);
  tether_test_run_for (500);
  g_assert_true (offline_shown (f));
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted);

  /* Try Again while the server is still out of reach: the room stays Offline, with
   * its pictures, saying it tries; then Offline again with the new time. */
  g_object_set (tether_session_get_engine (f->session), "login-timeout", 2.0, NULL);
  g_signal_emit_by_name (tether_offline_view_get_retry_button (offline_view (f)), "clicked");
  g_assert_true (tether_offline_view_get_busy (offline_view (f)));
  TETHER_WAIT_UNTIL (tether_session_get_room (f->session) != NULL, WAIT_MS);
  g_assert_true (offline_shown (f));
  g_assert_false (gtk_widget_get_sensitive (tether_offline_view_get_retry_button (offline_view (f))));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 1);
  g_assert_false (tether_video_tile_get_waiting_shown (tether_window_get_tile (f->window, "cam")));
  TETHER_WAIT_UNTIL (!tether_offline_view_get_busy (offline_view (f)), WAIT_MS);
  g_test_message ("after a failed Try Again: %s / %s",
                  tether_offline_view_get_reason (offline_view (f)),
                  tether_offline_view_get_time_text (offline_view (f)));
  g_assert_true (offline_shown (f));
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "room");
  g_assert_false (tether_start_page_has_error (tether_window_get_start_page (f->window)));
  g_assert_cmpuint (tether_window_get_n_tiles (f->window), ==, 1);
  g_assert_true (g_str_has_prefix (tether_offline_view_get_time_text (offline_view (f)),
                                   "Gave up at "));

  /* It comes back: the window tries again by itself. */
  tether_fault_proxy_restore (f->proxy);
  test_monitor_set_available (monitor, TRUE);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_false (offline_shown (f));
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 10));
}

/* Joins "lobby" at @url with a good token; returns how long until the start page said
 * why, in seconds (-1 when it never did). */
static double
join_error (Fixture *f, const char *url, const char *name)
{
  g_autofree char *token = tether_test_token ("viewer", "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", url,
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", "lobby", "user-id", "viewer",
                                                      "token", token, NULL);
  TetherStartPage *start = tether_window_get_start_page (f->window);
  gint64 t0 = g_get_monotonic_time ();
  double took;

  tether_start_page_clear_error (start);
  tether_session_join (f->session, login);
  if (!TETHER_WAIT_UNTIL (tether_start_page_has_error (start), 30000))
    return -1;
  took = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("%s after %.2f s: %s | %s | %s", name, took,
                  tether_start_page_get_error_title (start),
                  tether_start_page_get_error_message (start),
                  tether_start_page_get_error_details (start));
  g_assert_cmpstr (tether_window_get_page_name (f->window), ==, "start");
  return took;
}

/* The error card says @words, with no raw code ("network (1001)") in it, and the
 * smaller Details line says @detail. */
static void
assert_says (TetherStartPage *start, const char *words, const char *detail)
{
  const char *message = tether_start_page_get_error_message (start);

  g_assert_nonnull (strstr (message, words));
  g_assert_null (strstr (message, "(1"));
  g_assert_nonnull (tether_start_page_get_error_details (start));
  g_assert_nonnull (strstr (tether_start_page_get_error_details (start), detail));
  g_assert_cmpstr (tether_start_page_get_error_title (start), !=, message);
}

static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  /* Closed again: nothing listens there any more. */
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_join_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autoptr(GTlsCertificate) certificate = tether_test_tls_load (tls->cert_file, tls->key_file);
  g_autoptr(TetherTestServer) tls_server = tether_test_server_new ("tls-certificate", certificate,
                                                                   NULL);
  g_autofree char *refused = g_strdup_printf ("ws://127.0.0.1:%u/ws", closed_port ());
  g_autofree char *plain_tls = g_strdup_printf ("wss://127.0.0.1:%u/ws",
                                                tether_test_server_get_port (f->server));
  g_autofree char *frozen = tether_fault_proxy_get_ws_url (f->proxy);
  TetherStartPage *start = tether_window_get_start_page (f->window);

  g_object_set (tether_session_get_engine (f->session), "login-timeout", 3.0, NULL);

  /* Nothing listens: at once, not after the login timeout. */
  g_assert_cmpfloat (join_error (f, refused, "refused"), <, 1.5);
  assert_says (start, "Nothing answers at this address", "connection refused");

  g_assert_cmpfloat (join_error (f, "ws://nosuchhost.invalid:7480/ws", "unresolvable"), >=, 0);
  assert_says (start, "No server has this name", "host not found");
  save_screenshot (GTK_WIDGET (f->window), "screenshot-join-error.png");

  /* wss:// to a plain port: the handshake is never answered; a TLS failure, in words. */
  g_assert_cmpfloat (join_error (f, plain_tls, "tls-plain"), >=, 0);
  assert_says (start, "A secure connection could not be set up", "TLS failed");

  g_assert_cmpfloat (join_error (f, tether_test_server_get_url (tls_server), "tls-untrusted"), >=, 0);
  assert_says (start, "certificate is not trusted", "tls-certificate");

  /* A server that takes the connection and then says nothing (frozen). */
  tether_fault_proxy_cut (f->proxy);
  g_assert_cmpfloat (join_error (f, frozen, "timeout"), >=, 2.5);
  assert_says (start, "did not answer in time", "login-timeout");
}

/* Whether @widget is inside the window's visible height, not scrolled away. */
static gboolean
in_view (Fixture *f, GtkWidget *widget)
{
  graphene_rect_t bounds;

  return gtk_widget_get_mapped (widget)
         && gtk_widget_compute_bounds (widget, GTK_WIDGET (f->window), &bounds)
         && bounds.origin.y >= 0
         && bounds.origin.y + bounds.size.height <= gtk_widget_get_height (GTK_WIDGET (f->window));
}

static void
resize (Fixture *f, int width, int height)
{
  /* Without a window manager a mapped window keeps its size: map it again. */
  gtk_widget_set_visible (GTK_WIDGET (f->window), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (f->window), width, height);
  gtk_window_present (GTK_WINDOW (f->window));
  /* The widget is the surface without its client-side shadow, and no narrower than the
   * window's minimum width (the room page's, which the stack measures too). */
  TETHER_WAIT_UNTIL (ABS (gtk_widget_get_height (GTK_WIDGET (f->window)) - height) <= 20
                     && gtk_widget_get_width (GTK_WIDGET (f->window)) <= MAX (width, 500), WAIT_MS);
  tether_test_run_for (200);
  g_test_message ("window %d×%d", gtk_widget_get_width (GTK_WIDGET (f->window)),
                  gtk_widget_get_height (GTK_WIDGET (f->window)));
}

/* Join in view at 700 px tall, wide and narrow; the last room offered again, at the next
 * launch too; an error card scrolled into view. */
static void
test_start_page (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherStartPage *start = tether_window_get_start_page (f->window);
  GtkWidget *join = tether_start_page_get_join_button (start);
  g_autofree char *url = tether_fault_proxy_get_ws_url (f->proxy);
  g_autofree char *refused = g_strdup_printf ("ws://127.0.0.1:%u/ws", closed_port ());
  g_autoptr(TetherSession) next_session = NULL;
  TetherWindow *next_window;

  g_settings_set_string (settings, "last-room", "");
  g_assert_null (tether_start_page_get_rejoin_title (start));
  resize (f, 1280, 700);
  g_assert_true (in_view (f, join));
  resize (f, 360, 700);
  g_assert_true (in_view (f, join));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-start-narrow.png");
  resize (f, 1024, 640);
  g_assert_true (in_view (f, join));

  /* In a room: it is remembered as a link (never a token) and offered once out again. */
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  {
    g_autofree char *last = g_settings_get_string (settings, "last-room");

    g_test_message ("last room: %s", last);
    g_assert_true (g_str_has_prefix (last, "tether"));
    g_assert_null (strstr (last, "token"));
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.leave", NULL));
  g_assert_cmpstr (tether_start_page_get_rejoin_title (start), ==, "Rejoin lobby");

  /* An error while the page was scrolled down: the card comes into view. */
  tether_start_page_set_scroll (start, 10000);
  tether_test_run_for (100);
  join_error (f, refused, "refused");
  g_assert_cmpfloat (tether_start_page_get_scroll (start), ==, 0);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-start-error.png");

  /* The next launch: a new session and window offer the room; the row joins it. */
  g_settings_set_string (settings, "app-id", TETHER_TEST_APP_ID);
  g_settings_set_string (settings, "user-id", "viewer2");
  g_object_set (tether_session_get_secrets (f->session), "app-secret", TETHER_TEST_SECRET, NULL);
  next_session = tether_session_new ();
  g_object_set (tether_session_get_secrets (next_session), "app-secret", TETHER_TEST_SECRET, NULL);
  next_window = tether_window_new (NULL, next_session);
  gtk_window_present (GTK_WINDOW (next_window));
  start = tether_window_get_start_page (next_window);
  g_assert_cmpstr (tether_start_page_get_rejoin_title (start), ==, "Rejoin lobby");
  save_screenshot (GTK_WIDGET (next_window), "screenshot-start-rejoin.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (start), "start.rejoin", NULL));
  TETHER_WAIT_UNTIL (tether_session_get_room (next_session) != NULL
                     && tether_room_get_state (tether_session_get_room (next_session))
                        == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpstr (tether_window_get_page_name (next_window), ==, "room");
  g_assert_true (g_str_has_suffix (url, "/ws"));
  gtk_window_destroy (GTK_WINDOW (next_window));
  tether_session_shutdown (next_session);
}

/* The connection popover: normal popover colours under a coloured badge, and nothing
 * selected when it opens. */
static void
test_popover (Fixture *f, gconstpointer data)
{
  TetherConnectionBadge *badge = tether_window_get_badge (f->window);
  GtkPopover *popover = tether_connection_badge_get_popover (badge);
  GtkLabel *state = tether_connection_badge_get_state_label (badge);
  GdkRGBA badge_color, state_color, popover_color;
  int start, end;

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (badge_state (f) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);

  gtk_popover_popup (popover);
  TETHER_WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (popover)), WAIT_MS);
  tether_test_run_for (300);
  g_assert_false (gtk_label_get_selection_bounds (state, &start, &end));
  /* Nothing in it opens selected. */
  for (GtkWidget *w = gtk_widget_get_first_child (gtk_popover_get_child (popover)); w != NULL;
       w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_LABEL (w))
      g_assert_false (gtk_label_get_selection_bounds (GTK_LABEL (w), &start, &end));

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (badge)), &badge_color);
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (state)), &state_color);
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (popover)), &popover_color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_test_message ("badge %s, popover %s, state %s", gdk_rgba_to_string (&badge_color),
                  gdk_rgba_to_string (&popover_color), gdk_rgba_to_string (&state_color));
  g_assert_true (gdk_rgba_equal (&state_color, &popover_color));
  save_screenshot (GTK_WIDGET (popover), "screenshot-popover.png");
  gtk_popover_popdown (popover);
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app-offline/give-up-try-again", test_give_up_try_again);
  APP_TEST_ADD ("/app-offline/give-up-leave", test_give_up_leave);
  APP_TEST_ADD ("/app-offline/network-back", test_network_back);
  APP_TEST_ADD ("/app-offline/join-errors", test_join_errors);
  APP_TEST_ADD ("/app-offline/start-page", test_start_page);
  APP_TEST_ADD ("/app-offline/popover", test_popover);

  return g_test_run ();
}
