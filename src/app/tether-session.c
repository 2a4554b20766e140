/* tether-session.c: the app's room session — one engine for the life of the app, the
 * current room, autoplay (or players started by hand), the publisher and the demo room;
 * the settings bound to the engine's and its own typed properties; joining from the
 * settings or a room link, as a guest of a public room when there is no credential
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-demo.h"
#include "tether-secrets.h"
#include "tether-session.h"

#define SCHEMA_ID "io.github.tetherlive.Tether"

struct _TetherSession
{
  GObject parent_instance;

  GSettings *settings;
  TetherSecrets *secrets;         /* the token and app secret, in the keyring */
  TetherEngine *engine;
  TetherDemo *demo;

  TetherRoom *room;
  GSignalGroup *room_signals;     /* follow the current room */
  TetherAutoplay *autoplay;
  GHashTable *manual_players;     /* stream id → TetherPlayer, when autoplay is off */
  TetherPublisher *publisher;

  /* bound to GSettings */
  gboolean autoplay_enabled;
  guint max_players;
  TetherPublisherSource publish_source;

  /* what "Try again" repeats */
  gboolean last_was_demo;
  TetherLoginOptions *login;

  /* guests: the guest-token request under way, and whether the room's login is a
   * guest's (its token is renewed through the guest endpoint) */
  GCancellable *guest_cancellable;
  gboolean guest;
};

enum
{
  PROP_0,
  PROP_SETTINGS,
  PROP_ENGINE,
  PROP_ROOM,
  PROP_AUTOPLAY,
  PROP_PUBLISHER,
  PROP_AUTOPLAY_ENABLED,
  PROP_MAX_PLAYERS,
  PROP_PUBLISH_SOURCE,
  N_PROPS
};

enum
{
  SIGNAL_PLAYER_ADDED,
  SIGNAL_PLAYER_REMOVED,
  SIGNAL_JOIN_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TetherSession, tether_session, G_TYPE_OBJECT)

/* ---- players ----------------------------------------------------------------- */

static void
autoplay_player_added_cb (TetherSession *self,
                          TetherPlayer  *player)
{
  g_signal_emit (self, signals[SIGNAL_PLAYER_ADDED], 0, player);
}

static void
autoplay_player_removed_cb (TetherSession *self,
                            TetherPlayer  *player)
{
  g_signal_emit (self, signals[SIGNAL_PLAYER_REMOVED], 0, player);
}

static void
start_autoplay (TetherSession *self)
{
  if (self->autoplay != NULL || self->room == NULL || !self->autoplay_enabled)
    return;
  /* Streams beyond the grid wait unpulled and take a place when one frees. */
  self->autoplay = g_object_new (TETHER_TYPE_AUTOPLAY,
                                 "room", self->room,
                                 "av-retry-time", tether_engine_get_av_retry_time (self->engine),
                                 "max-players", self->max_players,
                                 NULL);
  g_object_bind_property (self->engine, "av-retry-time", self->autoplay, "av-retry-time",
                          G_BINDING_DEFAULT);
  g_object_bind_property (self, "max-players", self->autoplay, "max-players", G_BINDING_DEFAULT);
  g_signal_connect_object (self->autoplay, "player-added", G_CALLBACK (autoplay_player_added_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->autoplay, "player-removed",
                           G_CALLBACK (autoplay_player_removed_cb), self, G_CONNECT_SWAPPED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTOPLAY]);
}

static void
stop_autoplay (TetherSession *self)
{
  g_autoptr(TetherAutoplay) autoplay = g_steal_pointer (&self->autoplay);

  if (autoplay == NULL)
    return;
  /* Still connected: its players' removals reach the windows. */
  tether_autoplay_stop (autoplay);
  g_signal_handlers_disconnect_by_data (autoplay, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTOPLAY]);
}

static void
stop_manual_player (TetherSession *self,
                    const char    *stream_id)
{
  g_autoptr(TetherPlayer) player = NULL;
  g_autofree char *id = NULL;

  if (!g_hash_table_steal_extended (self->manual_players, stream_id, (gpointer *) &id,
                                    (gpointer *) &player))
    return;
  tether_player_stop (player);
  g_signal_emit (self, signals[SIGNAL_PLAYER_REMOVED], 0, player);
}

static void
stop_manual_players (TetherSession *self)
{
  g_autofree gpointer *ids = g_hash_table_get_keys_as_array (self->manual_players, NULL);
  g_auto(GStrv) copies = g_strdupv ((char **) ids);

  for (guint i = 0; copies[i] != NULL; i++)
    stop_manual_player (self, copies[i]);
}

