/* tether-room.c: the room state machine — login, heartbeats, dead-link detection,
 * backoff, resume and resynchronisation (DESIGN.md section 2)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "tether-enum-types.h"
#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-room-private.h"
#include "tether-timeout-private.h"
#include "tether-token.h"
#include "tether-stream.h"
#include "tether-user.h"

/* A stream this client announced; it is announced again after a rejoin. */
typedef struct
{
  char *id;
  char *node;
  char *extra;
  GTask *task;     /* the caller waiting for the first acknowledgement, or NULL */
  gint64 req;      /* request id in flight, 0 when none */
} LocalStream;

struct _TetherRoom
{
  GObject parent_instance;

  GMainContext *context;   /* timers and signals live here, as DESIGN.md section 1 says */
  SoupSession *session;
  TetherRoomTiming timing;
  char *server_url;
  char *app_id;
  char *room_id;
  char *user_id;
  char *user_name;
  char *token;
  gboolean notify_users;

  TetherRoomState state;
  int error_code;

  /* The connection and the timers of the current state; see set_state(). */
  SoupWebsocketConnection *ws;
  GCancellable *connect_cancellable;
  gboolean awaiting_login_ok;
  guint attempt_timeout_id;
  guint retry_id;
  guint window_id;
  guint tick_id;
  guint logout_id;
  guint start_id;
  gint64 last_rx;           /* monotonic µs of the last message from the server */
  gint64 probe_deadline;    /* monotonic µs by which a probe must be answered, or 0 */
  gint64 heartbeat_due;
  gint64 heartbeat_id;
  gint64 heartbeat_sent;
  double heartbeat_interval;
  double rtt;
  double retry_after_hint;  /* from a server's "reconnect" message */

  /* The server-side session, kept for resume. */
  char *session_id;
  char *resume_key;
  char *room_session_id;
  gint64 last_seq;
  gint64 token_expires_at;
  GHashTable *media_nodes;  /* id → url */

  GListStore *users;
  GListStore *streams;
  GHashTable *local_streams;
  gint64 next_req;

  /* The current reconnect episode. */
  gint64 broken_at;
  guint attempt;
  char *cause;
  TetherReconnectReport *last_report;
};

G_DEFINE_FINAL_TYPE (TetherRoom, tether_room, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_USER_ID,
  PROP_STATE,
  PROP_ERROR_CODE,
  PROP_ROOM_SESSION_ID,
  PROP_SERVER_URL,
  PROP_USERS,
  PROP_STREAMS,
  PROP_ATTEMPT,
  PROP_RTT,
  PROP_LAST_REPORT,
  N_PROPS
};

enum
{
  STATE_CHANGED,
  USER_UPDATE,
  STREAM_UPDATE,
  TOKEN_WILL_EXPIRE,
  RECONNECT_REPORT,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void connect_now (TetherRoom *self);
static void connection_broken (TetherRoom *self, const char *cause);
static void send_local_streams (TetherRoom *self, gboolean all);

#define USEC(seconds) ((gint64) ((seconds) * G_USEC_PER_SEC))
/* The most a server may ask for: heartbeats at least hourly, a restart's spread
 * within 5 minutes. */
#define MAX_HEARTBEAT_INTERVAL 3600.0
#define MAX_RETRY_AFTER 300.0

/* Timers go to the room's own main context, not the global default one, so a room
 * created on a worker thread's context works there. */
static guint
add_timeout (TetherRoom  *self,
             double       seconds,
             GSourceFunc  func)
{
  GSource *source = tether_timeout_source_new (seconds);
  guint id;

  g_source_set_callback (source, func, self, NULL);
  id = g_source_attach (source, self->context);
  g_source_unref (source);
  return id;
}

static void
clear_source (TetherRoom *self,
              guint      *id)
{
  GSource *source;

  if (*id == 0)
    return;
  source = g_main_context_find_source_by_id (self->context, *id);
  if (source != NULL)
    g_source_destroy (source);
  *id = 0;
}

static void
local_stream_free (gpointer data)
{
  LocalStream *ls = data;

  g_free (ls->id);
  g_free (ls->node);
  g_free (ls->extra);
  if (ls->task != NULL)
    {
      g_task_return_new_error (ls->task, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                               "left the room before the stream was announced");
      g_object_unref (ls->task);
    }
  g_free (ls);
}

static gboolean
is_connected_state (TetherRoomState state)
{
  return state == TETHER_ROOM_STATE_LOGINED || state == TETHER_ROOM_STATE_RECONNECTED;
}

static gboolean
is_final_state (TetherRoomState state)
{
  return state == TETHER_ROOM_STATE_LOGIN_FAILED || state == TETHER_ROOM_STATE_RECONNECT_FAILED
         || state == TETHER_ROOM_STATE_KICK_OUT || state == TETHER_ROOM_STATE_LOGOUT
         || state == TETHER_ROOM_STATE_LOGOUT_FAILED;
}

static double
link_timeout (TetherRoom *self)
{
  if (self->timing.link_timeout > 0)
    return self->timing.link_timeout;
  return MAX (2.2 * self->heartbeat_interval, 0.2);
}

/* Drops the socket without telling anyone: used when the link is believed dead or
 * when a state leaves the room. */
static void
drop_connection (TetherRoom *self)
{
  if (self->connect_cancellable != NULL)
    {
      g_cancellable_cancel (self->connect_cancellable);
      g_clear_object (&self->connect_cancellable);
    }
  if (self->ws != NULL)
    {
      SoupWebsocketConnection *ws = g_steal_pointer (&self->ws);

      g_signal_handlers_disconnect_by_data (ws, self);
      if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          /* A dead peer would never answer the close handshake. */
          g_io_stream_close_async (soup_websocket_connection_get_io_stream (ws),
                                   G_PRIORITY_DEFAULT, NULL, NULL, NULL);
        }
      g_object_unref (ws);
    }
  self->awaiting_login_ok = FALSE;
  self->probe_deadline = 0;
  clear_source (self, &self->attempt_timeout_id);
  clear_source (self, &self->tick_id);
}

