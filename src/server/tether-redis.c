/* tether-redis.c: an asynchronous Redis client on a GMainContext for the room
 * service's cluster mode (hiredis async on a GSource of its own)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <hiredis/async.h>

#include "tether-protocol.h"
#include "tether-redis.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

typedef struct
{
  TetherRedis       *redis;
  redisAsyncContext *ac;          /* NULL while not connecting or connected */
  GSource           *source;      /* the Watch of ac */
  GSource           *old_source;  /* of the previous ac: destroyed at the next attempt */
  gboolean           connected;
  gboolean           ready;       /* connected, the password taken and the database selected */
  gboolean           subscriber;
} Conn;

typedef struct
{
  gboolean wanted;
  gboolean sent;           /* SUBSCRIBE sent on this connection */
  gboolean unsub_pending;  /* UNSUBSCRIBE sent, its answer not yet in */
} Channel;

struct _TetherRedis
{
  char                  *host;
  char                  *password;      /* AUTH on every connection; never logged */
  gboolean               auth_refused;  /* the latest AUTH was refused (logged once) */
  guint16                port;
  guint                  db;
  GMainContext          *context;
  Conn                   cmd;
  Conn                   sub;
  GHashTable            *channels;     /* name → Channel */
  TetherRedisStateFunc   state_func;
  TetherRedisMessageFunc message_func;
  gpointer               user_data;
  gboolean               started;
  gboolean               up;
  gboolean               freeing;
  guint                  backoff_ms;
  GSource               *retry;
  GQueue                 failed;       /* Request: refused while not connected */
  GSource               *fail_idle;    /* answers them, outside the caller's call */
  guint64                commands;
  double                 round_trip;   /* seconds, of the latest PING */
  gint64                 ping_sent;    /* monotonic µs of the PING in flight, else 0 */
};

typedef struct
{
  TetherRedis             *redis;
  TetherRedisReplyFunc     func;
  gpointer                 user_data;
  const TetherRedisScript *script;     /* for EVAL after NOSCRIPT */
  GPtrArray               *argv;       /* the EVALSHA's arguments, kept for that */
} Request;

/* The GSource of a connection. Not hiredis' own GLib adapter (adapters/glib.h): its
 * dispatch reads after a write even when that write failed and freed the context — a
 * reset connection reports IN and OUT at once — and so frees it twice. This one stops
 * as soon as hiredis lets go of the context (its cleanup hook). */
typedef struct
{
  GSource            source;
  redisAsyncContext *ac;      /* NULL once hiredis has cleaned up */
  GPollFD            poll_fd;
} Watch;

static void
watch_set_events (void         *data,
                  GIOCondition  add,
                  GIOCondition  remove)
{
  Watch *watch = data;

  GMainContext *context = g_source_get_context (&watch->source);

  watch->poll_fd.events = (watch->poll_fd.events | add) & ~remove;
  if (context != NULL)
    g_main_context_wakeup (context);
}

static void watch_add_read (void *data) { watch_set_events (data, G_IO_IN, 0); }
static void watch_del_read (void *data) { watch_set_events (data, 0, G_IO_IN); }
static void watch_add_write (void *data) { watch_set_events (data, G_IO_OUT, 0); }
static void watch_del_write (void *data) { watch_set_events (data, 0, G_IO_OUT); }

static void
watch_cleanup (void *data)
{
  Watch *watch = data;

  watch->ac = NULL;
  if (watch->poll_fd.fd >= 0)
    {
      g_source_remove_poll (&watch->source, &watch->poll_fd);
      watch->poll_fd.fd = -1;
    }
}

static gboolean
watch_ready (Watch *watch)
{
  return watch->ac != NULL
         && (watch->poll_fd.revents & (watch->poll_fd.events | G_IO_HUP | G_IO_ERR)) != 0;
}

static gboolean
watch_prepare (GSource *source,
               gint    *timeout)
{
  *timeout = -1;
  return watch_ready ((Watch *) source);
}

