/* bench-app.c: figures for the viewer app — start to first frame in demo mode, and the
 * memory and CPU of the app playing four 360p30 streams
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage (needs a display; bench/bench-app.sh wraps it in Xvfb):
 *   bench-app startup [RUNS]          (default 10)
 *   bench-app load [STREAMS [SECONDS]] (default 4 streams, 20 s)
 *
 * startup: runs the real `tether --demo` RUNS times. The app has no "first painted frame"
 *   marker, so the end point is the player's "play-requesting → playing" debug line
 *   (G_MESSAGES_DEBUG=Tether): TetherPlayer enters PLAYING on the first *decoded* frame,
 *   which the paintable sink shows on the next frame-clock tick (≤ 16 ms later). The
 *   start point is just before fork/exec. The demo's first host goes live 0.2 s after the
 *   room starts (the second 2 s after), so the first-stream figure includes that 0.2 s.
 *   Each run has no session bus (a non-unique instance) and in-memory GSettings.
 *
 * load: starts a tether-server and STREAMS `tether-cli publish` hosts (the 640×360, 30
 *   frame/s test picture with audio), then the app's own code in a child process (this
 *   program in "viewer" mode: TetherApplication + TetherWindow, joined through the start
 *   page's GSettings keys, since the tether program only joins from a button or --demo).
 *   Once every stream is PLAYING and 3 s have passed, it samples /proc/PID/stat
 *   (utime+stime) and /proc/PID/status (VmRSS, VmHWM) of that child over SECONDS.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <srt/srt.h>

#include "bench-util.h"
#include "tether-application.h"
#include "tether-media.h"
#include "tether-test-stats.h"
#include "tether-window.h"

#define PLAYING_MARK "→ playing" /* "TetherPlayer ID: play-requesting → playing (0 …)" */
#define SCHEMA_ID "io.github.tetherlive.Tether"

/* ---- child processes with a line-reading stderr ----------------------------------- */

typedef struct
{
  GPid pid;
  int fd;                 /* the child's stdout or stderr */
  GString *buf;
  gboolean eof;
} Child;

static Child *
child_spawn (char **argv, char **envp, gboolean read_stdout)
{
  g_autoptr(GError) error = NULL;
  Child *c = g_new0 (Child, 1);
  int out = -1, err = -1;

  if (!g_spawn_async_with_pipes (NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                 &c->pid, NULL, read_stdout ? &out : NULL,
                                 read_stdout ? NULL : &err, &error))
    g_error ("cannot start %s: %s", argv[0], error->message);
  c->fd = read_stdout ? out : err;
  c->buf = g_string_new (NULL);
  return c;
}

/* The next line, or NULL when the deadline (monotonic µs) passed or the pipe closed. */
static char *
child_read_line (Child *c, gint64 deadline)
{
  for (;;)
    {
      char *nl = memchr (c->buf->str, '\n', c->buf->len);
      char chunk[4096];
      struct pollfd pfd = { c->fd, POLLIN, 0 };
      gint64 left = deadline - g_get_monotonic_time ();
      ssize_t n;

      if (nl != NULL)
        {
          char *line = g_strndup (c->buf->str, nl - c->buf->str);
          g_string_erase (c->buf, 0, nl - c->buf->str + 1);
          return line;
        }
      if (c->eof || left <= 0)
        return NULL;
      if (poll (&pfd, 1, (int) MAX (1, left / 1000)) <= 0)
        continue;
      n = read (c->fd, chunk, sizeof chunk);
      if (n <= 0)
        c->eof = TRUE;
      else
        g_string_append_len (c->buf, chunk, n);
    }
}

/* Keep the pipe from filling up while we only sample /proc. */
static void
child_drain (Child *c)
{
  char chunk[4096];
  struct pollfd pfd = { c->fd, POLLIN, 0 };

  while (!c->eof && poll (&pfd, 1, 0) > 0)
    if (read (c->fd, chunk, sizeof chunk) <= 0)
      c->eof = TRUE;
  g_string_truncate (c->buf, 0);
}

static void
child_stop (Child *c)
{
  int status;

  if (c == NULL)
    return;
  kill (c->pid, SIGTERM);
  for (int i = 0; i < 50 && waitpid (c->pid, &status, WNOHANG) == 0; i++)
    g_usleep (100 * 1000);
  if (waitpid (c->pid, &status, WNOHANG) == 0)
    {
      kill (c->pid, SIGKILL);
      waitpid (c->pid, &status, 0);
    }
  close (c->fd);
  g_string_free (c->buf, TRUE);
  g_free (c);
}

/* ---- figures ---------------------------------------------------------------------- */

static void
print_machine (void)
{
  struct utsname u;
  g_autofree char *model = bench_cpu_model ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M UTC");

  uname (&u);
  printf ("# machine: %s, %ld CPUs, %s %s; %s; %s\n", model,
          sysconf (_SC_NPROCESSORS_ONLN), u.sysname, u.release, date, gst_version_string ());
}

