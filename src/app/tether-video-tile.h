/* tether-video-tile.h: one stream in the video grid — picture, name, state, mute
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tether.h"
#include "tether-paintable-sink.h"

G_BEGIN_DECLS

#define TETHER_TYPE_VIDEO_TILE (tether_video_tile_get_type ())
G_DECLARE_FINAL_TYPE (TetherVideoTile, tether_video_tile, TETHER, VIDEO_TILE, GtkWidget)

typedef enum
{
  TETHER_TILE_LOOK_CONNECTING,   /* first request: a spinner */
  TETHER_TILE_LOOK_PLAYING,      /* frames */
  TETHER_TILE_LOOK_WAITING,      /* played before, now retrying: "waiting for the host" */
} TetherTileLook;

GtkWidget           *tether_video_tile_new             (const char      *stream_id,
                                                        const char      *owner);
const char          *tether_video_tile_get_stream_id   (TetherVideoTile *self);
void                 tether_video_tile_set_owner       (TetherVideoTile *self,
                                                        const char      *owner);
void                 tether_video_tile_set_player      (TetherVideoTile *self,
                                                        TetherPlayer    *player);
TetherPlayer        *tether_video_tile_get_player      (TetherVideoTile *self);
TetherPaintableSink *tether_video_tile_get_sink        (TetherVideoTile *self);
TetherTileLook       tether_video_tile_get_look        (TetherVideoTile *self);
const char          *tether_video_tile_get_badge_text  (TetherVideoTile *self);
void                 tether_video_tile_set_offline     (TetherVideoTile *self,
                                                        gboolean         offline);
gboolean             tether_video_tile_get_offline     (TetherVideoTile *self);
gboolean             tether_video_tile_get_waiting_shown (TetherVideoTile *self);
gboolean             tether_video_tile_get_muted       (TetherVideoTile *self);
void                 tether_video_tile_set_muted       (TetherVideoTile *self,
                                                        gboolean         muted);

/* Sets a label's text and style for a player state. */
void                 tether_player_state_style_label   (GtkLabel          *label,
                                                        TetherPlayerState  state);

G_END_DECLS
