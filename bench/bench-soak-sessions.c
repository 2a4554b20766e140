/* bench-soak-sessions.c: bench-soak's churning sessions — libsoup WebSocket clients on
 * worker threads (one per source address) that log in, send heartbeats, add and delete
 * streams, and end in one of four ways, then start again
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-soak.h"
#include "tether-test-login.h"
#include "tether-test-utils.h"

/* ---- the churning sessions (libsoup, worker threads) --------------------------------- */

typedef enum
{
  SLOT_IDLE,
  SLOT_CONNECTING,
  SLOT_LOGGING_IN,
  SLOT_LIVE,
  SLOT_ENDING,
} SlotPhase;

typedef enum
{
  END_LOGOUT,
  END_CLOSE,
  END_RESET,
  END_SILENT,
} Ending;

typedef struct
{
  Worker *w;
  guint index;
  char *user_id, *room_id;
  SlotPhase phase;
  gboolean publisher;
  gboolean slow_room;  /* a slow reader is a member: more stream traffic */
  SoupWebsocketConnection *ws;
  GCancellable *cancel;
  GSource *timer;      /* the next step */
  GSource *heartbeat;
  GSource *deadline;   /* login, request or ending deadline */
  char *session_id, *resume_key;
  gint64 last_seq;
  gboolean can_resume, resuming, failure_counted;
  gint64 life_end;
  guint hb_ms;
  gint64 hb_id;
  guint req;
  guint stream_n;
  char *stream_id;
  gboolean stream_live;
  Ending ending;
} Slot;

struct _Worker
{
  guint index;
  char *local_ip;
  TetherTestThread *thread;
  GMainContext *context;
  SoupSession *session;
  GRand *rand;
  GPtrArray *slots;    /* Slot* */
  gboolean stopping;
};

static void slot_connect (Slot *s);
static void slot_teardown (Slot *s);

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_source_unref (*source);
      *source = NULL;
    }
}

/* The dispatching source is destroyed by G_SOURCE_REMOVE; only drop our reference. */
static void
took_source (GSource **source)
{
  g_clear_pointer (source, g_source_unref);
}

static GSource *
slot_timeout (Slot        *s,
              guint        ms,
              GSourceFunc  func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, s, NULL);
  g_source_attach (source, s->w->context);
  return source;
}

static guint
rand_ms (Slot  *s,
         double min_s,
         double max_s)
{
  return (guint) (g_rand_double_range (s->w->rand, min_s, max_s) * 1000);
}

static void
slot_send (Slot       *s,
           const char *text)
{
  if (s->ws != NULL && soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (s->ws, text);
}

static gboolean
restart_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_connect (s);
  return G_SOURCE_REMOVE;
}

/* Forgets the connection and starts again after @delay_ms. */
static void
slot_again (Slot *s,
            guint delay_ms)
{
  slot_teardown (s);
  if (!s->w->stopping)
    s->timer = slot_timeout (s, delay_ms, restart_cb);
}

