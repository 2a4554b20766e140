/* tether-error.h: the one GError domain of Tether and its stable numeric codes
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TETHER_ERROR:
 *
 * The #GError domain of libtether; its codes are #TetherError values.
 */
#define TETHER_ERROR (tether_error_quark ())

/**
 * TetherError:
 * @TETHER_ERROR_NONE: no error
 * @TETHER_ERROR_NETWORK: the connection to the room service failed or broke; the
 *   engine retries
 * @TETHER_ERROR_LOGIN_TIMEOUT: the room service could not be reached within
 *   `login_timeout`
 * @TETHER_ERROR_APP_ID_INVALID: the app id is malformed (close 4400) or not the
 *   server's, or the token is for another app (close 4401)
 * @TETHER_ERROR_TOKEN_INVALID: the token is malformed, badly signed, or issued in the
 *   future
 * @TETHER_ERROR_TOKEN_EXPIRED: the token has expired (at login, or while connected
 *   without renewal)
 * @TETHER_ERROR_PERMISSION_DENIED: the token lacks the privilege, or is for another
 *   user or room
 * @TETHER_ERROR_ROOM_ID_INVALID: the room id is empty, too long or has characters
 *   outside `[A-Za-z0-9._~@:-]` (close 4400)
 * @TETHER_ERROR_USER_ID_INVALID: the user id or display name breaks the protocol's
 *   limits (close 4400)
 * @TETHER_ERROR_RATE_LIMITED: too many logins from this address; retried with backoff
 * @TETHER_ERROR_LOGGED_IN_ELSEWHERE: KICK_OUT: the same user id logged into the room
 *   again
 * @TETHER_ERROR_KICKED: KICK_OUT: the server removed the session
 * @TETHER_ERROR_RECONNECT_TIMEOUT: RECONNECT_FAILED: `room_retry_time` ran out
 * @TETHER_ERROR_PROTOCOL: a message broke the protocol (bad JSON, too deep, unknown
 *   type, ...)
 * @TETHER_ERROR_SERVER_SHUTDOWN: the server is shutting down and asked clients to
 *   reconnect
 * @TETHER_ERROR_LOGOUT_TIMEOUT: LOGOUT_FAILED: the server did not confirm the logout
 * @TETHER_ERROR_NOT_LOGGED_IN: a request that needs a session was made without one
 * @TETHER_ERROR_INVALID_ARGUMENT: a bad argument or engine config string
 * @TETHER_ERROR_HEARTBEAT_TIMEOUT: the server removed the user after its heartbeat
 *   timeout
 * @TETHER_ERROR_TLS_CERTIFICATE: the room service's TLS certificate is not trusted
 *   (unknown authority, another host name, expired, ...): LOGIN_FAILED at the first
 *   login, RECONNECT_FAILED on a reconnect; never retried
 * @TETHER_ERROR_ROOM_NOT_PUBLIC: `POST /v1/guest-token` for a room the server does not
 *   admit guests to (HTTP 403)
 * @TETHER_ERROR_SERVICE_UNAVAILABLE: the room service cannot reach its shared state
 *   (a node of a cluster without Redis); a login refused with it is retried with
 *   backoff, on the next room-service URL
 * @TETHER_ERROR_STREAM_ID_INVALID: the stream id breaks the id rules (`stream_add`:
 *   close 4400; media node: SRT reject 400)
 * @TETHER_ERROR_PUBLISH_DENIED: the token does not allow publishing this stream id
 * @TETHER_ERROR_STREAM_ID_TAKEN: another user publishes this stream id
 * @TETHER_ERROR_STREAM_NOT_FOUND: no such stream, or not this user's
 * @TETHER_ERROR_PUBLISH_RETRY_TIMEOUT: NO_PUBLISH: every media node was tried for
 *   `av_retry_time`
 * @TETHER_ERROR_MEDIA_NODE_UNREACHABLE: a media node could not be reached
 * @TETHER_ERROR_MEDIA_ELEMENT_MISSING: a GStreamer element Tether needs is not
 *   installed
 * @TETHER_ERROR_MEDIA_PIPELINE: the media pipeline failed
 * @TETHER_ERROR_STREAM_LIMIT: `stream_add` of one stream more than a session may have
 *   (`max-streams-per-session`)
 * @TETHER_ERROR_MEDIA_ENCRYPTION: the media node refused the SRT connection's
 *   encryption: a wrong or missing passphrase, or a node whose `--srt-encryption`
 *   does not match what the room service hands out (SRT reject 10 or 11); never
 *   retried
 * @TETHER_ERROR_PLAY_RETRY_TIMEOUT: NO_PLAY: every media node was tried for
 *   `av_retry_time`
 * @TETHER_ERROR_PLAY_DENIED: the media node refused the player (token)
 * @TETHER_ERROR_PLAY_STREAM_DELETED: the stream was deleted while playing
 *
 * Stable numeric codes of the %TETHER_ERROR domain. They are what state signals
 * carry and what the protocol sends; `docs/errors.md` is the table. Never renumber.
 */
