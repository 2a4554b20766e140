/* test-fault-proxy.c: the fault proxies really forward, blackhole, reset and
 * refuse, since every reconnection test relies on them
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "tether-fault-proxy.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

/* How long "nothing arrives" is watched for. A behaviour window: not scaled. */
#define SILENCE_MS 300
/* Deadline for things that must happen. Scaled. */
#define DEADLINE_MS 5000

typedef struct
{
  GSocket *target;        /* listening, stands in for the server */
  guint16 target_port;
  TetherFaultProxy *proxy;
} Fixture;

static GSocket *
listen_on_loopback (GSocketType      type,
                    GSocketProtocol  protocol,
                    guint16         *out_port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, protocol, &error);

  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  if (type == G_SOCKET_TYPE_STREAM)
    {
      g_socket_listen (socket, &error);
      g_assert_no_error (error);
    }
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  return socket;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->target = listen_on_loopback (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &f->target_port);
  f->proxy = tether_fault_proxy_new ("127.0.0.1", f->target_port);
  g_assert_cmpuint (tether_fault_proxy_get_port (f->proxy), !=, 0);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->proxy);
  g_socket_close (f->target, NULL);
  g_clear_object (&f->target);
}

/* A blocking client socket connected to @port on 127.0.0.1. */
static GSocket *
connect_to (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);

  return socket;
}

static gboolean
wait_readable (GSocket *socket,
               guint    ms)
{
  return g_socket_condition_timed_wait (socket, G_IO_IN, (gint64) ms * 1000, NULL, NULL);
}

/* The connection the proxy made to the target, accepted. */
static GSocket *
accept_at (GSocket *listener)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  g_assert_true (wait_readable (listener, tether_test_scaled_ms (DEADLINE_MS)));
  socket = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);

  return socket;
}

static void
send_text (GSocket    *socket,
           const char *text)
{
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_send (socket, text, strlen (text), NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, ==, (gssize) strlen (text));
}

static void
assert_receives (GSocket    *socket,
                 const char *text)
{
  gsize want = strlen (text);
  g_autofree char *got = g_malloc0 (want + 1);
  gsize have = 0;

  while (have < want)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      g_assert_true (wait_readable (socket, tether_test_scaled_ms (DEADLINE_MS)));
      n = g_socket_receive (socket, got + have, want - have, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      have += n;
    }
  g_assert_cmpstr (got, ==, text);
}

/* Nothing to read for SILENCE_MS, and no sign of a close or an error either. */
static void
assert_silent_but_open (GSocket *socket)
{
  g_assert_false (wait_readable (socket, SILENCE_MS));
  g_assert_cmpint (g_socket_condition_check (socket, G_IO_IN | G_IO_HUP | G_IO_ERR), ==, 0);
}

static void
assert_eof (GSocket *socket)
{
  g_autoptr(GError) error = NULL;
  char c;

  g_assert_true (wait_readable (socket, tether_test_scaled_ms (DEADLINE_MS)));
  g_assert_cmpint (g_socket_receive (socket, &c, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* An RST, not a FIN: reading fails with ECONNRESET. */
static void
assert_reset (GSocket *socket)
{
  char c;
  ssize_t n;

  g_assert_true (wait_readable (socket, tether_test_scaled_ms (DEADLINE_MS)));
  n = recv (g_socket_get_fd (socket), &c, 1, MSG_DONTWAIT);
  g_assert_cmpint (n, ==, -1);
  g_assert_cmpint (errno, ==, ECONNRESET);
}

/* Connects to @port and expects the connection to be reset. Under load the
 * RST can come before the connecting thread has looked at the handshake, and
 * then it is connect() that reports it. */
static void
assert_connect_reset (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);

  if (g_socket_connect (socket, address, NULL, &error))
    assert_reset (socket);
  else
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

static void
close_socket (GSocket **socket)
{
  if (*socket == NULL)
    return;
  g_socket_close (*socket, NULL);
  g_clear_object (socket);
}

/* A client connected through the proxy, and the target's end of it. */
static void
open_pair (Fixture  *f,
           GSocket **client,
           GSocket **server)
{
  *client = connect_to (tether_fault_proxy_get_port (f->proxy));
  *server = accept_at (f->target);
}

typedef struct
{
  GSocket *socket;
  const char *data;
  gsize len;
} SendJob;

static gpointer
send_all_thread (gpointer data)
{
  SendJob *job = data;
  gsize sent = 0;

  while (sent < job->len)
    {
      gssize n = g_socket_send (job->socket, job->data + sent, job->len - sent, NULL, NULL);

      if (n <= 0)
        return GINT_TO_POINTER (FALSE);
      sent += n;
    }
  return GINT_TO_POINTER (TRUE);
}

static void
assert_receives_bytes (GSocket    *socket,
                       const char *data,
                       gsize       len)
{
  g_autofree char *got = g_malloc (len);
  gsize have = 0;

  while (have < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      g_assert_true (wait_readable (socket, tether_test_scaled_ms (DEADLINE_MS)));
      n = g_socket_receive (socket, got + have, len - have, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      have += n;
    }
  g_assert_cmpmem (got, len, data, len);
}

static void
test_forward (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  gsize big_len = 4 * 1024 * 1024;
  g_autofree char *big = g_malloc (big_len);
  SendJob job;
  GThread *sender;

  open_pair (f, &client, &server);
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 1, DEADLINE_MS);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, 1);

  send_text (client, "hello");
  assert_receives (server, "hello");
  send_text (server, "welcome");
  assert_receives (client, "welcome");

  /* far more than the proxy and the socket buffers hold, both ways: flow
   * control must hold data back, never drop or reorder it */
  for (gsize i = 0; i < big_len; i++)
    big[i] = (char) (i * 7 + i / 4096);
  job = (SendJob) { client, big, big_len };
  sender = g_thread_new ("sender", send_all_thread, &job);
  assert_receives_bytes (server, big, big_len);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (sender)));

  job = (SendJob) { server, big, big_len };
  sender = g_thread_new ("sender", send_all_thread, &job);
  assert_receives_bytes (client, big, big_len);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (sender)));

  close_socket (&client);
  assert_eof (server);
  close_socket (&server);
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 0, DEADLINE_MS);
}

