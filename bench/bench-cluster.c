/* bench-cluster.c: figures for several tether-server nodes sharing their rooms through
 * one Redis (docs/design.md, "Several nodes") beside one node alone — login latency,
 * cross-node user ADD fan-out, Redis commands per login and per event, memory per
 * session, and the time from kill -9 of a node to its clients resumed on the others
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-cluster [--server PATH] [--members N] [--kill-clients N] [--joins N]
 *                      [--setup single|one|three ...] [--redis-rtt MS] [PART...]
 *   PART: login fanout kill kill-libtether (default: all)
 *
 * Everything runs on this machine: a private redis-server (tests/support/
 * tether-test-redis.c: free loopback port, no persistence), tether-server processes
 * with --redis, and the raw WebSocket clients of bench-room (bench-room-clients.c) on
 * threads of their own, one pool per node. "login" and "fanout" run the same clients
 * against three set-ups in turn: one node without Redis (single-node mode), one node
 * with Redis, three nodes with Redis. Figures only, never assertions; every wait has a
 * deadline, and a watchdog ends a hung run and its children.
 *
 * --redis-rtt MS emulates Redis on another machine: the bench makes a network namespace
 * joined to this one by a veth pair with `tc netem delay MS/2` on each end, runs
 * redis-server in it (tether_test_redis_start_in()) and deletes it at the end. That
 * needs root, iproute2 (`ip`, `tc`) and a kernel with netem (CONFIG_NET_SCH_NETEM);
 * without them it says why and puts a userspace delay proxy on loopback between the
 * nodes and Redis instead (each chunk held MS/2 in each direction). Either way it
 * prints the round trip a PING through the path takes.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <json-glib/json-glib.h>

#include "bench-room.h"
#include "bench-util.h"
#include "tether-test-login.h"
#include "tether-test-process.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-stats.h"
#include "tether-test-utils.h"

#define WATCHDOG_SECONDS 600
#define MAX_NODES 3
#define KEY_PREFIX "tether:" TETHER_TEST_APP_ID ":"

static char *server_program;
static guint n_members = 1000;     /* --members */
static guint n_kill_clients = 1000; /* --kill-clients */
static guint n_joins = 30;         /* --joins */
static guint n_idle = 999;         /* sessions held in the login part (rooms of 10) */
static guint n_measure = 150;      /* logins one after another */
static char *command_line;
static char **only_setups;        /* --setup: single, one, three (default: all) */
static double redis_rtt_ms;       /* --redis-rtt: 0, Redis on loopback */
static char *redis_netns;         /* the namespace redis runs in (--redis-rtt), or NULL */
static char *redis_veth;          /* this side's end of the veth pair to it */
static gboolean redis_proxied;    /* --redis-rtt without netem: the delay proxy */

#define NETNS_HOST "10.213.0.1"
#define NETNS_REDIS "10.213.0.2"

/* ---- printing ----------------------------------------------------------------------- */

static void
print_loadavg (const char *when)
{
  g_autofree char *l = bench_loadavg ();

  g_print ("  loadavg (%s): %s\n", when, l);
}

static void
print_ms (const char *label,
          GArray     *ms)
{
  if (ms->len == 0)
    {
      g_print ("  %-52s no samples\n", label);
      return;
    }
  g_print ("  %-52s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%u)\n", label,
           tether_test_percentile (ms, 50), tether_test_percentile (ms, 99),
           tether_test_percentile (ms, 100), ms->len);
}

static void
append_ms (GArray *a,
           gint64  from,
           gint64  to)
{
  double v = (to - from) / 1000.0;

  g_array_append_val (a, v);
}

/* ---- the cluster: one redis-server, N tether-server processes ---------------------- */

typedef struct
{
  TetherTestServerProcess *server;
  const char *url;
  char *id;
  pid_t pid;
  gint64 rss0_kib;
} Node;

typedef struct
{
  const char *name;
  TetherTestRedis *redis;   /* NULL: single-node mode */
  struct _DelayProxy *proxy; /* --redis-rtt without netem: between the nodes and redis */
  char *redis_url;          /* what the nodes are given */
  Node nodes[MAX_NODES];
  guint n_nodes;
} Cluster;

/* ---- Redis on "another machine" without netem: a delay proxy ---------------------- */

/* What one direction of a proxied connection read, held until `due`; len 0: its end. */
typedef struct
{
  gint64 due;
  gssize len;
  guint8 data[];
} Chunk;

typedef struct
{
  int fds[2];
  gint writers;  /* the last writer to end closes both */
} Link;

typedef struct
{
  Link *link;
  int from, to;
  gint64 delay_us;
  GAsyncQueue *queue;
} Pump;

static gpointer
pump_read (gpointer data)
{
  Pump *p = data;

  for (;;)
    {
      guint8 buf[65536];
      gssize n = read (p->from, buf, sizeof buf);
      Chunk *c;

      if (n < 0 && errno == EINTR)
        continue;
      n = MAX (n, 0);
      c = g_malloc (sizeof (Chunk) + (gsize) n);
      c->due = g_get_monotonic_time () + p->delay_us;
      c->len = n;
      memcpy (c->data, buf, (gsize) n);
      g_async_queue_push (p->queue, c);
      if (n == 0)
        return NULL;
    }
}

static gpointer
pump_write (gpointer data)
{
  Pump *p = data;
  gboolean broken = FALSE;

  for (;;)
    {
      Chunk *c = g_async_queue_pop (p->queue);
      gint64 wait = c->due - g_get_monotonic_time ();
      gssize done = 0;

      if (c->len == 0)
        {
          g_free (c);
          break;
        }
      if (wait > 0)
        {
          struct timespec ts = { wait / G_USEC_PER_SEC, (wait % G_USEC_PER_SEC) * 1000 };

          while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
            ;
        }
      while (!broken && done < c->len)
        {
          gssize n = write (p->to, c->data + done, (gsize) (c->len - done));

          if (n < 0 && errno == EINTR)
            continue;
          broken = n <= 0;
          done += MAX (n, 0);
        }
      g_free (c);
    }
  shutdown (p->to, SHUT_WR);
  if (g_atomic_int_dec_and_test (&p->link->writers))
    {
      close (p->link->fds[0]);
      close (p->link->fds[1]);
      g_free (p->link);
    }
  g_async_queue_unref (p->queue);
  g_free (p);
  return NULL;
}