static gboolean
watch_check (GSource *source)
{
  return watch_ready ((Watch *) source);
}

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  Watch *watch = (Watch *) source;
  GIOCondition revents = watch->poll_fd.revents;

  watch->poll_fd.revents = 0;
  /* Each call may end in the context being freed (and watch->ac cleared). */
  if (watch->ac != NULL && (revents & (G_IO_OUT | G_IO_ERR | G_IO_HUP))
      && (watch->poll_fd.events & G_IO_OUT))
    redisAsyncHandleWrite (watch->ac);
  if (watch->ac != NULL && (revents & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
    redisAsyncHandleRead (watch->ac);
  return G_SOURCE_CONTINUE;
}

static GSource *
watch_new (redisAsyncContext *ac)
{
  static GSourceFuncs funcs = { watch_prepare, watch_check, watch_dispatch, NULL, NULL, NULL };
  Watch *watch = (Watch *) g_source_new (&funcs, sizeof (Watch));

  watch->ac = ac;
  watch->poll_fd.fd = ac->c.fd;
  g_source_add_poll (&watch->source, &watch->poll_fd);
  ac->ev.data = watch;
  ac->ev.addRead = watch_add_read;
  ac->ev.delRead = watch_del_read;
  ac->ev.addWrite = watch_add_write;
  ac->ev.delWrite = watch_del_write;
  ac->ev.cleanup = watch_cleanup;
  return &watch->source;
}

static void conn_connect (Conn *conn);
static void redis_update_state (TetherRedis *redis);

/* Ids and URL */

/**
 * tether_redis_id_check:
 * @what: what the id is, for the message ("--node-id", "app id", …)
 * @id: (nullable): an app, node or media node id of a cluster
 *
 * A cluster's Redis keys hold these ids ("tether:<app>:node:<id>:alive"): they must
 * be protocol ids without ':', which separates a key's parts (node "n0:alive" would be
 * node n0's liveness), and without '~', which marks a restarted node's ghost
 * ("<id>~<started_ms>").
 *
 * Returns: %TRUE when @id is such an id
 */
gboolean
tether_redis_id_check (const char  *what,
                       const char  *id,
                       GError     **error)
{
  if (id != NULL && tether_protocol_valid_id (id) && strpbrk (id, ":~") == NULL)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "%s: “%s” cannot be a cluster's id (1–128 characters of A–Z a–z 0–9 . _ @ -; "
               "':' and '~' are reserved in its Redis keys)", what, id != NULL ? id : "");
  return FALSE;
}

/**
 * tether_redis_parse_url:
 * @url: `redis://[:PASSWORD@]HOST[:PORT][/DB]` (HOST may be `[v6]`; PORT defaults
 *   to 6379)
 * @password: (out) (optional) (nullable): the password, if any
 *
 * Returns: %TRUE when @url is one. The message of @error never holds @url, which
 *   may hold a password.
 */
gboolean
tether_redis_parse_url (const char  *url,
                        char       **host,
                        guint16     *port,
                        guint       *db,
                        char       **password,
                        GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *path;
  guint64 n = 0;

  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "redis") != 0
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || (g_uri_get_user (uri) != NULL && *g_uri_get_user (uri) != '\0')
      || g_uri_get_query (uri) != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "not a redis://[:PASSWORD@]HOST[:PORT][/DB] URL");
      return FALSE;
    }
  path = g_uri_get_path (uri);
  if (path != NULL && *path == '/')
    path++;
  if (path != NULL && *path != '\0'
      && (!g_ascii_string_to_unsigned (path, 10, 0, 15, &n, NULL)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "the database of a redis:// URL must be a number from 0 to 15");
      return FALSE;
    }
  if (password != NULL)
    *password = g_strdup (g_uri_get_password (uri));
  *host = g_strdup (g_uri_get_host (uri));
  *port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 6379;
  *db = (guint) n;
  return TRUE;
}

/* Requests */

static void
request_free (Request *req)
{
  g_clear_pointer (&req->argv, g_ptr_array_unref);
  g_free (req);
}

/* Every request ends here, once: with the reply, or with an error (also when the
 * client is freed, so that callers can free what they passed). */
static void
request_finish (Request    *req,
                redisReply *reply,
                const char *error)
{
  if (req->func != NULL)
    req->func (req->redis, reply, req->redis->freeing ? "Redis client freed" : error,
               req->user_data);
  request_free (req);
}

static gboolean
fail_idle_cb (gpointer data)
{
  TetherRedis *redis = data;
  Request *req;

  g_clear_pointer (&redis->fail_idle, g_source_unref);
  while ((req = g_queue_pop_head (&redis->failed)) != NULL)
    request_finish (req, NULL, "Redis is not connected");
  return G_SOURCE_REMOVE;
}

static void request_send (Request *req, gboolean eval);

