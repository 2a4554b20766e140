/* compare-janus.c: Tether's room service side by side with Janus 1.1.2 (Debian's `janus`,
 * videoroom plugin, WebSocket transport), both on loopback, both driven by the same
 * client code (compare-janus-clients.c): server CPU for idle sessions, login latency,
 * the fan-out of a join and of a leave, memory — issue 13, target 3
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: compare-janus [OPTION…] [PART…]
 *   PART: idle login room (default: all three)
 *   -n N (1000), --rounds R (3), --probes K (100), --window S (10), --settle S (3),
 *   --after-leave S (15), --slow-interval S (25), --burst B (1), --server PATH,
 *   --janus PATH, --no-install
 *
 * Janus runs with a configuration this program writes into a temporary directory: only
 * the videoroom plugin and the WebSocket transport are loaded (the plugin, transport,
 * event-handler and logger folders are private directories holding just those two),
 * no HTTP transport, no admin API, no event handlers, no STUN/TURN server, ICE bound to
 * 127.0.0.1. If `janus` is not installed, it is installed with apt-get (Debian's
 * package; --no-install refuses instead).
 *
 * Rounds are interleaved: round r runs every part for both servers, Janus first in even
 * rounds, Tether first in odd ones. A figure is the median of its rounds; a ratio is the
 * median of the per-round ratios Tether/Janus. The program prints figures and asserts
 * nothing (DESIGN.md §6).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bench-util.h"
#include "compare-janus.h"
#include "tether-test-process.h"
#include "tether-test-server.h"
#include "tether-test-stats.h"
#include "tether-test-utils.h"

#define MAX_ROUNDS     15
#define PART_WATCHDOG  900
#define JANUS_ROOM_IDLE     "1"
#define JANUS_ROOM_LOGIN    "2"
#define JANUS_ROOM_PRESENCE "3"

/* ---- options ---------------------------------------------------------------------- */

static int opt_n = 1000;
static int opt_rounds = 3;
static int opt_probes = 100;
static double opt_window = 10;
static double opt_settle = 3;
static double opt_after_leave = 15;
static double opt_slow_interval = 25;
static int opt_burst = 1;
static char *opt_server;
static char *opt_janus;
static gboolean opt_no_install;

static const GOptionEntry entries[] = {
  { "n", 'n', 0, G_OPTION_ARG_INT, &opt_n, "Sessions held (1000)", "N" },
  { "rounds", 'r', 0, G_OPTION_ARG_INT, &opt_rounds, "Interleaved rounds (3)", "R" },
  { "probes", 'k', 0, G_OPTION_ARG_INT, &opt_probes, "Logins / joins measured per round and server (100)", "K" },
  { "window", 'w', 0, G_OPTION_ARG_DOUBLE, &opt_window, "Seconds of server CPU measured per idle figure (10)", "S" },
  { "settle", 0, 0, G_OPTION_ARG_DOUBLE, &opt_settle, "Seconds between the last login and the CPU window (3)", "S" },
  { "after-leave", 0, 0, G_OPTION_ARG_DOUBLE, &opt_after_leave, "Seconds after all left before RSS is read (15)", "S" },
  { "slow-interval", 0, 0, G_OPTION_ARG_DOUBLE, &opt_slow_interval, "The long keepalive interval, seconds (25: janus.js's)", "S" },
  { "burst", 0, 0, G_OPTION_ARG_INT, &opt_burst, "Sessions whose keepalives go out at the same moment (1: each its own phase)", "B" },
  { "server", 0, 0, G_OPTION_ARG_FILENAME, &opt_server, "The tether-server program (default: this build's)", "PATH" },
  { "janus", 0, 0, G_OPTION_ARG_FILENAME, &opt_janus, "The janus program (default: janus in PATH)", "PATH" },
  { "no-install", 0, 0, G_OPTION_ARG_NONE, &opt_no_install, "Do not apt-get install janus when it is missing", NULL },
  { NULL }
};

/* ---- figures ---------------------------------------------------------------------- */

typedef enum
{
  F_CPU_FAST,            /* % of a core, keepalive every second */
  F_CPU_SLOW,            /* % of a core, keepalive every --slow-interval */
  F_MEM_PER_SESSION,     /* KiB, at the server's default interval */
  F_RSS_AFTER,           /* MiB, --after-leave s after all left */
  F_LOGIN_OTHER_P50,
  F_LOGIN_OTHER_P99,
  F_LOGIN_SAME_P50,
  F_LOGIN_SAME_P99,
  F_JOIN_CLIENT_P50,
  F_JOIN_CLIENT_P99,
  F_JOIN_WIRE_P50,
  F_JOIN_WIRE_P99,
  F_LEAVE_CLIENT_P50,
  F_LEAVE_CLIENT_P99,
  F_LEAVE_WIRE_P50,
  F_LEAVE_WIRE_P99,
  F_BENCH_CPU_FAST,      /* % of a core, this program during the CPU window */
  F_BENCH_CPU_SLOW,
  F_CPU_NONE,            /* % of a core, no keepalives at all (over --window / 2) */
  F_CPU_DEFAULT,         /* % of a core, keepalive at the server's default interval */
  F_COUNT
} Figure;