static void
pump_start (Link   *link,
            int     from,
            int     to,
            gint64  delay_us)
{
  Pump *p = g_new0 (Pump, 1);

  p->link = link;
  p->from = from;
  p->to = to;
  p->delay_us = delay_us;
  p->queue = g_async_queue_new ();
  g_thread_unref (g_thread_new ("bench-delay-r", pump_read, p));
  g_thread_unref (g_thread_new ("bench-delay-w", pump_write, p));
}

typedef struct _DelayProxy
{
  int listen_fd;
  guint16 port, redis_port;
  gint64 delay_us;
  GThread *thread;
} DelayProxy;

static int
tcp_socket_to (const char *host,
               guint16     port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;

  inet_pton (AF_INET, host, &addr.sin_addr);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static gpointer
proxy_accept (gpointer data)
{
  DelayProxy *proxy = data;

  for (;;)
    {
      int fd = accept4 (proxy->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      int one = 1, up;
      Link *link;

      if (fd < 0 && errno == EINTR)
        continue;
      if (fd < 0)
        return NULL;  /* delay_proxy_free() shut the socket down */
      up = tcp_socket_to ("127.0.0.1", proxy->redis_port);
      if (up < 0)
        {
          close (fd);
          continue;
        }
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      link = g_new0 (Link, 1);
      link->fds[0] = fd;
      link->fds[1] = up;
      link->writers = 2;
      pump_start (link, fd, up, proxy->delay_us);
      pump_start (link, up, fd, proxy->delay_us);
    }
}

/* A proxy on a free loopback port to redis on @redis_port, holding each direction's
 * bytes for @one_way_ms: the link latency of a LAN (not its bandwidth). */
static DelayProxy *
delay_proxy_new (guint16 redis_port,
                 double  one_way_ms)
{
  DelayProxy *proxy = g_new0 (DelayProxy, 1);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;

  proxy->redis_port = redis_port;
  proxy->delay_us = (gint64) (one_way_ms * 1000);
  proxy->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd < 0 || bind (proxy->listen_fd, (struct sockaddr *) &addr, sizeof addr) != 0
      || listen (proxy->listen_fd, 64) != 0
      || getsockname (proxy->listen_fd, (struct sockaddr *) &addr, &len) != 0)
    g_error ("delay proxy: %s", g_strerror (errno));
  proxy->port = ntohs (addr.sin_port);
  proxy->thread = g_thread_new ("bench-delay", proxy_accept, proxy);
  return proxy;
}

/* Stops accepting; proxied connections end with their ends (the nodes, redis). */
static void
delay_proxy_free (DelayProxy *proxy)
{
  shutdown (proxy->listen_fd, SHUT_RDWR);
  g_thread_join (proxy->thread);
  close (proxy->listen_fd);
  g_free (proxy);
}

/* @n PINGs on one connection to redis at @url (redis://HOST:PORT), each timed in ms. */
static GArray *
ping_rtt (const char *url,
          guint       n)
{
  GArray *ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *host = g_strdup (url + strlen ("redis://"));
  char *colon = strrchr (host, ':');
  int fd;

  *colon = '\0';
  fd = tcp_socket_to (host, (guint16) atoi (colon + 1));
  for (guint i = 0; fd >= 0 && i < n; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      char reply[16];
      gssize got = 0;

      if (write (fd, "PING\r\n", 6) != 6)
        break;
      while (got < 7)
        {
          gssize r = read (fd, reply + got, sizeof reply - (gsize) got);

          if (r <= 0)
            break;
          got += r;
        }
      if (got < 7)
        break;
      append_ms (ms, t0, g_get_monotonic_time ());
    }
  if (fd >= 0)
    close (fd);
  return ms;
}

static int
redis_pid (TetherTestRedis *redis)
{
  return (int) g_ascii_strtoll (tether_test_redis_get_pid (redis), NULL, 10);
}

static void
node_start (Cluster *cl,
            guint    i)
{
  Node *n = &cl->nodes[i];
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  n->id = g_strdup_printf ("node%u", i + 1);
  g_ptr_array_add (args, (char *) "--app-id");
  g_ptr_array_add (args, (char *) TETHER_TEST_APP_ID);
  g_ptr_array_add (args, (char *) "--app-secret");
  g_ptr_array_add (args, (char *) TETHER_TEST_SECRET);
  g_ptr_array_add (args, (char *) "--login-rate");
  g_ptr_array_add (args, (char *) "0");
  /* every client of the bench comes from 127.0.0.1 */
  g_ptr_array_add (args, (char *) "--max-connections-per-address");
  g_ptr_array_add (args, (char *) "0");
  /* the raw clients send no heartbeats: nobody times out during a run */
  g_ptr_array_add (args, (char *) "--heartbeat-timeout");
  g_ptr_array_add (args, (char *) "600");
  g_ptr_array_add (args, (char *) "--no-media");
  if (cl->redis != NULL)
    {
      g_ptr_array_add (args, (char *) "--redis");
      g_ptr_array_add (args, cl->redis_url);
      g_ptr_array_add (args, (char *) "--node-id");
      g_ptr_array_add (args, n->id);
    }
  g_ptr_array_add (args, NULL);

  n->server = tether_test_server_process_newv ((const char * const *) args->pdata);
  n->url = tether_test_server_process_get_url (n->server);
  n->pid = bench_process_pid (tether_test_server_process_get_process (n->server));
  bench_watchdog_add_pid (n->pid);
}

static gboolean
nodes_registered (gpointer data)
{
  Cluster *cl = data;
  g_autofree char *n = tether_test_redis_command (cl->redis, "SCARD " KEY_PREFIX "nodes");

  return n != NULL && g_ascii_strtoull (n, NULL, 10) >= cl->n_nodes;
}

static Cluster *
cluster_start (const char *name,
               guint       n_nodes,
               gboolean    with_redis)
{
  Cluster *cl = g_new0 (Cluster, 1);
  g_autoptr(GError) error = NULL;

  cl->name = name;
  cl->n_nodes = n_nodes;
  if (with_redis)
    {
      cl->redis = redis_netns != NULL ? tether_test_redis_start_in (redis_netns, NETNS_REDIS, &error)
                                      : tether_test_redis_start (&error);
      if (cl->redis == NULL)
        g_error ("%s", error->message);
      bench_watchdog_add_pid (redis_pid (cl->redis));
      if (redis_proxied)
        {
          cl->proxy = delay_proxy_new (tether_test_redis_get_port (cl->redis), redis_rtt_ms / 2);
          cl->redis_url = g_strdup_printf ("redis://127.0.0.1:%u", cl->proxy->port);
        }
      else
        cl->redis_url = g_strdup (tether_test_redis_get_url (cl->redis));
    }
  for (guint i = 0; i < n_nodes; i++)
    node_start (cl, i);
  if (with_redis && !tether_test_poll_until (nodes_registered, cl, 10000))
    g_printerr ("[%s] not every node registered in Redis within 10 s\n", name);
  tether_test_run_for (300);
  for (guint i = 0; i < n_nodes; i++)
    cl->nodes[i].rss0_kib = bench_proc_rss_kib (cl->nodes[i].pid);
  g_print ("\n== %s: %u node(s)%s\n", name, n_nodes,
           with_redis ? ", Redis " : ", no Redis (single-node mode)");
  if (with_redis)
    {
      g_autoptr(GArray) rtt = ping_rtt (cl->redis_url, 200);

      g_print ("   redis %s (pid %s)%s%s; PING there p50 %.3f ms, p99 %.3f ms (n=%u)\n",
               tether_test_redis_get_url (cl->redis), tether_test_redis_get_pid (cl->redis),
               redis_netns != NULL ? " in a network namespace behind netem" : "",
               cl->proxy != NULL ? ", the nodes through the delay proxy" : "",
               rtt->len > 0 ? tether_test_percentile (rtt, 50) : -1.0,
               rtt->len > 0 ? tether_test_percentile (rtt, 99) : -1.0, rtt->len);
    }
  for (guint i = 0; i < n_nodes; i++)
    g_print ("   %s %s (pid %d, RSS %.1f MiB at start)\n", cl->nodes[i].id, cl->nodes[i].url,
             (int) cl->nodes[i].pid, cl->nodes[i].rss0_kib / 1024.0);
  return cl;
}

static void
cluster_free (Cluster *cl)
{
  for (guint i = 0; i < cl->n_nodes; i++)
    {
      Node *n = &cl->nodes[i];

      if (n->server == NULL)
        continue;
      bench_watchdog_remove_pid (n->pid);
      tether_test_server_process_free (n->server);
      g_free (n->id);
    }
  if (cl->redis != NULL)
    {
      bench_watchdog_remove_pid (redis_pid (cl->redis));
      tether_test_redis_free (cl->redis);
    }
  g_clear_pointer (&cl->proxy, delay_proxy_free);
  g_free (cl->redis_url);
  g_free (cl);
}

/* ---- Redis commands (INFO commandstats) ------------------------------------------- */

/* Calls per command since redis started (commands run by scripts included), without
 * INFO's own. */
static GHashTable *
redis_calls (TetherTestRedis *redis)
{
  GHashTable *calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *info = tether_test_redis_command (redis, "INFO commandstats");
  g_auto(GStrv) lines = g_strsplit (info != NULL ? info : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');
      const char *n = strstr (lines[i], "calls=");
      g_autofree char *name = NULL;

      if (!g_str_has_prefix (lines[i], "cmdstat_") || colon == NULL || n == NULL)
        continue;
      name = g_strndup (lines[i] + strlen ("cmdstat_"), colon - lines[i] - strlen ("cmdstat_"));
      if (strcmp (name, "info") == 0)
        continue;
      g_hash_table_insert (calls, g_steal_pointer (&name),
                           GSIZE_TO_POINTER ((gsize) g_ascii_strtoull (n + 6, NULL, 10)));
    }
  return calls;
}

static guint64
calls_total (GHashTable *calls)
{
  GHashTableIter iter;
  gpointer value;
  guint64 total = 0;

  g_hash_table_iter_init (&iter, calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    total += GPOINTER_TO_SIZE (value);
  return total;
}

/* All calls so far; adds @sign × the script calls so far to @scripts. */
static guint64
calls_of (TetherTestRedis *redis,
          gint64          *scripts,
          int              sign)
{
  g_autoptr(GHashTable) calls = redis_calls (redis);

  *scripts += sign * (gint64) (GPOINTER_TO_SIZE (g_hash_table_lookup (calls, "evalsha"))
                               + GPOINTER_TO_SIZE (g_hash_table_lookup (calls, "eval")));
  return calls_total (calls);
}

typedef struct
{
  GHashTable *before;
  gint64 t0;
  double cpu0;
  double background_per_s;       /* the nodes' beats and liveness checks: calls */
  double background_cpu_per_s;   /* and redis-server's CPU seconds */
} RedisMark;

/* Measures the nodes' own traffic with nothing happening, over @ms, then marks the
 * start of a phase. */
static void
redis_mark (TetherTestRedis *redis,
            RedisMark       *m,
            guint            ms)
{
  g_autoptr(GHashTable) a = redis_calls (redis);
  g_autoptr(GHashTable) b = NULL;
  double cpu = bench_proc_cpu_seconds (redis_pid (redis));

  tether_test_run_for (ms);
  b = redis_calls (redis);
  m->background_per_s = (calls_total (b) - calls_total (a)) * 1000.0 / ms;
  m->background_cpu_per_s = (bench_proc_cpu_seconds (redis_pid (redis)) - cpu) * 1000.0 / ms;
  m->before = redis_calls (redis);
  m->t0 = g_get_monotonic_time ();
  m->cpu0 = bench_proc_cpu_seconds (redis_pid (redis));
}

/* Prints the commands since @m per @per_what (background subtracted from the total),
 * and the five biggest. */
static void
redis_report (TetherTestRedis *redis,
              RedisMark       *m,
              guint            n,
              const char      *per_what)
{
  g_autoptr(GHashTable) after = redis_calls (redis);
  double seconds = (g_get_monotonic_time () - m->t0) / 1e6;
  double total = (double) calls_total (after) - (double) calls_total (m->before)
                 - m->background_per_s * seconds;
  g_autoptr(GString) top = g_string_new (NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;
  guint64 scripts;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_ptr_array_add (names, key);
  /* the five biggest deltas */
  for (guint round = 0; round < 5 && names->len > 0; round++)
    {
      guint best = 0;
      guint64 best_delta = 0;

      for (guint i = 0; i < names->len; i++)
        {
          guint64 d = GPOINTER_TO_SIZE (g_hash_table_lookup (after, names->pdata[i]))
                      - GPOINTER_TO_SIZE (g_hash_table_lookup (m->before, names->pdata[i]));

          if (d > best_delta)
            best_delta = d, best = i;
        }
      if (best_delta == 0)
        break;
      g_string_append_printf (top, "%s%s %.1f", top->len ? ", " : "", (char *) names->pdata[best],
                              best_delta / (double) MAX (n, 1));
      g_ptr_array_remove_index (names, best);
    }
  scripts = GPOINTER_TO_SIZE (g_hash_table_lookup (after, "evalsha"))
            - GPOINTER_TO_SIZE (g_hash_table_lookup (m->before, "evalsha"))
            + GPOINTER_TO_SIZE (g_hash_table_lookup (after, "eval"))
            - GPOINTER_TO_SIZE (g_hash_table_lookup (m->before, "eval"));
  g_print ("  Redis commands per %s: %.1f, of which scripts (EVALSHA/EVAL, one round trip "
           "each) %.2f (background %.0f/s subtracted; the most: %s)\n", per_what,
           total / MAX (n, 1), scripts / (double) MAX (n, 1), m->background_per_s, top->str);
  g_print ("  redis-server CPU per %s: %.3f ms (background %.1f%% of a core subtracted)\n", per_what,
           (bench_proc_cpu_seconds (redis_pid (redis)) - m->cpu0 - m->background_cpu_per_s * seconds)
             * 1000 / MAX (n, 1), m->background_cpu_per_s * 100);
  g_hash_table_unref (m->before);
}

/* used_memory of INFO memory, bytes */
static gint64
redis_used_memory (TetherTestRedis *redis)
{
  g_autofree char *info = tether_test_redis_command (redis, "INFO memory");
  const char *p = info != NULL ? strstr (info, "used_memory:") : NULL;

  return p != NULL ? g_ascii_strtoll (p + strlen ("used_memory:"), NULL, 10) : 0;
}

/* ---- clients -------------------------------------------------------------------------- */

typedef struct
{
  RawPool *pools[MAX_NODES];
  guint n;
} Pools;

static void
pools_new (Pools       *p,
           Cluster     *cl,
           const char  *name,
           guint        max_in_flight)
{
  p->n = cl->n_nodes;
  for (guint i = 0; i < p->n; i++)
    p->pools[i] = raw_pool_new (name, TRUE, cl->nodes[i].url, max_in_flight);
}

static void
pools_free (Pools *p)
{
  for (guint i = 0; i < p->n; i++)
    raw_pool_free (p->pools[i]);
}

static guint
pools_ok (Pools *p)
{
  guint ok = 0;

  for (guint i = 0; i < p->n; i++)
    ok += (guint) g_atomic_int_get (&p->pools[i]->n_ok);
  return ok;
}

/* Starts every pool and waits until @target clients are done (logged in or failed). */
static gboolean
pools_run (Pools  *p,
           guint   target,
           guint   timeout_ms)
{
  PoolsWait w = { p->pools, p->n, target };

  for (guint i = 0; i < p->n; i++)
    raw_pool_start (p->pools[i]);
  return tether_test_poll_until (pools_done_cond, &w, timeout_ms);
}

static gint64
pools_rss_kib (Cluster *cl)
{
  gint64 total = 0;

  for (guint i = 0; i < cl->n_nodes; i++)
    total += bench_proc_rss_kib (cl->nodes[i].pid);
  return total;
}

/* ---- part 1: login -------------------------------------------------------------------- */

static void
bench_login_on (Cluster *cl)
{
  Pools idle, measured;
  g_autoptr(GArray) total_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) server_ms = g_array_new (FALSE, FALSE, sizeof (double));
  const guint n_rooms = n_idle / ROOM_SIZE;
  RedisMark mark;
  gint64 t0, rss_before, redis_mem0;
  double ramp_s;

  g_print ("[login] %u sessions held (rooms of %d, notify_users, spread over the nodes, "
           "32 logins in flight per node), then %u logins one after another\n",
           n_idle, ROOM_SIZE, n_measure);
  print_loadavg ("start");
  if (cl->redis != NULL)
    redis_mark (cl->redis, &mark, 2000);
  rss_before = pools_rss_kib (cl);
  redis_mem0 = cl->redis != NULL ? redis_used_memory (cl->redis) : 0;

  pools_new (&idle, cl, "bench-idle", 32);
  for (guint i = 0; i < n_idle; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%03u", (i / ROOM_SIZE) % n_rooms);
      g_autofree char *user = g_strdup_printf ("iu%04u", i);

      /* a room's members on different nodes: member i on node i % n */
      raw_pool_add (idle.pools[i % idle.n], room, user, TRUE);
    }
  t0 = g_get_monotonic_time ();
  if (!pools_run (&idle, n_idle, 120000))
    g_printerr ("[login] ramp incomplete\n");
  ramp_s = (g_get_monotonic_time () - t0) / 1e6;
  g_print ("  %u of %u sessions logged in in %.2f s (%.0f logins/s over %u node(s))\n",
           pools_ok (&idle), n_idle, ramp_s, pools_ok (&idle) / ramp_s, cl->n_nodes);
  if (cl->redis != NULL)
    redis_report (cl->redis, &mark, pools_ok (&idle), "login (ramp)");
  tether_test_run_for (1000);
  {
    gint64 rss_after = pools_rss_kib (cl);

    g_print ("  RSS: %.1f MiB over %u node(s) for %u sessions: %.1f KiB per session "
             "(growth since start)", rss_after / 1024.0, cl->n_nodes, pools_ok (&idle),
             (rss_after - rss_before) / (double) MAX (pools_ok (&idle), 1));
    for (guint i = 0; i < cl->n_nodes; i++)
      g_print ("%s %s %.1f MiB", i == 0 ? ";" : ",", cl->nodes[i].id,
               bench_proc_rss_kib (cl->nodes[i].pid) / 1024.0);
    g_print ("\n");
    if (cl->redis != NULL)
      g_print ("  Redis used_memory: +%.1f KiB per session\n",
               (redis_used_memory (cl->redis) - redis_mem0) / 1024.0 / MAX (pools_ok (&idle), 1));
  }

  /* one after another, round-robin over the nodes, each logging out again */
  pools_new (&measured, cl, "bench-login", 1);
  for (guint i = 0; i < measured.n; i++)
    measured.pools[i]->manual = TRUE;
  for (guint i = 0; i < n_measure; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%03u", i % n_rooms);
      g_autofree char *user = g_strdup_printf ("lu%04u", i);
      RawPool *pool = measured.pools[i % measured.n];
      RawClient *c = raw_pool_add (pool, room, user, TRUE);

      if (!raw_pool_run_one (pool, 5000) || c->state != RAW_LOGINED)
        {
          g_printerr ("[login] login %u did not succeed\n", i);
          continue;
        }
      append_ms (total_ms, c->t_start, c->t_ok);
      append_ms (server_ms, c->t_sent, c->t_ok);
      raw_client_logout (c);
      tether_test_run_for (5);
    }
  print_ms ("connect -> login_ok", total_ms);
  print_ms ("login sent -> login_ok (open socket)", server_ms);
  print_loadavg ("end");

  pools_free (&measured);
  pools_free (&idle);
}

/* ---- part 2: user ADD fan-out --------------------------------------------------------- */

/* The members are bench-room's minimal epoll clients, on MAX_NODES threads whatever the
 * number of nodes (member i on thread i % MAX_NODES and node i % n), so that one node
 * and three nodes are measured with the same receiving side. */

typedef struct
{
  EpThread *threads;
  guint k;
} JoinWait;

static gboolean
join_complete (gpointer data)
{
  JoinWait *w = data;

  for (guint t = 0; t < MAX_NODES; t++)
    if ((guint) g_atomic_int_get (&w->threads[t].fan->counts[w->k]) < w->threads[t].fan->n_members)
      return FALSE;
  return TRUE;
}

static void
bench_fanout_on (Cluster *cl)
{
  EpThread threads[MAX_NODES];
  FanState fan[MAX_NODES];
  GPtrArray *members = g_ptr_array_new_with_free_func ((GDestroyNotify) ep_conn_free);
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) same = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) other = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) last = g_array_new (FALSE, FALSE, sizeof (double));
  double cpu0[MAX_NODES];
  RedisMark mark;
  gint64 t0;
  guint done = 0;
  double leave_calls = 0;
  gint64 leave_scripts = 0;

  g_print ("[fanout] %u members with notify_users in one room, spread over the node(s), "
           "received by %u epoll threads; %u joins one at a time, joiner k on node k %% %u; "
           "each member's receipt of the joiner's ADD timed from the joiner's login send\n",
           n_members, MAX_NODES, n_joins, cl->n_nodes);
  print_loadavg ("start");
  memset (threads, 0, sizeof threads);
  memset (fan, 0, sizeof fan);
  for (guint t = 0; t < MAX_NODES; t++)
    {
      fan[t].n_joins = n_joins;
      fan[t].counts = g_new0 (gint, n_joins);
      fan[t].first_rx = g_new0 (gint64, n_joins);
      fan[t].last_rx = g_new0 (gint64, n_joins);
      fan[t].notify = g_main_context_ref_thread_default ();
      threads[t].epfd = epoll_create1 (EPOLL_CLOEXEC);
      threads[t].fan = &fan[t];
    }

  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_members; i++)
    {
      g_autofree char *user = g_strdup_printf ("fm%04u", i);
      g_autofree char *json = login_json ("fan", user, TRUE);
      Node *node = &cl->nodes[i % cl->n_nodes];
      gint64 ts, tk;
      EpConn *c = ep_login (tether_test_server_process_get_port (node->server), json, &ts, &tk);
      struct epoll_event ev = { .events = EPOLLIN };

      if (c == NULL)
        {
          g_printerr ("[fanout] member %u could not log in\n", i);
          continue;
        }
      g_ptr_array_add (members, c);
      fan[i % MAX_NODES].n_members++;
      ev.data.ptr = c;
      epoll_ctl (threads[i % MAX_NODES].epfd, EPOLL_CTL_ADD, c->fd, &ev);
    }
  g_print ("  %u members in the room after %.2f s\n", members->len,
           (g_get_monotonic_time () - t0) / 1e6);
  for (guint t = 0; t < MAX_NODES; t++)
    {
      fan[t].rx = g_new0 (gint64, (gsize) n_joins * MAX (fan[t].n_members, 1));
      threads[t].thread = g_thread_new ("bench-fan", ep_thread_main, &threads[t]);
    }
  /* the ADDs of the ramp drain before counting */
  tether_test_run_for (2000);

  if (cl->redis != NULL)
    redis_mark (cl->redis, &mark, 2000);
  for (guint i = 0; i < cl->n_nodes; i++)
    cpu0[i] = bench_proc_cpu_seconds (cl->nodes[i].pid);

  for (guint k = 0; k < n_joins; k++)
    {
      g_autofree char *user = g_strdup_printf ("fj%03u", k);
      g_autofree char *json = login_json ("fan", user, FALSE);
      guint home = k % cl->n_nodes;
      gint64 ts = 0, tk = 0;
      EpConn *j = ep_login (tether_test_server_process_get_port (cl->nodes[home].server), json, &ts, &tk);
      JoinWait jw = { threads, k };
      gint64 latest = 0;

      if (j == NULL)
        {
          g_printerr ("[fanout] joiner %u could not log in\n", k);
          continue;
        }
      if (!tether_test_poll_until (join_complete, &jw, 10000))
        {
          g_printerr ("[fanout] join %u: not every member got the ADD in 10 s\n", k);
          ep_conn_free (j);
          continue;
        }
      done++;
      for (guint t = 0; t < MAX_NODES; t++)
        for (guint m = 0; m < fan[t].n_members; m++)
          {
            gint64 rx = fan[t].rx[(gsize) k * fan[t].n_members + m];

            append_ms (all, ts, rx);
            /* thread t's members are all on node t % n */
            append_ms (t % cl->n_nodes == home ? same : other, ts, rx);
            latest = MAX (latest, rx);
          }
      append_ms (last, ts, latest);
      /* leave again (a user DELETE to everyone) and let the room settle; the leave
       * alone is one event: its Redis commands are counted apart */
      if (cl->redis != NULL)
        leave_calls -= (double) calls_of (cl->redis, &leave_scripts, -1);
      bench_ws_send_text (j->fd, "{\"type\":\"logout\"}");
      tether_test_run_for (100);
      if (cl->redis != NULL)
        leave_calls += (double) calls_of (cl->redis, &leave_scripts, 1) - mark.background_per_s * 0.1;
      ep_conn_free (j);
    }

  print_ms ("joiner's login sent -> a member has the ADD (all)", all);
  if (cl->n_nodes > 1)
    {
      print_ms ("  ... members on the joiner's node", same);
      print_ms ("  ... members on the other nodes", other);
    }
  print_ms ("joiner's login sent -> the last member has it", last);
  g_print ("  CPU per join (login, ADD to %u, logout, DELETE to %u):", members->len, members->len);
  for (guint i = 0; i < cl->n_nodes; i++)
    g_print (" %s %.2f ms", cl->nodes[i].id,
             (bench_proc_cpu_seconds (cl->nodes[i].pid) - cpu0[i]) * 1000 / MAX (done, 1));
  g_print ("\n");
  if (cl->redis != NULL)
    {
      redis_report (cl->redis, &mark, done, "join + leave (one login, one ADD, one logout, one DELETE)");
      g_print ("  Redis commands per leave alone (one logout, one user DELETE event): %.1f, of "
               "which scripts %.2f\n", leave_calls / MAX (done, 1), leave_scripts / (double) MAX (done, 1));
    }
  print_loadavg ("end");

  for (guint t = 0; t < MAX_NODES; t++)
    {
      g_atomic_int_set (&threads[t].stop, 1);
      g_thread_join (threads[t].thread);
      close (threads[t].epfd);
      g_main_context_unref (fan[t].notify);
      g_free (fan[t].counts);
      g_free (fan[t].first_rx);
      g_free (fan[t].last_rx);
      g_free (fan[t].rx);
    }
  g_ptr_array_unref (members);
}

