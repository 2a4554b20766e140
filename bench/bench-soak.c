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

#include "bench-util.h"
#include "tether-test-process.h"
#include "tether-test-utils.h"

#define ROOM_SIZE          10     /* sessions per room */
#define PER_ADDRESS        100    /* sessions per source address (and worker thread) */
#define EXTRA_BYTES        4096   /* stream `extra`: the documented maximum */
#define LOGIN_DEADLINE_MS  10000  /* connect + login */
#define REQUEST_DEADLINE_MS 10000 /* stream_add / stream_delete answer */
#define ENDING_DEADLINE_MS 5000   /* logout_ok + close, or our close frame answered */
#define HALF_OPEN_ADDR     "127.0.0.2"
#define SLOW_ADDR          "127.0.0.3"
#define REFUSED_WITHIN_US  (1 * G_USEC_PER_SEC) /* a half-open closed this fast was refused */

/* ---- options ---------------------------------------------------------------------- */

static double opt_duration = 600;
static int opt_sessions = 1000;
static double opt_interval = 30;
static double opt_warmup = -1;             /* default: duration / 5 */
static double opt_life = 12;               /* mean session life, uniform in [life/2, 3 life/2] */
static double opt_stream_pause = 3;        /* mean pause between a publisher's stream requests */
static double opt_slow_room_pause = 0.5;   /* the same in the rooms of the slow readers */
static int opt_event_backlog = 0;          /* server --event-backlog; 0: its default */
static double opt_hb_timeout = 6;          /* server --heartbeat-timeout */
static double opt_session_ttl = 30;        /* server --session-ttl */
static double opt_request_timeout = 5;     /* server --request-timeout, if it has it */
static int opt_half_open = 300;
static double opt_half_open_hold = 120;
static int opt_slow_readers = 4;
static double opt_slow_hold = 0;           /* 0: until the server drops it */
static gboolean opt_no_cap;
static char *opt_server;
static char **opt_server_args;
static char *opt_server_log;

/* ---- counters (all threads) --------------------------------------------------------- */

typedef struct
{
  gint logins_ok, logins_resumed, logins_failed, connect_failed, login_timeouts;
  gint streams_added, streams_deleted, request_errors, request_timeouts, kicks, reconnects;
  gint end_logout, end_close, end_reset, end_silent, ending_timeouts;
  gint messages;
  gint ho_open, ho_opened, ho_reaped, ho_refused, ho_held, ho_connect_failed;
  gint64 ho_reap_us_sum, ho_reap_us_max;   /* under stats_lock */
  gint slow_live, slow_started, slow_dropped, slow_ended, slow_failed;
} Stats;

static Stats stats;
static GMutex stats_lock;
static GHashTable *close_codes;    /* code → count, under stats_lock (0: none) */
static GHashTable *error_codes;    /* `error` and `request_error` codes → count */
static GHashTable *ho_answers;     /* HTTP status a half-open got before its close → count */
static GPtrArray *first_problems;  /* the first few failure texts */

static void
count_code (GHashTable *table,
            int         code)
{
  g_mutex_lock (&stats_lock);
  g_hash_table_insert (table, GINT_TO_POINTER (code),
                       GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (table, GINT_TO_POINTER (code))) + 1));
  g_mutex_unlock (&stats_lock);
}

static void
note_problem (const char *format,
              ...) G_GNUC_PRINTF (1, 2);

static void
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

static TetherTestProcess *server;
static int server_pid;
static guint16 server_port, admin_port;
static gboolean has_admin_listen, has_cap_option, has_request_timeout, has_event_backlog;
static char *server_url;     /* ws://127.0.0.1:PORT/ws */

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
static guint
slow_room_index (guint i)
{
  guint rooms = MAX (1, ((guint) opt_sessions + ROOM_SIZE - 1) / ROOM_SIZE);

  return (2 * i + 1) * rooms / (2 * MAX (1, (guint) opt_slow_readers));
}

static gboolean
is_slow_room (guint room)
{
  for (guint i = 0; i < (guint) opt_slow_readers; i++)
    if (slow_room_index (i) == room)
      return TRUE;
  return FALSE;
}

/* ---- the churning sessions (libsoup, worker threads) --------------------------------- */

typedef enum
{
  SLOT_IDLE,
  SLOT_CONNECTING,
  SLOT_LOGGING_IN,
  SLOT_LIVE,
  SLOT_ENDING,
} SlotPhase;

