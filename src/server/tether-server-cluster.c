/* tether-server-cluster.c: cluster mode — several tether-server nodes share their
 * rooms through Redis (--redis): node registration and beats, logins and resumes on
 * any node, stream requests, leaves, the reaping of dead nodes, per-room fan-out of
 * the events Redis orders, and surviving a Redis outage
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tether-error.h"
#include "tether-message.h"
#include "tether-redis.h"
#include "tether-server-private.h"
#include "tether-server-resources.h"

/* See docs/design.md, "Several nodes". Redis holds the truth (members, streams,
 * sessions, each room's event log) and every change is one Lua script
 * (the .lua files of src/server/cluster) that checks its preconditions, changes the keys, takes
 * the room's next seqs, logs and PUBLISHes the events. This node keeps only its own
 * sessions (connection, deadlines) and, per room it has members in, the last seq it
 * delivered and a backlog cache; it subscribes to those rooms' channels and fans
 * each event out to its members in seq order, reading the log to fill a gap. */

#define USEC TETHER_SERVER_USEC
#define REAP_BATCH "200"
/* Stream requests of one session awaiting Redis (a node answers the others at once,
 * 1009): each holds its arguments and a script's worth of Redis time, and a client
 * pipelining them faster than Redis runs scripts would otherwise grow the node and load
 * the one Redis every node shares. libtether sends at most its streams at once (32). */
#define MAX_REQUESTS 64
/* After Redis comes back, the other nodes may not have beaten yet (they reconnect
 * within the 2 s backoff cap): nobody is reaped for this long plus node-timeout. */
#define REAP_GRACE (2500 * G_TIME_SPAN_MILLISECOND)

typedef enum
{
  SCRIPT_LOGIN,
  SCRIPT_LEAVE,
  SCRIPT_BEAT,
  SCRIPT_REAP,
  SCRIPT_STREAM,
  SCRIPT_RESTORE,
  SCRIPT_OWNED,
  N_SCRIPTS
} ScriptId;

static const char *script_names[N_SCRIPTS] = {
  "login", "leave", "beat", "reap", "stream", "restore", "owned",
};

typedef struct
{
  char    *id;
  char    *ws_url;
  gboolean alive;
  char    *media_id;
  char    *media_url;
} NodeInfo;

typedef struct
{
  TetherServerCluster *cluster;
  char                *sid;
  char                *reason;
  gint64               keep_ms;
} PendingLeave;

struct _TetherServerCluster
{
  TetherServer      *server;
  TetherRedis       *redis;
  char              *prefix;          /* tether:<app_id>: */
  char              *node_channel;    /* P node:<me> */
  char              *media_id;        /* the embedded media node's id, or NULL */
  char              *media_url;
  gboolean           media_only;      /* tether_server_join_cluster_media_only(): no room service */
  TetherRedisScript  scripts[N_SCRIPTS];
  GSource           *beat;
  gboolean           registered;      /* a beat went through since the start */
  gboolean           beat_in_flight;
  gboolean           refusing;        /* the latest beat met OOM, BUSY, … (reply_refused()) */
  gint64             up_since;        /* monotonic µs Redis last came up or took a beat again */
  GPtrArray         *nodes;           /* NodeInfo of the latest beat */
  GHashTable        *reaping;         /* dead node id → TRUE while a reap is in flight */
  GHashTable        *logins;          /* session id → ClusterLogin in flight (its fresh
                                       * session's and the one it resumes) */
  GQueue             pending_leaves;  /* PendingLeave: waiting for Redis */
  guint              leaves_in_flight;
  gboolean           unheard;         /* its channel was not subscribed: check its sessions */
  gint64             recheck_at;      /* monotonic µs of a second check, or 0 */
  GHashTable        *lost;            /* session id → monotonic µs: Redis has it present
                                       * here, the node never made it (owned_cb) */
  /* figures for /metrics */
  guint64            events_in;
  guint64            lag_count;
  double             lag_sum;         /* seconds */
  double             lag_max;
  guint64            refused;         /* requests refused with 1021 */
  guint64            reaped;
  guint64            restores;
  /* ingest streams: tether_server_cluster_ingest() */
  GHashTable        *ingests;         /* stream id → Ingest: the media node has it */
  GHashTable        *ingests_gone;    /* stream id → Ingest: removed, Redis not told yet */
  guint64            ingest_gen;
  gboolean           ingests_dirty;   /* Redis may be out of step: reconcile at the next beat */
  gboolean           ingest_sync_in_flight;
};

typedef struct
{
  TetherServer      *server;
  TetherServerConn  *conn;            /* NULL once it closed */
  char              *room_id;
  char              *user_id;
  char              *user_name;
  gboolean           notify_users;
  TetherTokenClaims *claims;
  char              *token;
  char              *sid;             /* of a fresh session */
  char              *resume_key;
  char              *resume_sid;      /* the session a resume names, or NULL */
  char              *sent_key;        /* the key it sent */
  guint64            last_seq;
  char              *early;           /* a node command for its session that came first */
} ClusterLogin;

static void cluster_catch_up (TetherServerCluster *cluster, TetherServerRoom *room);
static void cluster_catch_up_now (TetherServerCluster *cluster, TetherServerRoom *room);
static void cluster_flush_leaves (TetherServerCluster *cluster);
static void cluster_restore (TetherServerCluster *cluster);

/* Helpers */

/* tether_server_cluster_free() frees the Redis client first, which answers every
 * pending command with an error: then the callbacks only free their data. */
static gboolean
cluster_gone (TetherServerCluster *cluster)
{
  return cluster->server->cluster != cluster;
}

static void
secret_free (char *secret)
{
  if (secret != NULL)
    {
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

/* Whether @sid has the shape of the session ids this service hands out
 * (tether_server_random_hex (16)). Any other string a client sends as a session id
 * names no session, as on one node: it never reaches a Redis key, where
 * "<sid>:streams" would name a real session's stream set. */
static gboolean
session_id_valid (const char *sid)
{
  gsize i;

  for (i = 0; sid[i] != '\0'; i++)
    if (!g_ascii_isdigit (sid[i]) && (sid[i] < 'a' || sid[i] > 'f'))
      return FALSE;
  return i == 32;
}

static char *
sha256_hex (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text != NULL ? text : "", -1);
}

static const char *
element_str (redisReply *reply,
             gsize       i)
{
  redisReply *e;

  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
    return NULL;
  e = reply->element[i];
  return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : NULL;
}

static gint64
element_int (redisReply *reply,
             gsize       i)
{
  const char *s;

  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
    return 0;
  if (reply->element[i]->type == REDIS_REPLY_INTEGER)
    return reply->element[i]->integer;
  s = element_str (reply, i);
  return s != NULL ? g_ascii_strtoll (s, NULL, 10) : 0;
}

/* An error reply that says Redis refuses commands for now, not that the command is
 * wrong: out of memory (maxmemory with noeviction), busy with a script, loading its
 * data, a replica. A script refused so ran none of its commands; it goes again later. */
static gboolean
reply_refused (redisReply *reply)
{
  static const char * const codes[] = { "OOM ", "BUSY ", "LOADING ", "READONLY ", "MASTERDOWN " };

  if (reply == NULL || reply->type != REDIS_REPLY_ERROR || reply->str == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_str_has_prefix (reply->str, codes[i]))
      return TRUE;
  return FALSE;
}

/* A script's failure, for the log: Redis down or refusing (the beat logs when that
 * starts and ends), or an error reply (a bug). */
static gboolean
reply_failed (redisReply *reply,
              const char *error,
              const char *what)
{
  if (reply == NULL)
    {
      g_debug ("cluster: %s: %s", what, error);
      return TRUE;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      if (reply_refused (reply))
        g_debug ("cluster: %s: %s", what, reply->str);
      else
        g_warning ("cluster: %s: %s", what, reply->str);
      return TRUE;
    }
  return FALSE;
}

/* Runs script @id with the common arguments, then @args (NULL-terminated). */
static void
cluster_eval (TetherServerCluster  *cluster,
              ScriptId              id,
              TetherRedisReplyFunc  func,
              gpointer              user_data,
              const char * const   *args)
{
  TetherServer *self = cluster->server;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, g_strdup (cluster->prefix));
  g_ptr_array_add (argv, g_strdup_printf ("%u", self->event_backlog));
  g_ptr_array_add (argv, g_strdup_printf ("%" G_GINT64_FORMAT,
                                          (gint64) (self->session_ttl * 1000)));
  g_ptr_array_add (argv, g_strdup (self->node_id));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  tether_redis_eval (cluster->redis, &cluster->scripts[id], func, user_data, 0,
                     (const char * const *) argv->pdata);
}

/* A room's key and channel, `P room:{<rid>}` (common.lua's room_key()): its other keys
 * add `:<part>`. An id holds no brace, so a room id with ':' (which ids may hold)
 * never names another room's part. */
static char *
room_channel (TetherServerCluster *cluster,
              const char          *room_id)
{
  return g_strconcat (cluster->prefix, "room:{", room_id, "}", NULL);
}

/* The room id of channel @channel, or NULL when it is not a room's. */
static char *
channel_room (TetherServerCluster *cluster,
              const char          *channel)
{
  gsize prefix_len = strlen (cluster->prefix);
  gsize len = strlen (channel);

  if (len < prefix_len + strlen ("room:{}") || strncmp (channel, cluster->prefix, prefix_len) != 0
      || strncmp (channel + prefix_len, "room:{", 6) != 0 || channel[len - 1] != '}')
    return NULL;
  return g_strndup (channel + prefix_len + 6, len - prefix_len - 7);
}

/* A member this node must hand to a resync: told to come back, its session kept. */
static void
send_reconnect (TetherServerSession *session)
{
  if (session->conn == NULL)
    return;
  tether_server_conn_send_message (session->conn, tether_message_build_reconnect (0.0));
  tether_server_conn_close (session->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "resync");
}

