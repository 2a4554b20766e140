/* bench-room.c: figures for the room service — idle sessions' CPU and memory, login
 * latency, user ADD fan-out, memory per session, silent-cut detection, restore, and a
 * 2,000-client reconnect storm
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-room [--server PATH] [--idle-max N] [--fanout-threads N] [PART...]
 *   PART: idle memory held login fanout cut restart storm (default: all; "cut" also
 *   measures the restore, "restart" and "storm" are the same part)
 *
 * The server is always the tether-server program, a separate process started per part
 * with --login-rate 0 and otherwise default settings. Everything waits with a deadline;
 * a watchdog ends the run (and the server) if a part hangs anyway.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-room.h"
#include "bench-util.h"
#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-message.h"
#include "tether-test-process.h"
#include "tether-test-server.h"
#include "tether-test-stats.h"
#include "tether-test-utils.h"

#define WATCHDOG_SECONDS 420

/* ---- results ---------------------------------------------------------------------- */

typedef struct
{
  char   *key;        /* JSON key */
  char   *label;      /* table label */
  char   *unit;
  double  p50, p99, max;
  guint   n;
  char   *target;     /* text, or NULL for an informational row */
  int     pass;       /* 1 pass, 0 fail, -1 no target */
} Result;

static GPtrArray *results;          /* Result* */
static JsonBuilder *extra_json;     /* object of extra figures, closed at the end */
static char *server_program;
static guint fanout_threads = 2;
static int login_idle = 1000;       /* --login-idle */
static gboolean idle_raw;           /* --idle-raw: idle sessions without heartbeats */
static guint storm_per_engine = 20; /* --storm-per-engine */
static int idle_max = 10000;        /* --idle-max */

static void
add_result (const char *key,
            const char *label,
            const char *unit,
            GArray     *values,
            const char *target,
            double      limit,
            gboolean    limit_on_p50)
{
  Result *r = g_new0 (Result, 1);

  r->key = g_strdup (key);
  r->label = g_strdup (label);
  r->unit = g_strdup (unit);
  r->n = values->len;
  r->p50 = tether_test_percentile (values, 50);
  r->p99 = tether_test_percentile (values, 99);
  r->max = tether_test_percentile (values, 100);
  r->target = g_strdup (target);
  if (target == NULL)
    r->pass = -1;
  else if (values->len == 0)
    r->pass = 0;
  else
    r->pass = (limit_on_p50 ? r->p50 : r->p99) < limit;
  g_ptr_array_add (results, r);
  g_print ("  -> %-44s n=%-5u p50=%9.3f p99=%9.3f max=%9.3f %s%s%s\n", label, r->n, r->p50,
           r->p99, r->max, unit, target ? "  target " : "", target ? target : "");
}

static void
add_single (const char *key,
            const char *label,
            const char *unit,
            double      value,
            const char *target,
            double      limit)
{
  g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (double));

  g_array_append_val (a, value);
  add_result (key, label, unit, a, target, limit, TRUE);
}

static void
extra_double (const char *key,
              double      value)
{
  json_builder_set_member_name (extra_json, key);
  json_builder_add_double_value (extra_json, value);
}

static void
extra_loadavg (const char *key)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return;
  g_strstrip (text);
  json_builder_set_member_name (extra_json, key);
  json_builder_add_string_value (extra_json, text);
  g_print ("loadavg (%s): %s\n", key, text);
}

static void
extra_int (const char *key,
           gint64      value)
{
  json_builder_set_member_name (extra_json, key);
  json_builder_add_int_value (extra_json, value);
}

/* ---- the server process ------------------------------------------------------------ */

/* The tether-server program (tether_test_server_process_new()), with its pid for
 * /proc and the watchdog. */
typedef struct
{
  TetherTestServerProcess *server;
  guint16 port;
  const char *url;
  pid_t pid;
} Server;

static void
server_started (Server *s)
{
  s->port = tether_test_server_process_get_port (s->server);
  s->url = tether_test_server_process_get_url (s->server);
  s->pid = bench_process_pid (tether_test_server_process_get_process (s->server));
  bench_watchdog_add_pid (s->pid);
  g_print ("  server pid %d\n", (int) s->pid);
}

static Server *
server_start (void)
{
  Server *s = g_new0 (Server, 1);

  s->server = tether_test_server_process_new (
    "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET, "--login-rate", "0",
    /* every client of the bench comes from 127.0.0.1 */
    "--max-connections-per-address", "0", NULL);
  server_started (s);
  return s;
}

static TetherTestProcess *
server_process (Server *s)
{
  return tether_test_server_process_get_process (s->server);
}

/* On the same port, once the process has ended. */
static void
server_restart (Server *s)
{
  bench_watchdog_remove_pid (s->pid);
  tether_test_server_process_restart (s->server);
  server_started (s);
}

static void
server_free (Server *s)
{
  if (s == NULL)
    return;
  bench_watchdog_remove_pid (s->pid);
  tether_test_server_process_kill (s->server);
  tether_test_server_process_free (s->server);
  g_free (s);
}

/* TcpExt counter from /proc/net/netstat (system-wide), or -1. */
static gint64
tcpext_counter (const char *name)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/netstat", &text, NULL, NULL))
    return -1;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      g_auto(GStrv) names = NULL;
      g_auto(GStrv) values = NULL;

      if (!g_str_has_prefix (lines[i], "TcpExt:") || !g_str_has_prefix (lines[i + 1], "TcpExt:"))
        continue;
      names = g_strsplit (lines[i], " ", -1);
      values = g_strsplit (lines[i + 1], " ", -1);
      for (guint j = 1; names[j] != NULL && values[j] != NULL; j++)
        if (g_str_equal (names[j], name))
          return g_ascii_strtoll (values[j], NULL, 10);
    }
  return -1;
}

/* ---- part 3: memory ------------------------------------------------------------------ */