/* A TCP reset: SO_LINGER 0 on the socket, then close it; no close frame. */
static void
slot_reset (Slot *s)
{
  GIOStream *io;
  GSocket *sock = NULL;

  if (s->ws == NULL)
    return;
  io = soup_websocket_connection_get_io_stream (s->ws);
  if (G_IS_SOCKET_CONNECTION (io))
    sock = g_socket_connection_get_socket (G_SOCKET_CONNECTION (io));
  else
    sock = g_object_get_data (G_OBJECT (io), "GSocket");
  if (sock != NULL && G_IS_SOCKET (sock))
    {
      struct linger lg = { .l_onoff = 1, .l_linger = 0 };

      setsockopt (g_socket_get_fd (sock), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      g_socket_close (sock, NULL);
    }
  else
    {
      static gboolean warned;

      if (!warned)
        g_printerr ("bench-soak: no GSocket under the WebSocket (%s); abrupt closes are plain closes\n",
                    G_OBJECT_TYPE_NAME (io));
      warned = TRUE;
      g_io_stream_close (io, NULL, NULL);
    }
}

static void
slot_teardown (Slot *s)
{
  clear_source (&s->timer);
  clear_source (&s->heartbeat);
  clear_source (&s->deadline);
  if (s->cancel != NULL)
    {
      g_cancellable_cancel (s->cancel);
      g_clear_object (&s->cancel);
    }
  if (s->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (s->ws, s);
      if (soup_websocket_connection_get_state (s->ws) != SOUP_WEBSOCKET_STATE_CLOSED)
        slot_reset (s);
      g_clear_object (&s->ws);
    }
  s->phase = SLOT_IDLE;
  s->stream_live = FALSE;
}

static char *
login_json (Slot    *s,
            gboolean resume)
{
  g_autofree char *token = tether_test_token (s->user_id, NULL, (gint64) opt_duration + 3600);
  TetherTestLogin login = {
    .room_id = s->room_id, .user_id = s->user_id, .token = token, .notify_users = TRUE,
  };

  if (resume)
    {
      login.resume_session_id = s->session_id;
      login.resume_key = s->resume_key;
      login.last_seq = s->last_seq;
    }
  return tether_test_login_json (&login);
}

static gboolean
has_type (const char *data,
          gsize       len,
          const char *type)
{
  char needle[48];
  int n = g_snprintf (needle, sizeof needle, "\"type\":\"%s\"", type);

  return memmem (data, len, needle, n) != NULL;
}

/* An integer member in the first bytes of a message ("seq", "code"), or -1. */
static gint64
int_member (const char *data,
            gsize       len,
            const char *name)
{
  char needle[32];
  int n = g_snprintf (needle, sizeof needle, "\"%s\":", name);
  const char *p = memmem (data, len, needle, n);

  if (p == NULL)
    return -1;
  return g_ascii_strtoll (p + n, NULL, 10);
}

static void slot_step (Slot *s);
static void slot_end (Slot *s);

static guint
stream_pause_ms (Slot *s)
{
  double pause = s->slow_room ? opt_slow_room_pause : opt_stream_pause;

  return rand_ms (s, pause / 2, pause * 1.5);
}

static gboolean
step_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_step (s);
  return G_SOURCE_REMOVE;
}

static gboolean
request_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.request_timeouts);
  note_problem ("%s: no answer to a stream request in %d ms", s->user_id, REQUEST_DEADLINE_MS);
  slot_reset (s);
  slot_again (s, 1000);
  return G_SOURCE_REMOVE;
}

/* The next stream request, or the end of this life. */
static void
slot_step (Slot *s)
{
  char *json;

  if (s->phase != SLOT_LIVE)
    return;
  if (g_get_monotonic_time () >= s->life_end)
    {
      slot_end (s);
      return;
    }
  if (!s->stream_live)
    {
      g_autofree char *extra = g_malloc (EXTRA_BYTES + 1);

      for (guint i = 0; i < EXTRA_BYTES; i++)
        extra[i] = 'a' + (char) g_rand_int_range (s->w->rand, 0, 26);
      extra[EXTRA_BYTES] = '\0';
      g_free (s->stream_id);
      s->stream_id = g_strdup_printf ("s-%u-%u", s->index, s->stream_n++);
      json = g_strdup_printf ("{\"type\":\"stream_add\",\"req\":%u,\"stream\":{\"id\":\"%s\","
                              "\"extra\":\"%s\",\"node\":\"local\"}}", ++s->req, s->stream_id, extra);
    }
  else
    json = g_strdup_printf ("{\"type\":\"stream_delete\",\"req\":%u,\"stream_id\":\"%s\","
                            "\"reason\":\"stopped\"}", ++s->req, s->stream_id);
  slot_send (s, json);
  g_free (json);
  clear_source (&s->deadline);
  s->deadline = slot_timeout (s, REQUEST_DEADLINE_MS, request_deadline_cb);
}

