/* tether-udp-fault-proxy.c: a UDP forwarder with a cut switch, run in a thread of
 * its own
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

/*
 * One socket faces the clients; each client address gets a socket of its own
 * facing the target, so the target sees one peer per client as it would
 * without the proxy. While cut, datagrams are still read (so nothing piles up
 * to be delivered late) and dropped: that is what a dead link does to UDP.
 */

#define MAX_DATAGRAM 65536
#define SRT_HEADER_SIZE 16
#define TS_PACKET_SIZE 188

typedef struct
{
  TetherUdpFaultProxy *proxy;
  GSocketAddress *client_address;
  GSocket *upstream;
  GSource *source;
} Peer;

struct _TetherUdpFaultProxy
{
  GObject parent_instance;

  TetherTestThread *thread;
  guint16 port;
  int clients;
  int forwarded;
  int dropped;
  int srt_data[2];   /* [0] to the target, [1] to the clients */
  int srt_ts[2];

  /* proxy thread only */
  GInetAddress *target_address;
  guint16 target_port;
  GSocket *socket;
  GSource *source;
  GHashTable *peers;   /* "ip:port" → Peer */
  gboolean cut;
  guint loss_percent;  /* of datagrams dropped at random, both ways */
  guint8 *buffer;      /* MAX_DATAGRAM bytes */
};

G_DEFINE_FINAL_TYPE (TetherUdpFaultProxy, tether_udp_fault_proxy, G_TYPE_OBJECT)

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  g_source_destroy (peer->source);
  g_source_unref (peer->source);
  g_socket_close (peer->upstream, NULL);
  g_object_unref (peer->upstream);
  g_object_unref (peer->client_address);
  g_free (peer);
}

/* Counts a forwarded datagram that is an SRT data packet, and whether its payload
 * is plain MPEG-TS. */
static void
tally_srt (TetherUdpFaultProxy *self,
           guint                direction,
           const guint8        *datagram,
           gsize                len)
{
  const guint8 *payload = datagram + SRT_HEADER_SIZE;
  gsize payload_len = len - SRT_HEADER_SIZE;
  gboolean ts;

  if (len <= SRT_HEADER_SIZE || (datagram[0] & 0x80) != 0)
    return;   /* a control packet */
  if (payload_len < 2 * TS_PACKET_SIZE)
    return;   /* too short to tell AES from TS: 1 in 256 would look like TS */
  ts = payload_len % TS_PACKET_SIZE == 0;
  for (gsize off = 0; ts && off < payload_len; off += TS_PACKET_SIZE)
    ts = payload[off] == 0x47;
  g_atomic_int_inc (&self->srt_data[direction]);
  if (ts)
    g_atomic_int_inc (&self->srt_ts[direction]);
}

static char *
address_key (GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));

  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
}

/* Whether the random loss takes this datagram (the proxy's thread). */
static gboolean
lost (TetherUdpFaultProxy *self)
{
  return self->loss_percent > 0 && (guint) g_random_int_range (0, 100) < self->loss_percent;
}

/* A datagram from the target, for one client. */
static gboolean
upstream_in_cb (GSocket      *socket,
                GIOCondition  condition,
                gpointer      data)
{
  Peer *peer = data;
  TetherUdpFaultProxy *self = peer->proxy;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (char *) self->buffer, MAX_DATAGRAM, NULL, &error);

      if (n < 0)
        break;   /* would block, or an ICMP error from the target: nothing to pass on */
      if (self->cut || lost (self)
          || g_socket_send_to (self->socket, peer->client_address, (const char *) self->buffer, n,
                               NULL, NULL) < 0)
        g_atomic_int_inc (&self->dropped);
      else
        {
          g_atomic_int_inc (&self->forwarded);
          tally_srt (self, 1, self->buffer, n);
        }
    }
  return G_SOURCE_CONTINUE;
}

