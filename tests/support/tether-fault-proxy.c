/* tether-fault-proxy.c: a TCP forwarder with injectable faults, run in a thread
 * of its own
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "tether-fault-proxy.h"
#include "tether-test-utils.h"

/*
 * Every socket lives in the proxy's thread and is served by GSocket sources on
 * that thread's context, so traffic keeps flowing (or keeps being held) while
 * the test's own thread blocks. The public calls hop into that thread with
 * tether_test_thread_invoke_sync() and return once the change is in effect.
 *
 * Faults:
 *   cut      nothing is read or written any more on any connection, nothing is
 *            closed; new connections are accepted and held silent. Like a dead
 *            Wi-Fi link: the peers notice only by their own timeouts.
 *   reset    every current connection is aborted with an RST to both peers.
 *   refuse   new connections are accepted and at once aborted with an RST;
 *            existing ones keep working.
 *   restore  forwarding again. A connection that was open when the cut began
 *            is reset rather than resumed: after a real outage long enough for
 *            a test to care, the server has dropped its end, and resuming a
 *            stream that the test meant to be lost would hide the reconnect
 *            path the client must take. Connections accepted during the cut
 *            had nothing read from them yet, so they are connected to the
 *            target now and work, as a connect that was retried until the
 *            link came back would.
 *   resume   forwarding again without resetting anything: the short blip that
 *            TCP rides out by itself. Bytes held during the cut are delivered.
 */

#define BUFFER_SIZE (64 * 1024)

typedef enum
{
  MODE_FORWARD,
  MODE_CUT,
  MODE_REFUSE,
} Mode;

typedef enum
{
  CONN_PENDING,     /* accepted; target not contacted yet */
  CONN_CONNECTING,
  CONN_OPEN,
} ConnState;

typedef struct _Conn Conn;

/* One direction of a connection: read from @from into @buffer, write to @to. */
typedef struct
{
  Conn *conn;
  GSocket *from;
  GSocket *to;
  GSource *in_source;
  GSource *out_source;
  gsize len;
  gsize off;
  gboolean eof;
  gboolean shut;
  guint8 buffer[BUFFER_SIZE];
} Pipe;

struct _Conn
{
  TetherFaultProxy *proxy;
  ConnState state;
  gboolean survived_cut;
  GSocket *client;
  GSocket *upstream;
  GSource *connect_source;
  Pipe up;    /* client → target */
  Pipe down;  /* target → client */
};

struct _TetherFaultProxy
{
  GObject parent_instance;

  TetherTestThread *thread;
  guint16 port;
  int accepted;
  int open;

  /* proxy thread only */
  char *target_host;
  guint16 target_port;
  GSocket *listener;
  GSource *accept_source;
  Mode mode;
  GList *conns;
};

G_DEFINE_FINAL_TYPE (TetherFaultProxy, tether_fault_proxy, G_TYPE_OBJECT)

static void conn_update (Conn *conn);

/* SO_LINGER {1, 0} makes close() send an RST instead of a FIN. */
static void
abort_socket (GSocket *socket)
{
  struct linger linger = { 1, 0 };

  if (socket == NULL || g_socket_is_closed (socket))
    return;
  if (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0)
    g_warning ("fault proxy: SO_LINGER: %s", g_strerror (errno));
  g_socket_close (socket, NULL);
}

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
conn_clear_sources (Conn *conn)
{
  clear_source (&conn->connect_source);
  clear_source (&conn->up.in_source);
  clear_source (&conn->up.out_source);
  clear_source (&conn->down.in_source);
  clear_source (&conn->down.out_source);
}

static void
conn_free (Conn *conn,
           gboolean abortive)
{
  TetherFaultProxy *proxy = conn->proxy;

  conn_clear_sources (conn);
  if (abortive)
    {
      abort_socket (conn->client);
      abort_socket (conn->upstream);
    }
  else
    {
      g_socket_close (conn->client, NULL);
      if (conn->upstream != NULL)
        g_socket_close (conn->upstream, NULL);
    }
  g_clear_object (&conn->client);
  g_clear_object (&conn->upstream);

  proxy->conns = g_list_remove (proxy->conns, conn);
  g_atomic_int_add (&proxy->open, -1);
  g_free (conn);
}

