/* tether-stats-overlay.h: a tile's statistics (key i) and the network-quality icon of
 * tiles and stream rows
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tether.h"

G_BEGIN_DECLS

#define TETHER_TYPE_STATS_OVERLAY (tether_stats_overlay_get_type ())
G_DECLARE_FINAL_TYPE (TetherStatsOverlay, tether_stats_overlay, TETHER, STATS_OVERLAY, GtkWidget)

GtkWidget *tether_stats_overlay_new        (void);
void       tether_stats_overlay_set_player (TetherStatsOverlay *self,
                                            TetherPlayer       *player);
/* Every line as shown, "Resolution\t320×240\n…", for tests. */
char      *tether_stats_overlay_dup_text   (TetherStatsOverlay *self);

/* Shows @quality on @image: a signal-strength icon, its words in a tooltip, hidden
 * while unknown. */
void       tether_quality_image_update     (GtkImage            *image,
                                            TetherStreamQuality  quality);

G_END_DECLS