/**
 * tether_session_toggle_player:
 * @self: a session
 * @stream: a stream of the current room
 * @error: where to say why the player did not start
 *
 * With autoplay off, plays @stream, or stops it when it plays. Does nothing while
 * autoplay is on.
 *
 * Returns: FALSE when a new player failed to start
 */
gboolean
tether_session_toggle_player (TetherSession  *self,
                              TetherStream   *stream,
                              GError        **error)
{
  const char *id;
  TetherPlayer *player;

  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);
  g_return_val_if_fail (TETHER_IS_STREAM (stream), FALSE);

  id = tether_stream_get_id (stream);
  if (self->autoplay != NULL || self->room == NULL)
    return TRUE;
  if (g_hash_table_contains (self->manual_players, id))
    {
      stop_manual_player (self, id);
      return TRUE;
    }
  player = tether_player_new (self->room, id, tether_stream_get_node (stream),
                              tether_engine_get_av_retry_time (self->engine));
  g_hash_table_insert (self->manual_players, g_strdup (id), player);
  g_signal_emit (self, signals[SIGNAL_PLAYER_ADDED], 0, player);
  return tether_player_start (player, error);
}

static void
set_autoplay_enabled (TetherSession *self,
                      gboolean       enabled)
{
  enabled = !!enabled;
  if (self->autoplay_enabled == enabled)
    return;
  self->autoplay_enabled = enabled;
  if (tether_session_is_in_room (self))
    {
      if (enabled)
        {
          stop_manual_players (self);
          start_autoplay (self);
        }
      else
        stop_autoplay (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTOPLAY_ENABLED]);
}

/* ---- publishing -------------------------------------------------------------- */

/**
 * tether_session_stop_publishing:
 * @self: a session
 *
 * Stops the publisher, if any.
 */
void
tether_session_stop_publishing (TetherSession *self)
{
  g_autoptr(TetherPublisher) publisher = NULL;

  g_return_if_fail (TETHER_IS_SESSION (self));

  if (self->publisher == NULL)
    return;
  publisher = g_steal_pointer (&self->publisher);
  tether_publisher_stop (publisher);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLISHER]);
}

/**
 * tether_session_publish:
 * @self: a session in a room
 * @source: the test picture or a camera
 * @device: (nullable): with %TETHER_PUBLISHER_SOURCE_CAMERA, the camera the preview
 *   showed; %NULL for the default one
 * @audio: whether to send sound too (the microphone, or the test tone)
 * @error: where to say why it could not start
 *
 * Goes live: publishes @source as USER-test or USER-camera. The window calls this
 * only from the preview's Go Live.
 *
 * Returns: FALSE (and no publisher) when it could not start
 */
gboolean
tether_session_publish (TetherSession          *self,
                        TetherPublisherSource   source,
                        GstDevice              *device,
                        gboolean                audio,
                        GError                **error)
{
  gboolean camera = source == TETHER_PUBLISHER_SOURCE_CAMERA;
  g_autofree char *stream_id = NULL;

  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);
  g_return_val_if_fail (device == NULL || GST_IS_DEVICE (device), FALSE);

  if (self->room == NULL || self->publisher != NULL)
    return TRUE;
  stream_id = g_strdup_printf ("%s-%s", tether_room_get_user_id (self->room),
                               camera ? "camera" : "test");
  self->publisher = tether_publisher_new (self->room, stream_id,
                                          tether_engine_get_av_retry_time (self->engine));
  tether_publisher_set_source (self->publisher, source);
  tether_publisher_set_device (self->publisher, camera ? device : NULL);
  g_object_set (self->publisher, "audio", audio && g_getenv ("TETHER_NO_AUDIO") == NULL, NULL);
  g_object_bind_property (self->engine, "av-retry-time", self->publisher, "av-retry-time",
                          G_BINDING_DEFAULT);
  /* Announced before it starts, so that a window sees its first state change. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLISHER]);
  if (!tether_publisher_start (self->publisher, error))
    {
      tether_session_stop_publishing (self);
      return FALSE;
    }
  return TRUE;
}

/**
 * tether_session_start_publishing:
 * @self: a session in a room
 * @error: where to say why it could not start
 *
 * Publishes the test picture or the default camera ("publish-source"), with sound.
 *
 * Returns: FALSE (and no publisher) when it could not start
 */
gboolean
tether_session_start_publishing (TetherSession  *self,
                                 GError        **error)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  return tether_session_publish (self, self->publish_source, NULL, TRUE, error);
}

/* ---- the room ---------------------------------------------------------------- */

/**
 * tether_session_is_in_room:
 * @self: a session
 *
 * Returns: whether the current room is logged in (reconnecting included)
 */
