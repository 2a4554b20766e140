/* tether-tls.c: a certificate that failed verification — refused, its reasons kept on
 * the message and said in words (error 1019, docs/errors.md)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-tls-private.h"

/* Where accept_certificate_cb() leaves the reasons on the attempt's message. */
#define TLS_ERRORS_KEY "tether-tls-errors"

/* Only called when the certificate failed verification: keep why, and refuse it. */
static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  g_object_set_data (G_OBJECT (msg), TLS_ERRORS_KEY, GUINT_TO_POINTER (errors));
  return FALSE;
}

/* Before @msg is sent: an untrusted certificate is refused, and its reasons kept for
 * _tether_tls_certificate_errors(). */
void
_tether_tls_watch_certificate (SoupMessage *msg)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), NULL);
}

/* Why @msg's certificate was refused; 0 when it was not (or @msg is NULL). */
GTlsCertificateFlags
_tether_tls_certificate_errors (SoupMessage *msg)
{
  return msg != NULL ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (msg), TLS_ERRORS_KEY)) : 0;
}

/* "the server's certificate is not trusted: it is for another host name, ..." */
char *
_tether_tls_certificate_message (GTlsCertificateFlags errors)
{
  static const struct { GTlsCertificateFlags flag; const char *text; } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "it is not signed by a trusted authority" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "it is for another host name" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "it is not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "it has expired" },
    { G_TLS_CERTIFICATE_REVOKED, "it has been revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "it uses an insecure algorithm" },
  };
  g_autoptr(GString) text = g_string_new ("the server's certificate is not trusted: ");
  gsize prefix = text->len;

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (errors & reasons[i].flag)
      g_string_append_printf (text, "%s%s", text->len > prefix ? ", " : "", reasons[i].text);
  if (text->len == prefix)
    g_string_append (text, "it could not be verified");
  return g_string_free (g_steal_pointer (&text), FALSE);
}
