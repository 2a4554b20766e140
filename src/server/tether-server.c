/* tether-server.c: TetherServer — the room service object: its settings, listening
 * and shutting down, the media-node directory and the public API. The work is done
 * by tether-server-accept.c (sockets), -client.c (a WebSocket and the protocol),
 * -auth.c (tokens, rate limits), -session.c (sessions and the sweep), -room.c (rooms,
 * streams, events), -http.c (admin endpoints) and -guest.c (public rooms, guest tokens).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-message.h"
#include "tether-redis.h"
#include "tether-server-private.h"

G_DEFINE_FINAL_TYPE (TetherServer, tether_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_APP_ID,
  PROP_APP_SECRET,
  PROP_HEARTBEAT_TIMEOUT,
  PROP_HEARTBEAT_INTERVAL,
  PROP_SESSION_TTL,
  PROP_TOKEN_SKEW,
  PROP_TOKEN_WARNING,
  PROP_MAX_FRAME_SIZE,
  PROP_MAX_DEPTH,
  PROP_LOGIN_RATE,
  PROP_LOGIN_BURST,
  PROP_EVENT_BACKLOG,
  PROP_EVENT_BACKLOG_BYTES,
  PROP_LOGIN_GRACE,
  PROP_REQUEST_TIMEOUT,
  PROP_MAX_CONNECTIONS_PER_ADDRESS,
  PROP_MAX_SEND_QUEUE,
  PROP_MAX_STREAMS_PER_SESSION,
  PROP_GUEST_TOKEN_TTL,
  PROP_SRT_ENCRYPTION,
  PROP_ROOM_SERVICE_URLS,
  PROP_PORT,
  PROP_TLS_CERTIFICATE,
  PROP_REDIS,
  PROP_NODE_ID,
  PROP_PUBLIC_URL,
  PROP_NODE_BEAT,
  PROP_NODE_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Logging */

/**
 * tether_server_log:
 *
 * Logs through GLib structured logging with the session's room, user and session
 * ids as fields. Callers never pass tokens, resume keys or secrets.
 */
void
tether_server_log (GLogLevelFlags       level,
                   TetherServerSession *session,
                   const char          *format,
                   ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (g_log_writer_default_would_drop (level, G_LOG_DOMAIN))
    return;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (session != NULL)
    g_log_structured (G_LOG_DOMAIN, level,
                      "TETHER_ROOM_ID", session->room->id,
                      "TETHER_USER_ID", session->user_id,
                      "TETHER_SESSION_ID", session->id,
                      "MESSAGE", "[room=%s user=%s session=%.8s] %s",
                      session->room->id, session->user_id, session->id, text);
  else
    g_log_structured (G_LOG_DOMAIN, level, "MESSAGE", "%s", text);
}

/* GObject */

void
tether_server_media_node_free (gpointer data)
{
  TetherServerMediaNode *node = data;

  g_free (node->id);
  g_free (node->url);
  g_free (node);
}

static void
tether_server_dispose (GObject *object)
{
  TetherServer *self = TETHER_SERVER (object);

  if (self->sweep_source != NULL)
    {
      g_source_destroy (self->sweep_source);
      g_clear_pointer (&self->sweep_source, g_source_unref);
    }

  tether_server_cluster_free (self);
  tether_server_conns_clear (self);

  tether_server_model_clear (self);

  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  if (self->links != NULL)
    tether_server_links_clear (self);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  if (self->admin_soup != NULL)
    soup_server_disconnect (self->admin_soup);
  g_clear_object (&self->admin_soup);
  g_clear_object (&self->tls_certificate);
  g_clear_pointer (&self->poller, tether_guard_poller_free);

  G_OBJECT_CLASS (tether_server_parent_class)->dispose (object);
}

