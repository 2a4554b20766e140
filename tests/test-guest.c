/* test-guest.c: guests — public rooms, POST /v1/guest-token, tether-cli watch --guest,
 * and a host token minted by examples/mint-token.py (the documented format) — against
 * tether-server processes
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "tether.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

#define WAIT_MS 15000
#define PLAYING "\"state\":\"PLAYING\""

/* A tether-server process with the test app; its own arguments follow. */
#define start_server(...)                                                               \
  tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,                        \
                                  "--app-secret", TETHER_TEST_SECRET,                    \
                                  "--heartbeat-interval", "0.3", __VA_ARGS__)

/* `tether-cli COMMAND --server URL ARGS…`: no app id, token or secret unless given. */
static TetherTestProcess *
cli (const char *command,
     const char *url,
     ...)
{
  g_autofree char *program = tether_test_cli_program ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  TetherTestProcess *p;
  va_list ap;

  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, (char *) "--server");
  g_ptr_array_add (argv, (char *) url);
  va_start (ap, url);
  for (const char *arg = va_arg (ap, const char *); arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  p = tether_test_process_spawnv ((const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

/* The example of docs/protocol.md, run with a Python 3: a token for @user. */
static char *
python_mint (const char *user,
             const char *room,
             gboolean    publish)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "..", "examples", "mint-token.py",
                                                   NULL);
  g_autofree char *python = g_find_program_in_path ("python3");
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "TETHER_APP_SECRET", TETHER_TEST_SECRET,
                                        TRUE);
  const char *argv[] = { NULL, script, TETHER_TEST_APP_ID, user, room,
                         publish ? "--publish" : NULL, NULL };
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = 0;

  argv[0] = g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3"
                                                                          : python;
  if (argv[0] == NULL)
    return NULL;
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return g_strstrip (out);
}

/* POST @body to /v1/guest-token; returns the status and the parsed answer. */
static guint
post (TetherTestServerProcess  *server,
      const char               *method,
      const char               *body,
      gssize                    len,
      JsonObject              **answer)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/v1/guest-token",
                                          tether_test_server_process_get_port (server));
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json",
                                              g_bytes_new (body, len < 0 ? strlen (body) : (gsize) len));
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
assert_refused (TetherTestServerProcess *server,
                const char              *body,
                gssize                   len,
                guint                    status,
                gint64                   code)
{
  g_autoptr(JsonObject) answer = NULL;

  g_assert_cmpuint (post (server, "POST", body, len, &answer), ==, status);
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
request (TetherTestServerProcess *server,
         const char              *room,
         const char              *current,
         Answer                  *a)
{
  answer_clear (a);
  tether_guest_token_request_async (tether_test_server_process_get_url (server), room, current,
                                    NULL, NULL, answer_cb, a);
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

/* A host publishes with a token from examples/mint-token.py; a guest with nothing but
 * the server and the room plays it, and counts as a user of the room. */
static void
test_guest_watches (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  const char *url = tether_test_server_process_get_url (server);
  g_autofree char *token = python_mint ("host", "pub-1", TRUE);
  g_autoptr(TetherTestProcess) host = NULL;
  g_autoptr(TetherTestProcess) guest = NULL;
  g_autofree char *line = NULL;

  if (token == NULL)
    {
      g_test_skip ("no python3");
      return;
    }
  host = cli ("publish", url, "--app-id", TETHER_TEST_APP_ID, "--token", token, "--room", "pub-1",
              "--user", "host", "--stream", "cam", "--notify-users", NULL);
  g_assert_true (tether_test_process_wait_for_line (host, "\"state\":\"PUBLISHING\"", WAIT_MS, NULL));

  guest = cli ("watch", url, "--guest", "--room", "pub-1", "--autoplay", NULL);
  g_assert_true (tether_test_process_wait_for_line (guest, "\"event\":\"guest-token\"", WAIT_MS,
                                                    &line));
  g_assert_nonnull (strstr (line, "\"user\":\"guest-"));
  g_assert_true (tether_test_process_wait_for_line (guest, "\"update\":\"ADD\",\"streams\"", WAIT_MS,
                                                    NULL));
  g_assert_true (tether_test_process_wait_for_line (guest, PLAYING, WAIT_MS, NULL));
  /* Present like anyone: the host sees the guest join. */
  g_assert_true (tether_test_process_wait_for_line (host, "{\"id\":\"guest-", WAIT_MS, NULL));
}

/* A room no pattern matches refuses guests: 403 with 1020, and the CLI exits 2. */
static void
test_not_public (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  g_autoptr(TetherTestProcess) guest = NULL;
  Answer a = { 0, };

  assert_refused (server, "{\"room\":\"private\"}", -1, 403, TETHER_ERROR_ROOM_NOT_PUBLIC);
  request (server, "private", NULL, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_ROOM_NOT_PUBLIC);
  answer_clear (&a);

  guest = cli ("watch", tether_test_server_process_get_url (server), "--guest", "--room",
               "private", NULL);
  g_assert_true (tether_test_process_wait (guest, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (guest), ==, 2);
  g_assert_cmpuint (tether_test_process_count_lines (guest, "\"error\":1020"), ==, 1);
}

/* A guest token plays but never publishes: stream_add gets 2002. */
static void
test_guest_cannot_publish (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  g_autoptr(TetherTestProcess) guest = cli ("publish", tether_test_server_process_get_url (server),
                                            "--guest", "--room", "pub-1", "--stream", "cam", NULL);

  g_assert_true (tether_test_process_wait_for_line (guest, "\"error\":2002", WAIT_MS, NULL));
  g_assert_cmpuint (tether_test_process_count_lines (guest, "\"state\":\"PUBLISHING\""), ==, 0);
}

/* The current guest token buys the next one for the same guest, and nothing else does;
 * the key file's public-room list and guest-token-ttl apply. */
static void
test_renewal (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tether-guest-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (dir, "server.conf", NULL);
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) guest = NULL;
  g_autofree char *forged = NULL;
  g_autofree char *foreign = NULL;
  g_autofree char *publisher = NULL;
  g_autofree char *alice = NULL;
  g_autofree char *first = NULL;
  g_autofree char *user = NULL;
  g_autofree char *body = NULL;
  Answer a = { 0, };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_true (g_file_set_contents (config, "[server]\npublic-room=pub-*;open\n"
                                              "guest-token-ttl=4\ntoken-warning=3\n", -1, NULL));
  server = start_server ("--config", config, NULL);

  request (server, "open", NULL, &a);
  g_assert_no_error (a.error);
  g_assert_true (g_str_has_prefix (a.user, "guest-"));
  g_assert_cmpstr (a.app, ==, TETHER_TEST_APP_ID);
  g_assert_cmpint (a.expires_at, >=, now + 4);
  g_assert_cmpint (a.expires_at, <=, now + 4 + 60);
  first = g_steal_pointer (&a.token);
  user = g_steal_pointer (&a.user);

  request (server, "open", first, &a);
  g_assert_no_error (a.error);
  g_assert_cmpstr (a.user, ==, user);
  g_assert_cmpstr (a.token, !=, first);

  /* Another room's guest token, a forged signature, an operator token for a guest- name
   * that may publish, and an ordinary user's token: none renews. */
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
  alice = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, "alice", "open",
                             TETHER_PRIVILEGE_LOGIN, NULL, now, 60);
  request (server, "open", alice, &a);
  g_assert_error (a.error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED);
  body = g_strdup_printf ("{\"room\":\"open\",\"token\":\"%s\"}", forged);
  assert_refused (server, body, -1, 403, TETHER_ERROR_TOKEN_INVALID);
  answer_clear (&a);

  /* The CLI renews on every token-will-expire: more renewals than one lifetime holds,
   * and the guest is still in. */
  guest = cli ("watch", tether_test_server_process_get_url (server), "--guest", "--room", "pub-1",
               NULL);
  g_assert_true (tether_test_process_wait_for_line (guest, "\"reason\":\"LOGINED\"", WAIT_MS, NULL));
  TETHER_WAIT_UNTIL (tether_test_process_count_lines (guest, "\"renewed\":true,\"user\"") >= 6, WAIT_MS * 2);
  g_assert_false (tether_test_process_has_exited (guest));
  g_assert_cmpuint (tether_test_process_count_lines (guest, "KICK_OUT"), ==, 0);
  g_assert_cmpuint (tether_test_process_count_lines (guest, "\"renewing\":true"), >=, 6);

  g_unlink (config);
  g_rmdir (dir);
}

/* Guest tokens draw on the per-address login bucket: past the burst, 429 with 1009. */
static void
test_rate_limit (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*",
                                                            "--login-rate", "0.01",
                                                            "--login-burst", "3", NULL);

  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (post (server, "POST", "{\"room\":\"pub-1\"}", -1, NULL), ==, 200);
  assert_refused (server, "{\"room\":\"pub-1\"}", -1, 429, TETHER_ERROR_RATE_LIMITED);
}