static char **
app_environ (void)
{
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "G_MESSAGES_DEBUG", "Tether", TRUE);
  env = g_environ_setenv (env, "GSETTINGS_BACKEND", "memory", TRUE);
  env = g_environ_setenv (env, "GSETTINGS_SCHEMA_DIR", TETHER_SCHEMA_DIR, TRUE);
  /* No session bus: every run is a fresh, non-unique instance. */
  env = g_environ_setenv (env, "DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);
  env = g_environ_setenv (env, "NO_AT_BRIDGE", "1", TRUE);
  return env;
}

/* ---- startup ---------------------------------------------------------------------- */

static int
run_startup (guint runs)
{
  g_auto(GStrv) env = app_environ ();
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) both = g_array_new (FALSE, FALSE, sizeof (double));

  print_machine ();
  printf ("# startup: `tether --demo`, process start → first stream PLAYING (first decoded frame)\n");
  for (guint r = 0; r < runs; r++)
    {
      char *argv[] = { (char *) TETHER_APP_PATH, (char *) "--demo", NULL };
      gint64 t0 = g_get_monotonic_time ();
      gint64 deadline = t0 + 30 * G_USEC_PER_SEC;
      /* GLib's default log writer sends debug and info lines to stdout. */
      Child *c = child_spawn (argv, env, TRUE);
      guint playing = 0;
      double t_first = -1, t_both = -1;
      char *line;

      while (playing < 2 && (line = child_read_line (c, deadline)) != NULL)
        {
          if (strstr (line, PLAYING_MARK) != NULL && strstr (line, "Player ") != NULL)
            {
              double ms = (g_get_monotonic_time () - t0) / 1000.0;
              if (++playing == 1)
                t_first = ms;
              else
                t_both = ms;
            }
          g_free (line);
        }
      child_stop (c);
      printf ("run %2u: first stream %7.1f ms, both streams %7.1f ms\n", r + 1, t_first, t_both);
      fflush (stdout);
      if (t_first >= 0)
        g_array_append_val (first, t_first);
      if (t_both >= 0)
        g_array_append_val (both, t_both);
      g_usleep (300 * 1000);
    }

  if (first->len > 0)
    printf ("startup_first_frame_ms: median %.0f, p90 %.0f, min %.0f, max %.0f (%u/%u runs)\n",
            tether_test_percentile (first, 50), tether_test_percentile (first, 90),
            tether_test_percentile (first, 0), tether_test_percentile (first, 100),
            first->len, runs);
  if (both->len > 0)
    printf ("startup_both_streams_ms: median %.0f, p90 %.0f (second host goes live at 2.0 s)\n",
            tether_test_percentile (both, 50), tether_test_percentile (both, 90));
  return first->len == runs ? 0 : 1;
}

/* ---- load ------------------------------------------------------------------------- */

static gboolean
read_proc (GPid pid, double *cpu_s, double *rss_mb, double *hwm_mb)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL, *status = NULL;
  const char *p;
  unsigned long long utime = 0, stime = 0;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  p = strrchr (stat, ')');     /* comm may contain spaces */
  if (p == NULL || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                           &utime, &stime) != 2)
    return FALSE;
  *cpu_s = (double) (utime + stime) / sysconf (_SC_CLK_TCK);

  g_free (path);
  path = g_strdup_printf ("/proc/%d/status", pid);
  if (!g_file_get_contents (path, &status, NULL, NULL))
    return FALSE;
  if ((p = strstr (status, "VmRSS:")) != NULL)
    *rss_mb = g_ascii_strtod (p + 6, NULL) / 1024.0;
  if ((p = strstr (status, "VmHWM:")) != NULL)
    *hwm_mb = g_ascii_strtod (p + 6, NULL) / 1024.0;
  return TRUE;
}

