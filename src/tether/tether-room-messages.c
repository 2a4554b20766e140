/* tether-room-messages.c: what the room service sends a room — login_ok, events,
 * replies, errors — and how the room's state and lists follow (docs/protocol.md)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-login-options-private.h"
#include "tether-room-private.h"
#include "tether-stream.h"
#include "tether-user.h"

/* The most a server may ask for: heartbeats at least hourly, a restart's spread
 * within 5 minutes. */
#define MAX_HEARTBEAT_INTERVAL 3600.0
#define MAX_RETRY_AFTER 300.0

/* ---- lists ------------------------------------------------------------------------ */

static TetherUser *
user_from_json (JsonNode *node)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *id = o ? tether_json_get_string (o, "id") : NULL;

  if (id == NULL)
    return NULL;
  return tether_user_new (id, tether_json_get_string (o, "name"));
}

static TetherStream *
stream_from_json (JsonNode *node)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *id = o ? tether_json_get_string (o, "id") : NULL;

  if (id == NULL)
    return NULL;
  return tether_stream_new (id, tether_json_get_string (o, "user_id"),
                            tether_json_get_string (o, "user_name"),
                            tether_json_get_string (o, "node"),
                            tether_json_get_string (o, "extra"));
}

/* The items of a list in a message, without our own (the room shows the others).
 * @ids, when given, gets the id of every item, ours too. */
static GPtrArray *
parse_items (TetherRoom *self,
             gboolean    is_user,
             JsonArray  *array,
             GHashTable *ids)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autoptr(GObject) item = is_user ? G_OBJECT (user_from_json (node))
                                        : G_OBJECT (stream_from_json (node));
      const char *id, *owner;

      if (item == NULL)
        continue;
      id = is_user ? tether_user_get_id (TETHER_USER (item))
                   : tether_stream_get_id (TETHER_STREAM (item));
      owner = is_user ? id : tether_stream_get_user_id (TETHER_STREAM (item));
      if (ids != NULL)
        g_hash_table_add (ids, (gpointer) tether_json_get_string (json_node_get_object (node),
                                                                  "id"));
      if (g_strcmp0 (owner, self->login->user_id) != 0)
        g_ptr_array_add (items, g_steal_pointer (&item));
    }
  return items;
}

static void
emit_update (TetherRoom       *self,
             gboolean          is_user,
             TetherUpdateType  update,
             GPtrArray        *items,
             const char       *reason)
{
  if (is_user)
    _tether_room_emit_users (self, update, items);
  else
    _tether_room_emit_streams (self, update, items, reason);
}

/* Applies one ADD or DELETE to a list and reports what really changed: a stream
 * announced again with other details is replaced, reported as a DELETE "replaced"
 * before the ADDs. */
static void
apply_update (TetherRoom       *self,
              gboolean          is_user,
              TetherUpdateType  update,
              GPtrArray        *items,
              const char       *reason)
{
  TetherRoomStore *store = is_user ? self->users : self->streams;
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) replaced = g_ptr_array_new_with_free_func (g_object_unref);

  if (update == TETHER_UPDATE_ADD)
    _tether_room_store_add (store, items, replaced, changed);
  else
    _tether_room_store_remove (store, items, changed);

  emit_update (self, is_user, TETHER_UPDATE_DELETE, replaced, "replaced");
  emit_update (self, is_user, update, changed, reason);
}

/* After a rejoin or on the first login, makes a list equal to the server's snapshot
 * and reports every difference, DELETEs first, so nobody holds a stale list. */
static void
resync_list (TetherRoom *self,
             gboolean    is_user,
             JsonArray  *snapshot,
             const char *reason)
{
  TetherRoomStore *store = is_user ? self->users : self->streams;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) items = parse_items (self, is_user, snapshot, wanted);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_object_unref);

  _tether_room_store_remove_missing (store, wanted, gone);
  emit_update (self, is_user, TETHER_UPDATE_DELETE, gone, reason);
  apply_update (self, is_user, TETHER_UPDATE_ADD, items, reason);
}

/* ---- messages --------------------------------------------------------------------- */

