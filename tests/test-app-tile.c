/* test-app-tile.c: a tile's sound and statistics against a real playing stream — the
 * tile's volume slider and the window's overall volume reach the player, M mutes a
 * focused tile or the window, Ctrl+Up/Down move the overall volume, the settings keep
 * them for the next window; i shows the statistics overlay with the real picture size
 * and frame rate; and loss injected on the media path lowers the network quality
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "app-fixture.h"
#include "tether-stream-row.h"
#include "tether-video-tile-private.h"

/* The action the window's key @accel ("m", "<Control>Up") is bound to, or NULL: what
 * pressing the key does. */
static const char *
key_action (TetherWindow *window,
            const char   *accel)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);

          if (g_str_equal (trigger, accel) && GTK_IS_NAMED_ACTION (action))
            return gtk_named_action_get_action_name (GTK_NAMED_ACTION (action));
        }
    }
  return NULL;
}

/* Presses @accel on the window: the action its binding names. */
static void
press (Fixture *f, const char *accel)
{
  const char *action = key_action (f->window, accel);

  g_assert_nonnull (action);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), action, NULL));
}

static TetherVideoTile *
playing_tile (Fixture *f, const char *stream_id)
{
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish (f, stream_id);
  g_assert_true (TETHER_WAIT_UNTIL (tile_playing (f, stream_id), WAIT_MS));
  g_assert_true (wait_tile_frames (f, stream_id, 5));
  return tether_window_get_tile (f->window, stream_id);
}

static void
reset_settings (GSettings *settings)
{
  g_settings_reset (settings, "volume");
  g_settings_reset (settings, "muted");
  g_settings_reset (settings, "stream-volumes");
}

/* The sliders multiply (perceptual, cubic: the player gets the cube), M mutes the tile
 * with the keyboard in it or else the whole window, Ctrl+Up/Down step the overall
 * volume, and a new window reads the overall volume, mute and the stream's volume back. */
static void
test_volume (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  TetherVideoTile *tile;
  TetherPlayer *player;
  GtkRange *tile_slider;
  GtkRange *overall_slider;
  g_autoptr(TetherSession) session2 = NULL;
  TetherWindow *window2;

  reset_settings (settings);
  tile = playing_tile (f, "cam");
  player = tether_video_tile_get_player (tile);
  g_assert_cmpfloat (tether_player_get_volume (player), ==, 1.0);

  tile_slider = tether_volume_control_get_range (tether_video_tile_get_volume_control (tile));
  gtk_range_set_value (tile_slider, 0.5);
  g_assert_cmpfloat_with_epsilon (tether_player_get_volume (player), 0.125, 1e-9);

  /* The slider lives in the tile's volume button's popover. */
  {
    GtkMenuButton *button = GTK_MENU_BUTTON (gtk_widget_get_first_child (GTK_WIDGET (tether_video_tile_get_volume_control (tile))));
    GtkPopover *popover = gtk_menu_button_get_popover (button);

    g_assert_true (gtk_widget_is_ancestor (GTK_WIDGET (tile_slider), GTK_WIDGET (popover)));
    gtk_menu_button_popup (button);
    g_assert_true (TETHER_WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (tile_slider)), WAIT_MS));
    save_screenshot (GTK_WIDGET (popover), "screenshot-volume-popover.png");
    gtk_menu_button_popdown (button);
    /* The keyboard goes back to the button, in the tile: away from it for the next M. */
    gtk_root_set_focus (GTK_ROOT (f->window), NULL);
  }

  overall_slider = tether_volume_control_get_range (f->window->volume_control);
  gtk_range_set_value (overall_slider, 0.5);
  g_assert_cmpfloat_with_epsilon (tether_player_get_volume (player), 0.125 * 0.125, 1e-9);
  g_assert_cmpfloat (g_settings_get_double (settings, "volume"), ==, 0.5);

  /* M with no tile focused: the whole window. */
  g_assert_null (gtk_root_get_focus (GTK_ROOT (f->window)) != NULL
                 ? gtk_widget_get_ancestor (gtk_root_get_focus (GTK_ROOT (f->window)),
                                            TETHER_TYPE_VIDEO_TILE) : NULL);
  press (f, "m");
  g_assert_true (tether_player_get_muted (player));
  g_assert_true (g_settings_get_boolean (settings, "muted"));
  g_assert_true (tether_volume_control_get_muted (f->window->volume_control));
  g_assert_false (tether_video_tile_get_muted (tile));
  press (f, "m");
  g_assert_false (tether_player_get_muted (player));
  g_assert_false (g_settings_get_boolean (settings, "muted"));

  /* M with the keyboard on the tile's volume button: that tile alone. */
  g_assert_true (gtk_widget_grab_focus (gtk_widget_get_first_child (GTK_WIDGET (tether_video_tile_get_volume_control (tile)))));
  press (f, "m");
  g_assert_true (tether_video_tile_get_muted (tile));
  g_assert_true (tether_player_get_muted (player));
  g_assert_false (g_settings_get_boolean (settings, "muted"));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-tile-muted.png");
  press (f, "m");
  g_assert_false (tether_player_get_muted (player));
  gtk_root_set_focus (GTK_ROOT (f->window), NULL);

  /* Ctrl+Up and Ctrl+Down: the overall volume by a tenth. */
  press (f, "<Control>Up");
  g_assert_cmpfloat_with_epsilon (g_settings_get_double (settings, "volume"), 0.6, 1e-9);
  g_assert_cmpfloat_with_epsilon (tether_player_get_volume (player), 0.125 * 0.216, 1e-9);
  press (f, "<Control>Down");
  press (f, "<Control>Down");
  g_assert_cmpfloat_with_epsilon (gtk_range_get_value (overall_slider), 0.4, 1e-9);
  press (f, "m");

  /* The next window: the same overall volume and mute, and the stream's own volume. */
  session2 = tether_session_new ();
  window2 = tether_window_new (NULL, session2);
  g_assert_cmpfloat_with_epsilon (tether_volume_control_get_volume (window2->volume_control), 0.4, 1e-9);
  g_assert_true (tether_volume_control_get_muted (window2->volume_control));
  g_assert_cmpfloat (tether_mixer_lookup_stream_volume (window2->mixer, "cam"), ==, 0.5);
  g_assert_cmpfloat (tether_mixer_lookup_stream_volume (window2->mixer, "other"), ==, 1.0);
  gtk_window_destroy (GTK_WINDOW (window2));
  tether_session_shutdown (session2);

  reset_settings (settings);
}

