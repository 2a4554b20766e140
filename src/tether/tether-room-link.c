/* tether-room-link.c: the room's connection — connecting, heartbeats, dead-link
 * detection, backoff and the retry window (see docs/design.md, 'Room timing'
 * and 'The reconnection cases')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-message.h"
#include "tether-login-options-private.h"
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
 * when a state leaves the room. */
void
_tether_room_drop_connection (TetherRoom *self)
{
  if (self->connect_cancellable != NULL)
    {
      g_cancellable_cancel (self->connect_cancellable);
      g_clear_object (&self->connect_cancellable);
    }
  if (self->ws != NULL)
    {
      SoupWebsocketConnection *ws = g_steal_pointer (&self->ws);

      g_signal_handlers_disconnect_by_data (ws, self);
      if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          /* A dead peer would never answer the close handshake. */
          g_io_stream_close_async (soup_websocket_connection_get_io_stream (ws),
                                   G_PRIORITY_DEFAULT, NULL, NULL, NULL);
        }
      g_object_unref (ws);
    }
  self->awaiting_login_ok = FALSE;
  self->probe_deadline = 0;
  _tether_room_clear_source (self, &self->attempt_timeout_id);
  _tether_room_clear_source (self, &self->tick_id);
}

/* Sends one message built by tether-message.h, when there is a connection to send
 * it on. */
void
_tether_room_send (TetherRoom *self,
                   const char *text)
{
  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->ws, text);
}

static void
send_heartbeat (TetherRoom *self)
{
  g_autofree char *text = NULL;

  self->heartbeat_id++;
  self->heartbeat_sent = g_get_monotonic_time ();
  text = tether_message_build_heartbeat (self->heartbeat_id);
  _tether_room_send (self, text);
}

/* Heartbeats and dead-link detection share one timer, a quarter of the heartbeat
 * interval, so silence is noticed within about link_timeout + interval/4. */
static gboolean
tick_cb (gpointer user_data)
{
  TetherRoom *self = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - self->last_rx > TETHER_ROOM_USEC (link_timeout (self)))
    {
      self->tick_id = 0;
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_LINK_TIMEOUT);
      return G_SOURCE_REMOVE;
    }
  if (self->probe_deadline != 0 && now > self->probe_deadline)
    {
      self->tick_id = 0;
      _tether_room_connection_broken (self, self->cause ? self->cause
                                                        : TETHER_ROOM_CAUSE_NETWORK_CHANGE);
      return G_SOURCE_REMOVE;
    }
  if (now >= self->heartbeat_due)
    {
      send_heartbeat (self);
      self->heartbeat_due = now + TETHER_ROOM_USEC (self->heartbeat_interval);
    }

  return G_SOURCE_CONTINUE;
}

void
_tether_room_start_ticking (TetherRoom *self)
{
  double period = CLAMP (self->heartbeat_interval / 4, 0.01, 0.5);

  _tether_room_clear_source (self, &self->tick_id);
  self->heartbeat_due = g_get_monotonic_time () + TETHER_ROOM_USEC (self->heartbeat_interval);
  self->tick_id = _tether_room_add_timeout (self, period, tick_cb);
}

/* The answer to the last heartbeat gives the round-trip time and proves the link. */
void
_tether_room_heartbeat_acked (TetherRoom *self,
                              gint64      id)
{
  if (id != self->heartbeat_id)
    return;
  self->probe_deadline = 0;
  _tether_room_set_rtt (self, (g_get_monotonic_time () - self->heartbeat_sent) / 1000.0);
}

static void
ws_message_cb (SoupWebsocketConnection *ws,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  g_autoptr(TetherRoom) self = g_object_ref (user_data);
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  self->last_rx = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  _tether_room_receive_text (self, data, len);
}

static void
ws_closed_cb (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherRoom *self = user_data;

  if (ws != self->ws)
    return;
  if (self->logout_id != 0)
    {
      /* The server closes right after logout_ok; a close without it still means the
       * server handled the logout if it sent 1000. */
      gboolean normal =
        soup_websocket_connection_get_close_code (ws) == SOUP_WEBSOCKET_CLOSE_NORMAL;

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

static void
websocket_connect_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(TetherRoom) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->connect_cancellable);
  if (ws == NULL)
    {
      SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
      g_autofree char *refusal = tether_tls_refusal_message (msg, error);

      if (refusal != NULL)
        {
          certificate_refused (self, refusal);
          return;
        }
      g_debug ("room %s: connect failed: %s", self->login->room_id, error->message);
      /* At the first login, what no retry would change fails at once, with the reason. */
      if (self->state == TETHER_ROOM_STATE_LOGINING
          && (refusal = tether_connect_failure_message (error)) != NULL)
        {
          _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_NETWORK,
                                  refusal);
          return;
        }
      _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
      return;
    }

  self->ws = g_steal_pointer (&ws);
  self->last_rx = g_get_monotonic_time ();
  self->awaiting_login_ok = TRUE;
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, 16 * 1024 * 1024);
  g_signal_connect (self->ws, "message", G_CALLBACK (ws_message_cb), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (ws_closed_cb), self);
  _tether_room_send_login (self);
}

