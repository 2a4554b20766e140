/* tether-server-room.c: the room service's model — rooms, sessions, streams and the
 * per-room event log that is fanned out once and replayed on resume
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "tether-protocol.h"
#include "tether-server-private.h"

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

/* Rooms */

TetherServerRoom *
tether_server_room_acquire (TetherServer *self,
                            const char   *room_id)
{
  TetherServerRoom *room = g_hash_table_lookup (self->rooms, room_id);

  if (room == NULL)
    {
      room = g_new0 (TetherServerRoom, 1);
      room->id = g_strdup (room_id);
      room->room_session_id = tether_server_random_hex (16);
      room->by_user = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_insert (self->rooms, room->id, room);
    }
  room->refs++;

  return room;
}

static void
event_free (TetherServerEvent *ev)
{
  g_free (ev->json);
  g_free (ev);
}

static void
room_free (TetherServerRoom *room)
{
  g_queue_clear_full (&room->backlog, (GDestroyNotify) event_free);
  g_hash_table_unref (room->by_user);
  g_free (room->room_session_id);
  g_free (room->id);
  g_free (room);
}

void
tether_server_room_release (TetherServer     *self,
                            TetherServerRoom *room)
{
  g_assert (room->refs > 0);

  if (--room->refs > 0)
    return;

  g_assert (room->members.length == 0);
  g_assert (room->streams.length == 0);
  g_hash_table_remove (self->rooms, room->id);
  room_free (room);
}

/* The wire form of a member and of a stream (docs/protocol.md, "Server → client"):
 * views into the model, valid while it is unchanged. */
TetherMessageUser
tether_server_session_to_message (TetherServerSession *session)
{
  return (TetherMessageUser) { session->user_id, session->user_name };
}

TetherMessageStream
tether_server_stream_to_message (TetherServerStream *stream)
{
  return (TetherMessageStream) {
    stream->id, stream->session->user_id, stream->session->user_name, stream->node,
    stream->extra,
  };
}

static gboolean
event_is_for (TetherServerSession *session,
              gboolean             user_event,
              guint64              subject)
{
  /* Users never hear about their own arrival or departure; stream events about
   * their own streams they do get (they confirm what the publisher did). */
  if (user_event)
    return session->notify_users && session->serial != subject;
  return TRUE;
}

/* Stores the serialised event in the room's backlog and sends it to every present
 * member that should get it. Takes @json. The backlog keeps the latest events within
 * both bounds, a count and a size: with 4 KB of `extra` per stream event a count
 * alone would let one publisher make every room hold megabytes. */
static void
room_publish (TetherServer     *self,
              TetherServerRoom *room,
              char             *json,
              gboolean          user_event,
              guint64           subject)
{
  TetherServerEvent *ev;

  self->stats.events++;

  for (GList *l = room->members.head; l != NULL; l = l->next)
    {
      TetherServerSession *member = l->data;

      if (member->conn != NULL && event_is_for (member, user_event, subject))
        tether_server_conn_send (member->conn, json);
    }

  ev = g_new (TetherServerEvent, 1);
  ev->seq = room->seq;
  ev->json = json;
  ev->size = strlen (json);
  ev->user_event = user_event;
  ev->subject = subject;
  g_queue_push_tail (&room->backlog, ev);
  room->backlog_size += ev->size;

  while (room->backlog.length > self->event_backlog
         || (room->backlog.length > 0 && room->backlog_size > self->event_backlog_bytes))
    {
      TetherServerEvent *oldest = g_queue_pop_head (&room->backlog);

      room->backlog_size -= oldest->size;
      event_free (oldest);
    }
}

void
tether_server_room_emit_user (TetherServer        *self,
                              TetherServerRoom    *room,
                              TetherUpdateType     update,
                              TetherServerSession *subject)
{
  TetherMessageUser user = tether_server_session_to_message (subject);
  TetherEventMessage ev = {
    .seq = (gint64) ++room->seq, .kind = TETHER_MESSAGE_KIND_USER, .update = update,
    .users = &user, .n_users = 1,
  };

  room_publish (self, room, tether_message_build_event (&ev), TRUE, subject->serial);
}

