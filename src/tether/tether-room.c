/* tether-room.c: one room session — the object, its state, properties, signals and
 * getters; the connection is in tether-room-link.c, what the server sends in
 * tether-room-messages.c, what the application asks in tether-room-requests.c and
 * the lists in tether-room-store.c (see docs/design.md, 'The room state machine')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-enum-types.h"
#include "tether-login-options-private.h"
#include "tether-protocol.h"
#include "tether-room-private.h"
#include "tether-srt-url-private.h"
#include "tether-stream.h"
#include "tether-user.h"

/**
 * TetherRoom:
 *
 * One user's session in one room of a room service: login, presence, heartbeats,
 * resume after a break, and the lists of the other users and their streams.
 *
 * Rooms come from [method@Tether.Engine.login_room]. The state moves through
 * [enum@Tether.RoomState] and is reported by [signal@Tether.Room::state-changed];
 * the lists are [iface@Gio.ListModel]s (see [method@Tether.Room.get_users]) and
 * every change to them is also reported by [signal@Tether.Room::user-update] and
 * [signal@Tether.Room::stream-update]. Timers and signals run on the thread-default
 * main context of the thread that created the room.
 *
 * The room's WebSocket, its heartbeats, their round-trip time and the dead-link
 * timer run on a thread libtether keeps for its network: a main loop that is busy
 * for a while delays what the room reports, but is not taken for a dead link.
 */

G_DEFINE_FINAL_TYPE (TetherRoom, tether_room, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_USER_ID,
  PROP_STATE,
  PROP_ERROR_CODE,
  PROP_ROOM_SESSION_ID,
  PROP_SERVER_URL,
  PROP_USERS,
  PROP_STREAMS,
  PROP_ATTEMPT,
  PROP_RTT,
  PROP_LAST_REPORT,
  N_PROPS
};

enum
{
  STATE_CHANGED,
  USER_UPDATE,
  STREAM_UPDATE,
  TOKEN_WILL_EXPIRE,
  RECONNECT_REPORT,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---- the state -------------------------------------------------------------------- */

/* The JSON state-changed carries: part of the API (see the TetherRoom::state-changed
 * docs), not of the wire format. */
static char *
build_extended_data (TetherRoom *self,
                     const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_ROOM_SESSION_ID);
  json_builder_add_string_value (b, self->room_session_id ? self->room_session_id : "");
  if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    {
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_CAUSE);
      json_builder_add_string_value (b, self->cause);
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_RETRY_TIME);
      json_builder_add_double_value (b, self->timing.retry_time);
    }
  if (self->state == TETHER_ROOM_STATE_RECONNECTED && self->last_report != NULL)
    {
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_RESUMED);
      json_builder_add_boolean_value (b, tether_reconnect_report_get_resumed (self->last_report));
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_DOWNTIME);
      json_builder_add_double_value (b, tether_reconnect_report_get_downtime (self->last_report));
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_ATTEMPTS);
      json_builder_add_int_value (b, tether_reconnect_report_get_attempts (self->last_report));
    }
  if (message != NULL)
    {
      json_builder_set_member_name (b, TETHER_ROOM_EXTENDED_MESSAGE);
      json_builder_add_string_value (b, message);
    }
  json_builder_end_object (b);

  return tether_protocol_serialize (b);
}

static gboolean
unref_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
keep_until_idle (TetherRoom *self)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, unref_cb, g_object_ref (self), NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* The one place the state changes: it clears the timers that belong to the old state,
 * logs the transition and emits the signal. */