static void
store_media_nodes (TetherRoom *self,
                   JsonArray  *nodes)
{
  g_hash_table_remove_all (self->media_nodes);
  for (guint i = 0; nodes != NULL && i < json_array_get_length (nodes); i++)
    {
      JsonNode *node = json_array_get_element (nodes, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *id = o ? tether_json_get_string (o, "id") : NULL;
      const char *url = o ? tether_json_get_string (o, "url") : NULL;

      if (id != NULL && url != NULL)
        g_hash_table_insert (self->media_nodes, g_strdup (id), g_strdup (url));
    }
}

static void
handle_login_ok (TetherRoom *self,
                 JsonObject *msg)
{
  const char *room_session_id = tether_json_get_string (msg, "room_session_id");
  const char *session_id = tether_json_get_string (msg, "session_id");
  const char *resume_key = tether_json_get_string (msg, "resume_key");
  gboolean resumed = tether_json_get_bool (msg, "resumed", FALSE);
  gboolean resync = tether_json_get_bool (msg, "resync", FALSE);
  gboolean was_reconnecting = self->state == TETHER_ROOM_STATE_RECONNECTING;
  double interval = 1.0;
  gint64 seq = 0;

  if (session_id == NULL || resume_key == NULL || room_session_id == NULL)
    {
      _tether_room_connection_broken (self, "closed");
      return;
    }

  self->awaiting_login_ok = FALSE;
  _tether_room_clear_source (self, &self->attempt_timeout_id);

  g_free (self->session_id);
  self->session_id = g_strdup (session_id);
  g_free (self->resume_key);
  self->resume_key = g_strdup (resume_key);
  _tether_room_set_room_session_id (self, room_session_id);
  /* Timings from the server are clamped to what makes sense: 1e20 s would overflow
   * the monotonic clock's arithmetic. */
  if (tether_json_get_number (msg, "heartbeat_interval", &interval) && interval > 0.005)
    self->heartbeat_interval = MIN (interval, MAX_HEARTBEAT_INTERVAL);
  tether_json_get_int (msg, "token_expires_at", &self->token_expires_at);
  store_media_nodes (self, tether_json_get_array (msg, "media_nodes"));
  self->retry_after_hint = 0;

  /* A resumed session keeps its lists: the events it missed follow in order. */
  if (!resumed || resync)
    {
      tether_json_get_int (msg, "seq", &seq);
      self->last_seq = seq;
    }

  _tether_room_start_ticking (self);

  if (was_reconnecting)
    {
      _tether_room_finish_episode (self, resumed, TRUE);
      _tether_room_set_state (self, TETHER_ROOM_STATE_RECONNECTED, 0, NULL);
    }
  else
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGINED, 0, NULL);

  if (!resumed || resync)
    {
      /* On the first login the lists arrive as plain ADDs; later, as a resync. */
      const char *reason = was_reconnecting ? "resync" : NULL;

      if (self->login->notify_users)
        resync_list (self, TRUE, tether_json_get_array (msg, "users"), reason);
      resync_list (self, FALSE, tether_json_get_array (msg, "streams"), reason);
    }

  /* Our streams went with the old session unless it was resumed. */
  _tether_room_send_local_streams (self, !resumed);
}

static void
handle_event (TetherRoom *self,
              JsonObject *msg)
{
  const char *kind = tether_json_get_string (msg, "kind");
  const char *update = tether_json_get_string (msg, "update");
  gint64 seq = 0;
  g_autoptr(GPtrArray) items = NULL;
  gboolean is_user;

  if (!tether_json_get_int (msg, "seq", &seq) || kind == NULL || update == NULL)
    return;
  /* Replayed events we already applied are skipped. */
  if (seq <= self->last_seq)
    return;
  self->last_seq = seq;

  is_user = g_str_equal (kind, "user");
  if (is_user && !self->login->notify_users)
    return;
  items = parse_items (self, is_user, tether_json_get_array (msg, is_user ? "users" : "streams"),
                       NULL);
  apply_update (self, is_user,
                g_str_equal (update, "ADD") ? TETHER_UPDATE_ADD : TETHER_UPDATE_DELETE,
                items, tether_json_get_string (msg, "reason"));
}

static void
handle_request_reply (TetherRoom *self,
                      JsonObject *msg,
                      gboolean    ok)
{
  g_autoptr(GError) error = NULL;
  gint64 req = 0;

  if (!tether_json_get_int (msg, "req", &req))
    return;
  if (!ok)
    {
      gint64 code = TETHER_ERROR_PROTOCOL;
      const char *message = tether_json_get_string (msg, "message");

      tether_json_get_int (msg, "code", &code);
      error = g_error_new (TETHER_ERROR, (int) code, "%s",
                           message ? message : "stream request refused");
    }
  _tether_room_request_done (self, req, error);
}

