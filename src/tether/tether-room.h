/* tether-room.h: one room session — login, presence, heartbeats, resume and the room
 * state machine (see docs/design.md, 'The room state machine')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-login-options.h"
#include "tether-reconnect-report.h"

G_BEGIN_DECLS

/**
 * TetherRoomState:
 * @TETHER_ROOM_STATE_LOGINING: logging in for the first time
 * @TETHER_ROOM_STATE_LOGINED: in the room
 * @TETHER_ROOM_STATE_LOGIN_FAILED: the first login failed; final
 * @TETHER_ROOM_STATE_RECONNECTING: the link broke; retrying within the retry window
 * @TETHER_ROOM_STATE_RECONNECTED: back in the room after a break
 * @TETHER_ROOM_STATE_RECONNECT_FAILED: the retry window ended, or the server refused
 *   the session; final
 * @TETHER_ROOM_STATE_KICK_OUT: the server removed this user; final
 * @TETHER_ROOM_STATE_LOGOUT: left the room (or never entered it); final
 * @TETHER_ROOM_STATE_LOGOUT_FAILED: left without the server's confirmation; final
 *
 * The states of a room and the reasons it changes state (see docs/design.md, 'The
 * room state machine'); the numeric values are part of the contract.
 */
typedef enum
{
  TETHER_ROOM_STATE_LOGINING = 0,
  TETHER_ROOM_STATE_LOGINED = 1,
  TETHER_ROOM_STATE_LOGIN_FAILED = 2,
  TETHER_ROOM_STATE_RECONNECTING = 3,
  TETHER_ROOM_STATE_RECONNECTED = 4,
  TETHER_ROOM_STATE_RECONNECT_FAILED = 5,
  TETHER_ROOM_STATE_KICK_OUT = 6,
  TETHER_ROOM_STATE_LOGOUT = 7,
  TETHER_ROOM_STATE_LOGOUT_FAILED = 8,
} TetherRoomState;

/**
 * TetherUpdateType:
 * @TETHER_UPDATE_ADD: the items arrived
 * @TETHER_UPDATE_DELETE: the items left
 *
 * What [signal@Tether.Room::user-update] and [signal@Tether.Room::stream-update]
 * report.
 */
typedef enum
{
  TETHER_UPDATE_ADD = 0,
  TETHER_UPDATE_DELETE = 1,
} TetherUpdateType;

/* The members of the JSON object TetherRoom::state-changed carries. */

/**
 * TETHER_ROOM_EXTENDED_ROOM_SESSION_ID:
 *
 * Extended data member: the room session id (always there; "" before login).
 */
#define TETHER_ROOM_EXTENDED_ROOM_SESSION_ID "room_session_id"
/**
 * TETHER_ROOM_EXTENDED_CAUSE:
 *
 * Extended data member while RECONNECTING: what broke the link, e.g.
 * "link-timeout", "closed", "server-restart", "network-change".
 */
#define TETHER_ROOM_EXTENDED_CAUSE "cause"
/**
 * TETHER_ROOM_EXTENDED_RETRY_TIME:
 *
 * Extended data member while RECONNECTING: the retry window, in seconds.
 */
#define TETHER_ROOM_EXTENDED_RETRY_TIME "retry_time"
/**
 * TETHER_ROOM_EXTENDED_RESUMED:
 *
 * Extended data member once RECONNECTED: whether the old session was resumed.
 */
#define TETHER_ROOM_EXTENDED_RESUMED "resumed"
/**
 * TETHER_ROOM_EXTENDED_DOWNTIME:
 *
 * Extended data member once RECONNECTED: seconds from the break to the login.
 */
#define TETHER_ROOM_EXTENDED_DOWNTIME "downtime"
/**
 * TETHER_ROOM_EXTENDED_ATTEMPTS:
 *
 * Extended data member once RECONNECTED: the connection attempts it took.
 */
#define TETHER_ROOM_EXTENDED_ATTEMPTS "attempts"
/**
 * TETHER_ROOM_EXTENDED_MESSAGE:
 *
 * Extended data member: a human-readable reason, when there is one.
 */
#define TETHER_ROOM_EXTENDED_MESSAGE "message"

#define TETHER_TYPE_ROOM (tether_room_get_type ())
G_DECLARE_FINAL_TYPE (TetherRoom, tether_room, TETHER, ROOM, GObject)

const char        *tether_room_get_id               (TetherRoom           *self);
const char        *tether_room_get_user_id          (TetherRoom           *self);
TetherRoomState    tether_room_get_state            (TetherRoom           *self);
int                tether_room_get_error_code       (TetherRoom           *self);
const char        *tether_room_get_room_session_id  (TetherRoom           *self);
const char        *tether_room_get_server_url       (TetherRoom           *self);
char             **tether_room_dup_server_urls      (TetherRoom           *self);
GListModel        *tether_room_get_users            (TetherRoom           *self);
GListModel        *tether_room_get_streams          (TetherRoom           *self);
guint              tether_room_get_attempt          (TetherRoom           *self);
double             tether_room_get_retry_remaining  (TetherRoom           *self);
double             tether_room_get_rtt              (TetherRoom           *self);
gint64             tether_room_get_token_expires_at (TetherRoom           *self);
TetherReconnectReport *tether_room_get_last_report  (TetherRoom           *self);
const char        *tether_room_get_media_node_url   (TetherRoom           *self,
                                                     const char           *node_id);
char             **tether_room_dup_media_node_ids   (TetherRoom           *self);
TetherLoginOptions *tether_room_dup_login_options   (TetherRoom           *self);

void               tether_room_logout               (TetherRoom           *self);
void               tether_room_reconnect_now        (TetherRoom           *self);
void               tether_room_renew_token          (TetherRoom           *self,
                                                     const char           *token);
const char        *tether_room_get_token            (TetherRoom           *self);
const char        *tether_room_get_media_token      (TetherRoom           *self);
const char        *tether_room_get_srt_passphrase   (TetherRoom           *self);

void               tether_room_add_stream_async     (TetherRoom           *self,
                                                     const char           *stream_id,
                                                     const char           *node,
                                                     const char           *extra,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean           tether_room_add_stream_finish    (TetherRoom           *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void               tether_room_delete_stream        (TetherRoom           *self,
                                                     const char           *stream_id,
                                                     const char           *reason);

gboolean           tether_room_state_is_final       (TetherRoomState       state);
const char        *tether_room_state_to_string      (TetherRoomState       state);
const char        *tether_update_type_to_string     (TetherUpdateType      update);

G_END_DECLS
