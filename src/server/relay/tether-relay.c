/* tether-relay.c: the SRT media node — one publisher to many players per stream id;
 * its settings, signals, listening and stopping, claims and counters
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <gio/gio.h>

#include "tether-media.h"
#include "tether-metrics.h"
#include "tether-protocol.h"
#include "tether-relay-core.h"

/* The core (tether-relay-core.h) does the work on the relay's SRT thread; this file
 * is the object around it: settings, signals, listening and stopping, claims from
 * the room service, and the counters for /metrics. */

#define DEFAULT_LATENCY_MS 120
#define DEFAULT_MAX_PLAYER_QUEUE (2 * 1024 * 1024)
#define DEFAULT_GOP_CACHE (4 * 1024 * 1024)
#define DEFAULT_CLAIM_TTL 1200.0 /* s, the room service's session-ttl */
/* Handshakes libsrt completes before the relay thread accepts them; more are refused
 * ("Listener's backlog exceeded"). A big audience joins in bursts (a stream ADD reaches
 * every viewer at once), and each accept waits for a pass of the loop. */
#define LISTEN_BACKLOG 1024

typedef struct
{
  RelayEvent event;
  char *stream_id;
  char *user_id;
  char *room_id;
  const char *reason;
  guint64 serial;           /* RELAY_EVENT_LOCATE */
} Emission;

struct _TetherRelay
{
  GObject parent_instance;

  char *app_id;
  char *app_secret;
  GMainContext *context;

  guint latency;
  guint max_player_queue_bytes;
  guint gop_cache_bytes;
  int token_skew;
  double claim_ttl;
  gboolean srt_encryption;
  char *node_id;

  TetherRelayLocateFunc locate_func;
  gpointer locate_data;
  GDestroyNotify locate_destroy;

  RelayCore *core;
  GThread *thread;
  guint16 port;
};

G_DEFINE_FINAL_TYPE (TetherRelay, tether_relay, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_LATENCY,
  PROP_MAX_PLAYER_QUEUE_BYTES,
  PROP_GOP_CACHE_BYTES,
  PROP_TOKEN_SKEW,
  PROP_CLAIM_TTL,
  PROP_SRT_ENCRYPTION,
  PROP_NODE_ID,
  PROP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_PUBLISHER_ADDED,
  SIGNAL_PUBLISHER_REMOVED,
  SIGNAL_MEDIA_STARTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* libsrt belongs to libtether, started once per process (tether_media_init()). */
static GMutex registry_lock;
static GHashTable *live_cores;  /* RelayCore set, for the listen callback */

/* ------------------------------------------------------------------------- */
/* Handing events to the main context */

static void
emission_free (Emission *e)
{
  g_free (e->stream_id);
  g_free (e->user_id);
  g_free (e->room_id);
  g_free (e);
}

static gboolean
emissions_dispatch (gpointer data)
{
  RelayCore *core = data;
  g_autoptr(TetherRelay) relay = g_weak_ref_get (&core->relay);
  GQueue batch = G_QUEUE_INIT;
  Emission *e;

  g_mutex_lock (&core->emit_lock);
  batch = core->emissions;
  g_queue_init (&core->emissions);
  core->emit_scheduled = FALSE;
  g_mutex_unlock (&core->emit_lock);

  while ((e = g_queue_pop_head (&batch)) != NULL)
    {
      if (relay != NULL && e->event == RELAY_EVENT_PUBLISHER_ADDED)
        g_signal_emit (relay, signals[SIGNAL_PUBLISHER_ADDED], 0, e->stream_id, e->user_id);
      else if (e->event == RELAY_EVENT_LOCATE)
        {
          /* Not found when nobody can say: the pull waits and asks again. */
          if (relay != NULL && relay->locate_func != NULL)
            relay->locate_func (relay, relay_locate_new (core, e->stream_id, e->serial),
                                relay->locate_data);
          else
            relay_pull_locate_failed (core, e->stream_id, e->serial);
        }
      else if (relay != NULL && e->event == RELAY_EVENT_MEDIA_STARTED)
        g_signal_emit (relay, signals[SIGNAL_MEDIA_STARTED], 0, e->stream_id, e->user_id, e->room_id);
      else if (relay != NULL)
        g_signal_emit (relay, signals[SIGNAL_PUBLISHER_REMOVED], 0, e->stream_id, e->user_id, e->reason);
      emission_free (e);
    }

  return G_SOURCE_REMOVE;
}

/* SRT thread: queue a signal (or a locate request); one idle at a time carries the
 * queue over, in order. */
static void
emission_push (RelayCore *core,
               Emission  *e)
{
  gboolean schedule;

  g_mutex_lock (&core->emit_lock);
  g_queue_push_tail (&core->emissions, e);
  schedule = !core->emit_scheduled;
  core->emit_scheduled = TRUE;
  g_mutex_unlock (&core->emit_lock);

  /* An idle source, not g_main_context_invoke(): that would run the handler right
   * here on the SRT thread whenever nobody happens to own the context. */
  if (schedule)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, emissions_dispatch, relay_core_ref (core), (GDestroyNotify) relay_core_unref);
      g_source_set_static_name (source, "[tether] relay events");
      g_source_attach (source, core->context);
    }
}