static const char *figure_keys[F_COUNT] = {
  "cpu_idle_1s", "cpu_idle_slow", "memory_per_session_kib", "rss_after_leave_mib",
  "login_other_p50_ms", "login_other_p99_ms", "login_same_p50_ms", "login_same_p99_ms",
  "join_client_p50_ms", "join_client_p99_ms", "join_wire_p50_ms", "join_wire_p99_ms",
  "leave_client_p50_ms", "leave_client_p99_ms", "leave_wire_p50_ms", "leave_wire_p99_ms",
  "bench_cpu_idle_1s", "bench_cpu_idle_slow", "cpu_idle_no_keepalive",
  "cpu_idle_default",
};

static double fig[F_COUNT][2][MAX_ROUNDS];    /* [figure][PeerKind][round], NAN: not run */
static char *tether_program;
static char *janus_program;

static const char *
peer_name (PeerKind kind)
{
  return kind == PEER_JANUS ? "Janus" : "Tether";
}

static double tether_default_interval = 1.0;    /* from a default server's login_ok */

/* The server's own default keepalive interval: janus.js sends a keepalive every 25 s;
 * Tether's is the heartbeat_interval of a default server's login_ok (1 s today). */
static double
default_interval (PeerKind kind)
{
  return kind == PEER_JANUS ? opt_slow_interval : tether_default_interval;
}

/* ---- the servers ------------------------------------------------------------------ */

typedef struct
{
  PeerKind kind;
  TetherTestServerProcess *tether;
  TetherTestProcess *janus;
  char *janus_dir;
  guint16 port;
  int pid;
} Server;

static guint16
free_port (void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  guint16 port = 0;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd >= 0 && bind (fd, (struct sockaddr *) &sa, sizeof sa) == 0
      && getsockname (fd, (struct sockaddr *) &sa, &len) == 0)
    port = ntohs (sa.sin_port);
  if (fd >= 0)
    close (fd);
  return port;
}

static gboolean
port_accepts (guint16 port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ok = fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0;
  if (fd >= 0)
    close (fd);
  return ok;
}

static void
write_file (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (path, text, -1, &error))
    g_error ("%s", error->message);
}

/* A private folder holding a link to one module of Janus's @folder (plugins,
 * transports), so that Janus loads that one and nothing else. */
static char *
module_folder (const char *dir,
               const char *name,
               const char *folder,
               const char *module)
{
  g_autofree char *lib = g_build_filename (folder, module, NULL);
  char *path = g_build_filename (dir, name, NULL);

  g_mkdir (path, 0700);
  if (module != NULL)
    {
      g_autofree char *link = g_build_filename (path, module, NULL);

      if (symlink (lib, link) != 0)
        g_error ("symlink %s: %s", link, g_strerror (errno));
    }
  return path;
}

/* Debian installs the modules in /usr/lib/<triplet>/janus/{plugins,transports}. */
static char *
janus_lib_folder (void)
{
  g_autofree char *out = NULL;
  const char *candidates[] = { "/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus",
                               "/usr/lib/janus", NULL };

  if (g_spawn_command_line_sync ("dpkg-architecture -qDEB_HOST_MULTIARCH", &out, NULL, NULL, NULL)
      && out != NULL && *g_strstrip (out) != '\0')
    {
      char *path = g_build_filename ("/usr/lib", out, "janus", NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        return path;
      g_free (path);
    }
  for (guint i = 0; candidates[i] != NULL; i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_DIR))
      return g_strdup (candidates[i]);
  g_error ("cannot find Janus's plugin folder (/usr/lib/…/janus)");
}

static void
janus_config (const char *dir,
              guint16     port)
{
  g_autofree char *lib = janus_lib_folder ();
  g_autofree char *plugins_lib = g_build_filename (lib, "plugins", NULL);
  g_autofree char *transports_lib = g_build_filename (lib, "transports", NULL);
  g_autofree char *plugins = module_folder (dir, "plugins", plugins_lib, "libjanus_videoroom.so");
  g_autofree char *transports = module_folder (dir, "transports", transports_lib, "libjanus_websockets.so");
  g_autofree char *events = module_folder (dir, "events", NULL, NULL);
  g_autofree char *loggers = module_folder (dir, "loggers", NULL, NULL);
  g_autofree char *core = NULL;
  g_autofree char *ws = NULL;
  g_autoptr(GString) rooms = g_string_new ("general: {\n}\n");

  /* session_timeout: Janus's default (60 s), which its 25 s keepalives are for. No
   * STUN/TURN server; ICE gathers on 127.0.0.1 only; no mDNS. */
  core = g_strdup_printf ("general: {\n"
                          "\tconfigs_folder = \"%s\"\n\tplugins_folder = \"%s\"\n"
                          "\ttransports_folder = \"%s\"\n\tevents_folder = \"%s\"\n"
                          "\tloggers_folder = \"%s\"\n"
                          "\tdebug_level = 3\n\tsession_timeout = 60\n"
                          "\tserver_name = \"compare-janus\"\n}\n"
                          "certificates: {\n}\nmedia: {\n}\n"
                          "nat: {\n\tnice_debug = false\n\tice_enforce_list = \"127.0.0.1\"\n"
                          "\tignore_mdns = true\n}\n"
                          "plugins: {\n}\ntransports: {\n}\nloggers: {\n}\n"
                          "events: {\n\tbroadcast = false\n}\n",
                          dir, plugins, transports, events, loggers);
  write_file (dir, "janus.jcfg", core);
  ws = g_strdup_printf ("general: {\n\tjson = \"compact\"\n\tws = true\n\tws_port = %u\n"
                        "\tws_ip = \"127.0.0.1\"\n\twss = false\n}\n"
                        "admin: {\n\tadmin_ws = false\n\tadmin_wss = false\n}\n", port);
  write_file (dir, "janus.transport.websockets.jcfg", ws);
  /* publishers caps senders of media; nobody here sends any */
  g_string_append_printf (rooms, "room-" JANUS_ROOM_IDLE ": {\n\tdescription = \"idle\"\n"
                          "\tpublishers = %d\n}\n", opt_n + opt_probes + 16);
  g_string_append_printf (rooms, "room-" JANUS_ROOM_LOGIN ": {\n\tdescription = \"login\"\n"
                          "\tpublishers = %d\n\tnotify_joining = true\n}\n", opt_n + opt_probes + 16);
  g_string_append_printf (rooms, "room-" JANUS_ROOM_PRESENCE ": {\n\tdescription = \"presence\"\n"
                          "\tpublishers = %d\n\tnotify_joining = true\n}\n", opt_n + opt_probes + 16);
  write_file (dir, "janus.plugin.videoroom.jcfg", rooms->str);
}