static char *
build_extended_data (TetherRoom *self,
                     const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "room_session_id");
  json_builder_add_string_value (b, self->room_session_id ? self->room_session_id : "");
  if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    {
      json_builder_set_member_name (b, "cause");
      json_builder_add_string_value (b, self->cause);
      json_builder_set_member_name (b, "retry_time");
      json_builder_add_double_value (b, self->timing.retry_time);
    }
  if (self->state == TETHER_ROOM_STATE_RECONNECTED && self->last_report != NULL)
    {
      json_builder_set_member_name (b, "resumed");
      json_builder_add_boolean_value (b, tether_reconnect_report_get_resumed (self->last_report));
      json_builder_set_member_name (b, "downtime");
      json_builder_add_double_value (b, tether_reconnect_report_get_downtime (self->last_report));
      json_builder_set_member_name (b, "attempts");
      json_builder_add_int_value (b, tether_reconnect_report_get_attempts (self->last_report));
    }
  if (message != NULL)
    {
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, message);
    }
  json_builder_end_object (b);

  return tether_protocol_serialize (b);
}

/* The one place the state changes: it clears the timers that belong to the old state,
 * logs the transition and emits the signal. */
static gboolean
unref_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
keep_until_idle (TetherRoom *self)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, unref_cb, g_object_ref (self), NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
set_state (TetherRoom      *self,
           TetherRoomState  state,
           int              error_code,
           const char      *message)
{
  g_autofree char *extended = NULL;

  if (self->state == state && self->error_code == error_code)
    return;

  if (is_final_state (state))
    {
      /* Ending the pending requests below drops their tasks, which hold the room: the
       * last reference may go with them. Keep the room until this call stack (and
       * whichever timer or callback it started from) has unwound. */
      keep_until_idle (self);
      drop_connection (self);
      clear_source (self, &self->retry_id);
      clear_source (self, &self->window_id);
      clear_source (self, &self->logout_id);
      g_hash_table_remove_all (self->local_streams);
      g_list_store_remove_all (self->users);
      g_list_store_remove_all (self->streams);
      g_clear_pointer (&self->session_id, g_free);
      g_clear_pointer (&self->resume_key, g_free);
    }
  if (is_connected_state (state))
    {
      clear_source (self, &self->retry_id);
      clear_source (self, &self->window_id);
    }

  g_info ("room %s: %s → %s (error %d%s%s)", self->room_id,
          tether_room_state_to_string (self->state), tether_room_state_to_string (state),
          error_code, message ? ": " : "", message ? message : "");

  self->state = state;
  self->error_code = error_code;
  extended = build_extended_data (self, message);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_CODE]);
  g_signal_emit (self, signals[STATE_CHANGED], 0, state, error_code, extended);
}

static void
set_attempt (TetherRoom *self,
             guint       attempt)
{
  if (self->attempt == attempt)
    return;
  self->attempt = attempt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT]);
}

static void
send_builder (TetherRoom  *self,
              JsonBuilder *b)
{
  g_autofree char *text = tether_protocol_serialize (b);

  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->ws, text);
}

static void
send_heartbeat (TetherRoom *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  self->heartbeat_id++;
  self->heartbeat_sent = g_get_monotonic_time ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "heartbeat");
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, self->heartbeat_id);
  json_builder_end_object (b);
  send_builder (self, b);
}

/* Heartbeats and dead-link detection share one timer, a quarter of the heartbeat
 * interval, so silence is noticed within about link_timeout + interval/4. */
static gboolean
tick_cb (gpointer user_data)
{
  TetherRoom *self = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - self->last_rx > USEC (link_timeout (self)))
    {
      self->tick_id = 0;
      connection_broken (self, "link-timeout");
      return G_SOURCE_REMOVE;
    }
  if (self->probe_deadline != 0 && now > self->probe_deadline)
    {
      self->tick_id = 0;
      connection_broken (self, self->cause ? self->cause : "network-change");
      return G_SOURCE_REMOVE;
    }
  if (now >= self->heartbeat_due)
    {
      send_heartbeat (self);
      self->heartbeat_due = now + USEC (self->heartbeat_interval);
    }

  return G_SOURCE_CONTINUE;
}

static void
start_ticking (TetherRoom *self)
{
  double period = CLAMP (self->heartbeat_interval / 4, 0.01, 0.5);

  clear_source (self, &self->tick_id);
  self->heartbeat_due = g_get_monotonic_time () + USEC (self->heartbeat_interval);
  self->tick_id = add_timeout (self, period, tick_cb);
}

/* ---- lists ---------------------------------------------------------------------- */

static gboolean
find_by_id (GListStore *store,
            const char *id,
            guint      *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (store), i);
      const char *item_id = TETHER_IS_USER (item) ? tether_user_get_id (TETHER_USER (item))
                                                  : tether_stream_get_id (TETHER_STREAM (item));

      if (g_strcmp0 (item_id, id) == 0)
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

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

static void
emit_update (TetherRoom       *self,
             guint             signal,
             TetherUpdateType  update,
             GPtrArray        *items,
             const char       *reason)
{
  if (items->len == 0)
    return;
  if (signal == USER_UPDATE)
    g_signal_emit (self, signals[USER_UPDATE], 0, update, items);
  else
    g_signal_emit (self, signals[STREAM_UPDATE], 0, update, items, reason);
}

