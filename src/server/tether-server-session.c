/* tether-server-session.c: sessions — ids and resume keys, joining and leaving a
 * room, the deadline queues (activity, token, retirement) — and the sweep, the one
 * timer that serves every deadline of the service
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <malloc.h>
#include <sys/random.h>

#include "tether-error.h"
#include "tether-message.h"
#include "tether-server-private.h"
#include "tether-srt-url-private.h"

#define USEC TETHER_SERVER_USEC
#define TRIM_INTERVAL (30 * G_USEC_PER_SEC)

/* Session ids and resume keys are bearer secrets: they come from the kernel's CSPRNG,
 * not from g_random. */
char *
tether_server_random_hex (gsize n_bytes)
{
  g_autofree guint8 *bytes = g_malloc (n_bytes);
  GString *hex = g_string_sized_new (n_bytes * 2);
  gsize got = 0;

  while (got < n_bytes)
    {
      ssize_t r = getrandom (bytes + got, n_bytes - got, 0);

      if (r <= 0)
        break;
      got += (gsize) r;
    }
  for (; got < n_bytes; got++)
    bytes[got] = (guint8) g_random_int_range (0, 256);

  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);

  return g_string_free (hex, FALSE);
}

/* Sessions */

static gint
compare_token_deadline (gconstpointer a,
                        gconstpointer b,
                        gpointer      user_data)
{
  const TetherServerSession *sa = a;
  const TetherServerSession *sb = b;

  if (sa->token_deadline != sb->token_deadline)
    return sa->token_deadline < sb->token_deadline ? -1 : 1;
  if (sa->serial != sb->serial)
    return sa->serial < sb->serial ? -1 : 1;
  return 0;
}

static void
session_unschedule_token (TetherServerSession *session)
{
  if (session->token_iter != NULL)
    {
      g_sequence_remove (session->token_iter);
      session->token_iter = NULL;
    }
}

void
tether_server_session_schedule_token (TetherServer        *self,
                                      TetherServerSession *session)
{
  session_unschedule_token (session);
  if (!session->present)
    return;
  session->token_deadline = session->token_warned
    ? session->token_expiry
    : session->token_expiry - TETHER_SERVER_USEC (self->token_warning);
  session->token_iter = g_sequence_insert_sorted (self->token_deadlines, session,
                                                  compare_token_deadline, NULL);
}

static void
session_set_lru (TetherServerSession *session,
                 GQueue              *queue)
{
  if (session->lru_queue != NULL)
    g_queue_unlink (session->lru_queue, &session->lru_link);
  session->lru_queue = queue;
  if (queue != NULL)
    g_queue_push_tail_link (queue, &session->lru_link);
}

/* @claims (adopted) are those of @token, whose SRT passphrase the session hands out
 * (docs/protocol.md, "Media encryption") when the server's nodes encrypt. */
void
tether_server_session_set_claims (TetherServer        *self,
                                  TetherServerSession *session,
                                  TetherTokenClaims   *claims,
                                  const char          *token)
{
  gint64 remaining_us;

  g_clear_pointer (&session->claims, tether_token_claims_free);
  session->claims = claims;
  g_clear_pointer (&session->srt_passphrase, tether_srt_passphrase_free);
  if (self->srt_encryption)
    session->srt_passphrase = tether_srt_passphrase_derive (self->app_secret, token);

  /* Token times are wall-clock seconds; deadlines are kept on the monotonic clock. */
  remaining_us = claims->expires_at * G_USEC_PER_SEC - g_get_real_time ();
  session->token_expiry = g_get_monotonic_time () + remaining_us;
  session->token_warned = FALSE;
  tether_server_session_schedule_token (self, session);
}

TetherServerSession *
tether_server_session_new (TetherServer      *self,
                           TetherServerRoom  *room,
                           const char        *user_id,
                           const char        *user_name,
                           gboolean           notify_users,
                           TetherTokenClaims *claims,
                           const char        *token)
{
  g_autofree char *id = tether_server_random_hex (16);
  g_autofree char *resume_key = tether_server_random_hex (32);

  return tether_server_session_new_with_id (self, room, id, resume_key, user_id, user_name,
                                            notify_users, claims, token);
}

/* A session of a known id and resume key: in cluster mode these are made before
 * Redis hears of the login, or come from a resume that moved to this node. */
