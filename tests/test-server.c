/* test-server.c: protocol-level tests of the room service — a TetherServer in its own
 * thread and main context, driven by raw libsoup WebSocket clients and plain sockets
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-server.h"
#include "tether-token.h"

#define SECRET "test-secret"
#define APP "demo"
#define ROOM "lobby"
#define WAIT_MS 5000

/* Waiting: iterate the test thread's main context until a condition holds or a
 * deadline passes. Never a sleep. */

static gboolean
deadline_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

#define WAIT_UNTIL(expr, ms)                                          \
  ({                                                                  \
    gboolean _expired = FALSE;                                        \
    guint _id = g_timeout_add ((ms), deadline_cb, &_expired);         \
    while (!(expr) && !_expired)                                      \
      g_main_context_iteration (NULL, TRUE);                          \
    if (!_expired)                                                    \
      g_source_remove (_id);                                          \
    (expr);                                                           \
  })

/* The server, in a thread with its own context, like a real deployment where
 * the clients are elsewhere. */

typedef struct
{
  double heartbeat_timeout;
  double session_ttl;
  double login_grace;
  double login_rate;
  double login_burst;
  double token_warning;
  double token_skew;
  guint  max_frame_size;
  guint  event_backlog;
} ServerConfig;

static const ServerConfig default_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 1024,
};

typedef struct
{
  ServerConfig  config;
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  TetherServer *server;
  guint16       port;
  char         *url;
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
} ServerThread;

static gpointer
server_thread_main (gpointer data)
{
  ServerThread *st = data;
  g_autoptr(GError) error = NULL;
  const ServerConfig *c = &st->config;

  g_main_context_push_thread_default (st->context);
  st->server = tether_server_new (APP, SECRET);
  g_object_set (st->server,
                "heartbeat-timeout", c->heartbeat_timeout,
                "session-ttl", c->session_ttl,
                "login-grace", c->login_grace,
                "login-rate", c->login_rate,
                "login-burst", c->login_burst,
                "token-warning", c->token_warning,
                "token-skew", c->token_skew,
                "max-frame-size", c->max_frame_size,
                "event-backlog", c->event_backlog,
                NULL);
  tether_server_add_media_node (st->server, "node-a", "srt://127.0.0.1:9000");
  if (!tether_server_listen (st->server, "127.0.0.1", 0, &error))
    g_error ("listen: %s", error->message);

  g_mutex_lock (&st->lock);
  st->port = tether_server_get_port (st->server);
  st->url = tether_server_get_url (st->server);
  st->ready = TRUE;
  g_cond_signal (&st->cond);
  g_mutex_unlock (&st->lock);

  g_main_loop_run (st->loop);

  g_clear_object (&st->server);
  while (g_main_context_iteration (st->context, FALSE))
    ;
  g_main_context_pop_thread_default (st->context);
  return NULL;
}

typedef struct
{
  ServerThread *st;
  void        (*func) (TetherServer *server, gpointer data);
  gpointer      data;
  gboolean      done;
} ServerCall;

static gboolean
server_call_cb (gpointer data)
{
  ServerCall *call = data;

  call->func (call->st->server, call->data);
  g_mutex_lock (&call->st->lock);
  call->done = TRUE;
  g_cond_broadcast (&call->st->cond);
  g_mutex_unlock (&call->st->lock);
  return G_SOURCE_REMOVE;
}

/* Runs @func in the server's thread and waits for it. */
static void
server_call (ServerThread *st,
             void        (*func) (TetherServer *server, gpointer data),
             gpointer      data)
{
  ServerCall call = { st, func, data, FALSE };

  g_main_context_invoke (st->context, server_call_cb, &call);
  g_mutex_lock (&st->lock);
  while (!call.done)
    g_cond_wait (&st->cond, &st->lock);
  g_mutex_unlock (&st->lock);
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Fixture */

typedef struct
{
  ServerThread  st;
  SoupSession  *session;
  GPtrArray    *clients;
} Fixture;

typedef struct
{
  Fixture                 *fx;
  SoupWebsocketConnection *ws;
  GQueue                   messages;      /* JsonObject */
  gboolean                 connect_done;
  gboolean                 closed;
  gushort                  close_code;
} Client;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  const ServerConfig *config = data != NULL ? data : &default_config;

  fx->st.config = *config;
  fx->st.context = g_main_context_new ();
  fx->st.loop = g_main_loop_new (fx->st.context, FALSE);
  g_mutex_init (&fx->st.lock);
  g_cond_init (&fx->st.cond);
  fx->st.thread = g_thread_new ("server", server_thread_main, &fx->st);
  g_mutex_lock (&fx->st.lock);
  while (!fx->st.ready)
    g_cond_wait (&fx->st.cond, &fx->st.lock);
  g_mutex_unlock (&fx->st.lock);

  fx->session = soup_session_new ();
  fx->clients = g_ptr_array_new ();
}

static void
client_free (Client *c)
{
  g_signal_handlers_disconnect_by_data (c->ws, c);
  if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&c->ws);
  g_queue_clear_full (&c->messages, (GDestroyNotify) json_object_unref);
  g_free (c);
}