static void
tether_server_finalize (GObject *object)
{
  TetherServer *self = TETHER_SERVER (object);

  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->login_buckets, g_hash_table_unref);
  g_clear_pointer (&self->links, g_hash_table_unref);
  g_clear_pointer (&self->per_address, g_hash_table_unref);
  g_clear_pointer (&self->token_deadlines, g_sequence_free);
  g_clear_pointer (&self->media_nodes, g_ptr_array_unref);
  g_clear_pointer (&self->media_edge, g_free);
  g_clear_pointer (&self->public_rooms, g_ptr_array_unref);
  g_clear_pointer (&self->trusted_proxies, g_ptr_array_unref);
  g_clear_pointer (&self->room_service_urls, g_strfreev);
  g_clear_pointer (&self->relays, g_ptr_array_unref);
  g_clear_pointer (&self->ingests, g_hash_table_unref);
  g_clear_pointer (&self->node_reports, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->app_id);
  if (self->app_secret != NULL)
    {
      memset (self->app_secret, 0, strlen (self->app_secret));
      g_free (self->app_secret);
    }
  g_free (self->url_host);
  g_free (self->redis_url);
  g_free (self->node_id);
  g_free (self->public_url);

  G_OBJECT_CLASS (tether_server_parent_class)->finalize (object);
}

