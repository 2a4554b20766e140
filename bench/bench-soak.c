/* bench-soak.c: one tether-server under ~1,000 churning sessions for minutes, its RSS
 * and descriptors printed as it goes (issue 8, "Soak")
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-soak [--duration S] [--sessions N] [--interval S] [OPTION...]
 *
 * A bench, not a test: it prints figures and judges nothing. It starts the tether-server
 * program as a child process (stderr to a log file) on a free loopback port with a short
 * heartbeat timeout and session TTL, then keeps it busy until --duration is over:
 *
 *   sessions     --sessions libsoup WebSocket clients in rooms of 10, on worker threads,
 *                each from a source address 127.0.1.N (at most 100 per address, so a
 *                per-address connection cap does not throttle them). Each lives a few
 *                seconds (--life): login (fresh, or a resume of its previous session),
 *                heartbeats, half of them stream_add/stream_delete cycles with a 4 KiB
 *                `extra`, then one of: logout; a close frame without logout; an abrupt
 *                close (SO_LINGER 0: a TCP reset, no close frame); silence until the
 *                server's heartbeat timeout. Then it starts again.
 *   half-open    --half-open TCP connections from 127.0.0.2 that send a partial HTTP
 *                upgrade request and stop; each is held until the server closes it or
 *                --half-open-hold passes, then replaced.
 *   slow readers --slow-readers members from 127.0.0.3 with SO_RCVBUF at its minimum that
 *                log in, keep sending heartbeats and never read, until the server drops
 *                them (or --slow-hold passes); then replaced. Publishers in their rooms
 *                pause only --slow-room-pause between stream requests, so their queues
 *                fill within minutes. What the server has queued
 *                for them in its kernel socket buffers (not part of its RSS) is printed
 *                from /proc/net/tcp.
 *
 * Every --interval seconds one line: elapsed time, server VmRSS, server descriptors
 * (/proc/PID/fd), server and bench CPU, the server's gauges from GET /metrics (on the
 * admin address when the server has --admin-listen, else on the main port) and the
 * client-side counts. At the end a summary: RSS after warm-up and at the end, the slope
 * after warm-up (least squares over 1 s samples), descriptor min/max; then everything
 * is closed and the bench waits for the server's gauges to drain and prints RSS again.
 *
 * Server options the server may or may not have yet are looked up in its --help:
 * --admin-listen (given main port + 1), --request-timeout (given --request-timeout),
 * --max-connections-per-address (left at its default; --no-cap passes 0; the sessions
 * stay under it by their source addresses, the half-open sockets do not),
 * --event-backlog (only when --event-backlog is given: the server's default backlog is
 * bounded in bytes too, 512 KiB per room, so its 100 rooms' backlogs fill within the
 * warm-up).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-soak.h"
#include "bench-util.h"
#include "tether-test-process.h"
#include "tether-test-utils.h"

/* ---- options ---------------------------------------------------------------------- */

double opt_duration = 600;
static int opt_sessions = 1000;
static double opt_interval = 30;
static double opt_warmup = -1;             /* default: duration / 5 */
double opt_life = 12;                      /* mean session life, uniform in [life/2, 3 life/2] */
double opt_stream_pause = 3;               /* mean pause between a publisher's stream requests */
double opt_slow_room_pause = 0.5;          /* the same in the rooms of the slow readers */
static int opt_event_backlog = 0;          /* server --event-backlog; 0: its default */
double opt_hb_timeout = 6;                 /* server --heartbeat-timeout */
static double opt_session_ttl = 30;        /* server --session-ttl */
static double opt_request_timeout = 5;     /* server --request-timeout, if it has it */
int opt_half_open = 300;
double opt_half_open_hold = 120;
int opt_slow_readers = 4;
double opt_slow_hold = 0;                  /* 0: until the server drops it */
static gboolean opt_no_cap;
static char *opt_server;
static char **opt_server_args;
static char *opt_server_log;

/* ---- counters (all threads) --------------------------------------------------------- */

Stats stats;
GMutex stats_lock;
GHashTable *close_codes;           /* code → count, under stats_lock (0: none) */
GHashTable *error_codes;           /* `error` and `request_error` codes → count */
GHashTable *ho_answers;            /* HTTP status a half-open got before its close → count */
static GPtrArray *first_problems;  /* the first few failure texts */

