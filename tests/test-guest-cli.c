/* test-guest-cli.c: guests as processes — tether-cli watch --guest plays a public room of
 * a tether-server whose host logs in with a token from examples/mint-token.py (the
 * documented token format), gets no token for a private room, cannot publish, and
 * renews its token; the key file's public-room list and guest-token-ttl; a wss://
 * server trusted through --tls-ca
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/wait.h>

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

/* A host publishes with a token from examples/mint-token.py; a guest with nothing but
 * the server and the room plays it, and counts as a user of the room. */
static void
test_guest_watches (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  const char *url = tether_test_server_process_get_url (server);
  g_autofree char *token = tether_test_mint_with_example ("host", "pub-1", TRUE, NULL);
  g_autoptr(TetherTestProcess) host = NULL;
  g_autoptr(TetherTestProcess) guest = NULL;
  g_autofree char *line = NULL;

  if (token == NULL)
    {
      g_test_skip ("no python3");
      return;
    }
  host = tether_test_cli_spawn ("publish", url, "--app-id", TETHER_TEST_APP_ID, "--token", token,
                                "--room", "pub-1", "--user", "host", "--stream", "cam",
                                "--notify-users", NULL);
  g_assert_true (tether_test_process_wait_for_line (host, "\"state\":\"PUBLISHING\"", WAIT_MS, NULL));

  guest = tether_test_cli_spawn ("watch", url, "--guest", "--room", "pub-1", "--autoplay", NULL);
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
  g_autoptr(TetherTestProcess) guest = tether_test_cli_spawn ("watch",
                                                              tether_test_server_process_get_url (server),
                                                              "--guest", "--room", "private", NULL);

  g_assert_true (tether_test_process_wait (guest, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (guest), ==, 2);
  g_assert_cmpuint (tether_test_process_count_lines (guest, "\"error\":1020"), ==, 1);
}

/* A room link names the server and the room: `watch --link LINK --guest` (or the link
 * as the positional argument) joins the public room with nothing else; --server takes
 * a bare host:port; a bad link is a usage error that says what a link looks like. */
static void
test_link (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  guint16 port = tether_test_server_process_get_port (server);
  g_autofree char *link = g_strdup_printf ("tether+insecure://127.0.0.1:%u/pub-1", port);
  g_autofree char *host_port = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *program = tether_test_cli_program ();
  g_autoptr(TetherTestProcess) guest = NULL, positional = NULL, by_host = NULL, stray = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  const char *bad_argv[] = { program, "watch", "--guest", "--link",
                             "tether://127.0.0.1:99999/pub-1", NULL };

  guest = tether_test_process_spawn (&error, program, "watch", "--guest", "--link", link, NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (guest, "\"event\":\"guest-token\"", WAIT_MS,
                                                    NULL));
  g_assert_true (tether_test_process_wait_for_line (guest, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    NULL));

  /* The link as the one positional argument, as `tether LINK` takes it. */
  positional = tether_test_process_spawn (&error, program, "watch", "--guest", link, NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (positional, "\"reason\":\"LOGINED\"",
                                                    WAIT_MS, NULL));

  by_host = tether_test_cli_spawn ("watch", host_port, "--guest", "--room", "pub-2", NULL);
  g_assert_true (tether_test_process_wait_for_line (by_host, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    NULL));

  g_spawn_sync (NULL, (char **) bad_argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_test_message ("bad link: %s", err);
  g_assert_nonnull (strstr (err, "1 to 65535"));

  /* Anything more is a usage error that names it. */
  stray = tether_test_process_spawn (&error, "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program,
                                     "watch", "--guest", link, "stray", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (stray, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (stray), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (stray, "unexpected argument “stray”", 0), >=, 0);
}

/* A guest token plays but never publishes: stream_add gets 2002. */
static void
test_guest_cannot_publish (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", NULL);
  g_autoptr(TetherTestProcess) guest = tether_test_cli_spawn ("publish",
                                                              tether_test_server_process_get_url (server),
                                                              "--guest", "--room", "pub-1", "--stream",
                                                              "cam", NULL);

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

  guest = tether_test_cli_spawn ("watch", tether_test_server_process_get_url (server), "--guest",
                                 "--room", "pub-1", NULL);
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
 * with --tls-ca the guest gets its token and logs in (here through a tether:// link);
 * without it the guest-token request is refused for the certificate (1019, what a
 * room's login says), exit 2. */
static void
test_tls (void)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autoptr(TetherTestServerProcess) server = start_server ("--public-room", "pub-*", "--no-media",
                                                            "--tls-cert", tls->cert_file,
                                                            "--tls-key", tls->key_file, NULL);
  const char *url = tether_test_server_process_get_url (server);
  g_autofree char *program = tether_test_cli_program ();
  g_autofree char *link = g_strdup_printf ("tether://127.0.0.1:%u/pub-1",
                                           tether_test_server_process_get_port (server));
  g_autoptr(TetherTestProcess) trusting = NULL;
  g_autoptr(TetherTestProcess) plain = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_prefix (url, "wss://"));
  trusting = tether_test_process_spawn (&error, program, "watch", "--guest", "--link", link,
                                        "--tls-ca", tls->ca_file, NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (trusting, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    NULL));
  g_assert_cmpuint (tether_test_process_count_lines (trusting, "\"user\":\"guest-"), >=, 1);

  plain = tether_test_cli_spawn ("watch", url, "--guest", "--room", "pub-1", NULL);
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
  g_test_add_func ("/guest-cli/link", test_link);
  g_test_add_func ("/guest-cli/cannot-publish", test_guest_cannot_publish);
  g_test_add_func ("/guest-cli/renewal", test_renewal);
  g_test_add_func ("/guest-cli/tls", test_tls);

  return g_test_run ();
}