typedef enum
{
  END_LOGOUT,
  END_CLOSE,
  END_RESET,
  END_SILENT,
} Ending;

typedef struct _Worker Worker;

typedef struct
{
  Worker *w;
  guint index;
  char *user_id, *room_id;
  SlotPhase phase;
  gboolean publisher;
  gboolean slow_room;  /* a slow reader is a member: more stream traffic */
  SoupWebsocketConnection *ws;
  GCancellable *cancel;
  GSource *timer;      /* the next step */
  GSource *heartbeat;
  GSource *deadline;   /* login, request or ending deadline */
  char *session_id, *resume_key;
  gint64 last_seq;
  gboolean can_resume, resuming, failure_counted;
  gint64 life_end;
  guint hb_ms;
  gint64 hb_id;
  guint req;
  guint stream_n;
  char *stream_id;
  gboolean stream_live;
  Ending ending;
} Slot;

struct _Worker
{
  guint index;
  char *local_ip;
  TetherTestThread *thread;
  GMainContext *context;
  SoupSession *session;
  GRand *rand;
  GPtrArray *slots;    /* Slot* */
  gboolean stopping;
};

static void slot_connect (Slot *s);
static void slot_teardown (Slot *s);

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_source_unref (*source);
      *source = NULL;
    }
}

/* The dispatching source is destroyed by G_SOURCE_REMOVE; only drop our reference. */
static void
took_source (GSource **source)
{
  g_clear_pointer (source, g_source_unref);
}

static GSource *
slot_timeout (Slot        *s,
              guint        ms,
              GSourceFunc  func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, s, NULL);
  g_source_attach (source, s->w->context);
  return source;
}

static guint
rand_ms (Slot  *s,
         double min_s,
         double max_s)
{
  return (guint) (g_rand_double_range (s->w->rand, min_s, max_s) * 1000);
}

static void
slot_send (Slot       *s,
           const char *text)
{
  if (s->ws != NULL && soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (s->ws, text);
}

static gboolean
restart_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_connect (s);
  return G_SOURCE_REMOVE;
}

/* Forgets the connection and starts again after @delay_ms. */
static void
slot_again (Slot *s,
            guint delay_ms)
{
  slot_teardown (s);
  if (!s->w->stopping)
    s->timer = slot_timeout (s, delay_ms, restart_cb);
}

/* A TCP reset: SO_LINGER 0 on the socket, then close it; no close frame. */
static void
slot_reset (Slot *s)
{
  GIOStream *io;
  GSocket *sock = NULL;

  if (s->ws == NULL)
    return;
  io = soup_websocket_connection_get_io_stream (s->ws);
  if (G_IS_SOCKET_CONNECTION (io))
    sock = g_socket_connection_get_socket (G_SOCKET_CONNECTION (io));
  else
    sock = g_object_get_data (G_OBJECT (io), "GSocket");
  if (sock != NULL && G_IS_SOCKET (sock))
    {
      struct linger lg = { .l_onoff = 1, .l_linger = 0 };

      setsockopt (g_socket_get_fd (sock), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      g_socket_close (sock, NULL);
    }
  else
    {
      static gboolean warned;

      if (!warned)
        g_printerr ("bench-soak: no GSocket under the WebSocket (%s); abrupt closes are plain closes\n",
                    G_OBJECT_TYPE_NAME (io));
      warned = TRUE;
      g_io_stream_close (io, NULL, NULL);
    }
}

static void
slot_teardown (Slot *s)
{
  clear_source (&s->timer);
  clear_source (&s->heartbeat);
  clear_source (&s->deadline);
  if (s->cancel != NULL)
    {
      g_cancellable_cancel (s->cancel);
      g_clear_object (&s->cancel);
    }
  if (s->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (s->ws, s);
      if (soup_websocket_connection_get_state (s->ws) != SOUP_WEBSOCKET_STATE_CLOSED)
        slot_reset (s);
      g_clear_object (&s->ws);
    }
  s->phase = SLOT_IDLE;
  s->stream_live = FALSE;
}

static char *
login_json (Slot    *s,
            gboolean resume)
{
  g_autofree char *token = tether_test_token (s->user_id, NULL, (gint64) opt_duration + 3600);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "login");
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "app_id");
  json_builder_add_string_value (b, TETHER_TEST_APP_ID);
  json_builder_set_member_name (b, "room_id");
  json_builder_add_string_value (b, s->room_id);
  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, s->user_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, s->user_id);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token);
  json_builder_set_member_name (b, "notify_users");
  json_builder_add_boolean_value (b, TRUE);
  if (resume)
    {
      json_builder_set_member_name (b, "resume");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "session_id");
      json_builder_add_string_value (b, s->session_id);
      json_builder_set_member_name (b, "resume_key");
      json_builder_add_string_value (b, s->resume_key);
      json_builder_set_member_name (b, "last_seq");
      json_builder_add_int_value (b, s->last_seq);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static gboolean