static Server *
server_start (PeerKind kind,
              double   heartbeat_interval)
{
  Server *s = g_new0 (Server, 1);

  s->kind = kind;
  if (kind == PEER_TETHER)
    {
      g_autofree char *hb = g_strdup_printf ("%g", heartbeat_interval);
      /* at its default interval (or 0) the server gets no --heartbeat-interval: the NULL
       * ends the argument list there */
      const char *hb_option = heartbeat_interval > 0 && heartbeat_interval != tether_default_interval
                              ? "--heartbeat-interval" : NULL;

      s->tether = tether_test_server_process_new (
        "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET, "--login-rate", "0",
        "--max-connections-per-address", "0", hb_option, hb, NULL);
      s->port = tether_test_server_process_get_port (s->tether);
      s->pid = bench_process_pid (tether_test_server_process_get_process (s->tether));
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *cfg = NULL;
      gint64 deadline;

      s->janus_dir = g_dir_make_tmp ("compare-janus-XXXXXX", &error);
      if (s->janus_dir == NULL)
        g_error ("%s", error->message);
      s->port = free_port ();
      janus_config (s->janus_dir, s->port);
      cfg = g_build_filename (s->janus_dir, "janus.jcfg", NULL);
      {
        const char *argv[] = { janus_program, "-C", cfg, "-F", s->janus_dir, "-o", NULL };

        s->janus = tether_test_process_spawnv (argv, &error);
      }
      if (s->janus == NULL)
        g_error ("cannot run %s: %s", janus_program, error->message);
      s->pid = bench_process_pid (s->janus);
      deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
      while (!port_accepts (s->port))
        {
          if (tether_test_process_has_exited (s->janus) || g_get_monotonic_time () > deadline)
            g_error ("janus did not start listening on 127.0.0.1:%u (its output is above)", s->port);
          g_usleep (50000);
        }
    }
  bench_watchdog_add_pid (s->pid);
  g_print ("  %s pid %d on 127.0.0.1:%u\n", peer_name (kind), s->pid, s->port);
  return s;
}

static void
server_stop (Server *s)
{
  bench_watchdog_remove_pid (s->pid);
  if (s->tether != NULL)
    {
      tether_test_server_process_kill (s->tether);
      tether_test_server_process_free (s->tether);
    }
  if (s->janus != NULL)
    {
      tether_test_process_kill (s->janus);
      tether_test_process_wait (s->janus, 10000);
      tether_test_process_free (s->janus);
    }
  if (s->janus_dir != NULL)
    tether_test_remove_tree (s->janus_dir);
  g_free (s->janus_dir);
  g_free (s);
}

static const char *
room_for (PeerKind    kind,
          const char *tether_room,
          const char *janus_room)
{
  return kind == PEER_JANUS ? janus_room : tether_room;
}

/* ---- the parts ---------------------------------------------------------------------- */

/* Tether's default heartbeat interval, as a default server's login_ok states it. */
static void
learn_tether_default (void)
{
  Server *s = server_start (PEER_TETHER, 0);
  Driver *d = driver_new (PEER_TETHER, s->port);
  Client *c = driver_client_start (d, "probe", "probe", FALSE);

  if (driver_wait_state (d, c, CLIENT_READY, 10000) && c->heartbeat_interval > 0)
    tether_default_interval = c->heartbeat_interval;
  else
    g_printerr ("compare-janus: no heartbeat_interval in login_ok; taking 1 s\n");
  g_print ("  Tether's default heartbeat_interval (login_ok): %g s\n", tether_default_interval);
  driver_free (d);
  server_stop (s);
}