void
tether_server_room_emit_streams (TetherServer     *self,
                                 TetherServerRoom *room,
                                 TetherUpdateType  update,
                                 const char       *reason,
                                 GPtrArray        *streams)
{
  g_autofree TetherMessageStream *items = g_new (TetherMessageStream, MAX (streams->len, 1));
  TetherEventMessage ev = {
    .seq = (gint64) ++room->seq, .kind = TETHER_MESSAGE_KIND_STREAM, .update = update,
    .reason = reason, .streams = items, .n_streams = streams->len,
  };

  for (guint i = 0; i < streams->len; i++)
    items[i] = tether_server_stream_to_message (g_ptr_array_index (streams, i));
  room_publish (self, room, tether_message_build_event (&ev), FALSE, 0);
}

gboolean
tether_server_room_can_replay (TetherServerRoom *room,
                               guint64           last_seq)
{
  TetherServerEvent *oldest;

  if (last_seq > room->seq)
    return FALSE;
  if (last_seq == room->seq)
    return TRUE;
  oldest = g_queue_peek_head (&room->backlog);

  return oldest != NULL && last_seq + 1 >= oldest->seq;
}

void
tether_server_room_replay (TetherServer        *self,
                           TetherServerSession *session,
                           guint64              last_seq)
{
  TetherServerRoom *room = session->room;
  GList *l;

  /* The backlog holds consecutive seqs up to room->seq: walk back to the first one
   * missed (a resume usually missed few), then forward. */
  for (l = room->backlog.tail; l != NULL && l->prev != NULL; l = l->prev)
    if (((TetherServerEvent *) l->data)->seq <= last_seq + 1)
      break;
  for (; l != NULL; l = l->next)
    {
      TetherServerEvent *ev = l->data;

      if (ev->seq <= last_seq)
        continue;
      if (session->conn != NULL && event_is_for (session, ev->user_event, ev->subject))
        tether_server_conn_send (session->conn, ev->json);
    }
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

void
tether_server_session_set_claims (TetherServer        *self,
                                  TetherServerSession *session,
                                  TetherTokenClaims   *claims)
{
  gint64 remaining_us;

  g_clear_pointer (&session->claims, tether_token_claims_free);
  session->claims = claims;

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
                           TetherTokenClaims *claims)
{
  TetherServerSession *session = g_new0 (TetherServerSession, 1);

  session->serial = ++self->next_serial;
  session->id = tether_server_random_hex (16);
  session->resume_key = tether_server_random_hex (32);
  session->room = room;
  room->refs++;
  session->user_id = g_strdup (user_id);
  session->user_name = g_strdup (user_name);
  session->notify_users = notify_users;
  session->last_activity = g_get_monotonic_time ();
  session->member_link.data = session;
  session->lru_link.data = session;
  tether_server_session_set_claims (self, session, claims);
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

void
tether_server_session_leave (TetherServer        *self,
                             TetherServerSession *session,
                             const char          *stream_reason)
{
  TetherServerRoom *room = session->room;

  if (!session->present)
    return;

  tether_server_session_delete_streams (self, session, stream_reason);

  g_queue_unlink (&room->members, &session->member_link);
  if (g_hash_table_lookup (room->by_user, session->user_id) == session)
    g_hash_table_remove (room->by_user, session->user_id);
  if (room->members.length == 0)
    self->n_active_rooms--;
  session->present = FALSE;
  session_unschedule_token (session);
  session_set_lru (session, NULL);

  tether_server_room_emit_user (self, room, TETHER_UPDATE_DELETE, session);
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

  g_clear_pointer (&session->claims, tether_token_claims_free);
  g_free (session->id);
  g_free (session->resume_key);
  g_free (session->user_id);
  g_free (session->user_name);
  g_free (session);
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

/* Streams */

static void
stream_free (TetherServer       *self,
             TetherServerStream *stream)
{
  /* The embedded media nodes keep the id for its owner a while longer (claim-ttl),
   * so nobody else publishes under it while the host comes back. */
  for (guint i = 0; i < self->relays->len; i++)
    tether_relay_release_stream (g_ptr_array_index (self->relays, i), stream->id,
                                 stream->session->user_id);
  g_hash_table_remove (self->streams, stream->id);
  g_queue_unlink (&stream->session->room->streams, &stream->room_link);
  g_queue_unlink (&stream->session->streams, &stream->session_link);
  g_free (stream->id);
  g_free (stream->node);
  g_free (stream->extra);
  g_free (stream);
}

void
tether_server_session_delete_streams (TetherServer        *self,
                                      TetherServerSession *session,
                                      const char          *reason)
{
  g_autoptr(GPtrArray) streams = NULL;

  if (session->streams.length == 0)
    return;

  streams = g_ptr_array_sized_new (session->streams.length);
  for (GList *l = session->streams.head; l != NULL; l = l->next)
    g_ptr_array_add (streams, l->data);

  tether_server_room_emit_streams (self, session->room, TETHER_UPDATE_DELETE, reason, streams);
  for (guint i = 0; i < streams->len; i++)
    stream_free (self, g_ptr_array_index (streams, i));
}

/* Adds a stream, or updates the caller's own stream of that id. The caller has
 * checked that the id is free or already the session's. */
TetherServerStream *
tether_server_stream_add (TetherServer        *self,
                          TetherServerSession *session,
                          const char          *stream_id,
                          const char          *node,
                          const char          *extra)
{
  TetherServerStream *stream = g_hash_table_lookup (self->streams, stream_id);
  g_autoptr(GPtrArray) one = g_ptr_array_new ();

  if (stream != NULL)
    {
      g_assert (stream->session == session);
      /* Re-announce only a real change (a publisher that moved to another node). */
      if (g_strcmp0 (stream->node, node) == 0 && g_strcmp0 (stream->extra, extra) == 0)
        return stream;
      g_free (stream->node);
      g_free (stream->extra);
    }
  else
    {
      stream = g_new0 (TetherServerStream, 1);
      stream->id = g_strdup (stream_id);
      stream->session = session;
      stream->room_link.data = stream;
      stream->session_link.data = stream;
      g_hash_table_insert (self->streams, stream->id, stream);
      g_queue_push_tail_link (&session->room->streams, &stream->room_link);
      g_queue_push_tail_link (&session->streams, &stream->session_link);
    }
  stream->node = g_strdup (node);
  stream->extra = g_strdup (extra);

  g_ptr_array_add (one, stream);
  tether_server_room_emit_streams (self, session->room, TETHER_UPDATE_ADD, NULL, one);

  return stream;
}

void
tether_server_stream_remove (TetherServer       *self,
                             TetherServerStream *stream,
                             const char         *reason)
{
  g_autoptr(GPtrArray) one = g_ptr_array_new ();

  g_ptr_array_add (one, stream);
  tether_server_room_emit_streams (self, stream->session->room, TETHER_UPDATE_DELETE, reason, one);
  stream_free (self, stream);
}

/* Drops the whole model without sending anything (dispose). */
void
tether_server_model_clear (TetherServer *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TetherServerStream *stream = value;

      g_hash_table_iter_steal (&iter);
      g_free (stream->id);
      g_free (stream->node);
      g_free (stream->extra);
      g_free (stream);
    }

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TetherServerSession *session = value;

      g_hash_table_iter_steal (&iter);
      if (session->conn != NULL)
        session->conn->session = NULL;
      g_clear_pointer (&session->claims, tether_token_claims_free);
      g_free (session->id);
      g_free (session->resume_key);
      g_free (session->user_id);
      g_free (session->user_name);
      g_free (session);
    }

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_steal (&iter);
      room_free (value);
    }

  g_queue_init (&self->present);
  g_queue_init (&self->retired);
  if (self->token_deadlines != NULL)
    g_sequence_remove_range (g_sequence_get_begin_iter (self->token_deadlines),
                             g_sequence_get_end_iter (self->token_deadlines));
  self->n_active_rooms = 0;
}
