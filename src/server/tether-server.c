/* tether-server.c: TetherServer — the room service object: configuration, HTTP and
 * WebSocket endpoints, connections, the protocol messages and the periodic sweep
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <malloc.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-server-private.h"

#define USEC TETHER_SERVER_USEC
#define BUCKET_PRUNE_INTERVAL (10 * G_USEC_PER_SEC)
#define TRIM_INTERVAL (30 * G_USEC_PER_SEC)
#define CLOSE_GRACE (2 * G_USEC_PER_SEC)

typedef struct
{
  double tokens;
  gint64 stamp;
} LoginBucket;

G_DEFINE_FINAL_TYPE (TetherServer, tether_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_APP_ID,
  PROP_APP_SECRET,
  PROP_HEARTBEAT_TIMEOUT,
  PROP_HEARTBEAT_INTERVAL,
  PROP_SESSION_TTL,
  PROP_TOKEN_SKEW,
  PROP_TOKEN_WARNING,
  PROP_MAX_FRAME_SIZE,
  PROP_MAX_DEPTH,
  PROP_LOGIN_RATE,
  PROP_LOGIN_BURST,
  PROP_EVENT_BACKLOG,
  PROP_EVENT_BACKLOG_BYTES,
  PROP_LOGIN_GRACE,
  PROP_REQUEST_TIMEOUT,
  PROP_MAX_CONNECTIONS_PER_ADDRESS,
  PROP_MAX_SEND_QUEUE,
  PROP_MAX_STREAMS_PER_SESSION,
  PROP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Logging */

/**
 * tether_server_log:
 *
 * Logs through GLib structured logging with the session's room, user and session
 * ids as fields. Callers never pass tokens, resume keys or secrets.
 */
void
tether_server_log (GLogLevelFlags       level,
                   TetherServerSession *session,
                   const char          *format,
                   ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (g_log_writer_default_would_drop (level, G_LOG_DOMAIN))
    return;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (session != NULL)
    g_log_structured (G_LOG_DOMAIN, level,
                      "TETHER_ROOM_ID", session->room->id,
                      "TETHER_USER_ID", session->user_id,
                      "TETHER_SESSION_ID", session->id,
                      "MESSAGE", "[room=%s user=%s session=%.8s] %s",
                      session->room->id, session->user_id, session->id, text);
  else
    g_log_structured (G_LOG_DOMAIN, level, "MESSAGE", "%s", text);
}

/* Connections */

/* What libsoup still holds for the peer: handed over minus written. */
static guint64
conn_send_queue (TetherServerConn *conn)
{
  guint64 written = tether_guard_stream_get_bytes_out (conn->guard) - conn->written_base;

  /* libsoup's own frames (pong, close) count as written too. */
  return conn->queued_out > written ? conn->queued_out - written : 0;
}

void
tether_server_conn_send (TetherServerConn *conn,
                         const char       *json)
{
  guint64 queued;
  gsize len;

  if (conn->state == TETHER_SERVER_CONN_CLOSING
      || soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;

  /* A peer that does not read would make libsoup queue without end. Past the bound
   * it is dropped; its session stays, to be resumed or timed out like any other.
   * A message always goes when nothing is queued: a big room's snapshot may be
   * larger than the bound on its own. */
  len = strlen (json);
  queued = conn_send_queue (conn);
  if (queued > 0 && queued + len > conn->server->max_send_queue)
    {
      conn->server->stats.slow_consumers++;
      tether_server_log (G_LOG_LEVEL_INFO, conn->session,
                         "dropping the connection from %s: over %u bytes queued, it does not read",
                         conn->address, conn->server->max_send_queue);
      tether_server_conn_close (conn, TETHER_CLOSE_SLOW_CONSUMER, "send queue full");
      return;
    }
  conn->queued_out += len + (len < 126 ? 2 : len <= G_MAXUINT16 ? 4 : 10);
  soup_websocket_connection_send_text (conn->ws, json);
}

/* Sends a message from tether-message.c's builders and frees it. */
void
tether_server_conn_send_message (TetherServerConn *conn,
                                 char             *json)
{
  tether_server_conn_send (conn, json);
  g_free (json);
}

/* Unhooks the connection from its session without touching the session. */
void
tether_server_conn_detach (TetherServerConn *conn)
{
  if (conn->session != NULL)
    {
      conn->session->conn = NULL;
      conn->session = NULL;
    }
}

static void
conn_mark_closing (TetherServerConn *conn)
{
  if (conn->state == TETHER_SERVER_CONN_PENDING)
    g_queue_unlink (&conn->server->pending, &conn->pending_link);
  conn->state = TETHER_SERVER_CONN_CLOSING;
  tether_server_conn_detach (conn);
}

/* A close handshake gets CLOSE_GRACE to finish; then the sweep cuts the socket. Left
 * to itself, libsoup 3.2 gives up after 5 s and leaks its timeout source each time,
 * which any peer could trigger by never answering a close. */
static void
conn_await_close (TetherServerConn *conn)
{
  if (conn->close_deadline != 0)
    return;
  conn->close_deadline = g_get_monotonic_time () + CLOSE_GRACE;
  conn->closing_link.data = conn;
  g_queue_push_tail_link (&conn->server->closing, &conn->closing_link);
}

/* Starts a close handshake; the session (if any) stays as it is. */
void
tether_server_conn_close (TetherServerConn *conn,
                          gushort           code,
                          const char       *reason)
{
  if (conn->state == TETHER_SERVER_CONN_CLOSING)
    return;
  conn_mark_closing (conn);
  if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      soup_websocket_connection_close (conn->ws, code, reason);
      conn_await_close (conn);
    }
}

/* Cuts a connection that is probably dead without waiting for a close handshake:
 * shutting the socket down makes libsoup read EOF and tear itself down at once. */
void
tether_server_conn_kill (TetherServerConn *conn)
{
  conn_mark_closing (conn);
  if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_CLOSED)
    return;
  if (conn->socket != NULL)
    g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
  else
    g_io_stream_close_async (soup_websocket_connection_get_io_stream (conn->ws),
                             G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static void
conn_free (TetherServerConn *conn)
{
  TetherServer *self = conn->server;

  if (conn->state == TETHER_SERVER_CONN_PENDING)
    g_queue_unlink (&self->pending, &conn->pending_link);
  if (conn->close_deadline != 0)
    g_queue_unlink (&self->closing, &conn->closing_link);
  tether_server_conn_detach (conn);
  g_queue_unlink (&self->conns, &conn->link);
  g_signal_handlers_disconnect_by_data (conn->ws, conn);
  g_clear_object (&conn->ws);
  g_clear_object (&conn->socket);
  g_clear_object (&conn->guard);
  g_free (conn->address);
  g_free (conn);
}

/* A fatal error: `error` message, then close. */
static void
conn_fail (TetherServerConn *conn,
           int               code,
           const char       *message,
           gushort           close_code)
{
  tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "closing connection from %s: %s (%d)",
                     conn->address, message, code);
  tether_server_conn_send_message (conn, tether_message_build_error (code, message));
  tether_server_conn_close (conn, close_code, tether_error_code_to_string (code));
}