/* Server CPU in % of a core over @seconds of running @d. */
static double
server_cpu (Server *s,
            Driver *d,
            double  seconds)
{
  gint64 t0 = g_get_monotonic_time ();
  double cpu0 = bench_proc_cpu_seconds (s->pid);

  driver_run_for (d, (guint) (seconds * 1000));
  return 100.0 * (bench_proc_cpu_seconds (s->pid) - cpu0) / ((g_get_monotonic_time () - t0) / 1e6);
}

/* N sessions in @room, keeping alive every @interval s, after --settle s. With
 * @baseline, first the server's CPU with no keepalive at all over --window / 2. */
static Driver *
hold_sessions (Server     *s,
               const char *room,
               gboolean    presence,
               double      interval,
               double     *baseline)
{
  Driver *d = driver_new (s->kind, s->port);
  gint64 t0 = g_get_monotonic_time ();
  guint ready;

  d->burst = (guint) opt_burst;
  ready = driver_ramp (d, (guint) opt_n, room, "m", presence, 600000);

  g_print ("  %u of %d sessions joined in %.1f s%s\n", ready, opt_n,
           (g_get_monotonic_time () - t0) / 1e6, d->n_failed ? " (some failed, see above)" : "");
  if (baseline != NULL)
    {
      driver_run_for (d, (guint) (opt_settle * 1000));
      *baseline = server_cpu (s, d, opt_window / 2);
      g_print ("  server CPU %.2f %% of a core with no keepalive at all\n", *baseline);
    }
  driver_keepalive_start (d, interval);
  driver_run_for (d, (guint) (opt_settle * 1000));
  return d;
}

/* Server CPU over --window s with N idle sessions keeping alive every @interval s; at
 * the server's default interval also RSS per session and RSS after all left. */
static void
part_idle (PeerKind kind,
           guint    round,
           double   interval)
{
  Server *s = server_start (kind, interval);
  gboolean is_default = interval == default_interval (kind);
  gint64 rss0, rss_n, rss_after;
  double cpu;
  double cpu0, cpu1, self0, self1;
  gint64 t0, t1;
  guint ka0, acks0;
  Driver *d;

  g_print ("[round %u] idle: %s, %d sessions, keepalive every %g s\n", round + 1,
           peer_name (kind), opt_n, interval);
  g_usleep (500000);
  rss0 = bench_proc_rss_kib (s->pid);
  d = hold_sessions (s, room_for (kind, "idle", JANUS_ROOM_IDLE), FALSE, interval,
                     interval == opt_slow_interval ? &fig[F_CPU_NONE][kind][round] : NULL);
  ka0 = d->n_keepalives;
  acks0 = d->n_acks;
  t0 = g_get_monotonic_time ();
  cpu0 = bench_proc_cpu_seconds (s->pid);
  self0 = bench_thread_cpu_seconds ();
  driver_run_for (d, (guint) (opt_window * 1000));
  t1 = g_get_monotonic_time ();
  cpu1 = bench_proc_cpu_seconds (s->pid);
  self1 = bench_thread_cpu_seconds ();
  rss_n = bench_proc_rss_kib (s->pid);

  cpu = 100.0 * (cpu1 - cpu0) / ((t1 - t0) / 1e6);
  if (interval == 1.0)
    {
      fig[F_CPU_FAST][kind][round] = cpu;
      fig[F_BENCH_CPU_FAST][kind][round] = 100.0 * (self1 - self0) / ((t1 - t0) / 1e6);
    }
  if (interval == opt_slow_interval)
    {
      fig[F_CPU_SLOW][kind][round] = cpu;
      fig[F_BENCH_CPU_SLOW][kind][round] = 100.0 * (self1 - self0) / ((t1 - t0) / 1e6);
    }
  if (is_default)
    fig[F_CPU_DEFAULT][kind][round] = cpu;
  g_print ("  server CPU %.2f %% of a core (%.1f keepalives/s, %u of %u answered; this program %.2f %%); RSS %"
           G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB\n",
           cpu, (d->n_keepalives - ka0) / ((t1 - t0) / 1e6), d->n_acks - acks0,
           d->n_keepalives - ka0,
           100.0 * (self1 - self0) / ((t1 - t0) / 1e6), rss0, rss_n);
  if (is_default)
    {
      guint cut;

      fig[F_MEM_PER_SESSION][kind][round] = (double) (rss_n - rss0) / opt_n;
      cut = driver_leave_all (d, 60000);
      driver_run_for (d, (guint) (opt_after_leave * 1000));
      rss_after = bench_proc_rss_kib (s->pid);
      fig[F_RSS_AFTER][kind][round] = rss_after / 1024.0;
      g_print ("  memory per session %.2f KiB; RSS %.1f MiB %g s after all left%s\n",
               fig[F_MEM_PER_SESSION][kind][round], rss_after / 1024.0, opt_after_leave,
               cut ? " (some sockets had to be cut)" : "");
    }
  driver_free (d);
  server_stop (s);
}

static void
store_percentiles (GArray *values,
                   Figure  p50,
                   PeerKind kind,
                   guint   round)
{
  fig[p50][kind][round] = tether_test_percentile (values, 50);
  fig[p50 + 1][kind][round] = tether_test_percentile (values, 99);
}

