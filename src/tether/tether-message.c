/* tether-message.c: the room protocol's message table, builders and readers
 * (docs/protocol.md), for the room client, the room service and tether-cli
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-message.h"

/* ---- the table ------------------------------------------------------------------ */

typedef struct
{
  const char             *name;
  TetherMessageDirection  direction;
} MessageInfo;

static const MessageInfo message_table[TETHER_MESSAGE_N_TYPES] = {
  [TETHER_MESSAGE_UNKNOWN]           = { NULL,                TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_LOGIN]             = { "login",             TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_HEARTBEAT]         = { "heartbeat",         TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_LOGOUT]            = { "logout",            TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_STREAM_ADD]        = { "stream_add",        TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_STREAM_DELETE]     = { "stream_delete",     TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_TOKEN_RENEW]       = { "token_renew",       TETHER_MESSAGE_TO_SERVER },
  [TETHER_MESSAGE_LOGIN_OK]          = { "login_ok",          TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_HEARTBEAT_ACK]     = { "heartbeat_ack",     TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_LOGOUT_OK]         = { "logout_ok",         TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_STREAM_ADD_OK]     = { "stream_add_ok",     TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_STREAM_DELETE_OK]  = { "stream_delete_ok",  TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_TOKEN_RENEW_OK]    = { "token_renew_ok",    TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_EVENT]             = { "event",             TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_KICK_OUT]          = { "kick_out",          TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_TOKEN_WILL_EXPIRE] = { "token_will_expire", TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_RECONNECT]         = { "reconnect",         TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_ERROR]             = { "error",             TETHER_MESSAGE_TO_CLIENT },
  [TETHER_MESSAGE_REQUEST_ERROR]     = { "request_error",     TETHER_MESSAGE_TO_CLIENT },
};

static const char * const kind_names[] = {
  [TETHER_MESSAGE_KIND_USER] = "user",
  [TETHER_MESSAGE_KIND_STREAM] = "stream",
};

/* The stream delete reasons a client may give; the others are the server's own. */
static const char * const client_delete_reasons[] = {
  TETHER_REASON_STOPPED, TETHER_REASON_MEDIA_LOST, NULL
};

/**
 * tether_message_type_to_string:
 * @type: a message type
 *
 * Returns: (nullable): the type's name on the wire, or %NULL for
 *   %TETHER_MESSAGE_UNKNOWN and values outside the table
 */
const char *
tether_message_type_to_string (TetherMessageType type)
{
  if ((guint) type >= TETHER_MESSAGE_N_TYPES)
    return NULL;
  return message_table[type].name;
}

/**
 * tether_message_type_from_string:
 * @name: (nullable): a `type` as it came
 *
 * Returns: the message type, or %TETHER_MESSAGE_UNKNOWN for a name not in
 *   docs/protocol.md (or %NULL)
 */
TetherMessageType
tether_message_type_from_string (const char *name)
{
  if (name == NULL)
    return TETHER_MESSAGE_UNKNOWN;
  for (guint i = TETHER_MESSAGE_UNKNOWN + 1; i < TETHER_MESSAGE_N_TYPES; i++)
    if (strcmp (message_table[i].name, name) == 0)
      return i;
  return TETHER_MESSAGE_UNKNOWN;
}

/**
 * tether_message_type_get_direction:
 * @type: a known message type
 *
 * Returns: who sends messages of @type
 */
TetherMessageDirection
tether_message_type_get_direction (TetherMessageType type)
{
  g_return_val_if_fail (type > TETHER_MESSAGE_UNKNOWN && type < TETHER_MESSAGE_N_TYPES,
                        TETHER_MESSAGE_TO_SERVER);
  return message_table[type].direction;
}

/**
 * tether_message_get_type:
 * @msg: a message
 *
 * Returns: the type of @msg, for a switch
 */
TetherMessageType
tether_message_get_type (JsonObject *msg)
{
  return tether_message_type_from_string (tether_json_get_string (msg, TETHER_FIELD_TYPE));
}

/**
 * tether_message_update_to_string:
 *
 * Returns: an event's `update` on the wire: "ADD" or "DELETE"
 */
const char *
tether_message_update_to_string (TetherUpdateType update)
{
  return update == TETHER_UPDATE_ADD ? "ADD" : "DELETE";
}

/* ---- writing -------------------------------------------------------------------- */

static JsonBuilder *
begin (TetherMessageType type)
{
  JsonBuilder *b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, TETHER_FIELD_TYPE);
  json_builder_add_string_value (b, message_table[type].name);
  return b;
}

static char *
finish (JsonBuilder *b)
{
  json_builder_end_object (b);
  return tether_protocol_serialize (b);
}