void
count_code (GHashTable *table,
            int         code)
{
  g_mutex_lock (&stats_lock);
  g_hash_table_insert (table, GINT_TO_POINTER (code),
                       GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (table, GINT_TO_POINTER (code))) + 1));
  g_mutex_unlock (&stats_lock);
}

void
note_problem (const char *format,
              ...)
{
  va_list ap;
  char *text;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_mutex_lock (&stats_lock);
  if (first_problems->len < 12)
    g_ptr_array_add (first_problems, text);
  else
    g_free (text);
  g_mutex_unlock (&stats_lock);
}

static int
compare_ints (gconstpointer a,
              gconstpointer b)
{
  return GPOINTER_TO_INT (a) - GPOINTER_TO_INT (b);
}

/* "1000:12 4403:3" (code 0 printed as @zero). */
static char *
format_codes (GHashTable *table,
              const char *zero)
{
  GList *keys;
  GString *out = g_string_new (NULL);

  g_mutex_lock (&stats_lock);
  keys = g_list_sort (g_hash_table_get_keys (table), compare_ints);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      int code = GPOINTER_TO_INT (l->data);
      int n = GPOINTER_TO_INT (g_hash_table_lookup (table, l->data));

      if (code == 0)
        g_string_append_printf (out, "%s%s:%d", out->len ? " " : "", zero, n);
      else
        g_string_append_printf (out, "%s%d:%d", out->len ? " " : "", code, n);
    }
  g_mutex_unlock (&stats_lock);
  g_list_free (keys);
  if (out->len == 0)
    g_string_append (out, "-");
  return g_string_free (out, FALSE);
}

/* ---- the server ----------------------------------------------------------------------- */

TetherTestProcess *server;
static int server_pid;
guint16 server_port;
static guint16 admin_port;
static gboolean has_admin_listen, has_cap_option, has_request_timeout, has_event_backlog;
char *server_url;            /* ws://127.0.0.1:PORT/ws */

/* A port on 127.0.0.1 that was free a moment ago, with the next one free too (the
 * admin address). */
static guint16
free_port_pair (void)
{
  for (int attempt = 0; attempt < 50; attempt++)
    {
      struct sockaddr_in sa = { .sin_family = AF_INET };
      socklen_t len = sizeof sa;
      int a = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int b = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      guint16 port = 0;

      sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      if (bind (a, (struct sockaddr *) &sa, sizeof sa) == 0
          && getsockname (a, (struct sockaddr *) &sa, &len) == 0
          && ntohs (sa.sin_port) < 65535)
        {
          port = ntohs (sa.sin_port);
          sa.sin_port = htons (port + 1);
          if (bind (b, (struct sockaddr *) &sa, sizeof sa) != 0)
            port = 0;
        }
      close (a);
      close (b);
      if (port != 0)
        return port;
    }
  g_error ("no two adjacent free ports on 127.0.0.1");
}

static void
probe_server_options (void)
{
  const char *argv[] = { opt_server, "--help", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                     NULL, NULL, &error))
    g_error ("cannot run %s --help: %s", opt_server, error->message);
  has_admin_listen = strstr (out, "--admin-listen") != NULL;
  has_cap_option = strstr (out, "--max-connections-per-address") != NULL;
  has_request_timeout = strstr (out, "--request-timeout") != NULL;
  has_event_backlog = strstr (out, "--event-backlog") != NULL;
}

