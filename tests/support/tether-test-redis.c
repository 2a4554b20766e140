/* tether-test-redis.c: a private redis-server for a test or bench
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <hiredis/hiredis.h>

#include "tether-test-process.h"
#include "tether-test-redis.h"
#include "tether-test-utils.h"

/*
 * Debian's redis-server (tools/debian-packages), started on a loopback port
 * found free by binding it, in a temp dir of its own, with neither RDB
 * snapshots nor an AOF: a restart always comes back empty, like a Redis
 * without persistence after a crash. The port is released before redis binds
 * it, so another process can take it in between; a redis that exits instead
 * of answering is started again on a new port.
 */

/* How long redis gets to answer PING after it is started (scaled). */
#define START_TIMEOUT_MS 10000
/* How many ports are tried when the one found free is taken in between. */
#define START_ATTEMPTS 5

struct _TetherTestRedis
{
  char *dir;
  char *netns;            /* NULL, or the network namespace redis runs in (benches) */
  char *host;             /* the address it listens on: 127.0.0.1, or one in netns */
  guint16 port;
  char *url;
  TetherTestProcess *process;
  redisContext *context;  /* for tether_test_redis_command(); NULL until used */
};

static guint16
free_loopback_port (GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static redisContext *
connect_redis (const char  *host,
               guint16      port,
               GError     **error)
{
  struct timeval timeout = { 2, 0 };
  redisContext *context = redisConnectWithTimeout (host, port, timeout);

  if (context == NULL || context->err != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                   "cannot connect to redis on %s:%u: %s", host, port,
                   context != NULL ? context->errstr : "out of memory");
      g_clear_pointer (&context, redisFree);
      return NULL;
    }
  redisSetTimeout (context, timeout);
  return context;
}

static gboolean
answers_ping (const char *host,
              guint16     port)
{
  redisContext *context = connect_redis (host, port, NULL);
  redisReply *reply;
  gboolean pong;

  if (context == NULL)
    return FALSE;
  reply = redisCommand (context, "PING");
  pong = reply != NULL && reply->type == REDIS_REPLY_STATUS && g_strcmp0 (reply->str, "PONG") == 0;
  if (reply != NULL)
    freeReplyObject (reply);
  redisFree (context);
  return pong;
}

typedef struct
{
  TetherTestRedis *self;
  gint64 next_try;
  gboolean ready;
} StartWait;

static gboolean
ready_or_exited (gpointer data)
{
  StartWait *wait = data;

  if (tether_test_process_has_exited (wait->self->process))
    return TRUE;
  /* every 20 ms, not on every 5 ms tick of the wait */
  if (g_get_monotonic_time () < wait->next_try)
    return FALSE;
  wait->next_try = g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND;
  wait->ready = answers_ping (wait->self->host, wait->self->port);
  return wait->ready;
}

/* Starts redis on self->port; FALSE with @error if it exited or never answered. */
static gboolean
spawn_on_port (TetherTestRedis  *self,
               GError          **error)
{
  g_autofree char *port = g_strdup_printf ("%u", self->port);
  const char *redis[] = {
    "redis-server", "--save", "", "--appendonly", "no", "--bind", self->host,
    "--port", port, "--dir", self->dir, "--daemonize", "no", "--loglevel", "warning",
  };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  StartWait wait = { self, 0, FALSE };

  /* `ip netns exec` execs redis-server in the namespace: same process, same pid. */
  if (self->netns != NULL)
    {
      g_ptr_array_add (argv, (char *) "ip");
      g_ptr_array_add (argv, (char *) "netns");
      g_ptr_array_add (argv, (char *) "exec");
      g_ptr_array_add (argv, self->netns);
    }
  for (guint i = 0; i < G_N_ELEMENTS (redis); i++)
    g_ptr_array_add (argv, (char *) redis[i]);
  /* In its own namespace it is reached from outside its loopback: by the host only. */
  if (self->netns != NULL)
    {
      g_ptr_array_add (argv, (char *) "--protected-mode");
      g_ptr_array_add (argv, (char *) "no");
    }
  g_ptr_array_add (argv, NULL);
  self->process = tether_test_process_spawnv ((const char * const *) argv->pdata, error);
  if (self->process == NULL)
    return FALSE;

  tether_test_poll_until (ready_or_exited, &wait, START_TIMEOUT_MS);
  if (wait.ready)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               tether_test_process_has_exited (self->process)
                 ? "redis-server exited on start on %s:%u"
                 : "redis-server on %s:%u did not answer PING in time",
               self->host, self->port);
  g_clear_pointer (&self->process, tether_test_process_free);
  return FALSE;
}

/**
 * tether_test_redis_start:
 * @error: return location for an error
 *
 * Starts `redis-server` on a free port of 127.0.0.1 in a new temp dir, without
 * persistence (`--save '' --appendonly no`), and waits until it answers PING
 * (deadline scaled by tether_test_scale()). Call it from the test's main
 * thread: redis is killed when the thread that started it ends, so a test that
 * aborts leaves no redis behind; the fixture also kills it when freed.
 *
 * Returns: (transfer full) (nullable): the running redis, or %NULL with @error
 */
TetherTestRedis *
tether_test_redis_start (GError **error)
{
  return tether_test_redis_start_in (NULL, NULL, error);
}