void
relay_core_emit (RelayCore  *core,
                 RelayEvent  event,
                 const char *stream_id,
                 const char *user_id,
                 const char *room_id,
                 const char *reason)
{
  Emission *e = g_new0 (Emission, 1);

  e->event = event;
  e->stream_id = g_strdup (stream_id);
  e->user_id = g_strdup (user_id);
  e->room_id = g_strdup (room_id);
  e->reason = reason;
  emission_push (core, e);
}

/* SRT thread: ask the locate func, on the relay's context, where @stream_id is. */
void
relay_core_emit_locate (RelayCore  *core,
                        const char *stream_id,
                        guint64     serial)
{
  Emission *e = g_new0 (Emission, 1);

  e->event = RELAY_EVENT_LOCATE;
  e->stream_id = g_strdup (stream_id);
  e->serial = serial;
  emission_push (core, e);
}

/* ------------------------------------------------------------------------- */
/* The relays that listen, for the listen callback */

/* The listen callback's @opaque, if its relay still listens: a reference. */
RelayCore *
relay_registry_lookup (gpointer opaque)
{
  RelayCore *core = NULL;

  g_mutex_lock (&registry_lock);
  if (live_cores != NULL && g_hash_table_contains (live_cores, opaque))
    core = relay_core_ref (opaque);
  g_mutex_unlock (&registry_lock);

  return core;
}

/* ------------------------------------------------------------------------- */
/* GObject */

static void
tether_relay_dispose (GObject *object)
{
  TetherRelay *self = TETHER_RELAY (object);

  tether_relay_stop (self);

  G_OBJECT_CLASS (tether_relay_parent_class)->dispose (object);
}

static void
tether_relay_finalize (GObject *object)
{
  TetherRelay *self = TETHER_RELAY (object);

  g_clear_pointer (&self->core, relay_core_unref);
  g_free (self->app_id);
  g_free (self->app_secret);
  g_free (self->node_id);
  if (self->locate_destroy != NULL)
    self->locate_destroy (self->locate_data);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_relay_parent_class)->finalize (object);
}

static void
set_uint_prop (TetherRelay *self,
               guint       *field,
               guint        value,
               GParamSpec  *pspec)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