static void
bench_memory (void)
{
  Server *s = server_start ();
  RawPool *pool;
  gint64 rss[3], hwm[3];
  guint steps[3] = { 0, 1000, 2000 };
  g_autoptr(GArray) per = g_array_new (FALSE, FALSE, sizeof (double));
  PoolsWait w;
  double per_1000, per_2000, per_second_1000, total;

  g_print ("\n[memory] server RSS with 0, 1000 and 2000 idle logged-in sessions "
           "(raw WebSocket clients, rooms of %d, notify_users)\n", ROOM_SIZE);
  pool = raw_pool_new ("bench-mem", TRUE, s->url, 32);
  w.pools = &pool;
  w.n_pools = 1;

  tether_test_run_for (300);
  bench_proc_vm (s->pid, &rss[0], &hwm[0]);
  for (guint step = 1; step < 3; step++)
    {
      for (guint i = steps[step - 1]; i < steps[step]; i++)
        {
          g_autofree char *room = g_strdup_printf ("mem-%03u", i / ROOM_SIZE);
          g_autofree char *user = g_strdup_printf ("mu%04u", i);

          raw_pool_add (pool, room, user, TRUE);
        }
      w.target = steps[step];
      raw_pool_start (pool);
      if (!tether_test_poll_until (pools_done_cond, &w, 30000) || pools_failed (&pool, 1) > 0)
        g_printerr ("[memory] only %u of %u sessions logged in\n",
                    (guint) g_atomic_int_get (&pool->n_ok), steps[step]);
      tether_test_run_for (500);
      bench_proc_vm (s->pid, &rss[step], &hwm[step]);
    }

  for (guint step = 0; step < 3; step++)
    g_print ("  %5u sessions: VmRSS %7" G_GINT64_FORMAT " KiB  VmHWM %7" G_GINT64_FORMAT " KiB\n",
             steps[step], rss[step], hwm[step]);
  per_1000 = (rss[1] - rss[0]) / 1000.0;
  per_second_1000 = (rss[2] - rss[1]) / 1000.0;
  per_2000 = (rss[2] - rss[0]) / 2000.0;
  total = per_2000;
  g_print ("  per session: 0->1000 %.2f KiB, 1000->2000 %.2f KiB, 0->2000 %.2f KiB\n",
           per_1000, per_second_1000, per_2000);
  extra_int ("memory_rss_kib_0", rss[0]);
  extra_int ("memory_rss_kib_1000", rss[1]);
  extra_int ("memory_rss_kib_2000", rss[2]);
  extra_int ("memory_hwm_kib_0", hwm[0]);
  extra_int ("memory_hwm_kib_1000", hwm[1]);
  extra_int ("memory_hwm_kib_2000", hwm[2]);
  extra_double ("memory_kib_per_session_0_1000", per_1000);
  extra_double ("memory_kib_per_session_1000_2000", per_second_1000);
  add_single ("memory_kib_per_session", "3. server memory per idle session", "KiB", total,
              "<= 8 KiB", 8.001);

  raw_pool_free (pool);
  server_free (s);
}

/* ---- part 1: login latency ------------------------------------------------------------ */

static gboolean
lt_client_settled (gpointer data)
{
  LtClient *c = data;

  return c->state != TETHER_ROOM_STATE_LOGINING;
}

static gboolean
lt_client_settled_out (gpointer data)
{
  LtClient *c = data;

  return c->state == TETHER_ROOM_STATE_LOGOUT || c->state == TETHER_ROOM_STATE_LOGOUT_FAILED;
}

static void
bench_login (void)
{
  Server *s = server_start ();
  LtGroup *idle, *measured;
  RawPool *raw;
  g_autoptr(GArray) lt_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) hs_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) srv_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) raw_ms = g_array_new (FALSE, FALSE, sizeof (double));
  const guint n_idle = (guint) login_idle, n_measure = 200;
  const guint n_rooms = 1000 / ROOM_SIZE;   /* the measured logins join rooms of ~10 */
  RawPool *idle_pool = NULL;
  gint64 t0;
  double cpu0, srv_cpu0, bench_cpu, srv_cpu, lt_cpu, raw_cpu;

  g_print ("\n[login] %u idle %s sessions (rooms of %d, notify_users), then %u logins "
           "one after another\n", n_idle, idle_raw ? "raw (no heartbeats)" : "libtether",
           ROOM_SIZE, n_measure);
  idle = lt_group_new (s->url, 50);
  if (idle_raw)
    idle_pool = raw_pool_new ("bench-idle", TRUE, s->url, 32);
  for (guint i = 0; i < n_idle; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%03u", (i / ROOM_SIZE) % n_rooms);
      g_autofree char *user = g_strdup_printf ("iu%04u", i);

      if (idle_raw)
        raw_pool_add (idle_pool, room, user, TRUE);
      else
        lt_add (idle, room, user, TRUE);
    }
  t0 = g_get_monotonic_time ();
  if (idle_raw)
    {
      PoolsWait pw = { &idle_pool, 1, n_idle };

      raw_pool_start (idle_pool);
      tether_test_poll_until (pools_done_cond, &pw, 60000);
    }
  else if (!lt_ramp (idle, 60000))
    g_printerr ("[login] ramp incomplete: %u logged in, %u failed\n", idle->n_logined,
                idle->n_login_failed);
  g_print ("  %u idle sessions logged in in %.2f s\n",
           idle_raw ? (guint) g_atomic_int_get (&idle_pool->n_ok) : idle->n_logined,
           (g_get_monotonic_time () - t0) / 1e6);
  tether_test_run_for (1000);
  /* The background load the measurement runs in: the idle sessions' heartbeats. */
  cpu0 = bench_thread_cpu_seconds ();
  srv_cpu0 = bench_proc_cpu_seconds (s->pid);
  tether_test_run_for (2000);
  bench_cpu = bench_thread_cpu_seconds () - cpu0;
  srv_cpu = bench_proc_cpu_seconds (s->pid) - srv_cpu0;
  g_print ("  idle load: server %.0f%% of a CPU, bench main thread %.0f%% of a CPU\n",
           srv_cpu / 2.0 * 100, bench_cpu / 2.0 * 100);
  extra_double ("login_idle_server_cpu_pct", srv_cpu / 2.0 * 100);
  extra_double ("login_idle_bench_cpu_pct", bench_cpu / 2.0 * 100);
  extra_int ("login_idle_sessions", n_idle);

  srv_cpu0 = bench_proc_cpu_seconds (s->pid);
  /* 1a: libtether, client-observed, from tether_engine_login_room() to LOGINED. These
   * share the main thread with the 1,000 idle rooms (their timers and heartbeats). */
  measured = lt_group_new (s->url, 1);
  for (guint i = 0; i < n_measure; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%03u", i % n_rooms);
      g_autofree char *user = g_strdup_printf ("lu%04u", i);
      LtClient *c = lt_add (measured, room, user, TRUE);
      double ms;

      lt_start (c, s->url);
      if (!tether_test_poll_until (lt_client_settled, c, 5000) || c->state != TETHER_ROOM_STATE_LOGINED)
        {
          g_printerr ("[login] libtether login %u did not succeed\n", i);
          continue;
        }
      ms = (c->t_logined - c->t_start) / 1000.0;
      g_array_append_val (lt_ms, ms);
      /* leave again, so the server keeps ~n_idle sessions throughout */
      tether_engine_logout_room (c->engine, c->room);
      tether_test_poll_until (lt_client_settled_out, c, 3000);
      tether_test_run_for (2);
    }
  measured->next = measured->clients->len;
  lt_cpu = bench_proc_cpu_seconds (s->pid) - srv_cpu0;
  srv_cpu0 = bench_proc_cpu_seconds (s->pid);

  /* 1b: raw WebSocket on a thread of its own: handshake, then login -> login_ok on the
   * open socket (the server's share plus two loopback hops). */
  raw = raw_pool_new ("bench-login-raw", TRUE, s->url, 1);
  raw->manual = TRUE;
  for (guint i = 0; i < n_measure; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%03u", i % n_rooms);
      g_autofree char *user = g_strdup_printf ("ru%04u", i);
      RawClient *c = raw_pool_add (raw, room, user, TRUE);
      double hs, srv, total;

      if (!raw_pool_run_one (raw, 5000) || c->state != RAW_LOGINED)
        {
          g_printerr ("[login] raw login %u did not succeed\n", i);
          continue;
        }
      hs = (c->t_open - c->t_start) / 1000.0;
      srv = (c->t_ok - c->t_sent) / 1000.0;
      total = (c->t_ok - c->t_start) / 1000.0;
      g_array_append_val (hs_ms, hs);
      g_array_append_val (srv_ms, srv);
      g_array_append_val (raw_ms, total);
      raw_client_logout (c);
      tether_test_run_for (5);
    }
  raw_cpu = bench_proc_cpu_seconds (s->pid) - srv_cpu0;
  g_print ("  server CPU per measured login (incl. its logout and the idle load): libtether "
           "phase %.3f ms, raw phase %.3f ms\n", lt_cpu * 1000 / n_measure, raw_cpu * 1000 / n_measure);
  extra_double ("login_server_cpu_ms_per_login_libtether", lt_cpu * 1000 / n_measure);
  extra_double ("login_server_cpu_ms_per_login_raw", raw_cpu * 1000 / n_measure);

  add_result ("login_libtether_ms", "1. login -> LOGINED (libtether, 1000 idle)", "ms", lt_ms,
              "p99 < 5 ms", 5.0, FALSE);
  add_result ("login_raw_total_ms", "1. raw: connect -> login_ok", "ms", raw_ms, NULL, 0, FALSE);
  add_result ("login_raw_handshake_ms", "1. raw: WebSocket handshake", "ms", hs_ms, NULL, 0, FALSE);
  add_result ("login_raw_server_ms", "1. raw: login sent -> login_ok (open socket)", "ms", srv_ms,
              NULL, 0, FALSE);

  raw_pool_free (raw);
  if (idle_pool != NULL)
    raw_pool_free (idle_pool);
  lt_group_free (measured);
  lt_group_free (idle);
  server_free (s);
}