TetherServerSession *
tether_server_session_new_with_id (TetherServer      *self,
                                   TetherServerRoom  *room,
                                   const char        *id,
                                   const char        *resume_key,
                                   const char        *user_id,
                                   const char        *user_name,
                                   gboolean           notify_users,
                                   TetherTokenClaims *claims,
                                   const char        *token)
{
  TetherServerSession *session = g_new0 (TetherServerSession, 1);

  session->serial = ++self->next_serial;
  session->id = g_strdup (id);
  session->resume_key = g_strdup (resume_key);
  session->room = room;
  room->refs++;
  session->user_id = g_strdup (user_id);
  session->user_name = g_strdup (user_name);
  session->notify_users = notify_users;
  session->last_activity = g_get_monotonic_time ();
  session->member_link.data = session;
  session->lru_link.data = session;
  tether_server_session_set_claims (self, session, claims, token);
  g_hash_table_insert (self->sessions, session->id, session);

  return session;
}

void
tether_server_session_join (TetherServer        *self,
                            TetherServerSession *session,
                            TetherServerSession *replaces)
{
  TetherServerRoom *room = session->room;

  g_assert (!session->present);

  if (replaces != NULL)
    {
      /* Duplicate login: the new session takes the old one's place in the
       * member list, so the user never leaves the room. */
      g_assert (replaces->present && replaces->room == room);
      g_queue_insert_before_link (&room->members, &replaces->member_link, &session->member_link);
      g_queue_unlink (&room->members, &replaces->member_link);
      replaces->present = FALSE;
      session_unschedule_token (replaces);
      session_set_lru (replaces, NULL);
    }
  else
    {
      g_queue_push_tail_link (&room->members, &session->member_link);
      if (room->members.length == 1)
        self->n_active_rooms++;
    }
  g_hash_table_replace (room->by_user, session->user_id, session);

  session->present = TRUE;
  session->last_activity = g_get_monotonic_time ();
  session_set_lru (session, &self->present);
  tether_server_session_schedule_token (self, session);
}

/* Takes a present session out of its room's member list, without an event. */
static void
session_unlink (TetherServer        *self,
                TetherServerSession *session)
{
  TetherServerRoom *room = session->room;

  g_queue_unlink (&room->members, &session->member_link);
  if (g_hash_table_lookup (room->by_user, session->user_id) == session)
    g_hash_table_remove (room->by_user, session->user_id);
  if (room->members.length == 0)
    self->n_active_rooms--;
  session->present = FALSE;
  session_unschedule_token (session);
  session_set_lru (session, NULL);
}

void
tether_server_session_leave (TetherServer        *self,
                             TetherServerSession *session,
                             const char          *stream_reason)
{
  if (!session->present)
    return;

  tether_server_session_delete_streams (self, session, stream_reason);
  session_unlink (self, session);
  tether_server_room_emit_user (self, session->room, TETHER_UPDATE_DELETE, session);
}

/* Cluster mode: forgets a session of this node without a word to anyone — Redis
 * tells the rooms (tether-server-cluster.c). Its connection is the caller's. */
void
tether_server_session_drop (TetherServer        *self,
                            TetherServerSession *session)
{
  GList *l;

  if (session->conn != NULL)
    tether_server_conn_detach (session->conn);
  while ((l = session->streams.head) != NULL)
    tether_server_stream_drop (self, l->data);
  if (session->present)
    session_unlink (self, session);
  tether_server_session_forget (self, session);
}

void
tether_server_session_retire (TetherServer        *self,
                              TetherServerSession *session,
                              gint64               forget_at)
{
  g_assert (!session->present);

  session->forget_at = forget_at;
  session_set_lru (session, &self->retired);
}

void
tether_server_session_forget (TetherServer        *self,
                              TetherServerSession *session)
{
  g_assert (!session->present);
  g_assert (session->streams.length == 0);

  if (session->conn != NULL)
    {
      session->conn->session = NULL;
      session->conn = NULL;
    }
  session_unschedule_token (session);
  session_set_lru (session, NULL);
  g_hash_table_remove (self->sessions, session->id);
  tether_server_room_release (self, session->room);
  tether_server_session_free (session);
}

/* Frees the session itself; its room, queues and tables are the caller's business. */
void
tether_server_session_free (TetherServerSession *session)
{
  g_queue_clear_full (&session->held, g_free);
  g_clear_pointer (&session->claims, tether_token_claims_free);
  g_clear_pointer (&session->srt_passphrase, tether_srt_passphrase_free);
  g_free (session->id);
  g_free (session->resume_key);
  g_free (session->user_id);
  g_free (session->user_name);
  g_free (session);
}

/* Cluster mode: a stream request of @session was answered; once none is left, the
 * events held for it meanwhile go out, in order. */
