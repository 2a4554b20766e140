/* tether-message.h: the room protocol's messages (docs/protocol.md) in one place —
 * the table of message types, the field names, typed builders and typed readers,
 * shared by the room client (libtether), the room service and tether-cli the way
 * libsoup shares soup-websocket.c between its client and its server. Internal: not
 * installed.
 *
 * Builders return the serialised text of one message, ready for a text frame.
 * Readers take a message that came through the door (tether_protocol_parse()) and
 * fill a plain struct whose strings point into the message: they live as long as
 * the JsonObject.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "tether-protocol.h"
#include "tether-room.h"

G_BEGIN_DECLS

/* Every message type of docs/protocol.md. The values are this module's own, never
 * sent: on the wire a type is its name (tether_message_type_to_string()). */
typedef enum
{
  TETHER_MESSAGE_UNKNOWN = 0,

  /* client → server */
  TETHER_MESSAGE_LOGIN,
  TETHER_MESSAGE_HEARTBEAT,
  TETHER_MESSAGE_LOGOUT,
  TETHER_MESSAGE_STREAM_ADD,
  TETHER_MESSAGE_STREAM_DELETE,
  TETHER_MESSAGE_TOKEN_RENEW,

  /* server → client */
  TETHER_MESSAGE_LOGIN_OK,
  TETHER_MESSAGE_HEARTBEAT_ACK,
  TETHER_MESSAGE_LOGOUT_OK,
  TETHER_MESSAGE_STREAM_ADD_OK,
  TETHER_MESSAGE_STREAM_DELETE_OK,
  TETHER_MESSAGE_TOKEN_RENEW_OK,
  TETHER_MESSAGE_EVENT,
  TETHER_MESSAGE_KICK_OUT,
  TETHER_MESSAGE_TOKEN_WILL_EXPIRE,
  TETHER_MESSAGE_RECONNECT,
  TETHER_MESSAGE_ERROR,
  TETHER_MESSAGE_REQUEST_ERROR,

  TETHER_MESSAGE_N_TYPES
} TetherMessageType;

typedef enum
{
  TETHER_MESSAGE_TO_SERVER,
  TETHER_MESSAGE_TO_CLIENT,
} TetherMessageDirection;

/* Field names */
#define TETHER_FIELD_TYPE               "type"
#define TETHER_FIELD_VERSION            "v"
#define TETHER_FIELD_APP_ID             "app_id"
#define TETHER_FIELD_ROOM_ID            "room_id"
#define TETHER_FIELD_USER               "user"
#define TETHER_FIELD_ID                 "id"
#define TETHER_FIELD_NAME               "name"
#define TETHER_FIELD_TOKEN              "token"
#define TETHER_FIELD_NOTIFY_USERS       "notify_users"
#define TETHER_FIELD_RESUME             "resume"
#define TETHER_FIELD_SESSION_ID         "session_id"
#define TETHER_FIELD_RESUME_KEY         "resume_key"
#define TETHER_FIELD_LAST_SEQ           "last_seq"
#define TETHER_FIELD_REQ                "req"
#define TETHER_FIELD_STREAM             "stream"
#define TETHER_FIELD_STREAM_ID          "stream_id"
#define TETHER_FIELD_USER_ID            "user_id"
#define TETHER_FIELD_USER_NAME          "user_name"
#define TETHER_FIELD_NODE               "node"
#define TETHER_FIELD_EXTRA              "extra"
#define TETHER_FIELD_REASON             "reason"
#define TETHER_FIELD_ROOM_SESSION_ID    "room_session_id"
#define TETHER_FIELD_RESUMED            "resumed"
#define TETHER_FIELD_RESYNC             "resync"
#define TETHER_FIELD_SEQ                "seq"
#define TETHER_FIELD_USERS              "users"
#define TETHER_FIELD_STREAMS            "streams"
#define TETHER_FIELD_HEARTBEAT_INTERVAL "heartbeat_interval"
#define TETHER_FIELD_HEARTBEAT_TIMEOUT  "heartbeat_timeout"
#define TETHER_FIELD_SESSION_TTL        "session_ttl"
#define TETHER_FIELD_TOKEN_EXPIRES_AT   "token_expires_at"
#define TETHER_FIELD_MEDIA_NODES        "media_nodes"
#define TETHER_FIELD_URL                "url"
#define TETHER_FIELD_KIND               "kind"
#define TETHER_FIELD_UPDATE             "update"
#define TETHER_FIELD_CODE               "code"
#define TETHER_FIELD_MESSAGE            "message"
#define TETHER_FIELD_EXPIRES_AT         "expires_at"
#define TETHER_FIELD_REMAINING          "remaining"
#define TETHER_FIELD_RETRY_AFTER        "retry_after"
#define TETHER_FIELD_SRT_PASSPHRASE     "srt_passphrase"
#define TETHER_FIELD_ROOM_SERVICES      "room_services"