/* Rooms: subscription and ordered delivery */

void
tether_server_cluster_room_new (TetherServer     *self,
                                TetherServerRoom *room)
{
  g_autofree char *channel = room_channel (self->cluster, room->id);

  tether_redis_subscribe (self->cluster->redis, channel);
}

void
tether_server_cluster_room_gone (TetherServer     *self,
                                 TetherServerRoom *room)
{
  g_autofree char *channel = room_channel (self->cluster, room->id);

  tether_redis_unsubscribe (self->cluster->redis, channel);
}

static guint64
subject_serial (TetherServer *self,
                const char   *sid)
{
  TetherServerSession *session = sid != NULL && *sid != '\0'
                                   ? g_hash_table_lookup (self->sessions, sid) : NULL;

  return session != NULL ? session->serial : 0;
}

static void
room_deliver (TetherServerCluster *cluster,
              TetherServerRoom    *room,
              guint64              seq,
              const char          *subject,
              gboolean             user_event,
              const char          *json)
{
  TetherServer *self = cluster->server;

  room->seq = seq;
  tether_server_room_publish (self, room, seq, g_strdup (json), user_event,
                              subject_serial (self, subject));
}

/* An event from the room's channel: delivered when it is the next one, else the log
 * fills the gap first. */
static void
room_take (TetherServerCluster *cluster,
           TetherServerRoom    *room,
           guint64              seq,
           const char          *subject,
           gboolean             user_event,
           const char          *json)
{
  if (seq <= room->seq && room->synced)
    return;
  /* The next one goes out even while the log is being read: that read skips it. */
  if (!room->synced || seq != room->seq + 1)
    {
      room->pending_max = MAX (room->pending_max, seq);
      if (room->synced)
        cluster_catch_up (cluster, room);
      return;
    }
  room_deliver (cluster, room, seq, subject, user_event, json);
}

typedef struct
{
  TetherServerCluster *cluster;
  char                *room_id;
  guint64              pending_max;     /* the room's when the read was sent */
} RoomOp;

static void
catch_up_cb (TetherRedis *redis,
             redisReply  *reply,
             const char  *error,
             gpointer     user_data)
{
  RoomOp *op = user_data;
  TetherServerCluster *cluster = op->cluster;
  TetherServerRoom *room = cluster_gone (cluster) ? NULL
                           : g_hash_table_lookup (cluster->server->rooms, op->room_id);
  guint64 pending_at_send = op->pending_max;
  gboolean gap = FALSE;

  g_free (op->room_id);
  g_free (op);
  if (room == NULL || cluster_gone (cluster))
    return;
  room->catching_up = FALSE;
  /* Redis is down: the catch-up runs again when it is back. */
  if (reply_failed (reply, error, "reading a room's log") || reply->type != REDIS_REPLY_ARRAY)
    return;

  for (gsize i = 0; i < reply->elements; i++)
    {
      redisReply *entry = reply->element[i];
      const char *json = NULL, *subject = "", *user = "0";
      guint64 seq;

      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2
          || entry->element[0]->type != REDIS_REPLY_STRING
          || entry->element[1]->type != REDIS_REPLY_ARRAY)
        continue;
      seq = g_ascii_strtoull (entry->element[0]->str, NULL, 10);
      for (gsize f = 0; f + 1 < entry->element[1]->elements; f += 2)
        {
          const char *name = element_str (entry->element[1], f);
          const char *value = element_str (entry->element[1], f + 1);

          if (g_strcmp0 (name, "e") == 0)
            json = value;
          else if (g_strcmp0 (name, "s") == 0)
            subject = value;
          else if (g_strcmp0 (name, "u") == 0)
            user = value;
        }
      if (json == NULL || seq <= room->seq)
        continue;
      if (seq != room->seq + 1)
        gap = TRUE;
      room_deliver (cluster, room, seq, subject, g_strcmp0 (user, "1") == 0, json);
    }

  if (gap)
    {
      /* The log no longer reaches back: this node's members resync. */
      g_message ("cluster: room %s: events lost past the log; its members here resync", room->id);
      for (GList *l = room->members.head; l != NULL; l = l->next)
        send_reconnect (l->data);
    }
  /* Nothing newer in the log: what was announced is delivered, unless an event came
   * during the read (published after it ran, logged before it was announced). */
  if (reply->elements == 0 && room->pending_max <= pending_at_send)
    room->pending_max = room->seq;
  if (room->pending_max > room->seq)
    cluster_catch_up (cluster, room);
}

/* Reads @room's log from the event after the last one delivered here, even while an
 * earlier read is in flight (its answer skips what this one delivered, and the
 * reverse). */
static void
cluster_catch_up_now (TetherServerCluster *cluster,
                      TetherServerRoom    *room)
{
  g_autofree char *channel = NULL;
  g_autofree char *key = NULL;
  g_autofree char *start = NULL;
  RoomOp *op;

  if (!tether_redis_is_up (cluster->redis))
    return;
  room->catching_up = TRUE;
  channel = room_channel (cluster, room->id);
  key = g_strconcat (channel, ":log", NULL);
  start = g_strdup_printf ("%" G_GUINT64_FORMAT "-1", room->seq + 1);
  op = g_new0 (RoomOp, 1);
  op->cluster = cluster;
  op->room_id = g_strdup (room->id);
  op->pending_max = room->pending_max;
  tether_redis_command (cluster->redis, catch_up_cb, op,
                        (const char *[]) { "XRANGE", key, start, "+", NULL });
}

static void
cluster_catch_up (TetherServerCluster *cluster,
                  TetherServerRoom    *room)
{
  if (!room->catching_up && room->synced)
    cluster_catch_up_now (cluster, room);
}

/* @room is at @seq for a login_ok or restore just answered; @rsid is its
 * room_session_id in Redis. */
static void
room_sync (TetherServerCluster *cluster,
           TetherServerRoom    *room,
           const char          *rsid,
           guint64              seq)
{
  if (rsid != NULL && g_strcmp0 (room->room_session_id, rsid) != 0)
    {
      g_free (room->room_session_id);
      room->room_session_id = g_strdup (rsid);
    }
  if (!room->synced)
    {
      room->synced = TRUE;
      room->seq = seq;
    }
  room->pending_max = MAX (room->pending_max, seq);
  /* Events between the subscription and now come from the log. */
  cluster_catch_up (cluster, room);
}

/* Messages: room events and commands to this node */

static void
node_command (TetherServerCluster *cluster,
              const char          *text)
{
  TetherServer *self = cluster->server;
  g_auto(GStrv) words = g_strsplit (text, " ", 3);
  TetherServerSession *session;

  if (words[0] == NULL || words[1] == NULL)
    return;
  session = g_hash_table_lookup (self->sessions, words[1]);
  if (session == NULL)
    {
      /* For a login of this node whose answer is still on its way (the kick or drop
       * comes on another connection and may overtake it): applied after it. */
      ClusterLogin *cl = g_hash_table_lookup (cluster->logins, words[1]);

      if (cl != NULL)
        {
          g_free (cl->early);
          cl->early = g_strdup (text);
        }
      return;
    }
  if (g_str_equal (words[0], "drop"))
    {
      /* It resumed on another node: that node has it now. */
      tether_server_log (G_LOG_LEVEL_INFO, session, "moved to another node");
      if (session->conn != NULL)
        {
          TetherServerConn *conn = session->conn;

          tether_server_conn_detach (conn);
          tether_server_conn_kill (conn);
        }
      tether_server_session_drop (self, session);
    }
  else if (g_str_equal (words[0], "kick"))
    {
      self->stats.kicks++;
      tether_server_log (G_LOG_LEVEL_INFO, session, "kicked out: logged in elsewhere");
      if (session->conn != NULL)
        {
          TetherServerConn *conn = session->conn;

          tether_server_conn_detach (conn);
          tether_server_conn_kick (conn, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
        }
      tether_server_session_drop (self, session);
    }
}

static void
owned_cb (TetherRedis *redis,
          redisReply  *reply,
          const char  *error,
          gpointer     user_data)
{
  TetherServerCluster *cluster = user_data;

  if (cluster_gone (cluster))
    return;
  if (reply_failed (reply, error, "session check") || reply->type != REDIS_REPLY_ARRAY)
    {
      /* Lost with the connection: the next subscription asks again. */
      cluster->unheard = TRUE;
      return;
    }
  for (gsize i = 0; i + 1 < reply->elements; i += 2)
    {
      const char *sid = element_str (reply, i);
      const char *what = element_str (reply, i + 1);
      g_autofree char *command = NULL;

      if (sid == NULL || what == NULL)
        continue;
      if (g_str_equal (what, "lost"))
        {
          /* Its client never got login_ok, and nothing here would ever time it out:
           * it gets the heartbeat timeout of a member gone silent, unless it resumes
           * first (cluster_leave_lost()). */
          if (!g_hash_table_contains (cluster->lost, sid))
            {
              gint64 *due = g_new (gint64, 1);

              *due = g_get_monotonic_time () + USEC (cluster->server->heartbeat_timeout);
              g_hash_table_insert (cluster->lost, g_strdup (sid), due);
            }
          continue;
        }
      if (g_str_equal (what, "kick"))
        command = g_strdup_printf ("kick %s %d", sid, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
      else
        command = g_strdup_printf ("drop %s", sid);
      node_command (cluster, command);
    }
}

/* The node's channel is subscribed (again): a `drop` or `kick` published while it was
 * not reached nobody, and the node would keep those sessions' connections for good —
 * members Redis no longer counts; a login whose answer was lost with the connection
 * left a member Redis counts as this node's and nothing here would time out. Redis
 * says which (owned.lua); a command that is also heard finds its session gone
 * already. */
static void
cluster_check_owned (TetherServerCluster *cluster)
{
  TetherServer *self = cluster->server;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  GHashTableIter iter;
  const char *sid;

  cluster->unheard = TRUE;
  /* Not before the first beat, which hands a previous process's sessions to a ghost:
   * the beat timer asks then, or once Redis is up. */
  if (!tether_redis_is_up (cluster->redis) || !cluster->registered)
    return;
  cluster->unheard = FALSE;
  if (cluster->media_only)
    return;
  /* Its sessions, and those of logins whose answer is on its way. */
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, (gpointer *) &sid, NULL))
    g_ptr_array_add (args, (gpointer) sid);
  g_hash_table_iter_init (&iter, cluster->logins);
  while (g_hash_table_iter_next (&iter, (gpointer *) &sid, NULL))
    g_ptr_array_add (args, (gpointer) sid);
  g_ptr_array_add (args, NULL);
  cluster_eval (cluster, SCRIPT_OWNED, owned_cb, cluster, (const char * const *) args->pdata);
}