void
_tether_room_set_state (TetherRoom      *self,
                        TetherRoomState  state,
                        int              error_code,
                        const char      *message)
{
  g_autofree char *extended = NULL;

  if (self->state == state && self->error_code == error_code)
    return;

  if (tether_room_state_is_final (state))
    {
      /* Ending the pending requests below drops their tasks, which hold the room: the
       * last reference may go with them. Keep the room until this call stack (and
       * whichever timer or callback it started from) has unwound. */
      keep_until_idle (self);
      _tether_room_drop_connection (self);
      _tether_room_clear_source (self, &self->retry_id);
      _tether_room_clear_source (self, &self->window_id);
      _tether_room_clear_source (self, &self->logout_id);
      g_hash_table_remove_all (self->local_streams);
      _tether_room_store_clear (self->users);
      _tether_room_store_clear (self->streams);
      g_clear_pointer (&self->session_id, g_free);
      g_clear_pointer (&self->resume_key, g_free);
    }
  if (_tether_room_state_is_connected (state))
    {
      _tether_room_clear_source (self, &self->retry_id);
      _tether_room_clear_source (self, &self->window_id);
    }

  g_info ("room %s: %s → %s (error %d%s%s)", self->login->room_id,
          tether_room_state_to_string (self->state), tether_room_state_to_string (state),
          error_code, message ? ": " : "", message ? message : "");

  self->state = state;
  self->error_code = error_code;
  extended = build_extended_data (self, message);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_CODE]);
  g_signal_emit (self, signals[STATE_CHANGED], 0, state, error_code, extended);
}

/* Enters a final state from a working or retrying room; a reconnect episode in
 * progress ends with it, failed. */
void
_tether_room_give_up (TetherRoom      *self,
                      TetherRoomState  state,
                      int              error_code,
                      const char      *message)
{
  g_assert (tether_room_state_is_final (state));

  if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    _tether_room_finish_episode (self, FALSE, FALSE);
  _tether_room_set_state (self, state, error_code, message);
}

void
_tether_room_set_attempt (TetherRoom *self,
                          guint       attempt)
{
  if (self->attempt == attempt)
    return;
  self->attempt = attempt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT]);
}

/* Takes @urls (NULL: keeps the list) and makes its @index the URL in use. */
void
_tether_room_set_urls (TetherRoom *self,
                       GPtrArray  *urls,
                       guint       index)
{
  g_autofree char *old = g_strdup (tether_room_get_server_url (self));

  if (urls != NULL)
    {
      g_ptr_array_unref (self->urls);
      self->urls = urls;
    }
  g_assert (index < self->urls->len);
  self->url_index = index;
  if (g_strcmp0 (old, tether_room_get_server_url (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_URL]);
}

void
_tether_room_set_rtt (TetherRoom *self,
                      double      rtt)
{
  self->rtt = rtt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RTT]);
}

void
_tether_room_set_room_session_id (TetherRoom *self,
                                  const char *room_session_id)
{
  if (g_strcmp0 (self->room_session_id, room_session_id) == 0)
    return;
  g_free (self->room_session_id);
  self->room_session_id = g_strdup (room_session_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM_SESSION_ID]);
}

/* Ends the reconnect episode started by the last break, with its report. */
void
_tether_room_finish_episode (TetherRoom *self,
                             gboolean    resumed,
                             gboolean    succeeded)
{
  double downtime = (g_get_monotonic_time () - self->broken_at) / (double) G_USEC_PER_SEC;

  g_clear_object (&self->last_report);
  self->last_report = _tether_reconnect_report_new (self->cause, self->attempt, resumed,
                                                    succeeded, downtime);
  g_info ("room %s: reconnect episode: cause %s, %u attempts, %s, %.3f s", self->login->room_id,
          self->cause, self->attempt, succeeded ? (resumed ? "resumed" : "rejoined") : "failed",
          downtime);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_REPORT]);
  g_signal_emit (self, signals[RECONNECT_REPORT], 0, self->last_report);
}

void
_tether_room_emit_users (TetherRoom       *self,
                         TetherUpdateType  update,
                         GPtrArray        *users)
{
  if (users->len > 0)
    g_signal_emit (self, signals[USER_UPDATE], 0, update, users);
}

void
_tether_room_emit_streams (TetherRoom       *self,
                           TetherUpdateType  update,
                           GPtrArray        *streams,
                           const char       *reason)
{
  if (streams->len > 0)
    g_signal_emit (self, signals[STREAM_UPDATE], 0, update, streams, reason);
}

