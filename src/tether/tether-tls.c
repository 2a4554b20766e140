/* tether-tls.c: the authorities a client trusts (a PEM file), and a certificate it
 * refused (a room's WebSocket, a guest-token request, a node report) in words a
 * person understands: TETHER_ERROR_TLS_CERTIFICATE's message
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-tls-private.h"

/* The authorities in the PEM @ca_file (relative to the current directory, or
 * absolute), or %TETHER_ERROR_INVALID_ARGUMENT ("cannot read the certificate
 * authorities in FILE: ...") when it cannot be read or holds none. */
GTlsDatabase *
tether_tls_file_database_new (const char  *ca_file,
                              GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autolist(GTlsCertificate) list = NULL;
  /* glib-networking's file database trusts nothing from a relative path (it warns). */
  g_autofree char *path = g_canonicalize_filename (ca_file, NULL);
  GTlsDatabase *database;

  /* g_tls_file_database_new() accepts a file without a certificate and then trusts
   * nothing, which would look like a bad server later. */
  list = g_tls_certificate_list_new_from_file (ca_file, &local);
  if (list == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "cannot read the certificate authorities in %s: %s", ca_file,
                   local != NULL ? local->message : "it holds no certificate");
      return NULL;
    }
  database = g_tls_file_database_new (path, &local);
  if (database == NULL)
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                 "cannot read the certificate authorities in %s: %s", ca_file, local->message);
  return database;
}

/* Where accept_certificate_cb() leaves the reasons on the message. */
#define TLS_ERRORS_KEY "tether-tls-errors"

/* Only called when the certificate failed verification: say why, and refuse it. */
static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  g_object_set_data (G_OBJECT (msg), TLS_ERRORS_KEY, GUINT_TO_POINTER (errors));
  return FALSE;
}

/* Remembers why @msg's server certificate failed verification, if it does, for
 * tether_tls_refusal_message(). Call before sending @msg. */
/* Where network_event_cb() marks a TLS handshake under way. */
#define TLS_HANDSHAKING_KEY "tether-tls-handshaking"

static void
network_event_cb (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING || event == G_SOCKET_CLIENT_TLS_HANDSHAKED)
    g_object_set_data (G_OBJECT (msg), TLS_HANDSHAKING_KEY,
                       GINT_TO_POINTER (event == G_SOCKET_CLIENT_TLS_HANDSHAKING));
}

void
tether_tls_watch_certificate (SoupMessage *msg)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), NULL);
  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), NULL);
}

/* Whether @msg (watched with tether_tls_watch_certificate()) is stuck in its TLS
 * handshake: the server took the connection but does not speak TLS back, as a plain
 * ws:// port does when asked for wss://. */
gboolean
tether_tls_handshake_pending (SoupMessage *msg)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), TLS_HANDSHAKING_KEY));
}

/* "the server's certificate is not trusted: it is for another host name, ..." when
 * @msg (watched with tether_tls_watch_certificate(); may be %NULL) failed on the
 * server's certificate, %NULL when @error is something else. */
char *
tether_tls_refusal_message (SoupMessage  *msg,
                            const GError *error)
{
  static const struct { GTlsCertificateFlags flag; const char *text; } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "it is not signed by a trusted authority" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "it is for another host name" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "it is not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "it has expired" },
    { G_TLS_CERTIFICATE_REVOKED, "it has been revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "it uses an insecure algorithm" },
  };
  guint errors = msg != NULL ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (msg),
                                                                    TLS_ERRORS_KEY)) : 0;
  g_autoptr(GString) text = NULL;
  gsize prefix;

  if (errors == 0 && !g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return NULL;
  text = g_string_new ("the server's certificate is not trusted: ");
  prefix = text->len;
  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (errors & reasons[i].flag)
      g_string_append_printf (text, "%s%s", text->len > prefix ? ", " : "", reasons[i].text);
  if (text->len == prefix)
    g_string_append (text, "it could not be verified");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/**
 * tether_connect_failure_message:
 * @error: why a connection could not be made
 *
 * A failure that trying again in a moment would not change: nothing listens at the
 * address, the host name does not exist, or TLS cannot be set up there (a plain port).
 * The message starts with "connection refused", "host not found" or "TLS failed", which
 * the app reads to say it in words (see docs/design.md, 'The app').
 *
 * Returns: (transfer full) (nullable): the message, NULL for any other failure
 */
char *
tether_connect_failure_message (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup_printf ("connection refused: %s", error->message);
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    return g_strdup_printf ("host not found: %s", error->message);
  if (error != NULL && error->domain == G_TLS_ERROR)
    return g_strdup_printf ("TLS failed: %s", error->message);
  return NULL;
}
