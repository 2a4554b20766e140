/* server-fixture.c: a TetherServer in a thread of its own, driven by raw libsoup
 * WebSocket clients and plain sockets — what the protocol-level server tests share
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "server-fixture.h"
#include "tether-test-login.h"
#include "tether-test-ws.h"

gboolean
deadline_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}


/* The server, in a thread with its own context, like a real deployment where
 * the clients are elsewhere. */

const ServerConfig default_config = {
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0,
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .max_frame_size = 65536,
  .event_backlog = 1024,
};

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
  if (c->request_timeout > 0)
    g_object_set (st->server, "request-timeout", c->request_timeout, NULL);
  if (c->event_backlog_bytes > 0)
    g_object_set (st->server, "event-backlog-bytes", c->event_backlog_bytes, NULL);
  if (c->max_send_queue > 0)
    g_object_set (st->server, "max-send-queue", c->max_send_queue, NULL);
  /* The tests' clients all come from 127.0.0.1: no cap unless a test asks. */
  g_object_set (st->server, "max-connections-per-address", c->max_connections_per_address, NULL);
  tether_server_add_media_node (st->server, "node-a", "srt://127.0.0.1:9000");
  if (!tether_server_listen (st->server, "127.0.0.1", 0, &error)
      || !tether_server_listen_admin (st->server, "127.0.0.1", 0, &error))
    g_error ("listen: %s", error->message);

  g_mutex_lock (&st->lock);
  st->port = tether_server_get_port (st->server);
  st->admin_port = tether_server_get_admin_port (st->server);
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
void
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

void
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

/* Closes every client, waits for the close handshakes, frees them and the session
 * (also for tests whose servers are processes: test-cluster.c). */
void
fixture_clients_free (Fixture *fx)
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
}

void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  fixture_clients_free (fx);

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

Client *
client_connect (Fixture *fx)
{
  return client_connect_url (fx, fx->st.url);
}

/* A client of the server at @url (one node of several). */
Client *
client_connect_url (Fixture    *fx,
                    const char *url)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

  c->fx = fx;
  soup_session_websocket_connect_async (fx->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_client_connected, c);
  g_assert_true (WAIT_UNTIL (c->connect_done, WAIT_MS));
  g_ptr_array_add (fx->clients, c);
  return c;
}

void
client_send (Client     *c,
             const char *json)
{
  soup_websocket_connection_send_text (c->ws, json);
}

void
client_send_builder (Client      *c,
                     JsonBuilder *b)
{
  g_autofree char *json = tether_protocol_serialize (b);

  client_send (c, json);
}

JsonObject *
client_next (Client *c)
{
  if (!WAIT_UNTIL (c->messages.length > 0 || c->closed, WAIT_MS) || c->messages.length == 0)
    return NULL;
  return g_queue_pop_head (&c->messages);
}

/* The next message must be of @type. */
JsonObject *
client_expect (Client     *c,
               const char *type)
{
  JsonObject *o = client_next (c);

  g_assert_nonnull (o);
  g_assert_cmpstr (tether_json_get_string (o, "type"), ==, type);
  return o;
}

void
client_expect_closed (Client  *c,
                      gushort  code)
{
  g_assert_true (WAIT_UNTIL (c->closed, WAIT_MS));
  g_assert_cmpuint (c->close_code, ==, code);
}

gint64
get_int (JsonObject *o,
         const char *name)
{
  gint64 v = -1;

  g_assert_true (tether_json_get_int (o, name, &v));
  return v;
}

char *
mint (const char      *user,
      const char      *room,
      TetherPrivilege  privileges,
      gint64           issued_offset,
      gint64           lifetime)
{
  return tether_token_mint (SECRET, APP, user, room, privileges, NULL,
                            g_get_real_time () / G_USEC_PER_SEC + issued_offset, lifetime);
}