void
_tether_room_emit_token_will_expire (TetherRoom *self,
                                     int         remaining)
{
  g_signal_emit (self, signals[TOKEN_WILL_EXPIRE], 0, remaining);
}

/* ---- getters ---------------------------------------------------------------------- */

/**
 * tether_room_get_id: (get-property id)
 * @self: a room
 *
 * Gets the room's id.
 *
 * Returns: the room's id
 */
const char *
tether_room_get_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->login->room_id;
}

/**
 * tether_room_get_user_id: (get-property user-id)
 * @self: a room
 *
 * Gets the id of the user who logged in.
 *
 * Returns: the id of the user who logged in
 */
const char *
tether_room_get_user_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->login->user_id;
}

/**
 * tether_room_get_state: (get-property state)
 * @self: a room
 *
 * Gets the state the room is in.
 *
 * Returns: the state the room is in
 */
TetherRoomState
tether_room_get_state (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), TETHER_ROOM_STATE_LOGOUT);
  return self->state;
}

/**
 * tether_room_get_error_code: (get-property error-code)
 * @self: a room
 *
 * Gets the error code that came with the current state.
 *
 * Returns: the [error@Tether.Error] code that came with the current state, 0 when none
 */
int
tether_room_get_error_code (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->error_code;
}

/**
 * tether_room_get_room_session_id: (get-property room-session-id)
 * @self: a room
 *
 * Gets the server's id of the room's current session.
 *
 * Returns: (nullable): the server's id of this room's current session: it changes
 *   when the room was emptied and opened again, %NULL before the first login
 */
const char *
tether_room_get_room_session_id (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->room_session_id;
}

/**
 * tether_room_get_server_url: (get-property server-url)
 * @self: a room
 *
 * Gets the URL of the room service node the room is connected to, or is trying.
 * With several URLs (see [property@Tether.LoginOptions:server-urls]) it changes as
 * the room walks them; watch `notify::server-url`.
 *
 * Returns: (nullable): the room service's URL in use
 */
const char *
tether_room_get_server_url (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  if (self->urls == NULL || self->url_index >= self->urls->len)
    return NULL;
  return g_ptr_array_index (self->urls, self->url_index);
}

/**
 * tether_room_dup_server_urls:
 * @self: a room
 *
 * Gets every room service URL the room knows, in the order it tries them after a
 * failed attempt: the list the last `login_ok` handed out (`room_services`),
 * then the URLs it was given that the list lacks.
 *
 * Returns: (transfer full) (array zero-terminated=1): the room service's URLs
 */
char **
tether_room_dup_server_urls (TetherRoom *self)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  for (guint i = 0; i < self->urls->len; i++)
    g_strv_builder_add (b, g_ptr_array_index (self->urls, i));
  return g_strv_builder_end (b);
}

/**
 * tether_room_get_users: (get-property users)
 * @self: a room
 *
 * The others in the room, in the order they arrived. Only filled when the room was
 * joined with [property@Tether.LoginOptions:notify-users].
 *
 * Returns: (transfer none): a [iface@Gio.ListModel] of [class@Tether.User]
 */
GListModel *
tether_room_get_users (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return _tether_room_store_get_model (self->users);
}

/**
 * tether_room_get_streams: (get-property streams)
 * @self: a room
 *
 * The others' streams, in the order they were announced.
 *
 * Returns: (transfer none): a [iface@Gio.ListModel] of [class@Tether.Stream]
 */
GListModel *
tether_room_get_streams (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return _tether_room_store_get_model (self->streams);
}

/**
 * tether_room_get_attempt: (get-property attempt)
 * @self: a room
 *
 * Gets the number of the connection attempt in progress or last made.
 *
 * Returns: the number of the connection attempt in progress or last made
 */
guint
tether_room_get_attempt (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->attempt;
}

/**
 * tether_room_get_retry_remaining:
 * @self: a room
 *
 * Gets the time left before a reconnecting room gives up.
 *
 * Returns: seconds left in the retry window while RECONNECTING, else 0
 */
