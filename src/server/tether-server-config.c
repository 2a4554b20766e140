/* tether-server-config.c: the tether-server program's options and config file
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-protocol.h"
#include "tether-redis.h"
#include "tether-server-config.h"

#define UNSET TETHER_SERVER_OPTION_UNSET
/* Seconds a shutdown may ask clients to wait before they come back. */
#define MAX_SHUTDOWN_RETRY_AFTER 3600.0

void
tether_server_options_init (TetherServerOptions *o)
{
  memset (o, 0, sizeof *o);
  o->heartbeat_timeout = UNSET;
  o->heartbeat_interval = UNSET;
  o->session_ttl = UNSET;
  o->token_warning = UNSET;
  o->token_skew = UNSET;
  o->login_rate = UNSET;
  o->login_burst = UNSET;
  o->login_grace = UNSET;
  o->request_timeout = UNSET;
  o->max_connections_per_address = UNSET;
  o->max_send_queue = UNSET;
  o->max_streams_per_session = UNSET;
  o->event_backlog = UNSET;
  o->event_backlog_bytes = UNSET;
  o->max_frame_size = UNSET;
  o->shutdown_retry_after = UNSET;
  o->guest_token_ttl = UNSET;
  o->node_beat = UNSET;
  o->node_timeout = UNSET;
}

void
tether_server_options_clear (TetherServerOptions *o)
{
  g_clear_pointer (&o->listen, g_free);
  g_clear_pointer (&o->admin_listen, g_free);
  g_clear_pointer (&o->app_id, g_free);
  g_clear_pointer (&o->app_secret, g_free);
  g_clear_pointer (&o->app_secret_file, g_free);
  g_clear_pointer (&o->config, g_free);
  g_clear_pointer (&o->media_nodes, g_strfreev);
  g_clear_pointer (&o->public_rooms, g_strfreev);
  g_clear_pointer (&o->media_listen, g_free);
  g_clear_pointer (&o->media_url, g_free);
  g_clear_pointer (&o->media_id, g_free);
  g_clear_pointer (&o->tls_cert, g_free);
  g_clear_pointer (&o->tls_key, g_free);
  g_clear_pointer (&o->room_service, g_free);
  g_clear_pointer (&o->srt_encryption, g_free);
  g_clear_pointer (&o->room_service_ca, g_free);
  g_clear_pointer (&o->trusted_proxies, g_strfreev);
  g_clear_pointer (&o->redis, g_free);
  g_clear_pointer (&o->media_edge, g_free);
  g_clear_pointer (&o->node_id, g_free);
  g_clear_pointer (&o->public_url, g_free);
  g_clear_pointer (&o->room_service_urls, g_strfreev);
}

/**
 * tether_server_options_apply_key_file:
 * @source: the file name, for error messages
 *
 * Fills what the command line left unset from the [server] group of @kf.
 */