/* ---- part 2: user ADD fan-out ----------------------------------------------------------- */

/* The 1,000 members are minimal WebSocket clients (bench-room-epoll.c: blocking handshake,
 * then epoll and a small frame parser) so that receiving costs the bench a few µs per message; libsoup
 * clients on a GMainContext cost ~30 µs per message at this size (every main-loop
 * iteration polls and checks every connection), which would be measured as fan-out. */

static void
bench_fanout (void)
{
  Server *s = server_start ();
  const guint n_members = 1000, n_joins = 50;
  guint n_threads = CLAMP (fanout_threads, 1, 8);
  EpThread threads[8];
  GPtrArray *members = g_ptr_array_new ();
  FanState fan = { 0 };
  g_autoptr(GArray) from_sent = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) from_ok = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) spread = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) login_ok = g_array_new (FALSE, FALSE, sizeof (double));
  double client_cpu = 0, server_cpu0, server_cpu;
  guint64 messages = 0;
  gint64 t0;

  g_print ("\n[fanout] %u members (minimal epoll WebSocket clients on %u thread(s)) with "
           "notify_users in one room, then %u joins one at a time\n", n_members, n_threads, n_joins);
  fan.n_members = n_members;
  fan.n_joins = n_joins;
  fan.counts = g_new0 (gint, n_joins);
  fan.first_rx = g_new0 (gint64, n_joins);
  fan.last_rx = g_new0 (gint64, n_joins);
  fan.notify = g_main_context_ref_thread_default ();

  memset (threads, 0, sizeof threads);
  for (guint t = 0; t < n_threads; t++)
    {
      threads[t].epfd = epoll_create1 (EPOLL_CLOEXEC);
      threads[t].fan = &fan;
      threads[t].thread = g_thread_new ("bench-fan", ep_thread_main, &threads[t]);
    }

  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_members; i++)
    {
      g_autofree char *user = g_strdup_printf ("fm%04u", i);
      g_autofree char *json = login_json ("fan", user, TRUE);
      gint64 ts, tk;
      EpConn *c = ep_login (s->port, json, &ts, &tk);
      struct epoll_event ev = { .events = EPOLLIN };

      if (c == NULL)
        {
          g_printerr ("[fanout] member %u could not log in\n", i);
          continue;
        }
      g_ptr_array_add (members, c);
      ev.data.ptr = c;
      epoll_ctl (threads[i % n_threads].epfd, EPOLL_CTL_ADD, c->fd, &ev);
      if (g_get_monotonic_time () - t0 > 60 * G_USEC_PER_SEC)
        {
          g_printerr ("[fanout] member ramp took over 60 s; stopping at %u\n", i + 1);
          break;
        }
    }
  g_print ("  %u members in the room after %.2f s\n", members->len, (g_get_monotonic_time () - t0) / 1e6);
  fan.n_members = members->len;
  tether_test_run_for (1000);

  ep_mark (threads, n_threads, 1);
  for (guint t = 0; t < n_threads; t++)
    threads[t].messages = 0;
  server_cpu0 = bench_proc_cpu_seconds (s->pid);

  for (guint k = 0; k < n_joins; k++)
    {
      g_autofree char *user = g_strdup_printf ("fj%03u", k);
      g_autofree char *json = login_json ("fan", user, FALSE);
      gint64 ts = 0, tk = 0;
      EpConn *j = ep_login (s->port, json, &ts, &tk);
      FanState *f = &fan;
      double v;

      if (j == NULL)
        {
          g_printerr ("[fanout] joiner %u could not log in\n", k);
          continue;
        }
      {
        gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

        while ((guint) g_atomic_int_get (&f->counts[k]) < f->n_members && g_get_monotonic_time () < deadline)
          g_usleep (200);
      }
      if ((guint) g_atomic_int_get (&f->counts[k]) < f->n_members)
        {
          g_printerr ("[fanout] join %u: %d of %u members got the ADD\n", k,
                      g_atomic_int_get (&f->counts[k]), f->n_members);
          ep_conn_free (j);
          continue;
        }
      v = (fan.last_rx[k] - ts) / 1000.0;
      g_array_append_val (from_sent, v);
      v = (fan.last_rx[k] - tk) / 1000.0;
      g_array_append_val (from_ok, v);
      v = (fan.first_rx[k] - ts) / 1000.0;
      g_array_append_val (first, v);
      v = (fan.last_rx[k] - fan.first_rx[k]) / 1000.0;
      g_array_append_val (spread, v);
      v = (tk - ts) / 1000.0;
      g_array_append_val (login_ok, v);
      /* leave again (a user DELETE to everyone) and let the room settle */
      bench_ws_send_text (j->fd, "{\"type\":\"logout\"}");
      g_usleep (60000);
      ep_conn_free (j);
    }

  server_cpu = bench_proc_cpu_seconds (s->pid) - server_cpu0;
  ep_mark (threads, n_threads, 2);
  for (guint t = 0; t < n_threads; t++)
    {
      client_cpu += threads[t].cpu_at_mark[2] - threads[t].cpu_at_mark[1];
      messages += threads[t].messages;
    }
  g_print ("  CPU per join (its ADD + its logout's DELETE to %u members): server %.2f ms, "
           "member threads %.2f ms (%.2f us per message received, %" G_GUINT64_FORMAT " messages)\n",
           fan.n_members, server_cpu * 1000 / n_joins, client_cpu * 1000 / n_joins,
           messages ? client_cpu * 1e6 / messages : 0.0, messages);
  extra_double ("fanout_server_cpu_ms_per_join", server_cpu * 1000 / n_joins);
  extra_double ("fanout_client_cpu_ms_per_join", client_cpu * 1000 / n_joins);
  extra_double ("fanout_client_cpu_us_per_message", messages ? client_cpu * 1e6 / messages : 0.0);
  extra_int ("fanout_client_threads", n_threads);

  add_result ("fanout_last_from_login_sent_ms", "2. login sent -> last of 1000 has ADD", "ms",
              from_sent, "p99 < 10 ms", 10.0, FALSE);
  add_result ("fanout_last_from_login_ok_ms", "2. login_ok at joiner -> last has ADD", "ms",
              from_ok, NULL, 0, FALSE);
  add_result ("fanout_first_from_login_sent_ms", "2. login sent -> first member has ADD", "ms",
              first, NULL, 0, FALSE);
  add_result ("fanout_first_to_last_ms", "2. first -> last member (spread)", "ms", spread, NULL,
              0, FALSE);
  add_result ("fanout_joiner_login_ok_ms", "2. joiner login sent -> its login_ok", "ms", login_ok,
              NULL, 0, FALSE);

  for (guint t = 0; t < n_threads; t++)
    {
      g_atomic_int_set (&threads[t].stop, 1);
      g_thread_join (threads[t].thread);
      close (threads[t].epfd);
    }
  for (guint i = 0; i < members->len; i++)
    ep_conn_free (g_ptr_array_index (members, i));
  g_ptr_array_unref (members);
  server_free (s);
  g_main_context_unref (fan.notify);
  g_free (fan.counts);
  g_free (fan.first_rx);
  g_free (fan.last_rx);
}