/* The sessions owned_cb found lost whose heartbeat timeout fell due leave as a member
 * gone silent does (resumable until session-ttl); leave.lua leaves alone one that
 * resumed on another node meanwhile, and one that resumed here is this node's again. */
static void
cluster_leave_lost (TetherServerCluster *cluster)
{
  TetherServer *self = cluster->server;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  const char *sid;
  gint64 *due;

  g_hash_table_iter_init (&iter, cluster->lost);
  while (g_hash_table_iter_next (&iter, (gpointer *) &sid, (gpointer *) &due))
    {
      PendingLeave *leave;

      if (g_hash_table_contains (self->sessions, sid))
        {
          g_hash_table_iter_remove (&iter);
          continue;
        }
      if (*due > now || g_hash_table_contains (cluster->logins, sid))
        continue;
      leave = g_new0 (PendingLeave, 1);
      leave->cluster = cluster;
      leave->sid = g_strdup (sid);
      leave->reason = g_strdup (TETHER_REASON_HEARTBEAT_TIMEOUT);
      leave->keep_ms = MAX ((gint64) ((self->session_ttl - self->heartbeat_timeout) * 1000), 0);
      g_queue_push_tail (&cluster->pending_leaves, leave);
      g_hash_table_iter_remove (&iter);
      self->stats.heartbeat_timeouts++;
      g_message ("cluster: heartbeat timeout of a session whose login answer was lost");
    }
}

static void
message_cb (TetherRedis *redis,
            const char  *channel,
            const char  *payload,
            gsize        len,
            gpointer     user_data)
{
  TetherServerCluster *cluster = user_data;
  TetherServer *self = cluster->server;
  g_autofree char *room_id = NULL;
  g_auto(GStrv) parts = NULL;
  TetherServerRoom *room;
  guint64 seq;
  gint64 sent_ms;

  if (g_str_equal (channel, cluster->node_channel))
    {
      if (payload != NULL)
        node_command (cluster, payload);
      else
        {
          /* Once more a beat later: a hung Redis that goes on may run a login it
           * had buffered from the old connection after the first check. */
          cluster->recheck_at = g_get_monotonic_time () + USEC (self->node_beat);
          cluster_check_owned (cluster);
        }
      return;
    }
  room_id = channel_room (cluster, channel);
  room = room_id != NULL ? g_hash_table_lookup (self->rooms, room_id) : NULL;
  if (room == NULL)
    return;
  if (payload == NULL)
    {
      /* Subscribed. A login's own catch-up may have read the log before an event
       * that was published before the subscription took: one more read, from now,
       * leaves no event between the two. */
      if (room->synced)
        cluster_catch_up_now (cluster, room);
      return;
    }

  /* seq \n subject \n user-event \n ms \n json */
  parts = g_strsplit (payload, "\n", 5);
  if (g_strv_length (parts) != 5)
    return;
  seq = g_ascii_strtoull (parts[0], NULL, 10);
  sent_ms = g_ascii_strtoll (parts[3], NULL, 10);
  cluster->events_in++;
  if (sent_ms > 0)
    {
      double lag = MAX (0.0, g_get_real_time () / 1000.0 - (double) sent_ms) / 1000.0;

      cluster->lag_count++;
      cluster->lag_sum += lag;
      cluster->lag_max = MAX (cluster->lag_max, lag);
    }
  room_take (cluster, room, seq, parts[1], g_str_equal (parts[2], "1"), parts[4]);
}

/* Logins */

static void
cluster_login_free (ClusterLogin *cl)
{
  TetherServerCluster *cluster = cl->server->cluster;

  if (cluster != NULL && g_hash_table_lookup (cluster->logins, cl->sid) == cl)
    g_hash_table_remove (cluster->logins, cl->sid);
  if (cluster != NULL && cl->resume_sid != NULL
      && g_hash_table_lookup (cluster->logins, cl->resume_sid) == cl)
    g_hash_table_remove (cluster->logins, cl->resume_sid);
  g_free (cl->early);
  if (cl->conn != NULL)
    cl->conn->cluster_login = NULL;
  g_clear_pointer (&cl->claims, tether_token_claims_free);
  secret_free (cl->token);
  secret_free (cl->resume_key);
  secret_free (cl->sent_key);
  g_free (cl->room_id);
  g_free (cl->user_id);
  g_free (cl->user_name);
  g_free (cl->sid);
  g_free (cl->resume_sid);
  g_free (cl);
}

void
tether_server_cluster_conn_gone (TetherServerConn *conn)
{
  ClusterLogin *cl = conn->cluster_login;

  cl->conn = NULL;
  conn->cluster_login = NULL;
}

static void
refuse (TetherServerCluster *cluster,
        TetherServerConn    *conn)
{
  cluster->refused++;
  cluster->server->stats.login_failures++;
  tether_server_conn_fail (conn, TETHER_ERROR_SERVICE_UNAVAILABLE,
                           "the room service cannot reach its shared state; retry later",
                           TETHER_SERVER_CLOSE_TRY_AGAIN_LATER);
}

/* The users and streams of a snapshot's JSON, as views valid while @users_node and
 * @streams_node live. */
static void
snapshot_parse (const char           *users_json,
                const char           *streams_json,
                JsonNode            **users_node,
                JsonNode            **streams_node,
                GArray               *users,
                GArray               *streams)
{
  JsonArray *a;

  /* A reply without them (a script's bug) reads as an empty room. */
  *users_node = users_json != NULL ? json_from_string (users_json, NULL) : NULL;
  *streams_node = streams_json != NULL ? json_from_string (streams_json, NULL) : NULL;
  a = *users_node != NULL && JSON_NODE_HOLDS_ARRAY (*users_node) ? json_node_get_array (*users_node) : NULL;
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      TetherMessageUser u = { json_object_get_string_member_with_default (o, "id", ""),
                              json_object_get_string_member_with_default (o, "name", "") };

      g_array_append_val (users, u);
    }
  a = *streams_node != NULL && JSON_NODE_HOLDS_ARRAY (*streams_node) ? json_node_get_array (*streams_node) : NULL;
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      TetherMessageStream st = {
        json_object_get_string_member_with_default (o, "id", ""),
        json_object_get_string_member_with_default (o, "user_id", ""),
        json_object_get_string_member_with_default (o, "user_name", ""),
        json_object_get_string_member_with_default (o, "node", ""),
        json_object_get_string_member_with_default (o, "extra", ""),
      };

      g_array_append_val (streams, st);
    }
}

/* The end of a login Redis accepted: a kick or drop of its session that came before
 * the answer (another node's login or resume, ordered after it) is applied now.
 * Ignored, it left a connection Redis no longer counted (/cluster/duplicate-login/race). */
static void
login_finish (TetherServerCluster *cluster,
              ClusterLogin        *cl)
{
  g_autofree char *early = g_steal_pointer (&cl->early);

  cluster_login_free (cl);
  if (early != NULL)
    node_command (cluster, early);
}

/* The local session of a login Redis accepted: made here, or this node's already. */
static TetherServerSession *
login_local_session (TetherServerCluster *cluster,
                     ClusterLogin        *cl,
                     const char          *sid,
                     const char          *resume_key,
                     const char          *name,
                     gboolean             notify_users)
{
  TetherServer *self = cluster->server;
  TetherServerSession *session = g_hash_table_lookup (self->sessions, sid);
  TetherServerRoom *room;

  if (session != NULL)
    {
      TetherServerConn *old = session->conn;

      if (old != NULL)
        {
          tether_server_conn_detach (old);
          tether_server_conn_kill (old);
        }
      /* The resume's snapshot and replay cover what was held for the old connection. */
      g_queue_clear_full (&session->held, g_free);
      session->held_bytes = 0;
      tether_server_session_set_claims (self, session, g_steal_pointer (&cl->claims), cl->token);
      tether_server_session_touch (self, session);
      return session;
    }
  room = tether_server_room_acquire (self, cl->room_id);
  session = tether_server_session_new_with_id (self, room, sid, resume_key, cl->user_id, name,
                                               notify_users, g_steal_pointer (&cl->claims),
                                               cl->token);
  tether_server_room_release (self, room);
  tether_server_session_join (self, session, NULL);
  return session;
}

/* A resumed @session's streams are the ones Redis names (@own_json, their ids; their
 * node and extra from the snapshot's @streams): a session that moved here from
 * another node keeps the streams it added there exactly as if added here — claimed
 * on this node's media nodes, put back by a restore after an empty Redis — and a
 * stream Redis no longer has is forgotten. Before, a restore here lost them. */
