/* test-keyring.c: the app's token and app secret in a real Secret Service — plain
 * GSettings values moved into the keyring and erased, read back by a fresh instance,
 * edits stored, one pair per server; with no bus or no keyring, kept in memory; with a
 * keyring that stops answering, never waited for
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The keyring is Debian's gnome-keyring-daemon (secrets component only, unlocked with a
 * password on stdin) on a private dbus-daemon whose configuration has no service
 * directories, so nothing is ever activated; HOME and the XDG directories point into a
 * temporary directory, so the user's keyring is never touched. */
#include "config.h"

#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <signal.h>
#include <stdlib.h>

#include "tether.h"
#include "tether-secrets.h"
#include "tether-session.h"
#include "tether-test-process.h"
#include "tether-test-utils.h"

#define WAIT_MS 10000
#define SERVER_A "wss://a.example:7480/ws"
#define SERVER_B "wss://b.example:7480/ws"

/* The schema as docs/security.md documents it, spelled out again on purpose. */
static const SecretSchema schema = {
  "io.github.tetherlive.Tether.Secret", SECRET_SCHEMA_NONE,
  {
    { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "app-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  }
};

static char *tmp_dir;
static TetherTestProcess *bus;
static TetherTestProcess *keyring;
static GDBusConnection *session_bus;

/* ---- the private bus and keyring ---------------------------------------------------- */

static void
start_bus (void)
{
  g_autofree char *config = g_build_filename (tmp_dir, "session.conf", NULL);
  g_autofree char *config_arg = g_strconcat ("--config-file=", config, NULL);
  const char *bus_argv[] = { "dbus-daemon", config_arg, "--nofork", "--print-address=1", NULL };
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;
  static const char config_text[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:tmpdir=/tmp</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "</busconfig>\n";

  if (bus != NULL)
    return;
  g_assert_true (g_file_set_contents (config, config_text, -1, &error));
  bus = tether_test_process_spawnv (bus_argv, &error);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (bus, "unix:", WAIT_MS, &address));
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", g_strstrip (address), TRUE);

  /* GDBus would raise SIGTERM in the test when the bus goes at the end. */
  session_bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (session_bus, FALSE);
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
start_keyring (void)
{
  g_autofree char *password = g_build_filename (tmp_dir, "password", NULL);
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  const char *keyring_argv[] = { "/bin/sh", "-c", NULL, NULL };
  gboolean appeared = FALSE;
  guint watch;

  if (keyring != NULL)
    return;
  start_bus ();
  g_assert_true (g_file_set_contents (password, "test-password", -1, &error));
  /* An empty password creates no login keyring: a throwaway one does. */
  command = g_strdup_printf ("exec gnome-keyring-daemon --foreground --unlock "
                             "--components=secrets < '%s'", password);
  keyring_argv[2] = command;
  keyring = tether_test_process_spawnv (keyring_argv, &error);
  g_assert_no_error (error);
  watch = g_bus_watch_name (G_BUS_TYPE_SESSION, "org.freedesktop.secrets",
                            G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb, NULL,
                            &appeared, NULL);
  TETHER_WAIT_UNTIL (appeared, WAIT_MS);
  g_bus_unwatch_name (watch);
}

static char *
lookup (const char *kind,
        const char *server,
        const char *app_id)
{
  g_autoptr(GError) error = NULL;
  char *value = secret_password_lookup_sync (&schema, NULL, &error, "kind", kind,
                                             "server", server, "app-id", app_id, NULL);

  g_assert_no_error (error);
  return value;
}

/* ---- fixture: the app's settings (memory backend) -------------------------------------- */

typedef struct
{
  GSettings *settings;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  static const char * const keys[] = { "server-url", "app-id", "room-id", "user-id",
                                       "token", "app-secret" };

  f->settings = g_settings_new ("io.github.tetherlive.Tether");
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_settings_reset (f->settings, keys[i]);
  g_settings_set_string (f->settings, "server-url", SERVER_A);
  g_settings_set_string (f->settings, "app-id", "demo");

  /* Each test starts with nothing stored for its servers. */
  for (guint i = 0; keyring != NULL && i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      secret_password_clear_sync (&schema, NULL, &error, "server", i ? SERVER_B : SERVER_A,
                                  NULL);
      g_assert_no_error (error);
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->settings);
}

static void
set_plain (Fixture *f, const char *token, const char *app_secret)
{
  g_settings_set_string (f->settings, "token", token);
  g_settings_set_string (f->settings, "app-secret", app_secret);
}

static char *
plain (Fixture *f, const char *key)
{
  return g_settings_get_string (f->settings, key);
}

static gboolean
plain_empty (Fixture *f)
{
  g_autofree char *token = plain (f, "token");
  g_autofree char *secret = plain (f, "app-secret");

  return *token == '\0' && *secret == '\0';
}

static TetherSecrets *
secrets_loaded (Fixture *f)
{
  TetherSecrets *secrets = tether_secrets_new (f->settings);

  /* It starts loading at once and never blocks: busy until the keyring answered. */
  g_assert_true (tether_secrets_get_busy (secrets));
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets), WAIT_MS);
  return secrets;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

/* ---- without a keyring --------------------------------------------------------------- */

/* No Secret Service: the plain values serve this run from memory and stay where they
 * are, an edit is kept in memory, and the app says so once. */
static void
check_memory_only (Fixture *f)
{
  g_autoptr(TetherSecrets) secrets = NULL;
  g_autoptr(TetherSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  guint notified = 0;

  set_plain (f, "plain-token", "plain-secret");
  secrets = secrets_loaded (f);
  g_assert_false (tether_secrets_get_available (secrets));
  g_assert_cmpstr (tether_secrets_get_token (secrets), ==, "plain-token");
  g_assert_cmpstr (tether_secrets_get_app_secret (secrets), ==, "plain-secret");
  /* Erased only after a successful store: nothing was stored. */
  token = plain (f, "token");
  g_assert_cmpstr (token, ==, "plain-token");

  g_signal_connect_swapped (secrets, "notify::available", G_CALLBACK (count_cb), &notified);
  g_object_set (secrets, "token", "typed-token", NULL);
  g_assert_false (tether_secrets_get_busy (secrets));  /* nothing to store to */
  g_assert_cmpstr (tether_secrets_get_token (secrets), ==, "typed-token");
  tether_secrets_flush (secrets);
  g_assert_cmpuint (notified, ==, 0);

  /* The session still joins with what is in memory (the app secret mints a token). */
  g_settings_set_string (f->settings, "room-id", "lobby");
  g_settings_set_string (f->settings, "token", "");
  session = g_object_new (TETHER_TYPE_SESSION, "settings", f->settings, NULL);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (tether_session_get_secrets (session)), WAIT_MS);
  g_assert_false (tether_secrets_get_available (tether_session_get_secrets (session)));
  g_assert_cmpstr (tether_secrets_get_app_secret (tether_session_get_secrets (session)), ==,
                   "plain-secret");
  g_assert_true (tether_session_join_from_settings (session, &error));
  g_assert_no_error (error);
  g_assert_nonnull (tether_session_get_room (session));
  tether_session_shutdown (session);
}

static void
test_no_bus (Fixture *f, gconstpointer data)
{
  g_autofree char *nowhere = g_build_filename (tmp_dir, "no-bus", NULL);
  g_autofree char *address = g_strconcat ("unix:path=", nowhere, NULL);

  if (bus != NULL)
    {
      g_test_skip ("the private bus already runs (run /keyring/no-bus first or alone)");
      return;
    }
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  check_memory_only (f);
  g_unsetenv ("TETHER_NO_KEYRING");
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
}

static void
test_no_service (Fixture *f, gconstpointer data)
{
  if (keyring != NULL)
    {
      g_test_skip ("the keyring already runs (run /keyring/no-service before it)");
      return;
    }
  /* A bus where nobody owns org.freedesktop.secrets and nothing can be activated. */
  start_bus ();
  check_memory_only (f);
  /* Nothing of libsecret's survives to the tests with a keyring. */
  secret_service_disconnect ();
}

/* ---- with a keyring ------------------------------------------------------------------ */

static void
test_migrate (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherSecrets) secrets = NULL;
  g_autoptr(TetherSecrets) fresh = NULL;
  g_autofree char *token = NULL, *secret = NULL;

  start_keyring ();
  set_plain (f, "plain-token", "plain-secret");

  secrets = tether_secrets_new (f->settings);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets) && plain_empty (f), WAIT_MS);
  g_assert_true (tether_secrets_get_available (secrets));
  g_assert_cmpstr (tether_secrets_get_token (secrets), ==, "plain-token");
  g_assert_cmpstr (tether_secrets_get_app_secret (secrets), ==, "plain-secret");

  /* In the keyring under this server and app id, and gone from GSettings. */
  token = lookup ("token", SERVER_A, "demo");
  secret = lookup ("app-secret", SERVER_A, "demo");
  g_assert_cmpstr (token, ==, "plain-token");
  g_assert_cmpstr (secret, ==, "plain-secret");
  g_assert_true (plain_empty (f));

  /* The next start finds them in the keyring alone. */
  fresh = secrets_loaded (f);
  g_assert_true (tether_secrets_get_available (fresh));
  g_assert_cmpstr (tether_secrets_get_token (fresh), ==, "plain-token");
  g_assert_cmpstr (tether_secrets_get_app_secret (fresh), ==, "plain-secret");

  /* A plain value written while it runs (an older version, `gsettings set`) moves too. */
  g_settings_set_string (f->settings, "token", "later-token");
  TETHER_WAIT_UNTIL (plain_empty (f) && !tether_secrets_get_busy (fresh), WAIT_MS);
  g_assert_cmpstr (tether_secrets_get_token (fresh), ==, "later-token");
  g_free (token);
  token = lookup ("token", SERVER_A, "demo");
  g_assert_cmpstr (token, ==, "later-token");
}

