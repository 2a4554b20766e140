/* bench-util.c: what the benches share beyond the test-support library: /proc figures
 * of a process (RSS, CPU time, open descriptors), RLIMIT_NOFILE, a blocking WebSocket
 * client, the watchdog, the machine
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "bench-util.h"
#include "tether-test-ws.h"

/* VmRSS and VmHWM of @pid in KiB (-1 for a field that is missing). FALSE if the
 * process is gone. */
gboolean
bench_proc_vm (int     pid,
               gint64 *rss_kib,
               gint64 *hwm_kib)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  p = strstr (text, "VmRSS:");
  if (rss_kib != NULL)
    *rss_kib = p ? g_ascii_strtoll (p + 6, NULL, 10) : -1;
  p = strstr (text, "VmHWM:");
  if (hwm_kib != NULL)
    *hwm_kib = p ? g_ascii_strtoll (p + 6, NULL, 10) : -1;
  return TRUE;
}

/* VmRSS of @pid in KiB; -1 if unreadable. */
gint64
bench_proc_rss_kib (int pid)
{
  gint64 rss = -1;

  if (!bench_proc_vm (pid, &rss, NULL))
    return -1;
  return rss;
}

/* utime + stime of a /proc stat file (a process's or one of its tasks') in seconds;
 * NAN if unreadable. */
double
bench_stat_cpu_seconds (const char *path)
{
  g_autofree char *text = NULL;
  const char *p;
  unsigned long utime = 0, stime = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL)
    return NAN;
  /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
   * cmajflt utime stime */
  if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    return NAN;
  return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

/* utime + stime of @pid in seconds; NAN if unreadable. */
double
bench_proc_cpu_seconds (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);

  return bench_stat_cpu_seconds (path);
}

/* Entries of /proc/PID/fd; -1 if unreadable. */
int
bench_proc_fd_count (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  GDir *dir = g_dir_open (path, 0, NULL);
  int n = 0;

  if (dir == NULL)
    return -1;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* CPU time (user + system) of the calling thread, in seconds. */
double
bench_thread_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Raises the soft RLIMIT_NOFILE to the hard limit (child processes inherit it), prints
 * it, and returns it. */
guint64
bench_raise_nofile (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
        g_printerr ("setrlimit: %s\n", g_strerror (errno));
    }
  getrlimit (RLIMIT_NOFILE, &rl);
  g_print ("RLIMIT_NOFILE %lu (inherited by the server process)\n", (unsigned long) rl.rlim_cur);
  return (guint64) rl.rlim_cur;
}

gboolean
bench_write_all (int         fd,
                 const void *data,
                 gsize       len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t w = write (fd, p, len);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      p += w;
      len -= (gsize) w;
    }
  return TRUE;
}

/* On a connected blocking socket (deadlines from SO_RCVTIMEO/SO_SNDTIMEO): the HTTP
 * upgrade to /ws and its 101 answer. Reads nothing past the answer's blank line as long
 * as the server sends nothing after the 101 before it has a message (Tether does not). */
gboolean
bench_ws_handshake (int     fd,
                    guint16 port)
{
  g_autofree char *req = tether_test_ws_upgrade_request (port);
  char resp[1024];
  gsize got = 0;

  if (!bench_write_all (fd, req, strlen (req)))
    return FALSE;
  while (got < sizeof resp - 1)
    {
      ssize_t r = read (fd, resp + got, sizeof resp - 1 - got);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return FALSE;
      got += (gsize) r;
      resp[got] = '\0';
      if (strstr (resp, "\r\n\r\n") != NULL)
        break;
    }
  return strncmp (resp, "HTTP/1.1 101", 12) == 0;
}

/* One text message in one masked frame. */
gboolean
bench_ws_send_text (int         fd,
                    const char *text)
{
  g_autoptr(GByteArray) frame = tether_test_ws_client_frame (TRUE, 0x1, (const guint8 *) text, strlen (text));

  return bench_write_all (fd, frame->data, frame->len);
}

/* ---- the watchdog --------------------------------------------------------------- */

#define WATCHDOG_MAX_PIDS 16

