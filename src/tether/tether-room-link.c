/* tether-room-link.c: the room's connection — connecting, what its socket reports,
 * backoff and the retry window (see docs/design.md, 'Room timing' and 'The
 * reconnection cases'); the socket itself, its heartbeats and dead-link timer run on
 * the network thread (tether-room-socket.c)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-login-options-private.h"
#include "tether-protocol.h"
#include "tether-room-private.h"
#include "tether-timeout-private.h"
#include "tether-tls-private.h"
#include "tether-token.h"

/* Timers go to the room's own main context, not the global default one, so a room
 * created on a worker thread's context works there. */
guint
_tether_room_add_timeout (TetherRoom  *self,
                          double       seconds,
                          GSourceFunc  func)
{
  GSource *source = tether_timeout_source_new (seconds);
  guint id;

  g_source_set_callback (source, func, self, NULL);
  id = g_source_attach (source, self->context);
  g_source_unref (source);
  return id;
}

void
_tether_room_clear_source (TetherRoom *self,
                           guint      *id)
{
  GSource *source;

  if (*id == 0)
    return;
  source = g_main_context_find_source_by_id (self->context, *id);
  if (source != NULL)
    g_source_destroy (source);
  *id = 0;
}

static double
link_timeout (TetherRoom *self)
{
  if (self->timing.link_timeout > 0)
    return self->timing.link_timeout;
  return MAX (2.2 * self->heartbeat_interval, 0.2);
}

/* Drops the socket without telling anyone: used when the link is believed dead or
 * when a state leaves the room. Nothing the socket posted before reaches the room
 * after this. */
void
_tether_room_drop_connection (TetherRoom *self)
{
  if (self->socket != NULL)
    _tether_room_socket_close (g_steal_pointer (&self->socket));
  self->socket_open = FALSE;
  self->awaiting_login_ok = FALSE;
}

/* Sends one message built by tether-message.h, when there is a connection to send
 * it on. */
void
_tether_room_send (TetherRoom *self,
                   const char *text)
{
  if (_tether_room_link_is_open (self))
    _tether_room_socket_send (self->socket, text);
}

/* From login_ok on, the socket sends heartbeats and watches for silence on the
 * network thread; the room hears of a dead link as LINK_TIMEOUT. */
void
_tether_room_start_ticking (TetherRoom *self)
{
  if (_tether_room_link_is_open (self))
    _tether_room_socket_start_heartbeats (self->socket, self->heartbeat_interval,
                                          link_timeout (self));
}

void
_tether_room_stop_ticking (TetherRoom *self)
{
  if (_tether_room_link_is_open (self))
    _tether_room_socket_stop_heartbeats (self->socket);
}

static void
socket_closed (TetherRoom *self,
               int         close_code)
{
  if (self->logout_id != 0)
    {
      /* The server closes right after logout_ok; a close without it still means the
       * server handled the logout if it sent 1000. */
      gboolean normal = close_code == SOUP_WEBSOCKET_CLOSE_NORMAL;

      _tether_room_set_state (self,
                              normal ? TETHER_ROOM_STATE_LOGOUT : TETHER_ROOM_STATE_LOGOUT_FAILED,
                              normal ? 0 : TETHER_ERROR_LOGOUT_TIMEOUT, NULL);
      return;
    }
  _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
}

/* ---- connecting ------------------------------------------------------------------- */

/* A certificate we do not trust stays untrusted however often we try: the room ends
 * at once, LOGIN_FAILED at the first login, RECONNECT_FAILED when it was in the
 * room (the server's certificate changed, or something now answers in its place). */
static void
certificate_refused (TetherRoom *self,
                     const char *message)
{
  g_debug ("room %s: %s", self->login->room_id, message);
  _tether_room_drop_connection (self);
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_TLS_CERTIFICATE,
                            message);
  else if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    _tether_room_give_up (self, TETHER_ROOM_STATE_RECONNECT_FAILED,
                          TETHER_ERROR_TLS_CERTIFICATE, message);
}

/* At the first login, what no retry would change (refused, no such host, TLS) fails
 * at once with the reason, once every URL of the list has said so in a row; before
 * that, the walk moves on to the next URL. Returns whether the login ended. */
static gboolean
refused_at_first_login (TetherRoom *self,
                        const char *message)
{
  if (self->state != TETHER_ROOM_STATE_LOGINING)
    return FALSE;
  if (++self->refused < self->urls->len)
    return FALSE;
  _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_NETWORK, message);
  return TRUE;
}