static void
test_edit (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherSecrets) secrets = NULL;
  g_autofree char *token = NULL;

  start_keyring ();
  secrets = secrets_loaded (f);

  /* Typing is stored once it pauses. */
  g_object_set (secrets, "token", "t", NULL);
  g_object_set (secrets, "token", "typed-token", NULL);
  g_assert_true (tether_secrets_get_busy (secrets));
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets), WAIT_MS);
  token = lookup ("token", SERVER_A, "demo");
  g_assert_cmpstr (token, ==, "typed-token");
  g_assert_true (plain_empty (f));

  /* Emptied: the item goes. Quitting stores what is due at once. */
  g_object_set (secrets, "token", "", NULL);
  tether_secrets_flush (secrets);
  g_assert_false (tether_secrets_get_busy (secrets));
  g_free (token);
  token = lookup ("token", SERVER_A, "demo");
  g_assert_null (token);
}

static void
test_per_server (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherSecrets) secrets = NULL;
  g_autofree char *a = NULL, *b = NULL;

  start_keyring ();
  secrets = secrets_loaded (f);
  g_object_set (secrets, "token", "token-a", NULL);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets), WAIT_MS);

  /* Nothing stored for B: the field keeps what it holds until a join remembers it. */
  g_settings_set_string (f->settings, "server-url", SERVER_B);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets), WAIT_MS);
  g_assert_cmpstr (tether_secrets_get_token (secrets), ==, "token-a");
  g_object_set (secrets, "token", "token-b", NULL);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets), WAIT_MS);

  a = lookup ("token", SERVER_A, "demo");
  b = lookup ("token", SERVER_B, "demo");
  g_assert_cmpstr (a, ==, "token-a");
  g_assert_cmpstr (b, ==, "token-b");

  /* Back to A: A's token comes back. */
  g_settings_set_string (f->settings, "server-url", SERVER_A);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets)
                     && g_strcmp0 (tether_secrets_get_token (secrets), "token-a") == 0,
                     WAIT_MS);
}