double
tether_room_get_retry_remaining (TetherRoom *self)
{
  double elapsed;

  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);

  if (self->state != TETHER_ROOM_STATE_RECONNECTING)
    return 0;
  elapsed = (g_get_monotonic_time () - self->broken_at) / (double) G_USEC_PER_SEC;
  return MAX (0, self->timing.retry_time - elapsed);
}

/**
 * tether_room_get_rtt: (get-property rtt)
 * @self: a room
 *
 * Gets the last heartbeat round-trip time.
 *
 * Returns: the last heartbeat round-trip time in milliseconds
 */
double
tether_room_get_rtt (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->rtt;
}

/**
 * tether_room_get_token_expires_at:
 * @self: a room
 *
 * Gets when the session's token expires.
 *
 * Returns: when the session's token expires, in Unix seconds as the server said at
 *   login or at the last renewal; 0 when not known
 */
gint64
tether_room_get_token_expires_at (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), 0);
  return self->token_expires_at;
}

/**
 * tether_room_get_media_token:
 * @self: a room
 *
 * Gets the token for media nodes: the one the room logged in with, or that of the
 * last renewal the server confirmed. It differs from [method@Tether.Room.get_token]
 * only while a renewal waits for its answer, so that it always matches
 * [method@Tether.Room.get_srt_passphrase].
 *
 * Returns: (nullable): the token to put in SRT stream ids; %NULL before the first
 *   login
 */
const char *
tether_room_get_media_token (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->media_token;
}

/**
 * tether_room_get_srt_passphrase:
 * @self: a room
 *
 * Gets the SRT passphrase the room service gave for the media token
 * ([method@Tether.Room.get_media_token]): publishers and players of this room
 * encrypt their SRT connections with it, and an external tool needs it too
 * (tether_srt_url_new_full()). It is a secret, like the token.
 *
 * Returns: (nullable): the passphrase, or %NULL when the room's media nodes do not
 *   encrypt (`--srt-encryption=off`) or before the first login
 */
const char *
tether_room_get_srt_passphrase (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->srt_passphrase;
}

/* The media credentials from one answer of the server: @token and its passphrase. */
void
_tether_room_set_media_credentials (TetherRoom *self,
                                    const char *token,
                                    const char *srt_passphrase)
{
  g_free (self->media_token);
  self->media_token = g_strdup (token);
  tether_srt_passphrase_free (self->srt_passphrase);
  self->srt_passphrase = g_strdup (srt_passphrase);
}

/**
 * tether_room_get_last_report: (get-property last-report)
 * @self: a room
 *
 * Gets the report of the last reconnect episode.
 *
 * Returns: (transfer none) (nullable): the report of the last reconnect episode
 */
TetherReconnectReport *
tether_room_get_last_report (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->last_report;
}

/**
 * tether_room_get_media_node_url:
 * @self: a room
 * @node_id: a media node id, as in [method@Tether.Room.dup_media_node_ids]
 *
 * Looks up a media node the server named in its login reply.
 *
 * Returns: (nullable): the SRT URL of a media node from the login reply
 */
const char *
tether_room_get_media_node_url (TetherRoom *self,
                                const char *node_id)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  g_return_val_if_fail (node_id != NULL, NULL);
  return g_hash_table_lookup (self->media_nodes, node_id);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * tether_room_dup_media_node_ids:
 * @self: a room
 *
 * Lists the media nodes the server named in its login reply.
 *
 * Returns: (transfer full) (array zero-terminated=1): the media node ids from the
 *   login reply, sorted
 */
char **
tether_room_dup_media_node_ids (TetherRoom *self)
{
  g_autofree const char **keys = NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);

  keys = (const char **) g_hash_table_get_keys_as_array (self->media_nodes, &n);
  g_qsort_with_data (keys, n, sizeof (char *), compare_strings, NULL);
  for (guint i = 0; i < n; i++)
    g_strv_builder_add (b, keys[i]);
  return g_strv_builder_end (b);
}