/* ---- part 3: kill -9 of a node -------------------------------------------------------- */

static gboolean
all_closed (gpointer data)
{
  RawPool *pool = data;

  return (guint) g_atomic_int_get (&pool->n_closed) >= (guint) g_atomic_int_get (&pool->n_ok);
}

/* The login of a client that resumes the session of @c's login_ok. */
static char *
resume_json (RawClient  *c,
             const char *room_id,
             const char *user_id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *token = tether_test_token (user_id, NULL, 3600);
  TetherTestLogin login = { .room_id = room_id, .user_id = user_id, .token = token,
                            .notify_users = TRUE };
  JsonObject *o;

  if (c->login_ok == NULL || !json_parser_load_from_data (parser, c->login_ok, -1, NULL))
    return NULL;
  o = json_node_get_object (json_parser_get_root (parser));
  login.resume_session_id = json_object_get_string_member_with_default (o, "session_id", NULL);
  login.resume_key = json_object_get_string_member_with_default (o, "resume_key", NULL);
  login.last_seq = json_object_get_int_member_with_default (o, "seq", 0);
  if (login.resume_session_id == NULL || login.resume_key == NULL)
    return NULL;
  return tether_test_login_json (&login);
}

/* Case 1 to the others: no DELETE in the logs of the rooms PREFIX-000 … (a user's or a
 * stream's). */
