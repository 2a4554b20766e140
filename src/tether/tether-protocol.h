/* tether-protocol.h: the door of the room protocol (docs/protocol.md) — limits,
 * close codes, id and name rules, and the one parser every frame and token payload
 * goes through — used by libtether and tether-server. The messages themselves are
 * built and read in tether-message.h.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define TETHER_PROTOCOL_VERSION 1
#define TETHER_PROTOCOL_MAX_ID_LEN 128
#define TETHER_PROTOCOL_MAX_NAME_LEN 256
#define TETHER_PROTOCOL_MAX_EXTRA_LEN 4096
#define TETHER_PROTOCOL_DEFAULT_MAX_DEPTH 8
#define TETHER_PROTOCOL_DEFAULT_MAX_FRAME (64 * 1024)
/* The largest integer accepted anywhere in a message: 2^53 - 1, exact in every JSON reader */
#define TETHER_PROTOCOL_MAX_INTEGER G_GUINT64_CONSTANT (9007199254740991)
/* A heartbeat id given as a string */
#define TETHER_PROTOCOL_MAX_HEARTBEAT_ID_LEN 64

/* WebSocket close codes beyond the standard ones */
#define TETHER_CLOSE_PROTOCOL 4400
#define TETHER_CLOSE_AUTH 4401
#define TETHER_CLOSE_KICKED 4403
#define TETHER_CLOSE_LOGIN_TIMEOUT 4408
#define TETHER_CLOSE_RATE_LIMITED 4429
#define TETHER_CLOSE_SLOW_CONSUMER 4413

gboolean     tether_protocol_check_depth  (const char  *data,
                                           gsize        len,
                                           guint        max_depth);
gboolean     tether_protocol_valid_id     (const char  *id);
gboolean     tether_protocol_valid_name   (const char  *name);
JsonObject  *tether_json_parse_object     (const char  *data,
                                           gsize        len,
                                           guint        max_depth,
                                           GError     **error);
JsonObject  *tether_protocol_parse        (const char  *data,
                                           gsize        len,
                                           guint        max_depth,
                                           GError     **error);
char        *tether_protocol_serialize    (JsonBuilder *builder);

const char  *tether_json_get_string       (JsonObject  *object,
                                           const char  *name);
gboolean     tether_json_get_int          (JsonObject  *object,
                                           const char  *name,
                                           gint64      *out);
gboolean     tether_json_get_number       (JsonObject  *object,
                                           const char  *name,
                                           double      *out);
gboolean     tether_json_get_bool         (JsonObject  *object,
                                           const char  *name,
                                           gboolean     fallback);
JsonObject  *tether_json_get_object       (JsonObject  *object,
                                           const char  *name);
JsonArray   *tether_json_get_array        (JsonObject  *object,
                                           const char  *name);

G_END_DECLS
