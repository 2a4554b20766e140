/* tether-relay.h: the SRT media node — one publisher to many players per stream id,
 * token-checked, starting every player on a key frame
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TETHER_TYPE_RELAY (tether_relay_get_type ())
G_DECLARE_FINAL_TYPE (TetherRelay, tether_relay, TETHER, RELAY, GObject)

/*
 * Properties (G_PARAM_READWRITE; read when tether_relay_listen() starts, later
 * changes apply to the next listen):
 *   "latency"                 uint    SRT latency, ms (120)
 *   "max-player-queue-bytes"  uint    bytes a player may lag behind before it is dropped (2 MiB)
 *   "gop-cache-bytes"         uint    bound of the cached GOP; beyond it the cache is dropped
 *                                     until the next key frame (4 MiB)
 *   "token-skew"              int     clock-skew tolerance for tokens, seconds (30)
 *   "claim-ttl"               double  seconds a stream id stays its owner's after its
 *                                     publisher left and its claim was released; set it
 *                                     to the room service's session-ttl (1200). Applies
 *                                     at once.
 *   "srt-encryption"          boolean TRUE (default): every connection is encrypted with the
 *                                     passphrase of its stream id's token, and one without
 *                                     it (or with another) is refused; FALSE: connections
 *                                     with a passphrase are refused (docs/protocol.md,
 *                                     "Media encryption")
 *   "node-id"                 string  this node's id in its deployment (the media-node
 *                                     directory's); needed to pull (see below). Its pulls
 *                                     log in as user `node:<id>`
 *   "port"                    uint    read-only: the bound port, 0 before listening
 *
 * Signals (emitted on the thread-default main context of tether_relay_new()):
 *   "publisher-added"   (const char *stream_id, const char *user_id)
 *   "media-started"     (const char *stream_id, const char *user_id, const char *room_id)
 *      the publisher's first PAT and PMT arrived (once per publisher connection);
 *      room_id is its token's room, NULL for an all-rooms token
 *   "publisher-removed" (const char *stream_id, const char *user_id, const char *reason)
 *      reason: "disconnected" (the publisher closed, or its link broke while it sent),
 *              "idle" (it sent nothing for 5 s, or its link broke after 2 s of silence),
 *              "replaced" (the same user connected again and took over),
 *              "shutdown" (tether_relay_stop())
 */

/*
 * The media cascade (docs/design.md, "Media cascade"): with a locate func and a
 * "node-id", a player asking for a stream that has no publisher on this node makes
 * the node pull it, once for all its players, from the node the func names (the
 * stream's origin: the node of its real publisher). The func runs on the main context
 * of tether_relay_new() and answers with tether_relay_locate_return(), at once or
 * later, from any thread, exactly once per request.
 */
typedef struct _TetherRelayLocate TetherRelayLocate;

typedef void (*TetherRelayLocateFunc) (TetherRelay       *relay,
                                       TetherRelayLocate *request,
                                       gpointer           user_data);

/* Reasons carried by "publisher-removed". */
#define TETHER_RELAY_REASON_DISCONNECTED "disconnected"
#define TETHER_RELAY_REASON_IDLE "idle"
#define TETHER_RELAY_REASON_REPLACED "replaced"
#define TETHER_RELAY_REASON_SHUTDOWN "shutdown"

TetherRelay  *tether_relay_new              (const char   *app_id,
                                             const char   *app_secret);
gboolean      tether_relay_listen           (TetherRelay  *self,
                                             const char   *host,
                                             guint16       port,
                                             GError      **error);
guint16       tether_relay_get_port         (TetherRelay  *self);
void          tether_relay_stop             (TetherRelay  *self);

gboolean      tether_relay_claim_stream     (TetherRelay  *self,
                                             const char   *stream_id,
                                             const char   *user_id,
                                             const char   *room_id);
void          tether_relay_release_stream   (TetherRelay  *self,
                                             const char   *stream_id,
                                             const char   *user_id);
char         *tether_relay_get_metrics_text (TetherRelay  *self);

void          tether_relay_set_locate_func  (TetherRelay           *self,
                                             TetherRelayLocateFunc  func,
                                             gpointer               user_data,
                                             GDestroyNotify         destroy);
const char   *tether_relay_locate_get_stream_id (TetherRelayLocate *request);
void          tether_relay_locate_return    (TetherRelayLocate     *request,
                                             const char            *node_id,
                                             const char            *url,
                                             const char            *room_id);

guint         tether_relay_get_stream_count (TetherRelay  *self);
guint         tether_relay_get_player_count (TetherRelay  *self);

G_END_DECLS