static void
print_deletes (Cluster    *cl,
               const char *prefix,
               guint       n_rooms)
{
  guint n_deletes = 0;

  for (guint r = 0; r < n_rooms; r++)
    {
      g_autofree char *log = tether_test_redis_command (cl->redis, "XRANGE " KEY_PREFIX "room:{%s-%03u}:log - +",
                                                        prefix, r);

      for (const char *p = log; p != NULL && (p = strstr (p, "DELETE")) != NULL; p++)
        n_deletes++;
    }
  g_print ("  DELETEs in the %u rooms' event logs after the failover: %u\n", n_rooms, n_deletes);
}

static void
bench_kill (void)
{
  Cluster *cl = cluster_start ("kill", 3, TRUE);
  Node *victim = &cl->nodes[2];
  const guint n_rooms = MAX (n_kill_clients / ROOM_SIZE, 1);
  RawPool *doomed;
  Pools survivors = { { NULL }, 2 };
  g_autoptr(GArray) resumed_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) noticed_ms = g_array_new (FALSE, FALSE, sizeof (double));
  guint n_resumed_true = 0, n_resumed_false = 0;
  gint64 t_kill, t_noticed;
  PoolsWait w;

  g_print ("[kill] %u clients on %s (rooms of %d, notify_users); kill -9 %s; each client, "
           "once its connection ends, logs in on a survivor (alternately %s and %s) with "
           "resume {session_id, resume_key, last_seq}\n", n_kill_clients, victim->id, ROOM_SIZE,
           victim->id, cl->nodes[0].id, cl->nodes[1].id);
  print_loadavg ("start");
  doomed = raw_pool_new ("bench-doomed", TRUE, victim->url, 32);
  doomed->keep_login_ok = TRUE;
  for (guint i = 0; i < n_kill_clients; i++)
    {
      g_autofree char *room = g_strdup_printf ("k-%03u", (i / ROOM_SIZE) % n_rooms);
      g_autofree char *user = g_strdup_printf ("ku%04u", i);

      raw_pool_add (doomed, room, user, TRUE);
    }
  w = (PoolsWait) { &doomed, 1, n_kill_clients };
  raw_pool_start (doomed);
  if (!tether_test_poll_until (pools_done_cond, &w, 120000))
    g_printerr ("[kill] ramp incomplete\n");
  g_print ("  %d of %u clients logged in on %s\n", g_atomic_int_get (&doomed->n_ok), n_kill_clients,
           victim->id);
  tether_test_run_for (1000);

  for (guint i = 0; i < 2; i++)
    {
      survivors.pools[i] = raw_pool_new ("bench-resume", TRUE, cl->nodes[i].url, 64);
      survivors.pools[i]->keep_login_ok = TRUE;
    }

  bench_watchdog_remove_pid (victim->pid);
  t_kill = g_get_monotonic_time ();
  tether_test_server_process_kill (victim->server);
  if (!tether_test_poll_until (all_closed, doomed, 10000))
    g_printerr ("[kill] only %d of %d clients saw their connection end within 10 s\n",
                g_atomic_int_get (&doomed->n_closed), g_atomic_int_get (&doomed->n_ok));
  t_noticed = g_get_monotonic_time ();

  /* the clients in the order they noticed, each to a survivor */
  for (guint i = 0; i < doomed->clients->len; i++)
    {
      RawClient *c = g_ptr_array_index (doomed->clients, i);
      g_autofree char *room = g_strdup_printf ("k-%03u", (i / ROOM_SIZE) % n_rooms);
      g_autofree char *user = g_strdup_printf ("ku%04u", i);
      char *json;

      if (c->t_closed == 0)
        continue;
      append_ms (noticed_ms, t_kill, c->t_closed);
      json = resume_json (c, room, user);
      if (json != NULL)
        raw_pool_add_login (survivors.pools[i % 2], json);
    }
  if (!pools_run (&survivors, survivors.pools[0]->clients->len + survivors.pools[1]->clients->len,
                  120000))
    g_printerr ("[kill] not every resume was answered within 120 s\n");

  for (guint s = 0; s < 2; s++)
    for (guint i = 0; i < survivors.pools[s]->clients->len; i++)
      {
        RawClient *c = g_ptr_array_index (survivors.pools[s]->clients, i);

        if (c->state != RAW_LOGINED)
          continue;
        append_ms (resumed_ms, t_kill, c->t_ok);
        if (c->login_ok != NULL && strstr (c->login_ok, "\"resumed\":true") != NULL)
          n_resumed_true++;
        else
          n_resumed_false++;
      }
  print_ms ("kill -9 -> a client sees its connection end", noticed_ms);
  g_print ("  (all %u had noticed %.1f ms after the kill; resumes started then)\n",
           noticed_ms->len, (t_noticed - t_kill) / 1000.0);
  print_ms ("kill -9 -> a client's resume answered on a survivor", resumed_ms);
  g_print ("  %u resumed (case 1, resumed:true), %u got a new session (resumed:false), "
           "%u failed\n", n_resumed_true, n_resumed_false,
           pools_failed (survivors.pools, 2));

  print_deletes (cl, "k", n_rooms);
  print_loadavg ("end");

  pools_free (&survivors);
  raw_pool_free (doomed);
  cluster_free (cl);
}

