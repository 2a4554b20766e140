/* tether-server-client.c: one client's WebSocket connection (TetherServerConn) —
 * sending with a bounded queue, closing, and the room protocol as the server speaks
 * it: login (fresh, resumed, duplicate), heartbeats, stream requests, token renewal
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-message.h"
#include "tether-server-private.h"

#define USEC TETHER_SERVER_USEC
#define CLOSE_GRACE (2 * G_USEC_PER_SEC)
/* Messages a client may send after login before login_ok (docs/protocol.md) */
#define MAX_EARLY 64

static void hold_early            (TetherServerConn *conn,
                                   JsonObject       *msg,
                                   gsize             len);
static void handle_member_message (TetherServer     *self,
                                   TetherServerConn *conn,
                                   JsonObject       *msg);

/* Connections */

/* What libsoup still holds for the peer: handed over minus written. */
static guint64
conn_send_queue (TetherServerConn *conn)
{
  guint64 written = tether_guard_stream_get_bytes_out (conn->guard) - conn->written_base;

  /* libsoup's own frames (pong, close) count as written too. */
  return conn->queued_out > written ? conn->queued_out - written : 0;
}

/* A server frame (FIN, text, unmasked) around @json, into @buf when it fits. */
static guint8 *
frame_build (const char *json,
             gsize       len,
             guint8     *buf,
             gsize       buf_size,
             gsize      *out_size)
{
  gsize header = len < 126 ? 2 : len <= G_MAXUINT16 ? 4 : 10;
  guint8 *frame = header + len <= buf_size ? buf : g_malloc (header + len);

  frame[0] = 0x81;
  if (len < 126)
    frame[1] = (guint8) len;
  else if (len <= G_MAXUINT16)
    {
      frame[1] = 126;
      frame[2] = (guint8) (len >> 8);
      frame[3] = (guint8) len;
    }
  else
    {
      frame[1] = 127;
      for (guint i = 0; i < 8; i++)
        frame[2 + i] = (guint8) ((guint64) len >> (56 - 8 * i));
    }
  memcpy (frame + header, json, len);
  *out_size = header + len;
  return frame;
}

/**
 * tether_server_frame_new:
 * @json: a message
 * @out_size: (out): the frame's size
 *
 * Returns: (transfer full): @json as one WebSocket text frame from the server, for
 *   tether_server_conn_send_frame() to every member of a room
 */
guint8 *
tether_server_frame_new (const char *json,
                         gsize      *out_size)
{
  return frame_build (json, strlen (json), NULL, 0, out_size);
}

/**
 * tether_server_conn_send_frame:
 * @frame: (nullable): @json framed by tether_server_frame_new(), or %NULL
 *
 * Sends @json. When libsoup has nothing queued for the peer the frame goes straight
 * to the socket (tether_guard_stream_send_direct()): a fan-out frames the event once
 * and skips libsoup's per-member framing, copies and stream layers.
 */
void
tether_server_conn_send_frame (TetherServerConn *conn,
                               const char       *json,
                               const guint8     *frame,
                               gsize             frame_size)
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
  if (queued == 0)
    {
      guint8 buf[512];
      g_autofree guint8 *heap = NULL;
      const guint8 *f = frame;

      if (f == NULL)
        {
          f = frame_build (json, len, buf, sizeof buf, &frame_size);
          if (f != buf)
            heap = (guint8 *) f;
        }
      if (tether_guard_stream_send_direct (conn->guard, f, frame_size))
        {
          conn->queued_out += frame_size;
          return;
        }
    }
  conn->queued_out += len + (len < 126 ? 2 : len <= G_MAXUINT16 ? 4 : 10);
  soup_websocket_connection_send_text (conn->ws, json);
}

