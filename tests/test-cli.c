/* test-cli.c: tether-server and tether-cli as processes — crashes with kill -9,
 * server restarts, SIGTERM, the CLI's exit codes, TLS (--tls-cert, --tls-ca, SIGHUP)
 * and where the CLI takes its secrets from
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tether.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
#include "tether-test-utils.h"

#define WAIT_MS 15000

static TetherTestServerProcess *
start_server (void)
{
  return tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                         "--app-secret", TETHER_TEST_SECRET,
                                         "--heartbeat-timeout", "3",
                                         "--heartbeat-interval", "0.3",
                                         "--shutdown-retry-after", "0.5",
                                         NULL);
}

/* Spawns @argv followed by the NULL-terminated arguments of @ap; with @merged, the
 * child's stderr goes to its captured lines too (through /bin/sh). */
static TetherTestProcess *
spawn_valist (gboolean    merged,
              GPtrArray  *argv,
              va_list     ap)
{
  g_autoptr(GError) error = NULL;
  TetherTestProcess *p;
  const char *arg;

  if (merged)
    {
      g_ptr_array_insert (argv, 0, (char *) "exec \"$0\" \"$@\" 2>&1");
      g_ptr_array_insert (argv, 0, (char *) "-c");
      g_ptr_array_insert (argv, 0, (char *) "/bin/sh");
    }
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  g_ptr_array_add (argv, NULL);

  p = tether_test_process_spawnv ((const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

/* `tether-cli COMMAND` for @user in the lobby, then @extra (if not NULL) and the
 * arguments of @ap; the app secret comes from TETHER_APP_SECRET (see main()). */
static TetherTestProcess *
cli_valist (gboolean    merged,
            const char *command,
            const char *url,
            const char *user,
            const char *extra,
            va_list     ap)
{
  g_autofree char *program = tether_test_cli_program ();
  const char *fixed[] = {
    program, command, "--server", url, "--app-id", TETHER_TEST_APP_ID,
    "--room", "lobby", "--user", user, extra,
  };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (fixed) && fixed[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) fixed[i]);
  return spawn_valist (merged, argv, ap);
}

/* Starts `tether-cli watch` for @user; extra arguments follow, NULL-terminated. */
static TetherTestProcess *
watch (const char *url,
       const char *user,
       ...)
{
  TetherTestProcess *p;
  va_list ap;

  va_start (ap, user);
  p = cli_valist (FALSE, "watch", url, user, "--notify-users", ap);
  va_end (ap);
  return p;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Starts `tether-cli COMMAND` for @user in the lobby; extra arguments follow. */
static TetherTestProcess *
cli (const char *command,
     const char *url,
     const char *user,
     ...)
{
  TetherTestProcess *p;
  va_list ap;

  va_start (ap, user);
  p = cli_valist (FALSE, command, url, user, NULL, ap);
  va_end (ap);
  return p;
}

/* As cli(), with the CLI's stderr (its error messages) in its lines. */
static TetherTestProcess *
cli_merged (const char *command,
            const char *url,
            const char *user,
            ...)
{
  TetherTestProcess *p;
  va_list ap;

  va_start (ap, user);
  p = cli_valist (TRUE, command, url, user, NULL, ap);
  va_end (ap);
  return p;
}

/* Replays a watcher's user-update lines into the set of users it holds now. */
static char *
users_seen (TetherTestProcess *p)
{
  g_autoptr(GPtrArray) lines = tether_test_process_dup_lines (p);
  g_autoptr(GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree const char **keys = NULL;
  guint n;

  for (guint i = 0; i < lines->len; i++)
    {
      g_autoptr(JsonNode) node = json_from_string (lines->pdata[i], NULL);
      JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonArray *list;
      gboolean add;

      if (o == NULL || g_strcmp0 (json_object_get_string_member_with_default (o, "event", ""),
                                  "user-update") != 0)
        continue;
      add = g_str_equal (json_object_get_string_member (o, "update"), "ADD");
      list = json_object_get_array_member (o, "users");
      for (guint k = 0; k < json_array_get_length (list); k++)
        {
          const char *id = json_object_get_string_member (json_array_get_object_element (list, k),
                                                          "id");

          if (add)
            g_hash_table_add (users, g_strdup (id));
          else
            g_hash_table_remove (users, id);
        }
    }

  keys = (const char **) g_hash_table_get_keys_as_array (users, &n);
  g_qsort_with_data (keys, n, sizeof (char *), compare_strings, NULL);
  return g_strjoinv (",", (char **) keys);
}

static gboolean
holds_users (TetherTestProcess *p,
             const char        *expected)
{
  g_autofree char *users = users_seen (p);

  return g_str_equal (users, expected);
}

#define STATE(reason) "\"reason\":\"" reason "\""

/* A client killed with -9 and started again within the heartbeat timeout: the new
 * login replaces the dead session at once. */
static void
test_crashed_client_returns (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) bob = watch (url, "bob", NULL);
  g_autoptr(TetherTestProcess) alice = watch (url, "alice", NULL);
  g_autoptr(TetherTestProcess) alice2 = NULL;

  g_assert_true (tether_test_process_wait_for_line (alice, STATE ("LOGINED"), WAIT_MS, NULL));
  TETHER_WAIT_UNTIL (holds_users (bob, "alice"), WAIT_MS);

  tether_test_process_kill (alice);
  g_assert_true (tether_test_process_wait (alice, WAIT_MS));
  g_assert_true (tether_test_process_get_if_signaled (alice));

  alice2 = watch (url, "alice", NULL);
  g_assert_true (tether_test_process_wait_for_line (alice2, STATE ("LOGINED"), WAIT_MS, NULL));
  TETHER_WAIT_UNTIL (holds_users (alice2, "bob"), WAIT_MS);
  /* Bob still sees alice: she was replaced, not removed, and the server's heartbeat
   * timeout does not remove the new session later. */
  g_assert_true (holds_users (bob, "alice"));
  tether_test_run_for (3500);
  g_assert_true (holds_users (bob, "alice"));
  g_assert_false (tether_test_process_has_exited (alice2));
}

/* A client stopped (SIGSTOP: the whole process, its network thread too) for more than
 * two link timeouts (0.66 s) but less than the server's heartbeat timeout, then
 * continued: the time it did not run is not the server's silence, so it asks again and
 * stays in the room instead of reconnecting (docs/design.md, 'The network thread'). */
static void
test_stopped_client_keeps_its_link (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) alice = watch (url, "alice", NULL);
  pid_t pid;

  g_assert_true (tether_test_process_wait_for_line (alice, STATE ("LOGINED"), WAIT_MS, NULL));
  pid = (pid_t) g_ascii_strtoll (tether_test_process_get_identifier (alice), NULL, 10);
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  g_usleep (1500 * 1000);  /* the fault: the stop itself */
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);

  tether_test_run_for (1500);
  g_assert_cmpuint (tether_test_process_count_lines (alice, STATE ("RECONNECTING")), ==, 0);
  g_assert_false (tether_test_process_has_exited (alice));
}

/* The server is killed and started again on its port: every client comes back by
 * itself and ends with the right lists. */
static void
test_server_killed_and_restarted (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) bob = watch (url, "bob", NULL);
  g_autoptr(TetherTestProcess) alice = watch (url, "alice", NULL);
  g_autoptr(TetherTestProcess) carol = watch (url, "carol", NULL);

  TETHER_WAIT_UNTIL (holds_users (bob, "alice,carol") && holds_users (alice, "bob,carol")
                       && holds_users (carol, "alice,bob"),
                     WAIT_MS);

  tether_test_server_process_kill (server);
  g_assert_true (tether_test_process_wait_for_line (bob, STATE ("RECONNECTING"), WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (alice, STATE ("RECONNECTING"), WAIT_MS, NULL));
  tether_test_server_process_restart (server);

  g_assert_true (tether_test_process_wait_for_line (bob, STATE ("RECONNECTED"), WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (alice, STATE ("RECONNECTED"), WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (carol, STATE ("RECONNECTED"), WAIT_MS, NULL));
  TETHER_WAIT_UNTIL (holds_users (bob, "alice,carol") && holds_users (alice, "bob,carol")
                       && holds_users (carol, "alice,bob"),
                     WAIT_MS);
  /* A new server is a new session: rejoined, not resumed. */
  g_assert_true (tether_test_process_wait_for_line (bob, "\"resumed\":false", WAIT_MS, NULL));
}

/* SIGTERM: the server tells everyone to come back after a spread-out delay. */
static void
test_server_sigterm (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) bob = watch (url, "bob", NULL);
  int status;

  g_assert_true (tether_test_process_wait_for_line (bob, STATE ("LOGINED"), WAIT_MS, NULL));
  status = tether_test_server_process_terminate (server);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (tether_test_process_wait_for_line (bob, "\"cause\":\"server-restart\"", WAIT_MS,
                                                    NULL));
  tether_test_server_process_restart (server);
  g_assert_true (tether_test_process_wait_for_line (bob, STATE ("RECONNECTED"), WAIT_MS, NULL));
}

static void
test_exit_codes (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) bad = NULL;
  g_autoptr(TetherTestProcess) kicked = NULL;
  g_autoptr(TetherTestProcess) kicker = NULL;
  g_autoptr(TetherTestProcess) stranded = NULL;

  /* LOGIN_FAILED → 2 */
  bad = watch (url, "eve", "--app-id", "wrong-app", NULL);
  g_assert_true (tether_test_process_wait (bad, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (bad), ==, 2);
  g_assert_cmpuint (tether_test_process_count_lines (bad, STATE ("LOGIN_FAILED")), ==, 1);

  /* KICK_OUT → 3 */
  kicked = watch (url, "dup", NULL);
  g_assert_true (tether_test_process_wait_for_line (kicked, STATE ("LOGINED"), WAIT_MS, NULL));
  kicker = watch (url, "dup", NULL);
  g_assert_true (tether_test_process_wait (kicked, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (kicked), ==, 3);
  g_assert_cmpuint (tether_test_process_count_lines (kicked, "\"error\":1010"), ==, 1);

  /* RECONNECT_FAILED → 4, with the window scaled down */
  stranded = watch (url, "lost", "--config", "room_retry_time=1.5", NULL);
  g_assert_true (tether_test_process_wait_for_line (stranded, STATE ("LOGINED"), WAIT_MS, NULL));
  tether_test_server_process_kill (server);
  g_assert_true (tether_test_process_wait (stranded, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (stranded), ==, 4);
  g_assert_cmpuint (tether_test_process_count_lines (stranded, STATE ("RECONNECT_FAILED")), ==, 1);
}

#define PLAYING "\"state\":\"PLAYING\""

/* The host crashes (kill -9) and comes back within the heartbeat timeout: viewers see
 * its stream DELETE, then ADD, and play again by themselves. */
static void
test_host_crash_and_return (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) host = cli ("publish", url, "host", "--stream", "cam", NULL);
  g_autoptr(TetherTestProcess) viewer = cli ("watch", url, "viewer", "--autoplay", NULL);
  g_autoptr(TetherTestProcess) host2 = NULL;
  int deleted, added;

  g_assert_true (tether_test_process_wait_for_line (viewer, PLAYING, WAIT_MS, NULL));
  tether_test_process_kill (host);
  host2 = cli ("publish", url, "host", "--stream", "cam", NULL);

  TETHER_WAIT_UNTIL ((deleted = tether_test_process_line_index (viewer, "\"reason\":\"duplicate_login\"", 0)) >= 0,
                     WAIT_MS);
  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (viewer, "\"update\":\"ADD\",\"streams\"", deleted))
                       > deleted,
                     WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, PLAYING, added) > added, WAIT_MS);
  g_assert_cmpuint (tether_test_process_count_lines (viewer, PLAYING), ==, 2);
}