static gboolean
all_clients_closed (Fixture *fx)
{
  for (guint i = 0; i < fx->clients->len; i++)
    {
      Client *c = g_ptr_array_index (fx->clients, i);

      if (soup_websocket_connection_get_state (c->ws) != SOUP_WEBSOCKET_STATE_CLOSED)
        return FALSE;
    }
  return TRUE;
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  for (guint i = 0; i < fx->clients->len; i++)
    {
      Client *c = g_ptr_array_index (fx->clients, i);

      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  /* Let the close handshakes finish before the server goes away. */
  WAIT_UNTIL (all_clients_closed (fx), WAIT_MS);
  for (guint i = 0; i < fx->clients->len; i++)
    client_free (g_ptr_array_index (fx->clients, i));
  g_ptr_array_unref (fx->clients);
  g_clear_object (&fx->session);

  g_main_context_invoke (fx->st.context, quit_cb, fx->st.loop);
  g_thread_join (fx->st.thread);
  g_main_loop_unref (fx->st.loop);
  g_main_context_unref (fx->st.context);
  g_mutex_clear (&fx->st.lock);
  g_cond_clear (&fx->st.cond);
  g_free (fx->st.url);
}

/* Clients */

static void
on_client_message (SoupWebsocketConnection *ws,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  Client *c = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  JsonNode *root;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_true (json_parser_load_from_data (parser, data, len, NULL));
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_queue_push_tail (&c->messages, json_object_ref (json_node_get_object (root)));
}

static void
on_client_closed (SoupWebsocketConnection *ws,
                  gpointer                 user_data)
{
  Client *c = user_data;

  c->closed = TRUE;
  c->close_code = soup_websocket_connection_get_close_code (ws);
}

static void
on_client_connected (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Client *c = user_data;
  g_autoptr(GError) error = NULL;

  c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
  soup_websocket_connection_set_max_incoming_payload_size (c->ws, 0);
  g_signal_connect (c->ws, "message", G_CALLBACK (on_client_message), c);
  g_signal_connect (c->ws, "closed", G_CALLBACK (on_client_closed), c);
  c->connect_done = TRUE;
}

static Client *
client_connect (Fixture *fx)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", fx->st.url);

  c->fx = fx;
  soup_session_websocket_connect_async (fx->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_client_connected, c);
  g_assert_true (WAIT_UNTIL (c->connect_done, WAIT_MS));
  g_ptr_array_add (fx->clients, c);
  return c;
}

static void
client_send (Client     *c,
             const char *json)
{
  soup_websocket_connection_send_text (c->ws, json);
}

static void
client_send_builder (Client      *c,
                     JsonBuilder *b)
{
  g_autofree char *json = tether_protocol_serialize (b);

  client_send (c, json);
}

static JsonObject *
client_next (Client *c)
{
  if (!WAIT_UNTIL (c->messages.length > 0 || c->closed, WAIT_MS) || c->messages.length == 0)
    return NULL;
  return g_queue_pop_head (&c->messages);
}

/* The next message must be of @type. */
static JsonObject *
client_expect (Client     *c,
               const char *type)
{
  JsonObject *o = client_next (c);

  g_assert_nonnull (o);
  g_assert_cmpstr (tether_json_get_string (o, "type"), ==, type);
  return o;
}

static void
client_expect_closed (Client  *c,
                      gushort  code)
{
  g_assert_true (WAIT_UNTIL (c->closed, WAIT_MS));
  g_assert_cmpuint (c->close_code, ==, code);
}

static gint64
get_int (JsonObject *o,
         const char *name)
{
  gint64 v = -1;

  g_assert_true (tether_json_get_int (o, name, &v));
  return v;
}

static char *
mint (const char      *user,
      const char      *room,
      TetherPrivilege  privileges,
      gint64           issued_offset,
      gint64           lifetime)
{
  return tether_token_mint (SECRET, APP, user, room, privileges, NULL,
                            g_get_real_time () / G_USEC_PER_SEC + issued_offset, lifetime);
}

typedef struct
{
  const char *room;
  const char *app_id;
  const char *token;
  gboolean    notify;
  const char *resume_session;
  const char *resume_key;
  gint64      last_seq;
} LoginArgs;

static void
client_send_login (Client          *c,
                   const char      *user,
                   const LoginArgs *args)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *token = NULL;
  const char *room = args != NULL && args->room != NULL ? args->room : ROOM;

  if (args == NULL || args->token == NULL)
    token = mint (user, room, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "login");
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "app_id");
  json_builder_add_string_value (b, args != NULL && args->app_id != NULL ? args->app_id : APP);
  json_builder_set_member_name (b, "room_id");
  json_builder_add_string_value (b, room);
  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, user);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, user);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token != NULL ? token : args->token);
  json_builder_set_member_name (b, "notify_users");
  json_builder_add_boolean_value (b, args == NULL || args->notify);
  if (args != NULL && args->resume_session != NULL)
    {
      json_builder_set_member_name (b, "resume");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "session_id");
      json_builder_add_string_value (b, args->resume_session);
      json_builder_set_member_name (b, "resume_key");
      json_builder_add_string_value (b, args->resume_key);
      json_builder_set_member_name (b, "last_seq");
      json_builder_add_int_value (b, args->last_seq);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  client_send_builder (c, b);
}

/* Connects and logs in; returns the client and (optionally) its login_ok. */
static Client *
client_login (Fixture          *fx,
              const char       *user,
              const LoginArgs  *args,
              JsonObject      **login_ok)
{
  Client *c = client_connect (fx);
  JsonObject *ok;

  client_send_login (c, user, args);
  ok = client_expect (c, "login_ok");
  if (login_ok != NULL)
    *login_ok = ok;
  else
    json_object_unref (ok);
  return c;
}

/* Sends a heartbeat; the very next message must be its ack (so nothing else was
 * pending for this client), unless @skip_events. */
static void
client_heartbeat_full (Client   *c,
                       gint64    id,
                       gboolean  skip_events)
{
  g_autofree char *json = g_strdup_printf ("{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}", id);

  client_send (c, json);
  for (;;)
    {
      g_autoptr(JsonObject) o = client_next (c);

      g_assert_nonnull (o);
      if (skip_events && g_strcmp0 (tether_json_get_string (o, "type"), "event") == 0)
        continue;
      g_assert_cmpstr (tether_json_get_string (o, "type"), ==, "heartbeat_ack");
      g_assert_cmpint (get_int (o, "id"), ==, id);
      break;
    }
}

static void
client_heartbeat_ok (Client *c,
                     gint64  id)
{
  client_heartbeat_full (c, id, FALSE);
}

static void
client_request (Client     *c,
                const char *json)
{
  client_send (c, json);
}