void
tether_server_conn_send (TetherServerConn *conn,
                         const char       *json)
{
  tether_server_conn_send_frame (conn, json, NULL, 0);
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

  tether_guard_stream_set_message_hook (conn->guard, NULL, NULL);
  if (conn->cluster_login != NULL)
    tether_server_cluster_conn_gone (conn);
  g_queue_clear_full (&conn->early, (GDestroyNotify) json_object_unref);
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
void
tether_server_conn_fail (TetherServerConn *conn,
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
  tether_server_conn_fail (conn, code, message, TETHER_CLOSE_PROTOCOL);
}

static void
conn_fail_login (TetherServerConn *conn,
                 int               code,
                 const char       *message,
                 gushort           close_code)
{
  conn->server->stats.login_failures++;
  tether_server_conn_fail (conn, code, message, close_code);
}

void
tether_server_conn_kick (TetherServerConn *conn,
                         int               code,
                         const char       *message)
{
  tether_server_conn_send_message (conn, tether_message_build_kick_out (code, message));
  tether_server_conn_close (conn, TETHER_CLOSE_KICKED, tether_error_code_to_string (code));
}

void
tether_server_send_request_error (TetherServerConn *conn,
                                  gint64            req,
                                  int               code,
                                  const char       *message)
{
  tether_server_conn_send_message (conn, tether_message_build_request_error (req, code, message));
}

/* Login */

/* login_ok with the room as @users (without the session's own user) and @streams at
 * @seq: this node's model, or in cluster mode the snapshot from Redis. */
void
tether_server_send_login_ok (TetherServer              *self,
                             TetherServerSession       *session,
                             gboolean                   resumed,
                             gboolean                   resync,
                             guint64                    seq,
                             const TetherMessageUser   *users,
                             guint                      n_users,
                             const TetherMessageStream *streams,
                             guint                      n_streams)
{
  g_autoptr(GPtrArray) cluster_nodes = NULL;
  g_auto(GStrv) cluster_urls = NULL;
  GPtrArray *media_nodes = self->media_nodes;
  g_autofree TetherMessageMediaNode *nodes = NULL;
  TetherLoginOkMessage m = {
    .room_session_id = session->room->room_session_id,
    .session_id = session->id,
    .resume_key = session->resume_key,
    .resumed = resumed,
    .resync = resync,
    .seq = (gint64) seq,
    .users = (TetherMessageUser *) users,
    .n_users = session->notify_users ? n_users : 0,
    .streams = (TetherMessageStream *) streams,
    .n_streams = n_streams,
    .heartbeat_interval = self->heartbeat_interval,
    .heartbeat_timeout = self->heartbeat_timeout,
    .session_ttl = self->session_ttl,
    .token_expires_at = session->claims->expires_at,
    .srt_passphrase = session->srt_passphrase,
    .media_edge = self->media_edge,
  };

  /* Cluster mode: the live media nodes of every node, this node's own first. */
  if (self->cluster != NULL)
    media_nodes = cluster_nodes = tether_server_cluster_media_nodes (self);
  nodes = g_new (TetherMessageMediaNode, MAX (media_nodes->len, 1));
  for (guint i = 0; i < media_nodes->len; i++)
    {
      TetherServerMediaNode *node = g_ptr_array_index (media_nodes, i);

      nodes[m.n_media_nodes++] = (TetherMessageMediaNode) { node->id, node->url };
    }
  m.media_nodes = nodes;
  /* A media-only edge (tether_server_set_media_edge()) is named only while it is alive. */
  if (m.media_edge != NULL)
    {
      gboolean listed = FALSE;

      for (guint i = 0; i < m.n_media_nodes && !listed; i++)
        listed = g_strcmp0 (nodes[i].id, m.media_edge) == 0;
      if (!listed)
        m.media_edge = NULL;
    }
  /* The nodes a client fails over to: in a cluster the live ones, this one first;
   * else those of --room-service-url, if any. */
  if (self->cluster != NULL)
    m.room_services = (const char **) (cluster_urls = tether_server_cluster_room_services (self));
  else
    m.room_services = (const char **) tether_server_get_room_services (self);
  m.n_room_services = m.room_services != NULL ? g_strv_length ((char **) m.room_services) : 0;

  tether_server_conn_send_message (session->conn, tether_message_build_login_ok (&m));
}

static void
send_login_ok (TetherServer        *self,
               TetherServerSession *session,
               gboolean             resumed,
               gboolean             resync)
{
  TetherServerRoom *room = session->room;
  g_autofree TetherMessageUser *users = g_new (TetherMessageUser, MAX (room->members.length, 1));
  g_autofree TetherMessageStream *streams = g_new (TetherMessageStream,
                                                   MAX (room->streams.length, 1));
  guint n_users = 0, n_streams = 0;

  for (GList *l = room->members.head; l != NULL; l = l->next)
    if (l->data != session)
      users[n_users++] = tether_server_session_to_message (l->data);
  for (GList *l = room->streams.head; l != NULL; l = l->next)
    streams[n_streams++] = tether_server_stream_to_message (l->data);

  tether_server_send_login_ok (self, session, resumed, resync, room->seq, users, n_users,
                               streams, n_streams);
}

/* Case 1: the session never left the room. Others see nothing; the client gets
 * what it missed from the ring, or a full snapshot when the ring has moved on. */
static void
login_resume_present (TetherServer        *self,
                      TetherServerConn    *conn,
                      TetherServerSession *session,
                      TetherTokenClaims   *claims,
                      const char          *token,
                      guint64              last_seq)
{
  TetherServerConn *old = session->conn;
  gboolean resync;

  if (old != NULL)
    {
      tether_server_conn_detach (old);
      tether_server_conn_kill (old);
    }
  tether_server_session_set_claims (self, session, claims, token);
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
             const char        *token,
             gboolean           rejoin)
{
  TetherServerRoom *room = tether_server_room_acquire (self, room_id);
  TetherServerSession *existing = g_hash_table_lookup (room->by_user, user_id);
  TetherServerSession *session;

  session = tether_server_session_new (self, room, user_id, user_name, notify_users, claims, token);
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
          tether_server_conn_kick (old, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
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

  if (!tether_server_auth_login_allowed (self, conn->address))
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
  claims = tether_server_auth_check_token (self, login.token, login.room_id, login.user.id,
                                           &error);
  if (claims == NULL)
    {
      conn_fail_login (conn, error->code, error->message, TETHER_CLOSE_AUTH);
      return;
    }

  /* Several nodes: Redis decides (tether-server-cluster.c). */
  if (self->cluster != NULL)
    {
      tether_server_cluster_login (self, conn, &login, g_steal_pointer (&claims));
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
              tether_server_conn_kick (conn, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
              return;
            }
          if (old->present)
            {
              login_resume_present (self, conn, old, g_steal_pointer (&claims), login.token,
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
               g_steal_pointer (&claims), login.token, rejoin);
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
  tether_server_conn_send_message (conn,
                                   tether_message_build_heartbeat_ack (id, (gint64) conn->session->room->seq));
}

static void
handle_logout (TetherServer     *self,
               TetherServerConn *conn)
{
  TetherServerSession *session = conn->session;

  tether_server_log (G_LOG_LEVEL_INFO, session, "logged out");
  if (self->cluster != NULL)
    {
      tether_server_conn_send_message (conn, tether_message_build_logout_ok ());
      tether_server_conn_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "logout");
      tether_server_cluster_leave (self, session, TETHER_REASON_LOGOUT, 0);
      return;
    }
  tether_server_session_leave (self, session, TETHER_REASON_LOGOUT);
  tether_server_conn_send_message (conn, tether_message_build_logout_ok ());
  tether_server_conn_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, "logout");
  tether_server_session_forget (self, session);
}

/* Gives @stream_id back on the embedded media nodes (a claim Redis refused). */
void
tether_server_release_on_relays (TetherServer        *self,
                                 TetherServerSession *session,
                                 const char          *stream_id)
{
  for (guint i = 0; i < self->relays->len; i++)
    tether_relay_release_stream (g_ptr_array_index (self->relays, i), stream_id,
                                 session->user_id);
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
      tether_server_send_request_error (conn, add.req, TETHER_ERROR_PUBLISH_DENIED, "token lacks the publish privilege");
      return;
    }
  if (!tether_token_claims_allows_stream (session->claims, stream_id))
    {
      tether_server_send_request_error (conn, add.req, TETHER_ERROR_PUBLISH_DENIED, "token does not allow this stream id");
      return;
    }
  /* Several nodes: ownership, the limit and the event are Redis' (the embedded media
   * node's claim is still this node's). */
  if (self->cluster != NULL)
    {
      if (!claim_on_relays (self, session, stream_id))
        tether_server_send_request_error (conn, add.req, TETHER_ERROR_STREAM_ID_TAKEN, "stream id in use");
      else
        tether_server_cluster_stream_add (self, session, add.req, &add.stream);
      return;
    }
  tether_server_ingest_adopt (self, session, stream_id);
  existing = g_hash_table_lookup (self->streams, stream_id);
  if ((existing != NULL && existing->session != session)
      || !claim_on_relays (self, session, stream_id))
    {
      tether_server_send_request_error (conn, add.req, TETHER_ERROR_STREAM_ID_TAKEN, "stream id in use");
      return;
    }

  /* Every stream is in every joiner's snapshot: one session cannot fill a room. */
  if (existing == NULL && session->streams.length >= self->max_streams_per_session)
    {
      tether_server_send_request_error (conn, add.req, TETHER_ERROR_STREAM_LIMIT, "too many streams in this session");
      return;
    }

  /* The requester hears the answer before the room hears the event. */
  tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_ADD_OK,
                                                                          add.req));
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

  if (self->cluster != NULL)
    {
      tether_server_cluster_stream_delete (self, session, del.req, del.stream_id, del.reason);
      return;
    }
  stream = g_hash_table_lookup (self->streams, del.stream_id);
  if (stream == NULL || stream->session != session)
    {
      tether_server_send_request_error (conn, del.req, TETHER_ERROR_STREAM_NOT_FOUND, "no such stream of yours");
      return;
    }

  tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_DELETE_OK,
                                                                          del.req));
  tether_server_stream_remove (self, stream, del.reason);
  tether_server_log (G_LOG_LEVEL_DEBUG, session, "stream %s deleted (%s)", del.stream_id,
                     del.reason);
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
  gint64 expires_at;
  char *answer;

  if (!tether_message_read_token_renew (msg, &renew, &error))
    {
      conn_reject_error (conn, error);
      return;
    }

  claims = tether_server_auth_check_token (self, renew.token, session->room->id, session->user_id,
                                           &error);
  if (claims == NULL)
    {
      tether_server_send_request_error (conn, renew.req, error->code, error->message);
      return;
    }

  expires_at = claims->expires_at;
  tether_server_session_set_claims (self, session, g_steal_pointer (&claims), renew.token);
  answer = tether_message_build_token_renew_ok (renew.req, expires_at, session->srt_passphrase);
  tether_server_conn_send_message (conn, answer);
  tether_server_log (G_LOG_LEVEL_DEBUG, session, "token renewed");
}

