/* test-guest-cli.c: guests as processes — tether-cli watch --guest plays a public room of
 * a tether-server whose host logs in with a token from examples/mint-token.py (the
 * documented token format), gets no token for a private room, cannot publish, and
 * renews its token; the key file's public-room list and guest-token-ttl; a wss://
 * server trusted through --tls-ca
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "tether.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
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

/* The example of docs/protocol.md, run with a Python 3: a token for @user, or %NULL
 * without a Python. */
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
  g_assert_null (strstr (line, "token\":\"ey"));
  g_assert_true (tether_test_process_wait_for_line (guest, "\"update\":\"ADD\",\"streams\"", WAIT_MS,
                                                    NULL));
  g_assert_true (tether_test_process_wait_for_line (guest, PLAYING, WAIT_MS, NULL));
  /* Present like anyone: the host sees the guest join. */
  g_assert_true (tether_test_process_wait_for_line (host, "{\"id\":\"guest-", WAIT_MS, NULL));
}

/* A room no pattern matches: the CLI says why and exits 2. */
static void
test_not_public (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  g_autoptr(TetherTestProcess) guest = cli ("watch", tether_test_server_process_get_url (server),
                                            "--guest", "--room", "private", NULL);

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

/* The CLI renews on every token-will-expire through the guest endpoint: more renewals
 * than one lifetime holds, and the guest is still in. The key file names the public
 * rooms (a list) and the lifetime. */
static void
test_renewal (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tether-guest-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (dir, "server.conf", NULL);
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) guest = NULL;

  g_assert_true (g_file_set_contents (config, "[server]\npublic-room=other;pub-*\n"
                                              "guest-token-ttl=4\ntoken-warning=3\n", -1, NULL));
  server = start_server ("--config", config, NULL);

  guest = cli ("watch", tether_test_server_process_get_url (server), "--guest", "--room", "pub-1",
               NULL);
  g_assert_true (tether_test_process_wait_for_line (guest, "\"reason\":\"LOGINED\"", WAIT_MS, NULL));
  /* A renewal at most per second (token times are whole seconds): six outlast the
   * first token's 4 s, after which the server would have kicked the guest. */
  TETHER_WAIT_UNTIL (tether_test_process_count_lines (guest, "\"renewed\":true,\"user\"") >= 6,
                     WAIT_MS * 2);
  g_assert_false (tether_test_process_has_exited (guest));
  g_assert_cmpuint (tether_test_process_count_lines (guest, "KICK_OUT"), ==, 0);
  g_assert_cmpuint (tether_test_process_count_lines (guest, "\"renewing\":true"), >=, 6);

  g_unlink (config);
  g_rmdir (dir);
}

/* A public room on a wss:// server with a certificate of the test's own authority:
 * with --tls-ca the guest gets its token and logs in; without it the guest-token
 * request is refused for the certificate (1019, what a room's login says), exit 2. */
static void
test_tls (void)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", "--no-media",
                                                            "--tls-cert", tls->cert_file,
                                                            "--tls-key", tls->key_file, NULL);
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) trusting = NULL;
  g_autoptr(TetherTestProcess) plain = NULL;

  g_assert_true (g_str_has_prefix (url, "wss://"));
  trusting = cli ("watch", url, "--guest", "--room", "pub-1", "--tls-ca", tls->ca_file, NULL);
  g_assert_true (tether_test_process_wait_for_line (trusting, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    NULL));
  g_assert_cmpuint (tether_test_process_count_lines (trusting, "\"user\":\"guest-"), >=, 1);

  plain = cli ("watch", url, "--guest", "--room", "pub-1", NULL);
  g_assert_true (tether_test_process_wait (plain, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (plain), ==, 2);
  g_assert_cmpuint (tether_test_process_count_lines (plain, "\"error\":1019"), ==, 1);
  g_assert_cmpuint (tether_test_process_count_lines (plain, "\"message\":\"the server's "
                                                     "certificate is not trusted: it is not "
                                                     "signed by a trusted authority\""), ==, 1);
  g_assert_false (tether_test_process_has_exited (trusting));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);

  g_test_add_func ("/guest-cli/watches", test_guest_watches);
  g_test_add_func ("/guest-cli/not-public", test_not_public);
  g_test_add_func ("/guest-cli/cannot-publish", test_guest_cannot_publish);
  g_test_add_func ("/guest-cli/renewal", test_renewal);
  g_test_add_func ("/guest-cli/tls", test_tls);

  return g_test_run ();
}