/* Applies one ADD or DELETE event to a list and reports what really changed. Our own
 * user and our own streams are never listed: the room shows the others. */
static void
apply_update (TetherRoom       *self,
              gboolean          is_user,
              TetherUpdateType  update,
              JsonArray        *array,
              const char       *reason)
{
  GListStore *store = is_user ? self->users : self->streams;
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) replaced = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autoptr(GObject) item = is_user ? G_OBJECT (user_from_json (node))
                                        : G_OBJECT (stream_from_json (node));
      const char *id, *owner;
      guint pos;

      if (item == NULL)
        continue;
      id = is_user ? tether_user_get_id (TETHER_USER (item))
                   : tether_stream_get_id (TETHER_STREAM (item));
      owner = is_user ? id : tether_stream_get_user_id (TETHER_STREAM (item));
      if (g_strcmp0 (owner, self->user_id) == 0)
        continue;

      if (update == TETHER_UPDATE_ADD)
        {
          if (find_by_id (store, id, &pos))
            {
              g_autoptr(GObject) old = g_list_model_get_item (G_LIST_MODEL (store), pos);

              if (!is_user && tether_stream_equal (TETHER_STREAM (old), TETHER_STREAM (item)))
                continue;
              if (is_user)
                continue;
              /* A stream that moved (another node, new owner) is a new stream to viewers. */
              g_list_store_remove (store, pos);
              g_ptr_array_add (replaced, g_steal_pointer (&old));
            }
          g_list_store_append (store, item);
          g_ptr_array_add (changed, g_steal_pointer (&item));
        }
      else if (find_by_id (store, id, &pos))
        {
          g_autoptr(GObject) old = g_list_model_get_item (G_LIST_MODEL (store), pos);

          g_list_store_remove (store, pos);
          g_ptr_array_add (changed, g_steal_pointer (&old));
        }
    }

  emit_update (self, is_user ? USER_UPDATE : STREAM_UPDATE, TETHER_UPDATE_DELETE, replaced,
               "replaced");
  emit_update (self, is_user ? USER_UPDATE : STREAM_UPDATE, update, changed, reason);
}

/* After a rejoin or a snapshot, makes a list equal to the server's and reports every
 * difference as DELETE then ADD, so nobody holds a stale list. */
static void
resync_list (TetherRoom *self,
             gboolean    is_user,
             JsonArray  *snapshot,
             const char *reason)
{
  GListStore *store = is_user ? self->users : self->streams;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(JsonArray) gone = json_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

  for (guint i = 0; snapshot != NULL && i < json_array_get_length (snapshot); i++)
    {
      JsonNode *node = json_array_get_element (snapshot, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *id = o ? tether_json_get_string (o, "id") : NULL;

      if (id != NULL)
        g_hash_table_insert (wanted, (gpointer) id, node);
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (store), i);
      g_autoptr(JsonBuilder) b = json_builder_new ();
      const char *id = is_user ? tether_user_get_id (TETHER_USER (item))
                               : tether_stream_get_id (TETHER_STREAM (item));

      if (g_hash_table_contains (wanted, id))
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, id);
      if (!is_user)
        {
          json_builder_set_member_name (b, "user_id");
          json_builder_add_string_value (b, tether_stream_get_user_id (TETHER_STREAM (item)));
        }
      json_builder_end_object (b);
      json_array_add_element (gone, json_builder_get_root (b));
    }

  apply_update (self, is_user, TETHER_UPDATE_DELETE, gone, reason);
  apply_update (self, is_user, TETHER_UPDATE_ADD, snapshot, reason);
}

/* ---- messages from the server ----------------------------------------------------- */

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
finish_episode (TetherRoom *self,
                gboolean    resumed,
                gboolean    succeeded)
{
  double downtime = (g_get_monotonic_time () - self->broken_at) / (double) G_USEC_PER_SEC;

  g_clear_object (&self->last_report);
  self->last_report = _tether_reconnect_report_new (self->cause, self->attempt, resumed,
                                                    succeeded, downtime);
  g_info ("room %s: reconnect episode: cause %s, %u attempts, %s, %.3f s", self->room_id,
          self->cause, self->attempt, succeeded ? (resumed ? "resumed" : "rejoined") : "failed",
          downtime);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_REPORT]);
  g_signal_emit (self, signals[RECONNECT_REPORT], 0, self->last_report);
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
      connection_broken (self, "closed");
      return;
    }

  self->awaiting_login_ok = FALSE;
  clear_source (self, &self->attempt_timeout_id);

  g_free (self->session_id);
  self->session_id = g_strdup (session_id);
  g_free (self->resume_key);
  self->resume_key = g_strdup (resume_key);
  if (g_strcmp0 (self->room_session_id, room_session_id) != 0)
    {
      g_free (self->room_session_id);
      self->room_session_id = g_strdup (room_session_id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM_SESSION_ID]);
    }
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

  start_ticking (self);

  if (was_reconnecting)
    {
      finish_episode (self, resumed, TRUE);
      set_state (self, TETHER_ROOM_STATE_RECONNECTED, 0, NULL);
    }
  else
    set_state (self, TETHER_ROOM_STATE_LOGINED, 0, NULL);

  if (!resumed || resync)
    {
      /* On the first login the lists arrive as plain ADDs; later, as a resync. */
      const char *reason = was_reconnecting ? "resync" : NULL;

      if (self->notify_users)
        resync_list (self, TRUE, tether_json_get_array (msg, "users"), reason);
      resync_list (self, FALSE, tether_json_get_array (msg, "streams"), reason);
    }

  /* Our streams went with the old session unless it was resumed. */
  send_local_streams (self, !resumed);
}