static void
expect_error (Client  *c,
              int      code,
              gushort  close_code)
{
  g_autoptr(JsonObject) err = client_expect (c, "error");

  g_assert_cmpint (get_int (err, "code"), ==, code);
  g_assert_nonnull (tether_json_get_string (err, "message"));
  client_expect_closed (c, close_code);
}

static JsonObject *
expect_event (Client     *c,
              const char *kind,
              const char *update)
{
  JsonObject *ev = client_expect (c, "event");

  g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, kind);
  g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, update);
  return ev;
}

static const char *
first_id (JsonObject *ev,
          const char *array)
{
  JsonArray *a = tether_json_get_array (ev, array);

  g_assert_nonnull (a);
  g_assert_cmpuint (json_array_get_length (a), >=, 1);
  return tether_json_get_string (json_array_get_object_element (a, 0), "id");
}

static char *
http_get (Fixture    *fx,
          const char *path)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fx->st.port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read (fx->session, msg, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static guint64
metric (Fixture    *fx,
        const char *name)
{
  g_autofree char *text = http_get (fx, "/metrics");
  g_autofree char *needle = g_strdup_printf ("\n%s ", name);
  const char *at = strstr (text, needle);

  g_assert_nonnull (at);
  return g_ascii_strtoull (at + strlen (needle), NULL, 10);
}

/* Raw WebSocket over a plain socket, for frames libsoup refuses to send. */

static GSocketConnection *
raw_connect (Fixture *fx)
{
  g_autoptr(GSocketClient) sc = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *request = g_strdup_printf (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", fx->st.port);
  GSocketConnection *conn;
  GString *response = g_string_new (NULL);
  GInputStream *in;

  conn = g_socket_client_connect_to_host (sc, "127.0.0.1", fx->st.port, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  while (strstr (response->str, "\r\n\r\n") == NULL)
    {
      char ch;

      g_assert_cmpint (g_input_stream_read (in, &ch, 1, NULL, &error), ==, 1);
      g_string_append_c (response, ch);
    }
  g_assert_true (g_str_has_prefix (response->str, "HTTP/1.1 101"));
  g_string_free (response, TRUE);

  return conn;
}

static void
raw_send_frame (GSocketConnection *conn,
                guint8             opcode,
                const guint8      *payload,
                gsize              len)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint8 head[10];
  gsize head_len;
  static const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };

  head[0] = 0x80 | opcode;
  if (len < 126)
    {
      head[1] = 0x80 | (guint8) len;
      head_len = 2;
    }
  else
    {
      g_assert_cmpuint (len, <=, G_MAXUINT16);
      head[1] = 0x80 | 126;
      head[2] = (guint8) (len >> 8);
      head[3] = (guint8) len;
      head_len = 4;
    }
  g_byte_array_append (frame, head, head_len);
  g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = payload[i] ^ mask[i % 4];
      g_byte_array_append (frame, &b, 1);
    }
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                             frame->data, frame->len, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Reads frames until a close frame; returns its code. */
static guint
raw_read_close_code (GSocketConnection *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint8 head[2], ext[8];
      g_autofree guint8 *payload = NULL;
      gsize len, got = 0;

      if (!g_input_stream_read_all (in, head, 2, &got, NULL, &error) || got != 2)
        return 0;
      len = head[1] & 0x7f;
      if (len == 126)
        {
          g_assert_true (g_input_stream_read_all (in, ext, 2, &got, NULL, NULL));
          len = (ext[0] << 8) | ext[1];
        }
      g_assert_cmpuint (len, <, 126 * 1024);
      payload = g_malloc (len + 1);
      if (!g_input_stream_read_all (in, payload, len, &got, NULL, &error) || got != len)
        return 0;
      if ((head[0] & 0x0f) == 0x8)
        return len >= 2 ? (guint) ((payload[0] << 8) | payload[1]) : 1005;
    }
}

/* Tests */

static void
test_http (Fixture       *fx,
           gconstpointer  data)
{
  g_autofree char *health = http_get (fx, "/healthz");
  g_autofree char *metrics = http_get (fx, "/metrics");
  const char *names[] = {
    "tether_sessions", "tether_rooms", "tether_connections", "tether_logins_total",
    "tether_login_failures_total", "tether_resumes_total", "tether_rejoins_total",
    "tether_heartbeat_timeouts_total", "tether_kicks_total", "tether_rejected_inputs_total",
    "tether_events_total",
  };

  g_assert_cmpstr (health, ==, "ok\n");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *line = g_strdup_printf ("\n%s ", names[i]);
      g_assert_nonnull (strstr (metrics, line));
    }
}

static void
test_login_ok (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) ok2 = NULL;
  g_autoptr(JsonObject) add = NULL;
  Client *alice = client_login (fx, "alice", NULL, &ok);
  JsonArray *nodes;
  double d;

  g_assert_cmpint (get_int (ok, "v"), ==, 1);
  g_assert_nonnull (tether_json_get_string (ok, "room_session_id"));
  g_assert_nonnull (tether_json_get_string (ok, "session_id"));
  g_assert_cmpuint (strlen (tether_json_get_string (ok, "resume_key")), >=, 32);
  g_assert_false (tether_json_get_bool (ok, "resumed", TRUE));
  g_assert_cmpint (get_int (ok, "seq"), >=, 0);
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "users")), ==, 0);
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "streams")), ==, 0);
  g_assert_true (tether_json_get_number (ok, "heartbeat_interval", &d) && d > 0);
  g_assert_true (tether_json_get_number (ok, "heartbeat_timeout", &d) && d == 30.0);
  g_assert_true (tether_json_get_number (ok, "session_ttl", &d) && d == 60.0);
  g_assert_cmpint (get_int (ok, "token_expires_at"), >, g_get_real_time () / G_USEC_PER_SEC);
  nodes = tether_json_get_array (ok, "media_nodes");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 1);
  g_assert_cmpstr (tether_json_get_string (json_array_get_object_element (nodes, 0), "url"), ==,
                   "srt://127.0.0.1:9000");

  /* A second user sees the first; the room session id is the room's. */
  client_login (fx, "bob", NULL, &ok2);
  add = expect_event (alice, "user", "ADD");
  /* bob's snapshot is taken just before his own ADD, which others get next. */
  g_assert_cmpint (get_int (add, "seq"), ==, get_int (ok2, "seq") + 1);
  g_assert_cmpstr (tether_json_get_string (ok2, "room_session_id"), ==,
                   tether_json_get_string (ok, "room_session_id"));
  g_assert_cmpstr (first_id (ok2, "users"), ==, "alice");
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok2, "users")), ==, 1);

  client_heartbeat_ok (alice, 7);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 2);
  g_assert_cmpuint (metric (fx, "tether_rooms"), ==, 1);
}

