/* bench-soak-raw.c: bench-soak's raw sockets — half-open connections that send part of
 * an HTTP upgrade and stop (a thread of plain sockets and poll), and slow readers that
 * log in and never read (a thread of blocking sockets)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "bench-soak.h"
#include "bench-util.h"
#include "tether-test-utils.h"

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

gint raw_stop;           /* atomic: the half-open and slow-reader threads end */

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

gpointer
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

gpointer
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
gint64
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
