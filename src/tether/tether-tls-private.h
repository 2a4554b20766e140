/* tether-tls-private.h: a certificate refused by a client, in words a person understands
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

void  tether_tls_watch_certificate (SoupMessage  *msg);
char *tether_tls_refusal_message   (SoupMessage  *msg,
                                    const GError *error);

G_END_DECLS
