/* compare-janus-clients.c: one client driver for both servers — raw WebSocket clients on
 * non-blocking sockets, all in one thread around one epoll set. A client speaks either
 * Tether's room protocol (docs/protocol.md: login → login_ok, heartbeat, logout) or the
 * Janus API over the "janus-protocol" WebSocket subprotocol (create → attach
 * janus.plugin.videoroom → join as publisher → joined, keepalive, leave, destroy). Every
 * other line of code (sockets, framing, timing, keepalive schedule, the probe that
 * times a fan-out) is the same for both.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "compare-janus.h"
#include "tether-test-login.h"
#include "tether-test-utils.h"
#include "tether-test-ws.h"

#define RAMP_IN_FLIGHT 64
#define READ_CHUNK     65536

gint64
realtime_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

Driver *
driver_new (PeerKind kind,
            guint16  port)
{
  Driver *d = g_new0 (Driver, 1);

  d->kind = kind;
  d->port = port;
  d->epfd = epoll_create1 (EPOLL_CLOEXEC);
  d->clients = g_ptr_array_new ();
  d->held = g_ptr_array_new ();
  return d;
}

static void
client_free (Client *c)
{
  if (c->fd >= 0)
    close (c->fd);
  g_byte_array_unref (c->in);
  g_byte_array_unref (c->out);
  g_byte_array_unref (c->msg);
  g_free (c->room);
  g_free (c->user);
  g_free (c);
}

void
driver_free (Driver *d)
{
  if (d == NULL)
    return;
  for (guint i = 0; i < d->clients->len; i++)
    client_free (g_ptr_array_index (d->clients, i));
  g_ptr_array_unref (d->clients);
  g_ptr_array_unref (d->held);
  close (d->epfd);
  g_free (d->probe_a);
  g_free (d->probe_b);
  g_free (d->last_error);
  g_free (d);
}

static void
client_fail (Client     *c,
             const char *why)
{
  Driver *d = c->driver;

  if (c->state == CLIENT_FAILED || c->state == CLIENT_CLOSED)
    return;
  if (d->last_error == NULL || d->n_failed < 3)
    {
      g_free (d->last_error);
      d->last_error = g_strdup_printf ("%s (client %s, state %d)", why, c->user, c->state);
      g_printerr ("compare-janus: %s\n", d->last_error);
    }
  d->n_failed++;
  c->state = CLIENT_FAILED;
  if (c->fd >= 0)
    {
      epoll_ctl (d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
      c->fd = -1;
    }
}

/* Closes the socket at once (no close frame): what is measured is over. */
void
client_close (Client *c)
{
  if (c->fd >= 0)
    {
      epoll_ctl (c->driver->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
      c->fd = -1;
    }
  if (c->state != CLIENT_FAILED)
    c->state = CLIENT_CLOSED;
}

static void
client_update_events (Client *c)
{
  struct epoll_event ev = { .events = EPOLLIN | (c->out->len > 0 ? EPOLLOUT : 0), .data.ptr = c };
  gboolean want = c->out->len > 0;

  if (want == c->want_out || c->fd < 0)
    return;
  c->want_out = want;
  epoll_ctl (c->driver->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
client_flush (Client *c)
{
  while (c->out->len > 0 && c->fd >= 0)
    {
      ssize_t w = send (c->fd, c->out->data, c->out->len, MSG_NOSIGNAL);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (w <= 0)
        {
          client_fail (c, "send failed");
          return;
        }
      g_byte_array_remove_range (c->out, 0, (guint) w);
    }
  client_update_events (c);
}

static void
client_write (Client       *c,
              const guint8 *data,
              gsize         len)
{
  g_byte_array_append (c->out, data, (guint) len);
  client_flush (c);
}

static void
client_send_text (Client     *c,
                  const char *text)
{
  g_autoptr(GByteArray) frame = tether_test_ws_client_frame (TRUE, 0x1, (const guint8 *) text, strlen (text));

  client_write (c, frame->data, frame->len);
}

static char *
janus_upgrade_request (guint16 port)
{
  guint8 key[16];
  g_autofree char *key64 = NULL;

  for (guint i = 0; i < sizeof key; i++)
    key[i] = (guint8) g_random_int_range (0, 256);
  key64 = g_base64_encode (key, sizeof key);
  return g_strdup_printf ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: janus-protocol\r\n\r\n",
                          port, key64);
}

/* The join (Janus: the videoroom join; Tether: the login), with its send time. */
static void
client_send_join (Client *c)
{
  g_autofree char *text = NULL;

  if (c->driver->kind == PEER_TETHER)
    {
      g_autofree char *token = tether_test_token (c->user, c->room, 3600);
      TetherTestLogin login = {
        .room_id = c->room, .user_id = c->user, .token = token, .notify_users = c->presence,
      };

      text = tether_test_login_json (&login);
    }
  else
    text = g_strdup_printf ("{\"janus\":\"message\",\"session_id\":%" G_GUINT64_FORMAT
                            ",\"handle_id\":%" G_GUINT64_FORMAT ",\"transaction\":\"join\","
                            "\"body\":{\"request\":\"join\",\"ptype\":\"publisher\",\"room\":%s,"
                            "\"display\":\"%s\"}}",
                            c->session_id, c->handle_id, c->room, c->user);
  c->state = CLIENT_JOINING;
  c->t_join_sent = g_get_monotonic_time ();
  c->rt_join_sent = realtime_ns ();
  client_send_text (c, text);
}

static void
client_connected (Client *c)
{
  g_autofree char *req = c->driver->kind == PEER_TETHER ? tether_test_ws_upgrade_request (c->driver->port)
                                                        : janus_upgrade_request (c->driver->port);

  c->state = CLIENT_UPGRADING;
  client_write (c, (const guint8 *) req, strlen (req));
}

Client *
driver_client_start (Driver     *d,
                     const char *room,
                     const char *user,
                     gboolean    presence)
{
  Client *c = g_new0 (Client, 1);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (d->port) };
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
  int one = 1;

  c->driver = d;
  c->room = g_strdup (room);
  c->user = g_strdup (user);
  c->presence = presence;
  c->in = g_byte_array_new ();
  c->out = g_byte_array_new ();
  c->msg = g_byte_array_new ();
  c->want_out = TRUE;
  g_ptr_array_add (d->clients, c);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  c->t_connect = g_get_monotonic_time ();
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    {
      client_fail (c, g_strerror (errno));
      return c;
    }
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* the kernel's receive time of the bytes each read returns (SCM_TIMESTAMPNS) */
  setsockopt (c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  c->state = CLIENT_CONNECTING;
  epoll_ctl (d->epfd, EPOLL_CTL_ADD, c->fd, &ev);
  if (connect (c->fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS)
    client_fail (c, g_strerror (errno));
  return c;
}

/* The unsigned integer after `"key":` (spaces allowed) at or after @from; 0 if none. */
static guint64
json_uint_after (const char *text,
                 const char *from,
                 const char *key)
{
  const char *p = strstr (from != NULL ? from : text, key);

  if (p == NULL)
    return 0;
  p += strlen (key);
  while (*p == ' ' || *p == ':')
    p++;
  return g_ascii_strtoull (p, NULL, 10);
}

/* Tether's `"type": "NAME"`, spaces around the colon allowed. */
static gboolean
tether_type_is (const char *text,
                const char *name)
{
  const char *p = strstr (text, "\"type\"");
  gsize n = strlen (name);

  if (p == NULL)
    return FALSE;
  p += 6;
  while (*p == ' ' || *p == ':')
    p++;
  return *p == '"' && strncmp (p + 1, name, n) == 0 && p[1 + n] == '"';
}

static void
client_message (Client     *c,
                const char *text,
                gint64      wire_ns)
{
  Driver *d = c->driver;

  if (d->probe_a != NULL && c->probe_gen != d->probe_gen && strstr (text, d->probe_a) != NULL
      && strstr (text, d->probe_b) != NULL)
    {
      c->probe_gen = d->probe_gen;
      c->probe_mono = g_get_monotonic_time ();
      c->probe_wire = wire_ns;
      d->probe_hits++;
    }

  if (d->kind == PEER_TETHER)
    {
      if (c->state == CLIENT_JOINING)
        {
          if (tether_type_is (text, "login_ok"))
            {
              const char *hb = strstr (text, "\"heartbeat_interval\"");

              if (hb != NULL)
                {
                  hb += strlen ("\"heartbeat_interval\"");
                  while (*hb == ' ' || *hb == ':')
                    hb++;
                  c->heartbeat_interval = g_ascii_strtod (hb, NULL);
                }
              c->state = CLIENT_READY;
              c->t_ready = g_get_monotonic_time ();
            }
          else if (tether_type_is (text, "error"))
            client_fail (c, text);
        }
      else if (c->state == CLIENT_READY && tether_type_is (text, "heartbeat_ack"))
        d->n_acks++;
      else if (c->state == CLIENT_LEAVING && tether_type_is (text, "logout_ok"))
        client_close (c);
      return;
    }

  /* Janus: acks ("janus": "ack") and other members' events need nothing */
  if (strstr (text, "\"janus\": \"error\"") != NULL || strstr (text, "\"janus\":\"error\"") != NULL)
    {
      client_fail (c, text);
      return;
    }
  switch (c->state)
    {
    case CLIENT_CREATING:
      if (strstr (text, "\"success\"") != NULL)
        {
          g_autofree char *attach = NULL;

          c->session_id = json_uint_after (text, strstr (text, "\"data\""), "\"id\"");
          attach = g_strdup_printf ("{\"janus\":\"attach\",\"session_id\":%" G_GUINT64_FORMAT
                                    ",\"plugin\":\"janus.plugin.videoroom\",\"transaction\":\"attach\"}",
                                    c->session_id);
          c->state = CLIENT_ATTACHING;
          client_send_text (c, attach);
        }
      break;
    case CLIENT_ATTACHING:
      if (strstr (text, "\"success\"") != NULL)
        {
          c->handle_id = json_uint_after (text, strstr (text, "\"data\""), "\"id\"");
          client_send_join (c);
        }
      break;
    case CLIENT_JOINING:
      if (strstr (text, "\"joined\"") != NULL)
        {
          c->publisher_id = json_uint_after (text, strstr (text, "\"joined\""), "\"id\"");
          c->state = CLIENT_READY;
          c->t_ready = g_get_monotonic_time ();
        }
      else if (strstr (text, "\"error_code\"") != NULL)
        client_fail (c, text);
      break;
    case CLIENT_LEAVING:
      if (strstr (text, "\"leaving\": \"ok\"") != NULL || strstr (text, "\"leaving\":\"ok\"") != NULL)
        {
          g_autofree char *destroy = g_strdup_printf ("{\"janus\":\"destroy\",\"session_id\":%" G_GUINT64_FORMAT
                                                      ",\"transaction\":\"destroy\"}", c->session_id);
          client_send_text (c, destroy);
        }
      else if (strstr (text, "\"transaction\": \"destroy\"") != NULL
               || strstr (text, "\"transaction\":\"destroy\"") != NULL)
        client_close (c);
      break;
    case CLIENT_READY:
      if (strstr (text, "\"transaction\":\"k") != NULL || strstr (text, "\"transaction\": \"k") != NULL)
        d->n_acks++;
      break;
    default:
      break;
    }
}

/* Frames in c->in: text (reassembled), ping (answered), close. */
static void
client_parse_frames (Client *c,
                     gint64  wire_ns)
{
  for (;;)
    {
      guint8 *b = c->in->data;
      gsize have = c->in->len, hdr = 2;
      guint64 len;
      guint8 op;
      gboolean fin;

      if (c->fd < 0 || have < 2)
        return;
      fin = (b[0] & 0x80) != 0;
      op = b[0] & 0x0f;
      len = b[1] & 0x7f;
      if (len == 126)
        {
          if (have < 4)
            return;
          len = ((guint64) b[2] << 8) | b[3];
          hdr = 4;
        }
      else if (len == 127)
        {
          if (have < 10)
            return;
          len = 0;
          for (int i = 0; i < 8; i++)
            len = (len << 8) | b[2 + i];
          hdr = 10;
        }
      if (b[1] & 0x80)
        {
          client_fail (c, "masked frame from the server");
          return;
        }
      if (have < hdr + len)
        return;

      if (op == 0x1 || op == 0x0)
        {
          if (op == 0x1)
            g_byte_array_set_size (c->msg, 0);
          g_byte_array_append (c->msg, b + hdr, (guint) len);
          if (fin)
            {
              g_byte_array_append (c->msg, (const guint8 *) "", 1);
              client_message (c, (const char *) c->msg->data, wire_ns);
              if (c->fd >= 0)
                g_byte_array_set_size (c->msg, 0);
            }
        }
      else if (op == 0x9)
        {
          g_autoptr(GByteArray) pong = tether_test_ws_client_frame (TRUE, 0xA, b + hdr, (gsize) len);

          client_write (c, pong->data, pong->len);
        }
      else if (op == 0x8)
        {
          client_close (c);
          return;
        }
      if (c->fd < 0)
        return;
      g_byte_array_remove_range (c->in, 0, (guint) (hdr + len));
    }
}

static void
client_readable (Client *c)
{
  for (;;)
    {
      guint8 buf[READ_CHUNK];
      char control[CMSG_SPACE (sizeof (struct timespec)) * 2];
      struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
      struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control,
      };
      gint64 wire_ns = 0;
      ssize_t r = recvmsg (c->fd, &mh, 0);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (r <= 0)
        {
          if (c->state == CLIENT_LEAVING)
            client_close (c);
          else
            client_fail (c, r == 0 ? "the server closed the connection" : g_strerror (errno));
          return;
        }
      for (struct cmsghdr *cm = CMSG_FIRSTHDR (&mh); cm != NULL; cm = CMSG_NXTHDR (&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
          {
            struct timespec ts;

            memcpy (&ts, CMSG_DATA (cm), sizeof ts);
            wire_ns = (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
          }
      if (wire_ns == 0)
        {
          c->driver->n_no_timestamp++;
          wire_ns = realtime_ns ();
        }
      g_byte_array_append (c->in, buf, (guint) r);

      if (c->state == CLIENT_UPGRADING)
        {
          guint8 *end = memmem (c->in->data, c->in->len, "\r\n\r\n", 4);

          if (end == NULL)
            continue;
          if (c->in->len < 12 || memcmp (c->in->data, "HTTP/1.1 101", 12) != 0)
            {
              client_fail (c, "the WebSocket upgrade was refused");
              return;
            }
          g_byte_array_remove_range (c->in, 0, (guint) (end + 4 - c->in->data));
          if (c->driver->kind == PEER_TETHER)
            client_send_join (c);
          else
            {
              c->state = CLIENT_CREATING;
              client_send_text (c, "{\"janus\":\"create\",\"transaction\":\"create\"}");
            }
        }
      client_parse_frames (c, wire_ns);
      if (c->fd < 0 || (gsize) r < sizeof buf)
        return;
    }
}

static void
client_event (Client  *c,
              guint32  events)
{
  if (c->fd < 0)
    return;
  if (c->state == CLIENT_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
    {
      int err = 0;
      socklen_t len = sizeof err;

      getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        {
          client_fail (c, g_strerror (err));
          return;
        }
      client_connected (c);
    }
  if (c->fd >= 0 && (events & EPOLLOUT))
    client_flush (c);
  if (c->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    client_readable (c);
}

static void
client_keepalive (Client *c)
{
  g_autofree char *text = NULL;

  if (c->state != CLIENT_READY)
    return;
  c->keepalive_id++;
  if (c->driver->kind == PEER_TETHER)
    text = g_strdup_printf ("{\"type\":\"heartbeat\",\"id\":%u}", c->keepalive_id);
  else
    text = g_strdup_printf ("{\"janus\":\"keepalive\",\"session_id\":%" G_GUINT64_FORMAT
                            ",\"transaction\":\"k%u\"}", c->session_id, c->keepalive_id);
  client_send_text (c, text);
  c->driver->n_keepalives++;
}

/* Keepalives (Janus) / heartbeats (Tether) of the held clients, one every @interval_s
 * seconds each, spread evenly over the interval in the order of held: one at a time, or
 * in groups of d->burst clients that send at the same moment. */
void
driver_keepalive_start (Driver *d,
                        double  interval_s)
{
  gint64 now = g_get_monotonic_time ();
  guint burst = MAX (d->burst, 1);

  d->keepalive_us = (gint64) (interval_s * G_USEC_PER_SEC);
  d->keepalive_next = 0;
  for (guint i = 0; i < d->held->len; i++)
    {
      Client *c = g_ptr_array_index (d->held, i);

      c->next_keepalive = now + d->keepalive_us * (i / burst * burst) / d->held->len;
    }
}

/* Sends the keepalives that are due; returns the time of the next one (or G_MAXINT64). */
static gint64
driver_keepalives (Driver *d)
{
  gint64 now = g_get_monotonic_time ();

  if (d->keepalive_us == 0 || d->held->len == 0)
    return G_MAXINT64;
  for (;;)
    {
      Client *c = g_ptr_array_index (d->held, d->keepalive_next);

      if (c->next_keepalive > now)
        return c->next_keepalive;
      client_keepalive (c);
      c->next_keepalive += d->keepalive_us;
      d->keepalive_next = (d->keepalive_next + 1) % d->held->len;
    }
}

static void
driver_iterate (Driver *d,
                gint64  deadline)
{
  struct epoll_event evs[256];
  gint64 next = MIN (deadline, driver_keepalives (d));
  gint64 now = g_get_monotonic_time ();
  int timeout = next <= now ? 0 : (int) MIN ((next - now + 999) / 1000, 1000);
  int n = epoll_wait (d->epfd, evs, G_N_ELEMENTS (evs), timeout);

  for (int i = 0; i < n; i++)
    client_event (evs[i].data.ptr, evs[i].events);
}

gboolean
driver_run_until (Driver     *d,
                  DriverCond  cond,
                  gpointer    data,
                  guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (cond == NULL || !cond (d, data))
    {
      if (g_get_monotonic_time () >= deadline)
        return cond != NULL && cond (d, data);
      driver_iterate (d, deadline);
    }
  return TRUE;
}

void
driver_run_for (Driver *d,
                guint   ms)
{
  driver_run_until (d, NULL, NULL, ms);
}

typedef struct
{
  Client *c;
  ClientState state;
} StateWait;

static gboolean
state_reached (Driver  *d,
               gpointer data)
{
  StateWait *w = data;

  return w->c->state == w->state || w->c->state == CLIENT_FAILED
         || (w->c->state == CLIENT_CLOSED && w->state != CLIENT_CLOSED);
}

gboolean
driver_wait_state (Driver      *d,
                   Client      *c,
                   ClientState  state,
                   guint        timeout_ms)
{
  StateWait w = { c, state };

  return driver_run_until (d, state_reached, &w, timeout_ms) && c->state == state;
}

typedef struct
{
  guint from, n;
} RampWait;

static guint
count_state (Driver     *d,
             guint       from,
             ClientState state)
{
  guint n = 0;

  for (guint i = from; i < d->clients->len; i++)
    n += ((Client *) g_ptr_array_index (d->clients, i))->state == state;
  return n;
}

/* Starts @n clients (@user_prefix + index) into @room, at most RAMP_IN_FLIGHT logging
 * in at once; they become d->held. Returns how many reached READY. */
guint
driver_ramp (Driver     *d,
             guint       n,
             const char *room,
             const char *user_prefix,
             gboolean    presence,
             guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint from = d->clients->len, started = 0, ready = 0;

  while (g_get_monotonic_time () < deadline)
    {
      guint in_flight = 0, failed = 0;

      ready = 0;
      for (guint i = from; i < d->clients->len; i++)
        {
          ClientState s = ((Client *) g_ptr_array_index (d->clients, i))->state;

          ready += s == CLIENT_READY;
          failed += s == CLIENT_FAILED || s == CLIENT_CLOSED;
          in_flight += s < CLIENT_READY;
        }
      if (ready + failed == n)
        break;
      while (started < n && in_flight < RAMP_IN_FLIGHT)
        {
          g_autofree char *user = g_strdup_printf ("%s%u", user_prefix, started);

          g_ptr_array_add (d->held, driver_client_start (d, room, user, presence));
          started++;
          in_flight++;
        }
      driver_iterate (d, deadline);
    }
  return count_state (d, from, CLIENT_READY);
}

/* From now on, count the members of held that receive a message with both @a and @b. */
void
driver_probe_arm (Driver     *d,
                  const char *a,
                  const char *b)
{
  g_free (d->probe_a);
  g_free (d->probe_b);
  d->probe_a = g_strdup (a);
  d->probe_b = g_strdup (b);
  d->probe_gen++;
  d->probe_hits = 0;
}

static gboolean
probe_complete (Driver  *d,
                gpointer data)
{
  return d->probe_hits >= GPOINTER_TO_UINT (data);
}

gboolean
driver_probe_wait (Driver *d,
                   guint   n,
                   guint   timeout_ms)
{
  return driver_run_until (d, probe_complete, GUINT_TO_POINTER (n), timeout_ms);
}

/* The last member's receive time of the probe, after @t_sent (monotonic µs) as parsed
 * by the client, and after @rt_sent (realtime ns) as stamped by the kernel. */
void
driver_probe_result (Driver *d,
                     gint64  t_sent,
                     gint64  rt_sent,
                     double *client_ms,
                     double *wire_ms)
{
  gint64 last_mono = 0, last_wire = 0;

  for (guint i = 0; i < d->held->len; i++)
    {
      Client *c = g_ptr_array_index (d->held, i);

      if (c->probe_gen != d->probe_gen)
        continue;
      last_mono = MAX (last_mono, c->probe_mono);
      last_wire = MAX (last_wire, c->probe_wire);
    }
  *client_ms = (last_mono - t_sent) / 1000.0;
  *wire_ms = (last_wire - rt_sent) / 1e6;
}

/* Janus: the videoroom "leave" (then "destroy" when it is answered); Tether: "logout". */
void
client_leave (Client *c)
{
  g_autofree char *text = NULL;

  if (c->state != CLIENT_READY)
    {
      client_close (c);
      return;
    }
  if (c->driver->kind == PEER_TETHER)
    text = g_strdup ("{\"type\":\"logout\"}");
  else
    text = g_strdup_printf ("{\"janus\":\"message\",\"session_id\":%" G_GUINT64_FORMAT
                            ",\"handle_id\":%" G_GUINT64_FORMAT ",\"transaction\":\"leave\","
                            "\"body\":{\"request\":\"leave\"}}",
                            c->session_id, c->handle_id);
  c->state = CLIENT_LEAVING;
  c->t_leave_sent = g_get_monotonic_time ();
  c->rt_leave_sent = realtime_ns ();
  client_send_text (c, text);
}

static gboolean
all_closed (Driver  *d,
            gpointer data)
{
  for (guint i = 0; i < d->clients->len; i++)
    if (((Client *) g_ptr_array_index (d->clients, i))->fd >= 0)
      return FALSE;
  return TRUE;
}

/* Every client leaves (as client_leave()), RAMP_IN_FLIGHT at a time; the sockets close
 * when the server has answered. Returns how many had to be cut instead. */
guint
driver_leave_all (Driver *d,
                  guint   timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint cut = 0, next = 0;

  d->keepalive_us = 0;
  while (g_get_monotonic_time () < deadline && !all_closed (d, NULL))
    {
      guint leaving = 0;

      for (guint i = 0; i < d->clients->len; i++)
        leaving += ((Client *) g_ptr_array_index (d->clients, i))->state == CLIENT_LEAVING;
      while (next < d->clients->len && leaving < RAMP_IN_FLIGHT)
        {
          Client *c = g_ptr_array_index (d->clients, next++);

          if (c->fd >= 0)
            {
              client_leave (c);
              leaving++;
            }
        }
      driver_iterate (d, MIN (deadline, g_get_monotonic_time () + 50000));
    }
  for (guint i = 0; i < d->clients->len; i++)
    {
      Client *c = g_ptr_array_index (d->clients, i);

      if (c->fd >= 0)
        {
          cut++;
          client_close (c);
        }
    }
  return cut;
}
