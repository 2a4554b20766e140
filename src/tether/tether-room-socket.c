/* tether-room-socket.c: a room's WebSocket on the network thread — connecting,
 * reading frames, heartbeats, the round-trip time and the dead-link timer — and
 * what it tells the room on the room's own context (docs/design.md, 'The network
 * thread')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-message.h"
#include "tether-protocol.h"
#include "tether-room-socket-private.h"
#include "tether-timeout-private.h"
#include "tether-tls-private.h"

/*
 * An actor in two halves. The room (its owner) calls the functions of the header on
 * its own thread; each posts a command to the network thread. The network thread
 * does the I/O and the timing and posts events back to the owner's context, where
 * they reach the room's callback in order, unless the room closed the socket
 * meanwhile. Nothing is shared but the reference count: each field below belongs
 * to one thread.
 *
 * So the timing of the link never waits for the owner's main loop: heartbeats go
 * out, answers are stamped when they are read, and silence is measured, on the
 * network thread, while the application's main thread is busy for seconds.
 */

struct _TetherRoomSocket
{
  int ref_count;            /* atomic; g_atomic_int_*() so ThreadSanitizer sees them */

  /* set at creation, read-only afterwards */
  TetherNet *net;
  TetherRoomSocketFunc func;
  gpointer user_data;
  char *name;
  double attempt_timeout;

  /* owner thread only */
  gboolean closed;          /* the room let go: no more events for it */

  /* network thread only */
  GMainContext *owner;      /* where events go; let go when the socket is shut, so that
                             * events still queued there do not keep it alive */
  gboolean shut;            /* the close command ran */
  SoupMessage *msg;
  GCancellable *cancellable;
  SoupWebsocketConnection *ws;
  GSource *attempt_timer;   /* from the connect to the first frame */
  GSource *tick;            /* heartbeats and dead-link checks, once logged in */
  double interval;          /* s between heartbeats */
  gint64 period;            /* µs between ticks */
  gint64 link_timeout;      /* µs of silence meaning a dead link */
  gint64 last_rx;           /* monotonic µs when the last frame was read */
  gint64 last_tick;
  gint64 heartbeat_due;
  gint64 heartbeat_id;
  gint64 heartbeat_sent;
  gint64 probe_deadline;    /* µs by which a probe must be answered, or 0 */
};

static TetherRoomSocket *
socket_ref (TetherRoomSocket *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
socket_unref (gpointer data)
{
  TetherRoomSocket *self = data;

  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  /* The close command, which holds a reference, has let go of the network side. */
  g_assert (self->ws == NULL && self->tick == NULL && self->attempt_timer == NULL);
  g_clear_object (&self->msg);
  _tether_net_unref (self->net);
  g_clear_pointer (&self->owner, g_main_context_unref);
  g_free (self->name);
  g_free (self);
}

/* ---- events: network thread → owner ---------------------------------------------- */

typedef struct
{
  TetherRoomSocket *socket;
  TetherRoomSocketEvent event;
} Event;

static void
event_free (gpointer data)
{
  Event *e = data;

  g_free (e->event.text);
  g_free (e->event.message);
  socket_unref (e->socket);
  g_free (e);
}

static gboolean
event_cb (gpointer data)
{
  Event *e = data;

  if (!e->socket->closed)
    e->socket->func (e->socket->user_data, &e->event);
  return G_SOURCE_REMOVE;
}

/* Takes @text and @message. */
static void
post_event (TetherRoomSocket          *self,
            TetherRoomSocketEventType  type,
            char                      *text,
            gsize                      len,
            char                      *message,
            int                        code,
            double                     value)
{
  Event *e = g_new0 (Event, 1);

  e->socket = socket_ref (self);
  e->event = (TetherRoomSocketEvent) {
    .type = type, .text = text, .len = len, .message = message, .code = code, .value = value,
  };
  _tether_net_post (self->owner, event_cb, e, event_free);
}

static void
post_simple_event (TetherRoomSocket          *self,
                   TetherRoomSocketEventType  type)
{
  post_event (self, type, NULL, 0, NULL, 0, 0);
}

/* ---- the network side ------------------------------------------------------------- */

static void
stop_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static GSource *
add_timeout (TetherRoomSocket *self,
             double            seconds,
             GSourceFunc       func)
{
  GSource *source = tether_timeout_source_new (seconds);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, _tether_net_get_context ());
  return source;
}