/* Stream delete reasons (an event's `reason`) */
#define TETHER_REASON_STOPPED           "stopped"
#define TETHER_REASON_HEARTBEAT_TIMEOUT "heartbeat_timeout"
#define TETHER_REASON_DUPLICATE_LOGIN   "duplicate_login"
#define TETHER_REASON_KICKED            "kicked"
#define TETHER_REASON_LOGOUT            "logout"
#define TETHER_REASON_MEDIA_LOST        "media_lost"

/* A user as lists carry it: {"id", "name"} */
typedef struct
{
  const char *id;
  const char *name;
} TetherMessageUser;

/* A stream as lists carry it: {"id", "user_id", "user_name", "node", "extra"}.
 * In stream_add the owner is the session: user_id and user_name are not sent. */
typedef struct
{
  const char *id;
  const char *user_id;
  const char *user_name;
  const char *node;
  const char *extra;
} TetherMessageStream;

/* An entry of login_ok's media-node directory */
typedef struct
{
  const char *id;
  const char *url;
} TetherMessageMediaNode;

typedef enum
{
  TETHER_MESSAGE_KIND_USER,
  TETHER_MESSAGE_KIND_STREAM,
} TetherMessageEventKind;

typedef struct
{
  const char        *app_id;
  const char        *room_id;
  TetherMessageUser  user;
  const char        *token;
  gboolean           notify_users;
  /* resume: sent when session_id is not NULL */
  const char        *session_id;
  const char        *resume_key;
  gint64             last_seq;
} TetherLoginMessage;

typedef struct
{
  gint64               req;
  TetherMessageStream  stream;
} TetherStreamAddMessage;

typedef struct
{
  gint64      req;
  const char *stream_id;
  const char *reason;
} TetherStreamDeleteMessage;

typedef struct
{
  gint64      req;
  const char *token;
} TetherTokenRenewMessage;

typedef struct
{
  const char             *room_session_id;
  const char             *session_id;
  const char             *resume_key;
  gboolean                resumed;
  gboolean                resync;
  gint64                  seq;
  TetherMessageUser      *users;
  guint                   n_users;
  TetherMessageStream    *streams;
  guint                   n_streams;
  double                  heartbeat_interval;  /* 0 when absent */
  double                  heartbeat_timeout;   /* 0 when absent */
  double                  session_ttl;         /* 0 when absent */
  gboolean                has_token_expires_at;
  gint64                  token_expires_at;
  TetherMessageMediaNode *media_nodes;
  guint                   n_media_nodes;
  const char             *srt_passphrase;      /* NULL: the nodes do not encrypt */
  /* The room service's node URLs, this node first; the strings of the entries that
   * are strings. Sent only when n_room_services > 0. */
  const char            **room_services;
  guint                   n_room_services;
} TetherLoginOkMessage;

typedef struct
{
  gint64                  seq;
  TetherMessageEventKind  kind;
  TetherUpdateType        update;
  const char             *reason;   /* stream events only; may be NULL */
  TetherMessageUser      *users;    /* kind USER */
  guint                   n_users;
  TetherMessageStream    *streams;  /* kind STREAM */
  guint                   n_streams;
} TetherEventMessage;

/* error, kick_out and request_error */
typedef struct
{
  gint64      req;        /* request_error only */
  gint64      code;
  const char *message;    /* may be NULL when read */
} TetherErrorMessage;

typedef struct
{
  gint64 expires_at;
  double remaining;
} TetherTokenWillExpireMessage;

/* The table */
const char            *tether_message_type_to_string   (TetherMessageType       type);
TetherMessageType      tether_message_type_from_string (const char             *name);
TetherMessageDirection tether_message_type_get_direction (TetherMessageType     type);
TetherMessageType      tether_message_get_type         (JsonObject             *msg);
const char            *tether_message_update_to_string (TetherUpdateType        update);