typedef enum
{
  TETHER_ERROR_NONE = 0,

  /* Room and login: 1xxx */
  TETHER_ERROR_NETWORK = 1001,
  TETHER_ERROR_LOGIN_TIMEOUT = 1002,
  TETHER_ERROR_APP_ID_INVALID = 1003,
  TETHER_ERROR_TOKEN_INVALID = 1004,
  TETHER_ERROR_TOKEN_EXPIRED = 1005,
  TETHER_ERROR_PERMISSION_DENIED = 1006,
  TETHER_ERROR_ROOM_ID_INVALID = 1007,
  TETHER_ERROR_USER_ID_INVALID = 1008,
  TETHER_ERROR_RATE_LIMITED = 1009,
  TETHER_ERROR_LOGGED_IN_ELSEWHERE = 1010,
  TETHER_ERROR_KICKED = 1011,
  TETHER_ERROR_RECONNECT_TIMEOUT = 1012,
  TETHER_ERROR_PROTOCOL = 1013,
  TETHER_ERROR_SERVER_SHUTDOWN = 1014,
  TETHER_ERROR_LOGOUT_TIMEOUT = 1015,
  TETHER_ERROR_NOT_LOGGED_IN = 1016,
  TETHER_ERROR_INVALID_ARGUMENT = 1017,
  TETHER_ERROR_HEARTBEAT_TIMEOUT = 1018,
  TETHER_ERROR_TLS_CERTIFICATE = 1019,
  TETHER_ERROR_ROOM_NOT_PUBLIC = 1020,
  TETHER_ERROR_SERVICE_UNAVAILABLE = 1021,

  /* Streams and publishing: 2xxx */
  TETHER_ERROR_STREAM_ID_INVALID = 2001,
  TETHER_ERROR_PUBLISH_DENIED = 2002,
  TETHER_ERROR_STREAM_ID_TAKEN = 2003,
  TETHER_ERROR_STREAM_NOT_FOUND = 2004,
  TETHER_ERROR_PUBLISH_RETRY_TIMEOUT = 2005,
  TETHER_ERROR_MEDIA_NODE_UNREACHABLE = 2006,
  TETHER_ERROR_MEDIA_ELEMENT_MISSING = 2007,
  TETHER_ERROR_MEDIA_PIPELINE = 2008,
  TETHER_ERROR_STREAM_LIMIT = 2009,
  TETHER_ERROR_MEDIA_ENCRYPTION = 2010,

  /* Playing: 3xxx */
  TETHER_ERROR_PLAY_RETRY_TIMEOUT = 3001,
  TETHER_ERROR_PLAY_DENIED = 3002,
  TETHER_ERROR_PLAY_STREAM_DELETED = 3003,
} TetherError;

GQuark       tether_error_quark           (void);
const char  *tether_error_code_to_string  (int code);

G_END_DECLS