/* A FIN one way leaves the other way working, as TCP allows. */
static void
test_half_close (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GError) error = NULL;

  open_pair (f, &client, &server);
  send_text (client, "request");
  g_socket_shutdown (client, FALSE, TRUE, &error);
  g_assert_no_error (error);

  assert_receives (server, "request");
  assert_eof (server);
  send_text (server, "response");
  assert_receives (client, "response");
  close_socket (&server);
  assert_eof (client);
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 0, DEADLINE_MS);
}

static void
test_cut_blackholes (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) late_client = NULL;
  g_autoptr(GSocket) late_server = NULL;

  open_pair (f, &client, &server);
  send_text (client, "before");
  assert_receives (server, "before");

  tether_fault_proxy_cut (f->proxy);

  /* nothing flows either way, and neither end hears of a close */
  send_text (client, "lost-up");
  send_text (server, "lost-down");
  assert_silent_but_open (server);
  assert_silent_but_open (client);
  g_assert_cmpuint (tether_fault_proxy_get_open_count (f->proxy), ==, 1);

  /* a new connection is taken but goes nowhere */
  late_client = connect_to (tether_fault_proxy_get_port (f->proxy));
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_accepted_count (f->proxy) == 2, DEADLINE_MS);
  send_text (late_client, "knock");
  g_assert_false (wait_readable (f->target, SILENCE_MS));
  assert_silent_but_open (late_client);

  /* still silent a while later: the cut is not a slow close */
  assert_silent_but_open (server);
  assert_silent_but_open (client);

  tether_fault_proxy_restore (f->proxy);

  /* the connection that lost bytes is reset at both ends… */
  assert_reset (client);
  assert_reset (server);
  /* …while the one made during the cut lost nothing: it reaches the target now */
  late_server = accept_at (f->target);
  assert_receives (late_server, "knock");
  send_text (late_server, "who is there");
  assert_receives (late_client, "who is there");
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 1, DEADLINE_MS);
}

static void
test_cut_resume (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;

  open_pair (f, &client, &server);
  tether_fault_proxy_cut (f->proxy);
  send_text (client, "held-up");
  send_text (server, "held-down");
  assert_silent_but_open (server);
  assert_silent_but_open (client);

  tether_fault_proxy_resume (f->proxy);
  assert_receives (server, "held-up");
  assert_receives (client, "held-down");
  send_text (client, "after");
  assert_receives (server, "after");
}

static void
test_reset (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) client2 = NULL;
  g_autoptr(GSocket) server2 = NULL;

  open_pair (f, &client, &server);
  send_text (client, "ping");
  assert_receives (server, "ping");
  open_pair (f, &client2, &server2);
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 2, DEADLINE_MS);

  tether_fault_proxy_reset (f->proxy);
  assert_reset (client);
  assert_reset (server);
  assert_reset (client2);
  assert_reset (server2);
  g_assert_cmpuint (tether_fault_proxy_get_open_count (f->proxy), ==, 0);

  /* only the current connections: new ones work */
  close_socket (&client);
  close_socket (&server);
  open_pair (f, &client, &server);
  send_text (client, "again");
  assert_receives (server, "again");
}