has_type (const char *data,
          gsize       len,
          const char *type)
{
  char needle[48];
  int n = g_snprintf (needle, sizeof needle, "\"type\":\"%s\"", type);

  return memmem (data, len, needle, n) != NULL;
}

/* An integer member in the first bytes of a message ("seq", "code"), or -1. */
static gint64
int_member (const char *data,
            gsize       len,
            const char *name)
{
  char needle[32];
  int n = g_snprintf (needle, sizeof needle, "\"%s\":", name);
  const char *p = memmem (data, len, needle, n);

  if (p == NULL)
    return -1;
  return g_ascii_strtoll (p + n, NULL, 10);
}

static void slot_step (Slot *s);
static void slot_end (Slot *s);

static guint
stream_pause_ms (Slot *s)
{
  double pause = s->slow_room ? opt_slow_room_pause : opt_stream_pause;

  return rand_ms (s, pause / 2, pause * 1.5);
}

static gboolean
step_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_step (s);
  return G_SOURCE_REMOVE;
}

static gboolean
request_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.request_timeouts);
  note_problem ("%s: no answer to a stream request in %d ms", s->user_id, REQUEST_DEADLINE_MS);
  slot_reset (s);
  slot_again (s, 1000);
  return G_SOURCE_REMOVE;
}

/* The next stream request, or the end of this life. */
static void
slot_step (Slot *s)
{
  char *json;

  if (s->phase != SLOT_LIVE)
    return;
  if (g_get_monotonic_time () >= s->life_end)
    {
      slot_end (s);
      return;
    }
  if (!s->stream_live)
    {
      g_autofree char *extra = g_malloc (EXTRA_BYTES + 1);

      for (guint i = 0; i < EXTRA_BYTES; i++)
        extra[i] = 'a' + (char) g_rand_int_range (s->w->rand, 0, 26);
      extra[EXTRA_BYTES] = '\0';
      g_free (s->stream_id);
      s->stream_id = g_strdup_printf ("s-%u-%u", s->index, s->stream_n++);
      json = g_strdup_printf ("{\"type\":\"stream_add\",\"req\":%u,\"stream\":{\"id\":\"%s\","
                              "\"extra\":\"%s\",\"node\":\"local\"}}", ++s->req, s->stream_id, extra);
    }
  else
    json = g_strdup_printf ("{\"type\":\"stream_delete\",\"req\":%u,\"stream_id\":\"%s\","
                            "\"reason\":\"stopped\"}", ++s->req, s->stream_id);
  slot_send (s, json);
  g_free (json);
  clear_source (&s->deadline);
  s->deadline = slot_timeout (s, REQUEST_DEADLINE_MS, request_deadline_cb);
}

static gboolean
heartbeat_cb (gpointer data)
{
  Slot *s = data;
  char json[64];

  g_snprintf (json, sizeof json, "{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}", ++s->hb_id);
  slot_send (s, json);
  return G_SOURCE_CONTINUE;
}

static gboolean
ending_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.ending_timeouts);
  note_problem ("%s: ending %d not closed by the server in time", s->user_id, s->ending);
  slot_again (s, 100);   /* resets the socket */
  return G_SOURCE_REMOVE;
}

static gboolean
end_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_end (s);
  return G_SOURCE_REMOVE;
}