static void
add_string (JsonBuilder *b,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder *b,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_double (JsonBuilder *b,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static void
add_bool (JsonBuilder *b,
          const char  *name,
          gboolean     value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

/**
 * tether_message_add_user:
 * @builder: a builder inside an array, or after a member name
 * @user: the user
 *
 * Adds a user object: `{"id": …, "name": …}`.
 */
void
tether_message_add_user (JsonBuilder             *builder,
                         const TetherMessageUser *user)
{
  json_builder_begin_object (builder);
  add_string (builder, TETHER_FIELD_ID, user->id);
  add_string (builder, TETHER_FIELD_NAME, user->name);
  json_builder_end_object (builder);
}

/* In stream_add the owner is the session: the request has no owner fields. */
static void
write_stream (JsonBuilder               *builder,
              const TetherMessageStream *stream,
              gboolean                   with_owner)
{
  json_builder_begin_object (builder);
  add_string (builder, TETHER_FIELD_ID, stream->id);
  if (with_owner)
    {
      add_string (builder, TETHER_FIELD_USER_ID, stream->user_id);
      add_string (builder, TETHER_FIELD_USER_NAME, stream->user_name);
    }
  add_string (builder, TETHER_FIELD_NODE, stream->node);
  add_string (builder, TETHER_FIELD_EXTRA, stream->extra);
  json_builder_end_object (builder);
}

/**
 * tether_message_add_stream:
 * @builder: a builder inside an array, or after a member name
 * @stream: the stream
 *
 * Adds a stream object: `{"id", "user_id", "user_name", "node", "extra"}`.
 */
void
tether_message_add_stream (JsonBuilder               *builder,
                           const TetherMessageStream *stream)
{
  write_stream (builder, stream, TRUE);
}

static void
add_users (JsonBuilder             *b,
           const TetherMessageUser *users,
           guint                    n_users)
{
  json_builder_set_member_name (b, TETHER_FIELD_USERS);
  json_builder_begin_array (b);
  for (guint i = 0; i < n_users; i++)
    tether_message_add_user (b, &users[i]);
  json_builder_end_array (b);
}

static void
add_streams (JsonBuilder               *b,
             const TetherMessageStream *streams,
             guint                      n_streams)
{
  json_builder_set_member_name (b, TETHER_FIELD_STREAMS);
  json_builder_begin_array (b);
  for (guint i = 0; i < n_streams; i++)
    tether_message_add_stream (b, &streams[i]);
  json_builder_end_array (b);
}

/* ---- builders, client → server ---------------------------------------------------- */

/**
 * tether_message_build_login:
 * @m: the login
 *
 * Returns: (transfer full): a `login` message, with `resume` when @m has a
 *   session_id
 */
char *
tether_message_build_login (const TetherLoginMessage *m)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_LOGIN);

  add_int (b, TETHER_FIELD_VERSION, TETHER_PROTOCOL_VERSION);
  add_string (b, TETHER_FIELD_APP_ID, m->app_id);
  add_string (b, TETHER_FIELD_ROOM_ID, m->room_id);
  json_builder_set_member_name (b, TETHER_FIELD_USER);
  tether_message_add_user (b, &m->user);
  add_string (b, TETHER_FIELD_TOKEN, m->token);
  add_bool (b, TETHER_FIELD_NOTIFY_USERS, m->notify_users);
  if (m->session_id != NULL)
    {
      json_builder_set_member_name (b, TETHER_FIELD_RESUME);
      json_builder_begin_object (b);
      add_string (b, TETHER_FIELD_SESSION_ID, m->session_id);
      add_string (b, TETHER_FIELD_RESUME_KEY, m->resume_key);
      add_int (b, TETHER_FIELD_LAST_SEQ, m->last_seq);
      json_builder_end_object (b);
    }
  return finish (b);
}

/**
 * tether_message_build_heartbeat:
 * @id: the id the server echoes back
 *
 * Returns: (transfer full): a `heartbeat` message
 */
char *
tether_message_build_heartbeat (gint64 id)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_HEARTBEAT);

  add_int (b, TETHER_FIELD_ID, id);
  return finish (b);
}

/**
 * tether_message_build_logout:
 *
 * Returns: (transfer full): a `logout` message
 */
char *
tether_message_build_logout (void)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_LOGOUT);

  return finish (b);
}

/**
 * tether_message_build_stream_add:
 * @req: the request number its answer carries
 * @stream: the stream; its owner fields are not sent
 *
 * Returns: (transfer full): a `stream_add` message
 */
char *
tether_message_build_stream_add (gint64                     req,
                                 const TetherMessageStream *stream)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_STREAM_ADD);

  add_int (b, TETHER_FIELD_REQ, req);
  json_builder_set_member_name (b, TETHER_FIELD_STREAM);
  write_stream (b, stream, FALSE);
  return finish (b);
}

/**
 * tether_message_build_stream_delete:
 * @req: the request number its answer carries
 * @stream_id: the stream
 * @reason: (nullable): why, %NULL for "stopped"
 *
 * Returns: (transfer full): a `stream_delete` message
 */
char *
tether_message_build_stream_delete (gint64      req,
                                    const char *stream_id,
                                    const char *reason)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_STREAM_DELETE);

  add_int (b, TETHER_FIELD_REQ, req);
  add_string (b, TETHER_FIELD_STREAM_ID, stream_id);
  add_string (b, TETHER_FIELD_REASON, reason != NULL ? reason : TETHER_REASON_STOPPED);
  return finish (b);
}