/* Logins into an empty room (presence on) with N sessions held in another room. */
static void
part_login (PeerKind kind,
            guint    round)
{
  Server *s = server_start (kind, default_interval (kind));
  g_autoptr(GArray) login = g_array_new (FALSE, FALSE, sizeof (double));
  Driver *d;

  g_print ("[round %u] login: %s, %d sessions held in another room\n", round + 1, peer_name (kind), opt_n);
  d = hold_sessions (s, room_for (kind, "idle", JANUS_ROOM_IDLE), FALSE, default_interval (kind), NULL);
  for (int k = 0; k < opt_probes; k++)
    {
      g_autofree char *user = g_strdup_printf ("l%u-%d", round, k);
      Client *c = driver_client_start (d, room_for (kind, "login", JANUS_ROOM_LOGIN), user, TRUE);

      if (!driver_wait_state (d, c, CLIENT_READY, 10000))
        {
          g_printerr ("  login %d did not complete\n", k);
          client_close (c);
          continue;
        }
      g_array_append_vals (login, &(double) { (c->t_ready - c->t_connect) / 1000.0 }, 1);
      client_leave (c);
      driver_wait_state (d, c, CLIENT_CLOSED, 10000);
      client_close (c);
    }
  store_percentiles (login, F_LOGIN_OTHER_P50, kind, round);
  g_print ("  login p50 %.2f p99 %.2f ms (%u logins)\n", fig[F_LOGIN_OTHER_P50][kind][round],
           fig[F_LOGIN_OTHER_P99][kind][round], login->len);
  driver_free (d);
  server_stop (s);
}

/* N sessions with presence in one room; each probe joins it (its login, the fan-out of
 * its join to the last member) and leaves (the fan-out of its leave). */
static void
part_room (PeerKind kind,
           guint    round)
{
  Server *s = server_start (kind, default_interval (kind));
  g_autoptr(GArray) login = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) join_client = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) join_wire = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) leave_client = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) leave_wire = g_array_new (FALSE, FALSE, sizeof (double));
  const char *room = room_for (kind, "presence", JANUS_ROOM_PRESENCE);
  Driver *d;

  g_print ("[round %u] room: %s, %d sessions with presence in the same room\n", round + 1,
           peer_name (kind), opt_n);
  d = hold_sessions (s, room, TRUE, default_interval (kind), NULL);
  for (int k = 0; k < opt_probes; k++)
    {
      g_autofree char *user = g_strdup_printf ("p%u-%d", round, k);
      g_autofree char *quoted = g_strdup_printf ("\"%s\"", user);
      g_autofree char *pub = NULL;
      double client_ms, wire_ms;
      Client *c;

      driver_probe_arm (d, kind == PEER_JANUS ? "\"joining\"" : "\"ADD\"", quoted);
      c = driver_client_start (d, room, user, TRUE);
      if (!driver_wait_state (d, c, CLIENT_READY, 10000) || !driver_probe_wait (d, (guint) opt_n, 10000))
        {
          g_printerr ("  join %d: login %s, %u of %d members had the join\n", k,
                      c->state == CLIENT_READY ? "done" : "failed", d->probe_hits, opt_n);
          client_close (c);
          continue;
        }
      g_array_append_vals (login, &(double) { (c->t_ready - c->t_connect) / 1000.0 }, 1);
      driver_probe_result (d, c->t_join_sent, c->rt_join_sent, &client_ms, &wire_ms);
      g_array_append_val (join_client, client_ms);
      g_array_append_val (join_wire, wire_ms);

      pub = g_strdup_printf ("%" G_GUINT64_FORMAT, c->publisher_id);
      driver_probe_arm (d, kind == PEER_JANUS ? "\"leaving\"" : "\"DELETE\"",
                        kind == PEER_JANUS ? pub : quoted);
      client_leave (c);
      if (!driver_probe_wait (d, (guint) opt_n, 10000))
        {
          g_printerr ("  leave %d: %u of %d members had it\n", k, d->probe_hits, opt_n);
          client_close (c);
          continue;
        }
      driver_probe_result (d, c->t_leave_sent, c->rt_leave_sent, &client_ms, &wire_ms);
      g_array_append_val (leave_client, client_ms);
      g_array_append_val (leave_wire, wire_ms);
      driver_wait_state (d, c, CLIENT_CLOSED, 10000);
      client_close (c);
    }
  if (d->n_no_timestamp > 0)
    g_print ("  %u reads had no kernel receive time (SCM_TIMESTAMPNS): their wire time is the read's\n",
             d->n_no_timestamp);
  store_percentiles (login, F_LOGIN_SAME_P50, kind, round);
  store_percentiles (join_client, F_JOIN_CLIENT_P50, kind, round);
  store_percentiles (join_wire, F_JOIN_WIRE_P50, kind, round);
  store_percentiles (leave_client, F_LEAVE_CLIENT_P50, kind, round);
  store_percentiles (leave_wire, F_LEAVE_WIRE_P50, kind, round);
  g_print ("  login p50 %.2f p99 %.2f; join -> last member p50 %.2f p99 %.2f (wire %.2f / %.2f); "
           "leave p50 %.2f p99 %.2f (wire %.2f / %.2f) ms (%u joins)\n",
           fig[F_LOGIN_SAME_P50][kind][round], fig[F_LOGIN_SAME_P99][kind][round],
           fig[F_JOIN_CLIENT_P50][kind][round], fig[F_JOIN_CLIENT_P99][kind][round],
           fig[F_JOIN_WIRE_P50][kind][round], fig[F_JOIN_WIRE_P99][kind][round],
           fig[F_LEAVE_CLIENT_P50][kind][round], fig[F_LEAVE_CLIENT_P99][kind][round],
           fig[F_LEAVE_WIRE_P50][kind][round], fig[F_LEAVE_WIRE_P99][kind][round], login->len);
  driver_free (d);
  server_stop (s);
}

