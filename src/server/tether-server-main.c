/* tether-server-main.c: the tether-server program — options and config file, then a
 * TetherServer on the main loop until SIGTERM/SIGINT (SIGHUP reloads the TLS certificate)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "tether-server.h"
#include "tether-server-config.h"
#include "tether-server-node-report.h"
#include "tether-server-status.h"
#include "tether-tls-private.h"

#define DEFAULT_LISTEN "127.0.0.1:7480"
#define DEFAULT_SECRET "tether-dev-secret"
/* How long a shutdown waits for close frames to reach the clients. */
#define SHUTDOWN_FLUSH_USEC (2 * G_USEC_PER_SEC)

typedef struct
{
  const TetherServerOptions *options;
  TetherServer *server;
  TetherRelay  *relay;
  GMainLoop    *loop;
  double        retry_after;
  gint64        deadline;
  guint         drain_id;
} App;

static char *
load_secret (TetherServerOptions  *o,
             GError              **error)
{
  if (o->app_secret != NULL)
    return g_strdup (o->app_secret);
  if (o->app_secret_file != NULL)
    {
      g_autofree char *contents = NULL;

      if (!g_file_get_contents (o->app_secret_file, &contents, NULL, error))
        return NULL;
      g_strstrip (contents);
      if (*contents == '\0')
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is empty", o->app_secret_file);
          return NULL;
        }
      return g_steal_pointer (&contents);
    }

  g_warning ("no --app-secret or --app-secret-file given: using the development default secret; "
             "never do this on a reachable server");
  return g_strdup (DEFAULT_SECRET);
}