/* The remembered volumes stay at TETHER_MIXER_MAX_STREAMS, the oldest forgotten. */
static void
test_volume_cap (Fixture *f, gconstpointer data)
{
  GSettings *settings = tether_session_get_settings (f->session);
  g_autoptr(TetherMixer) mixer = tether_mixer_new (settings);
  g_autoptr(GVariant) volumes = NULL;

  reset_settings (settings);
  for (guint i = 0; i < TETHER_MIXER_MAX_STREAMS + 10; i++)
    {
      g_autofree char *id = g_strdup_printf ("stream-%u", i);

      tether_mixer_remember_stream_volume (mixer, id, 0.25);
    }
  volumes = g_settings_get_value (settings, "stream-volumes");
  g_assert_cmpuint (g_variant_n_children (volumes), ==, TETHER_MIXER_MAX_STREAMS);
  g_assert_cmpfloat (tether_mixer_lookup_stream_volume (mixer, "stream-0"), ==, 1.0);
  g_assert_cmpfloat (tether_mixer_lookup_stream_volume (mixer, "stream-73"), ==, 0.25);
  /* Back at full volume: forgotten. */
  tether_mixer_remember_stream_volume (mixer, "stream-73", 1.0);
  g_clear_pointer (&volumes, g_variant_unref);
  volumes = g_settings_get_value (settings, "stream-volumes");
  g_assert_cmpuint (g_variant_n_children (volumes), ==, TETHER_MIXER_MAX_STREAMS - 1);
  reset_settings (settings);
}

static gboolean
overlay_says (TetherVideoTile *tile, const char *what)
{
  g_autofree char *text = tether_stats_overlay_dup_text (tether_video_tile_get_stats_overlay (tile));

  return strstr (text, what) != NULL;
}

/* i shows the statistics: the picture's real size, a frame rate, and an excellent
 * network on localhost, shown on the tile and in the stream's row. */