static void
session_take_streams (TetherServer        *self,
                      TetherServerSession *session,
                      const char          *own_json,
                      GArray              *streams)
{
  g_autoptr(JsonNode) node = own_json != NULL ? json_from_string (own_json, NULL) : NULL;
  JsonArray *ids = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_autoptr(GHashTable) own = g_hash_table_new (g_str_hash, g_str_equal);
  GList *next;

  for (guint i = 0; ids != NULL && i < json_array_get_length (ids); i++)
    {
      JsonNode *id = json_array_get_element (ids, i);

      if (JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING)
        g_hash_table_add (own, (gpointer) json_node_get_string (id));
    }
  for (GList *l = session->streams.head; l != NULL; l = next)
    {
      TetherServerStream *stream = l->data;

      next = l->next;
      if (!g_hash_table_contains (own, stream->id))
        tether_server_stream_drop (self, stream);
    }
  for (guint i = 0; i < streams->len; i++)
    {
      TetherMessageStream *st = &g_array_index (streams, TetherMessageStream, i);
      TetherServerStream *stream;
      gboolean changed;

      if (!g_hash_table_contains (own, st->id))
        continue;
      stream = g_hash_table_lookup (self->streams, st->id);
      /* Another session's here is out of date: Redis has it as this one's. */
      if (stream != NULL && stream->session != session)
        {
          tether_server_stream_drop (self, stream);
          stream = NULL;
        }
      if (stream == NULL)
        for (guint r = 0; r < self->relays->len; r++)
          if (!tether_relay_claim_stream (g_ptr_array_index (self->relays, r), st->id,
                                          session->user_id, session->room->id))
            tether_server_log (G_LOG_LEVEL_DEBUG, session, "stream %s is another's on this node's "
                               "media node", st->id);
      tether_server_stream_put (self, session, st->id, st->node, st->extra, &changed);
    }
}

static void
login_cb (TetherRedis *redis,
          redisReply  *reply,
          const char  *error,
          gpointer     user_data)
{
  ClusterLogin *cl = user_data;
  TetherServer *self = cl->server;
  TetherServerCluster *cluster = self->cluster;
  TetherServerConn *conn = cl->conn;
  const char *status = element_str (reply, 0);
  g_autoptr(JsonNode) users_node = NULL;
  g_autoptr(JsonNode) streams_node = NULL;
  g_autoptr(GArray) users = g_array_new (FALSE, FALSE, sizeof (TetherMessageUser));
  g_autoptr(GArray) streams = g_array_new (FALSE, FALSE, sizeof (TetherMessageStream));
  TetherServerSession *session;
  gboolean resumed, resync = FALSE;
  guint64 seq;

  if (cluster == NULL)
    {
      cluster_login_free (cl);
      return;
    }
  if (conn != NULL && conn->state != TETHER_SERVER_CONN_PENDING)
    conn = NULL;
  if (reply_failed (reply, error, "login") || status == NULL)
    {
      if (conn != NULL)
        refuse (cluster, conn);
      cluster_login_free (cl);
      return;
    }
  if (g_str_equal (status, "kicked"))
    {
      self->stats.login_failures++;
      if (conn != NULL)
        tether_server_conn_kick (conn, TETHER_ERROR_LOGGED_IN_ELSEWHERE, "logged in elsewhere");
      cluster_login_free (cl);
      return;
    }

  resumed = g_str_equal (status, "resumed");
  seq = (guint64) element_int (reply, 2);
  snapshot_parse (element_str (reply, 3), element_str (reply, 4), &users_node, &streams_node,
                  users, streams);

  if (resumed)
    {
      session = login_local_session (cluster, cl, cl->resume_sid, cl->sent_key,
                                     element_str (reply, 5), g_strcmp0 (element_str (reply, 6), "1") == 0);
      resync = g_strcmp0 (element_str (reply, 7), "1") == 0;
      session_take_streams (self, session, element_str (reply, 9), streams);
      self->stats.resumes++;
    }
  else
    {
      const char *replaced = element_str (reply, 6);
      TetherServerSession *old;

      /* A resume of a session this node no longer has in Redis (a rejoin, or Redis
       * lost it): the local one, if any, is replaced. */
      if (cl->resume_sid != NULL
          && (old = g_hash_table_lookup (self->sessions, cl->resume_sid)) != NULL)
        {
          if (old->conn != NULL)
            {
              TetherServerConn *c = old->conn;

              tether_server_conn_detach (c);
              tether_server_conn_kill (c);
            }
          tether_server_session_drop (self, old);
        }
      /* Duplicate login of a session of this node (other nodes hear it from Redis). */
      if (replaced != NULL && *replaced != '\0'
          && g_strcmp0 (element_str (reply, 7), self->node_id) == 0)
        {
          g_autofree char *command = g_strdup_printf ("kick %s %d", replaced,
                                                      TETHER_ERROR_LOGGED_IN_ELSEWHERE);

          node_command (cluster, command);
        }
      session = login_local_session (cluster, cl, cl->sid, cl->resume_key, cl->user_name,
                                     cl->notify_users);
      self->stats.logins++;
      if (g_strcmp0 (element_str (reply, 5), "1") == 0)
        self->stats.rejoins++;
    }

  room_sync (cluster, session->room, element_str (reply, 1), seq);
  session->seq_from = seq;
  if (conn == NULL)
    {
      /* It closed meanwhile: the session waits for a resume or its timeout. */
      login_finish (cluster, cl);
      return;
    }
  conn->cluster_login = NULL;
  cl->conn = NULL;
  tether_server_session_attach (self, session, conn);
  tether_server_send_login_ok (self, session, resumed, resync, seq,
                               (TetherMessageUser *) users->data, users->len,
                               (TetherMessageStream *) streams->data, streams->len);
  if (resumed && !resync)
    for (gsize i = 10; i + 2 < reply->elements && element_str (reply, i) != NULL; i += 3)
      {
        const char *subject = element_str (reply, i + 1);
        gboolean user_event = g_strcmp0 (element_str (reply, i + 2), "1") == 0;

        if (!user_event || (session->notify_users && g_strcmp0 (subject, session->id) != 0))
          tether_server_conn_send (conn, element_str (reply, i));
      }
  /* This node delivered more than Redis had at the snapshot: the rest from its cache. */
  if (session->room->seq > seq)
    {
      if (tether_server_room_can_replay (session->room, seq))
        tether_server_room_replay (self, session, seq);
      else
        send_reconnect (session);
    }
  tether_server_log (G_LOG_LEVEL_INFO, session, "%s from %s on node %s (seq %" G_GUINT64_FORMAT "%s)",
                     resumed ? "resumed" : "logged in", conn->address, self->node_id, seq,
                     resync ? ", resync" : "");
  login_finish (cluster, cl);
  tether_server_conn_handle_early (conn);
}

void
tether_server_cluster_login (TetherServer             *self,
                             TetherServerConn         *conn,
                             const TetherLoginMessage *login,
                             TetherTokenClaims        *claims)
{
  TetherServerCluster *cluster = self->cluster;
  ClusterLogin *cl;
  g_autofree char *rk_hash = NULL;
  g_autofree char *sent_hash = NULL;
  g_autofree char *rsid = tether_server_random_hex (16);
  g_autofree char *last_seq = NULL;
  g_autofree char *backlog_bytes = NULL;

  if (!tether_redis_is_up (cluster->redis))
    {
      tether_token_claims_free (claims);
      refuse (cluster, conn);
      return;
    }

  cl = g_new0 (ClusterLogin, 1);
  cl->server = self;
  cl->conn = conn;
  conn->cluster_login = cl;
  cl->room_id = g_strdup (login->room_id);
  cl->user_id = g_strdup (login->user.id);
  cl->user_name = g_strdup (login->user.name);
  cl->notify_users = login->notify_users;
  cl->claims = claims;
  cl->token = g_strdup (login->token);
  cl->sid = tether_server_random_hex (16);
  cl->resume_key = tether_server_random_hex (32);
  /* A resume of no session of ours is a fresh login, as on one node. */
  if (login->session_id != NULL && session_id_valid (login->session_id))
    {
      cl->resume_sid = g_strdup (login->session_id);
      cl->sent_key = g_strdup (login->resume_key);
      cl->last_seq = (guint64) MAX (login->last_seq, 0);
      g_hash_table_insert (cluster->logins, g_strdup (cl->resume_sid), cl);
    }
  g_hash_table_insert (cluster->logins, g_strdup (cl->sid), cl);
  /* Resume keys reach Redis only as SHA-256 hashes. */
  rk_hash = sha256_hex (cl->resume_key);
  sent_hash = sha256_hex (cl->sent_key);
  last_seq = g_strdup_printf ("%" G_GUINT64_FORMAT, cl->last_seq);
  backlog_bytes = g_strdup_printf ("%u", self->event_backlog_bytes);
  cluster_eval (cluster, SCRIPT_LOGIN, login_cb, cl,
                (const char *[]) { cl->room_id, cl->user_id, cl->user_name,
                                   cl->notify_users ? "1" : "0", cl->sid, rk_hash, rsid,
                                   cl->resume_sid != NULL ? cl->resume_sid : "", sent_hash,
                                   last_seq, backlog_bytes, NULL });
}

/* Leaves: heartbeat timeout, token expiry, logout */

static void
pending_leave_free (PendingLeave *leave)
{
  g_free (leave->sid);
  g_free (leave->reason);
  g_free (leave);
}

static void
leave_cb (TetherRedis *redis,
          redisReply  *reply,
          const char  *error,
          gpointer     user_data)
{
  PendingLeave *leave = user_data;
  TetherServerCluster *cluster = leave->cluster;

  cluster->leaves_in_flight--;
  if (reply_failed (reply, error, "leave") && !cluster_gone (cluster))
    {
      /* Delayed, not lost: it goes again when Redis is back or takes changes again
       * (the next beat). Dropped, its session would stay in the room for good. */
      if (reply == NULL || reply_refused (reply))
        {
          g_queue_push_tail (&cluster->pending_leaves, leave);
          return;
        }
    }
  pending_leave_free (leave);
}