/**
 * tether_message_build_token_renew:
 *
 * Returns: (transfer full): a `token_renew` message
 */
char *
tether_message_build_token_renew (gint64      req,
                                  const char *token)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_TOKEN_RENEW);

  add_int (b, TETHER_FIELD_REQ, req);
  add_string (b, TETHER_FIELD_TOKEN, token);
  return finish (b);
}

/* ---- builders, server → client ---------------------------------------------------- */

/**
 * tether_message_build_login_ok:
 * @m: the answer; `resync` is sent only when set
 *
 * Returns: (transfer full): a `login_ok` message
 */
char *
tether_message_build_login_ok (const TetherLoginOkMessage *m)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_LOGIN_OK);

  add_int (b, TETHER_FIELD_VERSION, TETHER_PROTOCOL_VERSION);
  add_string (b, TETHER_FIELD_ROOM_SESSION_ID, m->room_session_id);
  add_string (b, TETHER_FIELD_SESSION_ID, m->session_id);
  add_string (b, TETHER_FIELD_RESUME_KEY, m->resume_key);
  add_bool (b, TETHER_FIELD_RESUMED, m->resumed);
  if (m->resync)
    add_bool (b, TETHER_FIELD_RESYNC, TRUE);
  add_int (b, TETHER_FIELD_SEQ, m->seq);
  add_users (b, m->users, m->n_users);
  add_streams (b, m->streams, m->n_streams);
  add_double (b, TETHER_FIELD_HEARTBEAT_INTERVAL, m->heartbeat_interval);
  add_double (b, TETHER_FIELD_HEARTBEAT_TIMEOUT, m->heartbeat_timeout);
  add_double (b, TETHER_FIELD_SESSION_TTL, m->session_ttl);
  add_int (b, TETHER_FIELD_TOKEN_EXPIRES_AT, m->token_expires_at);
  json_builder_set_member_name (b, TETHER_FIELD_MEDIA_NODES);
  json_builder_begin_array (b);
  for (guint i = 0; i < m->n_media_nodes; i++)
    {
      json_builder_begin_object (b);
      add_string (b, TETHER_FIELD_ID, m->media_nodes[i].id);
      add_string (b, TETHER_FIELD_URL, m->media_nodes[i].url);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (m->srt_passphrase != NULL)
    add_string (b, TETHER_FIELD_SRT_PASSPHRASE, m->srt_passphrase);
  if (m->n_room_services > 0)
    {
      json_builder_set_member_name (b, TETHER_FIELD_ROOM_SERVICES);
      json_builder_begin_array (b);
      for (guint i = 0; i < m->n_room_services; i++)
        json_builder_add_string_value (b, m->room_services[i]);
      json_builder_end_array (b);
    }
  return finish (b);
}

/**
 * tether_message_build_heartbeat_ack:
 * @id: (nullable): the heartbeat's id as it came, %NULL when it had none
 * @seq: the room's latest sequence number
 *
 * Returns: (transfer full): a `heartbeat_ack` message
 */
char *
tether_message_build_heartbeat_ack (JsonNode *id,
                                    gint64    seq)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_HEARTBEAT_ACK);

  json_builder_set_member_name (b, TETHER_FIELD_ID);
  if (id != NULL)
    json_builder_add_value (b, json_node_copy (id));
  else
    json_builder_add_null_value (b);
  add_int (b, TETHER_FIELD_SEQ, seq);
  return finish (b);
}

/**
 * tether_message_build_logout_ok:
 *
 * Returns: (transfer full): a `logout_ok` message
 */
char *
tether_message_build_logout_ok (void)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_LOGOUT_OK);

  return finish (b);
}

/**
 * tether_message_build_request_ok:
 * @type: %TETHER_MESSAGE_STREAM_ADD_OK or %TETHER_MESSAGE_STREAM_DELETE_OK
 * @req: the request's number
 *
 * Returns: (transfer full): the answer
 */
char *
tether_message_build_request_ok (TetherMessageType type,
                                 gint64            req)
{
  g_autoptr(JsonBuilder) b = NULL;

  g_return_val_if_fail (type == TETHER_MESSAGE_STREAM_ADD_OK
                        || type == TETHER_MESSAGE_STREAM_DELETE_OK, NULL);

  b = begin (type);
  add_int (b, TETHER_FIELD_REQ, req);
  return finish (b);
}

/**
 * tether_message_build_token_renew_ok:
 * @srt_passphrase: (nullable): the new token's SRT passphrase; %NULL leaves it out
 *
 * Returns: (transfer full): a `token_renew_ok` message
 */
char *
tether_message_build_token_renew_ok (gint64      req,
                                     gint64      expires_at,
                                     const char *srt_passphrase)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_TOKEN_RENEW_OK);

  add_int (b, TETHER_FIELD_REQ, req);
  add_int (b, TETHER_FIELD_EXPIRES_AT, expires_at);
  if (srt_passphrase != NULL)
    add_string (b, TETHER_FIELD_SRT_PASSPHRASE, srt_passphrase);
  return finish (b);
}

