/* tether-server-accept.c: the room service's listening sockets — its own accept loop,
 * per-address connection caps and the deadline for a request to become a WebSocket
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tether-server-private.h"

/*
 * Why not soup_server_listen(): libsoup 3.2's listener drops its accept source for
 * good on the first failed accept (EMFILE when descriptors run out), and a
 * connection that never finishes its request is kept forever. So the server accepts
 * by itself and hands each connection to libsoup with soup_server_accept_iostream(),
 * wrapped in a TetherGuardStream that counts its bytes. Every accepted connection has
 * a TetherServerLink until libsoup lets go of it (the guard is finalized): that is
 * what the per-address cap counts, and what the request deadline cuts. On a TLS port
 * the handshake comes first (tether-server-tls.c), under the same deadline.
 */

#define LISTEN_BACKLOG 4096
/* How long accepting pauses when the process is out of descriptors. */
#define ACCEPT_PAUSE_MS 100
/* Connections accepted per wake-up, so one flood cannot starve everything else. */
#define ACCEPT_BATCH 64
/* What an HTTP request (the upgrade included) may send before it is answered. */
#define HTTP_INPUT_BUDGET (64 * 1024)

struct _TetherServerListener
{
  TetherServer *server;
  SoupServer   *soup;
  GSocket      *socket;
  GSource      *source;        /* accept readiness, or the pause timer */
  gint64        last_warning;
};

static gboolean accept_cb (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
listener_watch (TetherServerListener *listener)
{
  g_clear_pointer (&listener->source, g_source_destroy);
  listener->source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_name (listener->source, "[tether] accept");
  g_source_set_callback (listener->source, G_SOURCE_FUNC (accept_cb), listener, NULL);
  g_source_attach (listener->source, listener->server->context);
  g_source_unref (listener->source);
}

static gboolean
resume_cb (gpointer user_data)
{
  TetherServerListener *listener = user_data;

  listener->source = NULL;
  listener_watch (listener);
  return G_SOURCE_REMOVE;
}

/* Out of descriptors: the listener stays, accepting waits a little and tries again
 * (the kernel keeps completing handshakes in the backlog meanwhile). */
static void
listener_pause (TetherServerListener *listener,
                const GError         *error)
{
  gint64 now = g_get_monotonic_time ();

  if (now - listener->last_warning > 10 * G_USEC_PER_SEC)
    {
      g_warning ("cannot accept connections: %s; trying again every %d ms", error->message,
                 ACCEPT_PAUSE_MS);
      listener->last_warning = now;
    }
  listener->server->stats.accept_pauses++;
  g_source_destroy (listener->source);
  listener->source = g_timeout_source_new (ACCEPT_PAUSE_MS);
  g_source_set_callback (listener->source, resume_cb, listener, NULL);
  g_source_attach (listener->source, listener->server->context);
  g_source_unref (listener->source);
}

static void
link_destroy (TetherServerLink *link)
{
  g_clear_object (&link->remote);
  g_clear_object (&link->socket);
  g_free (link->address);
  g_free (link);
}

static void
link_free (TetherServerLink *link)
{
  TetherServer *self = link->server;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, link->address));

  if (n <= 1)
    g_hash_table_remove (self->per_address, link->address);
  else
    g_hash_table_insert (self->per_address, g_strdup (link->address), GUINT_TO_POINTER (n - 1));
  if (link->on_deadline)
    g_queue_unlink (&self->handshakes, &link->handshake_link);
  g_hash_table_remove (self->links, link->remote);
  link_destroy (link);
}

/* libsoup (or the WebSocket) let go of the connection. */
static void
guard_finalized_cb (gpointer  data,
                    GObject  *where_the_object_was)
{
  link_free (data);
}

static char *
address_key (GSocketAddress *remote)
{
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strdup ("unknown");
}

