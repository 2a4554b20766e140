/* test-app-fullscreen.c: fullscreen in a room with a real stream — F11 hides the header
 * bar and the sidebar, motion brings the header bar back over the video and the delay
 * takes it (and the pointer) away again, Escape and Leave Fullscreen put back what was
 * there; Tab reaches a tile and its activation shows it big
 *
 * Xvfb has no window manager: gtk_window_fullscreen() asks for fullscreen and nobody
 * answers, so the window keeps its size and is_fullscreen() stays FALSE. What is checked
 * is the app's own state: immersive or not, the header bar's flap, the sidebar, the cursor.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "app-fixture.h"

/* A stream playing in a tile, the hide delay short enough for a test. */
static TetherVideoTile *
room_with_tile (Fixture *f)
{
  TetherVideoTile *tile;

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, "cam");
  if (!TETHER_WAIT_UNTIL ((tile = tether_window_get_tile (f->window, "cam")) != NULL, WAIT_MS))
    return NULL;
  TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam", 10));
  return tile;
}

static const char *
cursor_name (Fixture *f)
{
  GdkCursor *cursor = gtk_widget_get_cursor (GTK_WIDGET (f->window->header_flap));

  return cursor != NULL ? gdk_cursor_get_name (cursor) : NULL;
}

/* The header bar all the way in (1) or out (0): the flap's animation has ended. */
static gboolean
controls_at (Fixture *f,
             double   progress)
{
  return adw_flap_get_reveal_progress (f->window->header_flap) == progress;
}

static void
move_pointer (Fixture *f,
              double   x,
              double   y)
{
  g_signal_emit_by_name (tether_window_get_immersive_motion (f->window), "motion", x, y);
}

/* A key press as the window's fullscreen key controller (capture phase) sees it. */
static void
press_key (Fixture *f,
           guint    keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->window));
  gboolean handled = TRUE;
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (c), "tether-fullscreen-keys") == 0)
        {
          g_signal_emit_by_name (c, "key-pressed", keyval, 0, (GdkModifierType) 0, &handled);
          n++;
        }
    }
  g_assert_cmpuint (n, ==, 1);
  /* It only looks: the key goes on to whatever it was for. */
  g_assert_false (handled);
}

static void
activate (Fixture    *f,
          const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), action, NULL));
}

/* Everything as a window in a room shows it: header bar above, sidebar as it was. */
static void
assert_windowed (Fixture  *f,
                 gboolean  sidebar)
{
  g_assert_false (tether_window_get_immersive (f->window));
  g_assert_cmpint (adw_flap_get_fold_policy (f->window->header_flap), ==, ADW_FLAP_FOLD_POLICY_NEVER);
  g_assert_true (adw_flap_get_reveal_flap (f->window->header_flap));
  TETHER_WAIT_UNTIL (controls_at (f, 1), WAIT_MS);
  g_assert_cmpint (adw_flap_get_reveal_flap (f->window->flap), ==, sidebar);
  g_assert_null (cursor_name (f));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f->window->leave_fullscreen_button)));
}

static void
assert_immersive (Fixture *f)
{
  g_assert_true (tether_window_get_immersive (f->window));
  g_assert_cmpint (adw_flap_get_fold_policy (f->window->header_flap), ==, ADW_FLAP_FOLD_POLICY_ALWAYS);
  g_assert_false (adw_flap_get_reveal_flap (f->window->flap));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->window->leave_fullscreen_button)));
}

static GtkMenuButton *
header_menu_button (Fixture *f)
{
  for (GtkWidget *w = gtk_widget_get_first_child (GTK_WIDGET (f->window->room_header)); w != NULL;)
    {
      if (GTK_IS_MENU_BUTTON (w) && gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (w)) != NULL)
        return GTK_MENU_BUTTON (w);
      /* depth first through the header bar's boxes */
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != NULL && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          w = w != NULL ? gtk_widget_get_next_sibling (w) : NULL;
        }
    }
  return NULL;
}

