/* tether-window.h: the main window — start page, room page (badge, people, streams,
 * video grid), toasts — showing a TetherSession
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tether.h"
#include "tether-connection-badge.h"
#include "tether-session.h"
#include "tether-start-page.h"
#include "tether-video-tile.h"

G_BEGIN_DECLS

#define TETHER_TYPE_WINDOW (tether_window_get_type ())
G_DECLARE_FINAL_TYPE (TetherWindow, tether_window, TETHER, WINDOW, AdwApplicationWindow)

/*
 * Actions (win.*, tether-window-actions.c): leave, fullscreen (F11), leave-fullscreen
 * (the on-screen button), leave-fullscreen-step (Escape), publish, copy-link
 * (Ctrl+Shift+C), toggle-sidebar (F9).
 */

TetherWindow  *tether_window_new         (GtkApplication *application,
                                          TetherSession  *session);
TetherSession *tether_window_get_session (TetherWindow   *self);
void           tether_window_start_demo  (TetherWindow   *self);
void           tether_window_leave       (TetherWindow   *self);
void           tether_window_open_link   (TetherWindow   *self,
                                          const char     *link);

G_END_DECLS
