/* tether-engine.c: the session manager — configuration, network and sleep watching,
 * and the rooms it owns
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tether-engine.h"
#include "tether-error.h"
#include "tether-net-private.h"
#include "tether-room-private.h"
#include "tether-tls-private.h"

/**
 * TetherEngine:
 *
 * The session manager: it holds the configuration the rooms copy when they log
 * in, watches the network and the machine's sleep (a new network or a wake-up
 * makes every room try at once or prove its link), and keeps the rooms until
 * they leave for good.
 *
 * The timing properties are in seconds, fractions allowed; each also has a key
 * in [method@Tether.Engine.set_config]. They apply to rooms logged in afterwards.
 *
 * Rooms verify a `wss://` server's certificate against the system's trusted
 * authorities, or the one file of [property@Tether.Engine:tls-ca-file].
 *
 * The engine, its rooms and their signals belong to the thread-default main
 * context of the thread that created the engine; only the rooms' connections
 * (sockets, heartbeats, dead-link timers) run on libtether's own network thread.
 */

struct _TetherEngine
{
  GObject parent_instance;

  TetherRoomTiming timing;
  double av_retry_time;

  TetherNet *net;        /* the rooms' SoupSession, on the network thread */
  char *tls_ca_file;
  GNetworkMonitor *monitor;
  GDBusConnection *system_bus;
  guint sleep_subscription;
  GCancellable *cancellable;
  GListStore *rooms;
};

G_DEFINE_FINAL_TYPE (TetherEngine, tether_engine, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOM_RETRY_TIME,
  PROP_AV_RETRY_TIME,
  PROP_LOGIN_TIMEOUT,
  PROP_LINK_TIMEOUT,
  PROP_BACKOFF_MAX,
  PROP_LOGOUT_TIMEOUT,
  PROP_NETWORK_MONITOR,
  PROP_TLS_CA_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The string config keys, each naming the property it sets. */
static const struct
{
  const char *key;
  guint prop;
} config_keys[] = {
  { "room_retry_time", PROP_ROOM_RETRY_TIME },
  { "av_retry_time", PROP_AV_RETRY_TIME },
  { "login_timeout", PROP_LOGIN_TIMEOUT },
  { "room_link_timeout", PROP_LINK_TIMEOUT },
  { "room_backoff_max", PROP_BACKOFF_MAX },
  { "logout_timeout", PROP_LOGOUT_TIMEOUT },
};

static double *
timing_field (TetherEngine *self,
              guint         prop_id)
{
  switch (prop_id)
    {
    case PROP_ROOM_RETRY_TIME: return &self->timing.retry_time;
    case PROP_AV_RETRY_TIME: return &self->av_retry_time;
    case PROP_LOGIN_TIMEOUT: return &self->timing.login_timeout;
    case PROP_LINK_TIMEOUT: return &self->timing.link_timeout;
    case PROP_BACKOFF_MAX: return &self->timing.backoff_max;
    case PROP_LOGOUT_TIMEOUT: return &self->timing.logout_timeout;
    default: return NULL;
    }
}

static void
each_room_network_changed (TetherEngine *self,
                           const char   *cause)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->rooms));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TetherRoom) room = g_list_model_get_item (G_LIST_MODEL (self->rooms), i);

      _tether_room_network_changed (room, cause);
    }
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  TetherEngine *self = user_data;

  /* Losing the network is noticed by the rooms' own dead-link checks; a new network
   * is worth an attempt right away instead of waiting out the backoff. */
  if (available)
    each_room_network_changed (self, TETHER_ROOM_CAUSE_NETWORK_CHANGE);
}

static void
prepare_for_sleep_cb (GDBusConnection *connection,
                      const char      *sender_name,
                      const char      *object_path,
                      const char      *interface_name,
                      const char      *signal_name,
                      GVariant        *parameters,
                      gpointer         user_data)
{
  TetherEngine *self = user_data;
  gboolean going_to_sleep = FALSE;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &going_to_sleep);
  if (!going_to_sleep)
    each_room_network_changed (self, TETHER_ROOM_CAUSE_RESUME_FROM_SLEEP);
}