/**
 * tether_message_build_event:
 * @m: the event: users for a user event, streams (and a reason) for a stream event
 *
 * Returns: (transfer full): an `event` message
 */
char *
tether_message_build_event (const TetherEventMessage *m)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_EVENT);

  add_int (b, TETHER_FIELD_SEQ, m->seq);
  add_string (b, TETHER_FIELD_KIND, kind_names[m->kind]);
  add_string (b, TETHER_FIELD_UPDATE, tether_message_update_to_string (m->update));
  if (m->kind == TETHER_MESSAGE_KIND_USER)
    add_users (b, m->users, m->n_users);
  else
    {
      if (m->reason != NULL)
        add_string (b, TETHER_FIELD_REASON, m->reason);
      add_streams (b, m->streams, m->n_streams);
    }
  return finish (b);
}

static char *
build_coded (TetherMessageType  type,
             int                code,
             const char        *message,
             gboolean           with_version)
{
  g_autoptr(JsonBuilder) b = begin (type);

  add_int (b, TETHER_FIELD_CODE, code);
  add_string (b, TETHER_FIELD_MESSAGE, message);
  if (with_version)
    add_int (b, TETHER_FIELD_VERSION, TETHER_PROTOCOL_VERSION);
  return finish (b);
}

/**
 * tether_message_build_kick_out:
 *
 * Returns: (transfer full): a `kick_out` message
 */
char *
tether_message_build_kick_out (int         code,
                               const char *message)
{
  return build_coded (TETHER_MESSAGE_KICK_OUT, code, message, FALSE);
}

/**
 * tether_message_build_token_will_expire:
 * @expires_at: the token's expiry, seconds since the epoch
 * @remaining: seconds until then
 *
 * Returns: (transfer full): a `token_will_expire` message
 */
char *
tether_message_build_token_will_expire (gint64 expires_at,
                                        double remaining)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_TOKEN_WILL_EXPIRE);

  add_int (b, TETHER_FIELD_EXPIRES_AT, expires_at);
  add_double (b, TETHER_FIELD_REMAINING, remaining);
  return finish (b);
}

/**
 * tether_message_build_reconnect:
 * @retry_after: the longest delay, seconds, before the client comes back
 *
 * Returns: (transfer full): a `reconnect` message
 */
char *
tether_message_build_reconnect (double retry_after)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_RECONNECT);

  add_double (b, TETHER_FIELD_RETRY_AFTER, retry_after);
  return finish (b);
}

/**
 * tether_message_build_error:
 * @code: a TETHER_ERROR code
 * @message: what was wrong, valid UTF-8
 *
 * A protocol error (1013) also carries the version the server speaks, so that a
 * client of another version learns it.
 *
 * Returns: (transfer full): an `error` message
 */
char *
tether_message_build_error (int         code,
                            const char *message)
{
  return build_coded (TETHER_MESSAGE_ERROR, code, message, code == TETHER_ERROR_PROTOCOL);
}

/**
 * tether_message_build_request_error:
 *
 * Returns: (transfer full): a `request_error` message
 */
char *
tether_message_build_request_error (gint64      req,
                                    int         code,
                                    const char *message)
{
  g_autoptr(JsonBuilder) b = begin (TETHER_MESSAGE_REQUEST_ERROR);

  add_int (b, TETHER_FIELD_REQ, req);
  add_int (b, TETHER_FIELD_CODE, code);
  add_string (b, TETHER_FIELD_MESSAGE, message);
  return finish (b);
}

/* ---- readers, shared -------------------------------------------------------------- */

/* A member that is there and not null: optional fields may be given as null. */
static JsonNode *
get_given (JsonObject *object,
           const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

/**
 * tether_message_read_user:
 * @node: an element of a `users` list
 * @out: (out caller-allocates): the user; its name may be %NULL
 *
 * Returns: whether @node is an object with a string `id`
 */
gboolean
tether_message_read_user (JsonNode          *node,
                          TetherMessageUser *out)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  memset (out, 0, sizeof *out);
  if (o == NULL || (out->id = tether_json_get_string (o, TETHER_FIELD_ID)) == NULL)
    return FALSE;
  out->name = tether_json_get_string (o, TETHER_FIELD_NAME);
  return TRUE;
}

/**
 * tether_message_read_stream:
 * @node: an element of a `streams` list
 * @out: (out caller-allocates): the stream; any field but the id may be %NULL
 *
 * Returns: whether @node is an object with a string `id`
 */
gboolean
tether_message_read_stream (JsonNode            *node,
                            TetherMessageStream *out)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  memset (out, 0, sizeof *out);
  if (o == NULL || (out->id = tether_json_get_string (o, TETHER_FIELD_ID)) == NULL)
    return FALSE;
  out->user_id = tether_json_get_string (o, TETHER_FIELD_USER_ID);
  out->user_name = tether_json_get_string (o, TETHER_FIELD_USER_NAME);
  out->node = tether_json_get_string (o, TETHER_FIELD_NODE);
  out->extra = tether_json_get_string (o, TETHER_FIELD_EXTRA);
  return TRUE;
}