/* ---- part 0: idle sessions (issue 13, target 1) ------------------------------------- */

/* Minimal epoll clients (ep_login) that heartbeat like libtether at its default: one
 * heartbeat a second each, the phases spread evenly over the second, acks read and
 * counted. The server's CPU over a 10 s window and its RSS are the figures. */

typedef struct
{
  EpConn **conns;
  guint n;
  int epfd;             /* -1: the thread makes one and adds @conns */
  gint go;              /* atomic: heartbeats start (reading runs from the start) */
  gint stop;            /* atomic */
  guint64 sent, acks;
} HbThread;

static void
hb_frame_cb (const char *payload,
             gsize       len,
             gpointer    data)
{
  HbThread *t = data;

  if (memmem (payload, len, "\"heartbeat_ack\"", 15) != NULL)
    t->acks++;
}

static gpointer
hb_thread_main (gpointer data)
{
  HbThread *t = data;
  int epfd = t->epfd >= 0 ? t->epfd : epoll_create1 (EPOLL_CLOEXEC);
  struct epoll_event events[256];
  gint64 start = 0;
  guint64 tick = 0;
  guint next = 0;

  if (t->epfd < 0)
    for (guint i = 0; i < t->n; i++)
      {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t->conns[i] };

        epoll_ctl (epfd, EPOLL_CTL_ADD, t->conns[i]->fd, &ev);
      }
  while (!g_atomic_int_get (&t->stop))
    {
      gint64 now = g_get_monotonic_time ();
      guint64 due_total = 0;
      int n;

      if (start == 0 && g_atomic_int_get (&t->go))
        start = now;
      /* client i sends at start + k s + i/n s */
      if (start != 0 && t->n > 0)
        due_total = (guint64) ((now - start) * (double) t->n / G_USEC_PER_SEC);
      while (tick < due_total)
        {
          g_autofree char *hb = tether_message_build_heartbeat ((gint64) (tick / MAX (t->n, 1)));

          bench_ws_send_text (t->conns[next]->fd, hb);
          t->sent++;
          tick++;
          next = (next + 1) % t->n;
        }
      n = epoll_wait (epfd, events, G_N_ELEMENTS (events), 1);
      for (int i = 0; i < n; i++)
        {
          EpConn *c = events[i].data.ptr;

          while (ep_read (c) && c->len > 0)
            {
              ws_parse (c, hb_frame_cb, t);
              if (errno == EAGAIN)
                break;
            }
          errno = 0;
        }
    }
  if (t->epfd < 0)
    close (epfd);
  return NULL;
}