static void
cluster_flush_leaves (TetherServerCluster *cluster)
{
  PendingLeave *leave;

  while (tether_redis_is_up (cluster->redis)
         && (leave = g_queue_pop_head (&cluster->pending_leaves)) != NULL)
    {
      g_autofree char *keep = g_strdup_printf ("%" G_GINT64_FORMAT, leave->keep_ms);

      cluster->leaves_in_flight++;
      cluster_eval (cluster, SCRIPT_LEAVE, leave_cb, leave,
                    (const char *[]) { leave->sid, leave->reason, keep,
                                       cluster->server->node_id, NULL });
    }
}

/**
 * tether_server_cluster_leave:
 * @reason: the stream DELETE reason
 * @keep_us: how long the session stays resumable (a rejoin), 0 for never
 *
 * @session (of this node) leaves its room: it is dropped here at once and Redis
 * emits the DELETEs — now, or when it is reachable again.
 */
void
tether_server_cluster_leave (TetherServer        *self,
                             TetherServerSession *session,
                             const char          *reason,
                             gint64               keep_us)
{
  TetherServerCluster *cluster = self->cluster;
  PendingLeave *leave = g_new0 (PendingLeave, 1);

  leave->cluster = cluster;
  leave->sid = g_strdup (session->id);
  leave->reason = g_strdup (reason);
  leave->keep_ms = MAX (keep_us / 1000, 0);
  g_queue_push_tail (&cluster->pending_leaves, leave);
  tether_server_session_drop (self, session);
  /* While Redis refuses changes the beat retries them all, once per beat. */
  if (!cluster->refusing)
    cluster_flush_leaves (cluster);
}

/* Stream requests */

typedef struct
{
  TetherServerCluster *cluster;
  char                *sid;
  gint64               req;
  char                *stream_id;
  char                *node;
  char                *extra;
} StreamOp;

static void
stream_op_free (StreamOp *op)
{
  g_free (op->sid);
  g_free (op->stream_id);
  g_free (op->node);
  g_free (op->extra);
  g_free (op);
}

/* A stream request Redis could not take: request_error 1021. */
static void
refuse_request (TetherServerCluster *cluster,
                TetherServerConn    *conn,
                gint64               req)
{
  cluster->refused++;
  if (conn != NULL)
    tether_server_send_request_error (conn, req, TETHER_ERROR_SERVICE_UNAVAILABLE,
                                      "the room service cannot reach its shared state; retry later");
}

/* Whether a new stream request of @session must not go to Redis now: MAX_REQUESTS of
 * its own await an answer (1009) or Redis is away (1021); it got its answer then. */
static gboolean
request_refused (TetherServerCluster *cluster,
                 TetherServerSession *session,
                 gint64               req)
{
  if (session->requests >= MAX_REQUESTS)
    tether_server_send_request_error (session->conn, req, TETHER_ERROR_RATE_LIMITED,
                                      "too many requests awaiting an answer");
  else if (!tether_redis_is_up (cluster->redis))
    refuse_request (cluster, session->conn, req);
  else
    return FALSE;
  return TRUE;
}

/* The script's answer to a stream request, with the session (NULL if it left this
 * node meanwhile) and its connection; NULL when Redis failed it (then refused). */
static const char *
stream_op_status (StreamOp             *op,
                  redisReply           *reply,
                  const char           *error,
                  const char           *what,
                  TetherServerSession **session,
                  TetherServerConn    **conn)
{
  *session = cluster_gone (op->cluster) ? NULL
             : g_hash_table_lookup (op->cluster->server->sessions, op->sid);
  *conn = *session != NULL ? (*session)->conn : NULL;
  /* "gone": Redis no longer has the session present here (it resumed elsewhere, or
   * Redis lost it and this node's next beat restores it). Before, the request got no
   * answer at all. */
  if (reply_failed (reply, error, what) || reply->type != REDIS_REPLY_STRING
      || g_str_equal (reply->str, "gone"))
    {
      if (*session != NULL)
        refuse_request (op->cluster, *conn, op->req);
      return NULL;
    }
  return reply->str;
}

static void
stream_add_cb (TetherRedis *redis,
               redisReply  *reply,
               const char  *error,
               gpointer     user_data)
{
  StreamOp *op = user_data;
  TetherServer *self = op->cluster->server;
  TetherServerSession *session;
  TetherServerConn *conn;
  const char *status = stream_op_status (op, reply, error, "stream_add", &session, &conn);

  if (session == NULL)
    ;
  else if (status == NULL)
    tether_server_release_on_relays (self, session, op->stream_id);
  else if (g_str_equal (status, "ok"))
    {
      gboolean changed;
      TetherServerStream *stream = g_hash_table_lookup (self->streams, op->stream_id);

      if (stream == NULL || stream->session == session)
        tether_server_stream_put (self, session, op->stream_id, op->node, op->extra, &changed);
      if (conn != NULL)
        tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_ADD_OK,
                                                                                op->req));
      tether_server_log (G_LOG_LEVEL_DEBUG, session, "stream %s added on node %s", op->stream_id,
                         op->node);
    }
  else if (g_str_equal (status, "taken") || g_str_equal (status, "limit"))
    {
      if (g_hash_table_lookup (self->streams, op->stream_id) == NULL)
        tether_server_release_on_relays (self, session, op->stream_id);
      if (conn != NULL && g_str_equal (status, "taken"))
        tether_server_send_request_error (conn, op->req, TETHER_ERROR_STREAM_ID_TAKEN, "stream id in use");
      else if (conn != NULL)
        tether_server_send_request_error (conn, op->req, TETHER_ERROR_STREAM_LIMIT,
                                          "too many streams in this session");
    }
  if (session != NULL)
    tether_server_session_release_held (session);
  stream_op_free (op);
}

void
tether_server_cluster_stream_add (TetherServer              *self,
                                  TetherServerSession       *session,
                                  gint64                     req,
                                  const TetherMessageStream *stream)
{
  TetherServerCluster *cluster = self->cluster;
  StreamOp *op;
  g_autofree char *max = NULL;

  if (request_refused (cluster, session, req))
    {
      tether_server_release_on_relays (self, session, stream->id);
      return;
    }
  op = g_new0 (StreamOp, 1);
  op->cluster = cluster;
  op->sid = g_strdup (session->id);
  op->req = req;
  op->stream_id = g_strdup (stream->id);
  op->node = g_strdup (stream->node != NULL ? stream->node : "");
  op->extra = g_strdup (stream->extra != NULL ? stream->extra : "");
  max = g_strdup_printf ("%u", self->max_streams_per_session);
  session->requests++;
  cluster_eval (cluster, SCRIPT_STREAM, stream_add_cb, op,
                (const char *[]) { "add", op->sid, op->stream_id, op->node, op->extra, max, NULL });
}

static void
stream_delete_cb (TetherRedis *redis,
                  redisReply  *reply,
                  const char  *error,
                  gpointer     user_data)
{
  StreamOp *op = user_data;
  TetherServer *self = op->cluster->server;
  TetherServerSession *session;
  TetherServerConn *conn;
  const char *status = stream_op_status (op, reply, error, "stream_delete", &session, &conn);

  if (session == NULL || status == NULL)
    ;
  else if (g_str_equal (status, "ok"))
    {
      TetherServerStream *stream = g_hash_table_lookup (self->streams, op->stream_id);

      if (stream != NULL && stream->session == session)
        tether_server_stream_drop (self, stream);
      if (conn != NULL)
        tether_server_conn_send_message (conn, tether_message_build_request_ok (TETHER_MESSAGE_STREAM_DELETE_OK,
                                                                                op->req));
    }
  else if (conn != NULL && g_str_equal (status, "notfound"))
    tether_server_send_request_error (conn, op->req, TETHER_ERROR_STREAM_NOT_FOUND, "no such stream of yours");
  if (session != NULL)
    tether_server_session_release_held (session);
  stream_op_free (op);
}

void
tether_server_cluster_stream_delete (TetherServer        *self,
                                     TetherServerSession *session,
                                     gint64               req,
                                     const char          *stream_id,
                                     const char          *reason)
{
  TetherServerCluster *cluster = self->cluster;
  StreamOp *op;

  if (request_refused (cluster, session, req))
    return;
  op = g_new0 (StreamOp, 1);
  op->cluster = cluster;
  op->sid = g_strdup (session->id);
  op->req = req;
  op->stream_id = g_strdup (stream_id);
  session->requests++;
  cluster_eval (cluster, SCRIPT_STREAM, stream_delete_cb, op,
                (const char *[]) { "delete", op->sid, op->stream_id,
                                   reason != NULL ? reason : TETHER_REASON_STOPPED, NULL });
}

/* Ingest streams (tether-server-ingest.c): the embedded media node's publishers
 * without a room session, shown through Redis. The node keeps what it has (which
 * Redis cannot know) and what Redis has not taken yet: when Redis was away (down,
 * hung, or back empty) the next beat reconciles, in one script whose preconditions
 * make each ADD and DELETE exactly-once (stream.lua, ingest_sync). */

typedef struct
{
  char   *user_id;
  char   *room_id;
  char   *reason;    /* a removal's */
  guint64 gen;       /* of the latest change to it */
  gboolean taken;    /* Redis took that change */
} Ingest;

typedef struct
{
  TetherServerCluster *cluster;
  char                *stream_id;      /* NULL for a sync */
  guint64              gen;
} IngestOp;

static void
ingest_free (Ingest *ingest)
{
  g_free (ingest->user_id);
  g_free (ingest->room_id);
  g_free (ingest->reason);
  g_free (ingest);
}

