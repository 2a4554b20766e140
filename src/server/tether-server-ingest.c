/* tether-server-ingest.c: ingest — a publisher (OBS, ffmpeg, gst-launch) that reaches an
 * embedded media node with a publish token but has no room session, shown in its
 * token's room as a stream of its user
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-server-private.h"

/* See docs/design.md, "Ingest", and docs/protocol.md, "Ingest". Each ingest stream
 * belongs to an *ingest holder*: a TetherServerSession that is never present (not a
 * member, no connection, no token deadlines, not in server->sessions) and holds only
 * that stream. Members thus see the stream of the token's user with the same fields
 * as any other, and no user ADD or DELETE: the host is not in the room unless it
 * logs in. A room session of the same user that announces the id (libtether's
 * publisher does, right after its media starts) adopts the stream without an event. */

#define NODE_ID_KEY "tether-server-node-id"

static TetherServerSession *
holder_new (TetherServer *self,
            const char   *room_id,
            const char   *user_id)
{
  TetherServerSession *holder = g_new0 (TetherServerSession, 1);
  TetherServerRoom *room = tether_server_room_acquire (self, room_id);
  TetherServerSession *member = g_hash_table_lookup (room->by_user, user_id);

  holder->serial = ++self->next_serial;
  holder->id = tether_server_random_hex (16);
  holder->room = room;
  holder->user_id = g_strdup (user_id);
  /* A publisher has no name of its own: the user's, when it is in the room. */
  holder->user_name = g_strdup (member != NULL ? member->user_name : user_id);
  holder->member_link.data = holder;
  holder->lru_link.data = holder;

  return holder;
}

static void
holder_free (TetherServer        *self,
             TetherServerSession *holder)
{
  g_assert (holder->streams.length == 0);

  tether_server_room_release (self, holder->room);
  tether_server_session_free (holder);
}

/* The room's reason for the node's: a publisher that closed stopped; one that went
 * silent or whose node stopped was lost; one that came back (the same user
 * publishing again while its old link was still open) is the host-crash case,
 * DELETE now and ADD when its media starts. */
static const char *
delete_reason (const char *relay_reason)
{
  if (g_strcmp0 (relay_reason, TETHER_RELAY_REASON_DISCONNECTED) == 0)
    return "stopped";
  if (g_strcmp0 (relay_reason, TETHER_RELAY_REASON_REPLACED) == 0)
    return "duplicate_login";
  return "media_lost";
}

static void
media_started_cb (TetherRelay  *relay,
                  const char   *stream_id,
                  const char   *user_id,
                  const char   *room_id,
                  TetherServer *self)
{
  TetherServerStream *existing = g_hash_table_lookup (self->streams, stream_id);
  TetherServerSession *holder;

  if (self->shut_down)
    return;
  if (existing != NULL)
    {
      /* A member announced it (the libtether path): nothing to add. */
      if (g_strcmp0 (existing->session->user_id, user_id) != 0)
        g_message ("ingest: stream %s of %s is announced by another user; not shown",
                   stream_id, user_id);
      return;
    }
  if (room_id == NULL)
    {
      g_message ("ingest: %s publishes stream %s with a token that names no room; "
                 "it is shown in no room until a member announces it", user_id, stream_id);
      return;
    }

  holder = holder_new (self, room_id, user_id);
  g_hash_table_insert (self->ingests, g_strdup (stream_id), holder);
  tether_server_stream_add (self, holder, stream_id,
                            g_object_get_data (G_OBJECT (relay), NODE_ID_KEY), "");
  tether_server_log (G_LOG_LEVEL_INFO, holder, "ingest stream %s added", stream_id);
}

static void
publisher_removed_cb (TetherRelay  *relay,
                      const char   *stream_id,
                      const char   *user_id,
                      const char   *reason,
                      TetherServer *self)
{
  TetherServerSession *holder = g_hash_table_lookup (self->ingests, stream_id);
  TetherServerStream *stream;

  if (holder == NULL || g_strcmp0 (holder->user_id, user_id) != 0)
    return;

  stream = g_hash_table_lookup (self->streams, stream_id);
  g_assert (stream != NULL && stream->session == holder);
  tether_server_log (G_LOG_LEVEL_INFO, holder, "ingest stream %s deleted (%s)", stream_id,
                     delete_reason (reason));
  g_hash_table_remove (self->ingests, stream_id);
  tether_server_stream_remove (self, stream, delete_reason (reason));
  holder_free (self, holder);
}

/* tether_server_attach_relay(): the room shows @relay's ingest publishers, on node
 * @node_id. */
void
tether_server_ingest_watch (TetherServer *self,
                            TetherRelay  *relay,
                            const char   *node_id)
{
  g_object_set_data_full (G_OBJECT (relay), NODE_ID_KEY, g_strdup (node_id), g_free);
  g_signal_connect_object (relay, "media-started", G_CALLBACK (media_started_cb), self, 0);
  g_signal_connect_object (relay, "publisher-removed", G_CALLBACK (publisher_removed_cb), self, 0);
}

/* stream_add from @session: an ingest stream of its user in its room becomes the
 * session's, silently (members saw its ADD already); its node and extra are then
 * updated as for any stream_add. */
void
tether_server_ingest_adopt (TetherServer        *self,
                            TetherServerSession *session,
                            const char          *stream_id)
{
  TetherServerSession *holder = g_hash_table_lookup (self->ingests, stream_id);
  TetherServerStream *stream;

  if (holder == NULL || holder->room != session->room
      || g_strcmp0 (holder->user_id, session->user_id) != 0)
    return;

  stream = g_hash_table_lookup (self->streams, stream_id);
  g_assert (stream != NULL && stream->session == holder);
  g_queue_unlink (&holder->streams, &stream->session_link);
  g_queue_push_tail_link (&session->streams, &stream->session_link);
  stream->session = session;
  g_hash_table_remove (self->ingests, stream_id);
  holder_free (self, holder);
}

/* Dispose: the holders go with the model, without events. Their streams are
 * already destroyed (tether_server_model_clear()), their rooms are freed next. */
void
tether_server_ingest_clear (TetherServer *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->ingests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_remove (&iter);
      tether_server_session_free (value);
    }
}
