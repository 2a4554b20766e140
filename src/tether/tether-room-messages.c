/* tether-room-messages.c: what the room service sends a room — login_ok, events,
 * replies, errors — and how the room's state and lists follow. The messages are
 * read with tether-message.h (docs/protocol.md).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-login-options-private.h"
#include "tether-message.h"
#include "tether-room-private.h"
#include "tether-stream.h"
#include "tether-user.h"

/* The most a server may ask for: heartbeats at least hourly, a restart's spread
 * within 5 minutes. */
#define MAX_HEARTBEAT_INTERVAL 3600.0
#define MAX_RETRY_AFTER 300.0

/* Why a stream-update DELETE happened when the server did not say: the stream
 * moved and is added again, or the list was made equal to a snapshot. */
#define REASON_REPLACED "replaced"
#define REASON_RESYNC "resync"

/* ---- lists ------------------------------------------------------------------------ */

/* One list of a message: users or streams. */
typedef struct
{
  gboolean is_user;
  const TetherMessageUser *users;
  const TetherMessageStream *streams;
  guint n;
} MessageList;

/* The items of @list without our own (the room shows the others). @ids, when given,
 * gets the id of every item, ours too. */
static GPtrArray *
list_to_items (TetherRoom        *self,
               const MessageList *list,
               GHashTable        *ids)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < list->n; i++)
    {
      const TetherMessageUser *u = list->is_user ? &list->users[i] : NULL;
      const TetherMessageStream *s = list->is_user ? NULL : &list->streams[i];
      const char *id = u != NULL ? u->id : s->id;
      const char *owner = u != NULL ? u->id : s->user_id;

      if (ids != NULL)
        g_hash_table_add (ids, (gpointer) id);
      if (g_strcmp0 (owner, self->login->user_id) == 0)
        continue;
      if (u != NULL)
        g_ptr_array_add (items, tether_user_new (id, u->name));
      else
        g_ptr_array_add (items, tether_stream_new (id, s->user_id, s->user_name, s->node,
                                                   s->extra));
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

  emit_update (self, is_user, TETHER_UPDATE_DELETE, replaced, REASON_REPLACED);
  emit_update (self, is_user, update, changed, reason);
}

/* After a rejoin or on the first login, makes a list equal to the server's snapshot
 * and reports every difference, DELETEs first, so nobody holds a stale list. */
static void
resync_list (TetherRoom        *self,
             const MessageList *snapshot,
             const char        *reason)
{
  TetherRoomStore *store = snapshot->is_user ? self->users : self->streams;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) items = list_to_items (self, snapshot, wanted);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_object_unref);

  _tether_room_store_remove_missing (store, wanted, gone);
  emit_update (self, snapshot->is_user, TETHER_UPDATE_DELETE, gone, reason);
  apply_update (self, snapshot->is_user, TETHER_UPDATE_ADD, items, reason);
}

/* ---- messages --------------------------------------------------------------------- */

static void
store_media_nodes (TetherRoom                   *self,
                   const TetherMessageMediaNode *nodes,
                   guint                         n_nodes)
{
  g_hash_table_remove_all (self->media_nodes);
  for (guint i = 0; i < n_nodes; i++)
    g_hash_table_insert (self->media_nodes, g_strdup (nodes[i].id), g_strdup (nodes[i].url));
}