static Peer *
peer_new (TetherUdpFaultProxy *self,
          GSocketAddress      *client_address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any_address = g_inet_address_new_any (g_inet_address_get_family (self->target_address));
  g_autoptr(GSocketAddress) any = NULL;
  Peer *peer = g_new0 (Peer, 1);

  peer->proxy = self;
  peer->client_address = g_object_ref (client_address);
  peer->upstream = g_socket_new (g_inet_address_get_family (self->target_address),
                                 G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (peer->upstream, FALSE);
  any = g_inet_socket_address_new (any_address, 0);
  g_socket_bind (peer->upstream, any, FALSE, &error);
  g_assert_no_error (error);

  peer->source = g_socket_create_source (peer->upstream, G_IO_IN, NULL);
  g_source_set_callback (peer->source, G_SOURCE_FUNC (upstream_in_cb), peer, NULL);
  g_source_set_name (peer->source, "[tether-udp-fault-proxy] upstream");
  g_source_attach (peer->source, g_main_context_get_thread_default ());

  return peer;
}

/* A datagram from a client, for the target. */
static gboolean
client_in_cb (GSocket      *socket,
              GIOCondition  condition,
              gpointer      data)
{
  TetherUdpFaultProxy *self = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GSocketAddress) target = NULL;
      g_autofree char *key = NULL;
      gssize n;
      Peer *peer;

      n = g_socket_receive_from (socket, &from, (char *) self->buffer, MAX_DATAGRAM,
                                 NULL, &error);
      if (n < 0)
        break;
      if (self->cut || lost (self))
        {
          g_atomic_int_inc (&self->dropped);
          continue;
        }

      key = address_key (from);
      peer = g_hash_table_lookup (self->peers, key);
      if (peer == NULL)
        {
          peer = peer_new (self, from);
          g_hash_table_insert (self->peers, g_steal_pointer (&key), peer);
          g_atomic_int_inc (&self->clients);
        }

      target = g_inet_socket_address_new (self->target_address, self->target_port);
      if (g_socket_send_to (peer->upstream, target, (const char *) self->buffer, n, NULL, NULL) < 0)
        g_atomic_int_inc (&self->dropped);
      else
        {
          g_atomic_int_inc (&self->forwarded);
          tally_srt (self, 0, self->buffer, n);
        }
    }
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  TetherUdpFaultProxy *self;
  const char *host;
} Start;

static void
start_in_thread (gpointer data)
{
  Start *start = data;
  TetherUdpFaultProxy *self = start->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  self->target_address = g_inet_address_new_from_string (start->host);
  if (self->target_address == NULL)
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();
      GList *addresses = g_resolver_lookup_by_name (resolver, start->host, NULL, &error);

      g_assert_no_error (error);
      self->target_address = g_object_ref (addresses->data);
      g_resolver_free_addresses (addresses);
    }

  self->buffer = g_malloc (MAX_DATAGRAM);
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, peer_free);
  self->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                               G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (self->socket, FALSE);
  g_socket_bind (self->socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (self->socket, &error);
  g_assert_no_error (error);
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (client_in_cb), self, NULL);
  g_source_set_name (self->source, "[tether-udp-fault-proxy] clients");
  g_source_attach (self->source, g_main_context_get_thread_default ());
}

static void
stop_in_thread (gpointer data)
{
  TetherUdpFaultProxy *self = data;

  g_clear_pointer (&self->peers, g_hash_table_unref);
  if (self->source != NULL)
    g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
  g_clear_object (&self->target_address);
  g_clear_pointer (&self->buffer, g_free);
}

static void
tether_udp_fault_proxy_finalize (GObject *object)
{
  TetherUdpFaultProxy *self = TETHER_UDP_FAULT_PROXY (object);

  tether_test_thread_invoke_sync (self->thread, stop_in_thread, self);
  g_clear_pointer (&self->thread, tether_test_thread_free);

  G_OBJECT_CLASS (tether_udp_fault_proxy_parent_class)->finalize (object);
}

static void
tether_udp_fault_proxy_class_init (TetherUdpFaultProxyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tether_udp_fault_proxy_finalize;
}

static void
tether_udp_fault_proxy_init (TetherUdpFaultProxy *self)
{
}

/**
 * tether_udp_fault_proxy_new:
 * @target_host: where to forward to, e.g. "127.0.0.1"
 * @target_port: and on which port
 *
 * Starts forwarding datagrams sent to 127.0.0.1 on an ephemeral port (see
 * tether_udp_fault_proxy_get_port()) to the target, and the target's replies
 * back to the client they answer.
 *
 * Returns: (transfer full): the proxy; unref it to stop it
 */