static void
slot_end (Slot *s)
{
  double r = g_rand_double (s->w->rand);

  clear_source (&s->timer);
  clear_source (&s->deadline);
  s->phase = SLOT_ENDING;
  s->ending = r < 0.35 ? END_LOGOUT : r < 0.55 ? END_CLOSE : r < 0.90 ? END_RESET : END_SILENT;
  switch (s->ending)
    {
    case END_LOGOUT:
      g_atomic_int_inc (&stats.end_logout);
      s->can_resume = FALSE;
      slot_send (s, "{\"type\":\"logout\"}");
      s->deadline = slot_timeout (s, ENDING_DEADLINE_MS, ending_deadline_cb);
      break;
    case END_CLOSE:
      g_atomic_int_inc (&stats.end_close);
      if (soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, "bye");
      s->deadline = slot_timeout (s, ENDING_DEADLINE_MS, ending_deadline_cb);
      break;
    case END_RESET:
      g_atomic_int_inc (&stats.end_reset);
      slot_reset (s);
      slot_again (s, rand_ms (s, 0.05, 1.0));
      break;
    case END_SILENT:
      /* no more heartbeats: the server's heartbeat timeout has to act */
      g_atomic_int_inc (&stats.end_silent);
      clear_source (&s->heartbeat);
      s->deadline = slot_timeout (s, (guint) (opt_hb_timeout * 3000) + ENDING_DEADLINE_MS,
                                  ending_deadline_cb);
      break;
    }
}

static void
slot_login_ok (Slot       *s,
               const char *data,
               gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  double hb = 1.0;

  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      note_problem ("%s: unreadable login_ok", s->user_id);
      return;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  g_free (s->session_id);
  g_free (s->resume_key);
  s->session_id = g_strdup (json_object_get_string_member_with_default (o, "session_id", ""));
  s->resume_key = g_strdup (json_object_get_string_member_with_default (o, "resume_key", ""));
  s->last_seq = json_object_get_int_member_with_default (o, "seq", 0);
  hb = json_object_get_double_member_with_default (o, "heartbeat_interval", 1.0);
  s->hb_ms = (guint) (CLAMP (MIN (hb, opt_hb_timeout / 3), 0.1, 60) * 1000);
  s->can_resume = *s->session_id != '\0' && *s->resume_key != '\0';

  g_atomic_int_inc (&stats.logins_ok);
  if (json_object_get_boolean_member_with_default (o, "resumed", FALSE))
    g_atomic_int_inc (&stats.logins_resumed);

  clear_source (&s->deadline);
  s->phase = SLOT_LIVE;
  s->heartbeat = g_timeout_source_new (s->hb_ms);
  g_source_set_callback (s->heartbeat, heartbeat_cb, s, NULL);
  g_source_attach (s->heartbeat, s->w->context);
  s->life_end = g_get_monotonic_time () + (gint64) rand_ms (s, opt_life / 2, opt_life * 1.5) * 1000;
  if (s->publisher)
    s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
  else
    s->timer = slot_timeout (s, (guint) ((s->life_end - g_get_monotonic_time ()) / 1000), end_cb);
}

static void
message_cb (SoupWebsocketConnection *ws,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  Slot *s = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  gint64 seq;

  g_atomic_int_inc (&stats.messages);
  if (s->phase == SLOT_LOGGING_IN)
    {
      if (has_type (data, len, "login_ok"))
        slot_login_ok (s, data, len);
      else if (has_type (data, len, "error"))
        {
          int code = (int) int_member (data, len, "code");

          count_code (error_codes, code);
          g_atomic_int_inc (&stats.logins_failed);
          s->failure_counted = TRUE;
          s->can_resume = FALSE;
          note_problem ("%s: login answered %.*s", s->user_id, (int) MIN (len, 160), data);
        }
      return;
    }

  if (has_type (data, len, "event") || has_type (data, len, "heartbeat_ack"))
    {
      if ((seq = int_member (data, len, "seq")) > s->last_seq)
        s->last_seq = seq;
    }
  else if (has_type (data, len, "stream_add_ok"))
    {
      g_atomic_int_inc (&stats.streams_added);
      clear_source (&s->deadline);
      s->stream_live = TRUE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "stream_delete_ok"))
    {
      g_atomic_int_inc (&stats.streams_deleted);
      clear_source (&s->deadline);
      s->stream_live = FALSE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "request_error"))
    {
      g_atomic_int_inc (&stats.request_errors);
      count_code (error_codes, (int) int_member (data, len, "code"));
      note_problem ("%s: %.*s", s->user_id, (int) MIN (len, 160), data);
      clear_source (&s->deadline);
      s->stream_live = FALSE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "kick_out"))
    {
      g_atomic_int_inc (&stats.kicks);
      s->can_resume = FALSE;
    }
  else if (has_type (data, len, "reconnect"))
    g_atomic_int_inc (&stats.reconnects);
  else if (has_type (data, len, "error"))
    {
      count_code (error_codes, (int) int_member (data, len, "code"));
      note_problem ("%s: %.*s", s->user_id, (int) MIN (len, 160), data);
    }
}