/* Lists skip the elements that are not users or streams. */
static TetherMessageUser *
read_users (JsonObject *msg,
            guint      *n_out)
{
  JsonArray *array = tether_json_get_array (msg, TETHER_FIELD_USERS);
  guint len = array != NULL ? json_array_get_length (array) : 0;
  TetherMessageUser *users = g_new0 (TetherMessageUser, MAX (len, 1));

  *n_out = 0;
  for (guint i = 0; i < len; i++)
    if (tether_message_read_user (json_array_get_element (array, i), &users[*n_out]))
      (*n_out)++;
  return users;
}

static TetherMessageStream *
read_streams (JsonObject *msg,
              guint      *n_out)
{
  JsonArray *array = tether_json_get_array (msg, TETHER_FIELD_STREAMS);
  guint len = array != NULL ? json_array_get_length (array) : 0;
  TetherMessageStream *streams = g_new0 (TetherMessageStream, MAX (len, 1));

  *n_out = 0;
  for (guint i = 0; i < len; i++)
    if (tether_message_read_stream (json_array_get_element (array, i), &streams[*n_out]))
      (*n_out)++;
  return streams;
}

/* ---- readers of client messages (the server's door) -------------------------------- */

static gboolean
fail (GError     **error,
      int          code,
      const char  *message)
{
  g_set_error_literal (error, TETHER_ERROR, code, message);
  return FALSE;
}

static gboolean
read_req (JsonObject  *msg,
          gint64      *req,
          GError     **error)
{
  if (tether_json_get_int (msg, TETHER_FIELD_REQ, req))
    return TRUE;
  return fail (error, TETHER_ERROR_PROTOCOL, "request needs an integer \"req\"");
}

/**
 * tether_message_read_login:
 * @msg: a `login` message
 * @out: (out caller-allocates): the login; a user without a name is named by its id
 * @error: return location for the error the client gets
 *
 * Checks the fields in the order of docs/protocol.md: `v` (1013), `app_id` (1003),
 * `room_id` (1007), `user` (1008), `notify_users` and `resume` (1013). On failure
 * @out holds the fields checked before the faulty one, so that a server can tell a
 * well-formed login for another app (refused, 4401) from a malformed one. The token
 * is only read: whether it is there and opens the room is for the server to say.
 *
 * Returns: whether the login is well formed
 */
gboolean
tether_message_read_login (JsonObject          *msg,
                           TetherLoginMessage  *out,
                           GError             **error)
{
  const char *app_id, *room_id, *user_id, *user_name;
  JsonObject *user;
  JsonNode *node;
  gint64 version;

  memset (out, 0, sizeof *out);

  if (!tether_json_get_int (msg, TETHER_FIELD_VERSION, &version))
    return fail (error, TETHER_ERROR_PROTOCOL, "login needs an integer \"v\"");
  if (version != TETHER_PROTOCOL_VERSION)
    return fail (error, TETHER_ERROR_PROTOCOL, "unsupported protocol version; this server speaks 1");

  app_id = tether_json_get_string (msg, TETHER_FIELD_APP_ID);
  if (!tether_protocol_valid_id (app_id))
    return fail (error, TETHER_ERROR_APP_ID_INVALID, "app_id is missing or not a valid id");
  out->app_id = app_id;

  room_id = tether_json_get_string (msg, TETHER_FIELD_ROOM_ID);
  if (!tether_protocol_valid_id (room_id))
    return fail (error, TETHER_ERROR_ROOM_ID_INVALID, "room_id is missing or not a valid id");
  out->room_id = room_id;

  user = tether_json_get_object (msg, TETHER_FIELD_USER);
  user_id = user != NULL ? tether_json_get_string (user, TETHER_FIELD_ID) : NULL;
  if (!tether_protocol_valid_id (user_id))
    return fail (error, TETHER_ERROR_USER_ID_INVALID, "user.id is missing or not a valid id");
  if (get_given (user, TETHER_FIELD_NAME) != NULL)
    {
      user_name = tether_json_get_string (user, TETHER_FIELD_NAME);
      if (!tether_protocol_valid_name (user_name))
        return fail (error, TETHER_ERROR_USER_ID_INVALID,
                     "user.name must be a string of at most 256 bytes without control characters");
    }
  else
    user_name = user_id;
  out->user.id = user_id;
  out->user.name = user_name;

  node = get_given (msg, TETHER_FIELD_NOTIFY_USERS);
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        return fail (error, TETHER_ERROR_PROTOCOL, "notify_users must be a boolean");
      out->notify_users = json_node_get_boolean (node);
    }

  if (get_given (msg, TETHER_FIELD_RESUME) != NULL)
    {
      JsonObject *resume = tether_json_get_object (msg, TETHER_FIELD_RESUME);
      const char *session_id = NULL, *resume_key = NULL;
      gint64 last_seq = 0;

      if (resume != NULL)
        {
          session_id = tether_json_get_string (resume, TETHER_FIELD_SESSION_ID);
          resume_key = tether_json_get_string (resume, TETHER_FIELD_RESUME_KEY);
        }
      if (session_id == NULL || resume_key == NULL
          || !tether_json_get_int (resume, TETHER_FIELD_LAST_SEQ, &last_seq) || last_seq < 0)
        return fail (error, TETHER_ERROR_PROTOCOL,
                     "resume must hold session_id, resume_key and a non-negative last_seq");
      out->session_id = session_id;
      out->resume_key = resume_key;
      out->last_seq = last_seq;
    }

  out->token = tether_json_get_string (msg, TETHER_FIELD_TOKEN);
  return TRUE;
}