static void
idle_round (guint       n_sessions,
            const char *target,
            double      limit,
            double      rss_limit_mib)
{
  Server *s = server_start ();
  GPtrArray *conns = g_ptr_array_new_with_free_func ((GDestroyNotify) ep_conn_free);
  HbThread threads[2];
  gint64 t0, rss0, rss1, hwm;
  double cpu0, cpu1, wall0, wall1, pct;
  guint64 sent = 0, acks = 0;
  g_autofree char *key = NULL;
  g_autofree char *label = NULL;

  g_print ("\n[idle] %u logged-in sessions heartbeating at the default 1 s (minimal epoll "
           "clients, rooms of %d, notify_users)\n", n_sessions, ROOM_SIZE);
  tether_test_run_for (300);
  bench_proc_vm (s->pid, &rss0, &hwm);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_sessions; i++)
    {
      g_autofree char *room = g_strdup_printf ("idle-%04u", i / ROOM_SIZE);
      g_autofree char *user = g_strdup_printf ("iu%05u", i);
      g_autofree char *json = login_json (room, user, TRUE);
      gint64 ts, tk;
      EpConn *c = ep_login (s->port, json, &ts, &tk);

      if (c == NULL)
        {
          g_printerr ("[idle] session %u could not log in\n", i);
          break;
        }
      g_ptr_array_add (conns, c);
      if (g_get_monotonic_time () - t0 > 90 * G_USEC_PER_SEC)
        {
          g_printerr ("[idle] ramp took over 90 s; stopping at %u\n", i + 1);
          break;
        }
    }
  g_print ("  %u sessions logged in after %.2f s\n", conns->len, (g_get_monotonic_time () - t0) / 1e6);

  memset (threads, 0, sizeof threads);
  for (guint t = 0; t < 2; t++)
    {
      threads[t].n = conns->len / 2 + (t == 0 ? conns->len % 2 : 0);
      threads[t].conns = (EpConn **) conns->pdata + (t == 0 ? 0 : conns->len - threads[t].n);
      threads[t].epfd = -1;
      threads[t].go = 1;
    }
  {
    GThread *th[2];

    for (guint t = 0; t < 2; t++)
      th[t] = g_thread_new ("bench-hb", hb_thread_main, &threads[t]);
    tether_test_run_for (2000);  /* every session has heartbeated at least once */
    cpu0 = bench_proc_cpu_seconds (s->pid);
    wall0 = g_get_monotonic_time () / 1e6;
    tether_test_run_for (10000);
    cpu1 = bench_proc_cpu_seconds (s->pid);
    wall1 = g_get_monotonic_time () / 1e6;
    for (guint t = 0; t < 2; t++)
      {
        g_atomic_int_set (&threads[t].stop, 1);
        g_thread_join (th[t]);
        sent += threads[t].sent;
        acks += threads[t].acks;
      }
  }
  bench_proc_vm (s->pid, &rss1, &hwm);
  pct = (cpu1 - cpu0) / (wall1 - wall0) * 100;
  g_print ("  server CPU %.2f %% of a core over %.1f s; %" G_GUINT64_FORMAT " heartbeats sent, %"
           G_GUINT64_FORMAT " acks; VmRSS %" G_GINT64_FORMAT " KiB (%" G_GINT64_FORMAT
           " KiB at 0 sessions, %.2f KiB per session), VmHWM %" G_GINT64_FORMAT " KiB\n",
           pct, wall1 - wall0, sent, acks, rss1, rss0,
           conns->len ? (rss1 - rss0) / (double) conns->len : 0.0, hwm);
  key = g_strdup_printf ("idle_%u_cpu_percent", n_sessions);
  label = g_strdup_printf ("0. server CPU, %u idle sessions (1 s hb)", n_sessions);
  add_single (key, label, "%", pct, target, limit);
  g_free (key);
  g_free (label);
  key = g_strdup_printf ("idle_%u_rss_mib", n_sessions);
  label = g_strdup_printf ("0. server RSS, %u idle sessions", n_sessions);
  add_single (key, label, "MiB", rss1 / 1024.0, rss_limit_mib > 0 ? "<= 100 MiB" : NULL,
              rss_limit_mib + 0.001);
  g_free (key);
  key = g_strdup_printf ("idle_%u_kib_per_session", n_sessions);
  extra_double (key, conns->len ? (rss1 - rss0) / (double) conns->len : 0.0);
  g_free (key);
  key = g_strdup_printf ("idle_%u_acks_per_heartbeat", n_sessions);
  extra_double (key, sent ? (double) acks / sent : 0.0);

  g_ptr_array_unref (conns);
  server_free (s);
}

static void
bench_idle (void)
{
  idle_round (1000, "<= 4 %", 4.0, 0);
  if (idle_max >= 10000)
    idle_round (10000, "<= 40 %", 40.0, 100.0);
  else if (idle_max > 1000)
    idle_round ((guint) idle_max, NULL, 0, 0);
}

/* ---- part 1 (issue 13): login with 1,000 sessions held ----------------------------- */

/* 1,000 heartbeating epoll clients hold one room with notify_users; then libtether
 * logins, alone on the main context, go (a) into that room with notify_users (its
 * ADD reaches the 1,000, its login_ok carries 1,000 users) and (b) into another room.
 * Unlike the login part, no other libtether session shares the measuring client's
 * main context, so the figure is the server's and the wire's. */
static void
held_measure (Server     *s,
              const char *what,
              gboolean    same_room,
              guint       n_measure,
              const char *key,
              const char *label)
{
  g_autoptr(GArray) ms_all = g_array_new (FALSE, FALSE, sizeof (double));
  LtGroup *measured = lt_group_new (s->url, 1);
  double cpu0 = bench_proc_cpu_seconds (s->pid);

  for (guint i = 0; i < n_measure; i++)
    {
      g_autofree char *room = same_room ? g_strdup ("held") : g_strdup_printf ("other-%03u", i % 10);
      g_autofree char *user = g_strdup_printf ("%s%04u", same_room ? "hs" : "ho", i);
      LtClient *c = lt_add (measured, room, user, TRUE);
      double ms;

      lt_start (c, s->url);
      if (!tether_test_poll_until (lt_client_settled, c, 5000) || c->state != TETHER_ROOM_STATE_LOGINED)
        {
          g_printerr ("[held] %s login %u did not succeed\n", what, i);
          continue;
        }
      ms = (c->t_logined - c->t_start) / 1000.0;
      g_array_append_val (ms_all, ms);
      tether_engine_logout_room (c->engine, c->room);
      tether_test_poll_until (lt_client_settled_out, c, 3000);
      tether_test_run_for (20);
    }
  measured->next = measured->clients->len;
  g_print ("  %s: server CPU %.2f ms per login (with its logout and the held sessions' heartbeats)\n",
           what, (bench_proc_cpu_seconds (s->pid) - cpu0) * 1000 / n_measure);
  add_result (key, label, "ms", ms_all, "p99 < 5 ms", 5.0, FALSE);
  lt_group_free (measured);
}

