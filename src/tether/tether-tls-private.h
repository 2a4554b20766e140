/* tether-tls-private.h: what the room's connection and the guest-token request share
 * about a certificate that failed verification: remembering why, and saying it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

void                  _tether_tls_watch_certificate    (SoupMessage          *msg);
GTlsCertificateFlags  _tether_tls_certificate_errors   (SoupMessage          *msg);
char                 *_tether_tls_certificate_message  (GTlsCertificateFlags  errors);

G_END_DECLS
