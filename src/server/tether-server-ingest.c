/* tether-server-ingest.c: ingest — a publisher (OBS, ffmpeg, gst-launch) that reaches an
 * embedded media node with a publish token but has no room session, shown in its
 * token's room as a stream of its user
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-protocol.h"
#include "tether-server-node-report.h"
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

/* Shows @stream_id of @user_id in @room_id, on @node_id, unless it is a stream already. */
static void
ingest_add (TetherServer *self,
            const char   *stream_id,
            const char   *user_id,
            const char   *room_id,
            const char   *node_id)
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
  tether_server_stream_add (self, holder, stream_id, node_id, "");
  tether_server_log (G_LOG_LEVEL_INFO, holder, "ingest stream %s added on node %s", stream_id,
                     node_id);
}

/* Deletes the ingest stream @stream_id of @user_id, if there is one; @relay_reason is
 * the node's (TETHER_RELAY_REASON_*). */
static void
ingest_remove (TetherServer *self,
               const char   *stream_id,
               const char   *user_id,
               const char   *relay_reason)
{
  TetherServerSession *holder = g_hash_table_lookup (self->ingests, stream_id);
  TetherServerStream *stream;

  if (holder == NULL || g_strcmp0 (holder->user_id, user_id) != 0)
    return;

  stream = g_hash_table_lookup (self->streams, stream_id);
  g_assert (stream != NULL && stream->session == holder);
  tether_server_log (G_LOG_LEVEL_INFO, holder, "ingest stream %s deleted (%s)", stream_id,
                     delete_reason (relay_reason));
  g_hash_table_remove (self->ingests, stream_id);
  tether_server_stream_remove (self, stream, delete_reason (relay_reason));
  holder_free (self, holder);
}

static void
media_started_cb (TetherRelay  *relay,
                  const char   *stream_id,
                  const char   *user_id,
                  const char   *room_id,
                  TetherServer *self)
{
  /* Several nodes: the stream is shown through Redis (tether-server-cluster.c). */
  if (self->cluster != NULL)
    {
      if (room_id != NULL && !self->shut_down)
        tether_server_cluster_ingest (self, TRUE, stream_id, user_id, room_id,
                                      g_object_get_data (G_OBJECT (relay), NODE_ID_KEY), NULL);
      return;
    }
  ingest_add (self, stream_id, user_id, room_id, g_object_get_data (G_OBJECT (relay), NODE_ID_KEY));
}

static void
publisher_removed_cb (TetherRelay  *relay,
                      const char   *stream_id,
                      const char   *user_id,
                      const char   *reason,
                      TetherServer *self)
{
  if (self->cluster != NULL)
    {
      tether_server_cluster_ingest (self, FALSE, stream_id, user_id, NULL, NULL,
                                    delete_reason (reason));
      return;
    }
  ingest_remove (self, stream_id, user_id, reason);
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

/* ------------------------------------------------------------------------- */
/* Reports of separate media nodes (tether-server-node-report.c is the other side) */

typedef struct
{
  gint64 seq;        /* of the latest report taken: older ones are replays */
  gint64 seen_at;    /* monotonic µs of that report */
  gboolean lost;     /* silent too long: its streams were deleted */
  gboolean encryption_mismatch;  /* its srt_encryption is not ours (warned once) */
} NodeSeen;

/* The room service does not ask its nodes whether they encrypt (its own
 * --srt-encryption decides what it hands out), but a node that reports says, and a
 * mismatch, which refuses every client of that node (2010), gets one warning. */
static void
check_node_encryption (TetherServer *self,
                       const char   *node_id,
                       NodeSeen     *seen,
                       gboolean      node_encrypts)
{
  gboolean mismatch = node_encrypts != self->srt_encryption;

  if (mismatch && !seen->encryption_mismatch)
    g_warning ("media node %s runs --srt-encryption=%s but this room service runs "
               "--srt-encryption=%s: every client of that node is refused (2010)",
               node_id, node_encrypts ? "on" : "off", self->srt_encryption ? "on" : "off");
  seen->encryption_mismatch = mismatch;
}

/* The ingest streams on @node_id that @keep (stream id → anything) does not hold go,
 * with @relay_reason. */
static void
node_drop_streams (TetherServer *self,
                   const char   *node_id,
                   GHashTable   *keep,
                   const char   *relay_reason)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  const char *stream_id;
  TetherServerSession *holder;

  g_hash_table_iter_init (&iter, self->ingests);
  while (g_hash_table_iter_next (&iter, (gpointer *) &stream_id, (gpointer *) &holder))
    {
      TetherServerStream *stream = holder->streams.head->data;

      if (g_strcmp0 (stream->node, node_id) == 0
          && (keep == NULL || !g_hash_table_contains (keep, stream_id)))
        g_ptr_array_add (gone, g_strdup (stream_id));
    }
  for (guint i = 0; i < gone->len; i++)
    {
      holder = g_hash_table_lookup (self->ingests, gone->pdata[i]);
      ingest_remove (self, gone->pdata[i], holder->user_id, relay_reason);
    }
}