gboolean
tether_session_is_in_room (TetherSession *self)
{
  TetherRoomState state;

  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  if (self->room == NULL)
    return FALSE;
  state = tether_room_get_state (self->room);
  return state == TETHER_ROOM_STATE_LOGINED || state == TETHER_ROOM_STATE_RECONNECTED
         || state == TETHER_ROOM_STATE_RECONNECTING;
}

static void
end_room (TetherSession *self)
{
  g_autoptr(TetherRoom) room = NULL;

  tether_session_stop_publishing (self);
  stop_autoplay (self);
  stop_manual_players (self);
  if (self->room == NULL)
    return;

  room = g_steal_pointer (&self->room);
  g_signal_group_set_target (self->room_signals, NULL);
  switch (tether_room_get_state (room))
    {
    case TETHER_ROOM_STATE_LOGINING:
    case TETHER_ROOM_STATE_LOGINED:
    case TETHER_ROOM_STATE_RECONNECTING:
    case TETHER_ROOM_STATE_RECONNECTED:
      tether_engine_logout_room (self->engine, room);
      break;
    default:
      break;  /* already out of the room */
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM]);
}

/* The room just joined (its link, never a token) is offered again at the next launch;
 * not the demo's, which is on its own button. */
static void
remember_last_room (TetherSession *self)
{
  g_autofree char *link = self->last_was_demo ? NULL : tether_session_dup_link (self, NULL);

  if (link != NULL)
    g_settings_set_string (self->settings, "last-room", link);
}

/* Connected after the windows' handlers: they show why the room ended before the
 * session lets it go. */
static void
room_state_changed_cb (TetherSession   *self,
                       TetherRoomState  state,
                       int              error_code,
                       const char      *extended)
{
  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINED:
      start_autoplay (self);
      remember_last_room (self);
      break;
    case TETHER_ROOM_STATE_LOGIN_FAILED:
    case TETHER_ROOM_STATE_KICK_OUT:
    case TETHER_ROOM_STATE_RECONNECT_FAILED:
      end_room (self);
      break;
    default:
      break;
    }
}

/* Players started by hand stop with their stream: never pull a deleted stream. */
static void
room_stream_update_cb (TetherSession    *self,
                       TetherUpdateType  update,
                       GPtrArray        *streams,
                       const char       *reason)
{
  if (update != TETHER_UPDATE_DELETE)
    return;
  for (guint i = 0; i < streams->len; i++)
    stop_manual_player (self, tether_stream_get_id (g_ptr_array_index (streams, i)));
}

static void
cancel_guest_request (TetherSession *self)
{
  g_cancellable_cancel (self->guest_cancellable);
  g_clear_object (&self->guest_cancellable);
}

static void
join_login (TetherSession      *self,
            TetherLoginOptions *login,
            gboolean            guest)
{
  end_room (self);
  cancel_guest_request (self);
  /* A copy first: @login may be the very options being replaced. */
  login = tether_login_options_copy (login);
  tether_login_options_set_notify_users (login, TRUE);
  g_clear_object (&self->login);
  self->login = login;
  self->guest = guest;

  self->room = tether_engine_login_room (self->engine, self->login);
  g_signal_group_set_target (self->room_signals, self->room);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM]);
}

/**
 * tether_session_join:
 * @self: a session
 * @login: where to log in and as whom; the session keeps a copy, with user
 *   updates on, for tether_session_rejoin()
 *
 * Leaves the current room, if any, and logs in; the session's #TetherSession:room
 * is the new room from now on.
 */
void
tether_session_join (TetherSession      *self,
                     TetherLoginOptions *login)
{
  g_return_if_fail (TETHER_IS_SESSION (self));
  g_return_if_fail (TETHER_IS_LOGIN_OPTIONS (login));

  join_login (self, login, FALSE);
}

/* ---- guests ------------------------------------------------------------------ */

typedef struct
{
  TetherSession *self;
  GCancellable *cancellable;
  TetherRoom *room;          /* a renewal: the room whose token it renews */
  char *server_url;
  char **server_urls;        /* the room service's other nodes, or NULL */
  char *room_id;
  char *app_id;
  char *user_name;
} GuestRequest;

static void
guest_request_free (GuestRequest *r)
{
  g_object_unref (r->self);
  g_clear_object (&r->cancellable);
  g_clear_object (&r->room);
  g_free (r->server_url);
  g_strfreev (r->server_urls);
  g_free (r->room_id);
  g_free (r->app_id);
  g_free (r->user_name);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GuestRequest, guest_request_free)