static gboolean
is_open (TetherRoomSocket *self)
{
  return self->ws != NULL
         && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

static void
send_heartbeat (TetherRoomSocket *self)
{
  g_autofree char *text = NULL;

  self->heartbeat_id++;
  self->heartbeat_sent = g_get_monotonic_time ();
  text = tether_message_build_heartbeat (self->heartbeat_id);
  if (is_open (self))
    soup_websocket_connection_send_text (self->ws, text);
}

/* A heartbeat_ack is answered here and goes no further; a frame that long is
 * something else. */
static gboolean
read_heartbeat_ack (const char *data,
                    gsize       len,
                    gint64     *id)
{
  g_autoptr(JsonObject) msg = NULL;

  if (len > 256)
    return FALSE;
  msg = tether_protocol_parse (data, len, 4, NULL);
  return msg != NULL && tether_message_get_type (msg) == TETHER_MESSAGE_HEARTBEAT_ACK
         && tether_message_read_heartbeat_ack (msg, id);
}

/* Heartbeats and dead-link detection share one timer, a quarter of the heartbeat
 * interval, so silence is noticed within about link_timeout + interval/4. */
static gboolean
tick_cb (gpointer user_data)
{
  TetherRoomSocket *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - self->last_tick - self->period;

  self->last_tick = now;
  if (late > self->period)
    {
      /* This thread itself did not run (the process was stopped, or starved): that
       * time was not the server's silence. Count from now, and ask at once. */
      self->last_rx = MIN (self->last_rx + late, now);
      if (self->probe_deadline != 0)
        self->probe_deadline += late;
      self->heartbeat_due = now;
    }

  if (now - self->last_rx > self->link_timeout)
    {
      g_debug ("room %s: no frame for %.3f s", self->name, (now - self->last_rx) / 1e6);
      g_clear_pointer (&self->tick, g_source_unref);
      post_simple_event (self, TETHER_ROOM_SOCKET_LINK_TIMEOUT);
      return G_SOURCE_REMOVE;
    }
  if (self->probe_deadline != 0 && now > self->probe_deadline)
    {
      g_clear_pointer (&self->tick, g_source_unref);
      post_simple_event (self, TETHER_ROOM_SOCKET_PROBE_FAILED);
      return G_SOURCE_REMOVE;
    }
  if (now >= self->heartbeat_due)
    {
      send_heartbeat (self);
      self->heartbeat_due = now + (gint64) (self->interval * G_USEC_PER_SEC);
    }
  return G_SOURCE_CONTINUE;
}

static void
ws_message_cb (SoupWebsocketConnection *ws,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  TetherRoomSocket *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  gint64 id = 0;

  /* Any frame proves the link, and answers the attempt. */
  self->last_rx = now;
  stop_source (&self->attempt_timer);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;

  if (read_heartbeat_ack (data, len, &id))
    {
      /* The round trip is stamped as the answer is read, whatever the room does. */
      if (id == self->heartbeat_id && self->heartbeat_sent != 0)
        {
          self->probe_deadline = 0;
          post_event (self, TETHER_ROOM_SOCKET_RTT, NULL, 0, NULL, 0,
                      (now - self->heartbeat_sent) / 1000.0);
        }
      return;
    }
  post_event (self, TETHER_ROOM_SOCKET_TEXT, g_strndup (data, len), len, NULL, 0, 0);
}

static void
ws_closed_cb (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  TetherRoomSocket *self = user_data;

  stop_source (&self->tick);
  stop_source (&self->attempt_timer);
  post_event (self, TETHER_ROOM_SOCKET_CLOSED, NULL, 0, NULL,
              soup_websocket_connection_get_close_code (ws), 0);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  TetherRoomSocket *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (self->shut || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (ws != NULL)
        g_io_stream_close_async (soup_websocket_connection_get_io_stream (ws),
                                 G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      socket_unref (self);
      return;
    }

  g_clear_object (&self->cancellable);
  if (ws == NULL)
    {
      stop_source (&self->attempt_timer);
      char *permanent = tether_connect_failure_message (error);

      post_event (self, TETHER_ROOM_SOCKET_CONNECT_FAILED,
                  tether_tls_refusal_message (self->msg, error), 0,
                  permanent != NULL ? permanent : g_strdup (error->message),
                  permanent != NULL, 0);
      socket_unref (self);
      return;
    }

  self->ws = g_steal_pointer (&ws);
  self->last_rx = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, 16 * 1024 * 1024);
  g_signal_connect (self->ws, "message", G_CALLBACK (ws_message_cb), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (ws_closed_cb), self);
  post_simple_event (self, TETHER_ROOM_SOCKET_CONNECTED);
  socket_unref (self);
}

static gboolean
attempt_timeout_cb (gpointer user_data)
{
  TetherRoomSocket *self = user_data;

  g_clear_pointer (&self->attempt_timer, g_source_unref);
  post_event (self, TETHER_ROOM_SOCKET_ATTEMPT_TIMEOUT, NULL, 0, NULL,
              self->msg != NULL && tether_tls_handshake_pending (self->msg), 0);
  return G_SOURCE_REMOVE;
}

static void
start_connect (TetherRoomSocket *self)
{
  SoupSession *session = _tether_net_get_session (self->net);

  self->cancellable = g_cancellable_new ();
  /* A connect that hangs (a blackholed route) must not eat the whole window. */
  self->attempt_timer = add_timeout (self, self->attempt_timeout, attempt_timeout_cb);
  soup_session_websocket_connect_async (session, self->msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, connect_cb, socket_ref (self));
}

static void
start_heartbeats (TetherRoomSocket *self,
                  double            interval,
                  double            link_timeout)
{
  double period = CLAMP (interval / 4, 0.01, 0.5);
  gint64 now = g_get_monotonic_time ();

  stop_source (&self->tick);
  if (!is_open (self))
    return;
  self->interval = interval;
  self->period = (gint64) (period * G_USEC_PER_SEC);
  self->link_timeout = (gint64) (link_timeout * G_USEC_PER_SEC);
  /* However long the room took to get here, silence counts from now. */
  self->last_rx = now;
  self->last_tick = now;
  self->heartbeat_due = now + (gint64) (interval * G_USEC_PER_SEC);
  self->tick = add_timeout (self, period, tick_cb);
}

static void
probe (TetherRoomSocket *self,
       double            within)
{
  if (!is_open (self) || self->tick == NULL)
    return;
  self->probe_deadline = g_get_monotonic_time () + (gint64) (within * G_USEC_PER_SEC);
  send_heartbeat (self);
}

/* Drops the socket without telling anyone. */
static void
shut (TetherRoomSocket *self)
{
  self->shut = TRUE;
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
  stop_source (&self->attempt_timer);
  stop_source (&self->tick);
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
  /* Nothing posts events any more. */
  g_clear_pointer (&self->owner, g_main_context_unref);
}

/* ---- commands: owner → network thread --------------------------------------------- */

typedef enum
{
  COMMAND_CONNECT,
  COMMAND_SEND,
  COMMAND_START_HEARTBEATS,
  COMMAND_STOP_HEARTBEATS,
  COMMAND_PROBE,
  COMMAND_CLOSE,
} CommandType;

typedef struct
{
  TetherRoomSocket *socket;
  CommandType type;
  char *text;
  double a;
  double b;
} Command;

static void
command_free (gpointer data)
{
  Command *c = data;

  g_free (c->text);
  socket_unref (c->socket);
  g_free (c);
}

static gboolean
command_cb (gpointer data)
{
  Command *c = data;
  TetherRoomSocket *self = c->socket;

  if (self->shut)
    return G_SOURCE_REMOVE;

  switch (c->type)
    {
    case COMMAND_CONNECT:
      start_connect (self);
      break;
    case COMMAND_SEND:
      if (is_open (self))
        soup_websocket_connection_send_text (self->ws, c->text);
      break;
    case COMMAND_START_HEARTBEATS:
      start_heartbeats (self, c->a, c->b);
      break;
    case COMMAND_STOP_HEARTBEATS:
      stop_source (&self->tick);
      break;
    case COMMAND_PROBE:
      probe (self, c->a);
      break;
    case COMMAND_CLOSE:
      shut (self);
      break;
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

/* Takes @text. */
static void
post_command (TetherRoomSocket *self,
              CommandType       type,
              char             *text,
              double            a,
              double            b)
{
  Command *c = g_new0 (Command, 1);

  g_return_if_fail (!self->closed);

  c->socket = socket_ref (self);
  c->type = type;
  c->text = text;
  c->a = a;
  c->b = b;
  _tether_net_post (_tether_net_get_context (), command_cb, c, command_free);
}

/* ---- the owner's side ------------------------------------------------------------- */

/* Connects with @msg (the socket takes it; sent from the network thread), giving up
 * when no frame came within @attempt_timeout. Events go to @func on @owner. */
TetherRoomSocket *
_tether_room_socket_connect (TetherNet            *net,
                             SoupMessage          *msg,
                             double                attempt_timeout,
                             const char           *name,
                             GMainContext         *owner,
                             TetherRoomSocketFunc  func,
                             gpointer              user_data)
{
  TetherRoomSocket *self = g_new0 (TetherRoomSocket, 1);

  self->ref_count = 1;
  self->net = _tether_net_ref (net);
  self->owner = g_main_context_ref (owner);
  self->func = func;
  self->user_data = user_data;
  self->name = g_strdup (name);
  self->attempt_timeout = attempt_timeout;
  self->msg = g_object_ref (msg);
  post_command (self, COMMAND_CONNECT, NULL, 0, 0);
  return self;
}

/* Sends @text once the socket is open; nothing when it is not (any more). */
void
_tether_room_socket_send (TetherRoomSocket *self,
                          const char       *text)
{
  post_command (self, COMMAND_SEND, g_strdup (text), 0, 0);
}

/* After login: a heartbeat every @interval, and LINK_TIMEOUT after @link_timeout
 * without a frame (both seconds). */
void
_tether_room_socket_start_heartbeats (TetherRoomSocket *self,
                                      double            interval,
                                      double            link_timeout)
{
  post_command (self, COMMAND_START_HEARTBEATS, NULL, interval, link_timeout);
}

void
_tether_room_socket_stop_heartbeats (TetherRoomSocket *self)
{
  post_command (self, COMMAND_STOP_HEARTBEATS, NULL, 0, 0);
}

/* A heartbeat now that must be answered within @within seconds, or PROBE_FAILED. */
void
_tether_room_socket_probe (TetherRoomSocket *self,
                           double            within)
{
  post_command (self, COMMAND_PROBE, NULL, within, 0);
}

/* Drops the connection; no event reaches the owner after this, and @self goes. */
void
_tether_room_socket_close (TetherRoomSocket *self)
{
  post_command (self, COMMAND_CLOSE, NULL, 0, 0);
  self->closed = TRUE;
  socket_unref (self);
}
