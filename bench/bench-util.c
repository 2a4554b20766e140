/* bench-util.c: /proc figures of a process (RSS, CPU time, open descriptors) and
 * RLIMIT_NOFILE, shared by the benches
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench-util.h"

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

/* utime + stime of @pid in seconds; NAN if unreadable. */
double
bench_proc_cpu_seconds (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
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
  g_autofree char *req = g_strdup_printf (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", port);
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

/* A masked text frame (mask key 0: the payload goes as is). */
gboolean
bench_ws_send_text (int         fd,
                    const char *text)
{
  gsize len = strlen (text);
  guint8 hdr[14];
  gsize h = 0;
  g_autofree guint8 *frame = NULL;

  hdr[h++] = 0x81;
  if (len < 126)
    hdr[h++] = 0x80 | (guint8) len;
  else if (len < 65536)
    {
      hdr[h++] = 0x80 | 126;
      hdr[h++] = (guint8) (len >> 8);
      hdr[h++] = (guint8) len;
    }
  else
    return FALSE;
  memset (hdr + h, 0, 4);
  h += 4;
  frame = g_malloc (h + len);
  memcpy (frame, hdr, h);
  memcpy (frame + h, text, len);
  return bench_write_all (fd, frame, h + len);
}
