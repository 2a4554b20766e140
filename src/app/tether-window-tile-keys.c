/* tether-window-tile-keys.c: what acts on the tiles' sound and statistics — the
 * overall volume in the header bar (a TetherMixer, remembered in GSettings) and the
 * actions and keys: M mutes, Ctrl+Up/Down change the overall volume, i shows the
 * statistics. M and i act on the tile that has the keyboard focus (or fills the window);
 * with no such tile, M mutes the whole window and i shows or hides every tile's
 * statistics. The keys are the window's class bindings, run after a focused text field
 * had its turn, so typing an "m" in a field never mutes.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "tether-video-tile-private.h"
#include "tether-window-private.h"

/* What Ctrl+Up/Down move the overall slider by. */
#define VOLUME_STEP 0.1

/* The tile the keyboard is in, or the one shown alone; NULL for none. */
static TetherVideoTile *
target_tile (TetherWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  GtkWidget *tile = focus ? gtk_widget_get_ancestor (focus, TETHER_TYPE_VIDEO_TILE) : NULL;

  return tile ? TETHER_VIDEO_TILE (tile) : self->focused_tile;
}

static void
toggle_mute_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);
  TetherVideoTile *tile = target_tile (self);

  if (tile != NULL)
    tether_video_tile_set_muted (tile, !tether_video_tile_get_muted (tile));
  else
    tether_mixer_set_muted (self->mixer, !tether_mixer_get_muted (self->mixer));
}

static void
change_volume_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);
  double step = g_str_equal (action_name, "win.volume-up") ? VOLUME_STEP : -VOLUME_STEP;
  /* Whole steps, so that ten presses go from silence to full. */
  double volume = round ((tether_mixer_get_volume (self->mixer) + step) / VOLUME_STEP) * VOLUME_STEP;

  tether_mixer_set_volume (self->mixer, volume);
  /* Turning the sound up means wanting to hear it. */
  if (step > 0)
    tether_mixer_set_muted (self->mixer, FALSE);
}

static void
toggle_stats_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);
  TetherVideoTile *tile = target_tile (self);
  gboolean all_shown = self->tile_order->len > 0;

  if (tile != NULL)
    {
      tether_video_tile_set_stats_visible (tile, !tether_video_tile_get_stats_visible (tile));
      return;
    }
  for (guint i = 0; i < self->tile_order->len; i++)
    all_shown = all_shown && tether_video_tile_get_stats_visible (self->tile_order->pdata[i]);
  /* Tiles that come later follow what was asked for all. */
  self->stats_shown = !all_shown;
  for (guint i = 0; i < self->tile_order->len; i++)
    tether_video_tile_set_stats_visible (self->tile_order->pdata[i], self->stats_shown);
}

/* A new tile: the window's mixer, and the statistics if they are shown for all. */
void
_tether_window_tile_keys_tile_added (TetherWindow    *self,
                                     TetherVideoTile *tile)
{
  tether_video_tile_set_mixer (tile, self->mixer);
  tether_video_tile_set_stats_visible (tile, self->stats_shown);
}

/* Once the session (and so the settings) is known. */
void
_tether_window_tile_keys_setup (TetherWindow *self)
{
  self->mixer = tether_mixer_new (tether_session_get_settings (self->session));
  g_object_bind_property (self->mixer, "volume", self->volume_control, "volume",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->mixer, "muted", self->volume_control, "muted",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

void
_tether_window_tile_keys_class_init (TetherWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  g_type_ensure (TETHER_TYPE_VOLUME_CONTROL);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, volume_control);
  gtk_widget_class_install_action (widget_class, "win.toggle-mute", NULL, toggle_mute_action);
  gtk_widget_class_install_action (widget_class, "win.volume-up", NULL, change_volume_action);
  gtk_widget_class_install_action (widget_class, "win.volume-down", NULL, change_volume_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-stats", NULL, toggle_stats_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, 0, "win.toggle-mute", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_CONTROL_MASK,
                                       "win.volume-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_CONTROL_MASK,
                                       "win.volume-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, 0, "win.toggle-stats", NULL);
}