/**
 * tether_message_read_heartbeat:
 * @msg: a `heartbeat` message
 * @out_id: (out) (transfer none) (nullable): its id, %NULL when absent
 * @error: return location for the error the client gets (1013)
 *
 * The id is echoed back as it came: only shapes that every client reads back
 * exactly are taken (null, an integer from 0 to 2^53 - 1, a string of at most 64
 * bytes; larger integers never get past the door).
 *
 * Returns: whether the id is one of those
 */
gboolean
tether_message_read_heartbeat (JsonObject  *msg,
                               JsonNode   **out_id,
                               GError     **error)
{
  JsonNode *id = json_object_get_member (msg, TETHER_FIELD_ID);
  gboolean valid = TRUE;

  *out_id = id;
  if (id != NULL && !JSON_NODE_HOLDS_NULL (id))
    {
      GType type = JSON_NODE_HOLDS_VALUE (id) ? json_node_get_value_type (id) : G_TYPE_INVALID;

      if (type == G_TYPE_INT64)
        valid = json_node_get_int (id) >= 0;
      else if (type == G_TYPE_STRING)
        valid = strlen (json_node_get_string (id)) <= TETHER_PROTOCOL_MAX_HEARTBEAT_ID_LEN;
      else
        valid = FALSE;
    }
  if (!valid)
    return fail (error, TETHER_ERROR_PROTOCOL,
                 "heartbeat id must be an integer from 0 to 2^53 - 1 or a string of at most 64 bytes");
  return TRUE;
}

/**
 * tether_message_read_stream_add:
 * @msg: a `stream_add` message
 * @out: (out caller-allocates): the request; `node` and `extra` default to ""
 * @error: return location for the error the client gets
 *
 * Returns: whether it has a `req`, a stream id (2001), an `extra` of at most 4096
 *   bytes and a `node` that is empty or an id (1013)
 */
gboolean
tether_message_read_stream_add (JsonObject              *msg,
                                TetherStreamAddMessage  *out,
                                GError                 **error)
{
  JsonObject *stream;

  memset (out, 0, sizeof *out);
  if (!read_req (msg, &out->req, error))
    return FALSE;

  stream = tether_json_get_object (msg, TETHER_FIELD_STREAM);
  out->stream.id = stream != NULL ? tether_json_get_string (stream, TETHER_FIELD_ID) : NULL;
  if (!tether_protocol_valid_id (out->stream.id))
    return fail (error, TETHER_ERROR_STREAM_ID_INVALID, "stream.id is missing or not a valid id");

  out->stream.extra = "";
  if (json_object_has_member (stream, TETHER_FIELD_EXTRA))
    {
      out->stream.extra = tether_json_get_string (stream, TETHER_FIELD_EXTRA);
      if (out->stream.extra == NULL || strlen (out->stream.extra) > TETHER_PROTOCOL_MAX_EXTRA_LEN)
        return fail (error, TETHER_ERROR_PROTOCOL, "stream.extra must be a string of at most 4096 bytes");
    }
  out->stream.node = "";
  if (json_object_has_member (stream, TETHER_FIELD_NODE))
    {
      out->stream.node = tether_json_get_string (stream, TETHER_FIELD_NODE);
      if (out->stream.node == NULL
          || (*out->stream.node != '\0' && !tether_protocol_valid_id (out->stream.node)))
        return fail (error, TETHER_ERROR_PROTOCOL, "stream.node must be a media node id");
    }
  return TRUE;
}

/**
 * tether_message_read_stream_delete:
 * @msg: a `stream_delete` message
 * @out: (out caller-allocates): the request; a reason a client may not give
 *   ("stopped" and "media_lost" only) reads as "stopped"
 * @error: return location for the error the client gets (1013)
 *
 * Returns: whether it has a `req` and a string `stream_id`
 */
gboolean
tether_message_read_stream_delete (JsonObject                 *msg,
                                   TetherStreamDeleteMessage  *out,
                                   GError                    **error)
{
  memset (out, 0, sizeof *out);
  if (!read_req (msg, &out->req, error))
    return FALSE;
  out->stream_id = tether_json_get_string (msg, TETHER_FIELD_STREAM_ID);
  if (out->stream_id == NULL)
    return fail (error, TETHER_ERROR_PROTOCOL, "stream_delete needs a string stream_id");
  out->reason = tether_json_get_string (msg, TETHER_FIELD_REASON);
  if (out->reason == NULL || !g_strv_contains (client_delete_reasons, out->reason))
    out->reason = TETHER_REASON_STOPPED;
  return TRUE;
}