/* The session joins with the keyring's token, and a join remembers what it used. */
static void
test_session (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;
  TetherSecrets *secrets;

  start_keyring ();
  g_settings_set_string (f->settings, "room-id", "lobby");
  g_settings_set_string (f->settings, "user-id", "viewer");
  set_plain (f, "session-token", "");
  session = g_object_new (TETHER_TYPE_SESSION, "settings", f->settings, NULL);
  secrets = tether_session_get_secrets (session);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets) && plain_empty (f), WAIT_MS);
  g_assert_cmpstr (tether_secrets_get_token (secrets), ==, "session-token");

  g_assert_true (tether_session_join_from_settings (session, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tether_room_get_token (tether_session_get_room (session)), ==,
                   "session-token");
  tether_session_leave (session);

  /* The fields cleared: no credential, so the join is a guest's (the guest-token request
   * is left under way), and the keyring forgets the token on quit. */
  g_object_set (secrets, "token", "", NULL);
  g_assert_true (tether_session_join_from_settings (session, &error));
  g_assert_no_error (error);
  g_assert_null (tether_session_get_room (session));
  tether_session_leave (session);
  tether_session_shutdown (session);
  g_assert_false (tether_secrets_get_busy (secrets));
  stored = lookup ("token", SERVER_A, "demo");
  g_assert_null (stored);
}