/* ---- part 4: kill -9 of a node, libtether clients ---------------------------------- */

static gboolean
all_reconnected (gpointer data)
{
  LtGroup *g = data;

  return g->n_reconnected_mark >= g->n_logined;
}

/* The figure as a user sees it: libtether rooms (TetherRoom, bench-room's
 * LtGroup) logged in on node3 only; after kill -9 they reconnect by themselves, walking
 * the room_services list of their login_ok, until RECONNECTED. */
static void
bench_kill_libtether (void)
{
  Cluster *cl = cluster_start ("kill-libtether", 3, TRUE);
  Node *victim = &cl->nodes[2];
  const guint n_rooms = MAX (n_kill_clients / ROOM_SIZE, 1);
  LtGroup *g = lt_group_new (victim->url, 100);
  g_autoptr(GArray) ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) noticed = g_array_new (FALSE, FALSE, sizeof (double));
  guint resumed = 0, attempts_max = 0, on_node[2] = { 0, 0 };
  double cpu0[4];
  gint64 t_kill;

  g_print ("[kill-libtether] %u libtether rooms (rooms of %d, notify_users, 20 per "
           "TetherEngine) logged in on %s; kill -9 %s; each reconnects by itself "
           "(room_services of its login_ok, backoff) until RECONNECTED\n", n_kill_clients,
           ROOM_SIZE, victim->id, victim->id);
  print_loadavg ("start");
  g->clients_per_engine = 20;
  for (guint i = 0; i < n_kill_clients; i++)
    {
      g_autofree char *room = g_strdup_printf ("l-%03u", (i / ROOM_SIZE) % n_rooms);
      g_autofree char *user = g_strdup_printf ("lk%04u", i);

      lt_add (g, room, user, TRUE);
    }
  if (!lt_ramp (g, 120000))
    g_printerr ("[kill-libtether] ramp incomplete: %u logged in, %u failed\n", g->n_logined,
                g->n_login_failed);
  g_print ("  %u of %u logged in on %s\n", g->n_logined, n_kill_clients, victim->id);
  tether_test_run_for (2000);

  lt_mark (g);
  bench_watchdog_remove_pid (victim->pid);
  for (guint i = 0; i < 2; i++)
    cpu0[i] = bench_proc_cpu_seconds (cl->nodes[i].pid);
  cpu0[2] = bench_proc_cpu_seconds (redis_pid (cl->redis));
  cpu0[3] = bench_proc_cpu_seconds (getpid ());
  t_kill = g_get_monotonic_time ();
  tether_test_server_process_kill (victim->server);
  if (!tether_test_poll_until (all_reconnected, g, 60000))
    g_printerr ("[kill-libtether] only %u of %u RECONNECTED within 60 s\n", g->n_reconnected_mark,
                g->n_logined);
  /* What the failover cost, and who paid: the clients' process (all the libtether
   * rooms), the survivors, Redis. */
  g_print ("  CPU from the kill to the last RECONNECTED (%.0f ms): clients %.0f ms, %s %.0f ms, "
           "%s %.0f ms, redis %.0f ms\n", (g_get_monotonic_time () - t_kill) / 1000.0,
           (bench_proc_cpu_seconds (getpid ()) - cpu0[3]) * 1000, cl->nodes[0].id,
           (bench_proc_cpu_seconds (cl->nodes[0].pid) - cpu0[0]) * 1000, cl->nodes[1].id,
           (bench_proc_cpu_seconds (cl->nodes[1].pid) - cpu0[1]) * 1000,
           (bench_proc_cpu_seconds (redis_pid (cl->redis)) - cpu0[2]) * 1000);
  for (guint i = 0; i < g->reconnected_at->len; i++)
    append_ms (ms, t_kill, g_array_index (g->reconnected_at, gint64, i));
  for (guint i = 0; i < g->clients->len; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);
      TetherReconnectReport *r = c->room != NULL ? tether_room_get_last_report (c->room) : NULL;

      if (r != NULL && c->reconnected_since_mark)
        {
          resumed += tether_reconnect_report_get_resumed (r);
          attempts_max = MAX (attempts_max, tether_reconnect_report_get_attempts (r));
          append_ms (noticed, t_kill, c->t_reconnecting);
          for (guint n = 0; n < 2; n++)
            on_node[n] += g_strcmp0 (tether_room_get_server_url (c->room), cl->nodes[n].url) == 0;
        }
    }
  print_ms ("kill -9 -> a room RECONNECTING (break noticed)", noticed);
  print_ms ("kill -9 -> a room RECONNECTED on a survivor", ms);
  g_print ("  %u of %u RECONNECTED, %u of them resumed (case 1); at most %u attempts; "
           "%u RECONNECT_FAILED, %u kicked; %u on %s, %u on %s\n", g->n_reconnected_mark,
           g->n_logined, resumed, attempts_max, g->n_reconnect_failed, g->n_kicked, on_node[0],
           cl->nodes[0].id, on_node[1], cl->nodes[1].id);
  print_deletes (cl, "l", n_rooms);
  print_loadavg ("end");

  lt_group_free (g);
  cluster_free (cl);
}