/* Changes Redis has not taken: the gauge tether_cluster_pending_ingests. */
static guint
ingests_pending (TetherServerCluster *cluster)
{
  GHashTableIter iter;
  Ingest *ingest;
  guint n = g_hash_table_size (cluster->ingests_gone);

  g_hash_table_iter_init (&iter, cluster->ingests);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ingest))
    n += !ingest->taken;
  return n;
}

static void
ingest_cb (TetherRedis *redis,
           redisReply  *reply,
           const char  *error,
           gpointer     user_data)
{
  IngestOp *op = user_data;
  TetherServerCluster *cluster = op->cluster;

  if (cluster_gone (cluster))
    ;
  else if (reply == NULL)
    {
      /* Delayed, not lost: the next beat reconciles. */
      g_message ("cluster: ingest stream %s: Redis did not take the change (%s); it goes with "
                 "the reconciliation when Redis is back", op->stream_id, error);
      cluster->ingests_dirty = TRUE;
    }
  else if (reply->type == REDIS_REPLY_STRING && g_str_equal (reply->str, "wait"))
    {
      /* Its id is this user's ingest on another media node, not dead yet: the
       * publisher moved here from it. The next beats' reconciliation moves it. */
      g_message ("cluster: ingest stream %s is still shown on another media node; it moves "
                 "here once that node is dead", op->stream_id);
      cluster->ingests_dirty = TRUE;
    }
  else if (!reply_failed (reply, error, "ingest"))
    {
      Ingest *ingest = g_hash_table_lookup (cluster->ingests, op->stream_id);

      if (ingest != NULL && ingest->gen == op->gen)
        ingest->taken = TRUE;
      ingest = g_hash_table_lookup (cluster->ingests_gone, op->stream_id);
      if (ingest != NULL && ingest->gen == op->gen)
        g_hash_table_remove (cluster->ingests_gone, op->stream_id);
    }
  g_free (op->stream_id);
  g_free (op);
}

static void
ingest_sync_cb (TetherRedis *redis,
                redisReply  *reply,
                const char  *error,
                gpointer     user_data)
{
  IngestOp *op = user_data;
  TetherServerCluster *cluster = op->cluster;
  GHashTableIter iter;
  Ingest *ingest;

  if (cluster_gone (cluster))
    ;
  else if (reply_failed (reply, error, "reconciling ingest streams")
           || reply->type != REDIS_REPLY_ARRAY)
    /* Again at the next beat when Redis was away; not for an error reply (a bug). */
    cluster->ingests_dirty |= reply == NULL;
  else
    {
      if (element_int (reply, 0) > 0 || element_int (reply, 1) > 0)
        g_message ("cluster: ingest streams reconciled with Redis: %" G_GINT64_FORMAT " added, %"
                   G_GINT64_FORMAT " deleted", element_int (reply, 0), element_int (reply, 1));
      /* What the sync sent is taken; later changes went after it, on their own. */
      g_hash_table_iter_init (&iter, cluster->ingests);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ingest))
        ingest->taken |= ingest->gen <= op->gen;
      g_hash_table_iter_init (&iter, cluster->ingests_gone);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ingest))
        if (ingest->gen <= op->gen)
          g_hash_table_iter_remove (&iter);
      /* One still shown on a media node not known dead: again at the next beat. */
      cluster->ingests_dirty |= element_int (reply, 2) > 0;
    }
  if (!cluster_gone (cluster))
    cluster->ingest_sync_in_flight = FALSE;
  g_free (op);
}

/* After a beat that found Redis back: the media node's ingest streams in Redis
 * become the ones it has — what Redis lacks is added, what it shows and the node no
 * longer has is deleted (with the removal's reason when the node saw it go). */
static void
cluster_sync_ingests (TetherServerCluster *cluster)
{
  TetherServer *self = cluster->server;
  g_autoptr(JsonBuilder) live = json_builder_new ();
  g_autoptr(JsonBuilder) gone = json_builder_new ();
  g_autoptr(JsonNode) live_node = NULL;
  g_autoptr(JsonNode) gone_node = NULL;
  g_autofree char *live_json = NULL;
  g_autofree char *gone_json = NULL;
  GHashTableIter iter;
  const char *stream_id;
  Ingest *ingest;
  IngestOp *op;

  if (cluster->media_id == NULL || cluster->ingest_sync_in_flight)
    return;
  json_builder_begin_array (live);
  g_hash_table_iter_init (&iter, cluster->ingests);
  while (g_hash_table_iter_next (&iter, (gpointer *) &stream_id, (gpointer *) &ingest))
    {
      g_autofree char *rsid = NULL;

      /* A session of this node adopted it: the session's restore brings it back. */
      if (g_hash_table_lookup (self->streams, stream_id) != NULL)
        continue;
      rsid = tether_server_random_hex (16);
      json_builder_begin_object (live);
      json_builder_set_member_name (live, "id");
      json_builder_add_string_value (live, stream_id);
      json_builder_set_member_name (live, "uid");
      json_builder_add_string_value (live, ingest->user_id);
      json_builder_set_member_name (live, "room");
      json_builder_add_string_value (live, ingest->room_id);
      json_builder_set_member_name (live, "rsid");
      json_builder_add_string_value (live, rsid);
      json_builder_end_object (live);
    }
  json_builder_end_array (live);
  json_builder_begin_object (gone);
  g_hash_table_iter_init (&iter, cluster->ingests_gone);
  while (g_hash_table_iter_next (&iter, (gpointer *) &stream_id, (gpointer *) &ingest))
    {
      json_builder_set_member_name (gone, stream_id);
      json_builder_add_string_value (gone, ingest->reason);
    }
  json_builder_end_object (gone);
  live_node = json_builder_get_root (live);
  gone_node = json_builder_get_root (gone);
  live_json = json_to_string (live_node, FALSE);
  gone_json = json_to_string (gone_node, FALSE);

  cluster->ingests_dirty = FALSE;
  cluster->ingest_sync_in_flight = TRUE;
  op = g_new0 (IngestOp, 1);
  op->cluster = cluster;
  op->gen = cluster->ingest_gen;
  cluster_eval (cluster, SCRIPT_STREAM, ingest_sync_cb, op,
                (const char *[]) { "ingest_sync", cluster->media_id, live_json, gone_json, NULL });
}

/* The embedded media node's ingest publishers (tether-server-ingest.c): shown or
 * withdrawn through Redis — now, or at the reconciliation after Redis was away. */
void
tether_server_cluster_ingest (TetherServer *self,
                              gboolean      add,
                              const char   *stream_id,
                              const char   *user_id,
                              const char   *room_id,
                              const char   *node_id,
                              const char   *reason)
{
  TetherServerCluster *cluster = self->cluster;
  Ingest *ingest = g_hash_table_lookup (cluster->ingests, stream_id);
  g_autofree char *rsid = tether_server_random_hex (16);
  IngestOp *op;

  if (!add && (ingest == NULL || g_strcmp0 (ingest->user_id, user_id) != 0))
    return;   /* not one of its ingest streams (no room, or media never started) */
  ingest = g_new0 (Ingest, 1);
  ingest->user_id = g_strdup (user_id);
  ingest->room_id = g_strdup (room_id);
  ingest->reason = g_strdup (reason);
  ingest->gen = ++cluster->ingest_gen;
  if (add)
    {
      g_hash_table_remove (cluster->ingests_gone, stream_id);
      g_hash_table_replace (cluster->ingests, g_strdup (stream_id), ingest);
    }
  else
    {
      g_hash_table_remove (cluster->ingests, stream_id);
      g_hash_table_replace (cluster->ingests_gone, g_strdup (stream_id), ingest);
    }
  /* Redis away, or a change it missed still waits: the reconciliation sends it. */
  if (!tether_redis_is_up (cluster->redis) || cluster->ingests_dirty)
    {
      cluster->ingests_dirty = TRUE;
      return;
    }
  op = g_new0 (IngestOp, 1);
  op->cluster = cluster;
  op->stream_id = g_strdup (stream_id);
  op->gen = ingest->gen;
  if (add)
    cluster_eval (cluster, SCRIPT_STREAM, ingest_cb, op,
                  (const char *[]) { "ingest_add", stream_id, user_id, room_id, node_id, rsid, NULL });
  else
    cluster_eval (cluster, SCRIPT_STREAM, ingest_cb, op,
                  (const char *[]) { "ingest_remove", stream_id, user_id, reason, NULL });
}

/* Beats, dead nodes, an empty Redis */

static void
node_info_free (NodeInfo *node)
{
  g_free (node->id);
  g_free (node->ws_url);
  g_free (node->media_id);
  g_free (node->media_url);
  g_free (node);
}

static void cluster_reap (TetherServerCluster *cluster, const char *node_id);

typedef struct
{
  TetherServerCluster *cluster;
  char                *node_id;
} ReapOp;

static void
reap_cb (TetherRedis *redis,
         redisReply  *reply,
         const char  *error,
         gpointer     user_data)
{
  ReapOp *op = user_data;
  TetherServerCluster *cluster = op->cluster;
  const char *status = element_str (reply, 0);

  g_hash_table_remove (cluster->reaping, op->node_id);
  if (!cluster_gone (cluster) && !reply_failed (reply, error, "reaping a dead node")
      && status != NULL)
    {
      if (g_str_equal (status, "more") || g_str_equal (status, "done"))
        {
          cluster->reaped += (guint64) element_int (reply, 1);
          g_message ("cluster: node %s is dead: %" G_GINT64_FORMAT " of its sessions left their rooms",
                     op->node_id, element_int (reply, 1));
        }
      if (g_str_equal (status, "more"))
        cluster_reap (cluster, op->node_id);
    }
  g_free (op->node_id);
  g_free (op);
}

