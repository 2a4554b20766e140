/* tether-room-socket-private.h: a room's WebSocket, on the network thread — it
 * connects, reads frames, sends and answers for heartbeats, measures the
 * round-trip time and runs the dead-link timer there, and tells the room (on the
 * room's own context) only what the room's logic needs
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-net-private.h"

G_BEGIN_DECLS

typedef struct _TetherRoomSocket TetherRoomSocket;

typedef enum
{
  TETHER_ROOM_SOCKET_CONNECTED,       /* the WebSocket is open */
  TETHER_ROOM_SOCKET_CONNECT_FAILED,  /* text: a refused certificate in words, or NULL;
                                       * message: the error; code: 1 when no retry would
                                       * change it (message then says it in words) */
  TETHER_ROOM_SOCKET_ATTEMPT_TIMEOUT, /* no answer to the connect and login in time;
                                       * code: 1 when the TLS handshake went unanswered */
  TETHER_ROOM_SOCKET_TEXT,            /* text, len: a text frame (not a heartbeat_ack) */
  TETHER_ROOM_SOCKET_CLOSED,          /* code: the close code */
  TETHER_ROOM_SOCKET_LINK_TIMEOUT,    /* silence for the link timeout */
  TETHER_ROOM_SOCKET_PROBE_FAILED,    /* the probe's heartbeat was not answered in time */
  TETHER_ROOM_SOCKET_RTT,             /* value: a heartbeat's round trip, ms */
} TetherRoomSocketEventType;

typedef struct
{
  TetherRoomSocketEventType type;
  char *text;
  gsize len;
  char *message;
  int code;
  double value;
} TetherRoomSocketEvent;

typedef void (*TetherRoomSocketFunc) (gpointer                     user_data,
                                      const TetherRoomSocketEvent *event);

/* All from the owner's thread; @func runs on @owner until _tether_room_socket_close(). */
TetherRoomSocket *_tether_room_socket_connect          (TetherNet            *net,
                                                        SoupMessage          *msg,
                                                        double                attempt_timeout,
                                                        const char           *name,
                                                        GMainContext         *owner,
                                                        TetherRoomSocketFunc  func,
                                                        gpointer              user_data);
void              _tether_room_socket_send             (TetherRoomSocket     *self,
                                                        const char           *text);
void              _tether_room_socket_start_heartbeats (TetherRoomSocket     *self,
                                                        double                interval,
                                                        double                link_timeout);
void              _tether_room_socket_stop_heartbeats  (TetherRoomSocket     *self);
void              _tether_room_socket_probe            (TetherRoomSocket     *self,
                                                        double                within);
void              _tether_room_socket_close            (TetherRoomSocket     *self);

G_END_DECLS