/**
 * tether_test_redis_start_in:
 * @netns: (nullable): a network namespace (`ip netns`) to run redis-server in, or %NULL
 * @host: (nullable): the address in @netns redis listens on (%NULL: 127.0.0.1)
 * @error: where a failure goes
 *
 * tether_test_redis_start() in @netns, for a bench that puts Redis behind a link with a
 * delay ("on another machine"); the caller made the namespace and its route. The port
 * is one free on the host's loopback (the namespace is the caller's, empty).
 *
 * Returns: (transfer full) (nullable): the running redis, or %NULL with @error
 */
TetherTestRedis *
tether_test_redis_start_in (const char  *netns,
                            const char  *host,
                            GError     **error)
{
  g_autoptr(TetherTestRedis) self = g_new0 (TetherTestRedis, 1);

  self->netns = g_strdup (netns);
  self->host = g_strdup (host != NULL ? host : "127.0.0.1");
  self->dir = g_dir_make_tmp ("tether-redis-XXXXXX", error);
  if (self->dir == NULL)
    return NULL;

  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      self->port = free_loopback_port (error);
      if (self->port == 0)
        return NULL;
      if (spawn_on_port (self, &local_error))
        break;
      /* not installed: no other port will help */
      if (g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT) || attempt == START_ATTEMPTS)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "cannot start redis-server (package redis-server): ");
          return NULL;
        }
      g_debug ("redis-server on port %u failed (%s); trying another port", self->port,
               local_error->message);
    }

  self->url = g_strdup_printf ("redis://%s:%u", self->host, self->port);
  return g_steal_pointer (&self);
}

/* Returns: redis://127.0.0.1:PORT, for `tether-server --redis` */
const char *
tether_test_redis_get_url (TetherTestRedis *self)
{
  return self->url;
}

/* Returns: the port; kept across kill and restart */
guint16
tether_test_redis_get_port (TetherTestRedis *self)
{
  return self->port;
}

/* Returns: (nullable): the process id of the running redis-server, as a string */
const char *
tether_test_redis_get_pid (TetherTestRedis *self)
{
  return self->process != NULL ? tether_test_process_get_identifier (self->process) : NULL;
}

/* SIGKILL, and waits until it is gone: a crash, to the nodes. */
void
tether_test_redis_kill (TetherTestRedis *self)
{
  g_clear_pointer (&self->context, redisFree);
  g_clear_pointer (&self->process, tether_test_process_free);
}

/**
 * tether_test_redis_restart:
 * @error: return location for an error
 *
 * Kills redis if it still runs and starts it again on the same port, empty (no
 * persistence), retrying while the port is still held.
 *
 * Returns: whether it answers PING again
 */
gboolean
tether_test_redis_restart (TetherTestRedis  *self,
                           GError          **error)
{
  tether_test_redis_kill (self);
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (spawn_on_port (self, &local_error))
        return TRUE;
      if (attempt == START_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      tether_test_run_for (100 * attempt);  /* the old socket may still be closing */
    }
}

static void
append_reply (GString          *text,
              const redisReply *reply)
{
  switch (reply->type)
    {
    case REDIS_REPLY_INTEGER:
      g_string_append_printf (text, "%lld", reply->integer);
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < reply->elements; i++)
        {
          if (i > 0)
            g_string_append_c (text, '\n');
          append_reply (text, reply->element[i]);
        }
      break;
    case REDIS_REPLY_NIL:
      break;
    default:  /* string, status, error */
      g_string_append_len (text, reply->str, reply->len);
      break;
    }
}

static char *
reply_text (redisReply *reply)
{
  GString *text;

  if (reply == NULL)
    return NULL;
  if (reply->type == REDIS_REPLY_NIL)
    {
      freeReplyObject (reply);
      return NULL;
    }
  text = g_string_new (NULL);
  append_reply (text, reply);
  freeReplyObject (reply);
  return g_string_free (text, FALSE);
}

static gboolean
ensure_context (TetherTestRedis *self)
{
  g_autoptr(GError) error = NULL;

  if (self->context != NULL && self->context->err != 0)
    g_clear_pointer (&self->context, redisFree);
  if (self->context == NULL)
    self->context = connect_redis (self->host, self->port, &error);
  if (self->context == NULL)
    g_debug ("%s", error->message);
  return self->context != NULL;
}

/**
 * tether_test_redis_command:
 * @format: a hiredis command format (`%s` and `%b` arguments are binary-safe)
 *
 * Runs one command on a synchronous hiredis connection (reconnected after a
 * restart).
 *
 * Returns: (transfer full) (nullable): the reply as text: integers in decimal,
 *   strings, status and error replies as they are, arrays joined with '\n'
 *   (an empty array is ""); %NULL for nil, or when redis cannot be reached
 */
char *
tether_test_redis_command (TetherTestRedis *self,
                           const char      *format,
                           ...)
{
  va_list ap;
  redisReply *reply;

  if (!ensure_context (self))
    return NULL;
  va_start (ap, format);
  reply = redisvCommand (self->context, format, ap);
  va_end (ap);
  return reply_text (reply);
}

/* tether_test_redis_command() with the arguments as an array (binary-safe). */
char *
tether_test_redis_commandv (TetherTestRedis  *self,
                            int               argc,
                            const char      **argv)
{
  if (!ensure_context (self))
    return NULL;
  return reply_text (redisCommandArgv (self->context, argc, argv, NULL));
}

/* Kills redis and removes its temp dir. */
void
tether_test_redis_free (TetherTestRedis *self)
{
  if (self == NULL)
    return;

  tether_test_redis_kill (self);
  if (self->dir != NULL)
    tether_test_remove_tree (self->dir);
  g_free (self->dir);
  g_free (self->netns);
  g_free (self->host);
  g_free (self->url);
  g_free (self);
}