/* A heartbeat exactly as libtether writes it, {"type":"heartbeat","id":N} with N an
 * integer below 2^53, is answered without the JSON parser and builder: they were
 * half of what an idle session cost (issue 13). Any other shape, spacing or field
 * takes the general path, which answers the same. Returns the digits of N. */
static gsize
heartbeat_match (const char *data,
                 gsize       len)
{
  static const char prefix[] = "{\"type\":\"heartbeat\",\"id\":";
  const gsize start = sizeof prefix - 1;
  gsize end;

  /* 15 digits stay below 2^53. */
  if (len < start + 2 || len > start + 16 || data[len - 1] != '}'
      || memcmp (data, prefix, start) != 0)
    return 0;
  for (end = start; end < len - 1; end++)
    if (!g_ascii_isdigit (data[end]))
      return 0;
  if (data[start] == '0' && end - start > 1)
    return 0;
  return end - start;
}

/* Bad input at the WebSocket level, found by libsoup or by the message size check:
 * counted, and the connection closed (1009 for a message too large). */
static void
conn_reject_input (TetherServerConn *conn,
                   gboolean          too_big,
                   const char       *why)
{
  SoupWebsocketConnection *ws = conn->ws;

  conn->server->stats.rejected_inputs++;
  tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "rejected input from %s: %s",
                     conn->address, why);
  if (conn->state == TETHER_SERVER_CONN_CLOSING)
    return;
  conn_mark_closing (conn);
  /* For an oversized message libsoup drops the connection without a close frame;
   * queueing one here writes it before that happens. For the rest libsoup sent
   * its own close: either way the peer gets CLOSE_GRACE to answer. */
  if (too_big && soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too large");
  conn_await_close (conn);
}