static void
test_stats (Fixture *f, gconstpointer data)
{
  TetherVideoTile *tile = playing_tile (f, "cam");
  TetherPlayer *player = tether_video_tile_get_player (tile);
  g_autofree char *text = NULL;
  const TetherPlayerStats *stats;

  g_assert_false (tether_video_tile_get_stats_visible (tile));
  press (f, "i");
  g_assert_true (tether_video_tile_get_stats_visible (tile));
  g_assert_true (TETHER_WAIT_UNTIL (overlay_says (tile, "320×240")
                                    && tether_player_get_stats (player)->fps > 0
                                    && tether_player_get_quality (player) == TETHER_STREAM_QUALITY_EXCELLENT,
                                    WAIT_MS));
  stats = tether_player_get_stats (player);
  g_assert_cmpint (stats->width, ==, 320);
  g_assert_cmpint (stats->height, ==, 240);
  g_assert_cmpfloat (stats->bitrate, >, 0);
  g_assert_cmpfloat (stats->latency_ms, >, 0);
  g_assert_cmpint (stats->packets_received, >, 0);
  text = tether_stats_overlay_dup_text (tether_video_tile_get_stats_overlay (tile));
  g_test_message ("overlay:\n%s", text);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (tether_video_tile_get_quality_image (tile))));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (tether_video_tile_get_quality_image (tile))),
                   ==, "Network: Excellent");
  g_assert_cmpuint (f->window->stream_rows->len, ==, 1);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (tether_stream_row_get_quality_image (f->window->stream_rows->pdata[0]))));
  /* For the picture: a full second of the stream's 30 frame/s. */
  TETHER_WAIT_UNTIL (tether_player_get_stats (player)->fps >= 25, WAIT_MS);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-stats.png");

  press (f, "i");
  g_assert_false (tether_video_tile_get_stats_visible (tile));
}

/* A lossy media path: the player's SRT link sees the loss and the quality falls from
 * excellent, in the overlay and in the icon. */
static void
test_quality_loss (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherUdpFaultProxy) udp = add_proxied_media_node (f);
  g_autofree char *text = NULL;
  TetherVideoTile *tile;
  TetherPlayer *player;

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_login (f, "host");
  host_publish_on (f, "cam", "node-b");
  g_assert_true (TETHER_WAIT_UNTIL (tile_playing (f, "cam"), WAIT_MS));
  tile = tether_window_get_tile (f->window, "cam");
  player = tether_video_tile_get_player (tile);
  tether_video_tile_set_stats_visible (tile, TRUE);
  g_assert_true (TETHER_WAIT_UNTIL (tether_player_get_quality (player) == TETHER_STREAM_QUALITY_EXCELLENT,
                                    WAIT_MS));

  tether_udp_fault_proxy_set_loss (udp, 20);
  g_assert_true (TETHER_WAIT_UNTIL (tether_player_get_quality (player) >= TETHER_STREAM_QUALITY_POOR,
                                    WAIT_MS));
  g_assert_cmpfloat (tether_player_get_stats (player)->loss_rate, >=, 0.05);
  g_assert_cmpint (tether_player_get_stats (player)->packets_lost, >, 0);
  g_assert_true (overlay_says (tile, tether_player_get_quality (player) == TETHER_STREAM_QUALITY_BAD
                                     ? "Bad" : "Poor"));
  text = tether_stats_overlay_dup_text (tether_video_tile_get_stats_overlay (tile));
  g_test_message ("overlay with 20%% loss:\n%s", text);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-stats-loss.png");

  /* The loss gone: back to excellent. */
  tether_udp_fault_proxy_set_loss (udp, 0);
  g_assert_true (TETHER_WAIT_UNTIL (tether_player_get_quality (player) == TETHER_STREAM_QUALITY_EXCELLENT,
                                    WAIT_MS));

  /* Nothing at all arrives: no longer excellent (bad, or unknown once the player has
   * stopped playing), within about a tick and the stall timeout. */
  tether_udp_fault_proxy_cut (udp);
  g_assert_true (TETHER_WAIT_UNTIL (tether_player_get_quality (player) != TETHER_STREAM_QUALITY_EXCELLENT,
                                    3000));
  g_test_message ("cut: quality %s, state %s",
                  tether_stream_quality_to_string (tether_player_get_quality (player)),
                  tether_player_state_to_string (tether_player_get_state (player)));
  g_assert_true (tether_player_get_quality (player) == TETHER_STREAM_QUALITY_BAD
                 || tether_player_get_state (player) != TETHER_PLAYER_STATE_PLAYING);
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app-tile/volume", test_volume);
  APP_TEST_ADD ("/app-tile/volume-cap", test_volume_cap);
  APP_TEST_ADD ("/app-tile/stats", test_stats);
  APP_TEST_ADD ("/app-tile/quality-loss", test_quality_loss);

  return g_test_run ();
}
