/* tether-player.h: SRT from a media node → MPEG-TS → H.264/audio decoders → sinks, with
 * the play state machine of docs/design.md
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "tether-media-session.h"
#include "tether-player-stats.h"
#include "tether-room.h"

G_BEGIN_DECLS

/**
 * TetherPlayerState:
 * @TETHER_PLAYER_STATE_NO_PLAY: not playing (initial, stopped, or given up with an error)
 * @TETHER_PLAYER_STATE_PLAY_REQUESTING: trying media nodes
 * @TETHER_PLAYER_STATE_PLAYING: frames are decoded
 *
 * The play states (see docs/design.md, 'Media states and reasons'); the numeric values are
 * part of the contract and equal #TetherMediaSessionState's.
 */
typedef enum
{
  TETHER_PLAYER_STATE_NO_PLAY = 0,
  TETHER_PLAYER_STATE_PLAY_REQUESTING = 1,
  TETHER_PLAYER_STATE_PLAYING = 2,
} TetherPlayerState;

#define TETHER_TYPE_PLAYER (tether_player_get_type ())
/**
 * TetherPlayer:
 *
 * Plays one stream of a room: SRT from a media node, MPEG-TS demuxed, H.264 and audio
 * decoded into the application's sinks. The state machine, the failover rule and
 * the link statistics are #TetherMediaSession's; PLAYING means a frame was decoded.
 */
G_DECLARE_FINAL_TYPE (TetherPlayer, tether_player, TETHER, PLAYER, TetherMediaSession)

TetherPlayer      *tether_player_new               (TetherRoom   *room,
                                                    const char   *stream_id,
                                                    const char   *node,
                                                    double        av_retry_time);
gboolean           tether_player_start             (TetherPlayer *self,
                                                    GError      **error);
void               tether_player_stop              (TetherPlayer *self);

TetherPlayerState  tether_player_get_state         (TetherPlayer *self);
void               tether_player_set_video_sink    (TetherPlayer *self,
                                                    GstElement   *sink);
GstElement        *tether_player_get_video_sink    (TetherPlayer *self);
void               tether_player_set_muted         (TetherPlayer *self,
                                                    gboolean      muted);
gboolean           tether_player_get_muted         (TetherPlayer *self);
void               tether_player_set_volume        (TetherPlayer *self,
                                                    double        volume);
double             tether_player_get_volume        (TetherPlayer *self);
const TetherPlayerStats *tether_player_get_stats   (TetherPlayer *self);
TetherStreamQuality tether_player_get_quality      (TetherPlayer *self);
guint64            tether_player_get_frames_decoded (TetherPlayer *self);
gint64             tether_player_get_first_frame_ms (TetherPlayer *self);
char              *tether_player_dup_stats_json    (TetherPlayer *self);

const char        *tether_player_state_to_string   (TetherPlayerState state);

G_END_DECLS