/* @refusal: the certificate refused, in words, or NULL; @message: the error;
 * @permanent: @message is a failure no retry would change (refused, no such host, TLS),
 * in words. */
static void
connect_failed (TetherRoom *self,
                const char *refusal,
                const char *message,
                gboolean    permanent)
{
  if (refusal != NULL)
    {
      certificate_refused (self, refusal);
      return;
    }
  g_debug ("room %s: connect to %s failed: %s", self->login->room_id,
           tether_room_get_server_url (self), message);
  if (!permanent)
    self->refused = 0;
  else if (refused_at_first_login (self, message))
    return;
  _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
}

static void
connected (TetherRoom *self)
{
  self->socket_open = TRUE;
  self->awaiting_login_ok = TRUE;
  self->refused = 0;
  _tether_room_send_login (self);
}

#define TLS_UNANSWERED "TLS failed: the server did not answer the TLS handshake (a plain ws:// port?)"

/* @tls_unanswered: the attempt took the connection but the server never answered the
 * TLS handshake: it will not; at the first login most likely a plain ws:// port asked
 * for wss://. */
static void
attempt_timed_out (TetherRoom *self,
                   gboolean    tls_unanswered)
{
  g_debug ("room %s: attempt %u to %s timed out", self->login->room_id, self->attempt,
           tether_room_get_server_url (self));
  if (!tls_unanswered)
    self->refused = 0;
  else if (refused_at_first_login (self, TLS_UNANSWERED))
    return;
  _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
}

/* What the socket reports, on the room's context, in the order it happened. */
static void
socket_event_cb (gpointer                     user_data,
                 const TetherRoomSocketEvent *event)
{
  g_autoptr(TetherRoom) self = g_object_ref (user_data);

  switch (event->type)
    {
    case TETHER_ROOM_SOCKET_CONNECTED:
      connected (self);
      break;
    case TETHER_ROOM_SOCKET_CONNECT_FAILED:
      connect_failed (self, event->text, event->message, event->code != 0);
      break;
    case TETHER_ROOM_SOCKET_ATTEMPT_TIMEOUT:
      attempt_timed_out (self, event->code != 0);
      break;
    case TETHER_ROOM_SOCKET_TEXT:
      _tether_room_receive_text (self, event->text, event->len);
      break;
    case TETHER_ROOM_SOCKET_CLOSED:
      socket_closed (self, event->code);
      break;
    case TETHER_ROOM_SOCKET_LINK_TIMEOUT:
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_LINK_TIMEOUT);
      break;
    case TETHER_ROOM_SOCKET_PROBE_FAILED:
      _tether_room_connection_broken (self, self->cause ? self->cause
                                                        : TETHER_ROOM_CAUSE_NETWORK_CHANGE);
      break;
    case TETHER_ROOM_SOCKET_RTT:
      _tether_room_set_rtt (self, event->value);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
connect_now (TetherRoom *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  double attempt_timeout;

  _tether_room_drop_connection (self);
  _tether_room_clear_source (self, &self->retry_id);

  msg = soup_message_new (SOUP_METHOD_GET, tether_room_get_server_url (self));
  if (msg == NULL)
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED,
                              TETHER_ERROR_INVALID_ARGUMENT, "the server URL is not valid");
      return;
    }

  /* Starting at the round's first URL again begins a round. */
  if (self->url_index == self->round_start)
    self->rounds++;
  _tether_room_set_attempt (self, self->attempt + 1);
  g_debug ("room %s: attempt %u to %s", self->login->room_id, self->attempt,
           tether_room_get_server_url (self));
  tether_tls_watch_certificate (msg);

  /* A connect that hangs (a blackholed route) must not eat the whole window. */
  attempt_timeout = MAX (2 * link_timeout (self), 1.0);
  /* At the first login an attempt ends no later than the login window (see window_cb). */
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    attempt_timeout = MIN (attempt_timeout,
                           MAX (self->login_deadline - g_get_monotonic_time (), 0) / 1e6);

  /* A room without a network (the fuzz harness's) never gets further. */
  if (self->net != NULL)
    self->socket = _tether_room_socket_connect (self->net, msg, attempt_timeout,
                                                self->login->room_id, self->context,
                                                socket_event_cb, self);
}

static gboolean
retry_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->retry_id = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* Exponential backoff from backoff_min, capped at backoff_max so a restored network
 * is used within about a second, with jitter so many clients do not move in step. It
 * grows with the rounds of the walk, not its attempts: with one URL they are the same. */