static void
closed_cb (SoupWebsocketConnection *ws,
           gpointer                 user_data)
{
  Slot *s = user_data;
  int code = soup_websocket_connection_get_close_code (ws);

  count_code (close_codes, code);
  if (s->phase == SLOT_LOGGING_IN && !s->failure_counted)
    {
      g_atomic_int_inc (&stats.logins_failed);
      note_problem ("%s: closed %d before login_ok", s->user_id, code);
    }
  if (code == 4401 || code == 4403 || code == 4400)
    s->can_resume = FALSE;
  slot_again (s, rand_ms (s, 0.05, 1.0));
}

static gboolean
login_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.login_timeouts);
  g_atomic_int_inc (&stats.logins_failed);
  note_problem ("%s: no login_ok within %d ms (%s)", s->user_id, LOGIN_DEADLINE_MS,
                s->phase == SLOT_CONNECTING ? "WebSocket not open" : "login sent");
  slot_again (s, 1000);
  return G_SOURCE_REMOVE;
}

/* A connect in flight: its slot may have been torn down and started again since. */
typedef struct
{
  Slot *s;
  GCancellable *cancel;
} ConnectOp;

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConnectOp *op = user_data;
  Slot *s = op->s;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancel = op->cancel;
  SoupWebsocketConnection *ws;
  g_autofree char *json = NULL;

  g_free (op);
  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_cancellable_is_cancelled (cancel))
    {
      if (ws != NULL)
        {
          g_io_stream_close (soup_websocket_connection_get_io_stream (ws), NULL, NULL);
          g_object_unref (ws);
        }
      return;
    }
  g_clear_object (&s->cancel);
  if (ws == NULL)
    {
      g_atomic_int_inc (&stats.connect_failed);
      g_atomic_int_inc (&stats.logins_failed);
      note_problem ("%s: WebSocket connect failed: %s", s->user_id, error->message);
      slot_again (s, 1000);
      return;
    }
  s->ws = ws;
  soup_websocket_connection_set_max_incoming_payload_size (ws, 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), s);
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), s);
  s->phase = SLOT_LOGGING_IN;
  s->resuming = s->can_resume && g_rand_boolean (s->w->rand);
  json = login_json (s, s->resuming);
  soup_websocket_connection_send_text (ws, json);
}

static void
slot_connect (Slot *s)
{
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, server_url);
  ConnectOp *op = g_new0 (ConnectOp, 1);

  s->phase = SLOT_CONNECTING;
  s->failure_counted = FALSE;
  s->publisher = g_rand_boolean (s->w->rand);
  s->cancel = g_cancellable_new ();
  s->deadline = slot_timeout (s, LOGIN_DEADLINE_MS, login_deadline_cb);
  op->s = s;
  op->cancel = g_object_ref (s->cancel);
  soup_session_websocket_connect_async (s->w->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        s->cancel, connect_cb, op);
}

static void
worker_start (gpointer data)
{
  Worker *w = data;
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string (w->local_ip);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (ip, 0);

  w->session = g_object_new (SOUP_TYPE_SESSION, "max-conns", 65536, "max-conns-per-host", 65536,
                             "timeout", 10, "local-address", local, NULL);
  /* a ramp over the first seconds, not 1,000 handshakes at once */
  for (guint i = 0; i < w->slots->len; i++)
    {
      Slot *s = g_ptr_array_index (w->slots, i);

      s->timer = slot_timeout (s, rand_ms (s, 0, MIN (opt_life, 10)), restart_cb);
    }
}

static void
worker_stop (gpointer data)
{
  Worker *w = data;

  w->stopping = TRUE;
  for (guint i = 0; i < w->slots->len; i++)
    slot_teardown (g_ptr_array_index (w->slots, i));
  g_clear_object (&w->session);
  while (g_main_context_iteration (w->context, FALSE))
    ;
}

static void
slot_free (gpointer data)
{
  Slot *s = data;

  g_free (s->user_id);
  g_free (s->room_id);
  g_free (s->session_id);
  g_free (s->resume_key);
  g_free (s->stream_id);
  g_free (s);
}

