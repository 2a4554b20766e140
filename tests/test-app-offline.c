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

  /* It comes back: the window tries again by itself. */
  tether_fault_proxy_restore (f->proxy);
  test_monitor_set_available (monitor, TRUE);
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  g_assert_false (offline_shown (f));
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 10));
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app-offline/give-up-try-again", test_give_up_try_again);
  APP_TEST_ADD ("/app-offline/give-up-leave", test_give_up_leave);
  APP_TEST_ADD ("/app-offline/network-back", test_network_back);

  return g_test_run ();
}