static gboolean
node_sweep_cb (gpointer data)
{
  TetherServer *self = data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  const char *node_id;
  NodeSeen *seen;

  g_hash_table_iter_init (&iter, self->node_reports);
  while (g_hash_table_iter_next (&iter, (gpointer *) &node_id, (gpointer *) &seen))
    if (!seen->lost && now - seen->seen_at > 3 * TETHER_NODE_REPORT_INTERVAL_S * G_USEC_PER_SEC)
      {
        g_message ("ingest: media node %s sent no report for %d s; its streams are lost",
                   node_id, 3 * TETHER_NODE_REPORT_INTERVAL_S);
        seen->lost = TRUE;
        node_drop_streams (self, node_id, NULL, TETHER_RELAY_REASON_SHUTDOWN);
      }
  return G_SOURCE_CONTINUE;
}

static gboolean
is_media_node (TetherServer *self,
               const char   *node_id)
{
  for (guint i = 0; i < self->media_nodes->len; i++)
    if (g_strcmp0 (((TetherServerMediaNode *) self->media_nodes->pdata[i])->id, node_id) == 0)
      return TRUE;
  return FALSE;
}

/* A report's array of streams, each checked; NULL if one breaks the rules. */
static gboolean
report_items_valid (JsonArray *items,
                    gboolean   removed)
{
  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *room = o != NULL ? tether_json_get_string (o, "room") : NULL;
      const char *reason = o != NULL ? tether_json_get_string (o, "reason") : NULL;

      if (o == NULL || !tether_protocol_valid_id (tether_json_get_string (o, "id"))
          || !tether_protocol_valid_id (tether_json_get_string (o, "user"))
          || (room != NULL && !tether_protocol_valid_id (room))
          || (removed && (reason == NULL || !tether_protocol_valid_id (reason))))
        return FALSE;
    }
  return TRUE;
}

/* Applies a checked report of @node_id: what went, then what is there, then what the
 * node no longer has (a report that went missing). */
static void
node_apply_report (TetherServer *self,
                   const char   *node_id,
                   JsonArray    *streams,
                   JsonArray    *removed)
{
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < json_array_get_length (removed); i++)
    {
      JsonObject *o = json_array_get_object_element (removed, i);
      TetherServerSession *holder = g_hash_table_lookup (self->ingests, tether_json_get_string (o, "id"));

      if (holder != NULL
          && g_strcmp0 (((TetherServerStream *) holder->streams.head->data)->node, node_id) == 0)
        ingest_remove (self, tether_json_get_string (o, "id"), tether_json_get_string (o, "user"),
                       tether_json_get_string (o, "reason"));
    }
  for (guint i = 0; i < json_array_get_length (streams); i++)
    {
      JsonObject *o = json_array_get_object_element (streams, i);

      g_hash_table_add (listed, (gpointer) tether_json_get_string (o, "id"));
      ingest_add (self, tether_json_get_string (o, "id"), tether_json_get_string (o, "user"),
                  tether_json_get_string (o, "room"), node_id);
    }
  node_drop_streams (self, node_id, listed, TETHER_RELAY_REASON_DISCONNECTED);
}