static Worker *
worker_new (guint index,
            guint first_slot,
            guint n_slots)
{
  Worker *w = g_new0 (Worker, 1);
  g_autofree char *name = g_strdup_printf ("soak-%u", index);

  w->index = index;
  w->local_ip = g_strdup_printf ("127.0.1.%u", index + 1);
  w->rand = g_rand_new ();
  w->slots = g_ptr_array_new_with_free_func (slot_free);
  for (guint i = 0; i < n_slots; i++)
    {
      Slot *s = g_new0 (Slot, 1);
      guint k = first_slot + i;

      s->w = w;
      s->index = k;
      s->user_id = g_strdup_printf ("soak-%u", k);
      s->room_id = g_strdup_printf ("soak-room-%u", k / ROOM_SIZE);
      s->slow_room = is_slow_room (k / ROOM_SIZE);
      g_ptr_array_add (w->slots, s);
    }
  w->thread = tether_test_thread_new (name);
  w->context = tether_test_thread_get_context (w->thread);
  tether_test_thread_invoke_sync (w->thread, worker_start, w);
  return w;
}

static void
worker_free (Worker *w)
{
  tether_test_thread_invoke_sync (w->thread, worker_stop, w);
  tether_test_thread_free (w->thread);
  g_ptr_array_unref (w->slots);
  g_rand_free (w->rand);
  g_free (w->local_ip);
  g_free (w);
}

/* ---- half-open connections (a thread of plain sockets and poll) ---------------------- */

typedef enum
{
  HO_WAITING,
  HO_CONNECTING,
  HO_OPEN,
} HoState;

typedef struct
{
  int fd;
  HoState state;
  gint64 t_open, retry_at;
  char answer[16];
  gsize answer_len;
} HalfOpen;

static gint raw_stop;    /* atomic: the half-open and slow-reader threads end */

static void
ho_close (HalfOpen *h,
          gint64    retry_in_us)
{
  if (h->fd >= 0)
    close (h->fd);
  if (h->state == HO_OPEN)
    g_atomic_int_add (&stats.ho_open, -1);
  h->fd = -1;
  h->state = HO_WAITING;
  h->retry_at = g_get_monotonic_time () + retry_in_us;
}

static void
ho_start (HalfOpen *h)
{
  struct sockaddr_in local = { .sin_family = AF_INET };
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (server_port) };
  int one = 1;

  inet_pton (AF_INET, HALF_OPEN_ADDR, &local.sin_addr);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  h->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  h->answer_len = 0;
  setsockopt (h->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (bind (h->fd, (struct sockaddr *) &local, sizeof local) != 0
      || (connect (h->fd, (struct sockaddr *) &sa, sizeof sa) != 0 && errno != EINPROGRESS))
    {
      g_atomic_int_inc (&stats.ho_connect_failed);
      note_problem ("half-open: connect: %s", g_strerror (errno));
      ho_close (h, G_USEC_PER_SEC);
      return;
    }
  h->state = HO_CONNECTING;
  h->t_open = g_get_monotonic_time ();
}

/* Connected: the start of an upgrade request, without the blank line that ends it. */
static void
ho_connected (HalfOpen *h)
{
  int err = 0;
  socklen_t len = sizeof err;
  g_autofree char *partial = g_strdup_printf ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                              "Upgrade: websocket\r\n", server_port);

  if (getsockopt (h->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0
      || write (h->fd, partial, strlen (partial)) != (ssize_t) strlen (partial))
    {
      g_atomic_int_inc (&stats.ho_connect_failed);
      ho_close (h, G_USEC_PER_SEC);
      return;
    }
  h->state = HO_OPEN;
  h->t_open = g_get_monotonic_time ();
  g_atomic_int_inc (&stats.ho_open);
  g_atomic_int_inc (&stats.ho_opened);
}

/* Readable: an answer (kept) or the server's close. */
static void
ho_readable (HalfOpen *h)
{
  char buf[4096];
  ssize_t r = read (h->fd, buf, sizeof buf);
  gint64 dt;

  if (r > 0)
    {
      gsize take = MIN ((gsize) r, sizeof h->answer - 1 - h->answer_len);

      memcpy (h->answer + h->answer_len, buf, take);
      h->answer_len += take;
      h->answer[h->answer_len] = '\0';
      return;
    }
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;

  dt = g_get_monotonic_time () - h->t_open;
  count_code (ho_answers, g_str_has_prefix (h->answer, "HTTP/1.") ? atoi (h->answer + 9) : 0);
  if (dt < REFUSED_WITHIN_US)
    {
      g_atomic_int_inc (&stats.ho_refused);
      ho_close (h, G_USEC_PER_SEC);
    }
  else
    {
      g_atomic_int_inc (&stats.ho_reaped);
      g_mutex_lock (&stats_lock);
      stats.ho_reap_us_sum += dt;
      stats.ho_reap_us_max = MAX (stats.ho_reap_us_max, dt);
      g_mutex_unlock (&stats_lock);
      ho_close (h, 200 * 1000);
    }
}

