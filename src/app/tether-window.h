/* tether-window.h: the main window — start page, room page (badge, people, streams,
 * video grid), toasts
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tether.h"
#include "tether-connection-badge.h"
#include "tether-start-page.h"
#include "tether-video-tile.h"

G_BEGIN_DECLS

#define TETHER_TYPE_WINDOW (tether_window_get_type ())
G_DECLARE_FINAL_TYPE (TetherWindow, tether_window, TETHER, WINDOW, AdwApplicationWindow)

/*
 * Actions (win.*): leave, fullscreen (F11), publish, leave-tile-fullscreen (Escape).
 * A window owns one TetherEngine and at most one room at a time.
 */

TetherWindow          *tether_window_new               (GtkApplication *application);
void                   tether_window_join              (TetherWindow   *self,
                                                        const char     *server_url,
                                                        const char     *app_id,
                                                        const char     *room_id,
                                                        const char     *user_id,
                                                        const char     *user_name,
                                                        const char     *token);
gboolean               tether_window_join_from_settings (TetherWindow  *self,
                                                         GError       **error);
gboolean               tether_window_start_demo        (TetherWindow   *self,
                                                        GError        **error);
void                   tether_window_leave             (TetherWindow   *self);

TetherEngine          *tether_window_get_engine        (TetherWindow   *self);
TetherRoom            *tether_window_get_room          (TetherWindow   *self);
TetherConnectionBadge *tether_window_get_badge         (TetherWindow   *self);
TetherStartPage       *tether_window_get_start_page    (TetherWindow   *self);
const char            *tether_window_get_page_name     (TetherWindow   *self);
guint                  tether_window_get_n_tiles       (TetherWindow   *self);
TetherVideoTile       *tether_window_get_tile          (TetherWindow   *self,
                                                        const char     *stream_id);
TetherVideoTile       *tether_window_get_nth_tile      (TetherWindow   *self,
                                                        guint           index);
const char            *tether_window_get_last_toast    (TetherWindow   *self);
GObject               *tether_window_get_demo          (TetherWindow   *self);

G_END_DECLS