/* Starts the server with its stderr in opt_server_log. */
static gboolean
server_start (void)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *cmdline = NULL;
  int log_fd, saved_stderr;

  server_port = free_port_pair ();
  admin_port = server_port + 1;

  g_ptr_array_add (argv, g_strdup (opt_server));
  g_ptr_array_add (argv, g_strdup ("--listen"));
  g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", server_port));
  g_ptr_array_add (argv, g_strdup ("--app-id"));
  g_ptr_array_add (argv, g_strdup (TETHER_TEST_APP_ID));
  g_ptr_array_add (argv, g_strdup ("--app-secret"));
  g_ptr_array_add (argv, g_strdup (TETHER_TEST_SECRET));
  g_ptr_array_add (argv, g_strdup ("--login-rate"));
  g_ptr_array_add (argv, g_strdup ("0"));
  g_ptr_array_add (argv, g_strdup ("--heartbeat-timeout"));
  g_ptr_array_add (argv, g_strdup_printf ("%g", opt_hb_timeout));
  g_ptr_array_add (argv, g_strdup ("--heartbeat-interval"));
  g_ptr_array_add (argv, g_strdup_printf ("%g", opt_hb_timeout / 3));
  g_ptr_array_add (argv, g_strdup ("--session-ttl"));
  g_ptr_array_add (argv, g_strdup_printf ("%g", opt_session_ttl));
  /* the embedded media node stays (as deployed), off the port the admin address takes */
  g_ptr_array_add (argv, g_strdup ("--media-listen"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
  if (has_admin_listen)
    {
      g_ptr_array_add (argv, g_strdup ("--admin-listen"));
      g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", admin_port));
    }
  if (has_request_timeout)
    {
      g_ptr_array_add (argv, g_strdup ("--request-timeout"));
      g_ptr_array_add (argv, g_strdup_printf ("%g", opt_request_timeout));
    }
  if (has_event_backlog && opt_event_backlog > 0)
    {
      g_ptr_array_add (argv, g_strdup ("--event-backlog"));
      g_ptr_array_add (argv, g_strdup_printf ("%d", opt_event_backlog));
    }
  if (has_cap_option && opt_no_cap)
    {
      g_ptr_array_add (argv, g_strdup ("--max-connections-per-address"));
      g_ptr_array_add (argv, g_strdup ("0"));
    }
  for (guint i = 0; opt_server_args != NULL && opt_server_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (opt_server_args[i]));
  g_ptr_array_add (argv, NULL);

  cmdline = g_strjoinv (" ", (char **) argv->pdata);
  g_print ("server: %s\n", cmdline);
  g_print ("server stderr: %s\n", opt_server_log);

  /* The child inherits stderr at spawn time: point fd 2 at the log for that moment
   * (no other thread runs yet). */
  log_fd = open (opt_server_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0)
    g_error ("cannot open %s: %s", opt_server_log, g_strerror (errno));
  fflush (stderr);
  saved_stderr = dup (2);
  dup2 (log_fd, 2);
  server = tether_test_process_spawnv ((const char * const *) argv->pdata, &error);
  dup2 (saved_stderr, 2);
  close (saved_stderr);
  close (log_fd);
  if (server == NULL)
    g_error ("cannot start %s: %s", opt_server, error->message);
  server_pid = bench_process_pid (server);
  bench_watchdog_add_pid (server_pid);
  if (!tether_test_process_wait_for_line (server, "listening on ", 10000, &line))
    {
      g_printerr ("bench-soak: the server did not start listening; see %s\n", opt_server_log);
      return FALSE;
    }
  server_url = g_strdup_printf ("ws://127.0.0.1:%u/ws", server_port);
  g_print ("server pid %d on %s; /metrics tried on the admin address 127.0.0.1:%u, then on "
           "the main port\n", server_pid, server_url, admin_port);
  return TRUE;
}

/* Counts WARNING/CRITICAL/ERROR lines in the server log; keeps the first few. */
static guint server_log_warnings;
static goffset server_log_offset;
static GPtrArray *server_log_first;

static void
scan_server_log (void)
{
  g_autofree char *text = NULL;
  gsize len;
  const char *p, *end;

  if (!g_file_get_contents (opt_server_log, &text, &len, NULL) || (goffset) len <= server_log_offset)
    return;
  p = text + server_log_offset;
  end = text + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);

      if (nl == NULL)
        break;   /* a partial line: next time */
      if (g_strstr_len (p, nl - p, "WARNING") || g_strstr_len (p, nl - p, "CRITICAL")
          || g_strstr_len (p, nl - p, "ERROR") || g_strstr_len (p, nl - p, "rror"))
        {
          server_log_warnings++;
          if (server_log_first->len < 8)
            g_ptr_array_add (server_log_first, g_strndup (p, MIN (nl - p, 300)));
        }
      p = nl + 1;
    }
  server_log_offset = p - text;
}

/* The room of slow reader @i: spread over the rooms the sessions churn in. */
guint
slow_room_index (guint i)
{
  guint rooms = MAX (1, ((guint) opt_sessions + ROOM_SIZE - 1) / ROOM_SIZE);

  return (2 * i + 1) * rooms / (2 * MAX (1, (guint) opt_slow_readers));
}

gboolean
is_slow_room (guint room)
{
  for (guint i = 0; i < (guint) opt_slow_readers; i++)
    if (slow_room_index (i) == room)
      return TRUE;
  return FALSE;
}

/* ---- sampling and reports (main thread) ------------------------------------------------ */

typedef struct
{
  double t;        /* s since the start of the churn */
  gint64 rss_kib;
  int fds;
} Sample;