/* Bad input from the network: counted, answered, closed. Nothing else is touched. */
static void
conn_reject (TetherServerConn *conn,
             int               code,
             const char       *message)
{
  conn->server->stats.rejected_inputs++;
  conn_fail (conn, code, message, TETHER_CLOSE_PROTOCOL);
}

static void
conn_fail_login (TetherServerConn *conn,
                 int               code,
                 const char       *message,
                 gushort           close_code)
{
  conn->server->stats.login_failures++;
  conn_fail (conn, code, message, close_code);
}

static void
conn_kick (TetherServerConn *conn,
           int               code,
           const char       *message)
{
  tether_server_conn_send_message (conn, tether_message_build_kick_out (code, message));
  tether_server_conn_close (conn, TETHER_CLOSE_KICKED, tether_error_code_to_string (code));
}

static void
send_request_error (TetherServerConn *conn,
                    gint64            req,
                    int               code,
                    const char       *message)
{
  tether_server_conn_send_message (conn, tether_message_build_request_error (req, code, message));
}

/* Login */

static gboolean
login_rate_allows (TetherServer *self,
                   const char   *address)
{
  LoginBucket *bucket;
  double burst = MAX (self->login_burst, 1.0);
  gint64 now;

  if (self->login_rate <= 0)
    return TRUE;

  now = g_get_monotonic_time ();
  bucket = g_hash_table_lookup (self->login_buckets, address);
  if (bucket == NULL)
    {
      bucket = g_new (LoginBucket, 1);
      bucket->tokens = burst;
      g_hash_table_insert (self->login_buckets, g_strdup (address), bucket);
    }
  else
    {
      bucket->tokens = MIN (burst, bucket->tokens + (now - bucket->stamp) / (double) G_USEC_PER_SEC * self->login_rate);
    }
  bucket->stamp = now;

  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

static void
prune_login_buckets (TetherServer *self,
                     gint64        now)
{
  GHashTableIter iter;
  gpointer value;
  double burst = MAX (self->login_burst, 1.0);

  g_hash_table_iter_init (&iter, self->login_buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LoginBucket *bucket = value;

      /* A full bucket holds no information: forget it. */
      if (self->login_rate <= 0
          || bucket->tokens + (now - bucket->stamp) / (double) G_USEC_PER_SEC * self->login_rate >= burst)
        g_hash_table_iter_remove (&iter);
    }
  self->last_bucket_prune = now;
}

static void
send_login_ok (TetherServer        *self,
               TetherServerSession *session,
               gboolean             resumed,
               gboolean             resync)
{
  TetherServerRoom *room = session->room;
  g_autofree TetherMessageUser *users = g_new (TetherMessageUser, MAX (room->members.length, 1));
  g_autofree TetherMessageStream *streams = g_new (TetherMessageStream, MAX (room->streams.length, 1));
  g_autofree TetherMessageMediaNode *nodes = g_new (TetherMessageMediaNode, MAX (self->media_nodes->len, 1));
  TetherLoginOkMessage m = {
    .room_session_id = room->room_session_id,
    .session_id = session->id,
    .resume_key = session->resume_key,
    .resumed = resumed,
    .resync = resync,
    .seq = (gint64) room->seq,
    .users = users,
    .streams = streams,
    .heartbeat_interval = self->heartbeat_interval,
    .heartbeat_timeout = self->heartbeat_timeout,
    .session_ttl = self->session_ttl,
    .token_expires_at = session->claims->expires_at,
    .media_nodes = nodes,
  };

  if (session->notify_users)
    {
      for (GList *l = room->members.head; l != NULL; l = l->next)
        if (l->data != session)
          users[m.n_users++] = tether_server_session_to_message (l->data);
    }
  for (GList *l = room->streams.head; l != NULL; l = l->next)
    streams[m.n_streams++] = tether_server_stream_to_message (l->data);
  for (guint i = 0; i < self->media_nodes->len; i++)
    {
      TetherServerMediaNode *node = g_ptr_array_index (self->media_nodes, i);

      nodes[m.n_media_nodes++] = (TetherMessageMediaNode) { node->id, node->url };
    }

  tether_server_conn_send_message (session->conn, tether_message_build_login_ok (&m));
}

/* Checks a token against the login it is used for. Returns the claims, or
 * %NULL with a TETHER_ERROR code for the client: a valid token that does not
 * open this room for this user is 1006, as docs/errors.md says. */
static TetherTokenClaims *
check_token (TetherServer  *self,
             const char    *token,
             const char    *room_id,
             const char    *user_id,
             GError       **error)
{
  g_autoptr(TetherTokenClaims) claims = NULL;

  claims = tether_token_verify (token, self->app_secret, self->app_id,
                                g_get_real_time () / G_USEC_PER_SEC,
                                (gint64) self->token_skew, error);
  if (claims == NULL)
    return NULL;
  if (g_strcmp0 (claims->user_id, user_id) != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token is for another user");
      return NULL;
    }
  if (claims->room_id != NULL && g_strcmp0 (claims->room_id, room_id) != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token is for another room");
      return NULL;
    }
  if (!(claims->privileges & TETHER_PRIVILEGE_LOGIN))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token lacks the login privilege");
      return NULL;
    }

  return g_steal_pointer (&claims);
}

/* Case 1: the session never left the room. Others see nothing; the client gets
 * what it missed from the ring, or a full snapshot when the ring has moved on. */
static void
login_resume_present (TetherServer        *self,
                      TetherServerConn    *conn,
                      TetherServerSession *session,
                      TetherTokenClaims   *claims,
                      guint64              last_seq)
{
  TetherServerConn *old = session->conn;
  gboolean resync;

  if (old != NULL)
    {
      tether_server_conn_detach (old);
      tether_server_conn_kill (old);
    }
  tether_server_session_set_claims (self, session, claims);
  tether_server_session_attach (self, session, conn);
  tether_server_session_touch (self, session);

  resync = !tether_server_room_can_replay (session->room, last_seq);
  send_login_ok (self, session, TRUE, resync);
  if (!resync)
    tether_server_room_replay (self, session, last_seq);

  self->stats.resumes++;
  tether_server_log (G_LOG_LEVEL_INFO, session, "resumed from %s (last_seq %" G_GUINT64_FORMAT
                     ", room seq %" G_GUINT64_FORMAT "%s)", conn->address, last_seq,
                     session->room->seq, resync ? ", resync" : "");
}

