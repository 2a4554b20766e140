/* tether-login-options.c: what a room login needs — server, app, room, user, token
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-login-options-private.h"

/**
 * TetherLoginOptions:
 *
 * The values a room login takes, named: the room service, the application, the
 * room, the user and the token, and whether to hear about the other users.
 *
 * Give it to [method@Tether.Engine.login_room]; the room keeps a copy, so the
 * options can be changed and used again for another login.
 *
 * ```c
 * g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
 *                                                     "server-url", "ws://127.0.0.1:7480/ws",
 *                                                     "app-id", "demo",
 *                                                     "room-id", "lobby",
 *                                                     "user-id", "alice",
 *                                                     "token", token,
 *                                                     NULL);
 * TetherRoom *room = tether_engine_login_room (engine, login);
 * ```
 *
 * From Python: `Tether.LoginOptions(server_url=..., app_id=..., room_id=...,
 * user_id=..., token=...)`.
 *
 * A room service run as several nodes has several URLs: give them all in
 * [property@Tether.LoginOptions:server-urls] (with or without `server-url`), and
 * the room walks them when a connection fails (see `docs/design.md`, "Room
 * services with several nodes").
 */

G_DEFINE_FINAL_TYPE (TetherLoginOptions, tether_login_options, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SERVER_URL,
  PROP_APP_ID,
  PROP_ROOM_ID,
  PROP_USER_ID,
  PROP_USER_NAME,
  PROP_TOKEN,
  PROP_NOTIFY_USERS,
  PROP_SERVER_URLS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The string properties, each with its field. */
static char **
string_field (TetherLoginOptions *self,
              guint               prop_id)
{
  switch (prop_id)
    {
    case PROP_SERVER_URL: return &self->server_url;
    case PROP_APP_ID: return &self->app_id;
    case PROP_ROOM_ID: return &self->room_id;
    case PROP_USER_ID: return &self->user_id;
    case PROP_USER_NAME: return &self->user_name;
    case PROP_TOKEN: return &self->token;
    default: return NULL;
    }
}

static void
set_string (TetherLoginOptions *self,
            guint               prop_id,
            const char         *value)
{
  char **field = string_field (self, prop_id);

  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
tether_login_options_finalize (GObject *object)
{
  TetherLoginOptions *self = TETHER_LOGIN_OPTIONS (object);

  for (guint i = PROP_SERVER_URL; i <= PROP_TOKEN; i++)
    g_free (*string_field (self, i));
  g_strfreev (self->server_urls);

  G_OBJECT_CLASS (tether_login_options_parent_class)->finalize (object);
}

static void
tether_login_options_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TetherLoginOptions *self = TETHER_LOGIN_OPTIONS (object);
  char **field = string_field (self, prop_id);

  if (field != NULL)
    g_value_set_string (value, *field);
  else if (prop_id == PROP_NOTIFY_USERS)
    g_value_set_boolean (value, self->notify_users);
  else if (prop_id == PROP_SERVER_URLS)
    g_value_set_boxed (value, self->server_urls);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
tether_login_options_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  TetherLoginOptions *self = TETHER_LOGIN_OPTIONS (object);

  if (string_field (self, prop_id) != NULL)
    set_string (self, prop_id, g_value_get_string (value));
  else if (prop_id == PROP_NOTIFY_USERS)
    tether_login_options_set_notify_users (self, g_value_get_boolean (value));
  else if (prop_id == PROP_SERVER_URLS)
    tether_login_options_set_server_urls (self, g_value_get_boxed (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
tether_login_options_class_init (TetherLoginOptionsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tether_login_options_finalize;
  object_class->get_property = tether_login_options_get_property;
  object_class->set_property = tether_login_options_set_property;

  /**
   * TetherLoginOptions:server-url: (getter get_server_url) (setter set_server_url)
   *
   * The room service's WebSocket URL, e.g. `ws://127.0.0.1:7480/ws`. Required.
   */
  properties[PROP_SERVER_URL] = g_param_spec_string ("server-url", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:app-id: (getter get_app_id) (setter set_app_id)
   *
   * The application id the server knows the token's signing key by. Required.
   */
  properties[PROP_APP_ID] = g_param_spec_string ("app-id", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:room-id: (getter get_room_id) (setter set_room_id)
   *
   * The room to enter: 1–128 characters of `A–Z a–z 0–9 . _ ~ @ : -`. Required.
   */
  properties[PROP_ROOM_ID] = g_param_spec_string ("room-id", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:user-id: (getter get_user_id) (setter set_user_id)
   *
   * Who logs in, with the same characters as a room id. Required.
   */
  properties[PROP_USER_ID] = g_param_spec_string ("user-id", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:user-name: (getter get_user_name) (setter set_user_name)
   *
   * The name shown to the others; when unset, the user id.
   */
  properties[PROP_USER_NAME] = g_param_spec_string ("user-name", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:token: (getter get_token) (setter set_token)
   *
   * The login token (`payload.signature`, see tether_token_mint()).
   */
  properties[PROP_TOKEN] = g_param_spec_string ("token", NULL, NULL, NULL, flags);
  /**
   * TetherLoginOptions:notify-users: (getter get_notify_users) (setter set_notify_users)
   *
   * Whether the room lists the other users and reports them with
   * [signal@Tether.Room::user-update]. Streams are reported either way.
   */
  properties[PROP_NOTIFY_USERS] = g_param_spec_boolean ("notify-users", NULL, NULL, FALSE, flags);
  /**
   * TetherLoginOptions:server-urls: (getter get_server_urls) (setter set_server_urls)
   *
   * More WebSocket URLs of the same room service (its other nodes), tried in this
   * order after [property@Tether.LoginOptions:server-url] when a connection fails;
   * with no `server-url`, the first of them is tried first. The room adds the list
   * each node hands out in `login_ok` (`room_services`). %NULL (the default): none.
   */
  properties[PROP_SERVER_URLS] = g_param_spec_boxed ("server-urls", NULL, NULL, G_TYPE_STRV,
                                                     flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_login_options_init (TetherLoginOptions *self)
{
}

/**
 * tether_login_options_new: (constructor)
 *
 * Creates empty login options; set at least the server URL, app id, room id and
 * user id before logging in.
 *
 * Returns: (transfer full): new login options
 */
TetherLoginOptions *
tether_login_options_new (void)
{
  return g_object_new (TETHER_TYPE_LOGIN_OPTIONS, NULL);
}

/**
 * tether_login_options_copy:
 * @self: login options
 *
 * Copies the options, to change some and log in again.
 *
 * Returns: (transfer full): new login options with the same values
 */
TetherLoginOptions *
tether_login_options_copy (TetherLoginOptions *self)
{
  TetherLoginOptions *copy;

  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);

  copy = tether_login_options_new ();
  for (guint i = PROP_SERVER_URL; i <= PROP_TOKEN; i++)
    *string_field (copy, i) = g_strdup (*string_field (self, i));
  copy->notify_users = self->notify_users;
  copy->server_urls = g_strdupv (self->server_urls);
  return copy;
}

/**
 * tether_login_options_get_server_url: (get-property server-url)
 * @self: login options
 *
 * Gets the room service's WebSocket URL.
 *
 * Returns: (nullable): the room service's URL
 */
const char *
tether_login_options_get_server_url (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->server_url;
}

/**
 * tether_login_options_set_server_url: (set-property server-url)
 * @self: login options
 * @server_url: (nullable): the room service's URL
 *
 * Sets the room service's WebSocket URL.
 */
void
tether_login_options_set_server_url (TetherLoginOptions *self,
                                     const char         *server_url)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_SERVER_URL, server_url);
}

/**
 * tether_login_options_get_server_urls: (get-property server-urls)
 * @self: login options
 *
 * Gets the room service's other URLs.
 *
 * Returns: (nullable) (transfer none) (array zero-terminated=1): the URLs tried
 *   after #TetherLoginOptions:server-url, or %NULL
 */
const char * const *
tether_login_options_get_server_urls (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return (const char * const *) self->server_urls;
}

/**
 * tether_login_options_set_server_urls: (set-property server-urls)
 * @self: login options
 * @server_urls: (nullable) (array zero-terminated=1): more URLs of the room service,
 *   in the order to try them, or %NULL
 *
 * Sets the room service's other URLs (its other nodes), tried in order after
 * #TetherLoginOptions:server-url. An empty list is the same as %NULL.
 */
void
tether_login_options_set_server_urls (TetherLoginOptions *self,
                                      const char * const *server_urls)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));

  if (server_urls != NULL && server_urls[0] == NULL)
    server_urls = NULL;
  if (server_urls == NULL ? self->server_urls == NULL
      : self->server_urls != NULL && g_strv_equal (server_urls, (const char * const *) self->server_urls))
    return;
  g_strfreev (self->server_urls);
  self->server_urls = g_strdupv ((char **) server_urls);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_URLS]);
}

/* Every URL to try, in order: server-url, then server-urls, each once. */
GPtrArray *
_tether_login_options_dup_urls (TetherLoginOptions *self)
{
  GPtrArray *urls = g_ptr_array_new_with_free_func (g_free);

  if (self->server_url != NULL)
    g_ptr_array_add (urls, g_strdup (self->server_url));
  for (guint i = 0; self->server_urls != NULL && self->server_urls[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (urls, self->server_urls[i], g_str_equal, NULL))
      g_ptr_array_add (urls, g_strdup (self->server_urls[i]));
  return urls;
}

/**
 * tether_login_options_get_app_id: (get-property app-id)
 * @self: login options
 *
 * Gets the application id.
 *
 * Returns: (nullable): the application id
 */
const char *
tether_login_options_get_app_id (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->app_id;
}

/**
 * tether_login_options_set_app_id: (set-property app-id)
 * @self: login options
 * @app_id: (nullable): the application id
 *
 * Sets the application id.
 */
void
tether_login_options_set_app_id (TetherLoginOptions *self,
                                 const char         *app_id)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_APP_ID, app_id);
}

/**
 * tether_login_options_get_room_id: (get-property room-id)
 * @self: login options
 *
 * Gets the room to enter.
 *
 * Returns: (nullable): the room id
 */
const char *
tether_login_options_get_room_id (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->room_id;
}

/**
 * tether_login_options_set_room_id: (set-property room-id)
 * @self: login options
 * @room_id: (nullable): the room id
 *
 * Sets the room to enter.
 */
void
tether_login_options_set_room_id (TetherLoginOptions *self,
                                  const char         *room_id)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_ROOM_ID, room_id);
}