/* ---- the table ---------------------------------------------------------------------- */

static double
median_of (double *values,
           guint   n)
{
  g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; i < n; i++)
    if (!isnan (values[i]))
      g_array_append_val (a, values[i]);
  if (a->len == 0)
    return NAN;
  return tether_test_percentile (a, 50);
}

/* The median of the per-round ratios Tether @t / Janus @j. */
static double
ratio_of (Figure j,
          Figure t)
{
  double r[MAX_ROUNDS];

  for (int i = 0; i < opt_rounds; i++)
    {
      r[i] = fig[t][PEER_TETHER][i] / fig[j][PEER_JANUS][i];
      if (!isfinite (r[i]))
        r[i] = NAN;     /* a round where Janus measured 0 (or did not run) has no ratio */
    }
  return median_of (r, (guint) opt_rounds);
}

typedef struct
{
  const char *label;
  Figure j[2], t[2];     /* second: -1 for a single figure */
  const char *unit;
  const char *target;
} Row;

/* Decimals for a figure of this size: 3 significant digits or so. */
static int
decimals_for (double v)
{
  return fabs (v) >= 100 ? 0 : fabs (v) >= 10 ? 1 : 2;
}

static char *
format_one (double      v,
            int         decimals,
            const char *suffix)
{
  return isnan (v) ? g_strdup ("-") : g_strdup_printf ("%.*f%s", decimals, v, suffix);
}

static char *
format_pair (double      a,
             double      b,
             gboolean    two,
             const char *unit,
             int         decimals,
             const char *suffix)
{
  g_autofree char *x = format_one (a, decimals, suffix);
  g_autofree char *y = two ? format_one (b, decimals, suffix) : NULL;

  return two ? g_strdup_printf ("%s / %s%s", x, y, unit) : g_strdup_printf ("%s%s", x, unit);
}

static void
print_table (void)
{
  g_autofree char *slow = g_strdup_printf ("%g", opt_slow_interval);
  g_autofree char *l_cpu = g_strdup_printf ("server CPU, %d idle sessions at each server's default "
                                            "(Tether: %g s heartbeats, its login_ok's; Janus: %s s keepalives)",
                                            opt_n, tether_default_interval, slow);
  g_autofree char *l_both = g_strdup_printf ("the same, both at 1 s keepalives / both at %s s", slow);
  g_autofree char *l_login = g_strdup_printf ("login with %d held in another room, p50 / p99", opt_n);
  g_autofree char *l_same = g_strdup_printf ("login with %d in the same room (presence on), p50 / p99", opt_n);
  g_autofree char *l_join = g_strdup_printf ("fan-out of one join to the last of %d members, at the client p50 / p99", opt_n);
  g_autofree char *l_leave = g_strdup_printf ("a leave reaching the last of %d members, at the client p50 / p99", opt_n);
  g_autofree char *l_after = g_strdup_printf ("RSS %g s after all %d left", opt_after_leave, opt_n);
  const Row rows[] = {
    { l_cpu, { F_CPU_DEFAULT, -1 }, { F_CPU_DEFAULT, -1 }, " %", "<= 4 % of a core" },
    { l_both, { F_CPU_FAST, F_CPU_SLOW }, { F_CPU_FAST, F_CPU_SLOW }, " %", "" },
    { "the same, no keepalive at all (what idle sessions cost between keepalives)", { F_CPU_NONE, -1 }, { F_CPU_NONE, -1 }, " %", "" },
    { l_login, { F_LOGIN_OTHER_P50, F_LOGIN_OTHER_P99 }, { F_LOGIN_OTHER_P50, F_LOGIN_OTHER_P99 }, " ms", "p99 < 5 ms" },
    { l_same, { F_LOGIN_SAME_P50, F_LOGIN_SAME_P99 }, { F_LOGIN_SAME_P50, F_LOGIN_SAME_P99 }, " ms", "p99 < 5 ms" },
    { l_join, { F_JOIN_CLIENT_P50, F_JOIN_CLIENT_P99 }, { F_JOIN_CLIENT_P50, F_JOIN_CLIENT_P99 }, " ms", "p99 < 15 ms" },
    { "the same, last frame on the wire, p50 / p99", { F_JOIN_WIRE_P50, F_JOIN_WIRE_P99 }, { F_JOIN_WIRE_P50, F_JOIN_WIRE_P99 }, " ms", "p99 < 10 ms" },
    { l_leave, { F_LEAVE_CLIENT_P50, F_LEAVE_CLIENT_P99 }, { F_LEAVE_CLIENT_P50, F_LEAVE_CLIENT_P99 }, " ms", "p99 < 15 ms (as a join)" },
    { "the same, last frame on the wire, p50 / p99", { F_LEAVE_WIRE_P50, F_LEAVE_WIRE_P99 }, { F_LEAVE_WIRE_P50, F_LEAVE_WIRE_P99 }, " ms", "p99 < 10 ms (as a join)" },
    { "memory per idle session (RSS delta / N)", { F_MEM_PER_SESSION, -1 }, { F_MEM_PER_SESSION, -1 }, " KiB", "<= 8 KiB" },
    { l_after, { F_RSS_AFTER, -1 }, { F_RSS_AFTER, -1 }, " MiB", "" },
    { "this program's CPU during the idle window, 1 s / slow", { F_BENCH_CPU_FAST, F_BENCH_CPU_SLOW }, { F_BENCH_CPU_FAST, F_BENCH_CPU_SLOW }, " %", "(the client, for reference)" },
  };

  g_print ("\n| figure | Janus | Tether | Tether/Janus | target |\n|---|---|---|---|---|\n");
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *r = &rows[i];
      gboolean two = (int) r->j[1] >= 0;
      double j0 = median_of (fig[r->j[0]][PEER_JANUS], (guint) opt_rounds);
      double t0 = median_of (fig[r->t[0]][PEER_TETHER], (guint) opt_rounds);
      double j1 = two ? median_of (fig[r->j[1]][PEER_JANUS], (guint) opt_rounds) : NAN;
      double t1 = two ? median_of (fig[r->t[1]][PEER_TETHER], (guint) opt_rounds) : NAN;
      double r0 = ratio_of (r->j[0], r->t[0]);
      double r1 = two ? ratio_of (r->j[1], r->t[1]) : NAN;
      g_autofree char *js = format_pair (j0, j1, two, r->unit, decimals_for (two ? MAX (j0, j1) : j0), "");
      g_autofree char *ts = format_pair (t0, t1, two, r->unit, decimals_for (two ? MAX (t0, t1) : t0), "");
      g_autofree char *rs = format_pair (r0, r1, two, "", 2, "x");

      g_print ("| %s | %s | %s | %s | %s |\n", r->label, js, ts, rs, r->target);
    }
  g_print ("\nMedians of %d interleaved rounds; ratio = median of the per-round ratios. "
           "CPU in %% of one core, times in ms.\n", opt_rounds);
}