static gpointer
half_open_main (gpointer data)
{
  guint n = (guint) opt_half_open;
  HalfOpen *hs = g_new0 (HalfOpen, n);
  struct pollfd *pfds = g_new0 (struct pollfd, n);
  guint *which = g_new0 (guint, n);
  gint64 hold_us = (gint64) (opt_half_open_hold * G_USEC_PER_SEC);

  for (guint i = 0; i < n; i++)
    {
      hs[i].fd = -1;
      hs[i].retry_at = g_get_monotonic_time () + g_random_int_range (0, 3000) * 1000;   /* a short ramp */
    }
  while (!g_atomic_int_get (&raw_stop))
    {
      guint m = 0;
      gint64 now = g_get_monotonic_time ();
      int r;

      for (guint i = 0; i < n; i++)
        {
          HalfOpen *h = &hs[i];

          if (h->state == HO_WAITING && now >= h->retry_at)
            ho_start (h);
          else if (h->state == HO_OPEN && now - h->t_open >= hold_us)
            {
              /* the server never closed it: ours to drop */
              g_atomic_int_inc (&stats.ho_held);
              ho_close (h, 0);
              ho_start (h);
            }
          if (h->state == HO_WAITING)
            continue;
          pfds[m].fd = h->fd;
          pfds[m].events = h->state == HO_CONNECTING ? POLLOUT : POLLIN;
          pfds[m].revents = 0;
          which[m++] = i;
        }
      r = poll (pfds, m, 100);
      if (r <= 0)
        continue;
      for (guint j = 0; j < m; j++)
        {
          HalfOpen *h = &hs[which[j]];

          if (pfds[j].revents == 0)
            continue;
          if (h->state == HO_CONNECTING)
            ho_connected (h);
          else
            ho_readable (h);
        }
    }
  for (guint i = 0; i < n; i++)
    ho_close (&hs[i], 0);
  g_free (hs);
  g_free (pfds);
  g_free (which);
  return NULL;
}

/* ---- slow readers (a thread of blocking sockets) -------------------------------------- */

typedef struct
{
  int fd;
  guint index;
  gint64 t_start, next_hb, retry_at;
  gint64 hb_id;
} Slow;