static int
run_load (guint n_streams, guint seconds)
{
  const char *secret = "bench-app-secret";
  g_auto(GStrv) env = app_environ ();
  g_auto(GStrv) plain_env = g_get_environ ();
  g_autoptr(GPtrArray) hosts = g_ptr_array_new ();
  g_autofree char *url = NULL;
  g_autofree char *n_text = g_strdup_printf ("%u", n_streams);
  Child *server, *viewer;
  char *line;
  guint playing = 0;
  gint64 deadline;
  double cpu0, cpu1, rss, hwm, rss_end, hwm_end;
  int status = 0;

  print_machine ();
  {
    char *argv[] = { (char *) TETHER_SERVER_PATH, (char *) "--listen", (char *) "127.0.0.1:0",
                     (char *) "--media-listen", (char *) "127.0.0.1:0",
                     (char *) "--app-secret", (char *) secret, (char *) "--login-rate",
                     (char *) "0", NULL };
    server = child_spawn (argv, plain_env, TRUE);
  }
  while ((line = child_read_line (server, g_get_monotonic_time () + 10 * G_USEC_PER_SEC)))
    {
      if (g_str_has_prefix (line, "listening on "))
        url = g_strdup (line + strlen ("listening on "));
      g_free (line);
      if (url != NULL)
        break;
    }
  if (url == NULL)
    g_error ("the server did not start");

  for (guint i = 0; i < n_streams; i++)
    {
      g_autofree char *user = g_strdup_printf ("host%u", i + 1);
      g_autofree char *stream = g_strdup_printf ("host%u-camera", i + 1);
      char *argv[] = { (char *) TETHER_CLI_PATH, (char *) "publish", (char *) "--server", url,
                       (char *) "--app-secret", (char *) secret, (char *) "--room",
                       (char *) "bench", (char *) "--user", user, (char *) "--stream", stream,
                       NULL };
      g_ptr_array_add (hosts, child_spawn (argv, plain_env, TRUE));
    }

  {
    char *argv[] = { (char *) "/proc/self/exe", (char *) "viewer", url, (char *) secret,
                     n_text, NULL };
    g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
    argv[0] = exe;
    viewer = child_spawn (argv, env, TRUE);
  }

  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (playing < n_streams && (line = child_read_line (viewer, deadline)) != NULL)
    {
      if (strstr (line, PLAYING_MARK) != NULL && strstr (line, "Player ") != NULL)
        playing++;
      g_free (line);
      for (guint i = 0; i < hosts->len; i++)
        child_drain (g_ptr_array_index (hosts, i));
    }
  printf ("# load: %u × 640×360 30 frame/s (H.264 + AAC) publishers, %u PLAYING in the app; "
          "GSK_RENDERER=%s\n", n_streams, playing,
          g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "(GTK's default)");
  if (playing < n_streams)
    status = 1;

  for (guint i = 0; i < 30; i++)   /* 3 s to settle, keep the pipes empty */
    {
      child_drain (viewer);
      child_drain (server);
      for (guint h = 0; h < hosts->len; h++)
        child_drain (g_ptr_array_index (hosts, h));
      g_usleep (100 * 1000);
    }
  if (!read_proc (viewer->pid, &cpu0, &rss, &hwm))
    g_error ("the viewer exited");
  for (guint i = 0; i < seconds * 10; i++)
    {
      child_drain (viewer);
      child_drain (server);
      for (guint h = 0; h < hosts->len; h++)
        child_drain (g_ptr_array_index (hosts, h));
      g_usleep (100 * 1000);
    }
  if (!read_proc (viewer->pid, &cpu1, &rss_end, &hwm_end))
    g_error ("the viewer exited");

  printf ("app_rss_mb: %.1f at start of window, %.1f at end (target < 250)\n", rss, rss_end);
  printf ("app_hwm_mb: %.1f\n", hwm_end);
  printf ("app_cpu: %.1f%% of one core over %u s (utime+stime %.2f s; target < 100%%)\n",
          100.0 * (cpu1 - cpu0) / seconds, seconds, cpu1 - cpu0);

  child_stop (viewer);
  for (guint i = 0; i < hosts->len; i++)
    child_stop (g_ptr_array_index (hosts, i));
  child_stop (server);
  return status;
}

/* ---- viewer: the app, joined through its settings --------------------------------- */

static char *viewer_url, *viewer_secret;

static void
viewer_activate_cb (GApplication *app)
{
  TetherSession *session = tether_application_get_session (TETHER_APPLICATION (app));
  g_autoptr(GError) error = NULL;

  if (!tether_session_join_from_settings (session, &error))
    g_error ("join: %s", error->message);
}

static int
run_viewer (int argc, char **argv)
{
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(TetherApplication) app = NULL;
  char *app_argv[] = { argv[0], NULL };
  int status;

  if (argc < 5)
    return 2;
  viewer_url = argv[2];
  viewer_secret = argv[3];

  setlocale (LC_ALL, "");
  gst_init (NULL, NULL);
  tether_media_init (NULL);

  /* What a user types on the start page, through the same keys. */
  settings = g_settings_new (SCHEMA_ID);
  g_settings_set_string (settings, "server-url", viewer_url);
  g_settings_set_string (settings, "app-id", "demo");
  g_settings_set_string (settings, "room-id", "bench");
  g_settings_set_string (settings, "user-id", "bench-viewer");
  g_settings_set_string (settings, "user-name", "Bench");
  g_settings_set_string (settings, "app-secret", viewer_secret);
  g_settings_set_uint (settings, "max-tiles", MAX (4, atoi (argv[4])));

  app = tether_application_new ();
  g_signal_connect_after (app, "activate", G_CALLBACK (viewer_activate_cb), NULL);
  status = g_application_run (G_APPLICATION (app), 1, app_argv);
  g_clear_object (&app);
  return status;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "all";

  if (g_str_equal (mode, "viewer"))
    return run_viewer (argc, argv);

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (NULL, NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_printerr ("bench-app needs a display; run it through bench/bench-app.sh (Xvfb)\n");
      return 77;
    }
  if (g_str_equal (mode, "startup"))
    return run_startup (argc > 2 ? (guint) atoi (argv[2]) : 10);
  if (g_str_equal (mode, "load"))
    return run_load (argc > 2 ? (guint) atoi (argv[2]) : 4, argc > 3 ? (guint) atoi (argv[3]) : 20);
  if (g_str_equal (mode, "all"))
    return run_startup (10) | run_load (4, 20);
  g_printerr ("usage: bench-app [startup [RUNS] | load [STREAMS [SECONDS]]]\n");
  return 2;
}