/**
 * tether_room_dup_login_options:
 * @self: a room
 *
 * What this room logged in with, and the token it holds now (the last one given to
 * [method@Tether.Room.renew_token]); its server URL is the one in use, and the
 * server URLs hold the others the room knows: change the room id and log in again to switch
 * rooms, as [method@Tether.Engine.switch_room] does.
 *
 * Returns: (transfer full): new login options
 */
TetherLoginOptions *
tether_room_dup_login_options (TetherRoom *self)
{
  TetherLoginOptions *login;
  g_autoptr(GStrvBuilder) others = g_strv_builder_new ();
  g_auto(GStrv) urls = NULL;

  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);

  /* The URL in use first, then the others it knows by now. */
  login = tether_login_options_copy (self->login);
  tether_login_options_set_server_url (login, tether_room_get_server_url (self));
  for (guint i = 0; i < self->urls->len; i++)
    if (i != self->url_index)
      g_strv_builder_add (others, g_ptr_array_index (self->urls, i));
  urls = g_strv_builder_end (others);
  tether_login_options_set_server_urls (login, (const char * const *) urls);
  return login;
}

/**
 * tether_room_state_is_final:
 * @state: a room state
 *
 * Whether @state ends the room: LOGIN_FAILED, RECONNECT_FAILED, KICK_OUT, LOGOUT
 * or LOGOUT_FAILED. A room in a final state never changes state again; its
 * publishers, players and autoplay stop.
 *
 * Returns: %TRUE for a final state
 */
gboolean
tether_room_state_is_final (TetherRoomState state)
{
  return state == TETHER_ROOM_STATE_LOGIN_FAILED || state == TETHER_ROOM_STATE_RECONNECT_FAILED
         || state == TETHER_ROOM_STATE_KICK_OUT || state == TETHER_ROOM_STATE_LOGOUT
         || state == TETHER_ROOM_STATE_LOGOUT_FAILED;
}

/**
 * tether_room_state_to_string:
 * @state: a room state
 *
 * Gets a state's name, for logs.
 *
 * Returns: the state's name as in docs/design.md, e.g. "LOGINED"
 */
const char *
tether_room_state_to_string (TetherRoomState state)
{
  static const char * const names[] = {
    "LOGINING", "LOGINED", "LOGIN_FAILED", "RECONNECTING", "RECONNECTED",
    "RECONNECT_FAILED", "KICK_OUT", "LOGOUT", "LOGOUT_FAILED",
  };

  if ((guint) state < G_N_ELEMENTS (names))
    return names[state];
  return "UNKNOWN";
}

/**
 * tether_update_type_to_string:
 * @update: an update type
 *
 * Gets an update type's name, for logs.
 *
 * Returns: "ADD" or "DELETE"
 */
const char *
tether_update_type_to_string (TetherUpdateType update)
{
  return update == TETHER_UPDATE_ADD ? "ADD" : "DELETE";
}

/* ---- GObject ---------------------------------------------------------------------- */

static void
tether_room_dispose (GObject *object)
{
  TetherRoom *self = TETHER_ROOM (object);

  _tether_room_drop_connection (self);
  _tether_room_clear_source (self, &self->start_id);
  _tether_room_clear_source (self, &self->retry_id);
  _tether_room_clear_source (self, &self->window_id);
  _tether_room_clear_source (self, &self->logout_id);
  g_clear_pointer (&self->local_streams, g_hash_table_unref);
  g_clear_pointer (&self->net, _tether_net_unref);
  g_clear_object (&self->last_report);

  G_OBJECT_CLASS (tether_room_parent_class)->dispose (object);
}

static void
tether_room_finalize (GObject *object)
{
  TetherRoom *self = TETHER_ROOM (object);

  g_object_unref (self->login);
  g_ptr_array_unref (self->urls);
  g_free (self->session_id);
  g_free (self->resume_key);
  g_free (self->room_session_id);
  g_free (self->media_token);
  tether_srt_passphrase_free (self->srt_passphrase);
  g_free (self->renew_token);
  g_free (self->cause);
  g_hash_table_unref (self->media_nodes);
  _tether_room_store_free (self->users);
  _tether_room_store_free (self->streams);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_room_parent_class)->finalize (object);
}