static gboolean
drain_cb (gpointer user_data)
{
  App *app = user_data;

  if (tether_server_get_connection_count (app->server) > 0
      && g_get_monotonic_time () < app->deadline)
    return G_SOURCE_CONTINUE;

  app->drain_id = 0;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

/* SIGHUP: a renewed certificate for the connections accepted from now on; open
 * sessions stay. A bad file keeps the old certificate. */
static gboolean
reload_cb (gpointer user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;

  if (app->server == NULL || app->options->tls_cert == NULL)
    {
      g_message ("SIGHUP: nothing to reload");
      return G_SOURCE_CONTINUE;
    }
  if (!tether_server_load_tls_files (app->server, app->options->tls_cert, app->options->tls_key,
                                     &error))
    g_warning ("SIGHUP: %s; keeping the current certificate", error->message);
  else
    g_message ("SIGHUP: reloaded the TLS certificate %s", app->options->tls_cert);
  return G_SOURCE_CONTINUE;
}

static gboolean
signal_cb (gpointer user_data)
{
  App *app = user_data;

  if (app->drain_id != 0)
    return G_SOURCE_CONTINUE;

  /* Closing SRT sockets tells publishers and players at once. */
  if (app->relay != NULL)
    tether_relay_stop (app->relay);
  if (app->server == NULL)
    {
      g_main_loop_quit (app->loop);
      return G_SOURCE_CONTINUE;
    }
  tether_server_shutdown (app->server, app->retry_after);
  /* Give the reconnect messages and close frames a short, bounded time to leave. */
  app->deadline = g_get_monotonic_time () + SHUTDOWN_FLUSH_USEC;
  app->drain_id = g_timeout_add (20, drain_cb, app);
  return G_SOURCE_CONTINUE;
}

/* The operators' endpoints (/healthz, /metrics): on --admin-listen, else on loopback,
 * the --listen @port + 1. Returns: (transfer full) (nullable): the host, NULL with
 * @error set */
static char *
listen_admin (TetherServer              *server,
              const TetherServerOptions *o,
              guint16                    port,
              GError                   **error)
{
  g_autofree char *host = NULL;
  guint16 admin_port = 0;

  if (o->admin_listen != NULL)
    {
      if (!tether_server_parse_listen (o->admin_listen, &host, &admin_port, error))
        {
          g_prefix_error (error, "--admin-listen: ");
          return NULL;
        }
    }
  else
    {
      host = g_strdup ("127.0.0.1");
      admin_port = port != 0 ? port + 1 : 0;
    }
  if (!tether_server_listen_admin (server, host, admin_port, error))
    {
      g_prefix_error (error, "cannot listen on %s:%u for /healthz and /metrics: ", host,
                      admin_port);
      return NULL;
    }
  return g_steal_pointer (&host);
}

int
main (int   argc,
      char *argv[])
{
  TetherServerOptions o;
  GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &o.listen, "Address to listen on (default " DEFAULT_LISTEN "; port 0 = any free port)", "HOST:PORT" },
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &o.app_id, "The app id to serve (default demo)", "ID" },
    { "app-secret", 0, 0, G_OPTION_ARG_STRING, &o.app_secret, "The app secret tokens are signed with", "SECRET" },
    { "app-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &o.app_secret_file, "Read the app secret from FILE", "FILE" },
    { "heartbeat-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.heartbeat_timeout, "Seconds of silence before a user is removed (90)", "SECONDS" },
    { "heartbeat-interval", 0, 0, G_OPTION_ARG_DOUBLE, &o.heartbeat_interval, "Seconds between client heartbeats (1)", "SECONDS" },
    { "session-ttl", 0, 0, G_OPTION_ARG_DOUBLE, &o.session_ttl, "Seconds a session stays resumable (1200)", "SECONDS" },
    { "token-warning", 0, 0, G_OPTION_ARG_DOUBLE, &o.token_warning, "Warn this many seconds before a token expires (30)", "SECONDS" },
    { "token-skew", 0, 0, G_OPTION_ARG_DOUBLE, &o.token_skew, "Clock-skew tolerance for tokens (30)", "SECONDS" },
    { "login-rate", 0, 0, G_OPTION_ARG_DOUBLE, &o.login_rate, "Logins per second per address, 0 = unlimited (50)", "RATE" },
    { "login-burst", 0, 0, G_OPTION_ARG_DOUBLE, &o.login_burst, "Login burst per address (100)", "N" },
    { "login-grace", 0, 0, G_OPTION_ARG_DOUBLE, &o.login_grace, "Seconds a connection has to log in (10)", "SECONDS" },
    { "request-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.request_timeout, "Seconds a connection has to become a WebSocket (10)", "SECONDS" },
    { "max-connections-per-address", 0, 0, G_OPTION_ARG_DOUBLE, &o.max_connections_per_address, "Open connections per client IP, 0 = no cap (256)", "N" },
    { "max-send-queue", 0, 0, G_OPTION_ARG_DOUBLE, &o.max_send_queue, "Bytes queued for a client that does not read before it is dropped (1048576)", "BYTES" },
    { "max-streams-per-session", 0, 0, G_OPTION_ARG_DOUBLE, &o.max_streams_per_session, "Streams one session may have at once (32)", "N" },
    { "event-backlog", 0, 0, G_OPTION_ARG_DOUBLE, &o.event_backlog, "Room events kept for resume replay (1024)", "N" },
    { "event-backlog-bytes", 0, 0, G_OPTION_ARG_DOUBLE, &o.event_backlog_bytes, "Bytes of room events kept for resume replay, per room (524288)", "BYTES" },
    { "max-frame-size", 0, 0, G_OPTION_ARG_DOUBLE, &o.max_frame_size, "Largest accepted message, bytes (65536)", "BYTES" },
    { "admin-listen", 0, 0, G_OPTION_ARG_STRING, &o.admin_listen, "Address of /healthz and /metrics (default 127.0.0.1, the --listen port + 1; port 0 = any free port)", "HOST:PORT" },
    { "media-node", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.media_nodes, "Announce a media node (repeatable)", "ID=URL" },
    { "media-listen", 0, 0, G_OPTION_ARG_STRING, &o.media_listen, "Address of the embedded SRT media node (default: the --listen host, next port; 0 = any free port)", "HOST:PORT" },
    { "media-url", 0, 0, G_OPTION_ARG_STRING, &o.media_url, "URL clients reach the embedded media node at (default srt://HOST:PORT)", "URL" },
    { "media-id", 0, 0, G_OPTION_ARG_STRING, &o.media_id, "Node id of the embedded media node (default local)", "ID" },
    { "no-media", 0, 0, G_OPTION_ARG_NONE, &o.no_media, "Run the room service without an embedded media node", NULL },
    { "media-only", 0, 0, G_OPTION_ARG_NONE, &o.media_only, "Run only a media node (announce it on room services with --media-node, or in a cluster with --redis)", NULL },
    { "media-edge", 0, 0, G_OPTION_ARG_STRING, &o.media_edge, "In a cluster: name the --media-only node ID (run with --media-cascade) in login_ok as the node players play from, while it is alive", "ID" },
    { "media-cascade", 0, 0, G_OPTION_ARG_NONE, &o.media_cascade, "Players play from the embedded media node (or this --media-only node of a cluster), which pulls each stream from the media node it is published on", NULL },
    { "public-room", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.public_rooms, "Let guests watch the rooms matching PATTERN (a glob; repeatable): POST /v1/guest-token", "PATTERN" },
    { "guest-token-ttl", 0, 0, G_OPTION_ARG_DOUBLE, &o.guest_token_ttl, "Seconds a guest token lasts (600)", "SECONDS" },
    { "srt-encryption", 0, 0, G_OPTION_ARG_STRING, &o.srt_encryption, "on (default): the media node encrypts every connection with its token's passphrase, and the room service hands the passphrases out; off: plain SRT only, for tools without AES", "on|off" },
    { "room-service", 0, 0, G_OPTION_ARG_STRING, &o.room_service, "With --media-only: report publishers to the room service at URL, so they appear in their rooms", "URL" },
    { "room-service-ca", 0, 0, G_OPTION_ARG_FILENAME, &o.room_service_ca, "Verify an https:// --room-service against the PEM certificate authorities in FILE instead of the system's", "FILE" },
    { "room-service-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.room_service_urls, "Hand clients this room service URL in login_ok, to fail over to (repeatable, in order: this node's first; none by default)", "URL" },
    { "trusted-proxy", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.trusted_proxies, "Take client addresses from X-Forwarded-For/Forwarded on connections from this reverse proxy (ADDRESS[/PREFIX]; repeatable; none by default)", "CIDR" },
    { "shutdown-retry-after", 0, 0, G_OPTION_ARG_DOUBLE, &o.shutdown_retry_after, "retry_after sent to clients on shutdown (1.0)", "SECONDS" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_cert, "Serve wss:// and https:// with this PEM certificate (chain); reloaded on SIGHUP", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_key, "The PEM private key of --tls-cert", "FILE" },
    { "redis", 0, 0, G_OPTION_ARG_STRING, &o.redis, "Run as one node of a cluster sharing its rooms through this Redis (none: one node on its own)", "redis://HOST:PORT[/DB]" },
    { "node-id", 0, 0, G_OPTION_ARG_STRING, &o.node_id, "This node's id in the cluster (default: the host name); also the default --media-id", "ID" },
    { "public-url", 0, 0, G_OPTION_ARG_STRING, &o.public_url, "The ws(s):// URL clients reach this node at (default: from --listen)", "URL" },
    { "node-beat", 0, 0, G_OPTION_ARG_DOUBLE, &o.node_beat, "Seconds between this node's beats in Redis (1)", "SECONDS" },
    { "node-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.node_timeout, "Seconds without a beat after which a node counts as dead (3)", "SECONDS" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Read options from the [server] group of FILE", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— Tether room service");
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherServer) server = NULL;
  g_autoptr(TetherRelay) relay = NULL;
  g_autoptr(TetherNodeReporter) reporter = NULL;
  g_autoptr(GTlsDatabase) room_service_ca = NULL;
  g_autofree char *media_url = NULL;
  g_autofree char *media_id = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *host = NULL;
  g_autofree char *admin_host = NULL;
  g_autofree char *url = NULL;
  guint16 port = 0;
  App app = { 0 };
  guint sigterm_id, sigint_id, sighup_id;
  int status = EXIT_FAILURE;

  setlocale (LC_ALL, "");
  /* --status reads a cluster's Redis and exits: options of its own, nothing started */
  if (tether_server_status_requested (argc, argv))
    return tether_server_status_main (argc, argv);
  tether_server_options_init (&o);
  /* stdout carries the listening address (then, for a room service or a media-only
   * node of a cluster, the admin address) one per line; logs go to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
                                    "tether-server --status --redis URL [--app-id ID] [--config FILE]\n"
                                    "  prints the nodes, media nodes and rooms of a cluster from its Redis and exits.");
  if (!g_option_context_parse (context, &argc, &argv, &error)
      || !tether_server_options_load_config (&o, &error)
      || !tether_server_parse_listen (o.listen != NULL ? o.listen : DEFAULT_LISTEN, &host, &port, &error)
      || !tether_server_options_check (&o, &error))
    {
      g_printerr ("tether-server: %s\n", error->message);
      goto out;
    }

  secret = load_secret (&o, &error);
  if (secret == NULL)
    {
      g_printerr ("tether-server: %s\n", error->message);
      goto out;
    }

  if (o.room_service_ca != NULL
      && (room_service_ca = tether_tls_file_database_new (o.room_service_ca, &error)) == NULL)
    {
      g_printerr ("tether-server: --room-service-ca: %s\n", error->message);
      goto out;
    }

  /* A media-only node of a cluster has a TetherServer too, which never listens: it
   * registers the media node in Redis and shows its ingest publishers there. */
  if (!o.media_only || o.redis != NULL)
    {
      server = tether_server_new (o.app_id != NULL ? o.app_id : "demo", secret);
      if (o.media_edge != NULL)
        tether_server_set_media_edge (server, o.media_edge);
      if (!tether_server_options_configure (&o, server, &error)
          || (o.tls_cert != NULL
              && !tether_server_load_tls_files (server, o.tls_cert, o.tls_key, &error)))
        {
          g_printerr ("tether-server: %s\n", error->message);
          goto out;
        }
    }

  /* The embedded media node: next to the room service unless told otherwise. */
  if (!o.no_media)
    {
      g_autofree char *media_host = NULL;
      guint16 media_port = 0;

      if (o.media_listen != NULL)
        {
          if (!tether_server_parse_listen (o.media_listen, &media_host, &media_port, &error))
            {
              g_printerr ("tether-server: --media-listen: %s\n", error->message);
              goto out;
            }
        }
      else
        {
          media_host = g_strdup (host);
          media_port = port != 0 ? port + 1 : 0;
        }
      if (o.media_only && o.media_listen == NULL)
        media_port = port;

      /* In a cluster every node's media node needs an id of its own. It is the
       * relay's node id too: its pulls (the media cascade) name it. */
      media_id = g_strdup (o.media_id != NULL ? o.media_id
                           : o.redis != NULL && o.node_id != NULL ? o.node_id
                           : o.redis != NULL ? g_get_host_name ()
                           : "local");
      relay = tether_relay_new (o.app_id != NULL ? o.app_id : "demo", secret);
      /* A host keeps its stream id for as long as it keeps its session. */
      if (o.session_ttl != TETHER_SERVER_OPTION_UNSET)
        g_object_set (relay, "claim-ttl", MIN (o.session_ttl, 1e9), NULL);
      g_object_set (relay, "srt-encryption", tether_server_options_srt_encryption (&o),
                    "node-id", media_id, NULL);
      if (!tether_relay_listen (relay, media_host, media_port, &error))
        {
          g_printerr ("tether-server: cannot start the media node on %s:%u: %s\n", media_host,
                      media_port, error->message);
          goto out;
        }
      media_url = o.media_url != NULL
                    ? g_strdup (o.media_url)
                    : g_strdup_printf ("srt://%s:%u", media_host, tether_relay_get_port (relay));
      if (server != NULL && o.media_only && o.node_id == NULL)
        g_object_set (server, "node-id", media_id, NULL);
      if (server != NULL)
        tether_server_attach_relay (server, relay, media_id, media_url);
      if (server != NULL && o.media_cascade)
        tether_server_enable_media_cascade (server, relay);
      else if (o.room_service != NULL)
        reporter = tether_node_reporter_new (relay, o.media_id ? o.media_id : "local",
                                             o.room_service, secret, room_service_ca);
    }

  if (server != NULL && o.media_only)
    {
      if (!tether_server_join_cluster_media_only (server, &error))
        {
          g_printerr ("tether-server: --redis: %s\n", error->message);
          goto out;
        }
      url = g_strdup (media_url);
    }
  else if (server != NULL)
    {
      if (!tether_server_listen (server, host, port, &error))
        {
          g_printerr ("tether-server: cannot listen on %s:%u: %s\n", host, port,
                      error->message);
          goto out;
        }
      url = tether_server_get_url (server);
      if (media_url != NULL)
        g_message ("media node on %s", media_url);
    }
  else
    url = g_strdup (media_url);
  /* A room service, and a media-only node of a cluster, have the operators' endpoints;
   * a media node reporting to a room service has no TetherServer, so none. */
  if (server != NULL && (admin_host = listen_admin (server, &o, port, &error)) == NULL)
    {
      g_printerr ("tether-server: %s\n", error->message);
      goto out;
    }

  printf ("listening on %s\n", url);
  if (server != NULL)
    printf ("admin on http://%s:%u/\n", admin_host, tether_server_get_admin_port (server));
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  app.options = &o;
  app.server = server;
  app.relay = relay;
  app.loop = loop;
  app.retry_after = o.shutdown_retry_after != TETHER_SERVER_OPTION_UNSET ? o.shutdown_retry_after : 1.0;
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &app);
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &app);
  sighup_id = g_unix_signal_add (SIGHUP, reload_cb, &app);

  g_main_loop_run (loop);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_source_remove (sighup_id);
  g_clear_handle_id (&app.drain_id, g_source_remove);
  status = EXIT_SUCCESS;

out:
  if (secret != NULL)
    memset (secret, 0, strlen (secret));
  if (o.app_secret != NULL)
    memset (o.app_secret, 0, strlen (o.app_secret));
  tether_server_options_clear (&o);
  return status;
}