static void
guest_token_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GuestRequest) r = user_data;
  TetherSession *self = r->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *user = NULL, *app = NULL, *token = NULL;
  g_autoptr(TetherLoginOptions) login = NULL;

  token = tether_guest_token_request_finish (result, &user, &app, NULL, &error);
  if (g_cancellable_is_cancelled (r->cancellable))
    return;
  g_clear_object (&self->guest_cancellable);
  if (token == NULL)
    {
      g_debug ("no guest token for room %s: %s", r->room_id, error->message);
      g_signal_emit (self, signals[SIGNAL_JOIN_FAILED], 0, error);
      return;
    }
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                        "server-url", r->server_url, "server-urls", r->server_urls,
                        "app-id", app != NULL ? app : r->app_id,
                        "room-id", r->room_id, "user-id", user,
                        "user-name", r->user_name, "token", token, NULL);
  join_login (self, login, TRUE);
}

/* The guest-token request trusts what the engine's rooms trust: its tls-ca-file, or
 * the system's trust store (NULL). */
static GTlsDatabase *
engine_tls_database (TetherSession *self)
{
  const char *ca_file = tether_engine_get_tls_ca_file (self->engine);

  return ca_file != NULL ? g_tls_file_database_new (ca_file, NULL) : NULL;
}

/* Asks the room service for a guest token of a public room, then joins with it; on
 * failure, TetherSession::join-failed says why. */
static void
join_as_guest (TetherSession      *self,
               const char         *server_url,
               const char * const *server_urls,
               const char         *room_id,
               const char    *app_id,
               const char    *user_name)
{
  GuestRequest *r = g_new0 (GuestRequest, 1);
  g_autoptr(GTlsDatabase) database = engine_tls_database (self);

  end_room (self);
  cancel_guest_request (self);
  self->guest_cancellable = g_cancellable_new ();
  r->self = g_object_ref (self);
  r->cancellable = g_object_ref (self->guest_cancellable);
  r->server_url = g_strdup (server_url);
  r->server_urls = g_strdupv ((char **) server_urls);
  r->room_id = g_strdup (room_id);
  r->app_id = g_strdup (app_id != NULL && *app_id != '\0' ? app_id : NULL);
  r->user_name = g_strdup (user_name != NULL && *user_name != '\0' ? user_name : NULL);
  tether_guest_token_request_async (server_url, room_id, NULL, database, r->cancellable,
                                    guest_token_cb, r);
}

static void
guest_renewed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GuestRequest) r = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = tether_guest_token_request_finish (result, NULL, NULL, NULL, &error);

  /* A refused renewal leaves the token to expire: the room ends in KICK_OUT (1005). */
  if (token == NULL)
    g_debug ("guest token not renewed: %s", error->message);
  else if (r->room == r->self->room)
    tether_room_renew_token (r->room, token);
}

/* The server warns that the token runs out soon: a guest's current token buys the
 * next one, for the same guest (as tether-cli --guest does). */
static void
room_token_will_expire_cb (TetherSession *self,
                           int            remaining)
{
  GuestRequest *r;
  g_autoptr(GTlsDatabase) database = NULL;

  if (!self->guest || self->room == NULL)
    return;
  database = engine_tls_database (self);
  r = g_new0 (GuestRequest, 1);
  r->self = g_object_ref (self);
  r->room = g_object_ref (self->room);
  tether_guest_token_request_async (tether_login_options_get_server_url (self->login),
                                    tether_room_get_id (self->room),
                                    tether_room_get_token (self->room), database, NULL,
                                    guest_renewed_cb, r);
}

static char *
default_user_id (void)
{
  g_autofree char *name = g_ascii_strdown (g_get_user_name (), -1);

  return g_strdup_printf ("%s-%04x", name, g_random_int_range (0, 0xffff));
}

/* The settings' server as room-service URLs: what a person typed (a link, a host,
 * host:port, or several of them with commas) read by
 * tether_link_server_urls_from_text(); a link also names the room and maybe the app
 * id. No server: one empty URL. */
static char **
settings_server_urls (TetherSession  *self,
                      char          **room,
                      char          **app_id,
                      GError        **error)
{
  g_autofree char *text = g_settings_get_string (self->settings, "server-url");
  g_autofree char *link_room = NULL, *link_app = NULL;
  g_autoptr(GError) local_error = NULL;
  char **url;

  if (*g_strstrip (text) == '\0')
    return g_strsplit ("", ",", -1);
  url = tether_link_server_urls_from_text (text, &link_room, &link_app, &local_error);
  if (url == NULL)
    {
      /* Translators: %s says what is wrong with the server, in English */
      g_set_error (error, TETHER_ERROR, local_error->code,
                   _("The server is not valid. Enter a host name, host:port, a wss:// URL or a tether:// link (%s)."),
                   local_error->message);
      return NULL;
    }
  if (link_room != NULL)
    {
      g_free (*room);
      *room = g_steal_pointer (&link_room);
    }
  if (link_app != NULL)
    {
      g_free (*app_id);
      *app_id = g_steal_pointer (&link_app);
    }
  return url;
}