tether_relay_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TetherRelay *self = TETHER_RELAY (object);

  switch (prop_id)
    {
    case PROP_LATENCY:
      g_value_set_uint (value, self->latency);
      break;
    case PROP_MAX_PLAYER_QUEUE_BYTES:
      g_value_set_uint (value, self->max_player_queue_bytes);
      break;
    case PROP_GOP_CACHE_BYTES:
      g_value_set_uint (value, self->gop_cache_bytes);
      break;
    case PROP_TOKEN_SKEW:
      g_value_set_int (value, self->token_skew);
      break;
    case PROP_CLAIM_TTL:
      g_value_set_double (value, self->claim_ttl);
      break;
    case PROP_SRT_ENCRYPTION:
      g_value_set_boolean (value, self->srt_encryption);
      break;
    case PROP_NODE_ID:
      g_value_set_string (value, self->node_id);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_relay_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TetherRelay *self = TETHER_RELAY (object);

  switch (prop_id)
    {
    case PROP_LATENCY:
      set_uint_prop (self, &self->latency, g_value_get_uint (value), pspec);
      break;
    case PROP_MAX_PLAYER_QUEUE_BYTES:
      set_uint_prop (self, &self->max_player_queue_bytes, g_value_get_uint (value), pspec);
      break;
    case PROP_GOP_CACHE_BYTES:
      set_uint_prop (self, &self->gop_cache_bytes, g_value_get_uint (value), pspec);
      break;
    case PROP_TOKEN_SKEW:
      if (self->token_skew != g_value_get_int (value))
        {
          self->token_skew = g_value_get_int (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_CLAIM_TTL:
      if (self->claim_ttl != g_value_get_double (value))
        {
          self->claim_ttl = g_value_get_double (value);
          /* At once, for every record: only the room service's session TTL
           * decides how long a stream id waits for its owner. */
          if (self->core != NULL)
            {
              g_mutex_lock (&self->core->access_lock);
              tether_relay_owners_set_ttl (self->core->owners, (gint64) (self->claim_ttl * G_USEC_PER_SEC));
              g_mutex_unlock (&self->core->access_lock);
            }
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_SRT_ENCRYPTION:
      if (self->srt_encryption != g_value_get_boolean (value))
        {
          self->srt_encryption = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_NODE_ID:
      {
        const char *id = g_value_get_string (value);
        g_autofree char *user = g_strdup_printf ("node:%s", id != NULL ? id : "");

        /* It becomes the user id `node:<id>` of the node's pulls. */
        if (id != NULL && !tether_protocol_valid_id (user))
          {
            g_critical ("TetherRelay:node-id: “%s” is not an id of at most 123 characters", id);
            break;
          }
        if (g_strcmp0 (self->node_id, id) != 0)
          {
            g_free (self->node_id);
            self->node_id = g_strdup (id);
            g_object_notify_by_pspec (object, pspec);
          }
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_relay_class_init (TetherRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_relay_dispose;
  object_class->finalize = tether_relay_finalize;
  object_class->get_property = tether_relay_get_property;
  object_class->set_property = tether_relay_set_property;

  properties[PROP_LATENCY] =
    g_param_spec_uint ("latency", NULL, "SRT latency in milliseconds",
                       0, 60000, DEFAULT_LATENCY_MS, flags);
  properties[PROP_MAX_PLAYER_QUEUE_BYTES] =
    g_param_spec_uint ("max-player-queue-bytes", NULL,
                       "Bytes a player may fall behind before it is dropped",
                       16 * 1024, G_MAXUINT, DEFAULT_MAX_PLAYER_QUEUE, flags);
  properties[PROP_GOP_CACHE_BYTES] =
    g_param_spec_uint ("gop-cache-bytes", NULL,
                       "Bound of the cached group of pictures per stream",
                       0, G_MAXUINT, DEFAULT_GOP_CACHE, flags);
  properties[PROP_TOKEN_SKEW] =
    g_param_spec_int ("token-skew", NULL, "Clock-skew tolerance for tokens, seconds",
                      0, G_MAXINT, 30, flags);
  properties[PROP_CLAIM_TTL] =
    g_param_spec_double ("claim-ttl", NULL,
                         "Seconds a stream id stays its owner's after its publisher left",
                         0.0, 1e9, DEFAULT_CLAIM_TTL, flags);
  properties[PROP_SRT_ENCRYPTION] =
    g_param_spec_boolean ("srt-encryption", NULL,
                          "Encrypt every connection with its token's passphrase (on) or "
                          "accept unencrypted connections only (off)",
                          TRUE, flags);
  properties[PROP_NODE_ID] =
    g_param_spec_string ("node-id", NULL,
                         "This media node's id in its deployment; its pulls log in as node:<id>. "
                         "Without it the node pulls nothing",
                         NULL, flags);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, "The bound SRT port, 0 when not listening",
                       0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherRelay::publisher-added:
   * @stream_id: the stream id now published
   * @user_id: who publishes it
   */
  signals[SIGNAL_PUBLISHER_ADDED] =
    g_signal_new ("publisher-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * TetherRelay::publisher-removed:
   * @stream_id: the stream id no longer published
   * @user_id: who published it
   * @reason: "disconnected", "idle", "replaced" or "shutdown"
   */
  signals[SIGNAL_PUBLISHER_REMOVED] =
    g_signal_new ("publisher-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * TetherRelay::media-started:
   * @stream_id: the stream id
   * @user_id: who publishes it
   * @room_id: (nullable): the room of the publisher's token, %NULL for an all-rooms token
   *
   * The publisher's media began: its first PAT and PMT arrived, so players can be
   * started (on its first key frame). Emitted once per publisher connection, after
   * #TetherRelay::publisher-added; the room service shows an ingest (a publisher
   * without a room session) from here on.
   */
  signals[SIGNAL_MEDIA_STARTED] =
    g_signal_new ("media-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
tether_relay_init (TetherRelay *self)
{
  self->latency = DEFAULT_LATENCY_MS;
  self->max_player_queue_bytes = DEFAULT_MAX_PLAYER_QUEUE;
  self->gop_cache_bytes = DEFAULT_GOP_CACHE;
  self->token_skew = 30;
  self->claim_ttl = DEFAULT_CLAIM_TTL;
  self->srt_encryption = TRUE;
}

/**
 * tether_relay_new:
 * @app_id: the app id tokens must be for
 * @app_secret: the secret tokens are signed with (never logged)
 *
 * Signals will be emitted on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a relay, not yet listening
 */
TetherRelay *
tether_relay_new (const char *app_id,
                  const char *app_secret)
{
  TetherRelay *self;

  g_return_val_if_fail (app_id != NULL, NULL);
  g_return_val_if_fail (app_secret != NULL, NULL);

  self = g_object_new (TETHER_TYPE_RELAY, NULL);
  self->app_id = g_strdup (app_id);
  self->app_secret = g_strdup (app_secret);
  self->context = g_main_context_ref_thread_default ();
  /* Now, not at listen: the room service may claim stream ids before that. */
  self->core = relay_core_new (self, app_id, app_secret, self->context, self->claim_ttl);

  return self;
}

static gboolean
resolve (const char              *host,
         guint16                  port,
         struct sockaddr_storage *addr,
         int                     *addr_len,
         GError                 **error)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *res = NULL;
  g_autofree char *service = g_strdup_printf ("%u", port);
  int rc;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0 || res == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot resolve %s: %s", host != NULL ? host : "(any)", gai_strerror (rc));
      return FALSE;
    }
  memcpy (addr, res->ai_addr, res->ai_addrlen);
  *addr_len = res->ai_addrlen;
  freeaddrinfo (res);
  return TRUE;
}

static gboolean
srt_failed (GError    **error,
            const char *what)
{
  int code = srt_getlasterror (NULL);

  g_set_error (error, G_IO_ERROR,
               code == SRT_EDUPLISTEN || code == SRT_EBINDCONFLICT ? G_IO_ERROR_ADDRESS_IN_USE : G_IO_ERROR_FAILED,
               "SRT %s failed: %s", what, srt_getlasterror_str ());
  return FALSE;
}

/**
 * tether_relay_listen:
 * @host: (nullable): address to bind, %NULL for all
 * @port: UDP port, 0 for an ephemeral one (see tether_relay_get_port())
 *
 * Opens the SRT listener and starts the relay's thread.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_relay_listen (TetherRelay  *self,
                     const char   *host,
                     guint16       port,
                     GError      **error)
{
  struct sockaddr_storage addr;
  int addr_len = 0;
  RelayCore *core;
  gboolean no = FALSE;
  int latency, events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

  g_return_val_if_fail (TETHER_IS_RELAY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->thread != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "The relay is already listening");
      return FALSE;
    }
  if (!resolve (host, port, &addr, &addr_len, error))
    return FALSE;

  if (!tether_media_init (error))
    return FALSE;

  core = self->core;
  core->latency_ms = self->latency;
  core->max_queue = self->max_player_queue_bytes;
  core->gop_max = self->gop_cache_bytes;
  core->token_skew = self->token_skew;
  core->encryption = self->srt_encryption;
  g_free (core->node_id);
  core->node_id = g_strdup (self->node_id);
  g_atomic_int_set (&core->stopping, 0);
  latency = (int) core->latency_ms;
  core->listener = srt_create_socket ();
  if (core->listener == SRT_INVALID_SOCK
      || srt_setsockflag (core->listener, SRTO_RCVSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (core->listener, SRTO_SNDSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (core->listener, SRTO_LATENCY, &latency, sizeof latency) == SRT_ERROR
      || srt_bind (core->listener, (struct sockaddr *) &addr, addr_len) == SRT_ERROR
      || srt_listen_callback (core->listener, relay_on_listen, core) == SRT_ERROR
      || srt_listen (core->listener, LISTEN_BACKLOG) == SRT_ERROR)
    goto failed;

  addr_len = sizeof addr;
  if (srt_getsockname (core->listener, (struct sockaddr *) &addr, &addr_len) == SRT_ERROR)
    goto failed;
  self->port = addr.ss_family == AF_INET6 ? g_ntohs (((struct sockaddr_in6 *) &addr)->sin6_port)
                                          : g_ntohs (((struct sockaddr_in *) &addr)->sin_port);

  core->eid = srt_epoll_create ();
  if (core->eid < 0 || srt_epoll_add_usock (core->eid, core->listener, &events) == SRT_ERROR)
    goto failed;
  srt_epoll_set (core->eid, SRT_EPOLL_ENABLE_EMPTY);

  g_mutex_lock (&registry_lock);
  if (live_cores == NULL)
    live_cores = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_hash_table_add (live_cores, core);
  g_mutex_unlock (&registry_lock);

  self->thread = g_thread_new ("tether-relay", relay_core_thread, relay_core_ref (core));

  g_message ("Relay: listening for SRT on %s:%u (%s)", host != NULL ? host : "*", self->port,
             core->encryption ? "encrypted: AES with each token's passphrase" : "unencrypted");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
  return TRUE;

failed:
  srt_failed (error, "listen");
  if (core->eid >= 0)
    srt_epoll_release (core->eid);
  core->eid = -1;
  if (core->listener != SRT_INVALID_SOCK)
    srt_close (core->listener);
  core->listener = SRT_INVALID_SOCK;
  self->port = 0;
  return FALSE;
}

/**
 * tether_relay_get_port:
 *
 * Returns: the bound UDP port, 0 when not listening
 */
guint16
tether_relay_get_port (TetherRelay *self)
{
  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  return self->port;
}

/**
 * tether_relay_claim_stream:
 * @stream_id: a stream id the room service accepted (`stream_add`)
 * @user_id: the user who added it
 * @room_id: (nullable): the room it was added in; %NULL leaves the room to the
 *   publisher's token
 *
 * Makes @stream_id @user_id's in @room_id on this node before (or while) their
 * publisher connects: no other user, and no token of another room, may publish
 * it, and players of other rooms are refused (players of other rooms that
 * already play it are closed). Claiming again refreshes the claim. The claim
 * holds until tether_relay_release_stream().
 *
 * Safe to call from any thread, listening or not.
 *
 * Returns: %FALSE if another user or another room owns @stream_id: its publisher
 *   is connected, or it left less than #TetherRelay:claim-ttl ago, or the room
 *   service claimed it for them
 */
gboolean
tether_relay_claim_stream (TetherRelay *self,
                           const char  *stream_id,
                           const char  *user_id,
                           const char  *room_id)
{
  gboolean ok;

  g_return_val_if_fail (TETHER_IS_RELAY (self), FALSE);
  g_return_val_if_fail (stream_id != NULL, FALSE);
  g_return_val_if_fail (user_id != NULL, FALSE);

  g_mutex_lock (&self->core->access_lock);
  ok = tether_relay_owners_take (self->core->owners, stream_id, user_id, room_id,
                                 TETHER_RELAY_HOLD_CLAIM, g_get_monotonic_time ());
  g_mutex_unlock (&self->core->access_lock);

  return ok;
}

/**
 * tether_relay_release_stream:
 * @stream_id: a stream id claimed with tether_relay_claim_stream()
 * @user_id: the user who claimed it; a release by anyone else is ignored
 *
 * The room service deleted the stream. A connected publisher keeps it; the stream
 * id stays @user_id's for #TetherRelay:claim-ttl after the publisher leaves (at
 * once, if none is connected), as for any stream id, so a host coming back after a
 * crash gets it back.
 *
 * Safe to call from any thread, listening or not.
 */
void
tether_relay_release_stream (TetherRelay *self,
                             const char  *stream_id,
                             const char  *user_id)
{
  g_return_if_fail (TETHER_IS_RELAY (self));
  g_return_if_fail (stream_id != NULL);
  g_return_if_fail (user_id != NULL);

  g_mutex_lock (&self->core->access_lock);
  tether_relay_owners_let_go (self->core->owners, stream_id, user_id,
                              TETHER_RELAY_HOLD_CLAIM, g_get_monotonic_time ());
  g_mutex_unlock (&self->core->access_lock);
}

/**
 * tether_relay_set_locate_func:
 * @func: (nullable): answers where a stream is published; %NULL: the node pulls nothing
 * @user_data: for @func
 * @destroy: (nullable): frees @user_data when replaced or when the relay goes
 *
 * Lets the node pull streams published on other nodes for its players (see
 * tether-relay.h, "the media cascade"). @func gets each request on the relay's main
 * context and answers it once with tether_relay_locate_return(). Needs
 * #TetherRelay:node-id when listening starts.
 */
void
tether_relay_set_locate_func (TetherRelay           *self,
                              TetherRelayLocateFunc  func,
                              gpointer               user_data,
                              GDestroyNotify         destroy)
{
  g_return_if_fail (TETHER_IS_RELAY (self));

  if (self->locate_destroy != NULL)
    self->locate_destroy (self->locate_data);
  self->locate_func = func;
  self->locate_data = user_data;
  self->locate_destroy = destroy;
  g_atomic_int_set (&self->core->can_locate, func != NULL);
}

/**
 * tether_relay_stop:
 *
 * Closes every connection (peers are told at once), the listener and the thread.
 * "publisher-removed" with reason "shutdown" is emitted for each publisher before
 * this returns when called on the relay's main context. Safe to call twice.
 */
void
tether_relay_stop (TetherRelay *self)
{
  RelayCore *core;

  g_return_if_fail (TETHER_IS_RELAY (self));

  if (self->thread == NULL)
    return;

  core = self->core;
  g_atomic_int_set (&core->stopping, 1);
  g_thread_join (g_steal_pointer (&self->thread));

  g_mutex_lock (&registry_lock);
  g_hash_table_remove (live_cores, core);
  g_mutex_unlock (&registry_lock);

  /* Verdicts on handshakes that no listener will accept now; owner records stay. */
  g_mutex_lock (&core->access_lock);
  g_hash_table_remove_all (core->pending);
  g_mutex_unlock (&core->access_lock);

  g_mutex_lock (&core->stats_lock);
  core->n_streams = 0;
  core->n_players = 0;
  core->n_pulls = 0;
  core->n_pulls_served = 0;
  g_mutex_unlock (&core->stats_lock);

  /* Deliver what is still queued now, while the caller can see it happen. */
  if (g_main_context_acquire (core->context))
    {
      emissions_dispatch (core);
      g_main_context_release (core->context);
    }

  g_message ("Relay: stopped listening on port %u", self->port);
  self->port = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}

/**
 * tether_relay_get_metrics_text:
 *
 * Returns: (transfer full): Prometheus text-format lines for /metrics
 */
char *
tether_relay_get_metrics_text (TetherRelay *self)
{
  GString *out = g_string_new (NULL);
  guint64 streams = 0, players = 0, in = 0, out_bytes = 0, drops = 0, rejects = 0;
  guint64 encrypted = 0, plain = 0;
  guint64 pulls = 0, served = 0, pulls_started = 0, pull_restarts = 0;
  g_autofree char *pull_lines = NULL;

  g_return_val_if_fail (TETHER_IS_RELAY (self), NULL);

  if (self->core != NULL)
    {
      RelayCore *core = self->core;

      g_mutex_lock (&core->stats_lock);
      streams = core->n_streams;
      players = core->n_players;
      in = core->bytes_in;
      out_bytes = core->bytes_out;
      drops = core->player_drops;
      rejects = core->rejects;
      encrypted = core->encrypted_conns;
      plain = core->plain_conns;
      pulls = core->n_pulls;
      served = core->n_pulls_served;
      pulls_started = core->pulls_started;
      pull_restarts = core->pull_restarts;
      pull_lines = g_strdup (core->pull_lines);
      g_mutex_unlock (&core->stats_lock);
    }

  tether_metrics_append (out, "tether_media_streams", "gauge", "Streams with a publisher on this media node.", streams);
  tether_metrics_append (out, "tether_media_players", "gauge", "Players connected to this media node.", players);
  tether_metrics_append (out, "tether_media_bytes_in_total", "counter", "Bytes received from publishers.", in);
  tether_metrics_append (out, "tether_media_bytes_out_total", "counter", "Bytes sent to players.", out_bytes);
  tether_metrics_append (out, "tether_media_player_drops_total", "counter", "Players dropped for falling behind.", drops);
  tether_metrics_append (out, "tether_media_rejects_total", "counter", "Connections refused at the handshake.", rejects);
  tether_metrics_append (out, "tether_media_encrypted_connections_total", "counter",
                         "Publishers and players accepted with AES encryption.", encrypted);
  tether_metrics_append (out, "tether_media_plain_connections_total", "counter",
                         "Publishers and players accepted without encryption (--srt-encryption=off).", plain);
  tether_metrics_append (out, "tether_media_pulls", "gauge",
                         "Streams this node pulls from their origin node for its players (media cascade).", pulls);
  tether_metrics_append (out, "tether_media_pulls_started_total", "counter",
                         "Pulls begun: a stream's first player here while it was published on another node.",
                         pulls_started);
  tether_metrics_append (out, "tether_media_pull_restarts_total", "counter",
                         "Pull connections opened again after a pull broke, was refused or did not connect.",
                         pull_restarts);
  tether_metrics_append (out, "tether_media_pulls_served", "gauge",
                         "Other nodes' pulls of streams published here.", served);
  if (pull_lines != NULL)
    g_string_append (out, pull_lines);

  return g_string_free (out, FALSE);
}

/**
 * tether_relay_get_stream_count:
 *
 * Returns: the number of stream ids with a publisher
 */
guint
tether_relay_get_stream_count (TetherRelay *self)
{
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  if (self->core != NULL)
    {
      g_mutex_lock (&self->core->stats_lock);
      n = self->core->n_streams;
      g_mutex_unlock (&self->core->stats_lock);
    }
  return n;
}

/**
 * tether_relay_get_player_count:
 *
 * Returns: the number of connected players
 */
guint
tether_relay_get_player_count (TetherRelay *self)
{
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  if (self->core != NULL)
    {
      g_mutex_lock (&self->core->stats_lock);
      n = self->core->n_players;
      g_mutex_unlock (&self->core->stats_lock);
    }
  return n;
}