static void
login_fresh (TetherServer      *self,
             TetherServerConn  *conn,
             const char        *room_id,
             const char        *user_id,
             const char        *user_name,
             gboolean           notify_users,
             TetherTokenClaims *claims,
             gboolean           rejoin)
{
  TetherServerRoom *room = tether_server_room_acquire (self, room_id);
  TetherServerSession *existing = g_hash_table_lookup (room->by_user, user_id);
  TetherServerSession *session;

  session = tether_server_session_new (self, room, user_id, user_name, notify_users, claims);
  tether_server_room_release (self, room);

  if (existing != NULL)
    {
      TetherServerConn *old = existing->conn;

      /* Duplicate login. Viewers must see the old streams go before anything
       * else happens, then the old connection learns why it is being dropped.
       * The user itself never leaves the room, so there is no user DELETE/ADD. */
      tether_server_session_delete_streams (self, existing, TETHER_REASON_DUPLICATE_LOGIN);
      if (old != NULL)
        {
          tether_server_conn_detach (old);
          conn_kick (old, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
        }
      tether_server_session_join (self, session, existing);
      existing->kicked = TRUE;
      tether_server_session_retire (self, existing, g_get_monotonic_time () + USEC (self->session_ttl));
      self->stats.kicks++;
      tether_server_log (G_LOG_LEVEL_INFO, existing, "kicked out: logged in elsewhere");
    }
  else
    tether_server_session_join (self, session, NULL);

  tether_server_session_attach (self, session, conn);
  send_login_ok (self, session, FALSE, FALSE);
  /* The joiner first, then the fan-out: it need not wait for a thousand sends. Its
   * snapshot's seq is just before its own ADD, which it never receives. */
  if (existing == NULL)
    tether_server_room_emit_user (self, room, TETHER_UPDATE_ADD, session);
  self->stats.logins++;
  if (rejoin)
    self->stats.rejoins++;
  tether_server_log (G_LOG_LEVEL_INFO, session, "logged in from %s%s", conn->address,
                     rejoin ? " (rejoin after timeout)" : "");
}

static void
handle_login (TetherServer     *self,
              TetherServerConn *conn,
              JsonObject       *msg)
{
  g_autoptr(TetherTokenClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  TetherLoginMessage login;
  gboolean well_formed;
  gboolean rejoin = FALSE;

  if (!login_rate_allows (self, conn->address))
    {
      conn_fail_login (conn, TETHER_ERROR_RATE_LIMITED, "too many logins from this address",
                       TETHER_CLOSE_RATE_LIMITED);
      return;
    }

  /* A field that breaks the protocol's rules closes with 4400 and the field's own
   * code; a well-formed login that is not allowed closes with 4401. The fields are
   * checked in order and an app id is known good once read, so a foreign app is
   * refused before anything after it is looked at. */
  well_formed = tether_message_read_login (msg, &login, &error);
  if (login.app_id != NULL && g_strcmp0 (login.app_id, self->app_id) != 0)
    {
      conn_fail_login (conn, TETHER_ERROR_APP_ID_INVALID, "unknown app id", TETHER_CLOSE_AUTH);
      return;
    }
  if (!well_formed)
    {
      if (error->code == TETHER_ERROR_PROTOCOL)
        conn_reject (conn, error->code, error->message);
      else
        {
          self->stats.rejected_inputs++;
          conn_fail_login (conn, error->code, error->message, TETHER_CLOSE_PROTOCOL);
        }
      return;
    }

  if (login.token == NULL)
    {
      conn_fail_login (conn, TETHER_ERROR_TOKEN_INVALID, "login needs a token", TETHER_CLOSE_AUTH);
      return;
    }
  claims = check_token (self, login.token, login.room_id, login.user.id, &error);
  if (claims == NULL)
    {
      conn_fail_login (conn, error->code, error->message, TETHER_CLOSE_AUTH);
      return;
    }

  if (login.session_id != NULL)
    {
      TetherServerSession *old = g_hash_table_lookup (self->sessions, login.session_id);

      if (old != NULL
          && g_str_equal (old->room->id, login.room_id)
          && g_str_equal (old->user_id, login.user.id)
          && tether_secure_str_equal (old->resume_key, login.resume_key))
        {
          if (old->kicked)
            {
              self->stats.login_failures++;
              tether_server_log (G_LOG_LEVEL_INFO, old, "resume of a kicked-out session refused");
              conn_kick (conn, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
              return;
            }
          if (old->present)
            {
              login_resume_present (self, conn, old, g_steal_pointer (&claims),
                                    (guint64) login.last_seq);
              return;
            }
          /* Case 2: removed by the heartbeat timeout. The session is replaced by a
           * fresh one; the others get a user ADD. */
          rejoin = old->forget_at > g_get_monotonic_time ();
          tether_server_session_forget (self, old);
        }
    }

  login_fresh (self, conn, login.room_id, login.user.id, login.user.name, login.notify_users,
               g_steal_pointer (&claims), rejoin);
}

/* Logged-in messages */

/* A request the reader refused: bad input, closed. */
static void
conn_reject_error (TetherServerConn *conn,
                   GError           *error)
{
  conn_reject (conn, error->code, error->message);
}

static void
handle_heartbeat (TetherServer     *self,
                  TetherServerConn *conn,
                  JsonObject       *msg)
{
  g_autoptr(GError) error = NULL;
  JsonNode *id;

  if (!tether_message_read_heartbeat (msg, &id, &error))
    {
      conn_reject_error (conn, error);
      return;
    }
  tether_server_conn_send_message (conn, tether_message_build_heartbeat_ack (id, (gint64) conn->session->room->seq));
}

static void
handle_logout (TetherServer     *self,
               TetherServerConn *conn)
{
  TetherServerSession *session = conn->session;

  tether_server_log (G_LOG_LEVEL_INFO, session, "logged out");
  tether_server_session_leave (self, session, TETHER_REASON_LOGOUT);
  tether_server_conn_send_message (conn, tether_message_build_logout_ok ());
  tether_server_conn_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "logout");
  tether_server_session_forget (self, session);
}

/* The embedded media nodes learn who owns the id, so that only its owner can publish
 * under it; an id another user or room publishes (or did, within the node's
 * claim-ttl) is taken. */
static gboolean
claim_on_relays (TetherServer        *self,
                 TetherServerSession *session,
                 const char          *stream_id)
{
  for (guint i = 0; i < self->relays->len; i++)
    if (!tether_relay_claim_stream (g_ptr_array_index (self->relays, i), stream_id,
                                    session->user_id, session->room->id))
      {
        /* Refused by one: the others must not keep the id either. */
        while (i-- > 0)
          tether_relay_release_stream (g_ptr_array_index (self->relays, i), stream_id,
                                       session->user_id);
        return FALSE;
      }
  return TRUE;
}

static void
handle_stream_add (TetherServer     *self,
                   TetherServerConn *conn,
                   JsonObject       *msg)
{
  TetherServerSession *session = conn->session;
  TetherServerStream *existing;
  g_autoptr(GError) error = NULL;
  TetherStreamAddMessage add;
  const char *stream_id;

  if (!tether_message_read_stream_add (msg, &add, &error))
    {
      conn_reject_error (conn, error);
      return;
    }
  stream_id = add.stream.id;

  if (!(session->claims->privileges & TETHER_PRIVILEGE_PUBLISH))
    {
      send_request_error (conn, add.req, TETHER_ERROR_PUBLISH_DENIED, "token lacks the publish privilege");
      return;
    }
  if (!tether_token_claims_allows_stream (session->claims, stream_id))
    {
      send_request_error (conn, add.req, TETHER_ERROR_PUBLISH_DENIED, "token does not allow this stream id");
      return;
    }
  existing = g_hash_table_lookup (self->streams, stream_id);
  if ((existing != NULL && existing->session != session)
      || !claim_on_relays (self, session, stream_id))
    {
      send_request_error (conn, add.req, TETHER_ERROR_STREAM_ID_TAKEN, "stream id in use");
      return;
    }

  /* Every stream is in every joiner's snapshot: one session cannot fill a room. */
  if (existing == NULL && session->streams.length >= self->max_streams_per_session)
    {
      send_request_error (conn, add.req, TETHER_ERROR_STREAM_LIMIT, "too many streams in this session");
      return;
    }

  /* The requester hears the answer before the room hears the event. */
  tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_ADD_OK, add.req));
  tether_server_stream_add (self, session, stream_id, add.stream.node, add.stream.extra);
  tether_server_log (G_LOG_LEVEL_DEBUG, session, "stream %s added on node %s", stream_id,
                     add.stream.node);
}