static void
accept_one (TetherServerListener *listener,
            GSocket              *socket)
{
  TetherServer *self = listener->server;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(TetherGuardStream) guard = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  TetherServerLink *link;
  GMainContext *context;
  gboolean use_tls;
  guint n;

  remote = g_socket_get_remote_address (socket, &error);
  local = g_socket_get_local_address (socket, NULL);
  if (remote == NULL || local == NULL)
    {
      /* Gone before we got to it. */
      g_socket_close (socket, NULL);
      return;
    }

  address = address_key (remote);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
  if (self->max_connections_per_address != 0 && n >= self->max_connections_per_address
      && !tether_server_peer_is_trusted_proxy (self, remote))
    {
      self->stats.refused_connections++;
      g_debug ("refused a connection from %s: %u already open", address, n);
      g_socket_close (socket, NULL);
      return;
    }
  g_hash_table_insert (self->per_address, g_strdup (address), GUINT_TO_POINTER (n + 1));

  link = g_new0 (TetherServerLink, 1);
  link->server = self;
  link->socket = g_object_ref (socket);
  link->remote = g_object_ref (remote);
  link->address = g_steal_pointer (&address);
  link->accepted_at = g_get_monotonic_time ();
  link->handshake_link.data = link;
  link->on_deadline = TRUE;
  g_queue_push_tail_link (&self->handshakes, &link->handshake_link);
  g_hash_table_insert (self->links, link->remote, link);

  connection = g_socket_connection_factory_create_connection (socket);
  /* TLS on the public port only: the admin port stays plain, on loopback. */
  use_tls = self->tls_certificate != NULL && listener->soup == self->soup;
  if (use_tls)
    {
      stream = tether_server_tls_wrap (self, G_IO_STREAM (connection), &error);
      if (stream == NULL)
        {
          g_warning ("cannot start TLS with %s: %s", link->address, error->message);
          g_socket_shutdown (socket, TRUE, TRUE, NULL);
        }
    }
  guard = tether_guard_stream_new (stream != NULL ? stream : G_IO_STREAM (connection));
  tether_guard_stream_set_input_budget (guard, HTTP_INPUT_BUDGET);
  link->guard = guard;
  g_object_weak_ref (G_OBJECT (guard), guard_finalized_cb, link);
  if (use_tls)
    {
      /* Dropping the guard frees the link. */
      if (stream != NULL)
        tether_server_tls_accept (self, listener->soup, guard, local, remote, link->address);
      return;
    }

  /* libsoup attaches the connection's sources to the thread-default context: the
   * connection's shard of the poller, which wakes it through one epoll set. */
  context = self->poller != NULL
            ? tether_guard_stream_watch (guard, self->poller, g_socket_get_fd (socket))
            : NULL;
  if (context == NULL)
    context = self->context;
  g_main_context_push_thread_default (context);
  soup_server_accept_iostream (listener->soup, G_IO_STREAM (guard), local, remote, NULL);
  g_main_context_pop_thread_default (context);
}

static gboolean
accept_cb (GSocket      *socket,
           GIOCondition  condition,
           gpointer      user_data)
{
  TetherServerListener *listener = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (socket, NULL, &error);

      if (client != NULL)
        {
          accept_one (listener, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES)
          || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
        {
          listener_pause (listener, error);
          return G_SOURCE_REMOVE;
        }
      /* ECONNABORTED and the like concern one peer only. */
      g_debug ("accept: %s", error->message);
    }
  return G_SOURCE_CONTINUE;
}

static GInetAddress *
resolve_host (const char  *host,
              GError     **error)
{
  GInetAddress *inet;
  g_autoptr(GResolver) resolver = NULL;
  GList *list;

  if (host == NULL || *host == '\0' || g_str_equal (host, "*"))
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  if (g_str_equal (host, "localhost"))
    return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  inet = g_inet_address_new_from_string (host);
  if (inet != NULL)
    return inet;

  resolver = g_resolver_get_default ();
  list = g_resolver_lookup_by_name (resolver, host, NULL, error);
  if (list == NULL)
    return NULL;
  inet = g_object_ref (list->data);
  g_resolver_free_addresses (list);
  return inet;
}