static void
system_bus_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);
  TetherEngine *self;

  if (bus == NULL)
    {
      /* No system bus (containers, CI): no sleep notifications, nothing else lost. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("no system bus, resume from sleep is not watched: %s", error->message);
      return;
    }

  self = TETHER_ENGINE (user_data);
  self->system_bus = bus;
  self->sleep_subscription =
    g_dbus_connection_signal_subscribe (bus, "org.freedesktop.login1",
                                        "org.freedesktop.login1.Manager", "PrepareForSleep",
                                        "/org/freedesktop/login1", NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, prepare_for_sleep_cb,
                                        self, NULL);
}

static void
tether_engine_constructed (GObject *object)
{
  TetherEngine *self = TETHER_ENGINE (object);

  G_OBJECT_CLASS (tether_engine_parent_class)->constructed (object);

  if (self->monitor == NULL)
    self->monitor = g_object_ref (g_network_monitor_get_default ());
  g_signal_connect_object (self->monitor, "network-changed", G_CALLBACK (network_changed_cb),
                           self, 0);

  if (g_getenv ("TETHER_NO_SYSTEM_BUS") == NULL)
    g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, system_bus_cb, self);
}

static void
tether_engine_dispose (GObject *object)
{
  TetherEngine *self = TETHER_ENGINE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->system_bus != NULL && self->sleep_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  g_clear_object (&self->monitor);
  if (self->rooms != NULL)
    g_list_store_remove_all (self->rooms);
  g_clear_object (&self->rooms);
  g_clear_pointer (&self->net, _tether_net_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (tether_engine_parent_class)->dispose (object);
}

static void
tether_engine_finalize (GObject *object)
{
  TetherEngine *self = TETHER_ENGINE (object);

  g_free (self->tls_ca_file);

  G_OBJECT_CLASS (tether_engine_parent_class)->finalize (object);
}

static void
tether_engine_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherEngine *self = TETHER_ENGINE (object);
  double *field = timing_field (self, prop_id);

  if (field != NULL)
    g_value_set_double (value, *field);
  else if (prop_id == PROP_NETWORK_MONITOR)
    g_value_set_object (value, self->monitor);
  else if (prop_id == PROP_TLS_CA_FILE)
    g_value_set_string (value, self->tls_ca_file);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
tether_engine_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TetherEngine *self = TETHER_ENGINE (object);
  double *field = timing_field (self, prop_id);

  if (field != NULL)
    {
      if (*field == g_value_get_double (value))
        return;
      *field = g_value_get_double (value);
      g_object_notify_by_pspec (object, pspec);
    }
  else if (prop_id == PROP_NETWORK_MONITOR)
    self->monitor = g_value_dup_object (value);
  else if (prop_id == PROP_TLS_CA_FILE)
    {
      g_autoptr(GError) error = NULL;

      /* A property cannot fail: the engine keeps trusting what it trusted. */
      if (!tether_engine_set_tls_ca_file (self, g_value_get_string (value), &error))
        g_warning ("TetherEngine:tls-ca-file: %s", error->message);
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static GParamSpec *
seconds_property (const char *name,
                  double      minimum,
                  double      fallback)
{
  return g_param_spec_double (name, NULL, NULL, minimum, 365.0 * 24 * 3600, fallback,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                              | G_PARAM_STATIC_STRINGS);
}

static void
tether_engine_class_init (TetherEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tether_engine_constructed;
  object_class->dispose = tether_engine_dispose;
  object_class->finalize = tether_engine_finalize;
  object_class->get_property = tether_engine_get_property;
  object_class->set_property = tether_engine_set_property;

  /**
   * TetherEngine:room-retry-time: (getter get_room_retry_time)
   *
   * How long a room retries after its link broke before it gives up with
   * RECONNECT_FAILED, from when the break was noticed (config key
   * `room_retry_time`).
   */
  properties[PROP_ROOM_RETRY_TIME] = seconds_property ("room-retry-time", 0.01, 1200);
  /**
   * TetherEngine:av-retry-time: (getter get_av_retry_time)
   *
   * How long publishers and players retry a broken media link (config key
   * `av_retry_time`).
   */
  properties[PROP_AV_RETRY_TIME] = seconds_property ("av-retry-time", 0.01, 1200);
  /**
   * TetherEngine:login-timeout:
   *
   * How long the first login of a room tries before LOGIN_FAILED (config key
   * `login_timeout`).
   */
  properties[PROP_LOGIN_TIMEOUT] = seconds_property ("login-timeout", 0.01, 10);
  /**
   * TetherEngine:link-timeout:
   *
   * The silence from the server that means a dead link; 0, the default, for 2.2
   * heartbeat intervals (config key `room_link_timeout`).
   */
  properties[PROP_LINK_TIMEOUT] = seconds_property ("link-timeout", 0, 0);
  /**
   * TetherEngine:backoff-max:
   *
   * The longest wait between two attempts of a retrying room, so a network that
   * came back is used soon (config key `room_backoff_max`).
   */
  properties[PROP_BACKOFF_MAX] = seconds_property ("backoff-max", 0.01, 1.0);
  /**
   * TetherEngine:logout-timeout:
   *
   * How long [method@Tether.Room.logout] waits for the server's answer before
   * LOGOUT_FAILED (config key `logout_timeout`).
   */
  properties[PROP_LOGOUT_TIMEOUT] = seconds_property ("logout-timeout", 0.01, 2.0);
  /**
   * TetherEngine:network-monitor:
   *
   * The network monitor the engine watches; the system's by default.
   */
  properties[PROP_NETWORK_MONITOR] =
    g_param_spec_object ("network-monitor", NULL, NULL, G_TYPE_NETWORK_MONITOR,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherEngine:tls-ca-file: (getter get_tls_ca_file) (setter set_tls_ca_file)
   *
   * A PEM file of certificate authorities that `wss://` servers are verified
   * against, for a deployment with its own (e.g. self-signed) authority; %NULL, the
   * default, for the system's trusted authorities. A relative path is taken from the
   * current directory when set and read back absolute.
   *
   * The file *replaces* the system's authorities, it does not add to them: an
   * engine with this set trusts only what the file holds. It applies to every
   * connection made afterwards, reconnections of rooms already in a room included. A file
   * that cannot be read is refused with a warning and the engine keeps what it
   * trusted; [method@Tether.Engine.set_tls_ca_file] reports the error instead.
   */
  properties[PROP_TLS_CA_FILE] =
    g_param_spec_string ("tls-ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_engine_init (TetherEngine *self)
{
  self->timing.retry_time = 1200;
  self->timing.login_timeout = 10;
  self->timing.link_timeout = 0;
  self->timing.backoff_min = 0.1;
  self->timing.backoff_max = 1.0;
  self->timing.logout_timeout = 2.0;
  self->av_retry_time = 1200;
  self->cancellable = g_cancellable_new ();
  self->rooms = g_list_store_new (TETHER_TYPE_ROOM);
  self->net = _tether_net_new ();
}

/**
 * tether_engine_new: (constructor)
 *
 * Creates an engine that watches the system's network monitor.
 *
 * Returns: (transfer full): a new engine
 */
TetherEngine *
tether_engine_new (void)
{
  return g_object_new (TETHER_TYPE_ENGINE, NULL);
}

/**
 * tether_engine_new_with_monitor: (constructor)
 * @monitor: the network monitor to watch instead of the system's
 *
 * Creates an engine that watches @monitor, e.g. a test's own.
 *
 * Returns: (transfer full): a new engine
 */
TetherEngine *
tether_engine_new_with_monitor (GNetworkMonitor *monitor)
{
  g_return_val_if_fail (G_IS_NETWORK_MONITOR (monitor), NULL);
  return g_object_new (TETHER_TYPE_ENGINE, "network-monitor", monitor, NULL);
}

/**
 * tether_engine_set_config:
 * @self: an engine
 * @config: one or more `key=value` settings separated by `;` or newlines, e.g.
 *   `room_retry_time=1200;av_retry_time=30.5` (seconds, fractions allowed)
 *
 * Applies to rooms logged in afterwards, as in the reference SDK: set it before
 * login.
 *
 * Each key sets the property it names, e.g. `room_retry_time` sets
 * [property@Tether.Engine:room-retry-time].
 *
 * Returns: %FALSE with %TETHER_ERROR_INVALID_ARGUMENT for an unknown key or a value
 *   that is not a number within the setting's range; nothing is applied then
 */
gboolean
tether_engine_set_config (TetherEngine  *self,
                          const char    *config,
                          GError       **error)
{
  g_auto(GStrv) items = NULL;
  double values[G_N_ELEMENTS (config_keys)];
  gboolean seen[G_N_ELEMENTS (config_keys)] = { FALSE, };

  g_return_val_if_fail (TETHER_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

  items = g_strsplit_set (config, ";\n", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      g_autofree char *item = g_strstrip (g_strdup (items[i]));
      char *eq, *end = NULL;
      gboolean known = FALSE;
      double value;

      if (*item == '\0')
        continue;
      eq = strchr (item, '=');
      if (eq == NULL)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                       "config “%s” is not key=value", item);
          return FALSE;
        }
      *eq = '\0';
      g_strstrip (item);
      value = g_ascii_strtod (g_strstrip (eq + 1), &end);
      if (end == eq + 1 || *end != '\0' || !(value > 0) || value > 365.0 * 24 * 3600)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                       "config %s needs a positive number of seconds", item);
          return FALSE;
        }
      for (guint k = 0; k < G_N_ELEMENTS (config_keys); k++)
        if (g_str_equal (item, config_keys[k].key))
          {
            GParamSpecDouble *range = G_PARAM_SPEC_DOUBLE (properties[config_keys[k].prop]);

            /* The property's own range, so that nothing reaches g_object_set()
             * that it would refuse with a warning. */
            if (value < range->minimum || value > range->maximum)
              {
                g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                             "config %s must be from %g to %g seconds", item, range->minimum,
                             range->maximum);
                return FALSE;
              }
            values[k] = value;
            seen[k] = known = TRUE;
          }
      if (!known)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                       "unknown config key “%s”", item);
          return FALSE;
        }
    }

  for (guint k = 0; k < G_N_ELEMENTS (config_keys); k++)
    if (seen[k])
      g_object_set (self, properties[config_keys[k].prop]->name, values[k], NULL);

  return TRUE;
}