/**
 * tether_message_read_token_renew:
 * @msg: a `token_renew` message
 * @out: (out caller-allocates): the request
 * @error: return location for the error the client gets (1013)
 *
 * Returns: whether it has a `req` and a string `token`
 */
gboolean
tether_message_read_token_renew (JsonObject               *msg,
                                 TetherTokenRenewMessage  *out,
                                 GError                  **error)
{
  memset (out, 0, sizeof *out);
  if (!read_req (msg, &out->req, error))
    return FALSE;
  out->token = tether_json_get_string (msg, TETHER_FIELD_TOKEN);
  if (out->token == NULL)
    return fail (error, TETHER_ERROR_PROTOCOL, "token_renew needs a string token");
  return TRUE;
}

/* ---- readers of server messages (the client's side) -------------------------------- */

/* An `srt_passphrase` libsrt can take (10 to 79 bytes), or NULL. */
static const char *
read_srt_passphrase (JsonObject *msg)
{
  const char *passphrase = tether_json_get_string (msg, TETHER_FIELD_SRT_PASSPHRASE);
  gsize len = passphrase != NULL ? strlen (passphrase) : 0;

  return len >= 10 && len <= 79 ? passphrase : NULL;
}

/**
 * tether_message_read_login_ok:
 * @msg: a `login_ok` message
 * @out: (out caller-allocates): the answer; clear it with
 *   tether_message_login_ok_clear(). A missing number reads as 0, a missing
 *   boolean as %FALSE; lists keep only their well-formed entries.
 *
 * Returns: whether it has `room_session_id`, `session_id` and `resume_key`
 */