static void
tether_room_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TetherRoom *self = TETHER_ROOM (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->login->room_id); break;
    case PROP_USER_ID: g_value_set_string (value, self->login->user_id); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_ERROR_CODE: g_value_set_int (value, self->error_code); break;
    case PROP_ROOM_SESSION_ID: g_value_set_string (value, self->room_session_id); break;
    case PROP_SERVER_URL: g_value_set_string (value, tether_room_get_server_url (self)); break;
    case PROP_USERS: g_value_set_object (value, tether_room_get_users (self)); break;
    case PROP_STREAMS: g_value_set_object (value, tether_room_get_streams (self)); break;
    case PROP_ATTEMPT: g_value_set_uint (value, self->attempt); break;
    case PROP_RTT: g_value_set_double (value, self->rtt); break;
    case PROP_LAST_REPORT: g_value_set_object (value, self->last_report); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_room_class_init (TetherRoomClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_room_dispose;
  object_class->finalize = tether_room_finalize;
  object_class->get_property = tether_room_get_property;

  /**
   * TetherRoom:id: (getter get_id)
   *
   * The room's id.
   */
  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  /**
   * TetherRoom:user-id: (getter get_user_id)
   *
   * The id of the user who logged in.
   */
  properties[PROP_USER_ID] = g_param_spec_string ("user-id", NULL, NULL, NULL, flags);
  /**
   * TetherRoom:state: (getter get_state)
   *
   * The state the room is in; [signal@Tether.Room::state-changed] tells why it
   * changed.
   */
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_ROOM_STATE,
                                              TETHER_ROOM_STATE_LOGOUT, flags);
  /**
   * TetherRoom:error-code: (getter get_error_code)
   *
   * The [error@Tether.Error] code that came with the current state, 0 when none.
   */
  properties[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, 0, G_MAXINT, 0, flags);
  /**
   * TetherRoom:room-session-id: (getter get_room_session_id)
   *
   * The server's id of the room's current session; it changes when the room was
   * emptied and opened again.
   */
  properties[PROP_ROOM_SESSION_ID] = g_param_spec_string ("room-session-id", NULL, NULL, NULL,
                                                          flags);
  /**
   * TetherRoom:server-url: (getter get_server_url)
   *
   * The URL of the room service node in use: the one connected to, or the one being
   * tried. It changes as a room with several URLs fails over.
   */
  properties[PROP_SERVER_URL] = g_param_spec_string ("server-url", NULL, NULL, NULL, flags);
  /**
   * TetherRoom:users: (getter get_users)
   *
   * The others in the room: a [iface@Gio.ListModel] of [class@Tether.User].
   */
  properties[PROP_USERS] = g_param_spec_object ("users", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  /**
   * TetherRoom:streams: (getter get_streams)
   *
   * The others' streams: a [iface@Gio.ListModel] of [class@Tether.Stream].
   */
  properties[PROP_STREAMS] = g_param_spec_object ("streams", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  /**
   * TetherRoom:attempt: (getter get_attempt)
   *
   * The number of the connection attempt in progress or last made, counted from 1
   * at login and again from each break.
   */
  properties[PROP_ATTEMPT] = g_param_spec_uint ("attempt", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /**
   * TetherRoom:rtt: (getter get_rtt)
   *
   * The last heartbeat round-trip time in milliseconds.
   */
  properties[PROP_RTT] = g_param_spec_double ("rtt", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  /**
   * TetherRoom:last-report: (getter get_last_report)
   *
   * The report of the last reconnect episode, or %NULL before the first one ended.
   */
  properties[PROP_LAST_REPORT] = g_param_spec_object ("last-report", NULL, NULL,
                                                      TETHER_TYPE_RECONNECT_REPORT, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherRoom::state-changed:
   * @self: the room
   * @reason: the new [enum@Tether.RoomState]
   * @error_code: an [error@Tether.Error] code, 0 when none
   * @extended_data: a JSON object; always has "room_session_id"; while
   *   RECONNECTING also "cause" and "retry_time", once RECONNECTED "resumed",
   *   "downtime" and "attempts", and "message" when there is one (the
   *   `TETHER_ROOM_EXTENDED_*` constants name them)
   *
   * The room changed state.
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TETHER_TYPE_ROOM_STATE, G_TYPE_INT, G_TYPE_STRING);
  /**
   * TetherRoom::user-update:
   * @self: the room
   * @update: ADD or DELETE
   * @users: (element-type TetherUser): the users
   *
   * Users arrived or left. Only emitted when the room was joined with
   * [property@Tether.LoginOptions:notify-users]; our own user is never reported.
   */
  signals[USER_UPDATE] =
    g_signal_new ("user-update", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, TETHER_TYPE_UPDATE_TYPE, G_TYPE_PTR_ARRAY);
  /**
   * TetherRoom::stream-update:
   * @self: the room
   * @update: ADD or DELETE
   * @streams: (element-type TetherStream): the streams
   * @reason: (nullable): for a DELETE, why: "stopped", "heartbeat_timeout",
   *   "replaced" (the stream moved and is added again), "resync" (after a rejoin), ...
   *
   * Others' streams were announced or withdrawn; our own are never reported.
   */
  signals[STREAM_UPDATE] =
    g_signal_new ("stream-update", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, TETHER_TYPE_UPDATE_TYPE, G_TYPE_PTR_ARRAY,
                  G_TYPE_STRING);
  /**
   * TetherRoom::token-will-expire:
   * @self: the room
   * @remaining: seconds until the token expires
   *
   * The server warns that the token runs out soon: call
   * [method@Tether.Room.renew_token] with a new one.
   */
  signals[TOKEN_WILL_EXPIRE] =
    g_signal_new ("token-will-expire", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  /**
   * TetherRoom::reconnect-report:
   * @self: the room
   * @report: how the episode that just ended went
   *
   * A reconnect episode ended, in success or failure; also
   * [property@Tether.Room:last-report].
   */
  signals[RECONNECT_REPORT] =
    g_signal_new ("reconnect-report", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_RECONNECT_REPORT);
}

static const char *
user_get_id (gpointer item)
{
  return tether_user_get_id (item);
}

/* A user listed again keeps the entry it has. */
static gboolean
user_same (gpointer listed,
           gpointer item)
{
  return TRUE;
}

static const char *
stream_get_id (gpointer item)
{
  return tether_stream_get_id (item);
}

/* A stream that moved (another node, new owner) is a new stream to viewers. */
static gboolean
stream_same (gpointer listed,
             gpointer item)
{
  return tether_stream_equal (listed, item);
}

static void
tether_room_init (TetherRoom *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->state = TETHER_ROOM_STATE_LOGOUT;
  self->heartbeat_interval = 1.0;
  self->users = _tether_room_store_new (TETHER_TYPE_USER, user_get_id, user_same);
  self->streams = _tether_room_store_new (TETHER_TYPE_STREAM, stream_get_id, stream_same);
  self->local_streams = _tether_room_local_streams_new ();
  self->media_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->urls = g_ptr_array_new_with_free_func (g_free);
}

TetherRoom *
_tether_room_new (TetherNet              *net,
                  const TetherRoomTiming *timing,
                  TetherLoginOptions     *login)
{
  TetherRoom *self = g_object_new (TETHER_TYPE_ROOM, NULL);

  self->net = net != NULL ? _tether_net_ref (net) : NULL;
  self->timing = *timing;
  self->login = tether_login_options_copy (login);
  g_ptr_array_unref (self->urls);
  self->urls = _tether_login_options_dup_urls (self->login);
  if (self->login->user_name == NULL)
    tether_login_options_set_user_name (self->login, self->login->user_id);
  if (self->login->token == NULL)
    tether_login_options_set_token (self->login, "");

  return self;
}