static void
test_immersive (Fixture *f, gconstpointer data)
{
  GtkMenuButton *menu;
  gboolean sidebar;

  if (room_with_tile (f) == NULL)
    return;
  tether_window_set_controls_hide_delay (f->window, 200);
  sidebar = adw_flap_get_reveal_flap (f->window->flap);
  g_assert_true (sidebar);
  assert_windowed (f, sidebar);

  /* F11: no sidebar; the header bar lies over the video for the delay, then goes, and
   * the pointer with it. */
  activate (f, "win.fullscreen");
  assert_immersive (f);
  g_assert_true (adw_flap_get_reveal_flap (f->window->header_flap));
  g_assert_true (TETHER_WAIT_UNTIL (controls_at (f, 0), WAIT_MS));
  g_assert_false (adw_flap_get_reveal_flap (f->window->header_flap));
  g_assert_cmpstr (cursor_name (f), ==, "none");
  g_test_message ("under Xvfb, is_fullscreen: %d (no window manager to answer)",
                  gtk_window_is_fullscreen (GTK_WINDOW (f->window)));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-fullscreen-hidden.png");

  /* The pointer moves: the header bar slides in over the video, with the pointer. */
  tether_window_set_controls_hide_delay (f->window, 60000);
  move_pointer (f, 200, 200);
  g_assert_true (adw_flap_get_reveal_flap (f->window->header_flap));
  g_assert_true (TETHER_WAIT_UNTIL (controls_at (f, 1), WAIT_MS));
  g_assert_null (cursor_name (f));
  assert_immersive (f);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-fullscreen.png");

  /* An open menu keeps the controls for as long as it is open. */
  tether_window_set_controls_hide_delay (f->window, 100);
  move_pointer (f, 210, 200);
  menu = header_menu_button (f);
  g_assert_nonnull (menu);
  gtk_menu_button_popup (menu);
  tether_test_run_for (500);
  g_assert_true (adw_flap_get_reveal_flap (f->window->header_flap));
  gtk_menu_button_popdown (menu);
  g_assert_true (TETHER_WAIT_UNTIL (controls_at (f, 0), WAIT_MS));
  g_assert_cmpstr (cursor_name (f), ==, "none");
  /* A resting pointer (the same place again) is no motion. */
  move_pointer (f, 210, 200);
  g_assert_false (adw_flap_get_reveal_flap (f->window->header_flap));

  /* A key shows them too (the window's key controller, before the key's own handler). */
  tether_window_set_controls_hide_delay (f->window, 60000);
  press_key (f, GDK_KEY_space);
  g_assert_true (adw_flap_get_reveal_flap (f->window->header_flap));
  g_assert_null (cursor_name (f));

  /* Escape: header bar and sidebar back as they were. */
  activate (f, "win.leave-fullscreen-step");
  assert_windowed (f, sidebar);
  /* Motion outside fullscreen changes nothing. */
  move_pointer (f, 300, 300);
  assert_windowed (f, sidebar);

  /* A sidebar hidden before stays hidden after; the on-screen button leaves too. */
  activate (f, "win.toggle-sidebar");
  activate (f, "win.fullscreen");
  assert_immersive (f);
  activate (f, "win.leave-fullscreen");
  assert_windowed (f, FALSE);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-fullscreen-left.png");

  /* The window manager ends fullscreen (its own key): the room follows. Xvfb has none,
   * so is_fullscreen() is FALSE all along and a notification is what it would send. */
  activate (f, "win.toggle-sidebar");
  activate (f, "win.fullscreen");
  assert_immersive (f);
  g_object_notify (G_OBJECT (f->window), "fullscreened");
  assert_windowed (f, TRUE);
}

static void
test_tile_keyboard (Fixture *f, gconstpointer data)
{
  TetherVideoTile *tile = room_with_tile (f);
  GtkWidget *focus = NULL;

  if (tile == NULL)
    return;
  tether_window_set_controls_hide_delay (f->window, 60000);

  /* Tab, as often as it takes, lands on the tile. */
  for (guint i = 0; i < 64 && focus != GTK_WIDGET (tile); i++)
    {
      gtk_widget_child_focus (GTK_WIDGET (f->window), GTK_DIR_TAB_FORWARD);
      focus = gtk_root_get_focus (GTK_ROOT (f->window));
    }
  g_assert_true (focus == GTK_WIDGET (tile));
  gtk_window_set_focus_visible (GTK_WINDOW (f->window), TRUE);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-tile-focus.png");

  /* Enter (the tile's activation): the tile alone, immersive, the keyboard still on it. */
  g_assert_true (gtk_widget_activate (GTK_WIDGET (tile)));
  g_assert_true (f->window->focused_tile == tile);
  assert_immersive (f);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (f->window)) == GTK_WIDGET (tile));
  move_pointer (f, 100, 100);
  TETHER_WAIT_UNTIL (controls_at (f, 1), WAIT_MS);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-tile-fullscreen.png");

  /* Again: back to the grid, sidebar and header bar included. */
  g_assert_true (gtk_widget_activate (GTK_WIDGET (tile)));
  g_assert_null (f->window->focused_tile);
  assert_windowed (f, TRUE);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (f->window)) == GTK_WIDGET (tile));

  /* F11, then the tile big: Escape steps back to the immersive grid, then out. */
  activate (f, "win.fullscreen");
  g_assert_true (gtk_widget_activate (GTK_WIDGET (tile)));
  assert_immersive (f);
  activate (f, "win.leave-fullscreen-step");
  g_assert_null (f->window->focused_tile);
  assert_immersive (f);
  activate (f, "win.leave-fullscreen-step");
  assert_windowed (f, TRUE);

  /* The tile big and the on-screen button: all the way out at once. */
  g_assert_true (gtk_widget_activate (GTK_WIDGET (tile)));
  activate (f, "win.leave-fullscreen");
  g_assert_null (f->window->focused_tile);
  assert_windowed (f, TRUE);
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app/fullscreen/immersive", test_immersive);
  APP_TEST_ADD ("/app/fullscreen/tile-keyboard", test_tile_keyboard);

  return g_test_run ();
}