static void
slow_close (Slow    *r,
            gboolean reset)
{
  if (r->fd < 0)
    return;
  if (reset)
    {
      struct linger lg = { .l_onoff = 1, .l_linger = 0 };

      setsockopt (r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
  close (r->fd);
  r->fd = -1;
  g_atomic_int_add (&stats.slow_live, -1);
}

static void
slow_start (Slow *r)
{
  struct sockaddr_in local = { .sin_family = AF_INET };
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (server_port) };
  struct timeval tv = { .tv_sec = 5 };
  int rcvbuf = 1;   /* the kernel rounds it up to its minimum */
  int one = 1;
  g_autofree char *user = g_strdup_printf ("slow-%u", r->index);
  g_autofree char *room = g_strdup_printf ("soak-room-%u", slow_room_index (r->index));
  g_autofree char *token = tether_test_token (user, NULL, (gint64) opt_duration + 3600);
  g_autofree char *login = g_strdup_printf (
    "{\"type\":\"login\",\"v\":1,\"app_id\":\"%s\",\"room_id\":\"%s\",\"user\":{\"id\":\"%s\","
    "\"name\":\"%s\"},\"token\":\"%s\",\"notify_users\":true}", TETHER_TEST_APP_ID, room, user,
    user, token);

  inet_pton (AF_INET, SLOW_ADDR, &local.sin_addr);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  r->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_atomic_int_inc (&stats.slow_live);
  setsockopt (r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);   /* before connect */
  setsockopt (r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (r->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (bind (r->fd, (struct sockaddr *) &local, sizeof local) != 0
      || connect (r->fd, (struct sockaddr *) &sa, sizeof sa) != 0
      || !bench_ws_handshake (r->fd, server_port) || !bench_ws_send_text (r->fd, login))
    {
      g_atomic_int_inc (&stats.slow_failed);
      note_problem ("slow reader %u: could not connect and log in: %s", r->index, g_strerror (errno));
      slow_close (r, TRUE);
      r->retry_at = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
      return;
    }
  g_atomic_int_inc (&stats.slow_started);
  r->t_start = g_get_monotonic_time ();
  r->next_hb = r->t_start + (gint64) (opt_hb_timeout / 3 * G_USEC_PER_SEC);
}

/* Still there? A heartbeat it writes fails once the server has closed its end (the
 * server's FIN cannot arrive past the full receive window; its RST to data can). */
static gboolean
slow_alive (Slow *r)
{
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  char json[64];

  if (getsockopt (r->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0
      && ti.tcpi_state != TCP_ESTABLISHED)
    return FALSE;
  g_snprintf (json, sizeof json, "{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}", ++r->hb_id);
  return bench_ws_send_text (r->fd, json);
}

static gpointer
slow_main (gpointer data)
{
  guint n = (guint) opt_slow_readers;
  Slow *rs = g_new0 (Slow, n);
  gint64 hold_us = (gint64) (opt_slow_hold * G_USEC_PER_SEC);
  gint64 hb_us = (gint64) (opt_hb_timeout / 3 * G_USEC_PER_SEC);

  for (guint i = 0; i < n; i++)
    {
      rs[i].fd = -1;
      rs[i].index = i;
      /* staggered, so they are not all replaced at once */
      rs[i].retry_at = g_get_monotonic_time () + (gint64) i * 10 * G_USEC_PER_SEC;
    }
  while (!g_atomic_int_get (&raw_stop))
    {
      gint64 now = g_get_monotonic_time ();

      for (guint i = 0; i < n; i++)
        {
          Slow *r = &rs[i];

          if (r->fd < 0)
            {
              if (now >= r->retry_at)
                slow_start (r);
              continue;
            }
          if (hold_us > 0 && now - r->t_start >= hold_us)
            {
              g_atomic_int_inc (&stats.slow_ended);
              slow_close (r, TRUE);
              r->retry_at = now;
              continue;
            }
          if (now >= r->next_hb)
            {
              r->next_hb = now + hb_us;
              if (!slow_alive (r))
                {
                  g_atomic_int_inc (&stats.slow_dropped);
                  note_problem ("slow reader %u: closed by the server after %.0f s", r->index,
                                (now - r->t_start) / 1e6);
                  slow_close (r, TRUE);
                  r->retry_at = now + G_USEC_PER_SEC;
                }
            }
        }
      g_usleep (100 * 1000);
    }
  for (guint i = 0; i < n; i++)
    slow_close (&rs[i], TRUE);
  g_free (rs);
  return NULL;
}

/* Bytes in the server's kernel send queues towards the slow readers (tx_queue of the
 * server-side sockets in /proc/net/tcp): memory the server's RSS does not show. */
static gint64
slow_kernel_queue (void)
{
  g_autofree char *text = NULL;
  g_autofree char *local = g_strdup_printf ("0100007F:%04X", server_port);
  g_auto(GStrv) lines = NULL;
  struct in_addr slow;
  g_autofree char *remote = NULL;
  gint64 sum = 0;

  if (!g_file_get_contents ("/proc/net/tcp", &text, NULL, NULL))
    return -1;
  inet_pton (AF_INET, SLOW_ADDR, &slow);
  remote = g_strdup_printf ("%08X:", slow.s_addr);   /* as the kernel prints it: host order of the raw word */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      guint n = 0;
      const char *fields[5] = { NULL };

      for (guint j = 0; f[j] != NULL && n < 5; j++)
        if (*f[j] != '\0')
          fields[n++] = f[j];
      if (n == 5 && g_str_equal (fields[1], local) && g_str_has_prefix (fields[2], remote))
        sum += g_ascii_strtoll (fields[4], NULL, 16);   /* "tx:rx": strtoll stops at ':' */
    }
  return sum;
}

/* ---- sampling and reports (main thread) ------------------------------------------------ */

typedef struct
{
  double t;        /* s since the start of the churn */
  gint64 rss_kib;
  int fds;
} Sample;

typedef enum
{
  PHASE_RUN,
  PHASE_FINAL,     /* the last line is being fetched */
  PHASE_DRAIN,
  PHASE_DONE,
} Phase;

static GArray *samples;     /* Sample */
static GMainLoop *loop;
static Phase phase;
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
