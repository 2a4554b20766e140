/* bench-room-epoll.c: the minimal WebSocket clients of the fan-out and idle parts of
 * bench-room and of bench-cluster — a blocking TCP connect, upgrade and login, then
 * non-blocking reads on epoll threads and a small parser of the server's frames
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <glib-unix.h>

#include "bench-room.h"
#include "bench-util.h"

/* Parses whole server frames (unmasked) out of @c's buffer; calls @fn for each text
 * payload. */
void
ws_parse (EpConn   *c,
          void    (*fn) (const char *payload, gsize len, gpointer data),
          gpointer  data)
{
  gsize off = 0;

  for (;;)
    {
      guint64 plen;
      gsize h = 2;

      if (c->len - off < 2)
        break;
      plen = c->buf[off + 1] & 0x7f;
      if (plen == 126)
        {
          if (c->len - off < 4)
            break;
          plen = ((guint64) c->buf[off + 2] << 8) | c->buf[off + 3];
          h = 4;
        }
      else if (plen == 127)
        {
          if (c->len - off < 10)
            break;
          plen = 0;
          for (int i = 0; i < 8; i++)
            plen = (plen << 8) | c->buf[off + 2 + i];
          h = 10;
        }
      if (c->len - off < h + plen)
        break;
      if ((c->buf[off] & 0x0f) == 1)
        fn ((const char *) c->buf + off + h, (gsize) plen, data);
      off += h + (gsize) plen;
    }
  memmove (c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

/* Reads what is there (or blocks, for a blocking socket). Returns FALSE on EOF/error. */
gboolean
ep_read (EpConn *c)
{
  ssize_t r;

  if (c->cap - c->len < 65536)
    {
      c->cap = MAX (c->cap * 2, c->len + 65536);
      c->buf = g_realloc (c->buf, c->cap);
    }
  r = read (c->fd, c->buf + c->len, c->cap - c->len);
  if (r > 0)
    {
      c->len += (gsize) r;
      return TRUE;
    }
  return r < 0 && (errno == EAGAIN || errno == EINTR);
}

typedef struct
{
  gboolean login_ok;
  gboolean error;
} LoginSeen;

static void
login_frame_cb (const char *payload,
                gsize       len,
                gpointer    data)
{
  LoginSeen *seen = data;

  if (memmem (payload, len, "\"type\":\"login_ok\"", 17) != NULL)
    seen->login_ok = TRUE;
  else if (memmem (payload, len, "\"type\":\"error\"", 14) != NULL)
    seen->error = TRUE;
}

/* Blocking: TCP connect, the HTTP upgrade, the login frame, and login_ok. Deadlines come
 * from SO_RCVTIMEO/SO_SNDTIMEO. Returns the connection (non-blocking now), or NULL. */
EpConn *
ep_login (guint16     port,
          const char *json,
          gint64     *t_sent,
          gint64     *t_ok)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  struct timeval tv = { .tv_sec = 5 };
  EpConn *c = g_new0 (EpConn, 1);
  LoginSeen seen = { FALSE, FALSE };
  int one = 1;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (c->fd, (struct sockaddr *) &sa, sizeof sa) != 0 || !bench_ws_handshake (c->fd, port))
    goto fail;
  *t_sent = g_get_monotonic_time ();
  if (!bench_ws_send_text (c->fd, json))
    goto fail;
  while (!seen.login_ok && !seen.error)
    {
      if (!ep_read (c) || c->len == 0)
        goto fail;
      ws_parse (c, login_frame_cb, &seen);
    }
  *t_ok = g_get_monotonic_time ();
  if (seen.error)
    goto fail;
  g_unix_set_fd_nonblocking (c->fd, TRUE, NULL);
  return c;

fail:
  close (c->fd);
  g_free (c->buf);
  g_free (c);
  return NULL;
}

void
ep_conn_free (EpConn *c)
{
  close (c->fd);
  g_free (c->buf);
  g_free (c);
}

static void
ep_frame_cb (const char *payload,
             gsize       len,
             gpointer    data)
{
  EpThread *t = data;

  t->messages++;
  fan_check (t->fan, payload, len, g_get_monotonic_time ());
}

gpointer
ep_thread_main (gpointer data)
{
  EpThread *t = data;
  struct epoll_event events[256];
  int gen = 0;

  while (!g_atomic_int_get (&t->stop))
    {
      int n = epoll_wait (t->epfd, events, G_N_ELEMENTS (events), 20);
      int want = g_atomic_int_get (&t->mark_gen);

      if (want != gen && want < (int) G_N_ELEMENTS (t->cpu_at_mark))
        {
          t->cpu_at_mark[want] = bench_thread_cpu_seconds ();
          gen = want;
        }
      for (int i = 0; i < n; i++)
        {
          EpConn *c = events[i].data.ptr;

          while (ep_read (c) && c->len > 0)
            {
              gsize before = c->len;

              ws_parse (c, ep_frame_cb, t);
              if (c->len == before && c->cap - c->len >= 65536)
                break;
              if (errno == EAGAIN)
                break;
            }
          errno = 0;
        }
    }
  return NULL;
}

void
ep_mark (EpThread *threads,
         guint     n,
         int       gen)
{
  for (guint i = 0; i < n; i++)
    g_atomic_int_set (&threads[i].mark_gen, gen);
  tether_test_run_for (60);
}