gboolean
tether_server_options_apply_key_file (TetherServerOptions  *o,
                                      GKeyFile             *kf,
                                      const char           *source,
                                      GError              **error)
{
  struct { const char *key; double *value; } doubles[] = {
    { "heartbeat-timeout", &o->heartbeat_timeout },
    { "heartbeat-interval", &o->heartbeat_interval },
    { "session-ttl", &o->session_ttl },
    { "token-warning", &o->token_warning },
    { "token-skew", &o->token_skew },
    { "login-rate", &o->login_rate },
    { "login-burst", &o->login_burst },
    { "login-grace", &o->login_grace },
    { "request-timeout", &o->request_timeout },
    { "max-connections-per-address", &o->max_connections_per_address },
    { "max-send-queue", &o->max_send_queue },
    { "max-streams-per-session", &o->max_streams_per_session },
    { "event-backlog", &o->event_backlog },
    { "event-backlog-bytes", &o->event_backlog_bytes },
    { "max-frame-size", &o->max_frame_size },
    { "shutdown-retry-after", &o->shutdown_retry_after },
    { "guest-token-ttl", &o->guest_token_ttl },
    { "node-beat", &o->node_beat },
    { "node-timeout", &o->node_timeout },
  };
  struct { const char *key; char **value; } strings[] = {
    { "listen", &o->listen },
    { "admin-listen", &o->admin_listen },
    { "app-id", &o->app_id },
    { "app-secret", &o->app_secret },
    { "app-secret-file", &o->app_secret_file },
    { "media-listen", &o->media_listen },
    { "media-url", &o->media_url },
    { "media-id", &o->media_id },
    { "tls-cert", &o->tls_cert },
    { "tls-key", &o->tls_key },
    { "room-service", &o->room_service },
    { "srt-encryption", &o->srt_encryption },
    { "room-service-ca", &o->room_service_ca },
    { "redis", &o->redis },
    { "node-id", &o->node_id },
    { "public-url", &o->public_url },
    { "media-edge", &o->media_edge },
  };

  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++)
    {
      g_autoptr(GError) local = NULL;
      double v;

      if (*doubles[i].value != UNSET || !g_key_file_has_key (kf, "server", doubles[i].key, NULL))
        continue;
      v = g_key_file_get_double (kf, "server", doubles[i].key, &local);
      if (local != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", source);
          return FALSE;
        }
      *doubles[i].value = v;
    }
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      if (*strings[i].value == NULL)
        *strings[i].value = g_key_file_get_string (kf, "server", strings[i].key, NULL);
    }
  if (o->media_nodes == NULL)
    o->media_nodes = g_key_file_get_string_list (kf, "server", "media-node", NULL, NULL);
  if (o->public_rooms == NULL)
    o->public_rooms = g_key_file_get_string_list (kf, "server", "public-room", NULL, NULL);
  if (o->trusted_proxies == NULL)
    o->trusted_proxies = g_key_file_get_string_list (kf, "server", "trusted-proxy", NULL, NULL);
  if (o->room_service_urls == NULL)
    o->room_service_urls = g_key_file_get_string_list (kf, "server", "room-service-urls", NULL,
                                                       NULL);
  if (!o->no_media)
    o->no_media = g_key_file_get_boolean (kf, "server", "no-media", NULL);
  if (!o->media_only)
    o->media_only = g_key_file_get_boolean (kf, "server", "media-only", NULL);
  if (!o->media_cascade)
    o->media_cascade = g_key_file_get_boolean (kf, "server", "media-cascade", NULL);

  return TRUE;
}

/* Reads the file named by --config, if any. */
gboolean
tether_server_options_load_config (TetherServerOptions  *o,
                                   GError              **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  if (o->config == NULL)
    return TRUE;
  if (!g_key_file_load_from_file (kf, o->config, G_KEY_FILE_NONE, error))
    return FALSE;
  return tether_server_options_apply_key_file (o, kf, o->config, error);
}

gboolean
tether_server_parse_listen (const char  *text,
                            char       **host,
                            guint16     *port,
                            GError     **error)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *h = NULL;
  guint64 p = 0;

  if (colon == NULL || (text[0] == '[' && colon < strchr (text, ']')))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--listen expects HOST:PORT, got “%s”", text);
      return FALSE;
    }
  h = g_strndup (text, colon - text);
  if (h[0] == '[' && h[strlen (h) - 1] == ']')
    {
      char *inner = g_strndup (h + 1, strlen (h) - 2);
      g_free (h);
      h = inner;
    }
  if (!g_ascii_string_to_unsigned (colon + 1, 10, 0, G_MAXUINT16, &p, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--listen: bad port in “%s”", text);
      return FALSE;
    }

  *host = g_steal_pointer (&h);
  *port = (guint16) p;
  return TRUE;
}

/* The value of @option, if given, is a protocol id (a node's, a media node's). */
static gboolean
check_id (const char  *option,
          const char  *value,
          GError     **error)
{
  if (value == NULL || tether_protocol_valid_id (value))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "%s: “%s” is not a valid id (1–128 characters of A–Z a–z 0–9 . _ ~ @ : -)",
               option, value);
  return FALSE;
}

