/* tether-connection-badge.h: the header-bar badge that shows a room's connection state
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tether.h"

G_BEGIN_DECLS

#define TETHER_TYPE_CONNECTION_BADGE (tether_connection_badge_get_type ())
G_DECLARE_FINAL_TYPE (TetherConnectionBadge, tether_connection_badge, TETHER, CONNECTION_BADGE, GtkWidget)

GtkWidget       *tether_connection_badge_new        (void);
TetherRoom      *tether_connection_badge_get_room   (TetherConnectionBadge *self);
void             tether_connection_badge_set_room   (TetherConnectionBadge *self,
                                                     TetherRoom            *room);
TetherRoomState  tether_connection_badge_get_state  (TetherConnectionBadge *self);

/* How a room state looks: translated words, an icon name and a style class. */
const char      *tether_room_state_get_label        (TetherRoomState        state);
const char      *tether_room_state_get_icon_name    (TetherRoomState        state);
const char      *tether_room_state_get_style_class  (TetherRoomState        state);

/* A translated sentence for a TetherError code ("The token has expired."). */
char            *tether_describe_error              (int                    code);
/* A reconnect's cause ("link-timeout") in words ("The server stopped answering"). */
const char      *tether_describe_cause              (const char            *cause);
/* "1:05", "12 s" */
char            *tether_format_duration             (double                 seconds);

G_END_DECLS