/* A plain GStreamer pipeline plays a stream from the node with the URL from `url`. */
static void
test_gst_launch_plays (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) host = cli ("publish", url, "host", "--stream", "cam", NULL);
  g_autoptr(TetherTestProcess) get_url = NULL;
  g_autoptr(TetherTestProcess) gst = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *srt_url = NULL;
  g_autofree char *uri = NULL;

  g_assert_true (tether_test_process_wait_for_line (host, "\"state\":\"PUBLISHING\"", WAIT_MS,
                                                    NULL));
  get_url = cli ("url", url, "someone", "--stream", "cam", NULL);
  g_assert_true (tether_test_process_wait_for_line (get_url, "srt://", WAIT_MS, &srt_url));
  g_assert_true (tether_test_process_wait (get_url, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (get_url), ==, 0);

  uri = g_strdup_printf ("uri=%s", g_strstrip (srt_url));
  gst = tether_test_process_spawn (&error, "gst-launch-1.0", "-q", "srtsrc", uri, "!", "tsdemux",
                                   "!", "h264parse", "!", "avdec_h264", "!", "identity",
                                   "eos-after=15", "!", "fakesink", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (gst, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (gst), ==, 0);
}

/* Stopping a publisher (SIGTERM) deletes its stream for everyone, reason "stopped". */
static void
test_publisher_stop_deletes (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) host = cli ("publish", url, "host", "--stream", "cam", NULL);
  g_autoptr(TetherTestProcess) viewer = cli ("watch", url, "viewer", "--autoplay", NULL);

  g_assert_true (tether_test_process_wait_for_line (viewer, PLAYING, WAIT_MS, NULL));
  tether_test_process_terminate (host);
  g_assert_true (tether_test_process_wait (host, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (host), ==, 0);
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"reason\":\"stopped\"", WAIT_MS,
                                                    NULL));
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"state\":\"NO_PLAY\"", WAIT_MS,
                                                    NULL));
}