static gboolean
heartbeat_fast (TetherServerConn *conn,
                const char       *data,
                gsize             len)
{
  gsize digits = heartbeat_match (data, len);
  char ack[96];

  if (digits == 0)
    return FALSE;
  g_snprintf (ack, sizeof ack, "{\"type\":\"heartbeat_ack\",\"id\":%.*s,\"seq\":%" G_GINT64_FORMAT "}",
              (int) digits, data + len - 1 - digits, (gint64) conn->session->room->seq);
  tether_server_conn_send (conn, ack);
  return TRUE;
}

/* The guard's hook (tether-guard-stream.c): a lone small message the poller read
 * without libsoup. Only a heartbeat is taken, with what ws_message() does for one. */
static gboolean
conn_message_hook (const char *text,
                   gsize       len,
                   gpointer    user_data)
{
  TetherServerConn *conn = user_data;

  if (conn->state != TETHER_SERVER_CONN_ACTIVE || conn->session == NULL
      || soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN
      || heartbeat_match (text, len) == 0)
    return FALSE;
  tether_guard_stream_renew_input_budget (conn->guard);
  tether_server_session_touch (conn->server, conn->session);
  return heartbeat_fast (conn, text, len);
}

static void
ws_message (SoupWebsocketConnection *ws,
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

  data = g_bytes_get_data (message, &len);
  /* libsoup 3.2 checks each frame against max_frame_size but not the message its
   * fragments make: the guard's budget leaves room for headers and control frames,
   * so a fragmented message a little over the limit arrives here whole. */
  if (len > self->max_frame_size)
    {
      conn_reject_input (conn, TRUE, "fragmented message larger than max-frame-size");
      return;
    }
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      conn_reject (conn, TETHER_ERROR_PROTOCOL, "binary frames are not accepted; send JSON in text frames");
      return;
    }

  if (conn->state != TETHER_SERVER_CONN_PENDING && conn->session != NULL
      && heartbeat_fast (conn, data, len))
    return;
  msg = tether_protocol_parse (data, len, self->max_depth, &error);
  if (msg == NULL)
    {
      conn_reject (conn, error->code, error->message);
      return;
    }

  if (conn->state == TETHER_SERVER_CONN_PENDING)
    {
      if (conn->cluster_login != NULL)
        hold_early (conn, g_steal_pointer (&msg), len);
      else if (tether_message_get_type (msg) == TETHER_MESSAGE_LOGIN)
        handle_login (self, conn, msg);
      else
        conn_reject (conn, TETHER_ERROR_NOT_LOGGED_IN, "the first message must be login");
      return;
    }

  /* An active connection whose session was taken away has nothing left to say. */
  if (conn->session == NULL)
    return;
  handle_member_message (self, conn, msg);
}