static void
handle_event (TetherRoom *self,
              JsonObject *msg)
{
  const char *kind = tether_json_get_string (msg, "kind");
  const char *update = tether_json_get_string (msg, "update");
  gint64 seq = 0;
  gboolean is_user;

  if (!tether_json_get_int (msg, "seq", &seq) || kind == NULL || update == NULL)
    return;
  /* Replayed events we already applied are skipped. */
  if (seq <= self->last_seq)
    return;
  self->last_seq = seq;

  is_user = g_str_equal (kind, "user");
  if (is_user && !self->notify_users)
    return;
  apply_update (self, is_user,
                g_str_equal (update, "ADD") ? TETHER_UPDATE_ADD : TETHER_UPDATE_DELETE,
                tether_json_get_array (msg, is_user ? "users" : "streams"),
                tether_json_get_string (msg, "reason"));
}

static LocalStream *
find_local_by_req (TetherRoom *self,
                   gint64      req)
{
  GHashTableIter iter;
  LocalStream *ls;

  g_hash_table_iter_init (&iter, self->local_streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ls))
    if (ls->req == req)
      return ls;
  return NULL;
}

static void
handle_request_reply (TetherRoom *self,
                      JsonObject *msg,
                      gboolean    ok)
{
  gint64 req = 0;
  LocalStream *ls;

  if (!tether_json_get_int (msg, "req", &req) || (ls = find_local_by_req (self, req)) == NULL)
    return;

  ls->req = 0;
  if (ok)
    {
      if (ls->task != NULL)
        {
          g_task_return_boolean (ls->task, TRUE);
          g_clear_object (&ls->task);
        }
      return;
    }
  else
    {
      gint64 code = TETHER_ERROR_PROTOCOL;
      const char *message = tether_json_get_string (msg, "message");
      GTask *task = g_steal_pointer (&ls->task);

      tether_json_get_int (msg, "code", &code);
      g_hash_table_remove (self->local_streams, ls->id);
      if (task != NULL)
        {
          g_task_return_new_error (task, TETHER_ERROR, (int) code, "%s",
                                   message ? message : "stream request refused");
          g_object_unref (task);
        }
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
  gint64 code = TETHER_ERROR_PROTOCOL;
  const char *message = tether_json_get_string (msg, "message");

  tether_json_get_int (msg, "code", &code);
  g_message ("room %s: server error %" G_GINT64_FORMAT ": %s", self->room_id, code,
             message ? message : "");

  if (!is_steady_login_error (code))
    {
      connection_broken (self, "closed");
      return;
    }
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, (int) code, message);
  else
    {
      if (self->state == TETHER_ROOM_STATE_RECONNECTING)
        finish_episode (self, FALSE, FALSE);
      set_state (self, TETHER_ROOM_STATE_RECONNECT_FAILED, (int) code, message);
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

      if (tether_json_get_int (msg, "id", &id) && id == self->heartbeat_id)
        {
          self->rtt = (g_get_monotonic_time () - self->heartbeat_sent) / 1000.0;
          self->probe_deadline = 0;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RTT]);
        }
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
      g_signal_emit (self, signals[TOKEN_WILL_EXPIRE], 0, (int) remaining);
    }
  else if (g_str_equal (type, "kick_out"))
    {
      gint64 code = TETHER_ERROR_KICKED;

      tether_json_get_int (msg, "code", &code);
      if (self->state == TETHER_ROOM_STATE_RECONNECTING)
        finish_episode (self, FALSE, FALSE);
      set_state (self, TETHER_ROOM_STATE_KICK_OUT, (int) code,
                 tether_json_get_string (msg, "message"));
    }
  else if (g_str_equal (type, "reconnect"))
    {
      if (tether_json_get_number (msg, "retry_after", &self->retry_after_hint))
        self->retry_after_hint = CLAMP (self->retry_after_hint, 0, MAX_RETRY_AFTER);
      connection_broken (self, "server-restart");
    }
  else if (g_str_equal (type, "logout_ok"))
    {
      if (self->logout_id != 0)
        set_state (self, TETHER_ROOM_STATE_LOGOUT, 0, NULL);
    }
  else if (g_str_equal (type, "error"))
    handle_error (self, msg);
}

static void
receive_text (TetherRoom *self,
              const char *data,
              gsize       len)
{
  g_autoptr(JsonObject) msg = NULL;
  g_autoptr(GError) error = NULL;

  msg = tether_protocol_parse (data, len, 64, &error);
  if (msg == NULL)
    {
      g_warning ("room %s: unreadable message from server: %s", self->room_id, error->message);
      return;
    }
  handle_message (self, msg);
}

static void
ws_message_cb (SoupWebsocketConnection *ws,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  g_autoptr(TetherRoom) self = g_object_ref (user_data);
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  self->last_rx = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  receive_text (self, data, len);
}

static void
ws_closed_cb (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherRoom *self = user_data;

  if (ws != self->ws)
    return;
  if (self->logout_id != 0)
    {
      /* The server closes right after logout_ok; a close without it still means the
       * server handled the logout if it sent 1000. */
      set_state (self,
                 soup_websocket_connection_get_close_code (ws) == SOUP_WEBSOCKET_CLOSE_NORMAL
                   ? TETHER_ROOM_STATE_LOGOUT : TETHER_ROOM_STATE_LOGOUT_FAILED,
                 soup_websocket_connection_get_close_code (ws) == SOUP_WEBSOCKET_CLOSE_NORMAL
                   ? 0 : TETHER_ERROR_LOGOUT_TIMEOUT, NULL);
      return;
    }
  connection_broken (self, "closed");
}

