/* tether-tls-private.h: the authorities a client trusts, and a certificate it refused
 * in words a person understands
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

GTlsDatabase *tether_tls_file_database_new  (const char    *ca_file,
                                             GError       **error);
void          tether_tls_watch_certificate (SoupMessage   *msg);
gboolean      tether_tls_handshake_pending (SoupMessage   *msg);
char         *tether_tls_refusal_message   (SoupMessage   *msg,
                                            const GError  *error);
char         *tether_connect_failure_message (const GError *error);

G_END_DECLS
