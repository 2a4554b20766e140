/* tether-video-tile-private.h: the tile's volume, stats overlay and quality icon, for
 * the window and tests/test-app-tile.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-mixer.h"
#include "tether-stats-overlay.h"
#include "tether-video-tile.h"
#include "tether-volume-control.h"

G_BEGIN_DECLS

void                 tether_video_tile_set_mixer          (TetherVideoTile *self,
                                                           TetherMixer     *mixer);
double               tether_video_tile_get_volume         (TetherVideoTile *self);
void                 tether_video_tile_set_volume         (TetherVideoTile *self,
                                                           double           volume);
gboolean             tether_video_tile_get_stats_visible  (TetherVideoTile *self);
void                 tether_video_tile_set_stats_visible  (TetherVideoTile *self,
                                                           gboolean         visible);
TetherVolumeControl *tether_video_tile_get_volume_control (TetherVideoTile *self);
TetherStatsOverlay  *tether_video_tile_get_stats_overlay  (TetherVideoTile *self);
GtkImage            *tether_video_tile_get_quality_image  (TetherVideoTile *self);

G_END_DECLS