static void
handle_login_ok (TetherRoom *self,
                 JsonObject *msg)
{
  g_auto(TetherLoginOkMessage) m = { 0, };
  gboolean was_reconnecting = self->state == TETHER_ROOM_STATE_RECONNECTING;

  if (!tether_message_read_login_ok (msg, &m))
    {
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
      return;
    }

  self->awaiting_login_ok = FALSE;

  g_free (self->session_id);
  self->session_id = g_strdup (m.session_id);
  g_free (self->resume_key);
  self->resume_key = g_strdup (m.resume_key);
  _tether_room_set_room_session_id (self, m.room_session_id);
  /* Timings from the server are clamped to what makes sense: 1e20 s would overflow
   * the monotonic clock's arithmetic. */
  if (m.heartbeat_interval > 0.005)
    self->heartbeat_interval = MIN (m.heartbeat_interval, MAX_HEARTBEAT_INTERVAL);
  if (m.has_token_expires_at)
    self->token_expires_at = m.token_expires_at;
  store_media_nodes (self, m.media_nodes, m.n_media_nodes);
  _tether_room_take_room_services (self, m.room_services, m.n_room_services);
  /* The passphrase is that of the token this login sent. */
  _tether_room_set_media_credentials (self, self->login->token, m.srt_passphrase);
  g_clear_pointer (&self->renew_token, g_free);
  self->retry_after_hint = 0;

  /* A resumed session keeps its lists: the events it missed follow in order. */
  if (!m.resumed || m.resync)
    self->last_seq = m.seq;

  _tether_room_start_ticking (self);

  if (was_reconnecting)
    {
      _tether_room_finish_episode (self, m.resumed, TRUE);
      _tether_room_set_state (self, TETHER_ROOM_STATE_RECONNECTED, 0, NULL);
    }
  else
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGINED, 0, NULL);

  if (!m.resumed || m.resync)
    {
      /* On the first login the lists arrive as plain ADDs; later, as a resync. */
      const char *reason = was_reconnecting ? REASON_RESYNC : NULL;
      const MessageList users = { TRUE, m.users, NULL, m.n_users };
      const MessageList streams = { FALSE, NULL, m.streams, m.n_streams };

      if (self->login->notify_users)
        resync_list (self, &users, reason);
      resync_list (self, &streams, reason);
    }

  /* Our streams went with the old session unless it was resumed. */
  _tether_room_send_local_streams (self, !m.resumed);
}

static void
handle_event (TetherRoom *self,
              JsonObject *msg)
{
  g_auto(TetherEventMessage) m = { 0, };
  g_autoptr(GPtrArray) items = NULL;
  gboolean is_user;
  MessageList list;

  if (!tether_message_read_event (msg, &m))
    return;
  /* Replayed events we already applied are skipped. */
  if (m.seq <= self->last_seq)
    return;
  self->last_seq = m.seq;

  is_user = m.kind == TETHER_MESSAGE_KIND_USER;
  if (is_user && !self->login->notify_users)
    return;
  list = (MessageList) { is_user, m.users, m.streams, is_user ? m.n_users : m.n_streams };
  items = list_to_items (self, &list, NULL);
  apply_update (self, is_user, m.update, items, m.reason);
}

static void
handle_request_reply (TetherRoom        *self,
                      JsonObject        *msg,
                      TetherMessageType  type)
{
  g_autoptr(GError) error = NULL;
  gint64 req = 0;

  if (type == TETHER_MESSAGE_REQUEST_ERROR)
    {
      TetherErrorMessage e;

      if (!tether_message_read_error (msg, TETHER_ERROR_PROTOCOL, &e))
        return;
      req = e.req;
      error = g_error_new (TETHER_ERROR, (int) e.code, "%s",
                           e.message ? e.message : "stream request refused");
    }
  else if (!tether_message_read_request_ok (msg, &req))
    return;

  _tether_room_request_done (self, req, error);
}

/* The answer to the last renewal sent switches the media credentials to its token;
 * an older renewal's answer does not (its passphrase is not the last token's). */