TetherUdpFaultProxy *
tether_udp_fault_proxy_new (const char *target_host,
                            guint16     target_port)
{
  TetherUdpFaultProxy *self;
  Start start = { NULL, target_host };

  g_return_val_if_fail (target_host != NULL, NULL);

  self = g_object_new (TETHER_TYPE_UDP_FAULT_PROXY, NULL);
  self->target_port = target_port;
  self->thread = tether_test_thread_new ("udp-fault-proxy");
  start.self = self;
  tether_test_thread_invoke_sync (self->thread, start_in_thread, &start);

  return self;
}

guint16
tether_udp_fault_proxy_get_port (TetherUdpFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_UDP_FAULT_PROXY (self), 0);

  return self->port;
}

typedef struct
{
  TetherUdpFaultProxy *self;
  guint16 port;
  gboolean cut;
} Change;

static void
set_target_port_in_thread (gpointer data)
{
  Change *change = data;

  change->self->target_port = change->port;
}

/* Datagrams from now on go to @target_port, for existing clients too. */
void
tether_udp_fault_proxy_set_target_port (TetherUdpFaultProxy *self,
                                        guint16              target_port)
{
  Change change = { self, target_port };

  g_return_if_fail (TETHER_IS_UDP_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, set_target_port_in_thread, &change);
}

static void
set_cut_in_thread (gpointer data)
{
  Change *change = data;

  change->self->cut = change->cut;
}

/* Drops every datagram, both ways, until tether_udp_fault_proxy_restore(). */
void
tether_udp_fault_proxy_cut (TetherUdpFaultProxy *self)
{
  Change change = { self, 0, TRUE };

  g_return_if_fail (TETHER_IS_UDP_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, set_cut_in_thread, &change);
}

void
tether_udp_fault_proxy_restore (TetherUdpFaultProxy *self)
{
  Change change = { self, 0, FALSE };

  g_return_if_fail (TETHER_IS_UDP_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, set_cut_in_thread, &change);
}

static void
set_loss_in_thread (gpointer data)
{
  Change *change = data;

  change->self->loss_percent = change->port;
}

/* Drops @percent of the datagrams at random, both ways, from now on (0: none). */
void
tether_udp_fault_proxy_set_loss (TetherUdpFaultProxy *self,
                                 guint                percent)
{
  Change change = { self, MIN (percent, 100) };

  g_return_if_fail (TETHER_IS_UDP_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, set_loss_in_thread, &change);
}

/* Distinct client addresses seen so far. */
guint
tether_udp_fault_proxy_get_client_count (TetherUdpFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_UDP_FAULT_PROXY (self), 0);

  return g_atomic_int_get (&self->clients);
}

/* Datagrams passed on, both directions. */
guint
tether_udp_fault_proxy_get_forwarded_count (TetherUdpFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_UDP_FAULT_PROXY (self), 0);

  return g_atomic_int_get (&self->forwarded);
}

/* Datagrams dropped, both directions: during a cut, or failing to send. */
guint
tether_udp_fault_proxy_get_dropped_count (TetherUdpFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_UDP_FAULT_PROXY (self), 0);

  return g_atomic_int_get (&self->dropped);
}

/* The SRT data packets forwarded so far, and those whose payload is plain MPEG-TS. */
void
tether_udp_fault_proxy_get_srt_tally (TetherUdpFaultProxy *self,
                                      TetherUdpSrtTally   *to_target,
                                      TetherUdpSrtTally   *to_clients)
{
  g_return_if_fail (TETHER_IS_UDP_FAULT_PROXY (self));

  to_target->data_packets = g_atomic_int_get (&self->srt_data[0]);
  to_target->ts_packets = g_atomic_int_get (&self->srt_ts[0]);
  to_clients->data_packets = g_atomic_int_get (&self->srt_data[1]);
  to_clients->ts_packets = g_atomic_int_get (&self->srt_ts[1]);
}

guint16
tether_udp_free_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}