void
client_send_login (Client          *c,
                   const char      *user,
                   const LoginArgs *args)
{
  g_autofree char *token = NULL;
  g_autofree char *json = NULL;
  TetherTestLogin login = {
    .app_id = args != NULL && args->app_id != NULL ? args->app_id : APP,
    .room_id = args != NULL && args->room != NULL ? args->room : ROOM,
    .user_id = user,
    .notify_users = args == NULL || args->notify,
  };

  if (args == NULL || args->token == NULL)
    token = mint (user, login.room_id, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);
  login.token = token != NULL ? token : args->token;
  if (args != NULL && args->resume_session != NULL)
    {
      login.resume_session_id = args->resume_session;
      login.resume_key = args->resume_key;
      login.last_seq = args->last_seq;
    }
  json = tether_test_login_json (&login);
  client_send (c, json);
}

/* Connects and logs in; returns the client and (optionally) its login_ok. */
Client *
client_login (Fixture          *fx,
              const char       *user,
              const LoginArgs  *args,
              JsonObject      **login_ok)
{
  return client_login_url (fx, fx->st.url, user, args, login_ok);
}

Client *
client_login_url (Fixture          *fx,
                  const char       *url,
                  const char       *user,
                  const LoginArgs  *args,
                  JsonObject      **login_ok)
{
  Client *c = client_connect_url (fx, url);
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
void
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

void
client_heartbeat_ok (Client *c,
                     gint64  id)
{
  client_heartbeat_full (c, id, FALSE);
}

void
client_request (Client     *c,
                const char *json)
{
  client_send (c, json);
}

void
expect_error (Client  *c,
              int      code,
              gushort  close_code)
{
  g_autoptr(JsonObject) err = client_expect (c, "error");

  g_assert_cmpint (get_int (err, "code"), ==, code);
  g_assert_nonnull (tether_json_get_string (err, "message"));
  client_expect_closed (c, close_code);
}

JsonObject *
expect_event (Client     *c,
              const char *kind,
              const char *update)
{
  JsonObject *ev = client_expect (c, "event");

  g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, kind);
  g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, update);
  return ev;
}

const char *
first_id (JsonObject *ev,
          const char *array)
{
  JsonArray *a = tether_json_get_array (ev, array);

  g_assert_nonnull (a);
  g_assert_cmpuint (json_array_get_length (a), >=, 1);
  return tether_json_get_string (json_array_get_object_element (a, 0), "id");
}

char *
http_get (Fixture    *fx,
          const char *path)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fx->st.admin_port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read (fx->session, msg, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

guint64
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

/* A plain TCP connection to the public port, from @from (any loopback address;
 * NULL for the default) with a receive buffer of @rcvbuf bytes (0: the default). */
GSocketConnection *
tcp_connect_from (Fixture    *fx,
                  const char *from,
                  int         rcvbuf)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) to = g_inet_socket_address_new (loopback, fx->st.port);

  g_assert_no_error (error);
  if (rcvbuf > 0)
    g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, rcvbuf, NULL));
  if (from != NULL)
    {
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string (from, 0);

      g_assert_true (g_socket_bind (socket, local, FALSE, &error));
    }
  g_assert_true (g_socket_connect (socket, to, NULL, &error));
  g_socket_set_timeout (socket, 5);
  return g_socket_connection_factory_create_connection (socket);
}

/* A WebSocket handshake done by hand over tcp_connect_from(). */
GSocketConnection *
raw_connect_from (Fixture    *fx,
                  const char *from,
                  int         rcvbuf)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *request = tether_test_ws_upgrade_request (fx->st.port);
  GSocketConnection *conn;
  GString *response = g_string_new (NULL);
  GInputStream *in;

  conn = tcp_connect_from (fx, from, rcvbuf);
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

GSocketConnection *
raw_connect (Fixture *fx)
{
  return raw_connect_from (fx, NULL, 0);
}

void
raw_send_frame (GSocketConnection *conn,
                guint8             opcode,
                const guint8      *payload,
                gsize              len)
{
  raw_send_frame_full (conn, TRUE, opcode, payload, len);
}

/* One masked client frame; @fin FALSE starts or continues a fragmented message. */
void
raw_send_frame_full (GSocketConnection *conn,
                     gboolean           fin,
                     guint8             opcode,
                     const guint8      *payload,
                     gsize              len)
{
  g_autoptr(GByteArray) frame = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (len, <=, G_MAXUINT16);
  frame = tether_test_ws_client_frame (fin, opcode, payload, len);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                             frame->data, frame->len, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Reads frames until a close frame; returns its code. */
guint
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