static void
print_json (const char *parts,
            const char *load_start,
            const char *load_end,
            double      wall)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *janus_version = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);

  if (!g_spawn_command_line_sync ("dpkg-query -W -f=${Version} janus", &janus_version, NULL, NULL, NULL))
    janus_version = g_strdup ("unknown");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bench");
  json_builder_add_string_value (b, "compare-janus");
  json_builder_set_member_name (b, "date");
  json_builder_add_string_value (b, date);
  json_builder_set_member_name (b, "parts");
  json_builder_add_string_value (b, parts);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, opt_n);
  json_builder_set_member_name (b, "rounds");
  json_builder_add_int_value (b, opt_rounds);
  json_builder_set_member_name (b, "probes");
  json_builder_add_int_value (b, opt_probes);
  json_builder_set_member_name (b, "window_s");
  json_builder_add_double_value (b, opt_window);
  json_builder_set_member_name (b, "tether_default_interval");
  json_builder_add_double_value (b, tether_default_interval);
  json_builder_set_member_name (b, "burst");
  json_builder_add_int_value (b, opt_burst);
  json_builder_set_member_name (b, "janus_version");
  json_builder_add_string_value (b, janus_version);
  bench_json_add_machine (b);
  json_builder_set_member_name (b, "loadavg_start");
  json_builder_add_string_value (b, load_start);
  json_builder_set_member_name (b, "loadavg_end");
  json_builder_add_string_value (b, load_end);
  json_builder_set_member_name (b, "wall_seconds");
  json_builder_add_double_value (b, round (wall * 10) / 10);
  json_builder_set_member_name (b, "figures");
  json_builder_begin_object (b);
  for (int f = 0; f < F_COUNT; f++)
    {
      json_builder_set_member_name (b, figure_keys[f]);
      json_builder_begin_object (b);
      for (int k = 0; k < 2; k++)
        {
          json_builder_set_member_name (b, k == PEER_JANUS ? "janus" : "tether");
          json_builder_begin_array (b);
          for (int i = 0; i < opt_rounds; i++)
            if (isnan (fig[f][k][i]))
              json_builder_add_null_value (b);
            else
              json_builder_add_double_value (b, round (fig[f][k][i] * 1000) / 1000);
          json_builder_end_array (b);
        }
      json_builder_set_member_name (b, "ratio");
      if (isnan (ratio_of (f, f)))
        json_builder_add_null_value (b);
      else
        json_builder_add_double_value (b, round (ratio_of (f, f) * 1000) / 1000);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("BENCH_JSON %s\n", text);
}

/* ---- main ------------------------------------------------------------------------- */

static char *
loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("");
  return g_strdup (g_strstrip (text));
}