/**
 * tether_session_join_from_settings:
 * @self: a session
 * @error: where to say what is missing
 *
 * Joins the room the settings name, with their token or, for a development server, a
 * token minted with their app secret; with neither, as a guest of a public room (a
 * guest token from the server, renewed before it expires; a refusal comes as
 * #TetherSession::join-failed). The server may be written as a link, a host or
 * host:port. Generates and remembers a user id when none is set.
 *
 * Returns: FALSE when the settings do not say enough to join
 */
gboolean
tether_session_join_from_settings (TetherSession  *self,
                                   GError        **error)
{
  g_autofree char *app_id = NULL, *room = NULL, *user = NULL;
  g_auto(GStrv) urls = NULL;
  const char *url;
  g_autoptr(TetherLoginOptions) login = NULL;
  g_autofree char *name = NULL, *token = NULL, *secret = NULL;

  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  app_id = g_strstrip (g_settings_get_string (self->settings, "app-id"));
  room = g_strstrip (g_settings_get_string (self->settings, "room-id"));
  urls = settings_server_urls (self, &room, &app_id, error);
  if (urls == NULL)
    return FALSE;
  url = urls[0] != NULL ? urls[0] : "";
  user = g_strstrip (g_settings_get_string (self->settings, "user-id"));
  name = g_strstrip (g_settings_get_string (self->settings, "user-name"));
  token = g_strstrip (g_strdup (tether_secrets_get_token (self->secrets)));
  secret = g_strstrip (g_strdup (tether_secrets_get_app_secret (self->secrets)));

  if (*url == '\0' || *room == '\0')
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           _("Enter a server URL and a room ID."));
      return FALSE;
    }
  if (*user == '\0')
    {
      g_free (user);
      user = default_user_id ();
      g_settings_set_string (self->settings, "user-id", user);
    }
  if (*token == '\0' && *secret != '\0')
    {
      g_free (token);
      token = tether_token_mint (secret, app_id, user, room,
                                 TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                                 g_get_real_time () / G_USEC_PER_SEC, 24 * 3600);
    }
  if (*token == '\0')
    {
      /* No credential at all: a public room lets anyone in as a guest. */
      self->last_was_demo = FALSE;
      join_as_guest (self, url, (const char * const *) urls, room, app_id, name);
      return TRUE;
    }

  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                        "server-url", url, "server-urls", urls,
                        "app-id", app_id, "room-id", room, "user-id", user, "user-name", *name ? name : NULL, "token", token,
                        NULL);
  self->last_was_demo = FALSE;
  tether_secrets_remember (self->secrets);
  tether_session_join (self, login);
  return TRUE;
}

/**
 * tether_session_open_link:
 * @self: a session
 * @text: a room link (`tether://HOST[:PORT]/ROOM`, see tether_link_parse())
 * @error: where to say what is wrong with the link, or what is missing
 *
 * Puts the link's server, room and app id (when it names one) into the settings, so
 * the start page shows them and "Try again" repeats them, and joins as
 * tether_session_join_from_settings() does: a guest of a public room unless there is a
 * token or an app secret.
 *
 * Returns: FALSE when the link is not valid or the room cannot be joined
 */
gboolean
tether_session_open_link (TetherSession  *self,
                          const char     *text,
                          GError        **error)
{
  g_autoptr(TetherLink) link = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *servers = NULL;

  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  link = tether_link_parse (text, &local_error);
  if (link == NULL)
    {
      /* Translators: %s says what is wrong with the link, in English */
      g_set_error (error, TETHER_ERROR, local_error->code,
                   _("This is not a room link (%s)."), local_error->message);
      return FALSE;
    }
  /* Several hosts: their URLs, which the server field reads back as a list. */
  servers = g_strjoinv (", ", (char **) tether_link_get_server_urls (link));
  g_settings_set_string (self->settings, "server-url", servers);
  g_settings_set_string (self->settings, "room-id", tether_link_get_room_id (link));
  if (tether_link_get_app_id (link) != NULL)
    g_settings_set_string (self->settings, "app-id", tether_link_get_app_id (link));
  return tether_session_join_from_settings (self, error);
}

/**
 * tether_session_dup_link:
 * @self: a session
 * @error: why the current room has no link
 *
 * The link of the current room, to share it: its server, room and app id, never a
 * token.
 *
 * Returns: (transfer full) (nullable): the link, or NULL out of any room or when a
 *   link cannot name the room's server (a service under another path than /ws)
 */