static double
next_delay (TetherRoom *self)
{
  double delay = self->timing.backoff_min * (1u << MIN (self->rounds, 10u));

  delay = MIN (delay, self->timing.backoff_max);
  delay *= g_random_double_range (0.5, 1.0);
  if (self->retry_after_hint > 0)
    {
      /* A server going away spreads its clients over its hint. */
      delay = g_random_double_range (0.1, 1.0) * self->retry_after_hint;
      self->retry_after_hint = 0;
    }
  return delay;
}

static void
schedule_retry (TetherRoom *self)
{
  double delay = next_delay (self);

  _tether_room_clear_source (self, &self->retry_id);
  self->retry_id = _tether_room_add_timeout (self, delay, retry_cb);
}

static void
login_timed_out (TetherRoom *self)
{
  _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_LOGIN_TIMEOUT,
                          "the server could not be reached");
}

static gboolean
window_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->window_id = 0;
  if (self->state == TETHER_ROOM_STATE_LOGINING && self->socket != NULL)
    {
      /* The attempt under way ends by now on the network thread, its timer capped at
       * this deadline: its report says why (an unanswered TLS handshake, say) and
       * _tether_room_connection_broken() then ends the login. */
      self->login_window_over = TRUE;
    }
  else if (self->state == TETHER_ROOM_STATE_LOGINING)
    login_timed_out (self);
  else if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    _tether_room_give_up (self, TETHER_ROOM_STATE_RECONNECT_FAILED,
                          TETHER_ERROR_RECONNECT_TIMEOUT, "the retry window ended");
  return G_SOURCE_REMOVE;
}

/* ---- the room service's URLs -------------------------------------------------------- */

/* The walk: each failed attempt moves on to the next URL, wrapping. */
static void
next_url (TetherRoom *self)
{
  _tether_room_set_urls (self, NULL, (self->url_index + 1) % self->urls->len);
}

/* A walk (after a break, or the first login) goes in rounds through the list, each
 * from the URL in use when it began: within a round a failed attempt moves on to the
 * next URL at once, and the backoff waits between rounds. */
static void
start_walk (TetherRoom *self)
{
  self->attempt = 0;
  self->rounds = 0;
  self->round_start = self->url_index;
}

/* A URL a room may connect to: ws:// or wss:// with a host. */
static gboolean
is_room_service_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;

  return scheme != NULL && (g_ascii_strcasecmp (scheme, "ws") == 0
                            || g_ascii_strcasecmp (scheme, "wss") == 0)
         && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0';
}

static void
add_url (GPtrArray  *urls,
         const char *url)
{
  if (!g_ptr_array_find_with_equal_func (urls, url, g_str_equal, NULL))
    g_ptr_array_add (urls, g_strdup (url));
}

/* login_ok's room_services become the list: the server's order first (its own URL
 * leads), then the URLs the caller gave that it lacks, and the URL in use if neither
 * names it. A room that speaks TLS takes no plain ws:// URL from a server: the token
 * would travel in clear. */
void
_tether_room_take_room_services (TetherRoom  *self,
                                 const char **services,
                                 guint        n_services)
{
  const char *in_use = tether_room_get_server_url (self);
  gboolean tls = g_ascii_strncasecmp (in_use, "wss:", 4) == 0;
  g_autoptr(GPtrArray) given = _tether_login_options_dup_urls (self->login);
  GPtrArray *urls = g_ptr_array_new_with_free_func (g_free);
  guint index = 0;

  for (guint i = 0; i < n_services && urls->len < TETHER_ROOM_MAX_SERVICES; i++)
    {
      if (!is_room_service_url (services[i])
          || (tls && g_ascii_strncasecmp (services[i], "wss:", 4) != 0))
        {
          g_debug ("room %s: room service URL “%s” ignored", self->login->room_id, services[i]);
          continue;
        }
      add_url (urls, services[i]);
    }
  for (guint i = 0; i < given->len; i++)
    add_url (urls, g_ptr_array_index (given, i));
  add_url (urls, in_use);
  g_ptr_array_find_with_equal_func (urls, in_use, g_str_equal, &index);
  _tether_room_set_urls (self, urls, index);
}

/* Called for every failure of the link or of an attempt: the first one after a
 * working session starts an episode and its retry window; later ones back off. */