static void
test_auth_failures (Fixture       *fx,
                    gconstpointer  data)
{
  struct {
    const char *what;
    char       *token;
    const char *app_id;
    int         code;
  } cases[] = {
    { "bad app id", NULL, "other-app", TETHER_ERROR_APP_ID_INVALID },
    { "garbage token", g_strdup ("not-a-token"), NULL, TETHER_ERROR_TOKEN_INVALID },
    { "wrong secret", tether_token_mint ("other-secret", APP, "alice", NULL, TETHER_PRIVILEGE_LOGIN,
                                         NULL, g_get_real_time () / G_USEC_PER_SEC, 3600),
      NULL, TETHER_ERROR_TOKEN_INVALID },
    { "expired token", mint ("alice", ROOM, TETHER_PRIVILEGE_LOGIN, -7200, 3600), NULL,
      TETHER_ERROR_TOKEN_EXPIRED },
    { "token for another room", mint ("alice", "elsewhere", TETHER_PRIVILEGE_LOGIN, 0, 3600), NULL,
      TETHER_ERROR_PERMISSION_DENIED },
    { "token for another user", mint ("mallory", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600), NULL,
      TETHER_ERROR_PERMISSION_DENIED },
    { "no login privilege", mint ("alice", ROOM, TETHER_PRIVILEGE_PUBLISH, 0, 3600), NULL,
      TETHER_ERROR_PERMISSION_DENIED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Client *c = client_connect (fx);
      LoginArgs args = { .token = cases[i].token, .app_id = cases[i].app_id };

      g_test_message ("case: %s", cases[i].what);
      client_send_login (c, "alice", &args);
      expect_error (c, cases[i].code, TETHER_CLOSE_AUTH);
      g_free (cases[i].token);
    }

  g_assert_cmpuint (metric (fx, "tether_login_failures_total"), ==, G_N_ELEMENTS (cases));
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 0);
}

static void
test_invalid_ids (Fixture       *fx,
                  gconstpointer  data)
{
  Client *c = client_connect (fx);
  LoginArgs args = { .room = "bad room" };

  client_send_login (c, "alice", &args);
  expect_error (c, TETHER_ERROR_ROOM_ID_INVALID, TETHER_CLOSE_PROTOCOL);

  c = client_connect (fx);
  client_send_login (c, "al/ice", NULL);
  expect_error (c, TETHER_ERROR_USER_ID_INVALID, TETHER_CLOSE_PROTOCOL);

  c = client_connect (fx);
  client_send (c, "{\"type\":\"login\",\"v\":2,\"app_id\":\"demo\"}");
  expect_error (c, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);
}

static void
test_user_events (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(JsonObject) ok_bob = NULL;
  g_autoptr(JsonObject) add = NULL;
  g_autoptr(JsonObject) add2 = NULL;
  g_autoptr(JsonObject) ok_alice = NULL;
  LoginArgs quiet = { .notify = FALSE };
  Client *alice = client_login (fx, "alice", NULL, &ok_alice);
  Client *bob = client_login (fx, "bob", &quiet, &ok_bob);

  /* bob did not ask for user notifications: empty list, no user events. */
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok_bob, "users")), ==, 0);

  add = expect_event (alice, "user", "ADD");
  g_assert_cmpstr (first_id (add, "users"), ==, "bob");
  g_assert_cmpint (get_int (add, "seq"), ==, get_int (ok_bob, "seq") + 1);

  client_login (fx, "carol", NULL, NULL);
  add2 = expect_event (alice, "user", "ADD");
  g_assert_cmpstr (first_id (add2, "users"), ==, "carol");
  g_assert_cmpint (get_int (add2, "seq"), ==, get_int (add, "seq") + 1);

  /* Nothing reached bob before his ack. */
  client_heartbeat_ok (bob, 1);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 3);
}