static void
cluster_reap (TetherServerCluster *cluster,
              const char          *node_id)
{
  g_autofree char *hb = g_strdup_printf ("%" G_GINT64_FORMAT,
                                         (gint64) (cluster->server->heartbeat_timeout * 1000));
  ReapOp *op;

  if (g_hash_table_contains (cluster->reaping, node_id))
    return;
  g_hash_table_add (cluster->reaping, g_strdup (node_id));
  op = g_new0 (ReapOp, 1);
  op->cluster = cluster;
  op->node_id = g_strdup (node_id);
  cluster_eval (cluster, SCRIPT_REAP, reap_cb, op,
                (const char *[]) { node_id, hb, REAP_BATCH, NULL });
}

static void
beat_cb (TetherRedis *redis,
         redisReply  *reply,
         const char  *error,
         gpointer     user_data)
{
  TetherServerCluster *cluster = user_data;
  TetherServer *self = cluster->server;
  gboolean existed;

  cluster->beat_in_flight = FALSE;
  if (!cluster_gone (cluster) && reply_refused (reply))
    {
      /* Every node's beat fails alike: when Redis takes changes again, nobody is
       * reaped before the others have beaten, as after an outage. */
      cluster->up_since = g_get_monotonic_time ();
      if (!cluster->refusing)
        g_warning ("cluster: Redis refuses changes (%s): this node cannot beat, requests may get "
                   "1021, and nobody is reaped until Redis takes changes again", reply->str);
      cluster->refusing = TRUE;
    }
  if (cluster_gone (cluster) || reply_failed (reply, error, "beat")
      || reply->type != REDIS_REPLY_ARRAY)
    return;
  if (cluster->refusing)
    {
      g_message ("cluster: Redis takes changes again");
      cluster->refusing = FALSE;
    }
  existed = element_int (reply, 0) == 1;
  g_ptr_array_set_size (cluster->nodes, 0);
  for (gsize i = 1; i + 4 < reply->elements; i += 5)
    {
      NodeInfo *node = g_new0 (NodeInfo, 1);

      node->id = g_strdup (element_str (reply, i));
      node->ws_url = g_strdup (element_str (reply, i + 1));
      node->alive = element_int (reply, i + 2) == 1;
      node->media_id = g_strdup (element_str (reply, i + 3));
      node->media_url = g_strdup (element_str (reply, i + 4));
      if (node->id == NULL)
        {
          node_info_free (node);
          continue;
        }
      g_ptr_array_add (cluster->nodes, node);
      if (!node->alive && !g_str_equal (node->id, self->node_id)
          && g_get_monotonic_time () - cluster->up_since > REAP_GRACE + USEC (self->node_timeout))
        cluster_reap (cluster, node->id);
    }
  /* Registered before, gone now: Redis restarted empty (or took this node for dead). */
  if (cluster->registered && !existed)
    cluster_restore (cluster);
  /* Its ingest streams too (after the restores, which take back adopted ones). */
  if (cluster->ingests_dirty || (cluster->registered && !existed))
    cluster_sync_ingests (cluster);
  cluster->registered = TRUE;
}

static void
cluster_beat_now (TetherServerCluster *cluster)
{
  TetherServer *self = cluster->server;
  g_autofree char *timeout = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) (self->node_timeout * 1000));
  /* A room-service node's load is its present sessions; a separate media node's
   * (tether_server_join_cluster_media_only()), which has none, its players. */
  g_autofree char *load = g_strdup_printf ("%u", cluster->media_only
                                                 ? tether_relay_get_player_count (self->relays->pdata[0])
                                                 : self->present.length);

  if (cluster->beat_in_flight || !tether_redis_is_up (cluster->redis))
    return;
  cluster->beat_in_flight = TRUE;
  cluster_eval (cluster, SCRIPT_BEAT, beat_cb, cluster,
                (const char *[]) { self->public_url, cluster->media_id != NULL ? cluster->media_id : "",
                                   cluster->media_url != NULL ? cluster->media_url : "", load,
                                   timeout, cluster->registered ? "0" : "1", NULL });
}

static gboolean
beat_timer_cb (gpointer data)
{
  TetherServerCluster *cluster = data;

  /* A Redis that holds a PING past the node timeout is taken for dead. */
  tether_redis_ping (cluster->redis, MAX (USEC (cluster->server->node_timeout) * 3, G_USEC_PER_SEC));
  cluster_beat_now (cluster);
  cluster_leave_lost (cluster);
  cluster_flush_leaves (cluster);
  if (cluster->recheck_at != 0 && g_get_monotonic_time () >= cluster->recheck_at)
    {
      cluster->recheck_at = 0;
      cluster->unheard = TRUE;
    }
  if (cluster->unheard)
    cluster_check_owned (cluster);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  TetherServerCluster *cluster;
  char                *sid;
} RestoreOp;

static void
restore_cb (TetherRedis *redis,
            redisReply  *reply,
            const char  *error,
            gpointer     user_data)
{
  RestoreOp *op = user_data;
  TetherServer *self = op->cluster->server;
  TetherServerSession *session = cluster_gone (op->cluster) ? NULL
                                 : g_hash_table_lookup (self->sessions, op->sid);
  const char *status = element_str (reply, 0);

  if (session != NULL && !reply_failed (reply, error, "restore") && status != NULL)
    {
      if (g_str_equal (status, "ok"))
        {
          room_sync (op->cluster, session->room, element_str (reply, 1), 0);
          /* Its client resumes into a resync snapshot of the restored room. */
          send_reconnect (session);
        }
      else
        {
          g_autofree char *command = g_strdup_printf ("kick %s %d", op->sid,
                                                      TETHER_ERROR_LOGGED_IN_ELSEWHERE);

          node_command (op->cluster, command);
        }
    }
  g_free (op->sid);
  g_free (op);
}

/* Redis came back without this node's keys: every present session of this node is
 * put back, with its streams, and its client told to resume into a resync. */
static void
cluster_restore (TetherServerCluster *cluster)
{
  TetherServer *self = cluster->server;
  GHashTableIter iter;
  TetherServerRoom *room;
  TetherServerSession *session;

  g_message ("cluster: Redis lost this node's state (restarted empty?): restoring %u sessions",
             g_hash_table_size (self->sessions));
  cluster->restores++;
  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    tether_server_room_reset (room);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *rk_hash = sha256_hex (session->resume_key);
      RestoreOp *op = g_new0 (RestoreOp, 1);

      session->seq_from = 0;
      g_ptr_array_add (args, g_strdup (session->id));
      g_ptr_array_add (args, g_strdup (rk_hash));
      g_ptr_array_add (args, g_strdup (session->room->id));
      g_ptr_array_add (args, g_strdup (session->user_id));
      g_ptr_array_add (args, g_strdup (session->user_name));
      g_ptr_array_add (args, g_strdup (session->notify_users ? "1" : "0"));
      g_ptr_array_add (args, tether_server_random_hex (16));
      for (GList *l = session->streams.head; l != NULL; l = l->next)
        {
          TetherServerStream *stream = l->data;

          g_ptr_array_add (args, g_strdup (stream->id));
          g_ptr_array_add (args, g_strdup (stream->node));
          g_ptr_array_add (args, g_strdup (stream->extra));
        }
      g_ptr_array_add (args, NULL);
      op->cluster = cluster;
      op->sid = g_strdup (session->id);
      cluster_eval (cluster, SCRIPT_RESTORE, restore_cb, op, (const char * const *) args->pdata);
    }
}

static void
state_cb (TetherRedis *redis,
          gboolean     up,
          gpointer     user_data)
{
  TetherServerCluster *cluster = user_data;
  GHashTableIter iter;
  TetherServerRoom *room;

  if (!up)
    return;
  cluster->up_since = g_get_monotonic_time ();
  /* Replies lost with the connection may hide ingest changes Redis missed. */
  cluster->ingests_dirty = TRUE;
  /* Back: register (which finds out whether Redis kept our state), send the leaves
   * that waited, and catch every room up from its log. */
  cluster_beat_now (cluster);
  cluster_flush_leaves (cluster);
  g_hash_table_iter_init (&iter, cluster->server->rooms);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &room))
    cluster_catch_up (cluster, room);
}

/* Setup */

static char *
load_script (const char *name,
             GError    **error)
{
  g_autofree char *path = g_strdup_printf ("/org/tether/server/cluster/%s.lua", name);
  /* The resource itself, not the global table: a static library's constructor that
   * registers it might not be linked in. */
  GResource *resource = tether_server_get_resource ();
  g_autoptr(GBytes) common = g_resource_lookup_data (resource, "/org/tether/server/cluster/common.lua",
                                                     0, error);
  g_autoptr(GBytes) body = common != NULL ? g_resource_lookup_data (resource, path, 0, error) : NULL;

  if (body == NULL)
    return NULL;
  return g_strdup_printf ("%.*s\n%.*s", (int) g_bytes_get_size (common),
                          (const char *) g_bytes_get_data (common, NULL),
                          (int) g_bytes_get_size (body), (const char *) g_bytes_get_data (body, NULL));
}

/**
 * tether_server_cluster_start:
 *
 * tether_server_listen() with #TetherServer:redis set: connects (in the background;
 * logins are refused with 1021 until Redis answers), subscribes to this node's
 * channel and starts the beat. @media_only: tether_server_join_cluster_media_only(),
 * a media node without a room service (its beat's load is its relay's players).
 */