static void
reply_cb (redisAsyncContext *ac,
          void              *r,
          void              *privdata)
{
  Request *req = privdata;
  redisReply *reply = r;

  if (reply == NULL)
    {
      /* The context is going: what the callback sends now must not reach it. */
      req->redis->cmd.ready = FALSE;
      request_finish (req, NULL, ac->errstr[0] != '\0' ? ac->errstr : "connection to Redis lost");
      return;
    }
  /* The script cache is empty after a restart (or SCRIPT FLUSH): send it in full. */
  if (req->script != NULL && reply->type == REDIS_REPLY_ERROR
      && g_str_has_prefix (reply->str, "NOSCRIPT"))
    {
      request_send (req, TRUE);
      return;
    }
  request_finish (req, reply, NULL);
}

static void
request_send (Request  *req,
              gboolean  eval)
{
  TetherRedis *redis = req->redis;
  g_autofree size_t *lens = NULL;
  const char **argv;

  if (!redis->cmd.ready || redis->freeing)
    {
      g_queue_push_tail (&redis->failed, req);
      if (redis->fail_idle == NULL && !redis->freeing)
        {
          redis->fail_idle = g_idle_source_new ();
          g_source_set_callback (redis->fail_idle, fail_idle_cb, redis, NULL);
          g_source_attach (redis->fail_idle, redis->context);
        }
      return;
    }
  if (req->script != NULL)
    {
      g_free (req->argv->pdata[0]);
      g_free (req->argv->pdata[1]);
      req->argv->pdata[0] = g_strdup (eval ? "EVAL" : "EVALSHA");
      req->argv->pdata[1] = g_strdup (eval ? req->script->lua : req->script->sha);
    }
  argv = (const char **) req->argv->pdata;
  lens = g_new (size_t, req->argv->len);
  for (guint i = 0; i < req->argv->len; i++)
    lens[i] = strlen (argv[i]);
  redis->commands++;
  if (redisAsyncCommandArgv (redis->cmd.ac, reply_cb, req, (int) req->argv->len, argv, lens)
      != REDIS_OK)
    request_finish (req, NULL, "Redis command not sent");
}

/**
 * tether_redis_command:
 * @argv: the command and its arguments, %NULL-terminated
 *
 * Sends @argv on the command connection; @func gets the reply or an error.
 */
void
tether_redis_command (TetherRedis          *redis,
                      TetherRedisReplyFunc  func,
                      gpointer              user_data,
                      const char * const   *argv)
{
  Request *req = g_new0 (Request, 1);

  req->redis = redis;
  req->func = func;
  req->user_data = user_data;
  req->argv = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (req->argv, g_strdup (argv[i]));
  request_send (req, FALSE);
}

/**
 * tether_redis_eval:
 * @keys_and_args: @n_keys keys, then the arguments, %NULL-terminated
 *
 * Runs @script by EVALSHA, and by EVAL when Redis does not know it yet.
 */
void
tether_redis_eval (TetherRedis             *redis,
                   const TetherRedisScript *script,
                   TetherRedisReplyFunc     func,
                   gpointer                 user_data,
                   guint                    n_keys,
                   const char * const      *keys_and_args)
{
  Request *req = g_new0 (Request, 1);

  req->redis = redis;
  req->func = func;
  req->user_data = user_data;
  req->script = script;
  /* argv[0] and [1] are filled in by request_send(). */
  req->argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (req->argv, NULL);
  g_ptr_array_add (req->argv, NULL);
  g_ptr_array_add (req->argv, g_strdup_printf ("%u", n_keys));
  for (guint i = 0; keys_and_args[i] != NULL; i++)
    g_ptr_array_add (req->argv, g_strdup (keys_and_args[i]));
  request_send (req, FALSE);
}

void
tether_redis_script_init (TetherRedisScript *script,
                          const char        *lua)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA1, lua, -1);

  script->lua = g_strdup (lua);
  memcpy (script->sha, sha, 40);
  script->sha[40] = '\0';
}

void
tether_redis_script_clear (TetherRedisScript *script)
{
  g_clear_pointer (&script->lua, g_free);
}

/* Subscriptions */

static void
channel_send_subscribe (TetherRedis *redis,
                        const char  *name,
                        Channel     *ch);