static GSocket *
new_upstream_socket (TetherFaultProxy  *proxy,
                     GSocketAddress   **out_address,
                     GError           **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (proxy->target_host);
  GSocket *socket;

  if (inet == NULL)
    {
      /* a name, e.g. "localhost": fine to resolve synchronously in this thread */
      g_autoptr(GResolver) resolver = g_resolver_get_default ();
      GList *addresses = g_resolver_lookup_by_name (resolver, proxy->target_host, NULL, error);

      if (addresses == NULL)
        return NULL;
      inet = g_object_ref (addresses->data);
      g_resolver_free_addresses (addresses);
    }

  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  *out_address = g_inet_socket_address_new (inet, proxy->target_port);
  return socket;
}

static gboolean
connect_ready_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      data)
{
  Conn *conn = data;
  g_autoptr(GError) error = NULL;

  clear_source (&conn->connect_source);
  if (!g_socket_check_connect_result (socket, &error))
    {
      g_debug ("fault proxy: target refused: %s", error->message);
      conn_free (conn, TRUE);
      return G_SOURCE_REMOVE;
    }

  conn->state = CONN_OPEN;
  conn_update (conn);
  return G_SOURCE_REMOVE;
}

static void
conn_start_connect (Conn *conn)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  conn->upstream = new_upstream_socket (conn->proxy, &address, &error);
  if (conn->upstream == NULL)
    {
      g_warning ("fault proxy: %s", error->message);
      conn_free (conn, TRUE);
      return;
    }
  conn->up.from = conn->client;
  conn->up.to = conn->upstream;
  conn->down.from = conn->upstream;
  conn->down.to = conn->client;

  conn->state = CONN_CONNECTING;
  if (g_socket_connect (conn->upstream, address, NULL, &error))
    {
      conn->state = CONN_OPEN;
      conn_update (conn);
      return;
    }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      g_debug ("fault proxy: cannot reach target: %s", error->message);
      conn_free (conn, TRUE);
      return;
    }
  conn_update (conn);
}

/* Returns FALSE if the connection was freed. */
static gboolean
pipe_read (Pipe *pipe)
{
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_socket_receive (pipe->from, (char *) pipe->buffer, sizeof pipe->buffer, NULL, &error);
  if (n > 0)
    {
      pipe->len = n;
      pipe->off = 0;
    }
  else if (n == 0)
    pipe->eof = TRUE;
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* a reset (or other error) on one side is passed on as a reset */
      conn_free (pipe->conn, TRUE);
      return FALSE;
    }
  return TRUE;
}

static gboolean
pipe_write (Pipe *pipe)
{
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_socket_send (pipe->to, (const char *) pipe->buffer + pipe->off, pipe->len - pipe->off,
                     NULL, &error);
  if (n >= 0)
    {
      pipe->off += n;
      if (pipe->off == pipe->len)
        pipe->off = pipe->len = 0;
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      conn_free (pipe->conn, TRUE);
      return FALSE;
    }
  return TRUE;
}

static gboolean
pipe_in_cb (GSocket      *socket,
            GIOCondition  condition,
            gpointer      data)
{
  Pipe *pipe = data;

  if (pipe_read (pipe))
    conn_update (pipe->conn);
  return G_SOURCE_CONTINUE;
}

static gboolean
pipe_out_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  Pipe *pipe = data;

  if (pipe_write (pipe))
    conn_update (pipe->conn);
  return G_SOURCE_CONTINUE;
}

static void
watch (GSource     **source,
       GSocket      *socket,
       GIOCondition  condition,
       gboolean      wanted,
       GSocketSourceFunc func,
       gpointer      data)
{
  if (!wanted)
    {
      clear_source (source);
      return;
    }
  if (*source != NULL)
    return;
  *source = g_socket_create_source (socket, condition, NULL);
  g_source_set_callback (*source, G_SOURCE_FUNC (func), data, NULL);
  g_source_set_name (*source, "[tether-fault-proxy] socket");
  g_source_attach (*source, g_main_context_get_thread_default ());
}

/* Returns whether this direction is finished: EOF read, everything written,
 * and the end passed on. */
static gboolean
pipe_update (Pipe *pipe)
{
  gboolean has_data = pipe->len > pipe->off;

  watch (&pipe->in_source, pipe->from, G_IO_IN, !has_data && !pipe->eof, pipe_in_cb, pipe);
  watch (&pipe->out_source, pipe->to, G_IO_OUT, has_data, pipe_out_cb, pipe);

  if (pipe->eof && !has_data && !pipe->shut)
    {
      g_socket_shutdown (pipe->to, FALSE, TRUE, NULL);
      pipe->shut = TRUE;
    }
  return pipe->shut;
}