void
_tether_room_connection_broken (TetherRoom *self,
                                const char *cause)
{
  _tether_room_drop_connection (self);

  if (tether_room_state_is_final (self->state))
    return;
  if (self->state == TETHER_ROOM_STATE_LOGINING && self->login_window_over)
    {
      login_timed_out (self);
      return;
    }

  if (_tether_room_state_is_connected (self->state))
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      self->broken_at = g_get_monotonic_time ();
      /* The node that worked is tried first (a blip of the network more often
       * breaks a link than a node's death), unless it said it is going away. */
      if (g_strcmp0 (cause, TETHER_ROOM_CAUSE_SERVER_RESTART) == 0)
        next_url (self);
      start_walk (self);
      _tether_room_set_state (self, TETHER_ROOM_STATE_RECONNECTING, TETHER_ERROR_NETWORK, cause);
      self->window_id = _tether_room_add_timeout (self, self->timing.retry_time, window_cb);
      /* The first attempt goes at once unless the server asked us to spread out. */
      if (self->retry_after_hint > 0)
        schedule_retry (self);
      else
        connect_now (self);
      return;
    }

  /* A failed attempt: the next one goes to the next URL, at once within a round (a
   * dead node costs one refused connect, not a backoff step), after the backoff when
   * the round is over (every URL failed: no busy loop). */
  next_url (self);
  if (self->url_index == self->round_start % self->urls->len)
    schedule_retry (self);
  else
    connect_now (self);
}

/* ---- login and network changes ---------------------------------------------------- */

static gboolean
start_login_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->start_id = 0;
  start_walk (self);
  _tether_room_set_state (self, TETHER_ROOM_STATE_LOGINING, 0, NULL);

  /* What the server would refuse anyway fails here, at once and with the reason. */
  if (!tether_protocol_valid_id (self->login->room_id))
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_ROOM_ID_INVALID,
                              "room ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -");
      return G_SOURCE_REMOVE;
    }
  if (!tether_protocol_valid_id (self->login->user_id)
      || !tether_protocol_valid_name (self->login->user_name))
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_USER_ID_INVALID,
                              "user ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -, names "
                              "at most 256 bytes without control characters");
      return G_SOURCE_REMOVE;
    }
  if (!tether_token_is_well_formed (self->login->token))
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_TOKEN_INVALID,
                              "the token is not in the form payload.signature");
      return G_SOURCE_REMOVE;
    }

  for (guint i = 0; i < self->urls->len; i++)
    if (!is_room_service_url (g_ptr_array_index (self->urls, i)))
      {
        g_autofree char *message = g_strdup_printf ("“%s” is not a ws:// or wss:// URL",
                                                    (char *) g_ptr_array_index (self->urls, i));

        _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED,
                                TETHER_ERROR_INVALID_ARGUMENT, message);
        return G_SOURCE_REMOVE;
      }

  self->refused = 0;
  self->login_window_over = FALSE;
  self->login_deadline = g_get_monotonic_time ()
                         + (gint64) (self->timing.login_timeout * G_USEC_PER_SEC);
  self->window_id = _tether_room_add_timeout (self, self->timing.login_timeout, window_cb);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* Login starts from the main loop, so whoever asked for it has connected to the
 * signals by the time LOGINING is emitted. */
void
_tether_room_login (TetherRoom *self)
{
  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (self->start_id == 0);

  self->start_id = _tether_room_add_timeout (self, 0, start_login_cb);
}

/* The network changed, the machine woke up or the user asked: a room that is
 * retrying tries at once; a room that looks connected proves its link with an
 * immediate heartbeat that must be answered within a second. */
void
_tether_room_network_changed (TetherRoom *self,
                              const char *cause)
{
  g_return_if_fail (TETHER_IS_ROOM (self));

  if (self->state == TETHER_ROOM_STATE_RECONNECTING
      || (self->state == TETHER_ROOM_STATE_LOGINING && !_tether_room_link_is_open (self)))
    {
      g_debug ("room %s: %s, retrying now", self->login->room_id, cause);
      connect_now (self);
    }
  else if (_tether_room_state_is_connected (self->state) && _tether_room_link_is_open (self))
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      _tether_room_socket_probe (self->socket, MIN (1.0, link_timeout (self)));
    }
}

/**
 * tether_room_reconnect_now:
 * @self: a room
 *
 * Skips the backoff wait when the room is retrying, or proves the link with an
 * immediate heartbeat when it looks connected, as a network change does.
 */
void
tether_room_reconnect_now (TetherRoom *self)
{
  _tether_room_network_changed (self, TETHER_ROOM_CAUSE_RECONNECT_NOW);
}