/* ---- connecting ------------------------------------------------------------------- */

static void
send_login (TetherRoom *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "login");
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, TETHER_PROTOCOL_VERSION);
  json_builder_set_member_name (b, "app_id");
  json_builder_add_string_value (b, self->app_id);
  json_builder_set_member_name (b, "room_id");
  json_builder_add_string_value (b, self->room_id);
  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, self->user_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, self->user_name);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, self->token);
  json_builder_set_member_name (b, "notify_users");
  json_builder_add_boolean_value (b, self->notify_users);
  if (self->session_id != NULL)
    {
      json_builder_set_member_name (b, "resume");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "session_id");
      json_builder_add_string_value (b, self->session_id);
      json_builder_set_member_name (b, "resume_key");
      json_builder_add_string_value (b, self->resume_key);
      json_builder_set_member_name (b, "last_seq");
      json_builder_add_int_value (b, self->last_seq);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  send_builder (self, b);
}

static void
websocket_connect_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(TetherRoom) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->connect_cancellable);
  if (ws == NULL)
    {
      g_debug ("room %s: connect failed: %s", self->room_id, error->message);
      connection_broken (self, "closed");
      return;
    }

  self->ws = g_steal_pointer (&ws);
  self->last_rx = g_get_monotonic_time ();
  self->awaiting_login_ok = TRUE;
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, 16 * 1024 * 1024);
  g_signal_connect (self->ws, "message", G_CALLBACK (ws_message_cb), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (ws_closed_cb), self);
  send_login (self);
}

static gboolean
attempt_timeout_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->attempt_timeout_id = 0;
  g_debug ("room %s: attempt %u timed out", self->room_id, self->attempt);
  connection_broken (self, "closed");
  return G_SOURCE_REMOVE;
}

static void
connect_now (TetherRoom *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  double attempt_timeout;

  drop_connection (self);
  clear_source (self, &self->retry_id);

  msg = soup_message_new (SOUP_METHOD_GET, self->server_url);
  if (msg == NULL)
    {
      set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_INVALID_ARGUMENT,
                 "the server URL is not valid");
      return;
    }

  set_attempt (self, self->attempt + 1);

  /* A connect that hangs (a blackholed route) must not eat the whole window. */
  attempt_timeout = MAX (2 * link_timeout (self), 1.0);
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    attempt_timeout = MIN (attempt_timeout, self->timing.login_timeout);
  self->attempt_timeout_id = add_timeout (self, attempt_timeout, attempt_timeout_cb);

  self->connect_cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connect_cancellable, websocket_connect_cb,
                                        g_object_ref (self));
}

static gboolean
retry_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->retry_id = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* Exponential backoff from backoff_min, capped at backoff_max so a restored network
 * is used within about a second, with jitter so many clients do not move in step. */
static double
next_delay (TetherRoom *self)
{
  double delay = self->timing.backoff_min * (1u << MIN (self->attempt, 10u));

  delay = MIN (delay, self->timing.backoff_max);
  delay *= g_random_double_range (0.5, 1.0);
  if (self->retry_after_hint > 0)
    {
      /* A server going away spreads its clients over its hint. */
      delay = g_random_double_range (0.1, 1.0) * self->retry_after_hint;
      self->retry_after_hint = 0;
    }
  return delay;
}

static void
schedule_retry (TetherRoom *self)
{
  double delay = next_delay (self);

  clear_source (self, &self->retry_id);
  self->retry_id = add_timeout (self, delay, retry_cb);
}

static gboolean
window_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->window_id = 0;
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_LOGIN_TIMEOUT,
               "the server could not be reached");
  else if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    {
      finish_episode (self, FALSE, FALSE);
      set_state (self, TETHER_ROOM_STATE_RECONNECT_FAILED, TETHER_ERROR_RECONNECT_TIMEOUT,
                 "the retry window ended");
    }
  return G_SOURCE_REMOVE;
}

/* Called for every failure of the link or of an attempt: the first one after a
 * working session starts an episode and its retry window; later ones back off. */
static void
connection_broken (TetherRoom *self,
                   const char *cause)
{
  drop_connection (self);

  if (is_final_state (self->state))
    return;

  if (is_connected_state (self->state))
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      self->broken_at = g_get_monotonic_time ();
      self->attempt = 0;
      set_state (self, TETHER_ROOM_STATE_RECONNECTING, TETHER_ERROR_NETWORK, cause);
      self->window_id = add_timeout (self, self->timing.retry_time, window_cb);
      /* The first attempt goes at once unless the server asked us to spread out. */
      if (self->retry_after_hint > 0)
        schedule_retry (self);
      else
        connect_now (self);
      return;
    }

  schedule_retry (self);
}

/* ---- public API ------------------------------------------------------------------- */

static gboolean
start_login_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->start_id = 0;
  self->attempt = 0;
  set_state (self, TETHER_ROOM_STATE_LOGINING, 0, NULL);

  /* What the server would refuse anyway fails here, at once and with the reason. */
  if (!tether_protocol_valid_id (self->room_id))
    {
      set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_ROOM_ID_INVALID,
                 "room ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -");
      return G_SOURCE_REMOVE;
    }
  if (!tether_protocol_valid_id (self->user_id) || !tether_protocol_valid_name (self->user_name))
    {
      set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_USER_ID_INVALID,
                 "user ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -, names at most "
                 "256 bytes without control characters");
      return G_SOURCE_REMOVE;
    }
  if (!tether_token_is_well_formed (self->token))
    {
      set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_TOKEN_INVALID,
                 "the token is not in the form payload.signature");
      return G_SOURCE_REMOVE;
    }

  self->window_id = add_timeout (self, self->timing.login_timeout, window_cb);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* Login starts from the main loop, so whoever asked for it has connected to the
 * signals by the time LOGINING is emitted. */