/**
 * tether_engine_get_room_retry_time: (get-property room-retry-time)
 * @self: an engine
 *
 * Gets how long rooms retry after a break.
 *
 * Returns: the rooms' retry window, in seconds
 */
double
tether_engine_get_room_retry_time (TetherEngine *self)
{
  g_return_val_if_fail (TETHER_IS_ENGINE (self), 0);
  return self->timing.retry_time;
}

/**
 * tether_engine_get_av_retry_time: (get-property av-retry-time)
 * @self: an engine
 *
 * Gets how long publishers and players retry a broken media link.
 *
 * Returns: the media links' retry window, in seconds
 */
double
tether_engine_get_av_retry_time (TetherEngine *self)
{
  g_return_val_if_fail (TETHER_IS_ENGINE (self), 0);
  return self->av_retry_time;
}

/**
 * tether_engine_get_tls_ca_file: (get-property tls-ca-file)
 * @self: an engine
 *
 * Gets the file of authorities `wss://` servers are verified against.
 *
 * Returns: (nullable) (type filename): the PEM file, or %NULL for the system's
 *   trusted authorities
 */
const char *
tether_engine_get_tls_ca_file (TetherEngine *self)
{
  g_return_val_if_fail (TETHER_IS_ENGINE (self), NULL);
  return self->tls_ca_file;
}