char *
tether_session_dup_link (TetherSession  *self,
                         GError        **error)
{
  g_autoptr(TetherLink) link = NULL;
  g_auto(GStrv) servers = NULL;
  const char *app_id;

  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  if (self->room == NULL || self->login == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                           _("Not in a room."));
      return NULL;
    }
  app_id = tether_login_options_get_app_id (self->login);
  app_id = app_id != NULL && *app_id != '\0' ? app_id : NULL;
  /* Every node the room knows of, when a link can name them all. */
  servers = tether_room_dup_server_urls (self->room);
  link = tether_link_new_for_servers ((const char * const *) servers,
                                      tether_login_options_get_room_id (self->login), app_id,
                                      NULL);
  if (link == NULL)
    link = tether_link_new (tether_room_get_server_url (self->room),
                            tether_login_options_get_room_id (self->login), app_id, error);
  return link != NULL ? tether_link_to_string (link) : NULL;
}

/**
 * tether_session_rejoin:
 * @self: a session
 * @error: where to say what is missing
 *
 * Joins the last room joined (not the demo's) again, or the settings' when there was
 * none.
 *
 * Returns: FALSE when there is nothing to join
 */
gboolean
tether_session_rejoin (TetherSession  *self,
                       GError        **error)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  if (self->last_was_demo || self->login == NULL)
    return tether_session_join_from_settings (self, error);
  /* A guest's token may have expired since: a new guest token. */
  if (self->guest)
    join_as_guest (self, tether_login_options_get_server_url (self->login),
                   tether_login_options_get_server_urls (self->login),
                   tether_login_options_get_room_id (self->login),
                   tether_login_options_get_app_id (self->login),
                   tether_login_options_get_user_name (self->login));
  else
    tether_session_join (self, self->login);
  return TRUE;
}

/**
 * tether_session_is_guest:
 * @self: a session
 *
 * Returns: whether the current room was joined as a guest (a guest token of a public
 *   room: it plays, it never publishes)
 */
gboolean
tether_session_is_guest (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  return self->room != NULL && self->guest;
}

/**
 * tether_session_get_last_was_demo:
 * @self: a session
 *
 * Returns: whether the last room joined was the demo room
 */
gboolean
tether_session_get_last_was_demo (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), FALSE);

  return self->last_was_demo;
}

/* No name chosen: the account's, as GNOME apps do; not a role word such as "Viewer",
 * which would still say so while the user is live. */
static const char *
default_user_name (void)
{
  const char *real = g_get_real_name ();

  return real != NULL && *real != '\0' && g_strcmp0 (real, "Unknown") != 0 ? real
                                                                          : g_get_user_name ();
}

static void
join_demo (TetherSession *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "user-name");
  g_autofree char *user = g_strdup_printf ("viewer-%04x", g_random_int_range (0, 0xffff));
  g_autofree char *token = tether_demo_mint_token (self->demo, user);

  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url",
                                                      tether_demo_get_server_url (self->demo),
                                                      "app-id", TETHER_DEMO_APP_ID,
                                                      "room-id", TETHER_DEMO_ROOM_ID,
                                                      "user-id", user,
                                                      "user-name", *name ? name : default_user_name (),
                                                      "token", token,
                                                      NULL);

  self->last_was_demo = TRUE;
  tether_session_join (self, login);
}

static void
demo_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TetherSession *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tether_demo_start_finish (TETHER_DEMO (source), result, &error))
    {
      /* The next try starts afresh. */
      if (self->demo == TETHER_DEMO (source))
        g_clear_object (&self->demo);
      g_task_return_error (task, error);
      return;
    }
  join_demo (self);
  g_task_return_boolean (task, TRUE);
}

/**
 * tether_session_join_demo_async:
 * @self: a session
 * @cancellable: (nullable): to give up starting the demo room
 * @callback: called when the demo room runs and the session is joining it
 * @user_data: for @callback
 *
 * Starts the demo room (once for the life of the session: a room service and media
 * node, and hosts that come and go) and joins it as a new viewer.
 */
void
tether_session_join_demo_async (TetherSession       *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TETHER_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_session_join_demo_async);
  if (self->demo != NULL && tether_demo_get_server_url (self->demo) != NULL)
    {
      join_demo (self);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->demo == NULL)
    self->demo = tether_demo_new ();
  tether_demo_start_async (self->demo, cancellable, demo_started_cb, g_steal_pointer (&task));
}

/**
 * tether_session_join_demo_finish:
 * @self: a session
 * @result: the result given to the callback
 * @error: why the demo room could not start
 *
 * Returns: whether the demo room runs and the session joins it
 */