static gboolean
heartbeat_cb (gpointer data)
{
  Slot *s = data;
  char json[64];

  g_snprintf (json, sizeof json, "{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}", ++s->hb_id);
  slot_send (s, json);
  return G_SOURCE_CONTINUE;
}

static gboolean
ending_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.ending_timeouts);
  note_problem ("%s: ending %d not closed by the server in time", s->user_id, s->ending);
  slot_again (s, 100);   /* resets the socket */
  return G_SOURCE_REMOVE;
}

static gboolean
end_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->timer);
  slot_end (s);
  return G_SOURCE_REMOVE;
}

static void
slot_end (Slot *s)
{
  double r = g_rand_double (s->w->rand);

  clear_source (&s->timer);
  clear_source (&s->deadline);
  s->phase = SLOT_ENDING;
  s->ending = r < 0.35 ? END_LOGOUT : r < 0.55 ? END_CLOSE : r < 0.90 ? END_RESET : END_SILENT;
  switch (s->ending)
    {
    case END_LOGOUT:
      g_atomic_int_inc (&stats.end_logout);
      s->can_resume = FALSE;
      slot_send (s, "{\"type\":\"logout\"}");
      s->deadline = slot_timeout (s, ENDING_DEADLINE_MS, ending_deadline_cb);
      break;
    case END_CLOSE:
      g_atomic_int_inc (&stats.end_close);
      if (soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, "bye");
      s->deadline = slot_timeout (s, ENDING_DEADLINE_MS, ending_deadline_cb);
      break;
    case END_RESET:
      g_atomic_int_inc (&stats.end_reset);
      slot_reset (s);
      slot_again (s, rand_ms (s, 0.05, 1.0));
      break;
    case END_SILENT:
      /* no more heartbeats: the server's heartbeat timeout has to act */
      g_atomic_int_inc (&stats.end_silent);
      clear_source (&s->heartbeat);
      s->deadline = slot_timeout (s, (guint) (opt_hb_timeout * 3000) + ENDING_DEADLINE_MS,
                                  ending_deadline_cb);
      break;
    }
}

static void
slot_login_ok (Slot       *s,
               const char *data,
               gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  double hb = 1.0;

  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      note_problem ("%s: unreadable login_ok", s->user_id);
      return;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  g_free (s->session_id);
  g_free (s->resume_key);
  s->session_id = g_strdup (json_object_get_string_member_with_default (o, "session_id", ""));
  s->resume_key = g_strdup (json_object_get_string_member_with_default (o, "resume_key", ""));
  s->last_seq = json_object_get_int_member_with_default (o, "seq", 0);
  hb = json_object_get_double_member_with_default (o, "heartbeat_interval", 1.0);
  s->hb_ms = (guint) (CLAMP (MIN (hb, opt_hb_timeout / 3), 0.1, 60) * 1000);
  s->can_resume = *s->session_id != '\0' && *s->resume_key != '\0';

  g_atomic_int_inc (&stats.logins_ok);
  if (json_object_get_boolean_member_with_default (o, "resumed", FALSE))
    g_atomic_int_inc (&stats.logins_resumed);

  clear_source (&s->deadline);
  s->phase = SLOT_LIVE;
  s->heartbeat = g_timeout_source_new (s->hb_ms);
  g_source_set_callback (s->heartbeat, heartbeat_cb, s, NULL);
  g_source_attach (s->heartbeat, s->w->context);
  s->life_end = g_get_monotonic_time () + (gint64) rand_ms (s, opt_life / 2, opt_life * 1.5) * 1000;
  if (s->publisher)
    s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
  else
    s->timer = slot_timeout (s, (guint) ((s->life_end - g_get_monotonic_time ()) / 1000), end_cb);
}

