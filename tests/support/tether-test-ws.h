/* tether-test-ws.h: the bytes of a hand-made WebSocket client — its HTTP upgrade
 * request and its frames — for clients that libsoup will not play (a peer that
 * sends half a message or never reads, thousands of cheap receivers)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char       *tether_test_ws_upgrade_request (guint16       port);
GByteArray *tether_test_ws_client_frame    (gboolean      fin,
                                            guint8        opcode,
                                            const guint8 *payload,
                                            gsize         len);

G_END_DECLS