static void
sub_cb (redisAsyncContext *ac,
        void              *r,
        void              *privdata)
{
  TetherRedis *redis = privdata;
  redisReply *reply = r;
  const char *kind;
  Channel *ch;

  if (reply == NULL || redis->freeing || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3
      || reply->element[0]->type != REDIS_REPLY_STRING
      || reply->element[1]->type != REDIS_REPLY_STRING)
    return;
  kind = reply->element[0]->str;
  if (g_str_equal (kind, "message") && reply->element[2]->type == REDIS_REPLY_STRING)
    {
      if (redis->message_func != NULL)
        redis->message_func (redis, reply->element[1]->str, reply->element[2]->str,
                             reply->element[2]->len, redis->user_data);
      return;
    }
  if (g_str_equal (kind, "subscribe"))
    {
      if (redis->message_func != NULL)
        redis->message_func (redis, reply->element[1]->str, NULL, 0, redis->user_data);
      return;
    }
  if (!g_str_equal (kind, "unsubscribe"))
    return;
  /* hiredis forgets a channel's callback at its UNSUBSCRIBE answer: a SUBSCRIBE sent
   * before that answer would lose its messages, so it waits for it. */
  ch = g_hash_table_lookup (redis->channels, reply->element[1]->str);
  if (ch == NULL)
    return;
  ch->unsub_pending = FALSE;
  if (ch->wanted)
    channel_send_subscribe (redis, reply->element[1]->str, ch);
  else
    g_hash_table_remove (redis->channels, reply->element[1]->str);
}

static void
channel_send_subscribe (TetherRedis *redis,
                        const char  *name,
                        Channel     *ch)
{
  if (!redis->sub.connected || ch->sent || ch->unsub_pending)
    return;
  redis->commands++;
  if (redisAsyncCommand (redis->sub.ac, sub_cb, redis, "SUBSCRIBE %s", name) == REDIS_OK)
    ch->sent = TRUE;
}

void
tether_redis_subscribe (TetherRedis *redis,
                        const char  *channel)
{
  Channel *ch = g_hash_table_lookup (redis->channels, channel);

  if (ch == NULL)
    {
      ch = g_new0 (Channel, 1);
      g_hash_table_insert (redis->channels, g_strdup (channel), ch);
    }
  ch->wanted = TRUE;
  channel_send_subscribe (redis, channel, ch);
}

void
tether_redis_unsubscribe (TetherRedis *redis,
                          const char  *channel)
{
  Channel *ch = g_hash_table_lookup (redis->channels, channel);

  if (ch == NULL)
    return;
  ch->wanted = FALSE;
  if (ch->sent && redis->sub.connected)
    {
      redis->commands++;
      redisAsyncCommand (redis->sub.ac, NULL, NULL, "UNSUBSCRIBE %s", channel);
      ch->sent = FALSE;
      ch->unsub_pending = TRUE;
    }
  else if (!ch->unsub_pending)
    g_hash_table_remove (redis->channels, channel);
}

static void
channels_reset (TetherRedis *redis)
{
  GHashTableIter iter;
  Channel *ch;

  g_hash_table_iter_init (&iter, redis->channels);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ch))
    {
      ch->sent = FALSE;
      ch->unsub_pending = FALSE;
      if (!ch->wanted)
        g_hash_table_iter_remove (&iter);
    }
}

static void
channels_resubscribe (TetherRedis *redis)
{
  GHashTableIter iter;
  const char *name;
  Channel *ch;

  g_hash_table_iter_init (&iter, redis->channels);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &ch))
    channel_send_subscribe (redis, name, ch);
}

/* Connections */

static gboolean
retry_cb (gpointer data)
{
  TetherRedis *redis = data;

  g_clear_pointer (&redis->retry, g_source_unref);
  if (redis->cmd.ac == NULL)
    conn_connect (&redis->cmd);
  if (redis->sub.ac == NULL)
    conn_connect (&redis->sub);
  return G_SOURCE_REMOVE;
}

/* Jittered exponential backoff, 100 ms to 2 s, so that a restarted Redis is not
 * met by every node at the same instant. */
static void
schedule_retry (TetherRedis *redis)
{
  guint delay;

  if (redis->retry != NULL || redis->freeing)
    return;
  redis->backoff_ms = redis->backoff_ms == 0 ? BACKOFF_MIN_MS
                                             : MIN (redis->backoff_ms * 2, BACKOFF_MAX_MS);
  delay = redis->backoff_ms / 2 + g_random_int_range (0, (gint32) redis->backoff_ms / 2 + 1);
  redis->retry = g_timeout_source_new (delay);
  g_source_set_callback (redis->retry, retry_cb, redis, NULL);
  g_source_set_static_name (redis->retry, "[tether] redis reconnect");
  g_source_attach (redis->retry, redis->context);
}