/* Brings the connection's sources in line with its state and the proxy's mode. */
static void
conn_update (Conn *conn)
{
  gboolean up_done, down_done;

  if (conn->proxy->mode == MODE_CUT || conn->survived_cut)
    {
      conn_clear_sources (conn);
      return;
    }

  switch (conn->state)
    {
    case CONN_PENDING:
      conn_start_connect (conn);
      return;

    case CONN_CONNECTING:
      if (conn->connect_source == NULL)
        {
          conn->connect_source = g_socket_create_source (conn->upstream, G_IO_OUT, NULL);
          g_source_set_callback (conn->connect_source, G_SOURCE_FUNC (connect_ready_cb),
                                 conn, NULL);
          g_source_attach (conn->connect_source, g_main_context_get_thread_default ());
        }
      return;

    case CONN_OPEN:
      up_done = pipe_update (&conn->up);
      down_done = pipe_update (&conn->down);
      if (up_done && down_done)
        conn_free (conn, FALSE);
      return;

    default:
      g_assert_not_reached ();
    }
}

static gboolean
accept_cb (GSocket      *listener,
           GIOCondition  condition,
           gpointer      data)
{
  TetherFaultProxy *self = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (listener, NULL, &error);
      Conn *conn;

      if (client == NULL)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_warning ("fault proxy: accept: %s", error->message);
          break;
        }
      g_atomic_int_inc (&self->accepted);

      if (self->mode == MODE_REFUSE)
        {
          abort_socket (client);
          continue;
        }

      g_socket_set_blocking (client, FALSE);
      conn = g_new0 (Conn, 1);
      conn->proxy = self;
      conn->state = CONN_PENDING;
      conn->client = g_steal_pointer (&client);
      conn->up.conn = conn;
      conn->down.conn = conn;
      self->conns = g_list_prepend (self->conns, conn);
      g_atomic_int_inc (&self->open);
      conn_update (conn);
    }

  return G_SOURCE_CONTINUE;
}

static void
start_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  self->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (self->listener, FALSE);
  g_socket_bind (self->listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (self->listener, 128);
  g_socket_listen (self->listener, &error);
  g_assert_no_error (error);

  bound = g_socket_get_local_address (self->listener, &error);
  g_assert_no_error (error);
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  self->accept_source = g_socket_create_source (self->listener, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, G_SOURCE_FUNC (accept_cb), self, NULL);
  g_source_set_name (self->accept_source, "[tether-fault-proxy] accept");
  g_source_attach (self->accept_source, g_main_context_get_thread_default ());
}

static void
stop_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;

  while (self->conns != NULL)
    conn_free (self->conns->data, TRUE);
  clear_source (&self->accept_source);
  if (self->listener != NULL)
    g_socket_close (self->listener, NULL);
  g_clear_object (&self->listener);
}

static void
tether_fault_proxy_finalize (GObject *object)
{
  TetherFaultProxy *self = TETHER_FAULT_PROXY (object);

  tether_test_thread_invoke_sync (self->thread, stop_in_thread, self);
  g_clear_pointer (&self->thread, tether_test_thread_free);
  g_free (self->target_host);

  G_OBJECT_CLASS (tether_fault_proxy_parent_class)->finalize (object);
}

static void
tether_fault_proxy_class_init (TetherFaultProxyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tether_fault_proxy_finalize;
}

static void
tether_fault_proxy_init (TetherFaultProxy *self)
{
}

/**
 * tether_fault_proxy_new:
 * @target_host: where to forward to, e.g. "127.0.0.1"
 * @target_port: and on which port
 *
 * Starts forwarding from 127.0.0.1 on an ephemeral port (see
 * tether_fault_proxy_get_port()) to the target. Aborts the test if it cannot
 * listen.
 *
 * Returns: (transfer full): the proxy; unref it to stop it (current
 *   connections are reset)
 */
TetherFaultProxy *
tether_fault_proxy_new (const char *target_host,
                        guint16     target_port)
{
  TetherFaultProxy *self;

  g_return_val_if_fail (target_host != NULL, NULL);

  self = g_object_new (TETHER_TYPE_FAULT_PROXY, NULL);
  self->target_host = g_strdup (target_host);
  self->target_port = target_port;
  self->thread = tether_test_thread_new ("fault-proxy");
  tether_test_thread_invoke_sync (self->thread, start_in_thread, self);

  return self;
}