gboolean
tether_session_join_demo_finish (TetherSession  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tether_session_leave:
 * @self: a session
 *
 * Stops playing and publishing and leaves the current room.
 */
void
tether_session_leave (TetherSession *self)
{
  g_return_if_fail (TETHER_IS_SESSION (self));

  end_room (self);
}

/**
 * tether_session_shutdown:
 * @self: a session
 *
 * Leaves the room and stops the demo room: the app is quitting.
 */
void
tether_session_shutdown (TetherSession *self)
{
  g_return_if_fail (TETHER_IS_SESSION (self));

  cancel_guest_request (self);
  end_room (self);
  if (self->demo != NULL)
    tether_demo_stop (self->demo);
  g_clear_object (&self->demo);
  if (self->secrets != NULL)
    tether_secrets_flush (self->secrets);
}

/* ---- accessors ----------------------------------------------------------------- */

/**
 * tether_session_get_settings:
 * @self: a session
 *
 * Returns: (transfer none): the app's settings
 */
GSettings *
tether_session_get_settings (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->settings;
}

/**
 * tether_session_get_secrets:
 * @self: a session
 *
 * Returns: (transfer none): the token and app secret the start page edits and
 *   tether_session_join_from_settings() uses
 */
TetherSecrets *
tether_session_get_secrets (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->secrets;
}

/**
 * tether_session_get_engine:
 * @self: a session
 *
 * Returns: (transfer none): the engine, one for the life of the session
 */
TetherEngine *
tether_session_get_engine (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->engine;
}

/**
 * tether_session_get_room:
 * @self: a session
 *
 * Returns: (transfer none) (nullable): the current room; NULL once it ended
 */
TetherRoom *
tether_session_get_room (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->room;
}

/**
 * tether_session_get_autoplay:
 * @self: a session
 *
 * Returns: (transfer none) (nullable): the autoplay of the current room, NULL when
 *   autoplay is off or the room is not logged in yet
 */
TetherAutoplay *
tether_session_get_autoplay (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->autoplay;
}

/**
 * tether_session_get_publisher:
 * @self: a session
 *
 * Returns: (transfer none) (nullable): the publisher, while publishing
 */
TetherPublisher *
tether_session_get_publisher (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  return self->publisher;
}

/**
 * tether_session_get_display_name:
 * @self: a session
 *
 * Returns: (nullable): the name the user joined as: their display name, else their
 *   user id; NULL before the first join
 */
const char *
tether_session_get_display_name (TetherSession *self)
{
  g_return_val_if_fail (TETHER_IS_SESSION (self), NULL);

  const char *name;

  if (self->login == NULL)
    return NULL;
  name = tether_login_options_get_user_name (self->login);
  return name != NULL && *name != '\0' ? name : tether_login_options_get_user_id (self->login);
}

/* ---- GObject ------------------------------------------------------------------- */

/**
 * tether_session_new:
 *
 * Returns: (transfer full): a session with its own engine, out of any room
 */
TetherSession *
tether_session_new (void)
{
  return g_object_new (TETHER_TYPE_SESSION, NULL);
}

static void
tether_session_constructed (GObject *object)
{
  TetherSession *self = TETHER_SESSION (object);

  G_OBJECT_CLASS (tether_session_parent_class)->constructed (object);

  if (self->settings == NULL)
    self->settings = g_settings_new (SCHEMA_ID);
  self->secrets = tether_secrets_new (self->settings);
  /* The retry windows apply to rooms and players started from now on. */
  g_settings_bind (self->settings, "room-retry-time", self->engine, "room-retry-time",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "av-retry-time", self->engine, "av-retry-time",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "autoplay", self, "autoplay-enabled", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "max-tiles", self, "max-players", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "publish-source", self, "publish-source", G_SETTINGS_BIND_GET);
}

static void
tether_session_dispose (GObject *object)
{
  TetherSession *self = TETHER_SESSION (object);

  if (self->engine != NULL)
    tether_session_shutdown (self);
  g_clear_object (&self->room_signals);
  g_clear_object (&self->engine);
  g_clear_object (&self->secrets);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tether_session_parent_class)->dispose (object);
}

static void
tether_session_finalize (GObject *object)
{
  TetherSession *self = TETHER_SESSION (object);

  g_hash_table_unref (self->manual_players);
  g_clear_object (&self->login);

  G_OBJECT_CLASS (tether_session_parent_class)->finalize (object);
}