/* tether-server with @first and the arguments after it, stderr in its lines. */
static TetherTestProcess *
server_merged (const char *first,
               ...)
{
  g_autofree char *program = tether_test_server_program ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  TetherTestProcess *p;
  va_list ap;

  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (char *) first);
  va_start (ap, first);
  p = spawn_valist (TRUE, argv, ap);
  va_end (ap);
  return p;
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (from, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, contents, length, &error);
  g_assert_no_error (error);
}

#define UNTRUSTED "the server's certificate is not trusted: "

/* The acceptance: tether-server --tls-cert/--tls-key, then tether-cli watch
 * on wss:// with --tls-ca logs in; without it, exit 2 with the certificate message.
 * SIGHUP makes the server take a renewed certificate from its files; bad files at
 * start are a clear error. */
static void
test_tls (void)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autofree char *cert = g_build_filename (tls->dir, "live.pem", NULL);
  g_autofree char *key = g_build_filename (tls->dir, "live.key", NULL);
  g_autoptr(TetherTestProcess) server = NULL;
  g_autoptr(TetherTestProcess) broken = NULL;
  g_autoptr(TetherTestProcess) trusting = NULL;
  g_autoptr(TetherTestProcess) plain = NULL;
  g_autoptr(TetherTestProcess) wrong_host = NULL;
  g_autoptr(TetherTestProcess) bad_ca = NULL;
  g_autofree char *line = NULL;
  g_autofree char *url = NULL;

  /* Files it cannot load: it says which, and does not start. */
  broken = server_merged ("--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET,
                          "--listen", "127.0.0.1:0", "--no-media", "--tls-cert", tls->ca_file,
                          "--tls-key", tls->ca_file, NULL);
  g_assert_true (tether_test_process_wait (broken, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (broken), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (broken, "cannot load the TLS certificate", 0), >=, 0);

  /* It starts with a certificate for another host name. */
  copy_file (tls->other_cert_file, cert);
  copy_file (tls->other_key_file, key);
  server = server_merged ("--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET,
                          "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                          "--no-media", "--tls-cert", cert, "--tls-key", key, NULL);
  g_assert_true (tether_test_process_wait_for_line (server, "listening on wss://", WAIT_MS, &line));
  url = g_strndup (strstr (line, "wss://"), strcspn (strstr (line, "wss://"), " \r\n"));

  wrong_host = cli_merged ("watch", url, "eve", "--tls-ca", tls->ca_file, NULL);
  g_assert_true (tether_test_process_wait (wrong_host, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (wrong_host), ==, 2);
  g_assert_cmpint (tether_test_process_line_index (wrong_host, UNTRUSTED "it is for another host name", 0), >=, 0);

  /* Renewed on disk, reloaded on SIGHUP. */
  copy_file (tls->cert_file, cert);
  copy_file (tls->key_file, key);
  kill (atoi (tether_test_process_get_identifier (server)), SIGHUP);
  g_assert_true (tether_test_process_wait_for_line (server, "reloaded the TLS certificate",
                                                    WAIT_MS, NULL));

  trusting = watch (url, "alice", "--tls-ca", tls->ca_file, NULL);
  g_assert_true (tether_test_process_wait_for_line (trusting, STATE ("LOGINED"), WAIT_MS, NULL));

  /* The system's authorities do not know the test's: exit 2 at once, with why. */
  plain = cli_merged ("watch", url, "bob", NULL);
  g_assert_true (tether_test_process_wait (plain, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (plain), ==, 2);
  g_assert_cmpint (tether_test_process_line_index (plain, "\"error\":1019", 0), >=, 0);
  g_assert_cmpint (tether_test_process_line_index (plain, "login failed: tls-certificate (1019): " UNTRUSTED
                                      "it is not signed by a trusted authority", 0), >=, 0);
  g_assert_cmpuint (tether_test_process_count_lines (plain, STATE ("LOGIN_FAILED")), ==, 1);

  /* A bad --tls-ca is a usage error. */
  bad_ca = cli_merged ("watch", url, "carol", "--tls-ca", "/nonexistent/ca.pem", NULL);
  g_assert_true (tether_test_process_wait (bad_ca, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (bad_ca), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (bad_ca, "--tls-ca: cannot read the certificate authorities", 0),
                   >=, 0);

  g_assert_false (tether_test_process_has_exited (trusting));
  tether_test_process_terminate (trusting);
  g_assert_true (tether_test_process_wait (trusting, WAIT_MS));
  tether_test_process_terminate (server);
  g_assert_true (tether_test_process_wait (server, WAIT_MS));
  g_unlink (cert);
  g_unlink (key);
}

static char *
write_temp (const char *dir,
            const char *name,
            const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
  return path;
}

/* Secrets never need the command line: --token-file and --app-secret-file (a file, or -
 * for stdin, one line end trimmed), TETHER_TOKEN and TETHER_APP_SECRET; what a file or
 * option names wins over the environment; an unreadable file is a usage error (exit 1)
 * that names it; --token still works, with a warning that ps shows it. */
static void
test_secret_sources (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autofree char *dir = g_dir_make_tmp ("tether-cli-secrets-XXXXXX", NULL);
  g_autofree char *program = tether_test_cli_program ();
  g_autofree char *token = tether_test_token ("filer", "lobby", 3600);
  g_autofree char *token_line = g_strconcat (token, "\n", NULL);
  g_autofree char *env_token = tether_test_token ("envy", "lobby", 3600);
  g_autofree char *env_assign = g_strconcat ("TETHER_TOKEN=", env_token, NULL);
  g_autofree char *shown_token = tether_test_token ("shown", "lobby", 3600);
  g_autofree char *token_file = write_temp (dir, "token", token_line);
  g_autofree char *secret_file = write_temp (dir, "secret", TETHER_TEST_SECRET "\r\n");
  g_autofree char *wrong_file = write_temp (dir, "wrong", "not-the-secret\n");
  g_autofree char *stdin_cmd = g_strdup_printf ("exec \"$0\" \"$@\" < '%s'", wrong_file);
  const char *env_argv[] = { "env", "-u", "TETHER_APP_SECRET", env_assign, program, "watch",
                             "--server", url, "--app-id", TETHER_TEST_APP_ID, "--room", "lobby",
                             "--user", "envy", NULL };
  const char *stdin_argv[] = { "/bin/sh", "-c", stdin_cmd, program, "watch", "--server", url,
                               "--app-id", TETHER_TEST_APP_ID, "--room", "lobby",
                               "--user", "piped", "--app-secret-file", "-", NULL };
  g_autoptr(TetherTestProcess) by_file = NULL, by_secret_file = NULL, by_env = NULL;
  g_autoptr(TetherTestProcess) by_stdin = NULL, missing = NULL, shown = NULL;
  g_autoptr(GError) error = NULL;

  /* The token file's token logs in (the environment's app secret is not consulted). */
  by_file = cli ("watch", url, "filer", "--token-file", token_file, NULL);
  g_assert_true (tether_test_process_wait_for_line (by_file, STATE ("LOGINED"), WAIT_MS, NULL));
  by_secret_file = cli ("watch", url, "minted", "--app-secret-file", secret_file, NULL);
  g_assert_true (tether_test_process_wait_for_line (by_secret_file, STATE ("LOGINED"), WAIT_MS,
                                                    NULL));

  /* TETHER_TOKEN alone. */
  by_env = tether_test_process_spawnv (env_argv, &error);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (by_env, STATE ("LOGINED"), WAIT_MS, NULL));

  /* Standard input is read, and wins over TETHER_APP_SECRET: a wrong secret there fails. */
  by_stdin = tether_test_process_spawnv (stdin_argv, &error);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (by_stdin, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (by_stdin), ==, 2);

  /* A file that is not there: usage error, naming the option and the file. */
  missing = cli_merged ("watch", url, "ghost", "--token-file", "/nonexistent/token", NULL);
  g_assert_true (tether_test_process_wait (missing, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (missing), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (missing, "--token-file: ", 0), >=, 0);
  g_assert_cmpint (tether_test_process_line_index (missing, "/nonexistent/token", 0), >=, 0);

  /* --token on the command line: still accepted, with the warning. */
  shown = cli_merged ("watch", url, "shown", "--token", shown_token, NULL);
  g_assert_true (tether_test_process_wait_for_line (shown, STATE ("LOGINED"), WAIT_MS, NULL));
  g_assert_cmpint (tether_test_process_line_index (shown, "--token is visible to every user", 0),
                   >=, 0);

  g_unlink (token_file);
  g_unlink (secret_file);
  g_unlink (wrong_file);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Every tether-cli here takes the app secret from the environment, as docs/security.md
   * advises; /cli/secret-sources covers the other ways. */
  g_setenv ("TETHER_APP_SECRET", TETHER_TEST_SECRET, TRUE);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);

  g_test_add_func ("/cli/crashed-client-returns", test_crashed_client_returns);
  g_test_add_func ("/cli/stopped-client-keeps-its-link", test_stopped_client_keeps_its_link);
  g_test_add_func ("/cli/server-killed-and-restarted", test_server_killed_and_restarted);
  g_test_add_func ("/cli/server-sigterm", test_server_sigterm);
  g_test_add_func ("/cli/exit-codes", test_exit_codes);
  g_test_add_func ("/cli/host-crash-and-return", test_host_crash_and_return);
  g_test_add_func ("/cli/gst-launch-plays", test_gst_launch_plays);
  g_test_add_func ("/cli/publisher-stop-deletes", test_publisher_stop_deletes);
  g_test_add_func ("/cli/tls", test_tls);
  g_test_add_func ("/cli/secret-sources", test_secret_sources);

  return g_test_run ();
}
