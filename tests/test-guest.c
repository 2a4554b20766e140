/* test-guest.c: POST /v1/guest-token of a TetherServer in a thread — public rooms,
 * renewal, the rate limit, malformed bodies — and tether_guest_token_request_async().
 * The CLI and media side is tests/test-guest-cli.c.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

#define WAIT_MS 5000

static void
make_public (TetherServer *server,
             gpointer      data)
{
  tether_server_add_public_room (server, "pub-*");
  tether_server_add_public_room (server, "open");
}

/* A server whose rooms pub-* and open are public; properties as for
 * tether_test_server_new() follow. */
#define start_server(...)                                                       \
  ({                                                                            \
    TetherTestServer *_server = tether_test_server_new (__VA_ARGS__);           \
    tether_test_server_run_sync (_server, make_public, NULL);                   \
    _server;                                                                    \
  })

/* @method @body on /v1/guest-token; returns the status and the parsed answer. */
static guint
post (TetherTestServer  *server,
      const char        *method,
      const char        *body,
      JsonObject       **answer)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/v1/guest-token",
                                          tether_test_server_get_port (server));
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  if (answer != NULL)
    {
      json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                                  &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      *answer = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
    }
  return soup_message_get_status (msg);
}

/* The status and error code of a refused request. */
static void
assert_refused (TetherTestServer *server,
                const char       *body,
                guint             status,
                gint64            code)
{
  g_autoptr(JsonObject) answer = NULL;

  g_assert_cmpuint (post (server, "POST", body, &answer), ==, status);
  g_assert_cmpint (json_object_get_int_member (answer, "error"), ==, code);
  g_assert_true (json_object_has_member (answer, "message"));
}

typedef struct
{
  gboolean done;
  char    *token;
  char    *user;
  char    *app;
  gint64   expires_at;
  GError  *error;
} Answer;

static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Answer *a = user_data;

  a->token = tether_guest_token_request_finish (result, &a->user, &a->app, &a->expires_at,
                                                &a->error);
  a->done = TRUE;
}

static void
answer_clear (Answer *a)
{
  g_free (a->token);
  g_free (a->user);
  g_free (a->app);
  g_clear_error (&a->error);
  memset (a, 0, sizeof *a);
}

/* Through libtether, as the app and the CLI ask. */
static void
request (TetherTestServer *server,
         const char       *room,
         const char       *current,
         Answer           *a)
{
  answer_clear (a);
  tether_guest_token_request_async (tether_test_server_get_url (server), room, current, NULL, NULL,
                                    answer_cb, a);
  TETHER_WAIT_UNTIL (a->done, WAIT_MS);
}

static void
test_url (void)
{
  struct { const char *ws; const char *http; } cases[] = {
    { "ws://127.0.0.1:7480/ws", "http://127.0.0.1:7480/v1/guest-token" },
    { "wss://example.org/ws", "https://example.org/v1/guest-token" },
    { "wss://example.org/tether/ws?x=1", "https://example.org/tether/v1/guest-token" },
    { "ws://[::1]:9/ws", "http://[::1]:9/v1/guest-token" },
    { "https://example.org/ws", NULL },
    { "example.org", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = tether_guest_token_url (cases[i].ws);

      g_assert_cmpstr (url, ==, cases[i].http);
    }
}

/* A guest token is an ordinary token: login only, for the room, a guest- user. */
static void
test_token (void)
{
  g_autoptr(TetherTestServer) server = start_server ("guest-token-ttl", 120.0, NULL);
  g_autoptr(TetherTokenClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  Answer a = { 0, };

  request (server, "pub-1", NULL, &a);
  g_assert_no_error (a.error);
  g_assert_true (g_str_has_prefix (a.user, "guest-"));
  g_assert_cmpuint (strlen (a.user), ==, strlen ("guest-") + 16);
  g_assert_cmpstr (a.app, ==, TETHER_TEST_APP_ID);
  g_assert_cmpint (a.expires_at, >=, now + 120);
  g_assert_cmpint (a.expires_at, <=, now + 120 + 60);

  claims = tether_token_verify (a.token, TETHER_TEST_SECRET, TETHER_TEST_APP_ID, now, 30, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (claims->user_id, ==, a.user);
  g_assert_cmpstr (claims->room_id, ==, "pub-1");
  g_assert_cmpint (claims->privileges, ==, TETHER_PRIVILEGE_LOGIN);
  g_assert_cmpint (claims->expires_at, ==, a.expires_at);
  answer_clear (&a);
}

/* A room no pattern matches refuses guests: 403 with 1020. */
static void
test_not_public (void)
{
  g_autoptr(TetherTestServer) server = start_server (NULL);
  Answer a = { 0, };

  assert_refused (server, "{\"room\":\"private\"}", 403, TETHER_ERROR_ROOM_NOT_PUBLIC);
  request (server, "private", NULL, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_ROOM_NOT_PUBLIC);
  answer_clear (&a);
}

/* The current guest token buys the next one for the same guest, and nothing else does. */
static void
test_renewal (void)
{
  g_autoptr(TetherTestServer) server = start_server (NULL);
  g_autofree char *forged = NULL;
  g_autofree char *foreign = NULL;
  g_autofree char *publisher = NULL;
  g_autofree char *any_room = NULL;
  g_autofree char *alice = NULL;
  g_autofree char *first = NULL;
  g_autofree char *user = NULL;
  g_autofree char *body = NULL;
  g_autofree char *metrics = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  Answer a = { 0, };

  request (server, "open", NULL, &a);
  g_assert_no_error (a.error);
  first = g_steal_pointer (&a.token);
  user = g_steal_pointer (&a.user);

  request (server, "open", first, &a);
  g_assert_no_error (a.error);
  g_assert_cmpstr (a.user, ==, user);
  g_assert_cmpstr (a.token, !=, first);
  metrics = tether_test_server_get_metrics_text (server);
  g_assert_nonnull (strstr (metrics, "\ntether_guest_tokens_total 2\n"));

  /* Another room's, a forged signature, another secret's, an operator token for the
   * guest's name that may publish or opens every room, an ordinary user's token, an
   * expired one: none renews. */
  request (server, "pub-2", first, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED);
  forged = g_strdup (first);
  forged[strlen (forged) - 2] = forged[strlen (forged) - 2] == 'A' ? 'B' : 'A';
  request (server, "open", forged, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_TOKEN_INVALID);
  foreign = tether_token_mint ("another-secret", TETHER_TEST_APP_ID, user, "open",
                               TETHER_PRIVILEGE_LOGIN, NULL, now, 60);
  request (server, "open", foreign, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_TOKEN_INVALID);
  publisher = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, user, "open",
                                 TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL, now, 60);
  request (server, "open", publisher, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED);
  any_room = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, user, NULL,
                                TETHER_PRIVILEGE_LOGIN, NULL, now, 60);
  request (server, "open", any_room, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED);
  alice = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, "alice", "open",
                             TETHER_PRIVILEGE_LOGIN, NULL, now, 60);
  request (server, "open", alice, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED);
  g_free (alice);
  alice = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, user, "open",
                             TETHER_PRIVILEGE_LOGIN, NULL, now - 600, 60);
  request (server, "open", alice, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_TOKEN_EXPIRED);
  body = g_strdup_printf ("{\"room\":\"open\",\"token\":\"%s\"}", forged);
  assert_refused (server, body, 403, TETHER_ERROR_TOKEN_INVALID);
  answer_clear (&a);
}

