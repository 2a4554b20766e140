/* tether-autoplay.h: the viewer policy — play every stream of a room while it exists,
 * retry a failed player a bounded number of times (docs/design.md, "The autoplay policy")
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-player.h"
#include "tether-room.h"

G_BEGIN_DECLS

#define TETHER_TYPE_AUTOPLAY (tether_autoplay_get_type ())
G_DECLARE_FINAL_TYPE (TetherAutoplay, tether_autoplay, TETHER, AUTOPLAY, GObject)

/*
 * Properties:
 *   "room"              TetherRoom   construct-only
 *   "av-retry-time"     double       given to every player (1200)
 *   "retry-delay-min"   double       seconds before retrying a player that ended in error (3)
 *   "retry-delay-max"   double       the delay is uniform in [min, max] (5)
 *   "max-retries"       uint         retries per stream after errors (3); a new ADD resets it
 *   "play-own-streams"  boolean      also play streams this user publishes (FALSE)
 *   "players"           GListModel   read-only, of TetherPlayer, in the order streams came
 *
 * Signals:
 *   "player-added"   (TetherPlayer *player)  emitted before the player starts, so a
 *                                            handler can give it a video sink
 *   "player-removed" (TetherPlayer *player)  after it stopped (its stream was deleted)
 */

TetherAutoplay *tether_autoplay_new          (TetherRoom     *room,
                                              double          av_retry_time);
TetherRoom     *tether_autoplay_get_room     (TetherAutoplay *self);
GListModel     *tether_autoplay_get_players  (TetherAutoplay *self);
TetherPlayer   *tether_autoplay_lookup       (TetherAutoplay *self,
                                              const char     *stream_id);
guint           tether_autoplay_get_retries  (TetherAutoplay *self,
                                              const char     *stream_id);
void            tether_autoplay_stop         (TetherAutoplay *self);

G_END_DECLS