static void
handle_stream_delete (TetherServer     *self,
                      TetherServerConn *conn,
                      JsonObject       *msg)
{
  TetherServerSession *session = conn->session;
  TetherServerStream *stream;
  g_autoptr(GError) error = NULL;
  TetherStreamDeleteMessage del;

  if (!tether_message_read_stream_delete (msg, &del, &error))
    {
      conn_reject_error (conn, error);
      return;
    }

  stream = g_hash_table_lookup (self->streams, del.stream_id);
  if (stream == NULL || stream->session != session)
    {
      send_request_error (conn, del.req, TETHER_ERROR_STREAM_NOT_FOUND, "no such stream of yours");
      return;
    }

  tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_DELETE_OK, del.req));
  tether_server_stream_remove (self, stream, del.reason);
  tether_server_log (G_LOG_LEVEL_DEBUG, session, "stream %s deleted (%s)", del.stream_id, del.reason);
}

static void
handle_token_renew (TetherServer     *self,
                    TetherServerConn *conn,
                    JsonObject       *msg)
{
  TetherServerSession *session = conn->session;
  g_autoptr(TetherTokenClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  TetherTokenRenewMessage renew;
  char *answer;

  if (!tether_message_read_token_renew (msg, &renew, &error))
    {
      conn_reject_error (conn, error);
      return;
    }

  claims = check_token (self, renew.token, session->room->id, session->user_id, &error);
  if (claims == NULL)
    {
      send_request_error (conn, renew.req, error->code, error->message);
      return;
    }

  answer = tether_message_build_token_renew_ok (renew.req, claims->expires_at);
  tether_server_session_set_claims (self, session, g_steal_pointer (&claims));
  tether_server_conn_send_message (conn, answer);
  tether_server_log (G_LOG_LEVEL_DEBUG, session, "token renewed");
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  TetherServerConn *conn = user_data;
  TetherServer *self = conn->server;
  g_autoptr(JsonObject) msg = NULL;
  g_autoptr(GError) error = NULL;
  const char *data;
  gsize len;

  if (conn->state == TETHER_SERVER_CONN_CLOSING)
    return;
  /* A whole message arrived: the next one gets a fresh input budget. */
  tether_guard_stream_renew_input_budget (conn->guard);
  if (conn->session != NULL)
    tether_server_session_touch (self, conn->session);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      conn_reject (conn, TETHER_ERROR_PROTOCOL, "binary frames are not accepted; send JSON in text frames");
      return;
    }

  data = g_bytes_get_data (message, &len);
  msg = tether_protocol_parse (data, len, self->max_depth, &error);
  if (msg == NULL)
    {
      conn_reject (conn, error->code, error->message);
      return;
    }

  if (conn->state == TETHER_SERVER_CONN_PENDING)
    {
      if (tether_message_get_type (msg) == TETHER_MESSAGE_LOGIN)
        handle_login (self, conn, msg);
      else
        conn_reject (conn, TETHER_ERROR_NOT_LOGGED_IN, "the first message must be login");
      return;
    }

  /* An active connection whose session was taken away has nothing left to say. */
  if (conn->session == NULL)
    return;

  switch (tether_message_get_type (msg))
    {
    case TETHER_MESSAGE_HEARTBEAT:
      handle_heartbeat (self, conn, msg);
      break;
    case TETHER_MESSAGE_STREAM_ADD:
      handle_stream_add (self, conn, msg);
      break;
    case TETHER_MESSAGE_STREAM_DELETE:
      handle_stream_delete (self, conn, msg);
      break;
    case TETHER_MESSAGE_TOKEN_RENEW:
      handle_token_renew (self, conn, msg);
      break;
    case TETHER_MESSAGE_LOGOUT:
      handle_logout (self, conn);
      break;
    case TETHER_MESSAGE_LOGIN:
      conn_reject (conn, TETHER_ERROR_PROTOCOL, "already logged in");
      break;
    case TETHER_MESSAGE_UNKNOWN:
    case TETHER_MESSAGE_LOGIN_OK:
    case TETHER_MESSAGE_HEARTBEAT_ACK:
    case TETHER_MESSAGE_LOGOUT_OK:
    case TETHER_MESSAGE_STREAM_ADD_OK:
    case TETHER_MESSAGE_STREAM_DELETE_OK:
    case TETHER_MESSAGE_TOKEN_RENEW_OK:
    case TETHER_MESSAGE_EVENT:
    case TETHER_MESSAGE_KICK_OUT:
    case TETHER_MESSAGE_TOKEN_WILL_EXPIRE:
    case TETHER_MESSAGE_RECONNECT:
    case TETHER_MESSAGE_ERROR:
    case TETHER_MESSAGE_REQUEST_ERROR:
    case TETHER_MESSAGE_N_TYPES:
    default:
      conn_reject (conn, TETHER_ERROR_PROTOCOL, "unknown message type");
      break;
    }
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  TetherServerConn *conn = user_data;

  if (error->domain != SOUP_WEBSOCKET_ERROR)
    {
      tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "connection from %s: %s",
                         conn->address, error->message);
      return;
    }

  /* libsoup found bad input itself (oversized frame, invalid UTF-8, broken
   * framing) and is closing the connection. */
  conn->server->stats.rejected_inputs++;
  tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "rejected input from %s: %s",
                     conn->address, error->message);
  if (conn->state != TETHER_SERVER_CONN_CLOSING)
    {
      conn_mark_closing (conn);
      /* For an oversized message libsoup drops the connection without a close frame;
       * queueing one here writes it before that happens. For the rest libsoup sent
       * its own close: either way the peer gets CLOSE_GRACE to answer. */
      if (error->code == SOUP_WEBSOCKET_CLOSE_TOO_BIG
          && soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too large");
      conn_await_close (conn);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherServerConn *conn = user_data;

  /* A connection lost without logout leaves the user in the room: only the
   * heartbeat timeout removes it, which is what lets a quick resume go unseen. */
  tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "connection from %s closed (%u)",
                     conn->address, soup_websocket_connection_get_close_code (ws));
  conn_free (conn);
}

static void
websocket_cb (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherServer *self = user_data;
  TetherServerLink *link = tether_server_link_upgrade (self, msg);
  TetherServerConn *conn;

  if (self->shut_down || link == NULL)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
      return;
    }

  conn = g_new0 (TetherServerConn, 1);
  conn->server = self;
  conn->ws = g_object_ref (ws);
  conn->socket = g_object_ref (link->socket);
  conn->guard = g_object_ref (link->guard);
  conn->written_base = tether_guard_stream_get_bytes_out (conn->guard);
  /* libsoup checks each frame against max_frame_size; the budget bounds a whole
   * message, however it is fragmented (with room for headers and control frames). */
  tether_guard_stream_set_input_budget (conn->guard,
                                        (guint64) self->max_frame_size + self->max_frame_size / 4 + 1024);
  conn->address = g_strdup (link->address);
  conn->state = TETHER_SERVER_CONN_PENDING;
  conn->connected_at = g_get_monotonic_time ();
  conn->link.data = conn;
  conn->pending_link.data = conn;
  g_queue_push_tail_link (&self->conns, &conn->link);
  g_queue_push_tail_link (&self->pending, &conn->pending_link);

  soup_websocket_connection_set_max_incoming_payload_size (ws, self->max_frame_size);
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), conn);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), conn);
}