/* The janus program: --janus, or janus in PATH, or Debian's package installed now. */
static char *
find_janus (void)
{
  char *path;
  int status = 0;

  if (opt_janus != NULL)
    return g_strdup (opt_janus);
  if ((path = g_find_program_in_path ("janus")) != NULL)
    return path;
  if (opt_no_install)
    return NULL;
  g_print ("janus is not installed: installing Debian's package (apt-get install janus)\n");
  {
    const char *sudo = getuid () == 0 ? "" : "sudo ";
    g_autofree char *cmd = g_strdup_printf (
      "sh -c '%senv DEBIAN_FRONTEND=noninteractive apt-get update -qq && "
      "%senv DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends janus'",
      sudo, sudo);

    if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
      return NULL;
  }
  return g_find_program_in_path ("janus");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) octx = g_option_context_new ("[idle] [login] [room]");
  g_autoptr(GError) error = NULL;
  g_autofree char *parts_text = NULL;
  g_autofree char *load_start = NULL;
  g_autofree char *load_end = NULL;
  gboolean do_idle = FALSE, do_login = FALSE, do_room = FALSE;
  gint64 t_start = g_get_monotonic_time ();

  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_summary (octx, "Tether's room service beside Janus (videoroom, WebSocket), "
                                "both driven by the same client code (issue 13).");
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("compare-janus: %s\n", error->message);
      return 2;
    }
  if (opt_n < 1 || opt_burst < 1 || opt_rounds < 1 || opt_rounds > MAX_ROUNDS || opt_probes < 1 || opt_window <= 0)
    {
      g_printerr ("compare-janus: -n, --rounds (1–%d), --probes and --window must be positive\n", MAX_ROUNDS);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "idle"))
        do_idle = TRUE;
      else if (g_str_equal (argv[i], "login"))
        do_login = TRUE;
      else if (g_str_equal (argv[i], "room"))
        do_room = TRUE;
      else if (g_str_equal (argv[i], "all"))
        do_idle = do_login = do_room = TRUE;
      else
        {
          g_printerr ("compare-janus: unknown part “%s” (idle login room)\n", argv[i]);
          return 2;
        }
    }
  if (!do_idle && !do_login && !do_room)
    do_idle = do_login = do_room = TRUE;
  parts_text = g_strjoin (" ", do_idle ? "idle" : "", do_login ? "login" : "", do_room ? "room" : "", NULL);
  g_strstrip (g_strdelimit (parts_text, NULL, ' '));

  tether_program = bench_server_program ("compare-janus", opt_server, TETHER_SERVER_PATH);
  if (tether_program == NULL)
    return 2;
  janus_program = find_janus ();
  if (janus_program == NULL)
    {
      g_printerr ("compare-janus: no janus program (apt-get install janus, or --janus PATH)\n");
      return 2;
    }

  for (int f = 0; f < F_COUNT; f++)
    for (int k = 0; k < 2; k++)
      for (int i = 0; i < MAX_ROUNDS; i++)
        fig[f][k][i] = NAN;

  g_unsetenv ("G_MESSAGES_DEBUG");
  g_log_writer_default_set_use_stderr (TRUE);
  {
    g_autofree char *model = bench_cpu_model ();

    g_print ("compare-janus pid %d: parts %s; N %d, %d rounds, %d probes, window %g s, keepalives in "
             "groups of %d; tether-server %s; janus %s; %ld CPUs (%s)\n", (int) getpid (), parts_text, opt_n,
             opt_rounds, opt_probes, opt_window, opt_burst, tether_program, janus_program,
             sysconf (_SC_NPROCESSORS_ONLN), model);
  }
  if (bench_raise_nofile () < (guint64) opt_n + 256)
    g_printerr ("warning: RLIMIT_NOFILE is below N + 256\n");
  learn_tether_default ();
  load_start = loadavg ();
  g_print ("loadavg (start): %s\n", load_start);

  for (int round = 0; round < opt_rounds; round++)
    {
      PeerKind order[2] = { round % 2 ? PEER_TETHER : PEER_JANUS, round % 2 ? PEER_JANUS : PEER_TETHER };

      for (int i = 0; i < 2; i++)
        {
          bench_watchdog_start ("compare-janus", PART_WATCHDOG);
          if (do_idle)
            {
              part_idle (order[i], (guint) round, 1.0);
              part_idle (order[i], (guint) round, opt_slow_interval);
              if (default_interval (order[i]) != 1.0 && default_interval (order[i]) != opt_slow_interval)
                part_idle (order[i], (guint) round, default_interval (order[i]));
            }
          if (do_login)
            part_login (order[i], (guint) round);
          if (do_room)
            part_room (order[i], (guint) round);
        }
      {
        g_autofree char *load = loadavg ();

        g_print ("loadavg (after round %d): %s\n", round + 1, load);
      }
    }
  bench_watchdog_stop ();

  load_end = loadavg ();
  g_print ("loadavg (end): %s\n", load_end);
  print_table ();
  print_json (parts_text, load_start, load_end, (g_get_monotonic_time () - t_start) / 1e6);
  g_free (tether_program);
  g_free (janus_program);
  return 0;
}
