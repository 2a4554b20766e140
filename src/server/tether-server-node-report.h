/* tether-server-node-report.h: a separate media node (--media-only) telling a room
 * service which publishers it has, so that their streams appear in their rooms
 * (docs/protocol.md, "Node reports")
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-relay.h"

G_BEGIN_DECLS

/* The room service's endpoint and the header that carries the report's signature. */
#define TETHER_NODE_REPORT_PATH "/v1/node-report"
#define TETHER_NODE_REPORT_SIGNATURE "X-Tether-Signature"
/* A node reports at least this often; after three periods of silence the room
 * service deletes its streams (media_lost). */
#define TETHER_NODE_REPORT_INTERVAL_S 5
/* The public port reads at most 64 KiB of an HTTP request, headers included. */
#define TETHER_NODE_REPORT_MAX_BYTES (60 * 1024)

typedef struct _TetherNodeReporter TetherNodeReporter;

char               *tether_node_report_sign   (const char         *app_secret,
                                               const char         *body);
TetherNodeReporter *tether_node_reporter_new  (TetherRelay        *relay,
                                               const char         *node_id,
                                               const char         *room_service_url,
                                               const char         *app_secret,
                                               GTlsDatabase       *tls_database);
void                tether_node_reporter_free (TetherNodeReporter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherNodeReporter, tether_node_reporter_free)

G_END_DECLS