static GArray *samples;     /* Sample */
static GMainLoop *loop;
Phase phase;
static gint64 t0;
static double next_print;
static double last_cpu_server, last_cpu_self, last_cpu_t;
static SoupSession *http;
static gboolean fetching;
static gboolean metrics_on_main_port;   /* the admin address never answered, the main port did */
static gboolean admin_answered;
static gboolean server_died;
static int exit_status;
static double drain_started;
static GPtrArray *workers;
static GThread *half_open_thread, *slow_thread;

static double
elapsed (void)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

static double
self_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The value of metric @name in Prometheus text, or -1. */
static gint64
metric (const char *text,
        const char *name)
{
  gsize n = strlen (name);

  for (const char *p = text; p != NULL && *p != '\0'; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, name, n) == 0 && (p[n] == ' ' || p[n] == '{'))
      {
        const char *v = strchr (p + n, ' ');

        return v ? g_ascii_strtoll (v + 1, NULL, 10) : -1;
      }
  return -1;
}

typedef void (*MetricsFunc) (const char *text);   /* NULL text: none */

typedef struct
{
  MetricsFunc func;
  gboolean on_main;
} Fetch;

static void fetch_metrics_on (Fetch *f);

static void
metrics_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Fetch *f = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autofree char *text = NULL;

  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      if (!f->on_main)
        {
          /* no admin address (yet, or it failed this time): the main port */
          static gboolean said;

          if (!said && !admin_answered)
            g_printerr ("bench-soak: no /metrics on the admin address 127.0.0.1:%u (%s); "
                        "using the main port\n", admin_port,
                        error ? error->message : soup_message_get_reason_phrase (msg));
          said = TRUE;
          f->on_main = TRUE;
          fetch_metrics_on (f);
          return;
        }
      {
        static gboolean said;

        if (!said)
          g_printerr ("bench-soak: no /metrics on the main port either (%s)\n",
                      error ? error->message : soup_message_get_reason_phrase (msg));
        said = TRUE;
      }
      fetching = FALSE;
      f->func (NULL);
      g_free (f);
      return;
    }
  if (!f->on_main)
    admin_answered = TRUE;
  else if (!admin_answered)
    metrics_on_main_port = TRUE;
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  fetching = FALSE;
  f->func (text);
  g_free (f);
}

static void
fetch_metrics_on (Fetch *f)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/metrics",
                                          f->on_main ? server_port : admin_port);
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);

  soup_session_send_and_read_async (http, msg, G_PRIORITY_HIGH, NULL, metrics_cb, f);
}

static void
fetch_metrics (MetricsFunc func)
{
  Fetch *f = g_new0 (Fetch, 1);

  fetching = TRUE;
  f->func = func;
  f->on_main = metrics_on_main_port;
  fetch_metrics_on (f);
}

static char *
gauges_text (const char *text)
{
  if (text == NULL)
    return g_strdup ("srv (no /metrics)");
  return g_strdup_printf ("srv conns %" G_GINT64_FORMAT " sess %" G_GINT64_FORMAT
                          " resumable %" G_GINT64_FORMAT " rooms %" G_GINT64_FORMAT
                          " streams %" G_GINT64_FORMAT,
                          metric (text, "tether_connections"), metric (text, "tether_sessions"),
                          metric (text, "tether_resumable_sessions"), metric (text, "tether_rooms"),
                          metric (text, "tether_streams"));
}