static void
bench_held (void)
{
  Server *s = server_start ();
  const guint n_held = 1000;
  GPtrArray *conns = g_ptr_array_new_with_free_func ((GDestroyNotify) ep_conn_free);
  HbThread threads[2];
  GThread *th[2];
  gint64 t0;

  g_print ("\n[held] %u heartbeating sessions in one room (notify_users), then libtether "
           "logins into that room and into another\n", n_held);
  memset (threads, 0, sizeof threads);
  for (guint t = 0; t < 2; t++)
    {
      threads[t].epfd = epoll_create1 (EPOLL_CLOEXEC);
      th[t] = g_thread_new ("bench-held", hb_thread_main, &threads[t]);
    }
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_held; i++)
    {
      g_autofree char *user = g_strdup_printf ("hu%04u", i);
      g_autofree char *json = login_json ("held", user, TRUE);
      gint64 ts, tk;
      EpConn *c = ep_login (s->port, json, &ts, &tk);
      struct epoll_event ev = { .events = EPOLLIN };

      if (c == NULL)
        {
          g_printerr ("[held] session %u could not log in\n", i);
          break;
        }
      g_ptr_array_add (conns, c);
      ev.data.ptr = c;
      epoll_ctl (threads[i % 2].epfd, EPOLL_CTL_ADD, c->fd, &ev);
    }
  g_print ("  %u sessions in the room after %.2f s\n", conns->len, (g_get_monotonic_time () - t0) / 1e6);
  {
    GPtrArray *half[2] = { g_ptr_array_new (), g_ptr_array_new () };

    for (guint i = 0; i < conns->len; i++)
      g_ptr_array_add (half[i % 2], conns->pdata[i]);
    for (guint t = 0; t < 2; t++)
      {
        threads[t].n = half[t]->len;
        threads[t].conns = (EpConn **) g_ptr_array_free (half[t], FALSE);
        g_atomic_int_set (&threads[t].go, 1);
      }
  }
  tether_test_run_for (2000);

  held_measure (s, "same room (notify_users, 1000 present)", TRUE, 100, "login_held_same_room_ms",
                "1. login -> LOGINED, same room as 1000 (presence)");
  held_measure (s, "another room", FALSE, 100, "login_held_other_room_ms",
                "1. login -> LOGINED, 1000 held in another room");

  for (guint t = 0; t < 2; t++)
    {
      g_atomic_int_set (&threads[t].stop, 1);
      g_thread_join (th[t]);
      close (threads[t].epfd);
      g_free (threads[t].conns);
    }
  g_ptr_array_unref (conns);
  server_free (s);
}

/* ---- parts 4 and 5: silent cut, restore ----------------------------------------------- */

typedef struct
{
  LtGroup *g;
  TetherRoomState state;
} StateWait;

static gboolean
all_in_state (gpointer data)
{
  StateWait *w = data;

  for (guint i = 0; i < w->g->clients->len; i++)
    if (((LtClient *) g_ptr_array_index (w->g->clients, i))->state != w->state)
      return FALSE;
  return TRUE;
}

static void
bench_cut (void)
{
  Server *s = server_start ();
  const guint n = 20;
  TetherFaultProxy *proxies[20];
  gint64 t_cut[20], t_restore[20];
  LtGroup *g;
  StateWait sw;
  g_autoptr(GArray) detect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) restore = g_array_new (FALSE, FALSE, sizeof (double));

  g_print ("\n[cut] %u libtether clients, each behind its own fault proxy; default "
           "heartbeat interval and link timeout\n", n);
  g = lt_group_new (s->url, n);
  g->urls = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *user = g_strdup_printf ("cu%02u", i);

      proxies[i] = tether_fault_proxy_new ("127.0.0.1", s->port);
      g_ptr_array_add (g->urls, tether_fault_proxy_get_ws_url (proxies[i]));
      lt_add (g, "cut", user, TRUE);
    }
  if (!lt_ramp (g, 15000))
    g_printerr ("[cut] not all logged in\n");
  /* steady state: a few heartbeats each */
  tether_test_run_for (3000);

  for (guint i = 0; i < n; i++)
    {
      tether_fault_proxy_cut (proxies[i]);
      t_cut[i] = g_get_monotonic_time ();
    }
  sw.g = g;
  sw.state = TETHER_ROOM_STATE_RECONNECTING;
  if (!tether_test_poll_until (all_in_state, &sw, 15000))
    g_printerr ("[cut] not every client noticed the cut within 15 s\n");
  for (guint i = 0; i < n; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);

      if (c->state == TETHER_ROOM_STATE_RECONNECTING)
        {
          double v = (c->t_reconnecting - t_cut[i]) / 1000.0;
          g_array_append_val (detect, v);
        }
    }

  /* A link that stays down a while: attempts run into the cut (the proxy accepts and
   * holds them) before it comes back. */
  tether_test_run_for (1000);
  lt_mark (g);
  for (guint i = 0; i < n; i++)
    {
      tether_fault_proxy_restore (proxies[i]);
      t_restore[i] = g_get_monotonic_time ();
    }
  sw.state = TETHER_ROOM_STATE_RECONNECTED;
  if (!tether_test_poll_until (all_in_state, &sw, 15000))
    g_printerr ("[cut] not every client reconnected within 15 s of the restore\n");
  for (guint i = 0; i < n; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);

      if (c->reconnected_since_mark)
        {
          double v = (c->t_reconnected - t_restore[i]) / 1000.0;
          g_array_append_val (restore, v);
        }
    }

  add_result ("cut_detect_ms", "4. silent cut -> RECONNECTING", "ms", detect, "p99 < 3000 ms",
              3000.0, FALSE);
  add_result ("restore_reconnected_ms", "5. restore -> RECONNECTED", "ms", restore,
              "p50 < 1000 ms", 1000.0, TRUE);

  lt_group_free (g);
  for (guint i = 0; i < n; i++)
    g_object_unref (proxies[i]);
  server_free (s);
}

/* ---- part 6: 2,000 clients and a server restart ---------------------------------------- */

static gboolean
all_reconnected (gpointer data)
{
  LtGroup *g = data;

  return g->n_reconnected_mark >= g->clients->len;
}