void
tether_server_session_release_held (TetherServerSession *session)
{
  char *json;

  if (session->requests > 0)
    session->requests--;
  if (session->requests > 0)
    return;
  session->held_bytes = 0;
  while ((json = g_queue_pop_head (&session->held)) != NULL)
    {
      if (session->conn != NULL)
        tether_server_conn_send (session->conn, json);
      g_free (json);
    }
}

/* Cluster mode: event @json waits for the answer to a stream request of @session.
 * A client that always keeps a request in flight would have the room's events held
 * for good: past max-send-queue bytes held, it is dropped like a client that does not
 * read (4413; its session stays). */
void
tether_server_session_hold (TetherServerSession *session,
                            const char          *json)
{
  TetherServerConn *conn = session->conn;
  gsize len = strlen (json);

  if (conn == NULL || conn->state == TETHER_SERVER_CONN_CLOSING)
    return;
  if (session->held.length > 0 && session->held_bytes + len > conn->server->max_send_queue)
    {
      conn->server->stats.slow_consumers++;
      tether_server_log (G_LOG_LEVEL_INFO, session,
                         "dropping the connection from %s: over %u bytes held while its requests "
                         "await Redis", conn->address, conn->server->max_send_queue);
      g_queue_clear_full (&session->held, g_free);
      session->held_bytes = 0;
      tether_server_conn_close (conn, TETHER_CLOSE_SLOW_CONSUMER, "send queue full");
      return;
    }
  g_queue_push_tail (&session->held, g_strdup (json));
  session->held_bytes += len;
}

void
tether_server_session_attach (TetherServer        *self,
                              TetherServerSession *session,
                              TetherServerConn    *conn)
{
  g_assert (session->conn == NULL);
  g_assert (conn->state == TETHER_SERVER_CONN_PENDING);

  g_queue_unlink (&self->pending, &conn->pending_link);
  conn->state = TETHER_SERVER_CONN_ACTIVE;
  conn->session = session;
  session->conn = conn;
}

void
tether_server_session_touch (TetherServer        *self,
                             TetherServerSession *session)
{
  session->last_activity = g_get_monotonic_time ();
  /* Moving to the tail keeps the present queue ordered by activity, so the sweep
   * only ever looks at its head. */
  if (session->present)
    session_set_lru (session, &self->present);
}

/* The sweep */

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
  if (self->cluster != NULL)
    {
      tether_server_cluster_leave (self, session, TETHER_REASON_HEARTBEAT_TIMEOUT, forget_at - now);
      return;
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
      double remaining = MAX (0.0, (session->token_expiry - g_get_monotonic_time ())
                                   / (double) G_USEC_PER_SEC);

      session->token_warned = TRUE;
      tether_server_session_schedule_token (self, session);
      if (conn != NULL)
        tether_server_conn_send_message (conn,
                                         tether_message_build_token_will_expire (session->claims->expires_at,
                                                                                 remaining));
      return;
    }

  self->stats.kicks++;
  tether_server_log (G_LOG_LEVEL_INFO, session, "kicked out: token expired");
  if (conn != NULL)
    {
      tether_server_conn_detach (conn);
      tether_server_conn_kick (conn, TETHER_ERROR_TOKEN_EXPIRED, "token expired");
    }
  if (self->cluster != NULL)
    {
      tether_server_cluster_leave (self, session, TETHER_REASON_KICKED, 0);
      return;
    }
  tether_server_session_leave (self, session, TETHER_REASON_KICKED);
  tether_server_session_forget (self, session);
}

/**
 * tether_server_sweep:
 * @user_data: the #TetherServer
 *
 * The service's one periodic timer (started by tether_server_listen()): every
 * deadline queue is ordered by its deadline, so a tick only looks at the entries
 * that are actually due.
 *
 * Returns: %G_SOURCE_CONTINUE
 */
gboolean
tether_server_sweep (gpointer user_data)
{
  TetherServer *self = user_data;
  gint64 now = g_get_monotonic_time ();
  GSequenceIter *iter;
  GList *l;

  tether_server_conns_sweep_logins (self, now);

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

  tether_server_conns_sweep_closing (self, now);

  /* glibc keeps what a crowd freed for the next crowd; give it back once in a while
   * so that the server's size follows its load. */
  if (now - self->last_trim >= TRIM_INTERVAL)
    {
      malloc_trim (0);
      self->last_trim = now;
    }

  tether_server_auth_sweep (self, now);

  return G_SOURCE_CONTINUE;
}