/* A keyring that stops answering (SIGSTOP): start-up still does not wait, quitting waits
 * a bounded time, and what was due is stored once it answers again. */
static void
test_hung_service (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherSecrets) secrets = NULL;
  g_autoptr(TetherSecrets) stuck = NULL;
  g_autofree char *token = NULL;
  gint64 start, elapsed_ms;
  GPid pid;

  start_keyring ();
  secrets = secrets_loaded (f);
  pid = atoi (tether_test_process_get_identifier (keyring));
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);

  start = g_get_monotonic_time ();
  stuck = tether_secrets_new (f->settings);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("constructed in %" G_GINT64_FORMAT " ms with the keyring stopped", elapsed_ms);
  g_assert_cmpint (elapsed_ms, <, tether_test_scaled_ms (1000));
  g_assert_true (tether_secrets_get_busy (stuck));

  g_object_set (secrets, "token", "while-stuck", NULL);
  start = g_get_monotonic_time ();
  tether_secrets_flush (secrets);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("flush gave up after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 2900);
  g_assert_cmpint (elapsed_ms, <, 3000 + tether_test_scaled_ms (2000));
  g_assert_true (tether_secrets_get_busy (secrets));
  g_assert_true (tether_secrets_get_available (secrets));

  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
  TETHER_WAIT_UNTIL (!tether_secrets_get_busy (secrets) && !tether_secrets_get_busy (stuck),
                     WAIT_MS);
  token = lookup ("token", SERVER_A, "demo");
  g_assert_cmpstr (token, ==, "while-stuck");
}

int
main (int argc, char *argv[])
{
  g_autofree char *schema_dir = NULL, *dbus_daemon = NULL, *keyring_daemon = NULL;
  g_autoptr(GError) error = NULL;
  int status;
  static const char * const dirs[][2] = {
    { "HOME", "home" }, { "XDG_DATA_HOME", "data" }, { "XDG_CONFIG_HOME", "config" },
    { "XDG_CACHE_HOME", "cache" }, { "XDG_RUNTIME_DIR", "run" },
  };

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_unsetenv ("TETHER_NO_KEYRING");
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
  g_test_init (&argc, &argv, NULL);

  schema_dir = g_test_build_filename (G_TEST_BUILT, "..", "data", NULL);
  g_setenv ("GSETTINGS_SCHEMA_DIR", schema_dir, TRUE);

  /* Everything the keyring writes goes here, never into the user's home. */
  tmp_dir = g_dir_make_tmp ("tether-keyring-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (tmp_dir, dirs[i][1], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_setenv (dirs[i][0], dir, TRUE);
    }

  dbus_daemon = g_find_program_in_path ("dbus-daemon");
  keyring_daemon = g_find_program_in_path ("gnome-keyring-daemon");
  if (dbus_daemon == NULL || keyring_daemon == NULL)
    {
      g_test_add_data_func ("/keyring/skipped",
                            "needs dbus-daemon and gnome-keyring-daemon (tools/debian-packages)",
                            (GTestDataFunc) g_test_skip);
      return g_test_run ();
    }

  /* In this order: libsecret and GDBus keep their first connection for the process. */
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/keyring/no-bus", test_no_bus);
  ADD ("/keyring/no-service", test_no_service);
  ADD ("/keyring/migrate", test_migrate);
  ADD ("/keyring/edit", test_edit);
  ADD ("/keyring/per-server", test_per_server);
  ADD ("/keyring/session", test_session);
  ADD ("/keyring/hung-service", test_hung_service);
#undef ADD

  status = g_test_run ();

  g_clear_pointer (&keyring, tether_test_process_free);
  g_clear_object (&session_bus);
  g_clear_pointer (&bus, tether_test_process_free);
  /* the keyring's files, sockets and the bus config */
  tether_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