/* A reset during a cut aborts the silent connections too. */
static void
test_reset_during_cut (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;

  open_pair (f, &client, &server);
  tether_fault_proxy_cut (f->proxy);
  send_text (client, "lost");
  tether_fault_proxy_reset (f->proxy);
  assert_reset (client);
  assert_reset (server);
}

static void
test_refuse (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) client2 = NULL;
  g_autoptr(GSocket) server2 = NULL;

  open_pair (f, &client, &server);
  tether_fault_proxy_refuse (f->proxy);

  assert_connect_reset (tether_fault_proxy_get_port (f->proxy));
  g_assert_false (wait_readable (f->target, SILENCE_MS));
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, 2);

  /* connections made before are left alone */
  send_text (client, "still here");
  assert_receives (server, "still here");

  tether_fault_proxy_restore (f->proxy);
  open_pair (f, &client2, &server2);
  send_text (client2, "welcome back");
  assert_receives (server2, "welcome back");
  g_assert_cmpuint (tether_fault_proxy_get_open_count (f->proxy), ==, 2);
}

/* With nothing listening at the target, the client is reset. */
static void
test_target_down (Fixture       *f,
                  gconstpointer  data)
{
  tether_fault_proxy_set_target_port (f->proxy, 1);   /* nobody listens on port 1 */
  assert_connect_reset (tether_fault_proxy_get_port (f->proxy));
  TETHER_WAIT_UNTIL (tether_fault_proxy_get_open_count (f->proxy) == 0, DEADLINE_MS);
}

/* A server restarted on another port: new connections follow it. */
static void
test_set_target_port (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) client2 = NULL;
  g_autoptr(GSocket) server2 = NULL;
  g_autoptr(GSocket) target2 = NULL;
  guint16 port2;

  open_pair (f, &client, &server);
  target2 = listen_on_loopback (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &port2);
  tether_fault_proxy_set_target_port (f->proxy, port2);

  client2 = connect_to (tether_fault_proxy_get_port (f->proxy));
  server2 = accept_at (target2);
  g_assert_false (wait_readable (f->target, SILENCE_MS));
  send_text (client2, "new home");
  assert_receives (server2, "new home");

  /* the old connection still goes where it went */
  send_text (client, "old home");
  assert_receives (server, "old home");

  close_socket (&target2);
}

static void
test_url (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *url = tether_fault_proxy_get_ws_url (f->proxy);
  g_autofree char *expected = g_strdup_printf ("ws://127.0.0.1:%u/ws",
                                               tether_fault_proxy_get_port (f->proxy));

  g_assert_cmpstr (url, ==, expected);
}

typedef struct
{
  GSocket *target;
  guint16 target_port;
  GSocket *client;
  TetherUdpFaultProxy *proxy;
  GSocketAddress *proxy_address;
} UdpFixture;

static void
udp_setup (UdpFixture    *f,
           gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint16 client_port;

  f->target = listen_on_loopback (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &f->target_port);
  f->client = listen_on_loopback (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &client_port);
  f->proxy = tether_udp_fault_proxy_new ("127.0.0.1", f->target_port);
  f->proxy_address = g_inet_socket_address_new (loopback, tether_udp_fault_proxy_get_port (f->proxy));
}

static void
udp_teardown (UdpFixture    *f,
              gconstpointer  data)
{
  g_clear_object (&f->proxy);
  g_clear_object (&f->proxy_address);
  close_socket (&f->target);
  close_socket (&f->client);
}

static void
udp_send (GSocket        *socket,
          GSocketAddress *to,
          const char     *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send_to (socket, to, text, strlen (text), NULL, &error),
                   ==, (gssize) strlen (text));
  g_assert_no_error (error);
}

/* Receives one datagram, which must be @text; returns its sender. */
static GSocketAddress *
udp_receive (GSocket    *socket,
             const char *text)
{
  g_autoptr(GError) error = NULL;
  GSocketAddress *from = NULL;
  char buffer[2048];
  gssize n;

  g_assert_true (wait_readable (socket, tether_test_scaled_ms (DEADLINE_MS)));
  n = g_socket_receive_from (socket, &from, buffer, sizeof buffer - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, >=, 0);
  buffer[n] = '\0';
  g_assert_cmpstr (buffer, ==, text);

  return from;
}