#define CONNECT_MESSAGE_KEY "tether-connect-message"
#define TLS_UNANSWERED "TLS failed: the server did not answer the TLS handshake (a plain ws:// port?)"

/* Whether the attempt under way took the connection but the server never answered the
 * TLS handshake: it will not, at the first login most likely a plain ws:// port asked
 * for wss://. */
static gboolean
tls_handshake_unanswered (TetherRoom *self)
{
  SoupMessage *msg = self->connect_cancellable != NULL
                     ? g_object_get_data (G_OBJECT (self->connect_cancellable), CONNECT_MESSAGE_KEY)
                     : NULL;

  return msg != NULL && tether_tls_handshake_pending (msg);
}

static gboolean
attempt_timeout_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->attempt_timeout_id = 0;
  g_debug ("room %s: attempt %u timed out", self->login->room_id, self->attempt);
  if (self->state == TETHER_ROOM_STATE_LOGINING && tls_handshake_unanswered (self))
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_NETWORK,
                              TLS_UNANSWERED);
      return G_SOURCE_REMOVE;
    }
  _tether_room_connection_broken (self, TETHER_ROOM_CAUSE_CLOSED);
  return G_SOURCE_REMOVE;
}

static void
connect_now (TetherRoom *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  double attempt_timeout;

  _tether_room_drop_connection (self);
  _tether_room_clear_source (self, &self->retry_id);

  msg = soup_message_new (SOUP_METHOD_GET, self->login->server_url);
  if (msg == NULL)
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED,
                              TETHER_ERROR_INVALID_ARGUMENT, "the server URL is not valid");
      return;
    }

  _tether_room_set_attempt (self, self->attempt + 1);
  tether_tls_watch_certificate (msg);

  /* A connect that hangs (a blackholed route) must not eat the whole window. */
  attempt_timeout = MAX (2 * link_timeout (self), 1.0);
  if (self->state == TETHER_ROOM_STATE_LOGINING)
    attempt_timeout = MIN (attempt_timeout, self->timing.login_timeout);
  self->attempt_timeout_id = _tether_room_add_timeout (self, attempt_timeout, attempt_timeout_cb);

  self->connect_cancellable = g_cancellable_new ();
  /* For attempt_timeout_cb(): how far the attempt got. */
  g_object_set_data_full (G_OBJECT (self->connect_cancellable), CONNECT_MESSAGE_KEY,
                          g_object_ref (msg), g_object_unref);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connect_cancellable, websocket_connect_cb,
                                        g_object_ref (self));
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
 * is used within about a second, with jitter so many clients do not move in step. */
static double
next_delay (TetherRoom *self)
{
  double delay = self->timing.backoff_min * (1u << MIN (self->attempt, 10u));

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

static gboolean
window_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->window_id = 0;
  if (self->state == TETHER_ROOM_STATE_LOGINING && tls_handshake_unanswered (self))
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_NETWORK,
                            TLS_UNANSWERED);
  else if (self->state == TETHER_ROOM_STATE_LOGINING)
    _tether_room_set_state (self, TETHER_ROOM_STATE_LOGIN_FAILED, TETHER_ERROR_LOGIN_TIMEOUT,
                            "the server could not be reached");
  else if (self->state == TETHER_ROOM_STATE_RECONNECTING)
    _tether_room_give_up (self, TETHER_ROOM_STATE_RECONNECT_FAILED,
                          TETHER_ERROR_RECONNECT_TIMEOUT, "the retry window ended");
  return G_SOURCE_REMOVE;
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

  if (_tether_room_state_is_connected (self->state))
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      self->broken_at = g_get_monotonic_time ();
      self->attempt = 0;
      _tether_room_set_state (self, TETHER_ROOM_STATE_RECONNECTING, TETHER_ERROR_NETWORK, cause);
      self->window_id = _tether_room_add_timeout (self, self->timing.retry_time, window_cb);
      /* The first attempt goes at once unless the server asked us to spread out. */
      if (self->retry_after_hint > 0)
        schedule_retry (self);
      else
        connect_now (self);
      return;
    }

  schedule_retry (self);
}

/* ---- login and network changes ---------------------------------------------------- */

static gboolean
start_login_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->start_id = 0;
  self->attempt = 0;
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
      || (self->state == TETHER_ROOM_STATE_LOGINING && self->ws == NULL))
    {
      g_debug ("room %s: %s, retrying now", self->login->room_id, cause);
      connect_now (self);
    }
  else if (_tether_room_state_is_connected (self->state) && self->ws != NULL)
    {
      g_free (self->cause);
      self->cause = g_strdup (cause);
      self->probe_deadline = g_get_monotonic_time ()
                             + TETHER_ROOM_USEC (MIN (1.0, link_timeout (self)));
      send_heartbeat (self);
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