static void
storm_round (LtGroup    *g,
             Server    **s,
             gboolean    graceful,
             const char *key)
{
  guint n = g->clients->len;
  gint64 t_stop, t_exited, t_listening, t_last;
  guint failed0 = g->n_login_failed + g->n_reconnect_failed + g->n_kicked + g->n_rate_limited;
  g_autoptr(GArray) bins = NULL;
  guint peak = 0, peak_bin = 0, n_bins;
  g_autoptr(GArray) rel = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) all_time = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *label = NULL;
  g_autofree char *k = NULL;
  double attempts_sum = 0;
  guint attempts_max = 0, errors;
  gint64 overflows0, drops0, overflows, drops;

  lt_mark (g);
  overflows0 = tcpext_counter ("ListenOverflows");
  drops0 = tcpext_counter ("ListenDrops");
  t_stop = g_get_monotonic_time ();
  if (graceful)
    tether_test_process_terminate (server_process (*s));
  else
    tether_test_process_kill (server_process (*s));
  if (!tether_test_process_wait (server_process (*s), 10000))
    g_printerr ("[storm] the server did not exit\n");
  t_exited = g_get_monotonic_time ();
  server_restart (*s);
  t_listening = g_get_monotonic_time ();

  if (!tether_test_poll_until (all_reconnected, g, 30000))
    {
      guint by_state[9] = { 0 };

      for (guint i = 0; i < n; i++)
        by_state[MIN (((LtClient *) g_ptr_array_index (g->clients, i))->state, 8)]++;
      g_printerr ("[storm] only %u of %u reconnected within 30 s; states now:", g->n_reconnected_mark, n);
      for (guint i = 0; i < 9; i++)
        g_printerr (" %s=%u", tether_room_state_to_string (i), by_state[i]);
      g_printerr ("\n");
    }
  t_last = g->reconnected_at->len > 0 ? g_array_index (g->reconnected_at, gint64, g->reconnected_at->len - 1) : t_listening;

  n_bins = (guint) ((t_last - t_listening) / 100000) + 1;
  bins = g_array_sized_new (FALSE, TRUE, sizeof (guint), n_bins);
  g_array_set_size (bins, n_bins);
  for (guint i = 0; i < g->reconnected_at->len; i++)
    {
      gint64 t = g_array_index (g->reconnected_at, gint64, i);
      guint b = t > t_listening ? (guint) ((t - t_listening) / 100000) : 0;
      double v = (t - t_listening) / 1000.0;
      double v2 = (t - t_stop) / 1000.0;

      if (b < n_bins)
        g_array_index (bins, guint, b)++;
      g_array_append_val (rel, v);
      g_array_append_val (all_time, v2);
    }
  for (guint b = 0; b < n_bins; b++)
    if (g_array_index (bins, guint, b) > peak)
      {
        peak = g_array_index (bins, guint, b);
        peak_bin = b;
      }
  for (guint i = 0; i < n; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);
      TetherReconnectReport *r = c->room ? tether_room_get_last_report (c->room) : NULL;
      guint a = r ? (guint) tether_reconnect_report_get_attempts (r) : 0;

      attempts_sum += a;
      attempts_max = MAX (attempts_max, a);
    }
  errors = g->n_login_failed + g->n_reconnect_failed + g->n_kicked + g->n_rate_limited - failed0;
  overflows = tcpext_counter ("ListenOverflows") - overflows0;
  drops = tcpext_counter ("ListenDrops") - drops0;

  g_print ("  %s: server gone after %.0f ms, listening again %.0f ms after the signal; "
           "%u/%u RECONNECTED, last %.0f ms after the restart (%.0f ms after the signal)\n",
           graceful ? "SIGTERM" : "kill -9", (t_exited - t_stop) / 1000.0,
           (t_listening - t_stop) / 1000.0, g->n_reconnected_mark, n,
           (t_last - t_listening) / 1000.0, (t_last - t_stop) / 1000.0);
  g_print ("     peak %u RECONNECTED per 100 ms (bin %u), attempts per client mean %.2f max %u, "
           "errors %u\n", peak, peak_bin, attempts_sum / n, attempts_max, errors);
  g_print ("     kernel (system-wide) TcpExt ListenOverflows +%" G_GINT64_FORMAT ", ListenDrops +%"
           G_GINT64_FORMAT " during this round (listen backlog full: SYN or ACK dropped, "
           "client retransmits after 1 s, 2 s, ...)\n", overflows, drops);
  g_print ("     RECONNECTED per 100 ms since the restart:");
  for (guint b = 0; b < n_bins && b < 60; b++)
    g_print (" %u", g_array_index (bins, guint, b));
  g_print ("%s\n", n_bins > 60 ? " ..." : "");

  k = g_strdup_printf ("%s_all_reconnected_after_signal_ms", key);
  extra_double (k, (t_last - t_stop) / 1000.0);
  g_free (k);
  k = g_strdup_printf ("%s_all_reconnected_after_restart_ms", key);
  extra_double (k, (t_last - t_listening) / 1000.0);
  g_free (k);
  k = g_strdup_printf ("%s_restart_gap_ms", key);
  extra_double (k, (t_listening - t_stop) / 1000.0);
  g_free (k);
  k = g_strdup_printf ("%s_peak_per_100ms", key);
  extra_int (k, peak);
  g_free (k);
  k = g_strdup_printf ("%s_errors", key);
  extra_int (k, errors);
  g_free (k);
  k = g_strdup_printf ("%s_reconnected", key);
  extra_int (k, g->n_reconnected_mark);
  g_free (k);
  k = g_strdup_printf ("%s_listen_overflows", key);
  extra_int (k, overflows);
  g_free (k);
  k = g_strdup_printf ("%s_attempts_mean", key);
  extra_double (k, attempts_sum / n);
  g_free (k);

  k = g_strdup_printf ("%s_reconnected_after_restart_ms", key);
  label = g_strdup_printf ("6%s. restart (%s) -> RECONNECTED, per client", graceful ? "b" : "a",
                           graceful ? "SIGTERM" : "kill -9");
  add_result (k, label, "ms", rel, NULL, 0, FALSE);
}

static void
bench_storm (void)
{
  Server *s = server_start ();
  const guint n = 2000;
  LtGroup *g;
  gint64 t0;

  g_print ("\n[storm] %u libtether clients (rooms of %d, notify_users), server restarted "
           "on the same port\n", n, ROOM_SIZE);
  g = lt_group_new (s->url, 100);
  /* One TetherEngine (one SoupSession) per 20 clients: 2,000 connects queued on one
   * SoupSession at once make libsoup's queue processing quadratic (see docs). */
  g->clients_per_engine = storm_per_engine;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *room = g_strdup_printf ("storm-%03u", i / ROOM_SIZE);
      g_autofree char *user = g_strdup_printf ("su%04u", i);

      lt_add (g, room, user, TRUE);
    }
  t0 = g_get_monotonic_time ();
  if (!lt_ramp (g, 60000))
    g_printerr ("[storm] ramp incomplete: %u logged in, %u failed\n", g->n_logined,
                g->n_login_failed);
  g_print ("  %u logged in in %.2f s\n", g->n_logined, (g_get_monotonic_time () - t0) / 1e6);
  tether_test_run_for (2000);

  storm_round (g, &s, FALSE, "storm_kill");
  tether_test_run_for (2000);
  storm_round (g, &s, TRUE, "storm_term");
  tether_test_run_for (500);

  lt_group_free (g);
  server_free (s);
}

/* ---- main ------------------------------------------------------------------------------ */