/* What no single option can check alone. */
gboolean
tether_server_options_check (const TetherServerOptions  *o,
                             GError                    **error)
{
  if (o->no_media && o->media_only)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--no-media and --media-only exclude each other");
      return FALSE;
    }
  if ((o->tls_cert == NULL) != (o->tls_key == NULL))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--tls-cert and --tls-key go together");
      return FALSE;
    }
  if (o->tls_cert != NULL && o->media_only)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--tls-cert is for the room service; a --media-only node has none");
      return FALSE;
    }
  if (o->room_service != NULL && !o->media_only)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--room-service is for a media node alone (--media-only)");
      return FALSE;
    }
  if (o->room_service != NULL && !g_str_has_prefix (o->room_service, "http://")
      && !g_str_has_prefix (o->room_service, "https://"))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--room-service must be an http:// or https:// URL");
      return FALSE;
    }
  if (o->srt_encryption != NULL && strcmp (o->srt_encryption, "on") != 0
      && strcmp (o->srt_encryption, "off") != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--srt-encryption expects on or off, got “%s”", o->srt_encryption);
      return FALSE;
    }
  if (o->room_service_ca != NULL && (o->room_service == NULL
                                     || !g_str_has_prefix (o->room_service, "https://")))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--room-service-ca is for an https:// --room-service");
      return FALSE;
    }
  /* A media-only node of a cluster locates streams in Redis; one on its own has no
   * room service to ask. */
  if (o->media_cascade && (o->no_media || (o->media_only && o->redis == NULL)))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--media-cascade is for a room service's embedded media node, or a "
                           "--media-only node of a cluster (--redis), which finds streams there");
      return FALSE;
    }
  /* A media-only node of a cluster registers in Redis itself: the reports of
   * --room-service would go to one room service, which refuses them in a cluster. */
  if (o->media_only && o->redis != NULL && o->room_service != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--room-service and --redis exclude each other: a --media-only node of "
                           "a cluster registers in Redis, where every room-service node finds it");
      return FALSE;
    }
  if (o->media_only && o->public_url != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--public-url is a room service's URL; a --media-only node has none "
                           "(--media-url is its own)");
      return FALSE;
    }
  /* A room-service node of a cluster may send its players to a media-only node of
   * the cluster, which pulls; its own embedded node is the edge with --media-cascade. */
  if (o->media_edge != NULL && (o->redis == NULL || o->media_only || o->media_cascade))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--media-edge is for a room-service node of a cluster (--redis, not "
                           "--media-only), and excludes --media-cascade, which makes its own "
                           "media node the edge");
      return FALSE;
    }
  if (!check_id ("--media-edge", o->media_edge, error))
    return FALSE;
  /* A media node that reports to a room service runs no TetherServer, which serves
   * /healthz and /metrics: silently without them would be worse. */
  if (o->admin_listen != NULL && o->media_only && o->redis == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--admin-listen is for a room service or a --media-only node of a "
                           "cluster (--redis); a media node reporting to a room service has none");
      return FALSE;
    }
  if (o->trusted_proxies != NULL && o->media_only)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--trusted-proxy is for the room service; a --media-only node has none");
      return FALSE;
    }
  /* Sent to every client as "retry_after" (NaN fails the comparison too). */
  if (o->shutdown_retry_after != UNSET
      && !(o->shutdown_retry_after >= 0 && o->shutdown_retry_after <= MAX_SHUTDOWN_RETRY_AFTER))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--shutdown-retry-after must be from 0 to %g", MAX_SHUTDOWN_RETRY_AFTER);
      return FALSE;
    }
  return TRUE;
}

/* --srt-encryption: on unless "off" (tether_server_options_check() refused the rest).
 * It sets the embedded node and what the room service hands out alike. */
gboolean
tether_server_options_srt_encryption (const TetherServerOptions *o)
{
  return o->srt_encryption == NULL || strcmp (o->srt_encryption, "off") != 0;
}

/* Sets @property from an option, refusing a value outside the property's range (or
 * not a whole number, for a count) with an error that names the option. */
static gboolean
set_if (TetherServer  *server,
        const char    *property,
        double         value,
        GError       **error)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (server), property);

  if (value == UNSET)
    return TRUE;
  if (G_IS_PARAM_SPEC_UINT (pspec))
    {
      GParamSpecUInt *u = G_PARAM_SPEC_UINT (pspec);

      if (!(value >= u->minimum && value <= u->maximum) || value != (double) (guint) value)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--%s must be a whole number from %u to %u", property, u->minimum, u->maximum);
          return FALSE;
        }
      g_object_set (server, property, (guint) value, NULL);
      return TRUE;
    }

  {
    GParamSpecDouble *d = G_PARAM_SPEC_DOUBLE (pspec);

    if (!(value >= d->minimum && value <= d->maximum))
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "--%s must be from %g to %g", property, d->minimum, d->maximum);
        return FALSE;
      }
    g_object_set (server, property, value, NULL);
    return TRUE;
  }
}

