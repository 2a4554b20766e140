/* tether-room-private.h: what TetherEngine and TetherRoom share
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "tether-login-options.h"
#include "tether-room.h"

G_BEGIN_DECLS

/* Timing a room copies from its engine when it is created (seconds). */
typedef struct
{
  double retry_time;      /* room_retry_time: retry window, from detection */
  double login_timeout;   /* initial login gives up after this */
  double link_timeout;    /* silence meaning a dead link; 0 = 2.2 × heartbeat interval */
  double backoff_min;
  double backoff_max;
  double logout_timeout;
} TetherRoomTiming;

TetherRoom            *_tether_room_new             (SoupSession            *session,
                                                     const TetherRoomTiming *timing,
                                                     TetherLoginOptions     *login);
void                   _tether_room_login           (TetherRoom             *self);
void                   _tether_room_network_changed (TetherRoom             *self,
                                                     const char             *cause);

/* Test hooks for tests/fuzz/fuzz-room.c only (see tether-room.c). */
void                   _tether_room_test_begin_login (TetherRoom           *self);
void                   _tether_room_test_receive    (TetherRoom             *self,
                                                     const char             *data,
                                                     gsize                   len);

TetherReconnectReport *_tether_reconnect_report_new (const char             *cause,
                                                     guint                   attempts,
                                                     gboolean                resumed,
                                                     gboolean                succeeded,
                                                     double                  downtime);

G_END_DECLS