static void
conn_lost (Conn       *conn,
           const char *why)
{
  TetherRedis *redis = conn->redis;
  gboolean was_connected = conn->connected;

  /* The Watch is cleaned up by hiredis but not destroyed: that waits for
   * the next attempt, outside hiredis' own call. */
  if (conn->old_source != NULL)
    {
      g_source_destroy (conn->old_source);
      g_source_unref (conn->old_source);
    }
  conn->old_source = conn->source;
  conn->source = NULL;
  conn->ac = NULL;
  conn->connected = FALSE;
  conn->ready = FALSE;
  if (conn->subscriber)
    channels_reset (redis);
  else
    redis->ping_sent = 0;
  if (redis->freeing)
    return;
  if (was_connected && !redis->auth_refused)
    g_warning ("redis %s:%u (%s connection): %s", redis->host, redis->port,
               conn->subscriber ? "subscriber" : "command", why);
  redis_update_state (redis);
  schedule_retry (redis);
}

static void
select_cb (redisAsyncContext *ac,
           void              *r,
           void              *privdata)
{
  Conn *conn = privdata;
  redisReply *reply = r;

  if (reply == NULL || conn->redis->freeing)
    return;
  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_warning ("redis SELECT %u: %s", conn->redis->db, reply->str);
      return;
    }
  conn->ready = TRUE;
  redis_update_state (conn->redis);
}

/* A connection that Redis let in: the subscriber resubscribes, the command
 * connection selects its database. */
static void
conn_open (Conn *conn)
{
  TetherRedis *redis = conn->redis;

  if (conn->subscriber)
    {
      conn->ready = TRUE;
      channels_resubscribe (redis);
    }
  else if (redis->db != 0)
    {
      redis->commands++;
      redisAsyncCommand (conn->ac, select_cb, conn, "SELECT %u", redis->db);
    }
  else
    conn->ready = TRUE;
  redis_update_state (redis);
}

/* A refused password keeps the client down (logins get 1021) and the connection is
 * dropped and tried again with the usual backoff, once logged: before, both
 * connections counted as up, failed, and were back within 100 ms, each time with two
 * warnings. */
static void
auth_cb (redisAsyncContext *ac,
         void              *r,
         void              *privdata)
{
  Conn *conn = privdata;
  TetherRedis *redis = conn->redis;
  redisReply *reply = r;

  if (reply == NULL || redis->freeing)
    return;
  if (reply->type == REDIS_REPLY_ERROR)
    {
      if (!redis->auth_refused)
        g_warning ("redis %s:%u refused the password: %s; trying again with backoff", redis->host,
                   redis->port, reply->str);
      redis->auth_refused = TRUE;
      redisAsyncDisconnect (ac);
      return;
    }
  if (redis->auth_refused)
    g_message ("redis %s:%u took the password", redis->host, redis->port);
  redis->auth_refused = FALSE;
  conn_open (conn);
}

static void
connect_cb (const redisAsyncContext *ac,
            int                      status)
{
  Conn *conn = ac->data;
  TetherRedis *redis = conn->redis;

  if (status != REDIS_OK)
    {
      g_debug ("redis %s:%u: %s", redis->host, redis->port, ac->errstr);
      conn_lost (conn, ac->errstr);
      return;
    }
  conn->connected = TRUE;
  /* The password first; nothing else until Redis took it. */
  if (redis->password != NULL)
    {
      redis->commands++;
      redisAsyncCommand (conn->ac, auth_cb, conn, "AUTH %s", redis->password);
      return;
    }
  conn_open (conn);
}

static void
disconnect_cb (const redisAsyncContext *ac,
               int                      status)
{
  Conn *conn = ac->data;

  conn_lost (conn, status == REDIS_OK ? "disconnected" : ac->errstr);
}

static void
conn_connect (Conn *conn)
{
  TetherRedis *redis = conn->redis;
  redisAsyncContext *ac;

  if (conn->old_source != NULL)
    {
      g_source_destroy (conn->old_source);
      g_clear_pointer (&conn->old_source, g_source_unref);
    }
  ac = redisAsyncConnect (redis->host, redis->port);
  if (ac == NULL || ac->err)
    {
      if (ac != NULL)
        redisAsyncFree (ac);
      schedule_retry (redis);
      return;
    }
  ac->data = conn;
  conn->ac = ac;
  conn->source = watch_new (ac);
  g_source_set_static_name (conn->source, "[tether] redis");
  g_source_attach (conn->source, redis->context);
  redisAsyncSetConnectCallback (ac, connect_cb);
  redisAsyncSetDisconnectCallback (ac, disconnect_cb);
}