/* The sweep: one timer for every deadline in the service. Each queue is ordered by
 * its deadline, so a tick only looks at the entries that are actually due. */

static void
session_heartbeat_timeout (TetherServer        *self,
                           TetherServerSession *session,
                           gint64               now)
{
  TetherServerConn *conn = session->conn;
  gint64 forget_at = session->last_activity + USEC (self->session_ttl);

  self->stats.heartbeat_timeouts++;
  tether_server_log (G_LOG_LEVEL_INFO, session, "heartbeat timeout: removed from the room");
  if (conn != NULL)
    {
      tether_server_conn_detach (conn);
      tether_server_conn_kill (conn);
    }
  tether_server_session_leave (self, session, TETHER_REASON_HEARTBEAT_TIMEOUT);
  if (forget_at <= now)
    tether_server_session_forget (self, session);
  else
    tether_server_session_retire (self, session, forget_at);
}

static void
session_token_deadline (TetherServer        *self,
                        TetherServerSession *session)
{
  TetherServerConn *conn = session->conn;

  if (!session->token_warned)
    {
      double remaining = MAX (0.0, (session->token_expiry - g_get_monotonic_time ()) / (double) G_USEC_PER_SEC);

      session->token_warned = TRUE;
      tether_server_session_schedule_token (self, session);
      if (conn != NULL)
        tether_server_conn_send_message (conn, tether_message_build_token_will_expire (session->claims->expires_at, remaining));
      return;
    }

  self->stats.kicks++;
  tether_server_log (G_LOG_LEVEL_INFO, session, "kicked out: token expired");
  if (conn != NULL)
    {
      tether_server_conn_detach (conn);
      conn_kick (conn, TETHER_ERROR_TOKEN_EXPIRED, "token expired");
    }
  tether_server_session_leave (self, session, TETHER_REASON_KICKED);
  tether_server_session_forget (self, session);
}

static gboolean
sweep_cb (gpointer user_data)
{
  TetherServer *self = user_data;
  gint64 now = g_get_monotonic_time ();
  GSequenceIter *iter;
  GList *l;

  while ((l = self->pending.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      if (conn->connected_at + USEC (self->login_grace) > now)
        break;
      conn_fail (conn, TETHER_ERROR_LOGIN_TIMEOUT, "no login in time", TETHER_CLOSE_LOGIN_TIMEOUT);
    }

  while ((l = self->present.head) != NULL)
    {
      TetherServerSession *session = l->data;

      if (session->last_activity + USEC (self->heartbeat_timeout) > now)
        break;
      session_heartbeat_timeout (self, session, now);
    }

  while (!g_sequence_iter_is_end (iter = g_sequence_get_begin_iter (self->token_deadlines)))
    {
      TetherServerSession *session = g_sequence_get (iter);

      if (session->token_deadline > now)
        break;
      session_token_deadline (self, session);
    }

  while ((l = self->retired.head) != NULL)
    {
      TetherServerSession *session = l->data;

      if (session->forget_at > now)
        break;
      tether_server_session_forget (self, session);
    }

  tether_server_links_sweep (self, now);

  while ((l = self->closing.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      if (conn->close_deadline > now)
        break;
      g_queue_unlink (&self->closing, &conn->closing_link);
      conn->close_deadline = 0;
      g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
    }

  /* glibc keeps what a crowd freed for the next crowd; give it back once in a while
   * so that the server's size follows its load. */
  if (now - self->last_trim >= TRIM_INTERVAL)
    {
      malloc_trim (0);
      self->last_trim = now;
    }

  if (now - self->last_bucket_prune >= BUCKET_PRUNE_INTERVAL)
    prune_login_buckets (self, now);

  return G_SOURCE_CONTINUE;
}

/* HTTP */

static gboolean
is_get (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);

  if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
    return TRUE;
  soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
  return FALSE;
}

static void
healthz_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  static const char ok[] = "ok\n";

  if (!is_get (msg))
    return;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, ok, strlen (ok));
}

static void
metrics_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  TetherServer *self = user_data;
  char *text;

  if (!is_get (msg))
    return;
  text = tether_server_get_metrics_text (self);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE,
                                    text, strlen (text));
}

/* GObject */

static void
media_node_free (gpointer data)
{
  TetherServerMediaNode *node = data;

  g_free (node->id);
  g_free (node->url);
  g_free (node);
}

static void
tether_server_dispose (GObject *object)
{
  TetherServer *self = TETHER_SERVER (object);
  GList *l;

  if (self->sweep_source != NULL)
    {
      g_source_destroy (self->sweep_source);
      g_clear_pointer (&self->sweep_source, g_source_unref);
    }

  while ((l = self->conns.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      g_signal_handlers_disconnect_by_data (conn->ws, conn);
      if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      conn_free (conn);
    }
  g_queue_init (&self->pending);

  tether_server_model_clear (self);

  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  if (self->links != NULL)
    tether_server_links_clear (self);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  if (self->admin_soup != NULL)
    soup_server_disconnect (self->admin_soup);
  g_clear_object (&self->admin_soup);

  G_OBJECT_CLASS (tether_server_parent_class)->dispose (object);
}

static void
tether_server_finalize (GObject *object)
{
  TetherServer *self = TETHER_SERVER (object);

  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->login_buckets, g_hash_table_unref);
  g_clear_pointer (&self->links, g_hash_table_unref);
  g_clear_pointer (&self->per_address, g_hash_table_unref);
  g_clear_pointer (&self->token_deadlines, g_sequence_free);
  g_clear_pointer (&self->media_nodes, g_ptr_array_unref);
  g_clear_pointer (&self->relays, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->app_id);
  if (self->app_secret != NULL)
    {
      memset (self->app_secret, 0, strlen (self->app_secret));
      g_free (self->app_secret);
    }
  g_free (self->url_host);

  G_OBJECT_CLASS (tether_server_parent_class)->finalize (object);
}