static gboolean
is_steady_login_error (gint64 code)
{
  switch (code)
    {
    case TETHER_ERROR_APP_ID_INVALID:
    case TETHER_ERROR_TOKEN_INVALID:
    case TETHER_ERROR_TOKEN_EXPIRED:
    case TETHER_ERROR_PERMISSION_DENIED:
    case TETHER_ERROR_ROOM_ID_INVALID:
    case TETHER_ERROR_USER_ID_INVALID:
    case TETHER_ERROR_PROTOCOL:
    case TETHER_ERROR_INVALID_ARGUMENT:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
handle_error (TetherRoom *self,
              JsonObject *msg)
{
  gint64 code = TETHER_ERROR_PROTOCOL;
  const char *message = tether_json_get_string (msg, "message");

  tether_json_get_int (msg, "code", &code);
  g_message ("room %s: server error %" G_GINT64_FORMAT ": %s", self->login->room_id, code,
             message ? message : "");

  if (!is_steady_login_error (code))
    {
      _tether_room_connection_broken (self, "closed");
      return;
    }
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, (int) code, message);
  else
    {
      if (self->state == TETHER_ROOM_STATE_RECONNECTING)
        _tether_room_finish_episode (self, FALSE, FALSE);
      _tether_room_set_state (self, TETHER_ROOM_STATE_RECONNECT_FAILED, (int) code, message);
    }
}

static void
handle_message (TetherRoom *self,
                JsonObject *msg)
{
  const char *type = tether_json_get_string (msg, "type");

  if (g_str_equal (type, "heartbeat_ack"))
    {
      gint64 id = 0;

      if (tether_json_get_int (msg, "id", &id))
        _tether_room_heartbeat_acked (self, id);
    }
  else if (g_str_equal (type, "event"))
    handle_event (self, msg);
  else if (g_str_equal (type, "login_ok"))
    handle_login_ok (self, msg);
  else if (g_str_equal (type, "stream_add_ok") || g_str_equal (type, "stream_delete_ok"))
    handle_request_reply (self, msg, TRUE);
  else if (g_str_equal (type, "request_error"))
    handle_request_reply (self, msg, FALSE);
  else if (g_str_equal (type, "token_renew_ok"))
    tether_json_get_int (msg, "expires_at", &self->token_expires_at);
  else if (g_str_equal (type, "token_will_expire"))
    {
      double remaining = 0;

      tether_json_get_number (msg, "remaining", &remaining);
      _tether_room_emit_token_will_expire (self, (int) remaining);
    }
  else if (g_str_equal (type, "kick_out"))
    {
      gint64 code = TETHER_ERROR_KICKED;

      tether_json_get_int (msg, "code", &code);
      if (self->state == TETHER_ROOM_STATE_RECONNECTING)
        _tether_room_finish_episode (self, FALSE, FALSE);
      _tether_room_set_state (self, TETHER_ROOM_STATE_KICK_OUT, (int) code,
                              tether_json_get_string (msg, "message"));
    }
  else if (g_str_equal (type, "reconnect"))
    {
      if (tether_json_get_number (msg, "retry_after", &self->retry_after_hint))
        self->retry_after_hint = CLAMP (self->retry_after_hint, 0, MAX_RETRY_AFTER);
      _tether_room_connection_broken (self, "server-restart");
    }
  else if (g_str_equal (type, "logout_ok"))
    {
      if (self->logout_id != 0)
        _tether_room_set_state (self, TETHER_ROOM_STATE_LOGOUT, 0, NULL);
    }
  else if (g_str_equal (type, "error"))
    handle_error (self, msg);
}

void
_tether_room_receive_text (TetherRoom *self,
                           const char *data,
                           gsize       len)
{
  g_autoptr(JsonObject) msg = NULL;
  g_autoptr(GError) error = NULL;

  msg = tether_protocol_parse (data, len, 64, &error);
  if (msg == NULL)
    {
      g_warning ("room %s: unreadable message from server: %s", self->login->room_id, error->message);
      return;
    }
  handle_message (self, msg);
}

/* ---- test hooks ------------------------------------------------------------------- */

/* For tests/fuzz/fuzz-room.c only; nothing in libtether calls these. The harness
 * plays the server: it puts the room where a fresh connection leaves it, then hands
 * it frames one at a time, through the same dispatch as ws_message_cb(). */

void
_tether_room_test_begin_login (TetherRoom *self)
{
  g_return_if_fail (TETHER_IS_ROOM (self));

  self->attempt = 0;
  _tether_room_set_state (self, TETHER_ROOM_STATE_LOGINING, 0, NULL);
  self->awaiting_login_ok = TRUE;
}

void
_tether_room_test_receive (TetherRoom *self,
                           const char *data,
                           gsize       len)
{
  g_autoptr(TetherRoom) ref = NULL;

  g_return_if_fail (TETHER_IS_ROOM (self));

  ref = g_object_ref (self);
  self->last_rx = g_get_monotonic_time ();
  _tether_room_receive_text (self, data, len);
}