static void
set_double (TetherServer *self,
            double       *field,
            const GValue *value,
            guint         prop_id)
{
  double v = g_value_get_double (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_uint (TetherServer *self,
          guint        *field,
          const GValue *value,
          guint         prop_id)
{
  guint v = g_value_get_uint (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_string (TetherServer *self,
            char        **field,
            const GValue *value,
            guint         prop_id)
{
  const char *v = g_value_get_string (value);

  if (g_strcmp0 (*field, v) == 0)
    return;
  g_free (*field);
  *field = g_strdup (v != NULL && *v != '\0' ? v : NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
tether_server_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherServer *self = TETHER_SERVER (object);

  switch (prop_id)
    {
    case PROP_APP_ID:
      g_value_set_string (value, self->app_id);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      g_value_set_double (value, self->heartbeat_timeout);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      g_value_set_double (value, self->heartbeat_interval);
      break;
    case PROP_SESSION_TTL:
      g_value_set_double (value, self->session_ttl);
      break;
    case PROP_TOKEN_SKEW:
      g_value_set_double (value, self->token_skew);
      break;
    case PROP_TOKEN_WARNING:
      g_value_set_double (value, self->token_warning);
      break;
    case PROP_MAX_FRAME_SIZE:
      g_value_set_uint (value, self->max_frame_size);
      break;
    case PROP_MAX_DEPTH:
      g_value_set_uint (value, self->max_depth);
      break;
    case PROP_LOGIN_RATE:
      g_value_set_double (value, self->login_rate);
      break;
    case PROP_LOGIN_BURST:
      g_value_set_double (value, self->login_burst);
      break;
    case PROP_EVENT_BACKLOG:
      g_value_set_uint (value, self->event_backlog);
      break;
    case PROP_EVENT_BACKLOG_BYTES:
      g_value_set_uint (value, self->event_backlog_bytes);
      break;
    case PROP_LOGIN_GRACE:
      g_value_set_double (value, self->login_grace);
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_double (value, self->request_timeout);
      break;
    case PROP_MAX_CONNECTIONS_PER_ADDRESS:
      g_value_set_uint (value, self->max_connections_per_address);
      break;
    case PROP_MAX_SEND_QUEUE:
      g_value_set_uint (value, self->max_send_queue);
      break;
    case PROP_MAX_STREAMS_PER_SESSION:
      g_value_set_uint (value, self->max_streams_per_session);
      break;
    case PROP_TLS_CERTIFICATE:
      g_value_set_object (value, self->tls_certificate);
      break;
    case PROP_GUEST_TOKEN_TTL:
      g_value_set_double (value, self->guest_token_ttl);
      break;
    case PROP_SRT_ENCRYPTION:
      g_value_set_boolean (value, self->srt_encryption);
      break;
    case PROP_ROOM_SERVICE_URLS:
      g_value_set_boxed (value, self->room_service_urls);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_REDIS:
      g_value_set_string (value, self->redis_url);
      break;
    case PROP_NODE_ID:
      g_value_set_string (value, self->node_id);
      break;
    case PROP_PUBLIC_URL:
      g_value_set_string (value, self->public_url);
      break;
    case PROP_NODE_BEAT:
      g_value_set_double (value, self->node_beat);
      break;
    case PROP_NODE_TIMEOUT:
      g_value_set_double (value, self->node_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_server_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TetherServer *self = TETHER_SERVER (object);

  /* A renewed certificate is for the connections accepted from now on; but a port
   * cannot change between plain and TLS. */
  if (prop_id == PROP_TLS_CERTIFICATE)
    {
      GTlsCertificate *certificate = g_value_get_object (value);

      if ((self->listening || self->shut_down)
          && (certificate == NULL) != (self->tls_certificate == NULL))
        {
          g_critical ("TetherServer: TLS can only be turned on or off before tether_server_listen()");
          return;
        }
      if (g_set_object (&self->tls_certificate, certificate))
        g_object_notify_by_pspec (object, pspec);
      return;
    }

  /* The sweep's period, the replay ring and every connection were sized from the
   * settings when listening started; changing them under a running service would
   * break those (a smaller event backlog corrupts the ring). */
  if (self->listening || self->shut_down)
    {
      g_critical ("TetherServer: \"%s\" can only be set before tether_server_listen()",
                  pspec->name);
      return;
    }

  switch (prop_id)
    {
    case PROP_APP_ID:
      if (g_strcmp0 (self->app_id, g_value_get_string (value)) != 0)
        {
          g_free (self->app_id);
          self->app_id = g_value_dup_string (value);
          if (self->app_id == NULL)
            self->app_id = g_strdup ("demo");
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_APP_SECRET:
      /* Write-only, and never notified: the secret does not travel anywhere. */
      if (self->app_secret != NULL)
        memset (self->app_secret, 0, strlen (self->app_secret));
      g_free (self->app_secret);
      self->app_secret = g_value_dup_string (value);
      break;
    case PROP_HEARTBEAT_TIMEOUT:
      set_double (self, &self->heartbeat_timeout, value, prop_id);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      set_double (self, &self->heartbeat_interval, value, prop_id);
      break;
    case PROP_SESSION_TTL:
      set_double (self, &self->session_ttl, value, prop_id);
      break;
    case PROP_TOKEN_SKEW:
      set_double (self, &self->token_skew, value, prop_id);
      break;
    case PROP_TOKEN_WARNING:
      set_double (self, &self->token_warning, value, prop_id);
      break;
    case PROP_MAX_FRAME_SIZE:
      set_uint (self, &self->max_frame_size, value, prop_id);
      break;
    case PROP_MAX_DEPTH:
      set_uint (self, &self->max_depth, value, prop_id);
      break;
    case PROP_LOGIN_RATE:
      set_double (self, &self->login_rate, value, prop_id);
      break;
    case PROP_LOGIN_BURST:
      set_double (self, &self->login_burst, value, prop_id);
      break;
    case PROP_EVENT_BACKLOG:
      set_uint (self, &self->event_backlog, value, prop_id);
      break;
    case PROP_EVENT_BACKLOG_BYTES:
      set_uint (self, &self->event_backlog_bytes, value, prop_id);
      break;
    case PROP_LOGIN_GRACE:
      set_double (self, &self->login_grace, value, prop_id);
      break;
    case PROP_REQUEST_TIMEOUT:
      set_double (self, &self->request_timeout, value, prop_id);
      break;
    case PROP_MAX_CONNECTIONS_PER_ADDRESS:
      set_uint (self, &self->max_connections_per_address, value, prop_id);
      break;
    case PROP_MAX_SEND_QUEUE:
      set_uint (self, &self->max_send_queue, value, prop_id);
      break;
    case PROP_MAX_STREAMS_PER_SESSION:
      set_uint (self, &self->max_streams_per_session, value, prop_id);
      break;
    case PROP_GUEST_TOKEN_TTL:
      set_double (self, &self->guest_token_ttl, value, prop_id);
      break;
    case PROP_SRT_ENCRYPTION:
      if (self->srt_encryption != g_value_get_boolean (value))
        {
          self->srt_encryption = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_REDIS:
      set_string (self, &self->redis_url, value, prop_id);
      break;
    case PROP_NODE_ID:
      set_string (self, &self->node_id, value, prop_id);
      break;
    case PROP_PUBLIC_URL:
      set_string (self, &self->public_url, value, prop_id);
      break;
    case PROP_NODE_BEAT:
      set_double (self, &self->node_beat, value, prop_id);
      break;
    case PROP_NODE_TIMEOUT:
      set_double (self, &self->node_timeout, value, prop_id);
      break;
    case PROP_ROOM_SERVICE_URLS:
      g_strfreev (self->room_service_urls);
      self->room_service_urls = g_value_dup_boxed (value);
      g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
double_param (const char *name,
              const char *blurb,
              double      min,
              double      max,
              double      def)
{
  return g_param_spec_double (name, NULL, blurb, min, max, def,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
uint_param (const char *name,
            const char *blurb,
            guint       min,
            guint       max,
            guint       def)
{
  return g_param_spec_uint (name, NULL, blurb, min, max, def,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
tether_server_class_init (TetherServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tether_server_dispose;
  object_class->finalize = tether_server_finalize;
  object_class->get_property = tether_server_get_property;
  object_class->set_property = tether_server_set_property;

  properties[PROP_APP_ID] =
    g_param_spec_string ("app-id", NULL, "The only app id this server accepts", "demo",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_APP_SECRET] =
    g_param_spec_string ("app-secret", NULL, "The secret tokens are signed with", NULL,
                         G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEARTBEAT_TIMEOUT] =
    double_param ("heartbeat-timeout", "Seconds of client silence before the user is removed",
                  0.001, 1e7, 90.0);
  properties[PROP_HEARTBEAT_INTERVAL] =
    double_param ("heartbeat-interval", "Seconds between client heartbeats", 0.001, 1e7, 1.0);
  properties[PROP_SESSION_TTL] =
    double_param ("session-ttl", "Seconds a session stays resumable", 0.0, 1e9, 1200.0);
  properties[PROP_TOKEN_SKEW] =
    double_param ("token-skew", "Clock-skew tolerance for tokens, seconds", 0.0, 1e7, TETHER_TOKEN_DEFAULT_SKEW);
  properties[PROP_TOKEN_WARNING] =
    double_param ("token-warning", "Seconds before expiry at which token_will_expire is sent",
                  0.0, 1e7, 30.0);
  properties[PROP_MAX_FRAME_SIZE] =
    uint_param ("max-frame-size", "Largest accepted frame, bytes", 256, G_MAXINT32,
                TETHER_PROTOCOL_DEFAULT_MAX_FRAME);
  properties[PROP_MAX_DEPTH] =
    uint_param ("max-depth", "Deepest accepted JSON nesting", 2, 1000, TETHER_PROTOCOL_DEFAULT_MAX_DEPTH);
  properties[PROP_LOGIN_RATE] =
    double_param ("login-rate", "Logins per second per client address, 0 = unlimited", 0.0, 1e9, 50.0);
  properties[PROP_LOGIN_BURST] =
    double_param ("login-burst", "Login burst per client address", 0.0, 1e9, 100.0);
  properties[PROP_EVENT_BACKLOG] =
    uint_param ("event-backlog", "Room events kept for resume replay", 0, 1 << 20, 1024);
  properties[PROP_EVENT_BACKLOG_BYTES] =
    uint_param ("event-backlog-bytes", "Bytes of room events kept for resume replay, per room",
                0, G_MAXINT32, 512 * 1024);
  properties[PROP_LOGIN_GRACE] =
    double_param ("login-grace", "Seconds a new connection has to send login", 0.001, 1e7, 10.0);
  properties[PROP_REQUEST_TIMEOUT] =
    double_param ("request-timeout", "Seconds an accepted connection has to become a WebSocket",
                  0.001, 1e7, 10.0);
  properties[PROP_MAX_CONNECTIONS_PER_ADDRESS] =
    uint_param ("max-connections-per-address", "Open TCP connections per client address, 0 = no cap",
                0, G_MAXINT32, 256);
  properties[PROP_MAX_SEND_QUEUE] =
    uint_param ("max-send-queue", "Bytes queued for a client before it is dropped", 4096,
                G_MAXINT32, 1024 * 1024);
  properties[PROP_MAX_STREAMS_PER_SESSION] =
    uint_param ("max-streams-per-session", "Streams one session may have at once", 1, 65536, 32);
  properties[PROP_GUEST_TOKEN_TTL] =
    double_param ("guest-token-ttl", "Seconds a guest token lasts (POST /v1/guest-token)",
                  1.0, 1e7, 600.0);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, "The port listened on, once listening", 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherServer:tls-certificate:
   *
   * The certificate (with its private key) the room service's port speaks TLS with;
   * %NULL, the default, for plain `ws://`. Set before tether_server_listen() it makes
   * that port TLS only (the admin port stays plain). It may be replaced while the
   * server runs, for connections accepted afterwards; it cannot be turned on or off
   * then.
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherServer:srt-encryption:
   *
   * Whether the media nodes encrypt (the default): `login_ok` and `token_renew_ok`
   * then carry the SRT passphrase of the session's token. Set it as every media
   * node of the server is set (#TetherRelay:srt-encryption); a client of a node
   * set otherwise is refused (docs/protocol.md, "Media encryption").
   */
  properties[PROP_SRT_ENCRYPTION] =
    g_param_spec_boolean ("srt-encryption", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherServer:room-service-urls:
   *
   * The room service URLs `login_ok` hands out as `room_services` (this node's
   * first, by convention): the nodes a client fails over to. %NULL, the default:
   * the field is left out. Set before tether_server_listen().
   */
  properties[PROP_ROOM_SERVICE_URLS] =
    g_param_spec_boxed ("room-service-urls", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherServer:redis:
   *
   * `redis://HOST:PORT[/DB]`: run as one node of a cluster whose rooms live in that
   * Redis (docs/design.md, "Several nodes"); %NULL, the default, for one node on its
   * own, which needs no Redis.
   */
  properties[PROP_REDIS] =
    g_param_spec_string ("redis", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherServer:node-id:
   *
   * This node's id in the cluster (an id as of docs/protocol.md); %NULL for the host
   * name. Two live nodes must not share one.
   */
  properties[PROP_NODE_ID] =
    g_param_spec_string ("node-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherServer:public-url:
   *
   * The `ws(s)://…/ws` URL clients reach this node at, announced to the cluster;
   * %NULL for the listening address.
   */
  properties[PROP_PUBLIC_URL] =
    g_param_spec_string ("public-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NODE_BEAT] =
    double_param ("node-beat", "Seconds between a cluster node's beats in Redis", 0.01, 3600.0, 1.0);
  properties[PROP_NODE_TIMEOUT] =
    double_param ("node-timeout", "Seconds without a beat after which a cluster node is dead",
                  0.02, 3600.0, 3.0);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_server_init (TetherServer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->poller = tether_guard_poller_new (self->context);
  self->app_id = g_strdup ("demo");
  self->heartbeat_timeout = 90.0;
  self->heartbeat_interval = 1.0;
  self->session_ttl = 1200.0;
  self->token_skew = TETHER_TOKEN_DEFAULT_SKEW;
  self->token_warning = 30.0;
  self->max_frame_size = TETHER_PROTOCOL_DEFAULT_MAX_FRAME;
  self->max_depth = TETHER_PROTOCOL_DEFAULT_MAX_DEPTH;
  self->login_rate = 50.0;
  self->login_burst = 100.0;
  self->event_backlog = 1024;
  self->event_backlog_bytes = 512 * 1024;
  self->login_grace = 10.0;
  self->request_timeout = 10.0;
  self->max_connections_per_address = 256;
  self->max_send_queue = 1024 * 1024;
  self->max_streams_per_session = 32;
  self->guest_token_ttl = 600.0;
  self->srt_encryption = TRUE;
  self->node_beat = 1.0;
  self->node_timeout = 3.0;
  self->public_rooms = g_ptr_array_new_with_free_func ((GDestroyNotify) g_pattern_spec_free);
  self->trusted_proxies = g_ptr_array_new_with_free_func (g_object_unref);
  self->media_nodes = g_ptr_array_new_with_free_func (tether_server_media_node_free);
  self->relays = g_ptr_array_new_with_free_func (g_object_unref);

  self->rooms = g_hash_table_new (g_str_hash, g_str_equal);
  self->sessions = g_hash_table_new (g_str_hash, g_str_equal);
  self->streams = g_hash_table_new (g_str_hash, g_str_equal);
  self->login_buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->token_deadlines = g_sequence_new (NULL);

  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_server_listener_free);
  self->links = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* No Server header: the exact versions only help an attacker pick an exploit. */
  self->soup = soup_server_new ("server-header", NULL, NULL);
  /* Compressing every fan-out copy separately costs more than it saves here, and
   * inflating input is one more way to blow the frame limit. */
  soup_server_remove_websocket_extension (self->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (self->soup, "/ws", NULL, NULL, tether_server_client_accept,
                                     self, NULL);
  tether_server_guest_add_handler (self, self->soup);
  /* Reports of separate media nodes (tether-server-ingest.c). */
  tether_server_ingest_init (self);
  /* Operators' endpoints answer on the admin address only. */
  self->admin_soup = soup_server_new ("server-header", NULL, NULL);
  tether_server_http_add_handlers (self, self->admin_soup);
}

/* Public API */

/**
 * tether_server_new:
 * @app_id: (nullable): the app id to serve, or %NULL for "demo"
 * @app_secret: the secret its tokens are signed with
 *
 * Creates a room service bound to the thread-default main context: every
 * connection, timer and callback of the server runs there.
 *
 * Returns: (transfer full): a new #TetherServer
 */
TetherServer *
tether_server_new (const char *app_id,
                   const char *app_secret)
{
  g_return_val_if_fail (app_secret != NULL && *app_secret != '\0', NULL);

  return g_object_new (TETHER_TYPE_SERVER,
                       "app-id", app_id != NULL ? app_id : "demo",
                       "app-secret", app_secret,
                       NULL);
}

/* Cluster mode: what tether_server_cluster_start() cannot find out later. */
static gboolean
cluster_check (TetherServer  *self,
               GError       **error)
{
  g_autofree char *redis_host = NULL;
  guint16 redis_port;
  guint redis_db;

  if (!tether_redis_parse_url (self->redis_url, &redis_host, &redis_port, &redis_db, NULL, error))
    return FALSE;
  if (!tether_redis_id_check ("app id", self->app_id, error)
      || (self->node_id != NULL && !tether_redis_id_check ("node id", self->node_id, error)))
    return FALSE;
  for (guint i = 0; i < self->relays->len; i++)
    {
      g_autofree char *media_id = NULL;

      g_object_get (g_ptr_array_index (self->relays, i), "node-id", &media_id, NULL);
      if (!tether_redis_id_check ("media node id", media_id, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * tether_server_listen:
 * @self: a #TetherServer
 * @host: (nullable): address or host name to listen on; %NULL for all
 * @port: the port, or 0 for an ephemeral one
 * @error: return location for an error
 *
 * Starts accepting connections on the server's main context.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_server_listen (TetherServer  *self,
                      const char    *host,
                      guint16        port,
                      GError       **error)
{
  double shortest;
  guint interval_ms;

  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->listening && !self->shut_down, FALSE);
  g_return_val_if_fail (self->app_secret != NULL, FALSE);

  if (self->redis_url != NULL && !cluster_check (self, error))
    return FALSE;

  g_clear_pointer (&self->url_host, g_free);
  if (!tether_server_listen_on (self, self->soup, host, port, &self->url_host, &self->port, error))
    return FALSE;

  /* Cluster mode: the URL was checked above; the rest cannot fail. */
  if (self->redis_url != NULL && !tether_server_cluster_start (self, FALSE, error))
    return FALSE;

  self->listening = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  shortest = MIN (MIN (self->heartbeat_timeout, self->login_grace), self->request_timeout);
  interval_ms = (guint) (CLAMP (shortest / 10.0, 0.02, 1.0) * 1000.0);
  self->sweep_source = g_timeout_source_new (interval_ms);
  g_source_set_name (self->sweep_source, "[tether] server sweep");
  g_source_set_callback (self->sweep_source, tether_server_sweep, self, NULL);
  g_source_attach (self->sweep_source, self->context);
  self->last_bucket_prune = g_get_monotonic_time ();

  g_message ("room service for app %s listening on %s://%s:%u/ws", self->app_id,
             self->tls_certificate != NULL ? "wss" : "ws", self->url_host, self->port);

  return TRUE;
}

/**
 * tether_server_join_cluster_media_only:
 * @self: a #TetherServer with #TetherServer:redis set and a media node attached
 *   (tether_server_attach_relay()), never to listen
 * @error: return location for an error
 *
 * A separate media node of a cluster (`tether-server --media-only --redis`): it
 * registers its media node in Redis and beats like the embedded media node of a
 * room-service node, shows its ingest publishers in their rooms through Redis, and
 * takes part in reaping dead nodes; it serves no clients (its node's `ws_url` is
 * empty, so no `room_services` list names it). See docs/design.md, "Several nodes".
 *
 * Returns: %TRUE on success
 */
gboolean
tether_server_join_cluster_media_only (TetherServer  *self,
                                       GError       **error)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->listening && !self->shut_down && self->cluster == NULL, FALSE);
  g_return_val_if_fail (self->redis_url != NULL && self->relays->len > 0, FALSE);

  if (!cluster_check (self, error))
    return FALSE;
  g_free (self->public_url);
  self->public_url = g_strdup ("");
  self->media_only = TRUE;
  return tether_server_cluster_start (self, TRUE, error);
}

/**
 * tether_server_listen_admin:
 * @self: a #TetherServer
 * @host: (nullable): address to listen on; keep it private (loopback, a management
 *   network): it answers `/healthz` and `/metrics` to whoever reaches it
 * @port: the port, or 0 for an ephemeral one
 * @error: return location for an error
 *
 * Serves the operators' endpoints on an address of their own; the public port
 * answers only `/ws` and `/v1/guest-token`.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_server_listen_admin (TetherServer  *self,
                            const char    *host,
                            guint16        port,
                            GError       **error)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (self->admin_port == 0 && !self->shut_down, FALSE);

  if (!tether_server_listen_on (self, self->admin_soup, host, port, NULL, &self->admin_port, error))
    return FALSE;
  g_message ("admin endpoints (/healthz, /metrics) on http://%s:%u/", host != NULL ? host : "*",
             self->admin_port);
  return TRUE;
}

/**
 * tether_server_get_admin_port:
 *
 * Returns: the admin port, or 0 before tether_server_listen_admin()
 */
guint16
tether_server_get_admin_port (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->admin_port;
}

guint16
tether_server_get_port (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->port;
}

/**
 * tether_server_get_url:
 * @self: a #TetherServer
 *
 * Returns: (transfer full) (nullable): the WebSocket URL clients connect to
 *   (`wss://` with TLS), or %NULL before tether_server_listen()
 */
char *
tether_server_get_url (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), NULL);

  if (self->url_host == NULL)
    return NULL;
  return g_strdup_printf ("%s://%s:%u/ws", self->tls_certificate != NULL ? "wss" : "ws",
                          self->url_host, self->port);
}

/**
 * tether_server_add_media_node:
 * @self: a #TetherServer
 * @id: the node id clients name in stream_add
 * @url: where clients reach it (e.g. `srt://127.0.0.1:9000`)
 *
 * Adds a node to the directory handed out in login_ok, or updates its URL.
 */
void
tether_server_add_media_node (TetherServer *self,
                              const char   *id,
                              const char   *url)
{
  TetherServerMediaNode *node;

  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (tether_protocol_valid_id (id));
  g_return_if_fail (url != NULL);

  for (guint i = 0; i < self->media_nodes->len; i++)
    {
      node = g_ptr_array_index (self->media_nodes, i);
      if (g_str_equal (node->id, id))
        {
          g_free (node->url);
          node->url = g_strdup (url);
          return;
        }
    }

  node = g_new0 (TetherServerMediaNode, 1);
  node->id = g_strdup (id);
  node->url = g_strdup (url);
  g_ptr_array_add (self->media_nodes, node);
}

/**
 * tether_server_shutdown:
 * @self: a #TetherServer
 * @retry_after: the longest delay, seconds, clients should wait before reconnecting
 *
 * Tells every client to reconnect later, closes every connection with 1001 and
 * stops listening. Sessions live in memory only: a restarted server has none.
 */
void
tether_server_shutdown (TetherServer *self,
                        double        retry_after)
{
  g_autofree char *json = NULL;

  g_return_if_fail (TETHER_IS_SERVER (self));

  if (self->shut_down)
    return;
  self->shut_down = TRUE;

  json = tether_message_build_reconnect (MAX (retry_after, 0.0));

  for (GList *l = self->conns.head; l != NULL; l = l->next)
    {
      TetherServerConn *conn = l->data;

      if (conn->state == TETHER_SERVER_CONN_CLOSING)
        continue;
      tether_server_conn_send (conn, json);
      tether_server_conn_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
    }

  /* Stop accepting on the public port; the admin port keeps answering until the
   * object goes (a supervisor may still want /metrics). */
  for (guint i = self->listeners->len; i > 0; i--)
    {
      TetherServerListener *listener = g_ptr_array_index (self->listeners, i - 1);

      if (tether_server_listener_get_soup (listener) == self->soup)
        g_ptr_array_remove_index (self->listeners, i - 1);
    }
  soup_server_disconnect (self->soup);
  if (self->sweep_source != NULL)
    {
      g_source_destroy (self->sweep_source);
      g_clear_pointer (&self->sweep_source, g_source_unref);
    }
  self->listening = FALSE;

  if (self->media_only)
    g_message ("media node shut down");
  else
    g_message ("room service shut down; %u connections told to come back within %.1f s",
               self->conns.length, retry_after);
}

/**
 * tether_server_get_session_count:
 *
 * Returns: the number of sessions present in a room (connected or not)
 */
guint
tether_server_get_session_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->present.length;
}

/**
 * tether_server_get_room_count:
 *
 * Returns: the number of rooms with at least one present user
 */
guint
tether_server_get_room_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->n_active_rooms;
}

/**
 * tether_server_get_connection_count:
 *
 * Returns: the number of open WebSocket connections, logged in or not
 */
guint
tether_server_get_connection_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return self->conns.length;
}

/**
 * tether_server_get_tcp_connection_count:
 *
 * Returns: the number of accepted TCP connections libsoup still holds, on the public
 *   and the admin port, WebSocket or not
 */
guint
tether_server_get_tcp_connection_count (TetherServer *self)
{
  g_return_val_if_fail (TETHER_IS_SERVER (self), 0);

  return g_hash_table_size (self->links);
}

static void
publisher_added_cb (TetherRelay *relay,
                    const char  *stream_id,
                    const char  *user_id,
                    gpointer     user_data)
{
  g_info ("media: %s publishes stream %s", user_id, stream_id);
}

static void
publisher_removed_cb (TetherRelay *relay,
                      const char  *stream_id,
                      const char  *user_id,
                      const char  *reason,
                      gpointer     user_data)
{
  /* A member's stream stays announced: its publisher retries for av_retry_time and
   * withdraws it itself, or the heartbeat timeout removes it with the user. An ingest
   * stream goes now (tether-server-ingest.c). */
  g_info ("media: %s stopped publishing stream %s (%s)", user_id, stream_id, reason);
}

/**
 * tether_server_attach_relay:
 * @relay: a media node running in this process
 * @id: its node id in the media-node directory
 * @url: the SRT URL clients reach it at
 *
 * Announces @relay to clients at login, adds its figures to `/metrics`, logs its
 * publishers coming and going, and shows a publisher that has no room session (an
 * ingest from OBS, ffmpeg or gst-launch) as a stream in its token's room
 * (docs/protocol.md, "Ingest").
 */
void
tether_server_attach_relay (TetherServer *self,
                            TetherRelay  *relay,
                            const char   *id,
                            const char   *url)
{
  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (TETHER_IS_RELAY (relay));

  tether_server_add_media_node (self, id, url);
  g_ptr_array_add (self->relays, g_object_ref (relay));
  g_signal_connect_object (relay, "publisher-added", G_CALLBACK (publisher_added_cb), self, 0);
  g_signal_connect_object (relay, "publisher-removed", G_CALLBACK (publisher_removed_cb), self,
                           0);
  tether_server_ingest_watch (self, relay, id);
}

/* The room service URLs login_ok hands out (room_services), or NULL for none. */
const char * const *
tether_server_get_room_services (TetherServer *self)
{
  return (const char * const *) self->room_service_urls;
}