/* ---- Redis on "another machine" (--redis-rtt) -------------------------------------- */

static gboolean
run_quiet (const char *command)
{
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync (command, NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("bench-cluster: %s: %s%s%s\n", command, error->message,
                  err != NULL && *err != '\0' ? ": " : "", err != NULL ? g_strchomp (err) : "");
      return FALSE;
    }
  return TRUE;
}

static void
netns_delete (void)
{
  g_autofree char *del = NULL;

  if (redis_netns == NULL)
    return;
  /* Its end of the pair goes with it, and this end with that. */
  del = g_strdup_printf ("ip netns delete %s", redis_netns);
  run_quiet (del);
  g_clear_pointer (&redis_netns, g_free);
  g_clear_pointer (&redis_veth, g_free);
}

/* A namespace joined by a veth pair, each end delaying its output by half the RTT. */
static gboolean
netns_create (void)
{
  g_autofree char *ip = g_find_program_in_path ("ip");
  g_autofree char *tc = g_find_program_in_path ("tc");
  g_autofree char *peer = NULL;
  g_autofree char *delay = NULL;

  if (ip == NULL || tc == NULL)
    {
      g_print ("bench-cluster: no network namespace for Redis: `ip` or `tc` not found "
               "(package iproute2)\n");
      return FALSE;
    }
  redis_netns = g_strdup_printf ("tether-bench-%d", (int) getpid ());
  redis_veth = g_strdup_printf ("tbr%da", (int) getpid () % 10000000);
  peer = g_strdup_printf ("tbr%db", (int) getpid () % 10000000);
  delay = g_strdup_printf ("%.3fms", redis_rtt_ms / 2);
  {
    char *commands[] = {
      g_strdup_printf ("ip netns add %s", redis_netns),
      g_strdup_printf ("ip link add %s type veth peer name %s", redis_veth, peer),
      g_strdup_printf ("ip link set %s netns %s", peer, redis_netns),
      g_strdup_printf ("ip addr add " NETNS_HOST "/30 dev %s", redis_veth),
      g_strdup_printf ("ip link set %s up", redis_veth),
      g_strdup_printf ("ip netns exec %s ip addr add " NETNS_REDIS "/30 dev %s", redis_netns, peer),
      g_strdup_printf ("ip netns exec %s ip link set %s up", redis_netns, peer),
      g_strdup_printf ("ip netns exec %s ip link set lo up", redis_netns),
      g_strdup_printf ("tc qdisc add dev %s root netem delay %s", redis_veth, delay),
      g_strdup_printf ("ip netns exec %s tc qdisc add dev %s root netem delay %s", redis_netns,
                       peer, delay),
    };
    gboolean ok = TRUE;

    for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
      {
        ok = ok && run_quiet (commands[i]);
        g_free (commands[i]);
      }
    if (ok)
      {
        g_print ("# redis in network namespace %s (" NETNS_REDIS "), netem delay %s each way\n",
                 redis_netns, delay);
        return TRUE;
      }
  }
  g_print ("bench-cluster: no network namespace for Redis: it could not be set up (root, "
           "iproute2 and netem, CONFIG_NET_SCH_NETEM, are needed)\n");
  netns_delete ();
  return FALSE;
}