static void
message_cb (SoupWebsocketConnection *ws,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  Slot *s = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  gint64 seq;

  g_atomic_int_inc (&stats.messages);
  if (s->phase == SLOT_LOGGING_IN)
    {
      if (has_type (data, len, "login_ok"))
        slot_login_ok (s, data, len);
      else if (has_type (data, len, "error"))
        {
          int code = (int) int_member (data, len, "code");

          count_code (error_codes, code);
          g_atomic_int_inc (&stats.logins_failed);
          s->failure_counted = TRUE;
          s->can_resume = FALSE;
          note_problem ("%s: login answered %.*s", s->user_id, (int) MIN (len, 160), data);
        }
      return;
    }

  if (has_type (data, len, "event") || has_type (data, len, "heartbeat_ack"))
    {
      if ((seq = int_member (data, len, "seq")) > s->last_seq)
        s->last_seq = seq;
    }
  else if (has_type (data, len, "stream_add_ok"))
    {
      g_atomic_int_inc (&stats.streams_added);
      clear_source (&s->deadline);
      s->stream_live = TRUE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "stream_delete_ok"))
    {
      g_atomic_int_inc (&stats.streams_deleted);
      clear_source (&s->deadline);
      s->stream_live = FALSE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "request_error"))
    {
      g_atomic_int_inc (&stats.request_errors);
      count_code (error_codes, (int) int_member (data, len, "code"));
      note_problem ("%s: %.*s", s->user_id, (int) MIN (len, 160), data);
      clear_source (&s->deadline);
      s->stream_live = FALSE;
      if (s->phase == SLOT_LIVE)
        s->timer = slot_timeout (s, stream_pause_ms (s), step_cb);
    }
  else if (has_type (data, len, "kick_out"))
    {
      g_atomic_int_inc (&stats.kicks);
      s->can_resume = FALSE;
    }
  else if (has_type (data, len, "reconnect"))
    g_atomic_int_inc (&stats.reconnects);
  else if (has_type (data, len, "error"))
    {
      count_code (error_codes, (int) int_member (data, len, "code"));
      note_problem ("%s: %.*s", s->user_id, (int) MIN (len, 160), data);
    }
}

static void
closed_cb (SoupWebsocketConnection *ws,
           gpointer                 user_data)
{
  Slot *s = user_data;
  int code = soup_websocket_connection_get_close_code (ws);

  count_code (close_codes, code);
  if (s->phase == SLOT_LOGGING_IN && !s->failure_counted)
    {
      g_atomic_int_inc (&stats.logins_failed);
      note_problem ("%s: closed %d before login_ok", s->user_id, code);
    }
  if (code == 4401 || code == 4403 || code == 4400)
    s->can_resume = FALSE;
  slot_again (s, rand_ms (s, 0.05, 1.0));
}

static gboolean
login_deadline_cb (gpointer data)
{
  Slot *s = data;

  took_source (&s->deadline);
  g_atomic_int_inc (&stats.login_timeouts);
  g_atomic_int_inc (&stats.logins_failed);
  note_problem ("%s: no login_ok within %d ms (%s)", s->user_id, LOGIN_DEADLINE_MS,
                s->phase == SLOT_CONNECTING ? "WebSocket not open" : "login sent");
  slot_again (s, 1000);
  return G_SOURCE_REMOVE;
}

