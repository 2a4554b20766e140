/* test-server.c: protocol-level tests of the room service — a TetherServer in its own
 * thread and main context, driven by raw libsoup WebSocket clients and plain sockets
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "server-fixture.h"

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

  /* A malformed app id is a protocol error; a well-formed foreign one is refused
   * (4401) before any field after it is looked at. */
  c = client_connect (fx);
  args = (LoginArgs) { .app_id = "bad app" };
  client_send_login (c, "alice", &args);
  expect_error (c, TETHER_ERROR_APP_ID_INVALID, TETHER_CLOSE_PROTOCOL);

  c = client_connect (fx);
  args = (LoginArgs) { .app_id = "other-app", .room = "bad room" };
  client_send_login (c, "alice", &args);
  expect_error (c, TETHER_ERROR_APP_ID_INVALID, TETHER_CLOSE_AUTH);
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