static void
print_line (const char *metrics_text)
{
  Sample *last = samples->len ? &g_array_index (samples, Sample, samples->len - 1) : NULL;
  double t = elapsed ();
  double cpu_server = bench_proc_cpu_seconds (server_pid), cpu_self = self_cpu_seconds ();
  g_autofree char *gauges = gauges_text (metrics_text);
  g_autofree char *closes = format_codes (close_codes, "none");
  g_autofree char *errors = format_codes (error_codes, "?");
  g_autofree char *answers = format_codes (ho_answers, "none");

  scan_server_log ();
  if (isnan (cpu_server))
    cpu_server = last_cpu_server;   /* gone: printed as 0 */
  g_print ("[%4.0fs] rss %" G_GINT64_FORMAT " KiB fds %d cpu srv %.0f%% bench %.0f%% | %s"
           " | logins ok %d res %d fail %d | closes %s | ends lo %d cl %d rst %d sil %d"
           " | streams +%d -%d | err %s | kicks %d | half-open %d reap %d refuse %d held %d"
           " (http %s) | slow %d drop %d kernel-q %" G_GINT64_FORMAT " KiB | srv log warn %u\n",
           t, last ? last->rss_kib : -1, last ? last->fds : -1,
           (cpu_server - last_cpu_server) / MAX (t - last_cpu_t, 0.001) * 100,
           (cpu_self - last_cpu_self) / MAX (t - last_cpu_t, 0.001) * 100, gauges,
           g_atomic_int_get (&stats.logins_ok), g_atomic_int_get (&stats.logins_resumed),
           g_atomic_int_get (&stats.logins_failed), closes, g_atomic_int_get (&stats.end_logout),
           g_atomic_int_get (&stats.end_close), g_atomic_int_get (&stats.end_reset),
           g_atomic_int_get (&stats.end_silent), g_atomic_int_get (&stats.streams_added),
           g_atomic_int_get (&stats.streams_deleted), errors, g_atomic_int_get (&stats.kicks),
           g_atomic_int_get (&stats.ho_open), g_atomic_int_get (&stats.ho_reaped),
           g_atomic_int_get (&stats.ho_refused), g_atomic_int_get (&stats.ho_held), answers,
           g_atomic_int_get (&stats.slow_live), g_atomic_int_get (&stats.slow_dropped),
           slow_kernel_queue () / 1024, server_log_warnings);
  last_cpu_server = cpu_server;
  last_cpu_self = cpu_self;
  last_cpu_t = t;
}

static void
stop_load (void)
{
  g_atomic_int_set (&raw_stop, 1);
  if (half_open_thread != NULL)
    g_thread_join (g_steal_pointer (&half_open_thread));
  if (slow_thread != NULL)
    g_thread_join (g_steal_pointer (&slow_thread));
  if (workers != NULL)
    {
      for (guint i = 0; i < workers->len; i++)
        worker_free (workers->pdata[i]);
      g_clear_pointer (&workers, g_ptr_array_unref);
    }
}

static void
print_summary (void)
{
  double warmup = opt_warmup >= 0 ? opt_warmup : opt_duration / 5;
  Sample *first_after = NULL, *end = NULL;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, slope;
  gint64 rss_max = 0;
  int fd_min = G_MAXINT, fd_max = -1, fd_min_w = G_MAXINT, fd_max_w = -1;
  guint n = 0;
  int reaped = g_atomic_int_get (&stats.ho_reaped);

  for (guint i = 0; i < samples->len; i++)
    {
      Sample *s = &g_array_index (samples, Sample, i);

      if (s->rss_kib < 0)
        continue;
      rss_max = MAX (rss_max, s->rss_kib);
      fd_min = MIN (fd_min, s->fds);
      fd_max = MAX (fd_max, s->fds);
      end = s;
      if (s->t < warmup)
        continue;
      if (first_after == NULL)
        first_after = s;
      fd_min_w = MIN (fd_min_w, s->fds);
      fd_max_w = MAX (fd_max_w, s->fds);
      sx += s->t;
      sy += s->rss_kib;
      sxx += s->t * s->t;
      sxy += s->t * s->rss_kib;
      n++;
    }
  slope = n >= 2 && n * sxx - sx * sx > 0 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) * 60 : NAN;

  g_print ("\nsummary: %.0f s of churn, warm-up %.0f s, %d sessions, %d half-open, %d slow readers%s\n",
           end ? end->t : 0, warmup, opt_sessions, opt_half_open, opt_slow_readers,
           server_died ? "; THE SERVER EXITED" : "");
  if (first_after != NULL && end != NULL)
    g_print ("  RSS after warm-up (t=%.0f s) %" G_GINT64_FORMAT " KiB, at the end (t=%.0f s) %"
             G_GINT64_FORMAT " KiB (%+" G_GINT64_FORMAT " KiB); max %" G_GINT64_FORMAT " KiB\n"
             "  RSS slope after warm-up %+.1f KiB/min (least squares over %u samples, %+.1f MiB/h)\n",
             first_after->t, first_after->rss_kib, end->t, end->rss_kib,
             end->rss_kib - first_after->rss_kib, rss_max, slope, n, slope * 60 / 1024);
  else
    g_print ("  (no samples after the warm-up)\n");
  g_print ("  fds min %d max %d (after warm-up: min %d max %d)\n", fd_min, fd_max,
           fd_min_w == G_MAXINT ? -1 : fd_min_w, fd_max_w);
  g_print ("  logins ok %d (resumed %d), failed %d (connect %d, no login_ok in time %d); "
           "streams added %d deleted %d, request errors %d, unanswered requests %d; kicks %d; "
           "endings not closed by the server in time %d; messages received %d\n",
           g_atomic_int_get (&stats.logins_ok), g_atomic_int_get (&stats.logins_resumed),
           g_atomic_int_get (&stats.logins_failed), g_atomic_int_get (&stats.connect_failed),
           g_atomic_int_get (&stats.login_timeouts), g_atomic_int_get (&stats.streams_added),
           g_atomic_int_get (&stats.streams_deleted), g_atomic_int_get (&stats.request_errors),
           g_atomic_int_get (&stats.request_timeouts), g_atomic_int_get (&stats.kicks),
           g_atomic_int_get (&stats.ending_timeouts), g_atomic_int_get (&stats.messages));
  g_print ("  half-open: opened %d, closed by the server after >= 1 s %d (mean %.1f s, max %.1f s), "
           "refused (closed within 1 s) %d, held to --half-open-hold %d, connect failures %d\n",
           g_atomic_int_get (&stats.ho_opened), reaped,
           reaped ? stats.ho_reap_us_sum / 1e6 / reaped : 0, stats.ho_reap_us_max / 1e6,
           g_atomic_int_get (&stats.ho_refused), g_atomic_int_get (&stats.ho_held),
           g_atomic_int_get (&stats.ho_connect_failed));
  g_print ("  slow readers: started %d, dropped by the server %d, held to --slow-hold %d, "
           "failed to start %d\n", g_atomic_int_get (&stats.slow_started),
           g_atomic_int_get (&stats.slow_dropped), g_atomic_int_get (&stats.slow_ended),
           g_atomic_int_get (&stats.slow_failed));
  if (first_problems->len > 0)
    {
      g_print ("  first client-side problems:\n");
      for (guint i = 0; i < first_problems->len; i++)
        g_print ("    %s\n", (char *) first_problems->pdata[i]);
    }
  scan_server_log ();
  g_print ("  server log %s: %u warning/error lines\n", opt_server_log, server_log_warnings);
  for (guint i = 0; i < server_log_first->len; i++)
    g_print ("    %s\n", (char *) server_log_first->pdata[i]);
}