static void
test_streams (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) add = NULL;
  g_autoptr(JsonObject) own_add = NULL;
  g_autoptr(JsonObject) err = NULL;
  g_autoptr(JsonObject) err2 = NULL;
  g_autoptr(JsonObject) err3 = NULL;
  g_autoptr(JsonObject) del = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) reply2 = NULL;
  g_autoptr(JsonObject) ok_carol = NULL;
  g_autofree char *viewer_token = mint ("dave", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600);
  LoginArgs viewer = { .token = viewer_token, .notify = TRUE };
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *bob = client_login (fx, "bob", NULL, NULL);
  Client *dave;
  JsonObject *s;

  g_autoptr(JsonObject) bob_add = expect_event (alice, "user", "ADD");

  client_request (alice, "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"cam1\",\"extra\":\"x\",\"node\":\"node-a\"}}");
  reply = client_expect (alice, "stream_add_ok");
  g_assert_cmpint (get_int (reply, "req"), ==, 1);
  own_add = expect_event (alice, "stream", "ADD");   /* publishers hear about their own streams */

  add = expect_event (bob, "stream", "ADD");
  s = json_array_get_object_element (tether_json_get_array (add, "streams"), 0);
  g_assert_cmpstr (tether_json_get_string (s, "id"), ==, "cam1");
  g_assert_cmpstr (tether_json_get_string (s, "user_id"), ==, "alice");
  g_assert_cmpstr (tether_json_get_string (s, "node"), ==, "node-a");
  g_assert_cmpstr (tether_json_get_string (s, "extra"), ==, "x");

  /* Another user's stream id: taken; deleting it: not found. */
  client_request (bob, "{\"type\":\"stream_add\",\"req\":2,\"stream\":{\"id\":\"cam1\"}}");
  err = client_expect (bob, "request_error");
  g_assert_cmpint (get_int (err, "req"), ==, 2);
  g_assert_cmpint (get_int (err, "code"), ==, TETHER_ERROR_STREAM_ID_TAKEN);
  client_request (bob, "{\"type\":\"stream_delete\",\"req\":3,\"stream_id\":\"cam1\"}");
  err2 = client_expect (bob, "request_error");
  g_assert_cmpint (get_int (err2, "code"), ==, TETHER_ERROR_STREAM_NOT_FOUND);

  /* A viewer without the publish privilege. */
  dave = client_login (fx, "dave", &viewer, NULL);
  client_request (dave, "{\"type\":\"stream_add\",\"req\":4,\"stream\":{\"id\":\"cam9\"}}");
  err3 = client_expect (dave, "request_error");
  g_assert_cmpint (get_int (err3, "code"), ==, TETHER_ERROR_PUBLISH_DENIED);
  client_heartbeat_ok (dave, 1);

  /* A late joiner gets the stream in its snapshot. */
  client_login (fx, "carol", NULL, &ok_carol);
  g_assert_cmpstr (first_id (ok_carol, "streams"), ==, "cam1");

  /* Others hear of a joiner after its own login_ok: drain alice up to carol's ADD. */
  for (;;)
    {
      g_autoptr(JsonObject) ev = client_expect (alice, "event");

      if (tether_json_get_array (ev, "users") != NULL && g_strcmp0 (first_id (ev, "users"), "carol") == 0)
        break;
    }
  client_request (alice, "{\"type\":\"stream_delete\",\"req\":5,\"stream_id\":\"cam1\",\"reason\":\"stopped\"}");
  reply2 = client_expect (alice, "stream_delete_ok");
  g_assert_cmpint (get_int (reply2, "req"), ==, 5);

  for (;;)
    {
      g_autoptr(JsonObject) ev = client_expect (bob, "event");

      if (g_str_equal (tether_json_get_string (ev, "kind"), "stream"))
        {
          g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, "DELETE");
          g_assert_cmpstr (tether_json_get_string (ev, "reason"), ==, "stopped");
          g_assert_cmpstr (first_id (ev, "streams"), ==, "cam1");
          break;
        }
    }
  client_heartbeat_ok (bob, 2);
}

static void
test_duplicate_login (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) ok_old = NULL;
  g_autoptr(JsonObject) ok_new = NULL;
  g_autoptr(JsonObject) own_add = NULL;
  g_autoptr(JsonObject) own_del = NULL;
  g_autoptr(JsonObject) kick = NULL;
  g_autoptr(JsonObject) bob_add = NULL;
  g_autoptr(JsonObject) bob_del = NULL;
  g_autoptr(JsonObject) kick2 = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) ack = NULL;
  Client *old = client_login (fx, "alice", NULL, &ok_old);
  Client *bob = client_login (fx, "bob", NULL, NULL);
  Client *again;
  LoginArgs resume = { 0 };

  g_autoptr(JsonObject) user_add = expect_event (old, "user", "ADD");
  client_request (old, "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"cam1\"}}");
  reply = client_expect (old, "stream_add_ok");
  own_add = expect_event (old, "stream", "ADD");
  bob_add = expect_event (bob, "stream", "ADD");

  client_login (fx, "alice", NULL, &ok_new);
  g_assert_false (tether_json_get_bool (ok_new, "resumed", TRUE));
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok_new, "streams")), ==, 0);
  g_assert_cmpstr (first_id (ok_new, "users"), ==, "bob");

  /* The old connection: its stream goes first, then the kick, then close 4403. */
  own_del = expect_event (old, "stream", "DELETE");
  g_assert_cmpstr (tether_json_get_string (own_del, "reason"), ==, "duplicate_login");
  kick = client_expect (old, "kick_out");
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  g_assert_cmpstr (tether_json_get_string (kick, "message"), ==, "logged in elsewhere");
  client_expect_closed (old, TETHER_CLOSE_KICKED);

  /* The others: one stream DELETE, no user DELETE/ADD for the swap. The stream
   * event carries a seq lower than anything after the kick. */
  bob_del = expect_event (bob, "stream", "DELETE");
  g_assert_cmpstr (tether_json_get_string (bob_del, "reason"), ==, "duplicate_login");
  g_assert_cmpint (get_int (bob_del, "seq"), ==, get_int (own_del, "seq"));
  client_send (bob, "{\"type\":\"heartbeat\",\"id\":1}");
  ack = client_expect (bob, "heartbeat_ack");
  g_assert_cmpint (get_int (ack, "seq"), ==, get_int (bob_del, "seq"));

  /* Resuming the kicked session gets kick_out again. */
  resume.resume_session = tether_json_get_string (ok_old, "session_id");
  resume.resume_key = tether_json_get_string (ok_old, "resume_key");
  resume.last_seq = get_int (ok_old, "seq");
  again = client_connect (fx);
  client_send_login (again, "alice", &resume);
  kick2 = client_expect (again, "kick_out");
  g_assert_cmpint (get_int (kick2, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  client_expect_closed (again, TETHER_CLOSE_KICKED);

  g_assert_cmpuint (metric (fx, "tether_kicks_total"), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 2);
}

static void
test_resume_present (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) ok2 = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) own = NULL;
  g_autoptr(JsonObject) missed = NULL;
  g_autoptr(JsonObject) bob_add = NULL;
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *bob = client_login (fx, "bob", NULL, &ok);
  LoginArgs resume = { .notify = TRUE };
  Client *bob2;

  bob_add = expect_event (alice, "user", "ADD");

  /* bob's connection breaks without a logout. */
  soup_websocket_connection_close (bob->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_assert_true (WAIT_UNTIL (bob->closed, WAIT_MS));

  /* Something happens while bob is away. */
  client_request (alice, "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"cam1\"}}");
  reply = client_expect (alice, "stream_add_ok");
  own = expect_event (alice, "stream", "ADD");

  resume.resume_session = tether_json_get_string (ok, "session_id");
  resume.resume_key = tether_json_get_string (ok, "resume_key");
  resume.last_seq = get_int (ok, "seq");
  bob2 = client_connect (fx);
  client_send_login (bob2, "bob", &resume);
  ok2 = client_expect (bob2, "login_ok");
  g_assert_true (tether_json_get_bool (ok2, "resumed", FALSE));
  g_assert_false (tether_json_get_bool (ok2, "resync", FALSE));
  g_assert_cmpstr (tether_json_get_string (ok2, "session_id"), ==, resume.resume_session);
  missed = expect_event (bob2, "stream", "ADD");
  /* Later than last_seq; the session's own ADD in between is never sent to it. */
  g_assert_cmpint (get_int (missed, "seq"), >, resume.last_seq);
  client_heartbeat_ok (bob2, 1);

  /* alice saw nothing of it. */
  client_heartbeat_ok (alice, 1);
  g_assert_cmpuint (metric (fx, "tether_resumes_total"), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 2);
}