/* Bad requests get 400 (405 for another method) and a JSON error; the server stays. */
static void
test_malformed (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *huge = NULL;
  struct { const char *body; gint64 code; } cases[] = {
    { "", TETHER_ERROR_PROTOCOL },
    { "not json", TETHER_ERROR_PROTOCOL },
    { "[\"pub-1\"]", TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\"} {}", TETHER_ERROR_PROTOCOL },
    { "{}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":5}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":null}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":[\"pub-1\"]}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":{\"a\":{\"b\":1}}}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-1\",\"token\":7}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-\\u0000\"}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub-\xff\xfe\"}", TETHER_ERROR_PROTOCOL },
    { "{\"room\":\"pub 1\"}", TETHER_ERROR_ROOM_ID_INVALID },
    { "{\"room\":\"\"}", TETHER_ERROR_ROOM_ID_INVALID },
    { "{\"room\":\"pub-1\",\"token\":\"not-a-token\"}", -TETHER_ERROR_TOKEN_INVALID },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (cases[i].code < 0)
        assert_refused (server, cases[i].body, -1, 403, -cases[i].code);
      else
        assert_refused (server, cases[i].body, -1, 400, cases[i].code);
    }

  huge = g_strdup_printf ("{\"room\":\"pub-1\",\"pad\":\"%0*d\"}", 16 * 1024, 0);
  assert_refused (server, huge, -1, 400, TETHER_ERROR_PROTOCOL);

  g_assert_cmpuint (post (server, "GET", NULL, 0, &answer), ==, 405);
  g_assert_cmpint (json_object_get_int_member (answer, "error"), ==, TETHER_ERROR_PROTOCOL);
  g_clear_pointer (&answer, json_object_unref);

  g_assert_cmpuint (post (server, "POST", "{\"room\":\"pub-1\"}", -1, &answer), ==, 200);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (answer, "user"), "guest-"));
  g_assert_false (tether_test_process_has_exited (tether_test_server_process_get_process (server)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);

  g_test_add_func ("/guest/url", test_url);
  g_test_add_func ("/guest/watches", test_guest_watches);
  g_test_add_func ("/guest/not-public", test_not_public);
  g_test_add_func ("/guest/cannot-publish", test_guest_cannot_publish);
  g_test_add_func ("/guest/renewal", test_renewal);
  g_test_add_func ("/guest/rate-limit", test_rate_limit);
  g_test_add_func ("/guest/malformed", test_malformed);

  return g_test_run ();
}