/* A connect in flight: its slot may have been torn down and started again since. */
typedef struct
{
  Slot *s;
  GCancellable *cancel;
} ConnectOp;

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConnectOp *op = user_data;
  Slot *s = op->s;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancel = op->cancel;
  SoupWebsocketConnection *ws;
  g_autofree char *json = NULL;

  g_free (op);
  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_cancellable_is_cancelled (cancel))
    {
      if (ws != NULL)
        {
          g_io_stream_close (soup_websocket_connection_get_io_stream (ws), NULL, NULL);
          g_object_unref (ws);
        }
      return;
    }
  g_clear_object (&s->cancel);
  if (ws == NULL)
    {
      g_atomic_int_inc (&stats.connect_failed);
      g_atomic_int_inc (&stats.logins_failed);
      note_problem ("%s: WebSocket connect failed: %s", s->user_id, error->message);
      slot_again (s, 1000);
      return;
    }
  s->ws = ws;
  soup_websocket_connection_set_max_incoming_payload_size (ws, 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), s);
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), s);
  s->phase = SLOT_LOGGING_IN;
  s->resuming = s->can_resume && g_rand_boolean (s->w->rand);
  json = login_json (s, s->resuming);
  soup_websocket_connection_send_text (ws, json);
}

static void
slot_connect (Slot *s)
{
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, server_url);
  ConnectOp *op = g_new0 (ConnectOp, 1);

  s->phase = SLOT_CONNECTING;
  s->failure_counted = FALSE;
  s->publisher = g_rand_boolean (s->w->rand);
  s->cancel = g_cancellable_new ();
  s->deadline = slot_timeout (s, LOGIN_DEADLINE_MS, login_deadline_cb);
  op->s = s;
  op->cancel = g_object_ref (s->cancel);
  soup_session_websocket_connect_async (s->w->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        s->cancel, connect_cb, op);
}

static void
worker_start (gpointer data)
{
  Worker *w = data;
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string (w->local_ip);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (ip, 0);

  w->session = g_object_new (SOUP_TYPE_SESSION, "max-conns", 65536, "max-conns-per-host", 65536,
                             "timeout", 10, "local-address", local, NULL);
  /* a ramp over the first seconds, not 1,000 handshakes at once */
  for (guint i = 0; i < w->slots->len; i++)
    {
      Slot *s = g_ptr_array_index (w->slots, i);

      s->timer = slot_timeout (s, rand_ms (s, 0, MIN (opt_life, 10)), restart_cb);
    }
}

static void
worker_stop (gpointer data)
{
  Worker *w = data;

  w->stopping = TRUE;
  for (guint i = 0; i < w->slots->len; i++)
    slot_teardown (g_ptr_array_index (w->slots, i));
  g_clear_object (&w->session);
  while (g_main_context_iteration (w->context, FALSE))
    ;
}

static void
slot_free (gpointer data)
{
  Slot *s = data;

  g_free (s->user_id);
  g_free (s->room_id);
  g_free (s->session_id);
  g_free (s->resume_key);
  g_free (s->stream_id);
  g_free (s);
}

Worker *
worker_new (guint index,
            guint first_slot,
            guint n_slots)
{
  Worker *w = g_new0 (Worker, 1);
  g_autofree char *name = g_strdup_printf ("soak-%u", index);

  w->index = index;
  w->local_ip = g_strdup_printf ("127.0.1.%u", index + 1);
  w->rand = g_rand_new ();
  w->slots = g_ptr_array_new_with_free_func (slot_free);
  for (guint i = 0; i < n_slots; i++)
    {
      Slot *s = g_new0 (Slot, 1);
      guint k = first_slot + i;

      s->w = w;
      s->index = k;
      s->user_id = g_strdup_printf ("soak-%u", k);
      s->room_id = g_strdup_printf ("soak-room-%u", k / ROOM_SIZE);
      s->slow_room = is_slow_room (k / ROOM_SIZE);
      g_ptr_array_add (w->slots, s);
    }
  w->thread = tether_test_thread_new (name);
  w->context = tether_test_thread_get_context (w->thread);
  tether_test_thread_invoke_sync (w->thread, worker_start, w);
  return w;
}

void
worker_free (Worker *w)
{
  tether_test_thread_invoke_sync (w->thread, worker_stop, w);
  tether_test_thread_free (w->thread);
  g_ptr_array_unref (w->slots);
  g_rand_free (w->rand);
  g_free (w->local_ip);
  g_free (w);
}
