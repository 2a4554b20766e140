/* tether-server.h: the room service (and its media-node directory) as a GObject, so the
 * tether-server program, the tests and the app's demo mode all run the same code
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-relay.h"

G_BEGIN_DECLS

#define TETHER_TYPE_SERVER (tether_server_get_type ())
G_DECLARE_FINAL_TYPE (TetherServer, tether_server, TETHER, SERVER, GObject)

/*
 * Properties (all G_PARAM_READWRITE, set before tether_server_listen()):
 *   "app-id"              string   (default "demo")
 *   "app-secret"          string   (write-only; never logged)
 *   "heartbeat-timeout"   double   seconds of client silence before the user is removed (90)
 *   "heartbeat-interval"  double   seconds between client heartbeats, sent at login (1.0)
 *   "session-ttl"         double   seconds a session stays resumable (1200)
 *   "token-skew"          double   clock-skew tolerance for tokens, seconds (30)
 *   "token-warning"       double   token_will_expire this many seconds before expiry (30)
 *   "max-frame-size"      uint     bytes (65536)
 *   "max-depth"           uint     JSON nesting depth (8)
 *   "login-rate"          double   logins per second per client address, 0 = unlimited (50)
 *   "login-burst"         double   (100)
 *   "event-backlog"       uint     room events kept for resume replay (1024)
 *   "login-grace"         double   seconds a new connection has to send login (10)
 *   "request-timeout"     double   seconds an accepted connection has to become a
 *                                  WebSocket (10)
 *   "max-connections-per-address" uint  open TCP connections per client IP, 0 = no cap (256)
 *   "max-send-queue"      uint     bytes queued for a client before it is dropped (1 MiB)
 *   "max-streams-per-session" uint streams one session may have at once (32)
 *   "tls-certificate"     GTlsCertificate  the public port speaks TLS with it (NULL: plain)
 *   "guest-token-ttl"     double   seconds a guest token from POST /v1/guest-token lasts (600)
 *
 * Every setting is fixed once tether_server_listen() has run: setting one later is
 * refused with a critical warning. The exception is "tls-certificate", which may be
 * replaced (not added or removed) for connections accepted afterwards.
 */

TetherServer *tether_server_new               (const char          *app_id,
                                               const char          *app_secret);
gboolean      tether_server_listen            (TetherServer        *self,
                                               const char          *host,
                                               guint16              port,
                                               GError             **error);
guint16       tether_server_get_port          (TetherServer        *self);
gboolean      tether_server_load_tls_files    (TetherServer        *self,
                                               const char          *cert_file,
                                               const char          *key_file,
                                               GError             **error);
gboolean      tether_server_listen_admin      (TetherServer        *self,
                                               const char          *host,
                                               guint16              port,
                                               GError             **error);
guint16       tether_server_get_admin_port    (TetherServer        *self);
char         *tether_server_get_url           (TetherServer        *self);
void          tether_server_add_media_node    (TetherServer        *self,
                                               const char          *id,
                                               const char          *url);
void          tether_server_attach_relay      (TetherServer        *self,
                                               TetherRelay         *relay,
                                               const char          *id,
                                               const char          *url);
void          tether_server_enable_media_cascade (TetherServer     *self,
                                                  TetherRelay      *relay);
void          tether_server_set_media_edge    (TetherServer        *self,
                                               const char          *node_id);
gboolean      tether_server_join_cluster_media_only (TetherServer  *self,
                                                     GError       **error);
void          tether_server_shutdown          (TetherServer        *self,
                                               double               retry_after);
guint         tether_server_get_session_count (TetherServer        *self);
guint         tether_server_get_room_count    (TetherServer        *self);
guint         tether_server_get_connection_count (TetherServer     *self);
guint         tether_server_get_tcp_connection_count (TetherServer *self);
char         *tether_server_get_metrics_text  (TetherServer        *self);
void          tether_server_add_public_room   (TetherServer        *self,
                                               const char          *pattern);
gboolean      tether_server_add_trusted_proxy (TetherServer        *self,
                                               const char          *cidr,
                                               GError             **error);

G_END_DECLS