void
_tether_room_login (TetherRoom *self)
{
  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (self->start_id == 0);

  self->start_id = add_timeout (self, 0, start_login_cb);
}

/**
 * _tether_room_network_changed:
 *
 * The network changed, the machine woke up or the user asked: a room that is
 * retrying tries at once; a room that looks connected proves its link with an
 * immediate heartbeat that must be answered within a second.
 */
void
_tether_room_network_changed (TetherRoom *self,
                              const char *cause)
{
  g_return_if_fail (TETHER_IS_ROOM (self));

  if (self->state == TETHER_ROOM_STATE_RECONNECTING
      || (self->state == TETHER_ROOM_STATE_LOGINING && self->ws == NULL))
    {
      g_debug ("room %s: %s, retrying now", self->room_id, cause);
      connect_now (self);
    }
  else if (is_connected_state (self->state) && self->ws != NULL)
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      self->probe_deadline = g_get_monotonic_time () + USEC (MIN (1.0, link_timeout (self)));
      send_heartbeat (self);
    }
}

void
tether_room_reconnect_now (TetherRoom *self)
{
  _tether_room_network_changed (self, "reconnect-now");
}

static gboolean
logout_timeout_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->logout_id = 0;
  set_state (self, TETHER_ROOM_STATE_LOGOUT_FAILED, TETHER_ERROR_LOGOUT_TIMEOUT,
             "the server did not confirm the logout");
  return G_SOURCE_REMOVE;
}

/**
 * tether_room_logout:
 *
 * Leaves the room. The state becomes LOGOUT once the server confirmed, or
 * LOGOUT_FAILED when it could not be told (the server then removes the user when
 * its heartbeat timeout runs out). Either way the room retries nothing after this.
 */
void
tether_room_logout (TetherRoom *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_if_fail (TETHER_IS_ROOM (self));

  if (self->logout_id != 0)
    return;
  if (self->start_id != 0)
    {
      clear_source (self, &self->start_id);
      return;
    }
  if (self->state == TETHER_ROOM_STATE_LOGOUT)
    return;
  if (is_final_state (self->state) || self->state == TETHER_ROOM_STATE_LOGINING)
    {
      set_state (self, TETHER_ROOM_STATE_LOGOUT, 0, NULL);
      return;
    }
  if (!is_connected_state (self->state) || self->ws == NULL)
    {
      set_state (self, TETHER_ROOM_STATE_LOGOUT_FAILED, TETHER_ERROR_NETWORK,
                 "not connected: the server will drop the session after its heartbeat timeout");
      return;
    }

  clear_source (self, &self->tick_id);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "logout");
  json_builder_end_object (b);
  send_builder (self, b);
  self->logout_id = add_timeout (self, self->timing.logout_timeout, logout_timeout_cb);
}

void
tether_room_renew_token (TetherRoom *self,
                         const char *token)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (token != NULL);

  /* Not a token at all: the server would refuse it, and the session keeps the one
   * it has (until it expires, as after any refused renewal). */
  if (!tether_token_is_well_formed (token))
    {
      g_info ("room %s: not renewing with a malformed token", self->room_id);
      return;
    }

  g_free (self->token);
  self->token = g_strdup (token);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "token_renew");
  json_builder_set_member_name (b, "req");
  json_builder_add_int_value (b, ++self->next_req);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token);
  json_builder_end_object (b);
  send_builder (self, b);
}

const char *
tether_room_get_token (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->token;
}

static void
send_stream_add (TetherRoom  *self,
                 LocalStream *ls)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  ls->req = ++self->next_req;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "stream_add");
  json_builder_set_member_name (b, "req");
  json_builder_add_int_value (b, ls->req);
  json_builder_set_member_name (b, "stream");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, ls->id);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, ls->node);
  json_builder_set_member_name (b, "extra");
  json_builder_add_string_value (b, ls->extra);
  json_builder_end_object (b);
  json_builder_end_object (b);
  send_builder (self, b);
}

static void
send_local_streams (TetherRoom *self,
                    gboolean    all)
{
  GHashTableIter iter;
  LocalStream *ls;

  g_hash_table_iter_init (&iter, self->local_streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ls))
    if (all || ls->req != 0 || ls->task != NULL)
      send_stream_add (self, ls);
}

/**
 * tether_room_add_stream_async:
 * @node: (nullable): the media node id the stream is published on
 * @extra: (nullable): application data shown to viewers
 *
 * Announces a stream of this user. The room announces it again by itself after a
 * rejoin. Completes when the server accepted it (it waits through a reconnect).
 */
void
tether_room_add_stream_async (TetherRoom          *self,
                              const char          *stream_id,
                              const char          *node,
                              const char          *extra,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LocalStream *ls;

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (stream_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_room_add_stream_async);

  if (!tether_protocol_valid_id (stream_id))
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_STREAM_ID_INVALID,
                               "stream ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -");
      return;
    }
  if (is_final_state (self->state))
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                               "not in the room");
      return;
    }

  ls = g_new0 (LocalStream, 1);
  ls->id = g_strdup (stream_id);
  ls->node = g_strdup (node ? node : "");
  ls->extra = g_strdup (extra ? extra : "");
  ls->task = g_steal_pointer (&task);
  g_hash_table_replace (self->local_streams, ls->id, ls);

  if (is_connected_state (self->state))
    send_stream_add (self, ls);
}