/* ---- main ------------------------------------------------------------------------------ */

static void
run_setups (void (*part) (Cluster *cl))
{
  struct { const char *key, *name; guint n; gboolean redis; } setups[] = {
    { "single", "one node, no Redis", 1, FALSE },
    { "one", "one node + Redis", 1, TRUE },
    { "three", "three nodes + Redis", 3, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (setups); i++)
    {
      Cluster *cl;

      if (only_setups != NULL && !g_strv_contains ((const char * const *) only_setups, setups[i].key))
        continue;
      cl = cluster_start (setups[i].name, setups[i].n, setups[i].redis);

      part (cl);
      cluster_free (cl);
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *server_option = NULL;
  g_autofree char *cpu = bench_cpu_model ();
  g_autoptr(GOptionContext) context = g_option_context_new ("[login fanout kill kill-libtether] — bench-cluster");
  g_autoptr(GError) error = NULL;
  gboolean all;
  int members = (int) n_members, kill_clients = (int) n_kill_clients, joins = (int) n_joins;
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &server_option, "The tether-server program", "PATH" },
    { "members", 0, 0, G_OPTION_ARG_INT, &members, "Members of the fan-out room (1000)", "N" },
    { "joins", 0, 0, G_OPTION_ARG_INT, &joins, "Joins timed in the fan-out part (30)", "N" },
    { "kill-clients", 0, 0, G_OPTION_ARG_INT, &kill_clients, "Clients of the killed node (1000)", "N" },
    { "setup", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only_setups, "Only this set-up for login and fanout: single (no Redis), one, three (repeatable)", "NAME" },
    { "redis-rtt", 0, 0, G_OPTION_ARG_DOUBLE, &redis_rtt_ms, "Redis in a network namespace behind this round trip (netem; root)", "MS" },
    { NULL }
  };

  command_line = g_strjoinv (" ", argv);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-cluster: %s\n", error->message);
      return 2;
    }
  n_members = (guint) MAX (members, 1);
  n_joins = (guint) MAX (joins, 1);
  n_kill_clients = (guint) MAX (kill_clients, ROOM_SIZE);
  server_program = bench_server_program ("bench-cluster", server_option, TETHER_SERVER_PATH);
  if (server_program == NULL)
    return 2;
  g_setenv ("TETHER_SERVER", server_program, TRUE);
  if (redis_rtt_ms > 0 && !netns_create ())
    {
      g_print ("# --redis-rtt %.3f: Redis on loopback, the nodes reach it through a delay proxy "
               "holding each direction %.3f ms\n", redis_rtt_ms, redis_rtt_ms / 2);
      redis_proxied = TRUE;
    }
  bench_raise_nofile ();
  bench_watchdog_start ("bench-cluster", WATCHDOG_SECONDS);

  g_print ("# %s\n# server %s\n# machine: %u CPUs, %s\n", command_line, server_program,
           g_get_num_processors (), cpu);
  print_loadavg ("start of run");
  all = argc < 2;
  for (int i = 1; i < argc || all; i++)
    {
      const char *part = all ? NULL : argv[i];

      if (all || strcmp (part, "login") == 0)
        run_setups (bench_login_on);
      if (all || strcmp (part, "fanout") == 0)
        run_setups (bench_fanout_on);
      if (all || strcmp (part, "kill") == 0)
        bench_kill ();
      if (all || strcmp (part, "kill-libtether") == 0)
        bench_kill_libtether ();
      if (!all && strcmp (part, "login") != 0 && strcmp (part, "fanout") != 0
          && strcmp (part, "kill") != 0 && strcmp (part, "kill-libtether") != 0)
        g_printerr ("bench-cluster: unknown part %s\n", part);
      if (all)
        break;
    }
  bench_watchdog_stop ();
  netns_delete ();
  g_free (command_line);
  g_free (server_program);
  g_strfreev (only_setups);
  return 0;
}