/* What a client sends after its login, before its login_ok (a cluster node awaits
 * Redis for it) is handled after login_ok, in order, as one node would handle it: at
 * most MAX_EARLY messages and max-frame-size bytes of them. */
static void
hold_early (TetherServerConn *conn,
            JsonObject       *msg,
            gsize             len)
{
  if (conn->early.length >= MAX_EARLY || conn->early_bytes + len > conn->server->max_frame_size)
    {
      json_object_unref (msg);
      conn_reject (conn, TETHER_ERROR_PROTOCOL, "too much sent before login_ok");
      return;
    }
  conn->early_bytes += len;
  g_queue_push_tail (&conn->early, msg);
}

/**
 * tether_server_conn_handle_early:
 *
 * Handles what @conn sent while its login awaited Redis, now that it is a member.
 */
void
tether_server_conn_handle_early (TetherServerConn *conn)
{
  JsonObject *msg;

  while ((msg = g_queue_pop_head (&conn->early)) != NULL)
    {
      if (conn->state != TETHER_SERVER_CONN_CLOSING && conn->session != NULL)
        handle_member_message (conn->server, conn, msg);
      json_object_unref (msg);
    }
  conn->early_bytes = 0;
}

static void
handle_member_message (TetherServer     *self,
                       TetherServerConn *conn,
                       JsonObject       *msg)
{
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
ws_error (SoupWebsocketConnection *ws,
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
  conn_reject_input (conn, error->code == SOUP_WEBSOCKET_CLOSE_TOO_BIG, error->message);
}

static void
ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherServerConn *conn = user_data;

  /* A connection lost without logout leaves the user in the room: only the
   * heartbeat timeout removes it, which is what lets a quick resume go unseen. */
  tether_server_log (G_LOG_LEVEL_DEBUG, conn->session, "connection from %s closed (%u)",
                     conn->address, soup_websocket_connection_get_close_code (ws));
  conn_free (conn);
}