static const ServerConfig small_backlog_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 2,
};

static void
test_resume_resync (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) ok2 = NULL;
  Client *bob = client_login (fx, "bob", NULL, &ok);
  LoginArgs resume = { .notify = TRUE };
  Client *bob2;

  soup_websocket_connection_close (bob->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_assert_true (WAIT_UNTIL (bob->closed, WAIT_MS));

  /* More events than the ring keeps. */
  client_login (fx, "u1", NULL, NULL);
  client_login (fx, "u2", NULL, NULL);
  client_login (fx, "u3", NULL, NULL);

  resume.resume_session = tether_json_get_string (ok, "session_id");
  resume.resume_key = tether_json_get_string (ok, "resume_key");
  resume.last_seq = get_int (ok, "seq");
  bob2 = client_connect (fx);
  client_send_login (bob2, "bob", &resume);
  ok2 = client_expect (bob2, "login_ok");
  g_assert_true (tether_json_get_bool (ok2, "resumed", FALSE));
  g_assert_true (tether_json_get_bool (ok2, "resync", FALSE));
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok2, "users")), ==, 3);
  /* bob's own ADD (after his snapshot) and the three joins. */
  g_assert_cmpint (get_int (ok2, "seq"), ==, resume.last_seq + 4);
  client_heartbeat_ok (bob2, 1);
}

static const ServerConfig fast_timeout_config = {
  .heartbeat_timeout = 0.6, .session_ttl = 30, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 1024,
};

static gboolean
heartbeat_tick (gpointer data)
{
  Client *c = data;

  if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    client_send (c, "{\"type\":\"heartbeat\",\"id\":0}");
  return G_SOURCE_CONTINUE;
}

static gboolean
has_event (Client     *c,
           const char *kind,
           const char *update)
{
  for (GList *l = c->messages.head; l != NULL; l = l->next)
    {
      JsonObject *o = l->data;

      if (g_strcmp0 (tether_json_get_string (o, "type"), "event") == 0
          && g_strcmp0 (tether_json_get_string (o, "kind"), kind) == 0
          && g_strcmp0 (tether_json_get_string (o, "update"), update) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_heartbeat_timeout_rejoin (Fixture       *fx,
                               gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) ok2 = NULL;
  g_autoptr(JsonObject) reply = NULL;
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *bob = client_login (fx, "bob", NULL, &ok);
  LoginArgs resume = { .notify = TRUE };
  Client *bob2;
  guint tick;

  tick = g_timeout_add (100, heartbeat_tick, alice);
  client_request (bob, "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"cam1\"}}");
  reply = client_expect (bob, "stream_add_ok");

  /* bob falls silent: alice sees his stream go, then him; his connection is cut. */
  g_assert_true (WAIT_UNTIL (has_event (alice, "user", "DELETE"), WAIT_MS));
  g_assert_true (has_event (alice, "stream", "DELETE"));
  g_assert_true (WAIT_UNTIL (bob->closed, WAIT_MS));
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 1);
  g_queue_clear_full (&alice->messages, (GDestroyNotify) json_object_unref);

  /* Case 2: back after the timeout, within the TTL. */
  resume.resume_session = tether_json_get_string (ok, "session_id");
  resume.resume_key = tether_json_get_string (ok, "resume_key");
  resume.last_seq = get_int (ok, "seq");
  bob2 = client_connect (fx);
  client_send_login (bob2, "bob", &resume);
  ok2 = client_expect (bob2, "login_ok");
  g_assert_false (tether_json_get_bool (ok2, "resumed", TRUE));
  g_assert_cmpstr (first_id (ok2, "users"), ==, "alice");
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok2, "streams")), ==, 0);
  g_assert_true (WAIT_UNTIL (has_event (alice, "user", "ADD"), WAIT_MS));

  g_source_remove (tick);
  client_heartbeat_ok (bob2, 1);
  g_assert_cmpuint (metric (fx, "tether_heartbeat_timeouts_total"), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_rejoins_total"), ==, 1);
}

static void
test_logout (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(JsonObject) bob_add = NULL;
  g_autoptr(JsonObject) del = NULL;
  g_autoptr(JsonObject) bye = NULL;
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *bob = client_login (fx, "bob", NULL, NULL);

  bob_add = expect_event (alice, "user", "ADD");
  client_send (bob, "{\"type\":\"logout\"}");
  bye = client_expect (bob, "logout_ok");
  client_expect_closed (bob, SOUP_WEBSOCKET_CLOSE_NORMAL);
  del = expect_event (alice, "user", "DELETE");
  g_assert_cmpstr (first_id (del, "users"), ==, "bob");
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 1);
}

static const ServerConfig small_frame_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 4096,
  .event_backlog = 1024,
};

