/* tether-fault-proxy.h: a TCP forwarder that tests put between a client and a
 * server to cut, reset or refuse the connection on demand
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_FAULT_PROXY (tether_fault_proxy_get_type ())
G_DECLARE_FINAL_TYPE (TetherFaultProxy, tether_fault_proxy, TETHER, FAULT_PROXY, GObject)

TetherFaultProxy *tether_fault_proxy_new                (const char       *target_host,
                                                         guint16           target_port);
guint16           tether_fault_proxy_get_port           (TetherFaultProxy *self);
char             *tether_fault_proxy_get_ws_url         (TetherFaultProxy *self);
void              tether_fault_proxy_set_target_port    (TetherFaultProxy *self,
                                                         guint16           target_port);

void              tether_fault_proxy_cut                (TetherFaultProxy *self);
void              tether_fault_proxy_reset              (TetherFaultProxy *self);
void              tether_fault_proxy_refuse             (TetherFaultProxy *self);
void              tether_fault_proxy_restore            (TetherFaultProxy *self);
void              tether_fault_proxy_resume             (TetherFaultProxy *self);

guint             tether_fault_proxy_get_accepted_count (TetherFaultProxy *self);
guint             tether_fault_proxy_get_open_count     (TetherFaultProxy *self);

G_END_DECLS