static guint16
port_of (GSocketAddress *address)
{
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

static void
test_udp_cut_restore (UdpFixture    *f,
                      gconstpointer  data)
{
  g_autoptr(GSocketAddress) peer = NULL;
  g_autoptr(GSocketAddress) from_proxy = NULL;
  g_autoptr(GSocketAddress) peer_again = NULL;
  g_autoptr(GSocketAddress) from_proxy_again = NULL;

  /* forwarding both ways; the reply comes from the proxy's port */
  udp_send (f->client, f->proxy_address, "srt-handshake");
  peer = udp_receive (f->target, "srt-handshake");
  udp_send (f->target, peer, "srt-conclusion");
  from_proxy = udp_receive (f->client, "srt-conclusion");
  g_assert_cmpuint (port_of (from_proxy), ==, tether_udp_fault_proxy_get_port (f->proxy));
  g_assert_cmpuint (tether_udp_fault_proxy_get_client_count (f->proxy), ==, 1);
  /* the counter moves just after the send: wait for it */
  TETHER_WAIT_UNTIL (tether_udp_fault_proxy_get_forwarded_count (f->proxy) == 2, DEADLINE_MS);

  /* cut: datagrams vanish both ways */
  tether_udp_fault_proxy_cut (f->proxy);
  udp_send (f->client, f->proxy_address, "lost-up");
  udp_send (f->target, peer, "lost-down");
  g_assert_false (wait_readable (f->target, SILENCE_MS));
  g_assert_false (wait_readable (f->client, SILENCE_MS));
  TETHER_WAIT_UNTIL (tether_udp_fault_proxy_get_dropped_count (f->proxy) == 2, DEADLINE_MS);

  /* restore: flowing again, same client, nothing late from the cut */
  tether_udp_fault_proxy_restore (f->proxy);
  udp_send (f->client, f->proxy_address, "keepalive");
  peer_again = udp_receive (f->target, "keepalive");
  g_assert_cmpuint (port_of (peer_again), ==, port_of (peer));
  udp_send (f->target, peer, "ack");
  from_proxy_again = udp_receive (f->client, "ack");
  g_assert_cmpuint (tether_udp_fault_proxy_get_client_count (f->proxy), ==, 1);
  TETHER_WAIT_UNTIL (tether_udp_fault_proxy_get_forwarded_count (f->proxy) == 4, DEADLINE_MS);
}

/* Each client address gets its own upstream port, as without the proxy. */
static void
test_udp_two_clients (UdpFixture    *f,
                      gconstpointer  data)
{
  g_autoptr(GSocket) other = NULL;
  g_autoptr(GSocketAddress) peer1 = NULL;
  g_autoptr(GSocketAddress) peer2 = NULL;
  g_autoptr(GSocketAddress) from1 = NULL;
  g_autoptr(GSocketAddress) from2 = NULL;
  guint16 other_port;

  other = listen_on_loopback (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &other_port);
  udp_send (f->client, f->proxy_address, "one");
  peer1 = udp_receive (f->target, "one");
  udp_send (other, f->proxy_address, "two");
  peer2 = udp_receive (f->target, "two");
  g_assert_cmpuint (port_of (peer1), !=, port_of (peer2));

  udp_send (f->target, peer2, "to-two");
  udp_send (f->target, peer1, "to-one");
  from2 = udp_receive (other, "to-two");
  from1 = udp_receive (f->client, "to-one");
  g_assert_cmpuint (tether_udp_fault_proxy_get_client_count (f->proxy), ==, 2);

  /* a media node restarted on another port */
  {
    g_autoptr(GSocket) target2 = NULL;
    g_autoptr(GSocketAddress) peer = NULL;
    guint16 port2;

    target2 = listen_on_loopback (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &port2);
    tether_udp_fault_proxy_set_target_port (f->proxy, port2);
    udp_send (f->client, f->proxy_address, "moved");
    peer = udp_receive (target2, "moved");
    close_socket (&target2);
  }
  close_socket (&other);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/fault-proxy/forward", test_forward);
  ADD ("/fault-proxy/half-close", test_half_close);
  ADD ("/fault-proxy/cut/blackholes", test_cut_blackholes);
  ADD ("/fault-proxy/cut/resume", test_cut_resume);
  ADD ("/fault-proxy/reset", test_reset);
  ADD ("/fault-proxy/reset-during-cut", test_reset_during_cut);
  ADD ("/fault-proxy/refuse", test_refuse);
  ADD ("/fault-proxy/target-down", test_target_down);
  ADD ("/fault-proxy/set-target-port", test_set_target_port);
  ADD ("/fault-proxy/url", test_url);
#undef ADD

  g_test_add ("/udp-fault-proxy/cut-restore", UdpFixture, NULL,
              udp_setup, test_udp_cut_restore, udp_teardown);
  g_test_add ("/udp-fault-proxy/two-clients", UdpFixture, NULL,
              udp_setup, test_udp_two_clients, udp_teardown);

  return g_test_run ();
}