/**
 * tether_engine_set_tls_ca_file: (set-property tls-ca-file)
 * @self: an engine
 * @ca_file: (nullable) (type filename): a PEM file of certificate authorities, or
 *   %NULL for the system's trusted authorities
 * @error: return location for an error
 *
 * Makes connections from now on verify `wss://` servers against the authorities in
 * @ca_file only (see [property@Tether.Engine:tls-ca-file]).
 *
 * Returns: %FALSE with %TETHER_ERROR_INVALID_ARGUMENT when @ca_file cannot be read
 *   or holds no certificate; nothing changes then
 */
gboolean
tether_engine_set_tls_ca_file (TetherEngine  *self,
                               const char    *ca_file,
                               GError       **error)
{
  g_autoptr(GTlsDatabase) database = NULL;

  g_return_val_if_fail (TETHER_IS_ENGINE (self), FALSE);

  if (g_strcmp0 (self->tls_ca_file, ca_file) == 0)
    return TRUE;

  if (ca_file != NULL)
    {
      database = tether_tls_file_database_new (ca_file, error);
      if (database == NULL)
        return FALSE;
    }

  /* NULL brings back the system's database (a session without one trusts nothing). */
  if (database == NULL)
    database = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  _tether_net_set_tls_database (self->net, database);
  g_free (self->tls_ca_file);
  /* Absolute, so that whoever reads the property back (the app's guest-token request)
   * finds the same file from any working directory. */
  self->tls_ca_file = ca_file != NULL ? g_canonicalize_filename (ca_file, NULL) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TLS_CA_FILE]);
  return TRUE;
}