/**
 * tether_login_options_get_user_id: (get-property user-id)
 * @self: login options
 *
 * Gets the id of the user who logs in.
 *
 * Returns: (nullable): the user id
 */
const char *
tether_login_options_get_user_id (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->user_id;
}

/**
 * tether_login_options_set_user_id: (set-property user-id)
 * @self: login options
 * @user_id: (nullable): the user id
 *
 * Sets the id of the user who logs in.
 */
void
tether_login_options_set_user_id (TetherLoginOptions *self,
                                  const char         *user_id)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_USER_ID, user_id);
}

/**
 * tether_login_options_get_user_name: (get-property user-name)
 * @self: login options
 *
 * Gets the name shown to the others.
 *
 * Returns: (nullable): the name shown to others, or %NULL for the user id
 */
const char *
tether_login_options_get_user_name (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->user_name;
}

/**
 * tether_login_options_set_user_name: (set-property user-name)
 * @self: login options
 * @user_name: (nullable): the name shown to others, or %NULL for the user id
 *
 * Sets the name shown to the others.
 */
void
tether_login_options_set_user_name (TetherLoginOptions *self,
                                    const char         *user_name)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_USER_NAME, user_name);
}

/**
 * tether_login_options_get_token: (get-property token)
 * @self: login options
 *
 * Gets the login token.
 *
 * Returns: (nullable): the login token
 */
const char *
tether_login_options_get_token (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), NULL);
  return self->token;
}

/**
 * tether_login_options_set_token: (set-property token)
 * @self: login options
 * @token: (nullable): the login token
 *
 * Sets the login token.
 */
void
tether_login_options_set_token (TetherLoginOptions *self,
                                const char         *token)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));
  set_string (self, PROP_TOKEN, token);
}

/**
 * tether_login_options_get_notify_users: (get-property notify-users)
 * @self: login options
 *
 * Gets whether the room lists and reports the other users.
 *
 * Returns: whether the room reports the other users
 */
gboolean
tether_login_options_get_notify_users (TetherLoginOptions *self)
{
  g_return_val_if_fail (TETHER_IS_LOGIN_OPTIONS (self), FALSE);
  return self->notify_users;
}

/**
 * tether_login_options_set_notify_users: (set-property notify-users)
 * @self: login options
 * @notify_users: whether the room reports the other users
 *
 * Sets whether the room lists and reports the other users.
 */
void
tether_login_options_set_notify_users (TetherLoginOptions *self,
                                       gboolean            notify_users)
{
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (self));

  notify_users = !!notify_users;
  if (self->notify_users == notify_users)
    return;
  self->notify_users = notify_users;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTIFY_USERS]);
}