/* Guest tokens draw on the per-address login bucket: past the burst, 429 with 1009. */
static void
test_rate_limit (void)
{
  g_autoptr(TetherTestServer) server = start_server ("login-rate", 0.01, "login-burst", 3.0, NULL);
  Answer a = { 0, };

  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (post (server, "POST", "{\"room\":\"pub-1\"}", NULL), ==, 200);
  assert_refused (server, "{\"room\":\"pub-1\"}", 429, TETHER_ERROR_RATE_LIMITED);
  request (server, "pub-1", NULL, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_RATE_LIMITED);
  answer_clear (&a);
}

/* Bad requests get 400 (405 for another method) and a JSON error; the server stays. */
static void
test_malformed (void)
{
  g_autoptr(TetherTestServer) server = start_server (NULL);
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *huge = NULL;
  struct { const char *body; guint status; gint64 code; } cases[] = {
    { "", 400, TETHER_ERROR_PROTOCOL },
    { "not json", 400, TETHER_ERROR_PROTOCOL },
    { "[\"pub-1\"]", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\"} {}", 400, TETHER_ERROR_PROTOCOL },
    { "{}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":5}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":null}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":[\"pub-1\"]}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":{\"a\":{\"b\":1}}}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\",\"n\":1e999}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\",\"n\":9007199254740993}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\",\"token\":7}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-\\u0000\"}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-\\ud800\"}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-\xff\xfe\"}", 400, TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub 1\"}", 400, TETHER_ERROR_ROOM_ID_INVALID },
    { "{\"room\":\"\"}", 400, TETHER_ERROR_ROOM_ID_INVALID },
    { "{\"room\":\"pub-1\",\"token\":\"not-a-token\"}", 403, TETHER_ERROR_TOKEN_INVALID },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (server, cases[i].body, cases[i].status, cases[i].code);

  huge = g_strdup_printf ("{\"room\":\"pub-1\",\"pad\":\"%0*d\"}", 16 * 1024, 0);
  assert_refused (server, huge, 400, TETHER_ERROR_PROTOCOL);

  g_assert_cmpuint (post (server, "GET", NULL, &answer), ==, 405);
  g_assert_cmpint (json_object_get_int_member (answer, "error"), ==, TETHER_ERROR_PROTOCOL);
  g_clear_pointer (&answer, json_object_unref);
  g_assert_cmpuint (post (server, "POST", NULL, NULL), ==, 400);

  /* "token": null is no token. */
  g_assert_cmpuint (post (server, "POST", "{\"room\":\"pub-1\",\"token\":null}", &answer), ==, 200);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (answer, "user"), "guest-"));
  g_assert_true (tether_test_server_is_running (server));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/guest/url", test_url);
  g_test_add_func ("/guest/token", test_token);
  g_test_add_func ("/guest/not-public", test_not_public);
  g_test_add_func ("/guest/renewal", test_renewal);
  g_test_add_func ("/guest/rate-limit", test_rate_limit);
  g_test_add_func ("/guest/malformed", test_malformed);

  return g_test_run ();
}