static void
drain_line (const char *text)
{
  gint64 rss = bench_proc_rss_kib (server_pid);
  int fds = bench_proc_fd_count (server_pid);
  g_autofree char *gauges = gauges_text (text);
  double t = elapsed () - drain_started;
  gboolean drained = text != NULL && metric (text, "tether_connections") == 0
                     && metric (text, "tether_sessions") == 0
                     && metric (text, "tether_resumable_sessions") == 0;

  if (drained || t > opt_session_ttl + opt_hb_timeout + 15)
    {
      g_print ("after drain (%.0f s, load stopped): rss %" G_GINT64_FORMAT " KiB fds %d | %s%s\n",
               t, rss, fds, gauges, drained ? "" : " (not drained)");
      phase = PHASE_DONE;
      g_main_loop_quit (loop);
    }
}

static void
final_line (const char *text)
{
  print_line (text);
  stop_load ();
  print_summary ();
  phase = PHASE_DRAIN;
  drain_started = elapsed ();
  if (!server_died)
    g_print ("\nload stopped; waiting for the gauges to reach 0 (up to %.0f s)\n",
             opt_session_ttl + opt_hb_timeout + 15);
}

static void
finish (void)
{
  if (phase != PHASE_RUN)
    return;
  phase = PHASE_FINAL;
  if (fetching)
    return;   /* sample_cb retries next tick */
  fetch_metrics (final_line);
}

