/* tether-player.h: SRT from a media node → MPEG-TS → H.264/audio decoders → sinks, with
 * the play state machine of DESIGN.md section 3
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "tether-room.h"

G_BEGIN_DECLS

/**
 * TetherPlayerState:
 *
 * The play states of DESIGN.md; the numeric values are part of the contract.
 */
typedef enum
{
  TETHER_PLAYER_STATE_NO_PLAY = 0,
  TETHER_PLAYER_STATE_PLAY_REQUESTING = 1,
  TETHER_PLAYER_STATE_PLAYING = 2,
} TetherPlayerState;

#define TETHER_TYPE_PLAYER (tether_player_get_type ())
G_DECLARE_FINAL_TYPE (TetherPlayer, tether_player, TETHER, PLAYER, GObject)

/*
 * Properties:
 *   "room"            TetherRoom         construct-only
 *   "stream-id"       string             construct-only
 *   "node"            string             the node the stream is on (TetherStream:node); tried first
 *   "av-retry-time"   double             seconds of retrying after a media break (1200)
 *   "video-sink"      GstElement         the sink for decoded video; NULL = a counting fakesink
 *   "audio"           boolean            play audio (TRUE); never blocks: without an audio
 *                                        device (or with TETHER_NO_AUDIO set) audio is dropped
 *   "latency"         uint               SRT latency, ms (120)
 *   "stall-timeout"   double             seconds without data that mean a break (1.0)
 *   "state"           TetherPlayerState  read-only
 *   "error-code"      int                read-only
 *   "current-node"    string             read-only
 *   "frames-decoded"  uint64             read-only; the statistics below update once a second
 *   "fps"             double             read-only
 *   "bitrate"         double             read-only, bits per second received
 *   "rtt"             double             read-only, SRT round-trip time in ms
 *   "packets-lost"    int64              read-only, SRT receive losses on the current link
 *   "first-frame-ms"  int64              read-only, start() to the first decoded frame; -1 before
 *
 * Signals:
 *   "state-changed" (TetherPlayerState state, int error_code, const char *extended_data)
 */

TetherPlayer      *tether_player_new               (TetherRoom   *room,
                                                    const char   *stream_id,
                                                    const char   *node,
                                                    double        av_retry_time);
gboolean           tether_player_start             (TetherPlayer *self,
                                                    GError      **error);
void               tether_player_stop              (TetherPlayer *self);

TetherRoom        *tether_player_get_room          (TetherPlayer *self);
const char        *tether_player_get_stream_id     (TetherPlayer *self);
TetherPlayerState  tether_player_get_state         (TetherPlayer *self);
int                tether_player_get_error_code    (TetherPlayer *self);
const char        *tether_player_get_current_node  (TetherPlayer *self);
void               tether_player_set_node          (TetherPlayer *self,
                                                    const char   *node);
void               tether_player_set_video_sink    (TetherPlayer *self,
                                                    GstElement   *sink);
GstElement        *tether_player_get_video_sink    (TetherPlayer *self);
void               tether_player_set_muted         (TetherPlayer *self,
                                                    gboolean      muted);
gboolean           tether_player_get_muted         (TetherPlayer *self);
guint64            tether_player_get_frames_decoded (TetherPlayer *self);
gint64             tether_player_get_first_frame_ms (TetherPlayer *self);
char              *tether_player_dup_stats_json    (TetherPlayer *self);

const char        *tether_player_state_to_string   (TetherPlayerState state);

G_END_DECLS