/* Sets the room service's properties and media nodes from @o (the TLS files are read
 * by the program, not here, so the fuzz harness never opens files). */
gboolean
tether_server_options_configure (const TetherServerOptions  *o,
                                 TetherServer               *server,
                                 GError                    **error)
{
  struct { const char *property; double value; } numbers[] = {
    { "heartbeat-timeout", o->heartbeat_timeout },
    { "heartbeat-interval", o->heartbeat_interval },
    { "session-ttl", o->session_ttl },
    { "token-warning", o->token_warning },
    { "token-skew", o->token_skew },
    { "login-rate", o->login_rate },
    { "login-burst", o->login_burst },
    { "login-grace", o->login_grace },
    { "request-timeout", o->request_timeout },
    { "max-connections-per-address", o->max_connections_per_address },
    { "max-send-queue", o->max_send_queue },
    { "max-streams-per-session", o->max_streams_per_session },
    { "event-backlog", o->event_backlog },
    { "event-backlog-bytes", o->event_backlog_bytes },
    { "max-frame-size", o->max_frame_size },
    { "guest-token-ttl", o->guest_token_ttl },
    { "node-beat", o->node_beat },
    { "node-timeout", o->node_timeout },
  };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    if (!set_if (server, numbers[i].property, numbers[i].value, error))
      return FALSE;
  /* Cluster mode (docs/deploy.md, "Several nodes"). */
  if (o->redis != NULL)
    {
      g_autofree char *host = NULL;
      guint16 port;
      guint db;

      if (!tether_redis_parse_url (o->redis, &host, &port, &db, NULL, error))
        {
          g_prefix_error (error, "--redis: ");
          return FALSE;
        }
      if ((o->node_id != NULL && !tether_redis_id_check ("--node-id", o->node_id, error))
          || (o->media_id != NULL && !tether_redis_id_check ("--media-id", o->media_id, error))
          || (o->app_id != NULL && !tether_redis_id_check ("--app-id", o->app_id, error)))
        return FALSE;
      g_object_set (server, "redis", o->redis, "node-id", o->node_id, "public-url", o->public_url,
                    NULL);
    }
  else if (o->node_id != NULL || o->public_url != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--node-id and --public-url belong to a cluster: give --redis too");
      return FALSE;
    }
  g_object_set (server, "srt-encryption", tether_server_options_srt_encryption (o), NULL);

  for (guint i = 0; o->media_nodes != NULL && o->media_nodes[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (o->media_nodes[i], "=", 2);

      if (parts[0] == NULL || parts[1] == NULL || *parts[1] == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--media-node expects ID=URL, got “%s”", o->media_nodes[i]);
          return FALSE;
        }
      /* Announced to clients as an id: the server would refuse it with a critical. */
      if (!tether_protocol_valid_id (parts[0]))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--media-node: “%s” is not a valid id (1–128 characters of "
                       "A–Z a–z 0–9 . _ ~ @ : -)", parts[0]);
          return FALSE;
        }
      tether_server_add_media_node (server, parts[0], parts[1]);
    }

  for (guint i = 0; o->public_rooms != NULL && o->public_rooms[i] != NULL; i++)
    {
      if (*o->public_rooms[i] == '\0')
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               "--public-room expects a room id or a glob such as “demo-*”");
          return FALSE;
        }
      tether_server_add_public_room (server, o->public_rooms[i]);
    }
  for (guint i = 0; o->trusted_proxies != NULL && o->trusted_proxies[i] != NULL; i++)
    if (!tether_server_add_trusted_proxy (server, o->trusted_proxies[i], error))
      return FALSE;
  for (guint i = 0; o->room_service_urls != NULL && o->room_service_urls[i] != NULL; i++)
    {
      g_autoptr(GUri) uri = g_uri_parse (o->room_service_urls[i], G_URI_FLAGS_NONE, NULL);
      const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : "";

      if ((g_strcmp0 (scheme, "ws") != 0 && g_strcmp0 (scheme, "wss") != 0)
          || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--room-service-url expects a ws:// or wss:// URL, got “%s”",
                       o->room_service_urls[i]);
          return FALSE;
        }
    }
  if (o->room_service_urls != NULL)
    g_object_set (server, "room-service-urls", o->room_service_urls, NULL);
  return TRUE;
}