static void
handle_token_renew_ok (TetherRoom *self,
                       JsonObject *msg)
{
  const char *passphrase = NULL;
  gint64 req = 0;

  tether_message_read_token_renew_ok (msg, &self->token_expires_at, &passphrase);
  if (self->renew_token != NULL && tether_message_read_request_ok (msg, &req)
      && req == self->renew_req)
    {
      _tether_room_set_media_credentials (self, self->renew_token, passphrase);
      g_clear_pointer (&self->renew_token, g_free);
    }
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
  TetherErrorMessage e;

  tether_message_read_error (msg, TETHER_ERROR_PROTOCOL, &e);
  g_message ("room %s: server error %" G_GINT64_FORMAT ": %s", self->login->room_id, e.code,
             e.message ? e.message : "");

  if (!is_steady_login_error (e.code))
    {
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
      return;
    }
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, (int) e.code, e.message);
  else
    _tether_room_give_up (self, TETHER_ROOM_STATE_RECONNECT_FAILED, (int) e.code, e.message);
}

static void
handle_kick_out (TetherRoom *self,
                 JsonObject *msg)
{
  TetherErrorMessage e;

  tether_message_read_error (msg, TETHER_ERROR_KICKED, &e);
  _tether_room_give_up (self, TETHER_ROOM_STATE_KICK_OUT, (int) e.code, e.message);
}

static void
handle_message (TetherRoom *self,
                JsonObject *msg)
{
  TetherMessageType type = tether_message_get_type (msg);
  TetherTokenWillExpireMessage expiry;

  switch (type)
    {
    case TETHER_MESSAGE_EVENT:
      handle_event (self, msg);
      break;
    case TETHER_MESSAGE_LOGIN_OK:
      handle_login_ok (self, msg);
      break;
    case TETHER_MESSAGE_STREAM_ADD_OK:
    case TETHER_MESSAGE_STREAM_DELETE_OK:
    case TETHER_MESSAGE_REQUEST_ERROR:
      handle_request_reply (self, msg, type);
      break;
    case TETHER_MESSAGE_TOKEN_RENEW_OK:
      handle_token_renew_ok (self, msg);
      break;
    case TETHER_MESSAGE_TOKEN_WILL_EXPIRE:
      tether_message_read_token_will_expire (msg, &expiry);
      _tether_room_emit_token_will_expire (self, (int) expiry.remaining);
      break;
    case TETHER_MESSAGE_KICK_OUT:
      handle_kick_out (self, msg);
      break;
    case TETHER_MESSAGE_RECONNECT:
      if (tether_message_read_reconnect (msg, &self->retry_after_hint))
        self->retry_after_hint = CLAMP (self->retry_after_hint, 0, MAX_RETRY_AFTER);
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_SERVER_RESTART);
      break;
    case TETHER_MESSAGE_LOGOUT_OK:
      if (self->logout_id != 0)
        _tether_room_set_state (self, TETHER_ROOM_STATE_LOGOUT, 0, NULL);
      break;
    case TETHER_MESSAGE_ERROR:
      handle_error (self, msg);
      break;
    case TETHER_MESSAGE_HEARTBEAT_ACK:  /* answered on the network thread (tether-room-socket.c) */
    case TETHER_MESSAGE_UNKNOWN:
    case TETHER_MESSAGE_LOGIN:
    case TETHER_MESSAGE_HEARTBEAT:
    case TETHER_MESSAGE_LOGOUT:
    case TETHER_MESSAGE_STREAM_ADD:
    case TETHER_MESSAGE_STREAM_DELETE:
    case TETHER_MESSAGE_TOKEN_RENEW:
    case TETHER_MESSAGE_N_TYPES:
    default:
      /* A newer server's messages, and those a server never sends, are ignored. */
      break;
    }
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
      g_warning ("room %s: unreadable message from server: %s", self->login->room_id,
                 error->message);
      return;
    }
  handle_message (self, msg);
}

/* ---- test hooks ------------------------------------------------------------------- */

/* For tests/fuzz/fuzz-room.c only; nothing in libtether calls these. The harness
 * plays the server: it puts the room where a fresh connection leaves it, then hands
 * it frames one at a time, through the same dispatch as a WebSocket message. */

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
  _tether_room_receive_text (self, data, len);
}
