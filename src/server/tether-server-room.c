/* tether-server-room.c: the room service's model — rooms, their streams and the
 * per-room event log that is fanned out once and replayed on resume
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-protocol.h"
#include "tether-server-private.h"

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
      if (self->cluster != NULL)
        tether_server_cluster_room_new (self, room);
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

/* Cluster mode, after Redis lost the room: its events start again from seq 1. */
void
tether_server_room_reset (TetherServerRoom *room)
{
  g_queue_clear_full (&room->backlog, (GDestroyNotify) event_free);
  room->backlog_size = 0;
  room->seq = 0;
  room->pending_max = 0;
  room->synced = FALSE;
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
  if (self->cluster != NULL)
    tether_server_cluster_room_gone (self, room);
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

/* Stores the serialised event @seq in the room's backlog and sends it to every
 * present member that should get it. Takes @json. The backlog keeps the latest events
 * within both bounds, a count and a size: with 4 KB of `extra` per stream event a
 * count alone would let one publisher make every room hold megabytes. In cluster
 * mode the events come from Redis (tether-server-cluster.c), in seq order. */
void
tether_server_room_publish (TetherServer     *self,
                            TetherServerRoom *room,
                            guint64           seq,
                            char             *json,
                            gboolean          user_event,
                            guint64           subject)
{
  TetherServerEvent *ev;
  g_autofree guint8 *frame = NULL;
  gsize frame_size = 0;

  self->stats.events++;

  /* Framed once for everyone. */
  if (room->members.length > 1)
    frame = tether_server_frame_new (json, &frame_size);
  for (GList *l = room->members.head; l != NULL; l = l->next)
    {
      TetherServerSession *member = l->data;

      if (member->conn == NULL || seq <= member->seq_from || !event_is_for (member, user_event, subject))
        continue;
      /* The answer to a request goes before the event it causes (cluster mode, where
       * the two come on two Redis connections). */
      if (member->requests > 0)
        tether_server_session_hold (member, json);
      else
        tether_server_conn_send_frame (member->conn, json, frame, frame_size);
    }

  ev = g_new (TetherServerEvent, 1);
  ev->seq = seq;
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

  tether_server_room_publish (self, room, room->seq, tether_message_build_event (&ev), TRUE,
                              subject->serial);
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
  tether_server_room_publish (self, room, room->seq, tether_message_build_event (&ev), FALSE, 0);
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

/* Streams */

static void
stream_destroy (TetherServerStream *stream)
{
  g_free (stream->id);
  g_free (stream->node);
  g_free (stream->extra);
  g_free (stream);
}

/* Forgets @stream without an event (its DELETE is sent or not the caller's to send). */
void
tether_server_stream_drop (TetherServer       *self,
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
  stream_destroy (stream);
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
    tether_server_stream_drop (self, g_ptr_array_index (streams, i));
}

/* Records a stream of @session, or updates its own stream of that id, without an
 * event; *@changed says whether members must hear of it. The caller has checked that
 * the id is free or already the session's. */
TetherServerStream *
tether_server_stream_put (TetherServer        *self,
                          TetherServerSession *session,
                          const char          *stream_id,
                          const char          *node,
                          const char          *extra,
                          gboolean            *changed)
{
  TetherServerStream *stream = g_hash_table_lookup (self->streams, stream_id);

  *changed = TRUE;
  if (stream != NULL)
    {
      g_assert (stream->session == session);
      /* Re-announce only a real change (a publisher that moved to another node). */
      if (g_strcmp0 (stream->node, node) == 0 && g_strcmp0 (stream->extra, extra) == 0)
        {
          *changed = FALSE;
          return stream;
        }
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
  return stream;
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
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  gboolean changed;
  TetherServerStream *stream = tether_server_stream_put (self, session, stream_id, node, extra,
                                                         &changed);

  if (!changed)
    return stream;
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
  tether_server_stream_drop (self, stream);
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
      stream_destroy (stream);
    }
  tether_server_ingest_clear (self);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TetherServerSession *session = value;

      g_hash_table_iter_steal (&iter);
      if (session->conn != NULL)
        session->conn->session = NULL;
      tether_server_session_free (session);
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
