/* tether-udp-fault-proxy.h: a UDP forwarder (for SRT media tests) whose link can
 * be cut on demand
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_UDP_FAULT_PROXY (tether_udp_fault_proxy_get_type ())
G_DECLARE_FINAL_TYPE (TetherUdpFaultProxy, tether_udp_fault_proxy, TETHER, UDP_FAULT_PROXY, GObject)

TetherUdpFaultProxy *tether_udp_fault_proxy_new                 (const char          *target_host,
                                                                 guint16              target_port);
guint16              tether_udp_fault_proxy_get_port            (TetherUdpFaultProxy *self);
void                 tether_udp_fault_proxy_set_target_port     (TetherUdpFaultProxy *self,
                                                                 guint16              target_port);

void                 tether_udp_fault_proxy_cut                 (TetherUdpFaultProxy *self);
void                 tether_udp_fault_proxy_restore             (TetherUdpFaultProxy *self);

guint                tether_udp_fault_proxy_get_client_count    (TetherUdpFaultProxy *self);
guint                tether_udp_fault_proxy_get_forwarded_count (TetherUdpFaultProxy *self);
guint                tether_udp_fault_proxy_get_dropped_count   (TetherUdpFaultProxy *self);

G_END_DECLS
