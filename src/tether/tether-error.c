/* tether-error.c: the Tether GError domain
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"

/**
 * tether_error_quark:
 *
 * The error domain of libtether: every #GError it returns is in %TETHER_ERROR, with
 * a #TetherError code.
 *
 * Returns: the quark of %TETHER_ERROR
 */
G_DEFINE_QUARK (tether-error-quark, tether_error)

/**
 * tether_error_code_to_string:
 * @code: a #TetherError code, as signals and the protocol carry it
 *
 * Names an error code, as `docs/errors.md` and tether-cli spell it.
 *
 * Returns: (transfer none): a short English name for @code ("token-expired", ...),
 *   stable for logs and JSON; "unknown" for a code this version does not know
 */
const char *
tether_error_code_to_string (int code)
{
  switch ((TetherError) code)
    {
    case TETHER_ERROR_NONE: return "none";
    case TETHER_ERROR_NETWORK: return "network";
    case TETHER_ERROR_LOGIN_TIMEOUT: return "login-timeout";
    case TETHER_ERROR_APP_ID_INVALID: return "app-id-invalid";
    case TETHER_ERROR_TOKEN_INVALID: return "token-invalid";
    case TETHER_ERROR_TOKEN_EXPIRED: return "token-expired";
    case TETHER_ERROR_PERMISSION_DENIED: return "permission-denied";
    case TETHER_ERROR_ROOM_ID_INVALID: return "room-id-invalid";
    case TETHER_ERROR_USER_ID_INVALID: return "user-id-invalid";
    case TETHER_ERROR_RATE_LIMITED: return "rate-limited";
    case TETHER_ERROR_LOGGED_IN_ELSEWHERE: return "logged-in-elsewhere";
    case TETHER_ERROR_KICKED: return "kicked";
    case TETHER_ERROR_RECONNECT_TIMEOUT: return "reconnect-timeout";
    case TETHER_ERROR_PROTOCOL: return "protocol";
    case TETHER_ERROR_SERVER_SHUTDOWN: return "server-shutdown";
    case TETHER_ERROR_LOGOUT_TIMEOUT: return "logout-timeout";
    case TETHER_ERROR_NOT_LOGGED_IN: return "not-logged-in";
    case TETHER_ERROR_INVALID_ARGUMENT: return "invalid-argument";
    case TETHER_ERROR_HEARTBEAT_TIMEOUT: return "heartbeat-timeout";
    case TETHER_ERROR_TLS_CERTIFICATE: return "tls-certificate";
    case TETHER_ERROR_ROOM_NOT_PUBLIC: return "room-not-public";
    case TETHER_ERROR_SERVICE_UNAVAILABLE: return "service-unavailable";
    case TETHER_ERROR_STREAM_ID_INVALID: return "stream-id-invalid";
    case TETHER_ERROR_PUBLISH_DENIED: return "publish-denied";
    case TETHER_ERROR_STREAM_ID_TAKEN: return "stream-id-taken";
    case TETHER_ERROR_STREAM_NOT_FOUND: return "stream-not-found";
    case TETHER_ERROR_PUBLISH_RETRY_TIMEOUT: return "publish-retry-timeout";
    case TETHER_ERROR_MEDIA_NODE_UNREACHABLE: return "media-node-unreachable";
    case TETHER_ERROR_MEDIA_ELEMENT_MISSING: return "media-element-missing";
    case TETHER_ERROR_MEDIA_PIPELINE: return "media-pipeline";
    case TETHER_ERROR_STREAM_LIMIT: return "stream-limit";
    case TETHER_ERROR_MEDIA_ENCRYPTION: return "media-encryption";
    case TETHER_ERROR_PLAY_RETRY_TIMEOUT: return "play-retry-timeout";
    case TETHER_ERROR_PLAY_DENIED: return "play-denied";
    case TETHER_ERROR_PLAY_STREAM_DELETED: return "play-stream-deleted";
    default: return "unknown";
    }
}
