/* tether-net-private.h: libtether's network thread — one thread per process with a
 * main context of its own, where every room's WebSocket, heartbeats and dead-link
 * timer live (tether-room-socket.c), so that a busy application main loop is never
 * taken for a dead link (docs/design.md, 'Main contexts' and 'The network thread')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* One engine's side of the network thread: its SoupSession, made and used there only. */
typedef struct _TetherNet TetherNet;

GMainContext *_tether_net_get_context      (void);
void          _tether_net_post             (GMainContext   *context,
                                            GSourceFunc     func,
                                            gpointer        data,
                                            GDestroyNotify  destroy);

TetherNet    *_tether_net_new              (void);
TetherNet    *_tether_net_ref              (TetherNet      *net);
void          _tether_net_unref            (TetherNet      *net);
void          _tether_net_set_tls_database (TetherNet      *net,
                                            GTlsDatabase   *database);
SoupSession  *_tether_net_get_session      (TetherNet      *net);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherNet, _tether_net_unref)

G_END_DECLS