static void
room_state_changed_cb (TetherRoom      *room,
                       TetherRoomState  state,
                       int              error_code,
                       const char      *extended_data,
                       gpointer         user_data)
{
  TetherEngine *self = user_data;
  guint position;

  /* A room that has left for good is no longer the engine's to watch. */
  if (tether_room_state_is_final (state) && g_list_store_find (self->rooms, room, &position))
    g_list_store_remove (self->rooms, position);
}

/**
 * tether_engine_login_room:
 * @self: an engine
 * @options: what to log in with: at least a server URL (`server-url` or
 *   `server-urls`), app id, room id and user id; the room keeps a copy
 *
 * Starts logging into a room. Watch [signal@Tether.Room::state-changed] for
 * LOGINED or LOGIN_FAILED; the engine keeps the room until it leaves for good.
 *
 * Returns: (transfer full): the room
 */
TetherRoom *
tether_engine_login_room (TetherEngine       *self,
                          TetherLoginOptions *options)
{
  TetherRoom *room;

  g_return_val_if_fail (TETHER_IS_ENGINE (self), NULL);
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (options), NULL);
  g_return_val_if_fail (tether_login_options_get_server_url (options) != NULL
                        || tether_login_options_get_server_urls (options) != NULL, NULL);
  g_return_val_if_fail (tether_login_options_get_app_id (options) != NULL, NULL);
  g_return_val_if_fail (tether_login_options_get_room_id (options) != NULL, NULL);
  g_return_val_if_fail (tether_login_options_get_user_id (options) != NULL, NULL);

  room = _tether_room_new (self->net, &self->timing, options);
  g_signal_connect_object (room, "state-changed", G_CALLBACK (room_state_changed_cb), self,
                           G_CONNECT_AFTER);
  g_list_store_append (self->rooms, room);
  _tether_room_login (room);

  return room;
}

/**
 * tether_engine_switch_room:
 * @self: an engine
 * @from: the room to leave
 * @room_id: the room to enter, with the same server, app and user
 * @token: (nullable): a token for the new room, or %NULL to reuse @from's
 *
 * Logs out of @from and into @room_id, with what @from logged in with.
 *
 * Returns: (transfer full): the new room
 */
TetherRoom *
tether_engine_switch_room (TetherEngine *self,
                           TetherRoom   *from,
                           const char   *room_id,
                           const char   *token)
{
  g_autoptr(TetherLoginOptions) login = NULL;

  g_return_val_if_fail (TETHER_IS_ENGINE (self), NULL);
  g_return_val_if_fail (TETHER_IS_ROOM (from), NULL);
  g_return_val_if_fail (room_id != NULL, NULL);

  login = tether_room_dup_login_options (from);
  tether_login_options_set_room_id (login, room_id);
  if (token != NULL)
    tether_login_options_set_token (login, token);
  tether_room_logout (from);

  return tether_engine_login_room (self, login);
}

/**
 * tether_engine_logout_room:
 * @self: an engine
 * @room: a room of this engine
 *
 * Leaves @room, as [method@Tether.Room.logout] does.
 */
void
tether_engine_logout_room (TetherEngine *self,
                           TetherRoom   *room)
{
  g_return_if_fail (TETHER_IS_ENGINE (self));
  g_return_if_fail (TETHER_IS_ROOM (room));

  tether_room_logout (room);
}

/**
 * tether_engine_reconnect_now:
 * @self: an engine
 *
 * Skips the backoff wait of every retrying room and probes the others' links, as a
 * network change does.
 */
void
tether_engine_reconnect_now (TetherEngine *self)
{
  g_return_if_fail (TETHER_IS_ENGINE (self));
  each_room_network_changed (self, TETHER_ROOM_CAUSE_RECONNECT_NOW);
}

/**
 * tether_engine_get_rooms:
 * @self: an engine
 *
 * Gets the rooms this engine keeps: those logging in or in a room.
 *
 * Returns: (transfer none): a [iface@Gio.ListModel] of the [class@Tether.Room]s in
 *   or entering a room
 */
GListModel *
tether_engine_get_rooms (TetherEngine *self)
{
  g_return_val_if_fail (TETHER_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->rooms);
}
