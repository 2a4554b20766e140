/* tether-server-config.h: the tether-server program's options — command line and the
 * [server] group of a key file — checked and applied to a TetherServer. Apart from
 * tether-server-main.c so the fuzz harness (tests/fuzz/fuzz-server-config.c) runs the
 * same parser.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tether-server.h"

G_BEGIN_DECLS

/* A number option nobody set. */
#define TETHER_SERVER_OPTION_UNSET (-1.0)

typedef struct
{
  char    *listen;
  char    *admin_listen;
  char    *app_id;
  char    *app_secret;
  char    *app_secret_file;
  char    *config;
  char   **media_nodes;
  char   **public_rooms;
  char    *media_listen;
  char    *media_url;
  char    *media_id;
  char    *tls_cert;
  char    *tls_key;
  char    *room_service;
  char    *srt_encryption;   /* "on" (NULL: the default) or "off" */
  char    *room_service_ca;
  char   **trusted_proxies;
  char    *redis;
  char    *node_id;
  char    *public_url;
  char    *media_edge;       /* a --media-only node of the cluster named in login_ok */
  char   **room_service_urls;
  gboolean no_media;
  gboolean media_only;
  gboolean media_cascade;
  double   heartbeat_timeout;
  double   heartbeat_interval;
  double   session_ttl;
  double   token_warning;
  double   token_skew;
  double   login_rate;
  double   login_burst;
  double   login_grace;
  double   request_timeout;
  double   max_connections_per_address;
  double   max_send_queue;
  double   max_streams_per_session;
  double   event_backlog;
  double   event_backlog_bytes;
  double   max_frame_size;
  double   shutdown_retry_after;
  double   guest_token_ttl;
  double   node_beat;
  double   node_timeout;
} TetherServerOptions;

void      tether_server_options_init          (TetherServerOptions  *o);
void      tether_server_options_clear         (TetherServerOptions  *o);
gboolean  tether_server_options_load_config   (TetherServerOptions  *o,
                                               GError              **error);
gboolean  tether_server_options_apply_key_file (TetherServerOptions *o,
                                               GKeyFile             *kf,
                                               const char           *source,
                                               GError              **error);
gboolean  tether_server_options_check         (const TetherServerOptions *o,
                                               GError              **error);
gboolean  tether_server_options_configure     (const TetherServerOptions *o,
                                               TetherServer         *server,
                                               GError              **error);
gboolean  tether_server_options_srt_encryption (const TetherServerOptions *o);
gboolean  tether_server_parse_listen          (const char           *text,
                                               char                **host,
                                               guint16              *port,
                                               GError              **error);

G_END_DECLS