static gboolean
sample_cb (gpointer data)
{
  double t = elapsed ();
  Sample s = { t, -1, -1 };

  if (tether_test_process_has_exited (server))
    {
      if (!server_died)
        {
          server_died = TRUE;
          exit_status = 1;
          g_print ("[%4.0fs] THE SERVER EXITED (%s %d); its stderr is in %s\n", t,
                   tether_test_process_get_if_signaled (server) ? "signal" : "status",
                   tether_test_process_get_if_signaled (server)
                     ? tether_test_process_get_term_sig (server)
                     : tether_test_process_get_exit_status (server), opt_server_log);
          bench_watchdog_remove_pid (server_pid);
          if (phase == PHASE_RUN || phase == PHASE_FINAL)
            {
              phase = PHASE_FINAL;
              final_line (NULL);
            }
          phase = PHASE_DONE;
          g_main_loop_quit (loop);
        }
      return G_SOURCE_REMOVE;
    }

  if (phase == PHASE_RUN || phase == PHASE_FINAL)
    {
      s.rss_kib = bench_proc_rss_kib (server_pid);
      s.fds = bench_proc_fd_count (server_pid);
      g_array_append_val (samples, s);
    }

  switch (phase)
    {
    case PHASE_RUN:
      if (t >= opt_duration - 0.5)
        finish ();
      else if (t >= next_print - 0.5)
        {
          next_print += opt_interval;
          if (!fetching)
            fetch_metrics (print_line);
        }
      break;
    case PHASE_FINAL:
      if (!fetching)
        fetch_metrics (final_line);
      break;
    case PHASE_DRAIN:
      if (!fetching)
        fetch_metrics (drain_line);
      break;
    case PHASE_DONE:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
interrupt_cb (gpointer data)
{
  if (phase == PHASE_RUN)
    {
      g_print ("interrupted: stopping early\n");
      finish ();
    }
  else
    {
      phase = PHASE_DONE;
      g_main_loop_quit (loop);
    }
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &opt_duration, "Seconds of churn (600)", "S" },
    { "sessions", 0, 0, G_OPTION_ARG_INT, &opt_sessions, "Churning WebSocket sessions (1000)", "N" },
    { "interval", 0, 0, G_OPTION_ARG_DOUBLE, &opt_interval, "Seconds between report lines (30)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &opt_warmup, "Seconds before the RSS slope counts (duration/5)", "S" },
    { "life", 0, 0, G_OPTION_ARG_DOUBLE, &opt_life, "Mean seconds a session lives before it ends (12)", "S" },
    { "stream-pause", 0, 0, G_OPTION_ARG_DOUBLE, &opt_stream_pause, "Mean seconds between a publisher's stream requests (3)", "S" },
    { "slow-room-pause", 0, 0, G_OPTION_ARG_DOUBLE, &opt_slow_room_pause, "The same in the slow readers' rooms (0.5)", "S" },
    { "event-backlog", 0, 0, G_OPTION_ARG_INT, &opt_event_backlog, "Server --event-backlog (0 = the server's default)", "N" },
    { "heartbeat-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_hb_timeout, "Server heartbeat timeout (6; interval a third)", "S" },
    { "session-ttl", 0, 0, G_OPTION_ARG_DOUBLE, &opt_session_ttl, "Server session TTL (30)", "S" },
    { "request-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_request_timeout, "Server --request-timeout, if it has the option (5)", "S" },
    { "half-open", 0, 0, G_OPTION_ARG_INT, &opt_half_open, "Half-open connections from " HALF_OPEN_ADDR " (300)", "N" },
    { "half-open-hold", 0, 0, G_OPTION_ARG_DOUBLE, &opt_half_open_hold, "Seconds a half-open connection is held at most (120)", "S" },
    { "slow-readers", 0, 0, G_OPTION_ARG_INT, &opt_slow_readers, "Members that never read, from " SLOW_ADDR " (4)", "N" },
    { "slow-hold", 0, 0, G_OPTION_ARG_DOUBLE, &opt_slow_hold, "Seconds a slow reader stays at most (0: until the server drops it)", "S" },
    { "no-cap", 0, 0, G_OPTION_ARG_NONE, &opt_no_cap, "Pass --max-connections-per-address 0 (if the server has it)", NULL },
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &opt_server, "The tether-server program", "PATH" },
    { "server-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_server_args, "One more server argument (repeatable)", "ARG" },
    { "server-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_server_log, "Where the server's stderr goes (a temporary file)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("— keep a tether-server busy for minutes and print its RSS and descriptors");
  g_autoptr(GError) error = NULL;
  guint n_workers;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("bench-soak: %s\n", error->message);
      return 2;
    }
  if (opt_duration <= 0 || opt_interval <= 0 || opt_sessions < 0 || opt_half_open < 0
      || opt_slow_readers < 0 || opt_life <= 0 || opt_hb_timeout <= 0
      || opt_sessions > 250 * PER_ADDRESS)
    {
      g_printerr ("bench-soak: out-of-range option\n");
      return 2;
    }
  if (opt_server == NULL)
    opt_server = g_strdup (g_getenv ("TETHER_SERVER") ? g_getenv ("TETHER_SERVER") : TETHER_SERVER_PATH);
  if (!g_file_test (opt_server, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-soak: %s is not an executable; build it or pass --server\n", opt_server);
      return 2;
    }
  if (opt_server_log == NULL)
    {
      int fd = g_file_open_tmp ("bench-soak-server-XXXXXX.log", &opt_server_log, &error);

      if (fd < 0)
        g_error ("%s", error->message);
      close (fd);
    }

  g_unsetenv ("G_MESSAGES_DEBUG");
  g_log_writer_default_set_use_stderr (TRUE);
  bench_watchdog_start ("bench-soak", (guint) (opt_duration + opt_session_ttl + opt_hb_timeout + 300));

  close_codes = g_hash_table_new (NULL, NULL);
  error_codes = g_hash_table_new (NULL, NULL);
  ho_answers = g_hash_table_new (NULL, NULL);
  first_problems = g_ptr_array_new_with_free_func (g_free);
  server_log_first = g_ptr_array_new_with_free_func (g_free);
  samples = g_array_new (FALSE, FALSE, sizeof (Sample));

  g_print ("bench-soak pid %d: %.0f s, %d sessions, report every %.0f s, %ld CPUs\n", (int) getpid (),
           opt_duration, opt_sessions, opt_interval, sysconf (_SC_NPROCESSORS_ONLN));
  if (bench_raise_nofile () < (guint64) (opt_sessions + opt_half_open + opt_slow_readers) * 2 + 200)
    g_printerr ("warning: RLIMIT_NOFILE is low for this many connections on both sides\n");
  probe_server_options ();
  g_print ("server options: --admin-listen %s, --request-timeout %s, --max-connections-per-address %s\n",
           has_admin_listen ? "yes" : "no", has_request_timeout ? "yes" : "no",
           has_cap_option ? (opt_no_cap ? "yes (0)" : "yes (default kept)") : "no");
  if (!server_start ())
    return 1;

  g_print ("one line every %.0f s; counts are totals since the start:\n"
           "  rss/fds/cpu: the server process (VmRSS, /proc/PID/fd; cpu of one core over the interval)\n"
           "  srv ...: its /metrics gauges (connections, present sessions, resumable sessions, rooms, streams)\n"
           "  logins ok/res(umed)/fail(ed); closes: close codes the server sent (none: closed without a close frame)\n"
           "  ends: how sessions ended: lo(gout), cl(ose frame, no logout), rst (TCP reset), sil(ent until the heartbeat timeout)\n"
           "  err: error/request_error codes; half-open: open now, reap(ed by the server after >= 1 s),\n"
           "  refuse(d: closed within 1 s), held (to --half-open-hold), http: status lines they got before the close\n"
           "  slow: slow readers connected now, drop(ped by the server), kernel-q: what the server's\n"
           "  kernel holds in its send queues to them (memory its RSS does not show)\n", opt_interval);

  loop = g_main_loop_new (NULL, FALSE);
  http = g_object_new (SOUP_TYPE_SESSION, "timeout", 5, NULL);
  g_unix_signal_add (SIGINT, interrupt_cb, NULL);
  g_unix_signal_add (SIGTERM, interrupt_cb, NULL);

  t0 = g_get_monotonic_time ();
  next_print = opt_interval;
  last_cpu_server = bench_proc_cpu_seconds (server_pid);
  last_cpu_self = self_cpu_seconds ();
  workers = g_ptr_array_new ();
  n_workers = ((guint) opt_sessions + PER_ADDRESS - 1) / PER_ADDRESS;
  for (guint i = 0; i < n_workers; i++)
    {
      guint first = i * PER_ADDRESS;

      g_ptr_array_add (workers, worker_new (i, first, MIN (PER_ADDRESS, (guint) opt_sessions - first)));
    }
  if (opt_half_open > 0)
    half_open_thread = g_thread_new ("half-open", half_open_main, NULL);
  if (opt_slow_readers > 0)
    slow_thread = g_thread_new ("slow-readers", slow_main, NULL);

  g_timeout_add (1000, sample_cb, NULL);
  g_main_loop_run (loop);

  stop_load ();
  if (!server_died)
    {
      tether_test_process_kill (server);
      tether_test_process_wait (server, 5000);
    }
  bench_watchdog_remove_pid (server_pid);
  bench_watchdog_stop ();
  tether_test_process_free (server);
  g_object_unref (http);
  g_main_loop_unref (loop);
  return exit_status;
}
