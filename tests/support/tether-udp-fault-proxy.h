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
void                 tether_udp_fault_proxy_set_loss            (TetherUdpFaultProxy *self,
                                                                 guint                percent);

guint                tether_udp_fault_proxy_get_client_count    (TetherUdpFaultProxy *self);
guint                tether_udp_fault_proxy_get_forwarded_count (TetherUdpFaultProxy *self);
guint                tether_udp_fault_proxy_get_dropped_count   (TetherUdpFaultProxy *self);

/* What the proxy saw inside the SRT data packets it forwarded (a 16-byte SRT header,
 * bit 0 of byte 0 clear), per direction: to the target (from the clients) and to the
 * clients (from the target). Only payloads of two 188-byte packets or more count: one
 * in 256 AES payloads of a single packet starts with 0x47 by chance. A payload "looks
 * like MPEG-TS" when it is whole 188-byte packets each starting with the 0x47 sync
 * byte. */
typedef struct
{
  guint data_packets;
  guint ts_packets;   /* of which the payload looks like plain MPEG-TS */
} TetherUdpSrtTally;

void                 tether_udp_fault_proxy_get_srt_tally       (TetherUdpFaultProxy *self,
                                                                 TetherUdpSrtTally   *to_target,
                                                                 TetherUdpSrtTally   *to_clients);

/* A UDP port free a moment ago, for a media node that must be named before it starts. */
guint16              tether_udp_free_port                       (void);

G_END_DECLS