guint16
tether_fault_proxy_get_port (TetherFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_FAULT_PROXY (self), 0);

  return self->port;
}

/* Returns: (transfer full): "ws://127.0.0.1:PORT/ws" for the proxy's port */
char *
tether_fault_proxy_get_ws_url (TetherFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_FAULT_PROXY (self), NULL);

  return g_strdup_printf ("ws://127.0.0.1:%u/ws", self->port);
}

typedef struct
{
  TetherFaultProxy *self;
  guint16 port;
} SetPort;

static void
set_target_port_in_thread (gpointer data)
{
  SetPort *set = data;

  set->self->target_port = set->port;
}

/**
 * tether_fault_proxy_set_target_port:
 *
 * Connections made from now on go to @target_port (a server restarted on
 * another port); existing ones are left alone.
 */
void
tether_fault_proxy_set_target_port (TetherFaultProxy *self,
                                    guint16           target_port)
{
  SetPort set = { self, target_port };

  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, set_target_port_in_thread, &set);
}

static void
update_all (TetherFaultProxy *self)
{
  /* conn_update may free the connection, so walk a copy */
  g_autoptr(GList) conns = g_list_copy (self->conns);

  for (GList *l = conns; l != NULL; l = l->next)
    conn_update (l->data);
}

static void
cut_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;

  self->mode = MODE_CUT;
  for (GList *l = self->conns; l != NULL; l = l->next)
    ((Conn *) l->data)->survived_cut = TRUE;
  update_all (self);
}

/**
 * tether_fault_proxy_cut:
 *
 * Silently blackholes all current and future connections: nothing is read,
 * forwarded or closed, in either direction.
 */
void
tether_fault_proxy_cut (TetherFaultProxy *self)
{
  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, cut_in_thread, self);
}

static void
reset_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;

  while (self->conns != NULL)
    conn_free (self->conns->data, TRUE);
}

/**
 * tether_fault_proxy_reset:
 *
 * Aborts every current connection with an RST to both peers. The mode (cut,
 * refuse or forwarding) is unchanged for new connections.
 */
void
tether_fault_proxy_reset (TetherFaultProxy *self)
{
  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, reset_in_thread, self);
}

static void
refuse_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;

  self->mode = MODE_REFUSE;
}

/**
 * tether_fault_proxy_refuse:
 *
 * New connections are aborted with an RST as soon as they are accepted;
 * existing connections are not touched (combine with reset() for a server
 * that went away).
 */
void
tether_fault_proxy_refuse (TetherFaultProxy *self)
{
  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, refuse_in_thread, self);
}

static void
restore_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;
  g_autoptr(GList) conns = g_list_copy (self->conns);

  self->mode = MODE_FORWARD;
  for (GList *l = conns; l != NULL; l = l->next)
    {
      Conn *conn = l->data;

      if (conn->survived_cut)
        conn_free (conn, TRUE);
      else
        conn_update (conn);
    }
}

/**
 * tether_fault_proxy_restore:
 *
 * Forwards normally again. Connections that were open when a cut began are
 * reset (the bytes they lost make them useless); connections accepted during
 * the cut are connected to the target now.
 */
void
tether_fault_proxy_restore (TetherFaultProxy *self)
{
  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, restore_in_thread, self);
}

static void
resume_in_thread (gpointer data)
{
  TetherFaultProxy *self = data;

  self->mode = MODE_FORWARD;
  for (GList *l = self->conns; l != NULL; l = l->next)
    ((Conn *) l->data)->survived_cut = FALSE;
  update_all (self);
}

/**
 * tether_fault_proxy_resume:
 *
 * Forwards normally again and lets connections that lived through a cut carry
 * on, delivering what was held back: a blip TCP survives.
 */
void
tether_fault_proxy_resume (TetherFaultProxy *self)
{
  g_return_if_fail (TETHER_IS_FAULT_PROXY (self));

  tether_test_thread_invoke_sync (self->thread, resume_in_thread, self);
}

/* Connections accepted since the proxy started, refused ones included. */
guint
tether_fault_proxy_get_accepted_count (TetherFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_FAULT_PROXY (self), 0);

  return g_atomic_int_get (&self->accepted);
}

/* Connections currently held open by the proxy (cut ones included). */
guint
tether_fault_proxy_get_open_count (TetherFaultProxy *self)
{
  g_return_val_if_fail (TETHER_IS_FAULT_PROXY (self), 0);

  return g_atomic_int_get (&self->open);
}