/* libsoup calls these on the connection's shard context (tether-guard-stream.c), as
 * the thread-default; the server's code runs with its own context as the default,
 * so whatever it starts (a task, a source) is on the context that runs the server. */
static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  GMainContext *context = ((TetherServerConn *) user_data)->server->context;

  g_main_context_push_thread_default (context);
  ws_message (ws, type, message, user_data);
  g_main_context_pop_thread_default (context);
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  GMainContext *context = ((TetherServerConn *) user_data)->server->context;

  g_main_context_push_thread_default (context);
  ws_error (ws, error, user_data);
  g_main_context_pop_thread_default (context);
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  GMainContext *context = ((TetherServerConn *) user_data)->server->context;

  g_main_context_push_thread_default (context);
  ws_closed (ws, user_data);
  g_main_context_pop_thread_default (context);
}

/**
 * tether_server_client_accept:
 *
 * The `/ws` handler of the public port: a new WebSocket, waiting for its login.
 */
void
tether_server_client_accept (SoupServer              *server,
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
  conn->address = tether_server_client_address (self, msg, link->address);
  conn->state = TETHER_SERVER_CONN_PENDING;
  conn->connected_at = g_get_monotonic_time ();
  conn->link.data = conn;
  conn->pending_link.data = conn;
  g_queue_push_tail_link (&self->conns, &conn->link);
  g_queue_push_tail_link (&self->pending, &conn->pending_link);

  soup_websocket_connection_set_max_incoming_payload_size (ws, self->max_frame_size);
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  /* After a request without a body, libsoup reads frames only: heartbeats can skip it. */
  {
    SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

    if (soup_message_headers_get_one (headers, "Content-Length") == NULL
        && soup_message_headers_get_one (headers, "Transfer-Encoding") == NULL)
      tether_guard_stream_set_message_hook (conn->guard, conn_message_hook, conn);
  }
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), conn);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), conn);
}

/* Deadlines, run by tether_server_sweep() */

/* Connections that did not log in within login-grace are told so and closed. */
void
tether_server_conns_sweep_logins (TetherServer *self,
                                  gint64        now)
{
  GList *l;

  while ((l = self->pending.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      if (conn->connected_at + USEC (self->login_grace) > now)
        break;
      tether_server_conn_fail (conn, TETHER_ERROR_LOGIN_TIMEOUT, "no login in time", TETHER_CLOSE_LOGIN_TIMEOUT);
    }
}

/* A close handshake that did not finish within CLOSE_GRACE: cut the socket. */
void
tether_server_conns_sweep_closing (TetherServer *self,
                                   gint64        now)
{
  GList *l;

  while ((l = self->closing.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      if (conn->close_deadline > now)
        break;
      g_queue_unlink (&self->closing, &conn->closing_link);
      conn->close_deadline = 0;
      g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
    }
}

/* Drops every connection without a word (dispose). */
void
tether_server_conns_clear (TetherServer *self)
{
  GList *l;

  while ((l = self->conns.head) != NULL)
    {
      TetherServerConn *conn = l->data;

      g_signal_handlers_disconnect_by_data (conn->ws, conn);
      if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      conn_free (conn);
    }
  g_queue_init (&self->pending);
}