static void
test_bad_input (Fixture       *fx,
                gconstpointer  data)
{
  struct {
    const char *what;
    const char *frame;
    gboolean    login_first;
    int         code;
  } cases[] = {
    { "malformed JSON", "{\"type\": \"heartbeat\"", FALSE, TETHER_ERROR_PROTOCOL },
    { "not an object", "[1, 2]", FALSE, TETHER_ERROR_PROTOCOL },
    { "no type", "{\"id\": 1}", FALSE, TETHER_ERROR_PROTOCOL },
    { "too deep", "{\"type\":\"login\",\"a\":[[[[[[[[[[1]]]]]]]]]]}", FALSE, TETHER_ERROR_PROTOCOL },
    { "message before login", "{\"type\":\"heartbeat\",\"id\":1}", FALSE, TETHER_ERROR_NOT_LOGGED_IN },
    { "login with wrong member types", "{\"type\":\"login\",\"v\":\"1\"}", FALSE, TETHER_ERROR_PROTOCOL },
    { "unknown type", "{\"type\":\"teleport\"}", TRUE, TETHER_ERROR_PROTOCOL },
    { "request without req", "{\"type\":\"stream_add\",\"req\":\"x\",\"stream\":{\"id\":\"c\"}}", TRUE,
      TETHER_ERROR_PROTOCOL },
    { "stream with wrong extra", "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c\",\"extra\":5}}",
      TRUE, TETHER_ERROR_PROTOCOL },
    { "heartbeat id object", "{\"type\":\"heartbeat\",\"id\":{}}", TRUE, TETHER_ERROR_PROTOCOL },
    { "second login", "{\"type\":\"login\"}", TRUE, TETHER_ERROR_PROTOCOL },
  };
  Client *alice = client_login (fx, "alice", NULL, NULL);
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Client *c;

      g_test_message ("case: %s", cases[i].what);
      if (cases[i].login_first)
        {
          g_autofree char *user = g_strdup_printf ("bad%u", i);
          c = client_login (fx, user, NULL, NULL);
        }
      else
        {
          c = client_connect (fx);
        }
      client_send (c, cases[i].frame);
      /* Events about other bad clients joining may come first. */
      for (;;)
        {
          g_autoptr(JsonObject) o = client_next (c);

          g_assert_nonnull (o);
          if (g_strcmp0 (tether_json_get_string (o, "type"), "event") == 0)
            continue;
          g_assert_cmpstr (tether_json_get_string (o, "type"), ==, "error");
          g_assert_cmpint (get_int (o, "code"), ==, cases[i].code);
          break;
        }
      client_expect_closed (c, TETHER_CLOSE_PROTOCOL);
      n++;

      client_heartbeat_full (alice, i, TRUE);
    }

  /* Binary frame. */
  {
    Client *c = client_connect (fx);
    static const guint8 bin[] = { 0, 1, 2, 3 };

    soup_websocket_connection_send_binary (c->ws, bin, sizeof bin);
    expect_error (c, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);
    n++;
    client_heartbeat_ok (alice, 100);
  }

  /* Oversized frame: libsoup refuses it before it is read; close 1009. */
  {
    g_autoptr(GSocketConnection) raw = raw_connect (fx);
    g_autofree guint8 *big = g_malloc (8192);

    memset (big, 'a', 8192);
    raw_send_frame (raw, 0x1, big, 8192);
    g_assert_cmpuint (raw_read_close_code (raw), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
    n++;
    client_heartbeat_ok (alice, 101);
  }

  /* Invalid UTF-8 in a text frame: close 1007. */
  {
    g_autoptr(GSocketConnection) raw = raw_connect (fx);
    static const guint8 bad[] = { '{', '"', 0xff, 0xfe, '"', '}' };

    raw_send_frame (raw, 0x1, bad, sizeof bad);
    g_assert_cmpuint (raw_read_close_code (raw), ==, SOUP_WEBSOCKET_CLOSE_BAD_DATA);
    n++;
    client_heartbeat_ok (alice, 102);
  }

  g_assert_cmpuint (metric (fx, "tether_rejected_inputs_total"), ==, n);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 1 + 5);
  client_heartbeat_ok (alice, 103);
}

static const ServerConfig short_grace_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 0.3, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 1024,
};

static void
test_login_timeout (Fixture       *fx,
                    gconstpointer  data)
{
  Client *c = client_connect (fx);

  expect_error (c, TETHER_ERROR_LOGIN_TIMEOUT, TETHER_CLOSE_LOGIN_TIMEOUT);
}

static const ServerConfig rate_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0.01,
  .login_burst = 2, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 1024,
};

static void
test_rate_limit (Fixture       *fx,
                 gconstpointer  data)
{
  Client *c;

  client_login (fx, "u1", NULL, NULL);
  client_login (fx, "u2", NULL, NULL);
  c = client_connect (fx);
  client_send_login (c, "u3", NULL);
  expect_error (c, TETHER_ERROR_RATE_LIMITED, TETHER_CLOSE_RATE_LIMITED);
}

static const ServerConfig token_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 100, .token_skew = 0, .max_frame_size = 65536,
  .event_backlog = 1024,
};