static volatile pid_t watchdog_pids[WATCHDOG_MAX_PIDS];
static char watchdog_message[160];
static gsize watchdog_message_len;

/* SIGALRM (a part hung), a crash or ^C: take the children down with us. Only
 * async-signal-safe calls. */
static void
watchdog_handler (int sig)
{
  for (guint i = 0; i < WATCHDOG_MAX_PIDS; i++)
    if (watchdog_pids[i] > 0)
      kill (watchdog_pids[i], SIGKILL);
  if (write (2, watchdog_message, watchdog_message_len) < 0)
    _exit (3);
  _exit (3);
}

/* Ends the bench after @seconds, or on SIGSEGV, SIGABRT, SIGBUS, SIGINT or SIGTERM, killing
 * the processes given to bench_watchdog_add_pid() first; @name is the bench's. Also
 * ignores SIGPIPE: a peer that goes away is a figure, not an end. */
void
bench_watchdog_start (const char *name,
                      guint       seconds)
{
  struct sigaction sa = { 0 };

  g_snprintf (watchdog_message, sizeof watchdog_message,
              "%s: watchdog (%u s) or fatal signal; killing its child processes\n", name, seconds);
  watchdog_message_len = strlen (watchdog_message);
  signal (SIGPIPE, SIG_IGN);
  sa.sa_handler = watchdog_handler;
  sigaction (SIGALRM, &sa, NULL);
  sigaction (SIGSEGV, &sa, NULL);
  sigaction (SIGABRT, &sa, NULL);
  sigaction (SIGBUS, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  alarm (seconds);
}

void
bench_watchdog_stop (void)
{
  alarm (0);
}

void
bench_watchdog_add_pid (int pid)
{
  for (guint i = 0; i < WATCHDOG_MAX_PIDS; i++)
    if (watchdog_pids[i] == 0)
      {
        watchdog_pids[i] = pid;
        return;
      }
}

void
bench_watchdog_remove_pid (int pid)
{
  for (guint i = 0; i < WATCHDOG_MAX_PIDS; i++)
    if (watchdog_pids[i] == pid)
      watchdog_pids[i] = 0;
}

/* The pid of a child process started by the test-support library. */
int
bench_process_pid (TetherTestProcess *process)
{
  return atoi (tether_test_process_get_identifier (process));
}

/* ---- the machine ------------------------------------------------------------------ */

/* Returns: (transfer full): the CPU's model name from /proc/cpuinfo, or "unknown" */
/* /proc/loadavg as it reads, without its newline ("?" when unreadable): benches print it
 * with every figure. */
char *
bench_loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  return g_strdup (g_strstrip (text));
}

char *
bench_cpu_model (void)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL)
      || (p = strstr (text, "model name")) == NULL || (p = strchr (p, ':')) == NULL)
    return g_strdup ("unknown");
  p++;
  while (*p == ' ')
    p++;
  return g_strndup (p, strcspn (p, "\n"));
}

/* The tether-server a bench drives: @option (--server), else $TETHER_SERVER, else
 * @built (this build's). Exported as TETHER_SERVER for tether_test_server_process_new().
 * NULL, said on stderr, when it is not an executable. */
char *
bench_server_program (const char *bench,
                      const char *option,
                      const char *built)
{
  g_autofree char *program = g_strdup (option != NULL ? option
                                       : g_getenv ("TETHER_SERVER") != NULL ? g_getenv ("TETHER_SERVER")
                                       : built);

  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("%s: %s is not an executable; build it or pass --server\n", bench, program);
      return NULL;
    }
  g_setenv ("TETHER_SERVER", program, TRUE);
  return g_steal_pointer (&program);
}

/* The "nproc", "cpu" and "kernel" members every BENCH_JSON line carries. */
void
bench_json_add_machine (JsonBuilder *builder)
{
  g_autofree char *model = bench_cpu_model ();
  struct utsname un;

  uname (&un);
  json_builder_set_member_name (builder, "nproc");
  json_builder_add_int_value (builder, sysconf (_SC_NPROCESSORS_ONLN));
  json_builder_set_member_name (builder, "cpu");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "kernel");
  json_builder_add_string_value (builder, un.release);
}