static void
set_double (TetherServer *self,
            double       *field,
            const GValue *value,
            guint         prop_id)
{
  double v = g_value_get_double (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_uint (TetherServer *self,
          guint        *field,
          const GValue *value,
          guint         prop_id)
{
  guint v = g_value_get_uint (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
tether_server_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherServer *self = TETHER_SERVER (object);

  switch (prop_id)
    {
    case PROP_APP_ID:
      g_value_set_string (value, self->app_id);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      g_value_set_double (value, self->heartbeat_timeout);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      g_value_set_double (value, self->heartbeat_interval);
      break;
    case PROP_SESSION_TTL:
      g_value_set_double (value, self->session_ttl);
      break;
    case PROP_TOKEN_SKEW:
      g_value_set_double (value, self->token_skew);
      break;
    case PROP_TOKEN_WARNING:
      g_value_set_double (value, self->token_warning);
      break;
    case PROP_MAX_FRAME_SIZE:
      g_value_set_uint (value, self->max_frame_size);
      break;
    case PROP_MAX_DEPTH:
      g_value_set_uint (value, self->max_depth);
      break;
    case PROP_LOGIN_RATE:
      g_value_set_double (value, self->login_rate);
      break;
    case PROP_LOGIN_BURST:
      g_value_set_double (value, self->login_burst);
      break;
    case PROP_EVENT_BACKLOG:
      g_value_set_uint (value, self->event_backlog);
      break;
    case PROP_EVENT_BACKLOG_BYTES:
      g_value_set_uint (value, self->event_backlog_bytes);
      break;
    case PROP_LOGIN_GRACE:
      g_value_set_double (value, self->login_grace);
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_double (value, self->request_timeout);
      break;
    case PROP_MAX_CONNECTIONS_PER_ADDRESS:
      g_value_set_uint (value, self->max_connections_per_address);
      break;
    case PROP_MAX_SEND_QUEUE:
      g_value_set_uint (value, self->max_send_queue);
      break;
    case PROP_MAX_STREAMS_PER_SESSION:
      g_value_set_uint (value, self->max_streams_per_session);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_server_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TetherServer *self = TETHER_SERVER (object);

  /* The sweep's period, the replay ring and every connection were sized from the
   * settings when listening started; changing them under a running service would
   * break those (a smaller event backlog corrupts the ring). */
  if (self->listening || self->shut_down)
    {
      g_critical ("TetherServer: \"%s\" can only be set before tether_server_listen()",
                  pspec->name);
      return;
    }

  switch (prop_id)
    {
    case PROP_APP_ID:
      if (g_strcmp0 (self->app_id, g_value_get_string (value)) != 0)
        {
          g_free (self->app_id);
          self->app_id = g_value_dup_string (value);
          if (self->app_id == NULL)
            self->app_id = g_strdup ("demo");
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_APP_SECRET:
      /* Write-only, and never notified: the secret does not travel anywhere. */
      if (self->app_secret != NULL)
        memset (self->app_secret, 0, strlen (self->app_secret));
      g_free (self->app_secret);
      self->app_secret = g_value_dup_string (value);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      set_double (self, &self->heartbeat_timeout, value, prop_id);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      set_double (self, &self->heartbeat_interval, value, prop_id);
      break;
    case PROP_SESSION_TTL:
      set_double (self, &self->session_ttl, value, prop_id);
      break;
    case PROP_TOKEN_SKEW:
      set_double (self, &self->token_skew, value, prop_id);
      break;
    case PROP_TOKEN_WARNING:
      set_double (self, &self->token_warning, value, prop_id);
      break;
    case PROP_MAX_FRAME_SIZE:
      set_uint (self, &self->max_frame_size, value, prop_id);
      break;
    case PROP_MAX_DEPTH:
      set_uint (self, &self->max_depth, value, prop_id);
      break;
    case PROP_LOGIN_RATE:
      set_double (self, &self->login_rate, value, prop_id);
      break;
    case PROP_LOGIN_BURST:
      set_double (self, &self->login_burst, value, prop_id);
      break;
    case PROP_EVENT_BACKLOG:
      set_uint (self, &self->event_backlog, value, prop_id);
      break;
    case PROP_EVENT_BACKLOG_BYTES:
      set_uint (self, &self->event_backlog_bytes, value, prop_id);
      break;
    case PROP_LOGIN_GRACE:
      set_double (self, &self->login_grace, value, prop_id);
      break;
    case PROP_REQUEST_TIMEOUT:
      set_double (self, &self->request_timeout, value, prop_id);
      break;
    case PROP_MAX_CONNECTIONS_PER_ADDRESS:
      set_uint (self, &self->max_connections_per_address, value, prop_id);
      break;
    case PROP_MAX_SEND_QUEUE:
      set_uint (self, &self->max_send_queue, value, prop_id);
      break;
    case PROP_MAX_STREAMS_PER_SESSION:
      set_uint (self, &self->max_streams_per_session, value, prop_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
double_param (const char *name,
              const char *blurb,
              double      min,
              double      max,
              double      def)
{
  return g_param_spec_double (name, NULL, blurb, min, max, def,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
uint_param (const char *name,
            const char *blurb,
            guint       min,
            guint       max,
            guint       def)
{
  return g_param_spec_uint (name, NULL, blurb, min, max, def,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
tether_server_class_init (TetherServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tether_server_dispose;
  object_class->finalize = tether_server_finalize;
  object_class->get_property = tether_server_get_property;
  object_class->set_property = tether_server_set_property;

  properties[PROP_APP_ID] =
    g_param_spec_string ("app-id", NULL, "The only app id this server accepts", "demo",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_APP_SECRET] =
    g_param_spec_string ("app-secret", NULL, "The secret tokens are signed with", NULL,
                         G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEARTBEAT_TIMEOUT] =
    double_param ("heartbeat-timeout", "Seconds of client silence before the user is removed",
                  0.001, 1e7, 90.0);
  properties[PROP_HEARTBEAT_INTERVAL] =
    double_param ("heartbeat-interval", "Seconds between client heartbeats", 0.001, 1e7, 1.0);
  properties[PROP_SESSION_TTL] =
    double_param ("session-ttl", "Seconds a session stays resumable", 0.0, 1e9, 1200.0);
  properties[PROP_TOKEN_SKEW] =
    double_param ("token-skew", "Clock-skew tolerance for tokens, seconds", 0.0, 1e7, TETHER_TOKEN_DEFAULT_SKEW);
  properties[PROP_TOKEN_WARNING] =
    double_param ("token-warning", "Seconds before expiry at which token_will_expire is sent",
                  0.0, 1e7, 30.0);
  properties[PROP_MAX_FRAME_SIZE] =
    uint_param ("max-frame-size", "Largest accepted frame, bytes", 256, G_MAXINT32,
                TETHER_PROTOCOL_DEFAULT_MAX_FRAME);
  properties[PROP_MAX_DEPTH] =
    uint_param ("max-depth", "Deepest accepted JSON nesting", 2, 1000, TETHER_PROTOCOL_DEFAULT_MAX_DEPTH);
  properties[PROP_LOGIN_RATE] =
    double_param ("login-rate", "Logins per second per client address, 0 = unlimited", 0.0, 1e9, 50.0);
  properties[PROP_LOGIN_BURST] =
    double_param ("login-burst", "Login burst per client address", 0.0, 1e9, 100.0);
  properties[PROP_EVENT_BACKLOG] =
    uint_param ("event-backlog", "Room events kept for resume replay", 0, 1 << 20, 1024);
  properties[PROP_EVENT_BACKLOG_BYTES] =
    uint_param ("event-backlog-bytes", "Bytes of room events kept for resume replay, per room",
                0, G_MAXINT32, 512 * 1024);
  properties[PROP_LOGIN_GRACE] =
    double_param ("login-grace", "Seconds a new connection has to send login", 0.001, 1e7, 10.0);
  properties[PROP_REQUEST_TIMEOUT] =
    double_param ("request-timeout", "Seconds an accepted connection has to become a WebSocket",
                  0.001, 1e7, 10.0);
  properties[PROP_MAX_CONNECTIONS_PER_ADDRESS] =
    uint_param ("max-connections-per-address", "Open TCP connections per client address, 0 = no cap",
                0, G_MAXINT32, 256);
  properties[PROP_MAX_SEND_QUEUE] =
    uint_param ("max-send-queue", "Bytes queued for a client before it is dropped", 4096,
                G_MAXINT32, 1024 * 1024);
  properties[PROP_MAX_STREAMS_PER_SESSION] =
    uint_param ("max-streams-per-session", "Streams one session may have at once", 1, 65536, 32);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, "The port listened on, once listening", 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_server_init (TetherServer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->app_id = g_strdup ("demo");
  self->heartbeat_timeout = 90.0;
  self->heartbeat_interval = 1.0;
  self->session_ttl = 1200.0;
  self->token_skew = TETHER_TOKEN_DEFAULT_SKEW;
  self->token_warning = 30.0;
  self->max_frame_size = TETHER_PROTOCOL_DEFAULT_MAX_FRAME;
  self->max_depth = TETHER_PROTOCOL_DEFAULT_MAX_DEPTH;
  self->login_rate = 50.0;
  self->login_burst = 100.0;
  self->event_backlog = 1024;
  self->event_backlog_bytes = 512 * 1024;
  self->login_grace = 10.0;
  self->request_timeout = 10.0;
  self->max_connections_per_address = 256;
  self->max_send_queue = 1024 * 1024;
  self->max_streams_per_session = 32;
  self->media_nodes = g_ptr_array_new_with_free_func (media_node_free);
  self->relays = g_ptr_array_new_with_free_func (g_object_unref);

  self->rooms = g_hash_table_new (g_str_hash, g_str_equal);
  self->sessions = g_hash_table_new (g_str_hash, g_str_equal);
  self->streams = g_hash_table_new (g_str_hash, g_str_equal);
  self->login_buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->token_deadlines = g_sequence_new (NULL);

  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_server_listener_free);
  self->links = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* No Server header: the exact versions only help an attacker pick an exploit. */
  self->soup = soup_server_new ("server-header", NULL, NULL);
  /* Compressing every fan-out copy separately costs more than it saves here, and
   * inflating input is one more way to blow the frame limit. */
  soup_server_remove_websocket_extension (self->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (self->soup, "/ws", NULL, NULL, websocket_cb, self, NULL);
  /* Operators' endpoints answer on the admin address only. */
  self->admin_soup = soup_server_new ("server-header", NULL, NULL);
  soup_server_add_handler (self->admin_soup, "/healthz", healthz_cb, self, NULL);
  soup_server_add_handler (self->admin_soup, "/metrics", metrics_cb, self, NULL);
}

/* Public API */

/**
 * tether_server_new:
 * @app_id: (nullable): the app id to serve, or %NULL for "demo"
 * @app_secret: the secret its tokens are signed with
 *
 * Creates a room service bound to the thread-default main context: every
 * connection, timer and callback of the server runs there.
 *
 * Returns: (transfer full): a new #TetherServer
 */
TetherServer *
tether_server_new (const char *app_id,
                   const char *app_secret)
{
  g_return_val_if_fail (app_secret != NULL && *app_secret != '\0', NULL);

  return g_object_new (TETHER_TYPE_SERVER,
                       "app-id", app_id != NULL ? app_id : "demo",
                       "app-secret", app_secret,
                       NULL);
}

/**
 * tether_server_listen:
 * @self: a #TetherServer
 * @host: (nullable): address or host name to listen on; %NULL for all
 * @port: the port, or 0 for an ephemeral one
 * @error: return location for an error
 *
 * Starts accepting connections on the server's main context.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_server_listen (TetherServer  *self,
                      const char    *host,
                      guint16        port,
                      GError       **error)
{
  double shortest;
  guint interval_ms;

  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->listening && !self->shut_down, FALSE);
  g_return_val_if_fail (self->app_secret != NULL, FALSE);

  g_clear_pointer (&self->url_host, g_free);
  if (!tether_server_listen_on (self, self->soup, host, port, &self->url_host, &self->port, error))
    return FALSE;

  self->listening = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  shortest = MIN (MIN (self->heartbeat_timeout, self->login_grace), self->request_timeout);
  interval_ms = (guint) (CLAMP (shortest / 10.0, 0.02, 1.0) * 1000.0);
  self->sweep_source = g_timeout_source_new (interval_ms);
  g_source_set_name (self->sweep_source, "[tether] server sweep");
  g_source_set_callback (self->sweep_source, sweep_cb, self, NULL);
  g_source_attach (self->sweep_source, self->context);
  self->last_bucket_prune = g_get_monotonic_time ();

  g_message ("room service for app %s listening on ws://%s:%u/ws", self->app_id,
             self->url_host, self->port);

  return TRUE;
}

/**
 * tether_server_listen_admin:
 * @self: a #TetherServer
 * @host: (nullable): address to listen on; keep it private (loopback, a management
 *   network): it answers `/healthz` and `/metrics` to whoever reaches it
 * @port: the port, or 0 for an ephemeral one
 * @error: return location for an error
 *
 * Serves the operators' endpoints on an address of their own; the public port
 * answers only `/ws`.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_server_listen_admin (TetherServer  *self,
                            const char    *host,
                            guint16        port,
                            GError       **error)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (self->admin_port == 0 && !self->shut_down, FALSE);

  if (!tether_server_listen_on (self, self->admin_soup, host, port, NULL, &self->admin_port, error))
    return FALSE;
  g_message ("admin endpoints (/healthz, /metrics) on http://%s:%u/", host != NULL ? host : "*",
             self->admin_port);
  return TRUE;
}

/**
 * tether_server_get_admin_port:
 *
 * Returns: the admin port, or 0 before tether_server_listen_admin()
 */
guint16
tether_server_get_admin_port (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->admin_port;
}

guint16
tether_server_get_port (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->port;
}

/**
 * tether_server_get_url:
 * @self: a #TetherServer
 *
 * Returns: (transfer full) (nullable): the WebSocket URL clients connect to, or
 *   %NULL before tether_server_listen()
 */
char *
tether_server_get_url (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), NULL);

  if (self->url_host == NULL)
    return NULL;
  return g_strdup_printf ("ws://%s:%u/ws", self->url_host, self->port);
}

/**
 * tether_server_add_media_node:
 * @self: a #TetherServer
 * @id: the node id clients name in stream_add
 * @url: where clients reach it (e.g. `srt://127.0.0.1:9000`)
 *
 * Adds a node to the directory handed out in login_ok, or updates its URL.
 */
void
tether_server_add_media_node (TetherServer *self,
                              const char   *id,
                              const char   *url)
{
  TetherServerMediaNode *node;

  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (tether_protocol_valid_id (id));
  g_return_if_fail (url != NULL);

  for (guint i = 0; i < self->media_nodes->len; i++)
    {
      node = g_ptr_array_index (self->media_nodes, i);
      if (g_str_equal (node->id, id))
        {
          g_free (node->url);
          node->url = g_strdup (url);
          return;
        }
    }

  node = g_new0 (TetherServerMediaNode, 1);
  node->id = g_strdup (id);
  node->url = g_strdup (url);
  g_ptr_array_add (self->media_nodes, node);
}

/**
 * tether_server_shutdown:
 * @self: a #TetherServer
 * @retry_after: the longest delay, seconds, clients should wait before reconnecting
 *
 * Tells every client to reconnect later, closes every connection with 1001 and
 * stops listening. Sessions live in memory only: a restarted server has none.
 */
void
tether_server_shutdown (TetherServer *self,
                        double        retry_after)
{
  g_autofree char *json = NULL;

  g_return_if_fail (TETHER_IS_SERVER (self));

  if (self->shut_down)
    return;
  self->shut_down = TRUE;

  json = tether_message_build_reconnect (MAX (retry_after, 0.0));

  for (GList *l = self->conns.head; l != NULL; l = l->next)
    {
      TetherServerConn *conn = l->data;

      if (conn->state == TETHER_SERVER_CONN_CLOSING)
        continue;
      tether_server_conn_send (conn, json);
      tether_server_conn_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
    }

  /* Stop accepting on the public port; the admin port keeps answering until the
   * object goes (a supervisor may still want /metrics). */
  for (guint i = self->listeners->len; i > 0; i--)
    {
      TetherServerListener *listener = g_ptr_array_index (self->listeners, i - 1);

      if (tether_server_listener_get_soup (listener) == self->soup)
        g_ptr_array_remove_index (self->listeners, i - 1);
    }
  soup_server_disconnect (self->soup);
  if (self->sweep_source != NULL)
    {
      g_source_destroy (self->sweep_source);
      g_clear_pointer (&self->sweep_source, g_source_unref);
    }
  self->listening = FALSE;

  g_message ("room service shut down; %u connections told to come back within %.1f s",
             self->conns.length, retry_after);
}

/**
 * tether_server_get_session_count:
 *
 * Returns: the number of sessions present in a room (connected or not)
 */
guint
tether_server_get_session_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->present.length;
}

/**
 * tether_server_get_room_count:
 *
 * Returns: the number of rooms with at least one present user
 */
guint
tether_server_get_room_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->n_active_rooms;
}

/**
 * tether_server_get_connection_count:
 *
 * Returns: the number of open WebSocket connections, logged in or not
 */
guint
tether_server_get_connection_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->conns.length;
}

/**
 * tether_server_get_tcp_connection_count:
 *
 * Returns: the number of accepted TCP connections libsoup still holds, on the public
 *   and the admin port, WebSocket or not
 */
guint
tether_server_get_tcp_connection_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return g_hash_table_size (self->links);
}

static void
append_metric (GString    *out,
               const char *name,
               const char *type,
               const char *help,
               guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n",
                          name, help, name, type, name, value);
}

/**
 * tether_server_get_metrics_text:
 *
 * Returns: (transfer full): the metrics in Prometheus text format
 */
char *
tether_server_get_metrics_text (TetherServer *self)
{
  GString *out = g_string_sized_new (2048);

  g_return_val_if_fail (TETHER_IS_SERVER (self), NULL);

  append_metric (out, "tether_sessions", "gauge", "Sessions present in a room.",
                 self->present.length);
  append_metric (out, "tether_resumable_sessions", "gauge",
                 "Sessions removed from their room but still resumable, and kick-out tombstones.",
                 self->retired.length);
  append_metric (out, "tether_rooms", "gauge", "Rooms with at least one present user.",
                 self->n_active_rooms);
  append_metric (out, "tether_streams", "gauge", "Live streams.", g_hash_table_size (self->streams));
  append_metric (out, "tether_connections", "gauge", "Open WebSocket connections.",
                 self->conns.length);
  append_metric (out, "tether_tcp_connections", "gauge",
                 "Accepted TCP connections, WebSocket or not, admin port included.",
                 g_hash_table_size (self->links));
  append_metric (out, "tether_refused_connections_total", "counter",
                 "Connections closed at accept: over the per-address cap.",
                 self->stats.refused_connections);
  append_metric (out, "tether_request_timeouts_total", "counter",
                 "Connections cut for not becoming a WebSocket within the request timeout.",
                 self->stats.request_timeouts);
  append_metric (out, "tether_accept_pauses_total", "counter",
                 "Times accepting paused because the process ran out of file descriptors.",
                 self->stats.accept_pauses);
  append_metric (out, "tether_slow_consumers_total", "counter",
                 "Connections dropped because their send queue was full.",
                 self->stats.slow_consumers);
  append_metric (out, "tether_logins_total", "counter", "Successful fresh logins.",
                 self->stats.logins);
  append_metric (out, "tether_login_failures_total", "counter", "Refused logins.",
                 self->stats.login_failures);
  append_metric (out, "tether_resumes_total", "counter",
                 "Sessions resumed while still in the room (invisible to others).",
                 self->stats.resumes);
  append_metric (out, "tether_rejoins_total", "counter",
                 "Resumes that came back after the heartbeat timeout.", self->stats.rejoins);
  append_metric (out, "tether_heartbeat_timeouts_total", "counter",
                 "Users removed for silence.", self->stats.heartbeat_timeouts);
  append_metric (out, "tether_kicks_total", "counter",
                 "Sessions kicked out (duplicate login, expired token).", self->stats.kicks);
  append_metric (out, "tether_rejected_inputs_total", "counter",
                 "Connections closed for bad input.", self->stats.rejected_inputs);
  append_metric (out, "tether_events_total", "counter", "Room events published.",
                 self->stats.events);
  for (guint i = 0; i < self->relays->len; i++)
    {
      g_autofree char *media = tether_relay_get_metrics_text (self->relays->pdata[i]);

      g_string_append (out, media);
    }

  return g_string_free (out, FALSE);
}

static void
publisher_added_cb (TetherRelay *relay,
                    const char  *stream_id,
                    const char  *user_id,
                    gpointer     user_data)
{
  g_info ("media: %s publishes stream %s", user_id, stream_id);
}

static void
publisher_removed_cb (TetherRelay *relay,
                      const char  *stream_id,
                      const char  *user_id,
                      const char  *reason,
                      gpointer     user_data)
{
  /* The stream stays announced: its publisher retries for av_retry_time and withdraws
   * it itself, or the heartbeat timeout removes it with the user. */
  g_info ("media: %s stopped publishing stream %s (%s)", user_id, stream_id, reason);
}

/**
 * tether_server_attach_relay:
 * @relay: a media node running in this process
 * @id: its node id in the media-node directory
 * @url: the SRT URL clients reach it at
 *
 * Announces @relay to clients at login, adds its figures to `/metrics` and logs its
 * publishers coming and going.
 */
void
tether_server_attach_relay (TetherServer *self,
                            TetherRelay  *relay,
                            const char   *id,
                            const char   *url)
{
  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (TETHER_IS_RELAY (relay));

  tether_server_add_media_node (self, id, url);
  g_ptr_array_add (self->relays, g_object_ref (relay));
  g_signal_connect_object (relay, "publisher-added", G_CALLBACK (publisher_added_cb), self, 0);
  g_signal_connect_object (relay, "publisher-removed", G_CALLBACK (publisher_removed_cb), self,
                           0);
}