gboolean
tether_room_add_stream_finish (TetherRoom    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tether_room_delete_stream:
 * @reason: (nullable): why, e.g. "stopped" (the default) or "media_lost"
 *
 * Withdraws a stream this user announced.
 */
void
tether_room_delete_stream (TetherRoom *self,
                           const char *stream_id,
                           const char *reason)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (stream_id != NULL);

  if (!g_hash_table_remove (self->local_streams, stream_id))
    return;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "stream_delete");
  json_builder_set_member_name (b, "req");
  json_builder_add_int_value (b, ++self->next_req);
  json_builder_set_member_name (b, "stream_id");
  json_builder_add_string_value (b, stream_id);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason ? reason : "stopped");
  json_builder_end_object (b);
  send_builder (self, b);
}

const char *
tether_room_get_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->room_id;
}

const char *
tether_room_get_user_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->user_id;
}

TetherRoomState
tether_room_get_state (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), TETHER_ROOM_STATE_LOGOUT);
  return self->state;
}

int
tether_room_get_error_code (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->error_code;
}

const char *
tether_room_get_room_session_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->room_session_id;
}

const char *
tether_room_get_server_url (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->server_url;
}

/**
 * tether_room_get_users:
 *
 * Returns: (transfer none): a #GListModel of #TetherUser: the others in the room
 *   (only filled when the room was joined with user notifications)
 */
GListModel *
tether_room_get_users (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return G_LIST_MODEL (self->users);
}

/**
 * tether_room_get_streams:
 *
 * Returns: (transfer none): a #GListModel of #TetherStream: the others' streams
 */
GListModel *
tether_room_get_streams (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return G_LIST_MODEL (self->streams);
}

/**
 * tether_room_get_attempt:
 *
 * Returns: the number of the connection attempt in progress or last made
 */
guint
tether_room_get_attempt (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->attempt;
}

/**
 * tether_room_get_retry_remaining:
 *
 * Returns: seconds left in the retry window while RECONNECTING, else 0
 */
double
tether_room_get_retry_remaining (TetherRoom *self)
{
  double elapsed;

  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);

  if (self->state != TETHER_ROOM_STATE_RECONNECTING)
    return 0;
  elapsed = (g_get_monotonic_time () - self->broken_at) / (double) G_USEC_PER_SEC;
  return MAX (0, self->timing.retry_time - elapsed);
}

/**
 * tether_room_get_rtt:
 *
 * Returns: the last heartbeat round-trip time in milliseconds
 */
double
tether_room_get_rtt (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->rtt;
}

gint64
tether_room_get_token_expires_at (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->token_expires_at;
}

/**
 * tether_room_get_last_report:
 *
 * Returns: (transfer none) (nullable): the report of the last reconnect episode
 */
TetherReconnectReport *
tether_room_get_last_report (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->last_report;
}

/**
 * tether_room_get_media_node_url:
 *
 * Returns: (nullable): the SRT URL of a media node from the login reply
 */
const char *
tether_room_get_media_node_url (TetherRoom *self,
                                const char *node_id)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return g_hash_table_lookup (self->media_nodes, node_id);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * tether_room_dup_media_node_ids:
 *
 * Returns: (transfer full): the media node ids, sorted
 */
char **
tether_room_dup_media_node_ids (TetherRoom *self)
{
  g_autofree const char **keys = NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);

  keys = (const char **) g_hash_table_get_keys_as_array (self->media_nodes, &n);
  g_qsort_with_data (keys, n, sizeof (char *), compare_strings, NULL);
  for (guint i = 0; i < n; i++)
    g_strv_builder_add (b, keys[i]);
  return g_strv_builder_end (b);
}

/**
 * tether_room_dup_login_options:
 * @self: a room
 *
 * What this room logged in with, and the token it holds now (the last one given to
 * [method@Tether.Room.renew_token]): change the room id and log in again to switch
 * rooms, as [method@Tether.Engine.switch_room] does.
 *
 * Returns: (transfer full): new login options
 */
TetherLoginOptions *
tether_room_dup_login_options (TetherRoom *self)
{
  TetherLoginOptions *login;

  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);

  login = tether_login_options_new ();
  tether_login_options_set_server_url (login, self->server_url);
  tether_login_options_set_app_id (login, self->app_id);
  tether_login_options_set_room_id (login, self->room_id);
  tether_login_options_set_user_id (login, self->user_id);
  tether_login_options_set_user_name (login, self->user_name);
  tether_login_options_set_token (login, self->token);
  tether_login_options_set_notify_users (login, self->notify_users);
  return login;
}

const char *
tether_room_state_to_string (TetherRoomState state)
{
  static const char * const names[] = {
    "LOGINING", "LOGINED", "LOGIN_FAILED", "RECONNECTING", "RECONNECTED",
    "RECONNECT_FAILED", "KICK_OUT", "LOGOUT", "LOGOUT_FAILED",
  };

  if ((guint) state < G_N_ELEMENTS (names))
    return names[state];
  return "UNKNOWN";
}

const char *
tether_update_type_to_string (TetherUpdateType update)
{
  return update == TETHER_UPDATE_ADD ? "ADD" : "DELETE";
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
  set_state (self, TETHER_ROOM_STATE_LOGINING, 0, NULL);
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
  receive_text (self, data, len);
}

/* ---- GObject ---------------------------------------------------------------------- */