static void
test_token_expiry (Fixture       *fx,
                   gconstpointer  data)
{
  g_autofree char *long_token = mint ("alice", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600);
  g_autofree char *short_token = mint ("bob", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 2);
  g_autofree char *renewed = mint ("alice", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 7200);
  g_autofree char *foreign = mint ("bob", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 7200);
  g_autofree char *renew = g_strdup_printf ("{\"type\":\"token_renew\",\"req\":9,\"token\":\"%s\"}", renewed);
  g_autofree char *renew_bad = g_strdup_printf ("{\"type\":\"token_renew\",\"req\":8,\"token\":\"%s\"}", foreign);
  LoginArgs a = { .token = long_token, .notify = FALSE };
  LoginArgs b = { .token = short_token, .notify = FALSE };
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) warn = NULL;
  g_autoptr(JsonObject) warn_bob = NULL;
  g_autoptr(JsonObject) bad = NULL;
  g_autoptr(JsonObject) renewed_ok = NULL;
  g_autoptr(JsonObject) kick = NULL;
  Client *alice = client_login (fx, "alice", &a, &ok);
  Client *bob = client_login (fx, "bob", &b, NULL);

  /* 3600 s left is not within the 100 s warning: nothing yet... */
  client_heartbeat_ok (alice, 1);

  /* ...but bob's 2 s token warns at once and then expires. */
  warn_bob = client_expect (bob, "token_will_expire");
  g_assert_nonnull (json_object_get_member (warn_bob, "remaining"));
  kick = client_expect (bob, "kick_out");
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_TOKEN_EXPIRED);
  client_expect_closed (bob, TETHER_CLOSE_KICKED);

  /* Renewal: a token for someone else is refused, the right one accepted. */
  client_send (alice, renew_bad);
  bad = client_expect (alice, "request_error");
  g_assert_cmpint (get_int (bad, "code"), ==, TETHER_ERROR_PERMISSION_DENIED);
  client_send (alice, renew);
  renewed_ok = client_expect (alice, "token_renew_ok");
  g_assert_cmpint (get_int (renewed_ok, "req"), ==, 9);
  g_assert_cmpint (get_int (renewed_ok, "expires_at"), >, get_int (ok, "token_expires_at"));
  client_heartbeat_ok (alice, 2);
  g_assert_cmpuint (metric (fx, "tether_sessions"), ==, 1);
}

static void
do_shutdown (TetherServer *server,
             gpointer      data)
{
  tether_server_shutdown (server, 0.5);
}

static void
test_shutdown (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(JsonObject) msg = NULL;
  Client *alice = client_login (fx, "alice", NULL, NULL);
  double retry = 0;

  server_call (&fx->st, do_shutdown, NULL);
  msg = client_expect (alice, "reconnect");
  g_assert_true (tether_json_get_number (msg, "retry_after", &retry));
  g_assert_cmpfloat (retry, ==, 0.5);
  client_expect_closed (alice, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

/* Hundreds of frames made by mutating valid ones (a character replaced, inserted,
 * or the frame cut short): each gets an answer or a close, never a hang, and the
 * server stays healthy for an ordinary client throughout. GTest's seed makes a
 * failure reproducible (-p /server/mutated-input --seed=...). */
static void
test_mutated_input (Fixture       *fx,
                    gconstpointer  data)
{
  g_autofree char *token = mint ("mallory", ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                 0, 3600);
  g_autofree char *login =
    g_strdup_printf ("{\"type\":\"login\",\"v\":1,\"app_id\":\"" APP "\",\"room_id\":\"" ROOM "\","
                     "\"user\":{\"id\":\"mallory\",\"name\":\"M\"},\"token\":\"%s\","
                     "\"notify_users\":true,\"resume\":{\"session_id\":\"ab\","
                     "\"resume_key\":\"cd\",\"last_seq\":3}}", token);
  const char *seeds[] = {
    login,
    "{\"type\":\"heartbeat\",\"id\":7}",
    "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c1\",\"node\":\"n\",\"extra\":\"\"}}",
    "{\"type\":\"stream_delete\",\"req\":2,\"stream_id\":\"c1\",\"reason\":\"stopped\"}",
    "{\"type\":\"token_renew\",\"req\":3,\"token\":\"a.b\"}",
    "{\"type\":\"logout\"}",
  };
  static const char alphabet[] = "{}[]\",:\\'0123456789aetxyz -.eE+";
  Client *alice = client_login (fx, "alice", NULL, NULL);

  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(GString) frame = g_string_new (seeds[g_test_rand_int_range (0, G_N_ELEMENTS (seeds))]);
      guint edits = (guint) g_test_rand_int_range (1, 4);
      Client *c;

      for (guint e = 0; e < edits && frame->len > 0; e++)
        {
          gsize pos = (gsize) g_test_rand_int_range (0, (gint32) frame->len);
          char ch = alphabet[g_test_rand_int_range (0, sizeof alphabet - 1)];

          switch (g_test_rand_int_range (0, 3))
            {
            case 0: frame->str[pos] = ch; break;
            case 1: g_string_insert_c (frame, pos, ch); break;
            default: g_string_truncate (frame, pos); break;
            }
        }

      c = client_connect (fx);
      client_send (c, frame->str);
      if (!WAIT_UNTIL (c->messages.length > 0 || c->closed, WAIT_MS))
        g_error ("no answer and no close for frame %s", frame->str);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      if (i % 50 == 0)
        client_heartbeat_full (alice, i, TRUE);
    }

  client_heartbeat_full (alice, 1000, TRUE);
  g_assert_cmpuint (metric (fx, "tether_rejected_inputs_total"), >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, config) \
  g_test_add ("/server/" path, Fixture, config, fixture_setup, func, fixture_teardown)

  ADD ("http", test_http, NULL);
  ADD ("login-ok", test_login_ok, NULL);
  ADD ("auth-failures", test_auth_failures, NULL);
  ADD ("invalid-ids", test_invalid_ids, NULL);
  ADD ("user-events", test_user_events, NULL);
  ADD ("streams", test_streams, NULL);
  ADD ("duplicate-login", test_duplicate_login, NULL);
  ADD ("resume-present", test_resume_present, NULL);
  ADD ("resume-resync", test_resume_resync, &small_backlog_config);
  ADD ("heartbeat-timeout-rejoin", test_heartbeat_timeout_rejoin, &fast_timeout_config);
  ADD ("logout", test_logout, NULL);
  ADD ("bad-input", test_bad_input, &small_frame_config);
  ADD ("mutated-input", test_mutated_input, NULL);
  ADD ("login-timeout", test_login_timeout, &short_grace_config);
  ADD ("rate-limit", test_rate_limit, &rate_config);
  ADD ("token-expiry", test_token_expiry, &token_config);
  ADD ("shutdown", test_shutdown, NULL);

  return g_test_run ();
}
