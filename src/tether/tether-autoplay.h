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