/* How clients name an address we listen on. */
static char *
url_host (GInetAddress *inet)
{
  g_autofree char *text = NULL;

  if (g_inet_address_get_is_any (inet))
    return g_strdup (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 ? "[::1]" : "127.0.0.1");
  text = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]", text);
  return g_steal_pointer (&text);
}

/**
 * tether_server_listen_on:
 * @soup: the SoupServer whose handlers answer on this address
 * @out_url_host: (out) (optional): how clients name the address
 * @out_port: (out): the port bound
 *
 * Binds, listens with a deep backlog (every client of a restarted server comes back
 * at once) and starts accepting on the server's context.
 */
gboolean
tether_server_listen_on (TetherServer  *self,
                         SoupServer    *soup,
                         const char    *host,
                         guint16        port,
                         char         **out_url_host,
                         guint16       *out_port,
                         GError       **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  TetherServerListener *listener;

  inet = resolve_host (host, error);
  if (inet == NULL)
    return FALSE;

  address = g_inet_socket_address_new (inet, port);
  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;
  /* Accepted sockets inherit it: small JSON messages go out at once. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return FALSE;
  *out_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  if (out_url_host != NULL)
    *out_url_host = url_host (inet);

  listener = g_new0 (TetherServerListener, 1);
  listener->server = self;
  listener->soup = g_object_ref (soup);
  listener->socket = g_steal_pointer (&socket);
  listener_watch (listener);
  g_ptr_array_add (self->listeners, listener);

  return TRUE;
}

void
tether_server_listener_free (TetherServerListener *listener)
{
  g_clear_pointer (&listener->source, g_source_destroy);
  g_socket_close (listener->socket, NULL);
  g_clear_object (&listener->socket);
  g_clear_object (&listener->soup);
  g_free (listener);
}

SoupServer *
tether_server_listener_get_soup (TetherServerListener *listener)
{
  return listener->soup;
}

/* The server goes away before libsoup lets go of some connections: they are cut,
 * and their guards no longer report to it. */
void
tether_server_links_clear (TetherServer *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      TetherServerLink *link = value;

      g_object_weak_unref (G_OBJECT (link->guard), guard_finalized_cb, link);
      g_socket_shutdown (link->socket, TRUE, TRUE, NULL);
      g_hash_table_iter_remove (&iter);
      link_destroy (link);
    }
  g_hash_table_remove_all (self->per_address);
  g_queue_init (&self->handshakes);
}

/**
 * tether_server_link_upgrade:
 * @msg: the request that became a WebSocket
 *
 * Finds the accepted connection behind @msg and takes it off the request deadline.
 *
 * Returns: (transfer none) (nullable): its link
 */
TetherServerLink *
tether_server_link_upgrade (TetherServer      *self,
                            SoupServerMessage *msg)
{
  TetherServerLink *link = g_hash_table_lookup (self->links,
                                                soup_server_message_get_remote_address (msg));

  if (link != NULL && link->on_deadline)
    {
      link->on_deadline = FALSE;
      g_queue_unlink (&self->handshakes, &link->handshake_link);
    }
  return link;
}

/* Cuts connections whose request did not become a WebSocket in time: a half-open
 * upgrade, a request trickled byte by byte, an idle keep-alive. Returns the next
 * deadline, or G_MAXINT64. */
gint64
tether_server_links_sweep (TetherServer *self,
                           gint64        now)
{
  gint64 timeout = TETHER_SERVER_USEC (self->request_timeout);
  GList *l;

  while ((l = self->handshakes.head) != NULL)
    {
      TetherServerLink *link = l->data;

      if (link->accepted_at + timeout > now)
        return link->accepted_at + timeout;
      g_queue_unlink (&self->handshakes, &link->handshake_link);
      link->on_deadline = FALSE;
      self->stats.request_timeouts++;
      g_debug ("cut a connection from %s: no WebSocket within %.1f s", link->address,
               self->request_timeout);
      /* libsoup reads EOF and lets go; the guard's finalization frees the link. */
      g_socket_shutdown (link->socket, TRUE, TRUE, NULL);
    }
  return G_MAXINT64;
}