gboolean
tether_server_cluster_start (TetherServer  *self,
                             gboolean       media_only,
                             GError       **error)
{
  TetherServerCluster *cluster = g_new0 (TetherServerCluster, 1);
  g_autofree char *channel = NULL;

  cluster->server = self;
  cluster->media_only = media_only;
  cluster->redis = tether_redis_new (self->redis_url, self->context, error);
  if (cluster->redis == NULL)
    {
      g_free (cluster);
      return FALSE;
    }
  for (guint i = 0; i < N_SCRIPTS; i++)
    {
      g_autofree char *lua = load_script (script_names[i], error);

      if (lua == NULL)
        {
          for (guint j = 0; j < i; j++)
            tether_redis_script_clear (&cluster->scripts[j]);
          tether_redis_free (cluster->redis);
          g_free (cluster);
          return FALSE;
        }
      tether_redis_script_init (&cluster->scripts[i], lua);
    }
  if (self->node_id == NULL)
    self->node_id = g_strdup (g_get_host_name ());
  if (self->public_url == NULL)
    self->public_url = tether_server_get_url (self);
  cluster->prefix = g_strdup_printf ("tether:%s:", self->app_id);
  cluster->node_channel = g_strconcat (cluster->prefix, "node:", self->node_id, NULL);
  if (self->relays->len > 0)
    {
      /* The embedded media node: announced in the registry, first in this node's
       * login_ok (edge-first). */
      TetherServerMediaNode *node = g_ptr_array_index (self->media_nodes, 0);

      cluster->media_id = g_strdup (node->id);
      cluster->media_url = g_strdup (node->url);
    }
  cluster->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_info_free);
  cluster->reaping = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  cluster->lost = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cluster->ingests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) ingest_free);
  cluster->ingests_gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) ingest_free);
  /* Keys of its own: two logins resuming one session share the key string. */
  cluster->logins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cluster = cluster;

  tether_redis_set_handlers (cluster->redis, state_cb, message_cb, cluster);
  tether_redis_subscribe (cluster->redis, cluster->node_channel);
  tether_redis_start (cluster->redis);
  cluster->beat = g_timeout_source_new ((guint) MAX (self->node_beat * 1000, 10));
  g_source_set_callback (cluster->beat, beat_timer_cb, cluster, NULL);
  g_source_set_static_name (cluster->beat, "[tether] cluster beat");
  g_source_attach (cluster->beat, self->context);
  if (cluster->media_only)
    g_message ("cluster node %s: media node %s only (%s)", self->node_id, cluster->media_id,
               cluster->media_url);
  else
    g_message ("cluster node %s (%s)", self->node_id, self->public_url);
  return TRUE;
}

void
tether_server_cluster_free (TetherServer *self)
{
  TetherServerCluster *cluster = self->cluster;

  if (cluster == NULL)
    return;
  self->cluster = NULL;
  if (cluster->beat != NULL)
    {
      g_source_destroy (cluster->beat);
      g_source_unref (cluster->beat);
    }
  /* Pending callbacks are dropped with the client, not called. */
  tether_redis_free (cluster->redis);
  for (guint i = 0; i < N_SCRIPTS; i++)
    tether_redis_script_clear (&cluster->scripts[i]);
  g_queue_clear_full (&cluster->pending_leaves, (GDestroyNotify) pending_leave_free);
  g_ptr_array_unref (cluster->nodes);
  g_hash_table_unref (cluster->reaping);
  g_hash_table_unref (cluster->lost);
  g_hash_table_unref (cluster->ingests);
  g_hash_table_unref (cluster->ingests_gone);
  g_hash_table_unref (cluster->logins);
  g_free (cluster->prefix);
  g_free (cluster->node_channel);
  g_free (cluster->media_id);
  g_free (cluster->media_url);
  g_free (cluster);
}

/* What login_ok and /metrics show */

/**
 * tether_server_cluster_media_nodes:
 *
 * Returns: (transfer container): the media nodes for login_ok — this node's own
 *   first (edge-first), then the live ones of the other nodes, then any configured
 *   with --media-node
 */
GPtrArray *
tether_server_cluster_media_nodes (TetherServer *self)
{
  TetherServerCluster *cluster = self->cluster;
  GPtrArray *list = g_ptr_array_new_with_free_func (tether_server_media_node_free);
  TetherServerMediaNode *node;

  for (guint i = 0; i < self->media_nodes->len; i++)
    {
      TetherServerMediaNode *mine = g_ptr_array_index (self->media_nodes, i);

      node = g_new0 (TetherServerMediaNode, 1);
      node->id = g_strdup (mine->id);
      node->url = g_strdup (mine->url);
      g_ptr_array_add (list, node);
    }
  for (guint i = 0; i < cluster->nodes->len; i++)
    {
      NodeInfo *info = g_ptr_array_index (cluster->nodes, i);
      gboolean known = FALSE;

      if (!info->alive || info->media_id == NULL || *info->media_id == '\0')
        continue;
      for (guint j = 0; j < list->len && !known; j++)
        known = g_str_equal (((TetherServerMediaNode *) list->pdata[j])->id, info->media_id);
      if (known)
        continue;
      node = g_new0 (TetherServerMediaNode, 1);
      node->id = g_strdup (info->media_id);
      node->url = g_strdup (info->media_url);
      g_ptr_array_add (list, node);
    }
  return list;
}

/**
 * tether_server_cluster_room_services:
 *
 * The other nodes follow in their order rotated to start at a random one, per login:
 * a client that loses this node tries the next URL of its list first, so the clients
 * of a dead node spread over the survivors instead of all landing on the same one.
 *
 * Returns: (transfer full): the public URLs of the live nodes, this one first — for
 *   login_ok's `room_services`
 */
GStrv
tether_server_cluster_room_services (TetherServer *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  guint first;

  g_strv_builder_add (builder, self->public_url);
  for (guint i = 0; self->cluster != NULL && i < self->cluster->nodes->len; i++)
    {
      NodeInfo *info = g_ptr_array_index (self->cluster->nodes, i);

      if (info->alive && !g_str_equal (info->id, self->node_id) && info->ws_url != NULL
          && *info->ws_url != '\0')
        g_ptr_array_add (others, info->ws_url);
    }
  first = others->len > 1 ? (guint) g_random_int_range (0, (gint32) others->len) : 0;
  for (guint i = 0; i < others->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (others, (first + i) % others->len));
  return g_strv_builder_end (builder);
}

void
tether_server_cluster_metrics (TetherServer *self,
                               GString      *out)
{
  TetherServerCluster *cluster = self->cluster;

  if (cluster == NULL)
    return;
  g_string_append_printf (out,
                          "# HELP tether_cluster_node_info This node's id in the cluster.\n"
                          "# TYPE tether_cluster_node_info gauge\n"
                          "tether_cluster_node_info{node=\"%s\"} 1\n"
                          "# HELP tether_redis_up Whether Redis answers (1) or not (0).\n"
                          "# TYPE tether_redis_up gauge\n"
                          "tether_redis_up %d\n"
                          "# HELP tether_redis_refusing Whether Redis refuses changes (OOM, BUSY, LOADING, …) at the latest beat.\n"
                          "# TYPE tether_redis_refusing gauge\n"
                          "tether_redis_refusing %d\n"
                          "# HELP tether_redis_round_trip_seconds The latest PING's round trip.\n"
                          "# TYPE tether_redis_round_trip_seconds gauge\n"
                          "tether_redis_round_trip_seconds %g\n"
                          "# HELP tether_redis_commands_total Commands sent to Redis.\n"
                          "# TYPE tether_redis_commands_total counter\n"
                          "tether_redis_commands_total %" G_GUINT64_FORMAT "\n",
                          self->node_id, tether_redis_is_up (cluster->redis) ? 1 : 0,
                          cluster->refusing ? 1 : 0, tether_redis_get_round_trip (cluster->redis),
                          tether_redis_get_commands (cluster->redis));
  /* A media-only node has no rooms, requests nor sessions of its own. */
  if (!cluster->media_only)
    g_string_append_printf (out,
                            "# HELP tether_cluster_events_total Room events received from Redis.\n"
                            "# TYPE tether_cluster_events_total counter\n"
                            "tether_cluster_events_total %" G_GUINT64_FORMAT "\n"
                            "# HELP tether_cluster_event_lag_seconds Time from an event's PUBLISH to its fan-out here.\n"
                            "# TYPE tether_cluster_event_lag_seconds summary\n"
                            "tether_cluster_event_lag_seconds_sum %g\n"
                            "tether_cluster_event_lag_seconds_count %" G_GUINT64_FORMAT "\n"
                            "# HELP tether_cluster_event_lag_max_seconds The longest event lag seen.\n"
                            "# TYPE tether_cluster_event_lag_max_seconds gauge\n"
                            "tether_cluster_event_lag_max_seconds %g\n"
                            "# HELP tether_cluster_refused_total Requests refused with 1021 (Redis unreachable).\n"
                            "# TYPE tether_cluster_refused_total counter\n"
                            "tether_cluster_refused_total %" G_GUINT64_FORMAT "\n"
                            "# HELP tether_cluster_pending_leaves Removals waiting for Redis.\n"
                            "# TYPE tether_cluster_pending_leaves gauge\n"
                            "tether_cluster_pending_leaves %u\n",
                            cluster->events_in, cluster->lag_sum, cluster->lag_count,
                            cluster->lag_max, cluster->refused, cluster->pending_leaves.length);
  g_string_append_printf (out,
                          "# HELP tether_cluster_reaped_sessions_total Sessions of dead nodes this node removed.\n"
                          "# TYPE tether_cluster_reaped_sessions_total counter\n"
                          "tether_cluster_reaped_sessions_total %" G_GUINT64_FORMAT "\n"
                          "# HELP tether_cluster_restores_total Times Redis came back without this node's state.\n"
                          "# TYPE tether_cluster_restores_total counter\n"
                          "tether_cluster_restores_total %" G_GUINT64_FORMAT "\n"
                          "# HELP tether_cluster_pending_ingests Ingest stream changes waiting "
                          "for Redis.\n"
                          "# TYPE tether_cluster_pending_ingests gauge\n"
                          "tether_cluster_pending_ingests %u\n",
                          cluster->reaped, cluster->restores, ingests_pending (cluster));
}