/* Shared pieces: the user and stream objects both sides (and tether-cli) write */
void         tether_message_add_user            (JsonBuilder                *builder,
                                                 const TetherMessageUser    *user);
void         tether_message_add_stream          (JsonBuilder                *builder,
                                                 const TetherMessageStream  *stream);
gboolean     tether_message_read_user           (JsonNode                   *node,
                                                 TetherMessageUser          *out);
gboolean     tether_message_read_stream         (JsonNode                   *node,
                                                 TetherMessageStream        *out);

/* Builders, client → server */
char        *tether_message_build_login         (const TetherLoginMessage   *m);
char        *tether_message_build_heartbeat     (gint64                      id);
char        *tether_message_build_logout        (void);
char        *tether_message_build_stream_add    (gint64                      req,
                                                 const TetherMessageStream  *stream);
char        *tether_message_build_stream_delete (gint64                      req,
                                                 const char                 *stream_id,
                                                 const char                 *reason);
char        *tether_message_build_token_renew   (gint64                      req,
                                                 const char                 *token);

/* Builders, server → client */
char        *tether_message_build_login_ok      (const TetherLoginOkMessage *m);
char        *tether_message_build_heartbeat_ack (JsonNode                   *id,
                                                 gint64                      seq);
char        *tether_message_build_logout_ok     (void);
char        *tether_message_build_request_ok    (TetherMessageType           type,
                                                 gint64                      req);
char        *tether_message_build_token_renew_ok (gint64                     req,
                                                  gint64                     expires_at,
                                                  const char                *srt_passphrase);
char        *tether_message_build_event         (const TetherEventMessage   *m);
char        *tether_message_build_kick_out      (int                         code,
                                                 const char                 *message);
char        *tether_message_build_token_will_expire (gint64                  expires_at,
                                                     double                  remaining);
char        *tether_message_build_reconnect     (double                      retry_after);
char        *tether_message_build_error         (int                         code,
                                                 const char                 *message);
char        *tether_message_build_request_error (gint64                      req,
                                                 int                         code,
                                                 const char                 *message);

/* Readers of client messages (the server's side): they check every rule of
 * docs/protocol.md for the message and fail with the TETHER_ERROR code the
 * client gets. */
gboolean     tether_message_read_login          (JsonObject                 *msg,
                                                 TetherLoginMessage         *out,
                                                 GError                    **error);
gboolean     tether_message_read_heartbeat      (JsonObject                 *msg,
                                                 JsonNode                  **out_id,
                                                 GError                    **error);
gboolean     tether_message_read_stream_add     (JsonObject                 *msg,
                                                 TetherStreamAddMessage     *out,
                                                 GError                    **error);
gboolean     tether_message_read_stream_delete  (JsonObject                 *msg,
                                                 TetherStreamDeleteMessage  *out,
                                                 GError                    **error);
gboolean     tether_message_read_token_renew    (JsonObject                 *msg,
                                                 TetherTokenRenewMessage    *out,
                                                 GError                    **error);

/* Readers of server messages (the client's side): lenient, as a client must be
 * with a newer server; they fail only without the fields the message is for. */
gboolean     tether_message_read_login_ok       (JsonObject                 *msg,
                                                 TetherLoginOkMessage       *out);
void         tether_message_login_ok_clear      (TetherLoginOkMessage       *m);
gboolean     tether_message_read_event          (JsonObject                 *msg,
                                                 TetherEventMessage         *out);
void         tether_message_event_clear         (TetherEventMessage         *m);
gboolean     tether_message_read_heartbeat_ack  (JsonObject                 *msg,
                                                 gint64                     *out_id);
gboolean     tether_message_read_request_ok     (JsonObject                 *msg,
                                                 gint64                     *out_req);
gboolean     tether_message_read_token_renew_ok (JsonObject                 *msg,
                                                 gint64                     *out_expires_at,
                                                 const char                **out_srt_passphrase);
void         tether_message_read_token_will_expire (JsonObject              *msg,
                                                    TetherTokenWillExpireMessage *out);
gboolean     tether_message_read_reconnect      (JsonObject                 *msg,
                                                 double                     *out_retry_after);
gboolean     tether_message_read_error          (JsonObject                 *msg,
                                                 int                         default_code,
                                                 TetherErrorMessage         *out);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TetherLoginOkMessage, tether_message_login_ok_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TetherEventMessage, tether_message_event_clear)

G_END_DECLS
