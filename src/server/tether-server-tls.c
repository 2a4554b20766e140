/* tether-server-tls.c: TLS on the room service's port — its certificate, and the
 * handshake of each accepted connection before libsoup sees it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-server-private.h"

/*
 * The server accepts connections itself (tether-server-accept.c), so TLS is ours to
 * do too: each accepted connection is wrapped in a GTlsServerConnection with the
 * certificate of the moment, and handed to libsoup once its handshake finished. The
 * handshake runs under the request deadline like the rest of the request: a peer that
 * stalls in it is cut by the sweep (its socket shut down, so the handshake fails).
 * A failed handshake concerns that connection only.
 *
 * The certificate can be replaced while the server runs (tether-server reloads its
 * files on SIGHUP): connections accepted afterwards use the new one; open ones keep
 * the session they have.
 */

typedef struct
{
  SoupServer        *soup;
  GMainContext      *context;
  TetherGuardStream *guard;     /* holds the link (tether-server-accept.c) alive */
  GSocketAddress    *local;
  GSocketAddress    *remote;
  char              *address;
} Handshake;

static void
handshake_free (Handshake *hs)
{
  g_object_unref (hs->soup);
  g_main_context_unref (hs->context);
  g_object_unref (hs->guard);
  g_object_unref (hs->local);
  g_object_unref (hs->remote);
  g_free (hs->address);
  g_free (hs);
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Handshake *hs = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      /* A port scanner, a plain ws:// client, a client that does not trust us, or the
       * request deadline: nothing the operator must act on. */
      g_debug ("TLS handshake with %s failed: %s", hs->address, error->message);
      g_io_stream_close_async (G_IO_STREAM (source), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      handshake_free (hs);
      return;
    }

  /* libsoup attaches the connection's sources to the thread-default context. */
  g_main_context_push_thread_default (hs->context);
  soup_server_accept_iostream (hs->soup, G_IO_STREAM (hs->guard), hs->local, hs->remote, NULL);
  g_main_context_pop_thread_default (hs->context);
  handshake_free (hs);
}

/**
 * tether_server_tls_wrap:
 * @connection: an accepted connection
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): @connection as the server side of a TLS
 *   connection with the current certificate; its handshake is not started
 */
GIOStream *
tether_server_tls_wrap (TetherServer  *self,
                        GIOStream     *connection,
                        GError       **error)
{
  return G_IO_STREAM (g_tls_server_connection_new (connection, self->tls_certificate, error));
}

/**
 * tether_server_tls_accept:
 * @soup: the server that gets the connection once it is secure
 * @guard: the guard around the TLS connection from tether_server_tls_wrap()
 *
 * Runs the TLS handshake in the background on the server's context, then hands
 * @guard to @soup; a failed handshake drops the connection.
 */
void
tether_server_tls_accept (TetherServer      *self,
                          SoupServer        *soup,
                          TetherGuardStream *guard,
                          GSocketAddress    *local,
                          GSocketAddress    *remote,
                          const char        *address)
{
  Handshake *hs = g_new0 (Handshake, 1);
  GIOStream *tls = tether_guard_stream_get_base (guard);

  hs->soup = g_object_ref (soup);
  hs->context = g_main_context_ref (self->context);
  hs->guard = g_object_ref (guard);
  hs->local = g_object_ref (local);
  hs->remote = g_object_ref (remote);
  hs->address = g_strdup (address);

  g_main_context_push_thread_default (self->context);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    handshake_cb, hs);
  g_main_context_pop_thread_default (self->context);
}

/**
 * tether_server_load_tls_files:
 * @self: a #TetherServer
 * @cert_file: a PEM file with the certificate (and its chain)
 * @key_file: (nullable): a PEM file with the private key, or %NULL when it is in
 *   @cert_file
 * @error: return location for an error
 *
 * Loads a certificate and sets #TetherServer:tls-certificate: before
 * tether_server_listen() it makes the room service's port speak TLS only; later it
 * replaces the certificate for new connections (a renewal).
 *
 * Returns: %TRUE on success; on failure the server keeps its certificate
 */
gboolean
tether_server_load_tls_files (TetherServer  *self,
                              const char    *cert_file,
                              const char    *key_file,
                              GError       **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (cert_file != NULL, FALSE);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "TLS is not available (is glib-networking installed?)");
      return FALSE;
    }
  certificate = key_file != NULL ? g_tls_certificate_new_from_files (cert_file, key_file, &local)
                                 : g_tls_certificate_new_from_file (cert_file, &local);
  if (certificate == NULL)
    {
      /* The message names the file, never its contents. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "cannot load the TLS certificate %s%s%s: %s", cert_file,
                   key_file != NULL ? " with the key " : "", key_file != NULL ? key_file : "",
                   local->message);
      return FALSE;
    }
  if ((self->listening || self->shut_down) && self->tls_certificate == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "the room service already listens without TLS");
      return FALSE;
    }
  g_object_set (self, "tls-certificate", certificate, NULL);
  return TRUE;
}