static void
tether_session_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TetherSession *self = TETHER_SESSION (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->settings); break;
    case PROP_ENGINE: g_value_set_object (value, self->engine); break;
    case PROP_ROOM: g_value_set_object (value, self->room); break;
    case PROP_AUTOPLAY: g_value_set_object (value, self->autoplay); break;
    case PROP_PUBLISHER: g_value_set_object (value, self->publisher); break;
    case PROP_AUTOPLAY_ENABLED: g_value_set_boolean (value, self->autoplay_enabled); break;
    case PROP_MAX_PLAYERS: g_value_set_uint (value, self->max_players); break;
    case PROP_PUBLISH_SOURCE: g_value_set_enum (value, self->publish_source); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_session_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TetherSession *self = TETHER_SESSION (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_AUTOPLAY_ENABLED:
      set_autoplay_enabled (self, g_value_get_boolean (value));
      break;
    case PROP_MAX_PLAYERS:
      if (self->max_players != g_value_get_uint (value))
        {
          self->max_players = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_PUBLISH_SOURCE:
      if (self->publish_source != (TetherPublisherSource) g_value_get_enum (value))
        {
          self->publish_source = g_value_get_enum (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_session_class_init (TetherSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_session_constructed;
  object_class->dispose = tether_session_dispose;
  object_class->finalize = tether_session_finalize;
  object_class->get_property = tether_session_get_property;
  object_class->set_property = tether_session_set_property;

  /**
   * TetherSession:settings:
   *
   * The app's settings (io.github.tetherlive.Tether); by default its own.
   */
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherSession:engine:
   *
   * The engine, one for the life of the session; its retry windows follow the
   * settings "room-retry-time" and "av-retry-time".
   */
  properties[PROP_ENGINE] = g_param_spec_object ("engine", NULL, NULL, TETHER_TYPE_ENGINE, ro);
  /**
   * TetherSession:room:
   *
   * The current room, from a join until it ends (leave, login failure, kick-out or a
   * reconnection given up); NULL out of any room.
   */
  properties[PROP_ROOM] = g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM, ro);
  /**
   * TetherSession:autoplay:
   *
   * The current room's autoplay, while autoplay is on and the room is logged in.
   */
  properties[PROP_AUTOPLAY] = g_param_spec_object ("autoplay", NULL, NULL, TETHER_TYPE_AUTOPLAY, ro);
  /**
   * TetherSession:publisher:
   *
   * The publisher, from tether_session_start_publishing() until it is stopped or the
   * room ends.
   */
  properties[PROP_PUBLISHER] =
    g_param_spec_object ("publisher", NULL, NULL, TETHER_TYPE_PUBLISHER, ro);
  /**
   * TetherSession:autoplay-enabled:
   *
   * Whether every stream plays by itself (the "autoplay" setting); when off, streams
   * play with tether_session_toggle_player().
   */
  properties[PROP_AUTOPLAY_ENABLED] =
    g_param_spec_boolean ("autoplay-enabled", NULL, NULL, TRUE, rw);
  /**
   * TetherSession:max-players:
   *
   * How many streams autoplay plays at once (the "max-tiles" setting).
   */
  properties[PROP_MAX_PLAYERS] = g_param_spec_uint ("max-players", NULL, NULL, 1, 16, 9, rw);
  /**
   * TetherSession:publish-source:
   *
   * What tether_session_start_publishing() sends (the "publish-source" setting).
   */
  properties[PROP_PUBLISH_SOURCE] =
    g_param_spec_enum ("publish-source", NULL, NULL, TETHER_TYPE_PUBLISHER_SOURCE,
                       TETHER_PUBLISHER_SOURCE_TEST, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherSession::player-added:
   * @self: the session
   * @player: a player of the current room, not started yet: give it a video sink here
   *
   * Autoplay, or the user, started playing a stream.
   */
  signals[SIGNAL_PLAYER_ADDED] =
    g_signal_new ("player-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_PLAYER);
  /**
   * TetherSession::player-removed:
   * @self: the session
   * @player: the stopped player
   *
   * A player stopped: its stream went, the user stopped it, or the room ended.
   */
  signals[SIGNAL_PLAYER_REMOVED] =
    g_signal_new ("player-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_PLAYER);
  /**
   * TetherSession::join-failed:
   * @self: the session
   * @error: why: a %TETHER_ERROR such as %TETHER_ERROR_ROOM_NOT_PUBLIC
   *
   * A join that did not reach the room service's login: no guest token (the room is
   * not public, the server could not be reached, its certificate is not trusted, ...).
   * A login that fails later shows in the room's state instead.
   */
  signals[SIGNAL_JOIN_FAILED] =
    g_signal_new ("join-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
tether_session_init (TetherSession *self)
{
  self->engine = tether_engine_new ();
  self->manual_players = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->autoplay_enabled = TRUE;
  self->max_players = 9;

  self->room_signals = g_signal_group_new (TETHER_TYPE_ROOM);
  g_signal_group_connect_data (self->room_signals, "state-changed",
                               G_CALLBACK (room_state_changed_cb), self, NULL,
                               G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_group_connect_data (self->room_signals, "token-will-expire",
                               G_CALLBACK (room_token_will_expire_cb), self, NULL,
                               G_CONNECT_SWAPPED);
  g_signal_group_connect_data (self->room_signals, "stream-update",
                               G_CALLBACK (room_stream_update_cb), self, NULL, G_CONNECT_SWAPPED);
}