gboolean
tether_message_read_login_ok (JsonObject           *msg,
                              TetherLoginOkMessage *out)
{
  JsonArray *nodes = tether_json_get_array (msg, TETHER_FIELD_MEDIA_NODES);
  guint n_nodes = nodes != NULL ? json_array_get_length (nodes) : 0;
  JsonArray *services = tether_json_get_array (msg, TETHER_FIELD_ROOM_SERVICES);
  guint n_services = services != NULL ? json_array_get_length (services) : 0;

  memset (out, 0, sizeof *out);
  out->room_session_id = tether_json_get_string (msg, TETHER_FIELD_ROOM_SESSION_ID);
  out->session_id = tether_json_get_string (msg, TETHER_FIELD_SESSION_ID);
  out->resume_key = tether_json_get_string (msg, TETHER_FIELD_RESUME_KEY);
  out->resumed = tether_json_get_bool (msg, TETHER_FIELD_RESUMED, FALSE);
  out->resync = tether_json_get_bool (msg, TETHER_FIELD_RESYNC, FALSE);
  tether_json_get_int (msg, TETHER_FIELD_SEQ, &out->seq);
  out->users = read_users (msg, &out->n_users);
  out->streams = read_streams (msg, &out->n_streams);
  tether_json_get_number (msg, TETHER_FIELD_HEARTBEAT_INTERVAL, &out->heartbeat_interval);
  tether_json_get_number (msg, TETHER_FIELD_HEARTBEAT_TIMEOUT, &out->heartbeat_timeout);
  tether_json_get_number (msg, TETHER_FIELD_SESSION_TTL, &out->session_ttl);
  out->has_token_expires_at = tether_json_get_int (msg, TETHER_FIELD_TOKEN_EXPIRES_AT,
                                                   &out->token_expires_at);
  out->srt_passphrase = read_srt_passphrase (msg);

  out->media_nodes = g_new0 (TetherMessageMediaNode, MAX (n_nodes, 1));
  for (guint i = 0; i < n_nodes; i++)
    {
      JsonNode *node = json_array_get_element (nodes, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      TetherMessageMediaNode *entry = &out->media_nodes[out->n_media_nodes];

      entry->id = o != NULL ? tether_json_get_string (o, TETHER_FIELD_ID) : NULL;
      entry->url = o != NULL ? tether_json_get_string (o, TETHER_FIELD_URL) : NULL;
      if (entry->id != NULL && entry->url != NULL)
        out->n_media_nodes++;
    }

  out->room_services = g_new0 (const char *, MAX (n_services, 1));
  for (guint i = 0; i < n_services; i++)
    {
      JsonNode *node = json_array_get_element (services, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        out->room_services[out->n_room_services++] = json_node_get_string (node);
    }

  return out->room_session_id != NULL && out->session_id != NULL && out->resume_key != NULL;
}

/**
 * tether_message_login_ok_clear:
 * @m: what tether_message_read_login_ok() filled
 *
 * Frees its lists (the strings belong to the message).
 */
void
tether_message_login_ok_clear (TetherLoginOkMessage *m)
{
  g_clear_pointer (&m->users, g_free);
  g_clear_pointer (&m->streams, g_free);
  g_clear_pointer (&m->media_nodes, g_free);
  g_clear_pointer (&m->room_services, g_free);
  m->n_users = m->n_streams = m->n_media_nodes = m->n_room_services = 0;
}

/**
 * tether_message_read_event:
 * @msg: an `event` message
 * @out: (out caller-allocates): the event; clear it with
 *   tether_message_event_clear(). A kind other than "user" reads as a stream event
 *   and an update other than "ADD" as a DELETE, as libtether always read them.
 *
 * Returns: whether it has an integer `seq`, a `kind` and an `update`
 */
gboolean
tether_message_read_event (JsonObject         *msg,
                           TetherEventMessage *out)
{
  const char *kind = tether_json_get_string (msg, TETHER_FIELD_KIND);
  const char *update = tether_json_get_string (msg, TETHER_FIELD_UPDATE);

  memset (out, 0, sizeof *out);
  if (!tether_json_get_int (msg, TETHER_FIELD_SEQ, &out->seq) || kind == NULL || update == NULL)
    return FALSE;

  out->kind = g_str_equal (kind, kind_names[TETHER_MESSAGE_KIND_USER])
                ? TETHER_MESSAGE_KIND_USER : TETHER_MESSAGE_KIND_STREAM;
  out->update = g_str_equal (update, tether_message_update_to_string (TETHER_UPDATE_ADD))
                  ? TETHER_UPDATE_ADD : TETHER_UPDATE_DELETE;
  out->reason = tether_json_get_string (msg, TETHER_FIELD_REASON);
  if (out->kind == TETHER_MESSAGE_KIND_USER)
    out->users = read_users (msg, &out->n_users);
  else
    out->streams = read_streams (msg, &out->n_streams);
  return TRUE;
}

/**
 * tether_message_event_clear:
 * @m: what tether_message_read_event() filled
 *
 * Frees its lists (the strings belong to the message).
 */
void
tether_message_event_clear (TetherEventMessage *m)
{
  g_clear_pointer (&m->users, g_free);
  g_clear_pointer (&m->streams, g_free);
  m->n_users = m->n_streams = 0;
}

/**
 * tether_message_read_heartbeat_ack:
 * @out_id: (out): the id of the heartbeat answered
 *
 * Returns: whether the id is an integer (libtether sends only those)
 */
gboolean
tether_message_read_heartbeat_ack (JsonObject *msg,
                                   gint64     *out_id)
{
  return tether_json_get_int (msg, TETHER_FIELD_ID, out_id);
}

/**
 * tether_message_read_request_ok:
 * @msg: a `stream_add_ok`, `stream_delete_ok` or `token_renew_ok` message
 * @out_req: (out): the request it answers
 *
 * Returns: whether it has an integer `req`
 */
gboolean
tether_message_read_request_ok (JsonObject *msg,
                                gint64     *out_req)
{
  return tether_json_get_int (msg, TETHER_FIELD_REQ, out_req);
}

/**
 * tether_message_read_token_renew_ok:
 * @out_expires_at: (out): the new token's expiry; left alone when absent
 * @out_srt_passphrase: (out): the new token's SRT passphrase, %NULL when absent
 *
 * Returns: whether it has an integer `expires_at`
 */
gboolean
tether_message_read_token_renew_ok (JsonObject  *msg,
                                    gint64      *out_expires_at,
                                    const char **out_srt_passphrase)
{
  *out_srt_passphrase = read_srt_passphrase (msg);
  return tether_json_get_int (msg, TETHER_FIELD_EXPIRES_AT, out_expires_at);
}

/**
 * tether_message_read_token_will_expire:
 * @out: (out caller-allocates): the warning; missing numbers read as 0
 */
void
tether_message_read_token_will_expire (JsonObject                   *msg,
                                       TetherTokenWillExpireMessage *out)
{
  memset (out, 0, sizeof *out);
  tether_json_get_int (msg, TETHER_FIELD_EXPIRES_AT, &out->expires_at);
  tether_json_get_number (msg, TETHER_FIELD_REMAINING, &out->remaining);
}

/**
 * tether_message_read_reconnect:
 * @out_retry_after: (out): the longest delay before reconnecting, seconds; left
 *   alone when absent
 *
 * Returns: whether it has a number `retry_after`
 */
gboolean
tether_message_read_reconnect (JsonObject *msg,
                               double     *out_retry_after)
{
  return tether_json_get_number (msg, TETHER_FIELD_RETRY_AFTER, out_retry_after);
}

/**
 * tether_message_read_error:
 * @msg: an `error`, `kick_out` or `request_error` message
 * @default_code: the code when it carries none
 * @out: (out caller-allocates): code, message (%NULL when absent) and, for a
 *   request_error, the request (0 when absent)
 *
 * Returns: whether it has an integer `req`
 */
gboolean
tether_message_read_error (JsonObject         *msg,
                           int                 default_code,
                           TetherErrorMessage *out)
{
  memset (out, 0, sizeof *out);
  out->code = default_code;
  tether_json_get_int (msg, TETHER_FIELD_CODE, &out->code);
  out->message = tether_json_get_string (msg, TETHER_FIELD_MESSAGE);
  return tether_json_get_int (msg, TETHER_FIELD_REQ, &out->req);
}