static void
tether_room_dispose (GObject *object)
{
  TetherRoom *self = TETHER_ROOM (object);

  drop_connection (self);
  clear_source (self, &self->start_id);
  clear_source (self, &self->retry_id);
  clear_source (self, &self->window_id);
  clear_source (self, &self->logout_id);
  g_clear_pointer (&self->local_streams, g_hash_table_unref);
  g_clear_object (&self->session);
  g_clear_object (&self->last_report);

  G_OBJECT_CLASS (tether_room_parent_class)->dispose (object);
}

static void
tether_room_finalize (GObject *object)
{
  TetherRoom *self = TETHER_ROOM (object);

  g_free (self->server_url);
  g_free (self->app_id);
  g_free (self->room_id);
  g_free (self->user_id);
  g_free (self->user_name);
  g_free (self->token);
  g_free (self->session_id);
  g_free (self->resume_key);
  g_free (self->room_session_id);
  g_free (self->cause);
  g_hash_table_unref (self->media_nodes);
  g_object_unref (self->users);
  g_object_unref (self->streams);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_room_parent_class)->finalize (object);
}

static void
tether_room_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TetherRoom *self = TETHER_ROOM (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->room_id); break;
    case PROP_USER_ID: g_value_set_string (value, self->user_id); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_ERROR_CODE: g_value_set_int (value, self->error_code); break;
    case PROP_ROOM_SESSION_ID: g_value_set_string (value, self->room_session_id); break;
    case PROP_SERVER_URL: g_value_set_string (value, self->server_url); break;
    case PROP_USERS: g_value_set_object (value, self->users); break;
    case PROP_STREAMS: g_value_set_object (value, self->streams); break;
    case PROP_ATTEMPT: g_value_set_uint (value, self->attempt); break;
    case PROP_RTT: g_value_set_double (value, self->rtt); break;
    case PROP_LAST_REPORT: g_value_set_object (value, self->last_report); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_room_class_init (TetherRoomClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_room_dispose;
  object_class->finalize = tether_room_finalize;
  object_class->get_property = tether_room_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_USER_ID] = g_param_spec_string ("user-id", NULL, NULL, NULL, flags);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_ROOM_STATE,
                                              TETHER_ROOM_STATE_LOGOUT, flags);
  properties[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, 0, G_MAXINT, 0, flags);
  properties[PROP_ROOM_SESSION_ID] = g_param_spec_string ("room-session-id", NULL, NULL, NULL,
                                                          flags);
  properties[PROP_SERVER_URL] = g_param_spec_string ("server-url", NULL, NULL, NULL, flags);
  properties[PROP_USERS] = g_param_spec_object ("users", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  properties[PROP_STREAMS] = g_param_spec_object ("streams", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  properties[PROP_ATTEMPT] = g_param_spec_uint ("attempt", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_RTT] = g_param_spec_double ("rtt", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  properties[PROP_LAST_REPORT] = g_param_spec_object ("last-report", NULL, NULL,
                                                      TETHER_TYPE_RECONNECT_REPORT, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherRoom::state-changed:
   * @reason: the new #TetherRoomState
   * @error_code: a #TetherError code, 0 when none
   * @extended_data: a JSON object; always has "room_session_id"
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_ROOM_STATE, G_TYPE_INT, G_TYPE_STRING);
  /**
   * TetherRoom::user-update:
   * @update: ADD or DELETE
   * @users: (element-type TetherUser): the users
   */
  signals[USER_UPDATE] =
    g_signal_new ("user-update", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, TETHER_TYPE_UPDATE_TYPE, G_TYPE_PTR_ARRAY);
  /**
   * TetherRoom::stream-update:
   * @update: ADD or DELETE
   * @streams: (element-type TetherStream): the streams
   * @reason: (nullable): for a DELETE, why: "stopped", "heartbeat_timeout", ...
   */
  signals[STREAM_UPDATE] =
    g_signal_new ("stream-update", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, TETHER_TYPE_UPDATE_TYPE, G_TYPE_PTR_ARRAY,
                  G_TYPE_STRING);
  /**
   * TetherRoom::token-will-expire:
   * @remaining: seconds until the token expires; call tether_room_renew_token()
   */
  signals[TOKEN_WILL_EXPIRE] =
    g_signal_new ("token-will-expire", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  /**
   * TetherRoom::reconnect-report:
   * @report: how the episode that just ended went
   */
  signals[RECONNECT_REPORT] =
    g_signal_new ("reconnect-report", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_RECONNECT_REPORT);
}

static void
tether_room_init (TetherRoom *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->state = TETHER_ROOM_STATE_LOGOUT;
  self->heartbeat_interval = 1.0;
  self->users = g_list_store_new (TETHER_TYPE_USER);
  self->streams = g_list_store_new (TETHER_TYPE_STREAM);
  self->local_streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, local_stream_free);
  self->media_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

TetherRoom *
_tether_room_new (SoupSession            *session,
                  const TetherRoomTiming *timing,
                  TetherLoginOptions     *login)
{
  TetherRoom *self = g_object_new (TETHER_TYPE_ROOM, NULL);
  const char *user_name = tether_login_options_get_user_name (login);
  const char *token = tether_login_options_get_token (login);

  self->session = g_object_ref (session);
  self->timing = *timing;
  self->server_url = g_strdup (tether_login_options_get_server_url (login));
  self->app_id = g_strdup (tether_login_options_get_app_id (login));
  self->room_id = g_strdup (tether_login_options_get_room_id (login));
  self->user_id = g_strdup (tether_login_options_get_user_id (login));
  self->user_name = g_strdup (user_name ? user_name : self->user_id);
  self->token = g_strdup (token ? token : "");
  self->notify_users = tether_login_options_get_notify_users (login);

  return self;
}