static void
redis_update_state (TetherRedis *redis)
{
  gboolean up = redis->cmd.ready && redis->sub.ready;

  if (up)
    redis->backoff_ms = 0;
  if (up == redis->up)
    return;
  redis->up = up;
  g_message ("redis %s:%u is %s", redis->host, redis->port, up ? "up" : "down");
  if (redis->state_func != NULL)
    redis->state_func (redis, up, redis->user_data);
}

/* Public */

TetherRedis *
tether_redis_new (const char    *url,
                  GMainContext  *context,
                  GError       **error)
{
  TetherRedis *redis = g_new0 (TetherRedis, 1);

  if (!tether_redis_parse_url (url, &redis->host, &redis->port, &redis->db, &redis->password,
                               error))
    {
      g_free (redis);
      return NULL;
    }
  redis->context = g_main_context_ref (context);
  redis->cmd.redis = redis;
  redis->sub.redis = redis;
  redis->sub.subscriber = TRUE;
  redis->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return redis;
}

void
tether_redis_set_handlers (TetherRedis            *redis,
                           TetherRedisStateFunc    state_func,
                           TetherRedisMessageFunc  message_func,
                           gpointer                user_data)
{
  redis->state_func = state_func;
  redis->message_func = message_func;
  redis->user_data = user_data;
}

void
tether_redis_start (TetherRedis *redis)
{
  if (redis->started)
    return;
  redis->started = TRUE;
  conn_connect (&redis->cmd);
  conn_connect (&redis->sub);
}

gboolean
tether_redis_is_up (TetherRedis *redis)
{
  return redis->up;
}

static void
ping_cb (TetherRedis *redis,
         redisReply  *reply,
         const char  *error,
         gpointer     user_data)
{
  if (reply != NULL && redis->ping_sent != 0)
    redis->round_trip = (g_get_monotonic_time () - redis->ping_sent) / (double) G_USEC_PER_SEC;
  redis->ping_sent = 0;
}

static void
conn_drop (Conn *conn)
{
  if (conn->ac != NULL)
    redisAsyncFree (conn->ac);   /* calls disconnect_cb (if connected) and every pending callback */
  if (conn->ac != NULL)
    conn_lost (conn, "gave up");
}

/**
 * tether_redis_ping:
 * @deadline_us: how long a PING may stay unanswered, µs
 *
 * Measures the round trip; a Redis that holds a PING longer than @deadline_us is
 * taken for dead (hiredis has no timeouts of its own): both connections are dropped,
 * every pending callback gets an error, and reconnecting starts.
 */
void
tether_redis_ping (TetherRedis *redis,
                   gint64       deadline_us)
{
  const char *argv[] = { "PING", NULL };

  if (!redis->cmd.ready)
    return;
  if (redis->ping_sent != 0)
    {
      if (g_get_monotonic_time () - redis->ping_sent > deadline_us)
        {
          g_warning ("redis %s:%u did not answer a PING in %.1f s", redis->host, redis->port,
                     deadline_us / (double) G_USEC_PER_SEC);
          conn_drop (&redis->cmd);
          conn_drop (&redis->sub);
        }
      return;
    }
  redis->ping_sent = g_get_monotonic_time ();
  tether_redis_command (redis, ping_cb, NULL, argv);
}

guint64
tether_redis_get_commands (TetherRedis *redis)
{
  return redis->commands;
}

double
tether_redis_get_round_trip (TetherRedis *redis)
{
  return redis->round_trip;
}

void
tether_redis_free (TetherRedis *redis)
{
  Conn *conns[] = { &redis->cmd, &redis->sub };

  if (redis == NULL)
    return;
  redis->freeing = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    {
      Conn *conn = conns[i];

      if (conn->ac != NULL)
        redisAsyncFree (conn->ac);
      if (conn->source != NULL)
        conn->old_source = conn->source;
      if (conn->old_source != NULL)
        {
          g_source_destroy (conn->old_source);
          g_source_unref (conn->old_source);
        }
    }
  if (redis->retry != NULL)
    {
      g_source_destroy (redis->retry);
      g_source_unref (redis->retry);
    }
  if (redis->fail_idle != NULL)
    g_source_destroy (redis->fail_idle);
  fail_idle_cb (redis);
  g_hash_table_unref (redis->channels);
  g_main_context_unref (redis->context);
  if (redis->password != NULL)
    memset (redis->password, 0, strlen (redis->password));
  g_free (redis->password);
  g_free (redis->host);
  g_free (redis);
}