static void
print_table (void)
{
  g_print ("\n%-48s %6s %10s %10s %10s  %-14s %s\n", "figure", "n", "p50", "p99", "max",
           "target", "result");
  for (guint i = 0; i < results->len; i++)
    {
      Result *r = g_ptr_array_index (results, i);

      g_print ("%-48s %6u %10.3f %10.3f %10.3f  %-14s %s\n", r->label, r->n, r->p50, r->p99,
               r->max, r->target ? r->target : "-",
               r->pass < 0 ? "" : r->pass ? "PASS" : "FAIL");
    }
  g_print ("(units: ms, except memory in KiB per session)\n");
}

static void
print_json (const char *parts)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) extra = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);

  json_builder_end_object (extra_json);
  extra = json_builder_get_root (extra_json);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bench");
  json_builder_add_string_value (b, "room");
  json_builder_set_member_name (b, "date");
  json_builder_add_string_value (b, date);
  json_builder_set_member_name (b, "parts");
  json_builder_add_string_value (b, parts);
  bench_json_add_machine (b);
  json_builder_set_member_name (b, "results");
  json_builder_begin_object (b);
  for (guint i = 0; i < results->len; i++)
    {
      Result *r = g_ptr_array_index (results, i);

      json_builder_set_member_name (b, r->key);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, r->n);
      json_builder_set_member_name (b, "p50");
      json_builder_add_double_value (b, round (r->p50 * 1000) / 1000);
      json_builder_set_member_name (b, "p99");
      json_builder_add_double_value (b, round (r->p99 * 1000) / 1000);
      json_builder_set_member_name (b, "max");
      json_builder_add_double_value (b, round (r->max * 1000) / 1000);
      json_builder_set_member_name (b, "unit");
      json_builder_add_string_value (b, r->unit);
      if (r->target != NULL)
        {
          json_builder_set_member_name (b, "target");
          json_builder_add_string_value (b, r->target);
          json_builder_set_member_name (b, "pass");
          json_builder_add_boolean_value (b, r->pass == 1);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "extra");
  json_builder_add_value (b, g_steal_pointer (&extra));
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("BENCH_JSON %s\n", text);
}

static void
result_free (gpointer data)
{
  Result *r = data;

  g_free (r->key);
  g_free (r->label);
  g_free (r->unit);
  g_free (r->target);
  g_free (r);
}

int
main (int   argc,
      char *argv[])
{
  static const char * const all[] = { "idle", "memory", "held", "login", "fanout", "cut", "storm", NULL };
  g_autofree char *server_opt = NULL;
  int threads_opt = 0;
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &server_opt, "The tether-server program", "PATH" },
    { "login-idle", 0, 0, G_OPTION_ARG_INT, &login_idle, "Idle sessions during the login part (1000)", "N" },
    { "idle-raw", 0, 0, G_OPTION_ARG_NONE, &idle_raw, "Idle sessions of the login part as raw WebSockets without heartbeats", NULL },
    { "storm-per-engine", 0, 0, G_OPTION_ARG_INT, &storm_per_engine, "Clients per TetherEngine in the storm part (20)", "N" },
    { "idle-max", 0, 0, G_OPTION_ARG_INT, &idle_max, "Second round of the idle part: this many sessions (10000; 1000 or less: none)", "N" },
    { "fanout-threads", 0, 0, G_OPTION_ARG_INT, &threads_opt, "Member threads for the fan-out part (2)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("[idle|memory|held|login|fanout|cut|restore|restart|storm|all]... — room service benchmarks");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autofree char *parts_text = NULL;
  gint64 t_start = g_get_monotonic_time ();

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("bench-room: %s\n", error->message);
      return 2;
    }
  if (threads_opt > 0)
    fanout_threads = (guint) threads_opt;
  server_program = bench_server_program ("bench-room", server_opt, TETHER_SERVER_PATH);
  if (server_program == NULL)
    return 2;

  for (int i = 1; i < argc; i++)
    {
      const char *p = argv[i];

      if (g_str_equal (p, "all"))
        {
          for (guint j = 0; all[j] != NULL; j++)
            g_ptr_array_add (parts, (gpointer) all[j]);
          continue;
        }
      if (g_str_equal (p, "restore"))
        p = "cut";
      if (g_str_equal (p, "restart"))
        p = "storm";
      if (!g_strv_contains (all, p))
        {
          g_printerr ("bench-room: unknown part “%s” (idle memory held login fanout cut storm)\n", argv[i]);
          return 2;
        }
      g_ptr_array_add (parts, (gpointer) g_intern_string (p));
    }
  if (parts->len == 0)
    for (guint j = 0; all[j] != NULL; j++)
      g_ptr_array_add (parts, (gpointer) all[j]);
  g_ptr_array_add (parts, NULL);
  parts_text = g_strjoinv (" ", (char **) parts->pdata);

  /* Quiet: the server's and libtether's info logs are not part of the figures. */
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_log_writer_default_set_use_stderr (TRUE);
  g_print ("bench-room pid %d\n", (int) getpid ());
  bench_watchdog_start ("bench-room", WATCHDOG_SECONDS);

  results = g_ptr_array_new_with_free_func (result_free);
  extra_json = json_builder_new ();
  json_builder_begin_object (extra_json);

  {
    g_autofree char *model = bench_cpu_model ();
    g_print ("bench-room: parts: %s; server %s; %ld CPUs (%s)\n", parts_text, server_program,
             sysconf (_SC_NPROCESSORS_ONLN), model);
  }
  if (bench_raise_nofile () < 4200)
    g_printerr ("warning: RLIMIT_NOFILE below 4200; the storm part needs ~2,000 sockets a side\n");
  extra_loadavg ("loadavg_start");

  for (guint i = 0; i + 1 < parts->len; i++)
    {
      const char *p = g_ptr_array_index (parts, i);

      if (g_str_equal (p, "idle"))
        bench_idle ();
      else if (g_str_equal (p, "memory"))
        bench_memory ();
      else if (g_str_equal (p, "held"))
        bench_held ();
      else if (g_str_equal (p, "login"))
        bench_login ();
      else if (g_str_equal (p, "fanout"))
        bench_fanout ();
      else if (g_str_equal (p, "cut"))
        bench_cut ();
      else if (g_str_equal (p, "storm"))
        bench_storm ();
    }

  extra_loadavg ("loadavg_end");
  extra_double ("wall_seconds", (g_get_monotonic_time () - t_start) / 1e6);
  print_table ();
  print_json (parts_text);
  bench_watchdog_stop ();

  g_object_unref (extra_json);
  g_ptr_array_unref (results);
  g_free (server_program);
  return 0;
}