static void
node_report_cb (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  TetherServer *self = user_data;
  SoupMessageBody *request = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) report = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  const char *signature, *node_id;
  JsonArray *streams, *removed;
  NodeSeen *seen;
  gint64 seq = 0;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  body = soup_message_body_flatten (request);
  if (g_bytes_get_size (body) > TETHER_NODE_REPORT_MAX_BYTES)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, NULL);
      return;
    }
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  signature = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                            TETHER_NODE_REPORT_SIGNATURE);
  expected = tether_node_report_sign (self->app_secret, text);
  if (strlen (text) != g_bytes_get_size (body) || !tether_secure_str_equal (signature, expected))
    {
      g_message ("ingest: refused a node report with a bad signature from %s",
                 soup_server_message_get_remote_host (msg));
      soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
      return;
    }

  report = tether_json_parse_object (text, strlen (text), 8, NULL);
  node_id = report != NULL ? tether_json_get_string (report, "node") : NULL;
  streams = report != NULL ? tether_json_get_array (report, "streams") : NULL;
  removed = report != NULL ? tether_json_get_array (report, "removed") : NULL;
  if (node_id == NULL || !tether_json_get_int (report, "seq", &seq)
      || !report_items_valid (streams, FALSE) || !report_items_valid (removed, TRUE))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  /* Reports of separate media nodes are not taken in cluster mode (yet): a node of a
   * cluster announces its own embedded media node in Redis. */
  if (self->cluster != NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_IMPLEMENTED, NULL);
      return;
    }
  if (!is_media_node (self, node_id))
    {
      g_message ("ingest: refused a report of media node %s: not in this service's directory",
                 node_id);
      soup_server_message_set_status (msg, SOUP_STATUS_FORBIDDEN, NULL);
      return;
    }
  seen = g_hash_table_lookup (self->node_reports, node_id);
  if (seen != NULL && seq <= seen->seq)
    {
      /* A replay, or a report overtaken by a newer one. */
      soup_server_message_set_status (msg, SOUP_STATUS_CONFLICT, NULL);
      return;
    }
  if (seen == NULL)
    {
      seen = g_new0 (NodeSeen, 1);
      g_hash_table_insert (self->node_reports, g_strdup (node_id), seen);
    }
  seen->seq = seq;
  seen->seen_at = g_get_monotonic_time ();
  seen->lost = FALSE;
  check_node_encryption (self, node_id, seen,
                         tether_json_get_bool (report, "srt_encryption", self->srt_encryption));
  if (self->node_sweep == NULL)
    {
      self->node_sweep = g_timeout_source_new_seconds (TETHER_NODE_REPORT_INTERVAL_S);
      g_source_set_callback (self->node_sweep, node_sweep_cb, self, NULL);
      g_source_set_static_name (self->node_sweep, "[tether] node reports");
      g_source_attach (self->node_sweep, self->context);
    }

  node_apply_report (self, node_id, streams, removed);
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

/* tether_server_init(): the public port takes node reports. */
void
tether_server_ingest_init (TetherServer *self)
{
  self->ingests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->node_reports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  soup_server_add_handler (self->soup, TETHER_NODE_REPORT_PATH, node_report_cb, self, NULL);
}

/* Dispose: the holders go with the model, without events. Their streams are
 * already destroyed (tether_server_model_clear()), their rooms are freed next. */
void
tether_server_ingest_clear (TetherServer *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->node_sweep != NULL)
    {
      g_source_destroy (self->node_sweep);
      g_clear_pointer (&self->node_sweep, g_source_unref);
    }
  g_hash_table_iter_init (&iter, self->ingests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_remove (&iter);
      tether_server_session_free (value);
    }
}
