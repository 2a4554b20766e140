/* test-server-status.c: `tether-server --status`, the nodes and rooms of a cluster
 * read from its Redis (a private redis-server holding the keys of docs/design.md,
 * "Several nodes")
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "tether.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

#define P "tether:" TETHER_TEST_APP_ID ":"

/* Runs `tether-server --status` and the arguments, NULL-terminated; returns its
 * stdout and stderr together, and its exit status in @out_status. */
static char *
run_status (int        *out_status,
            const char *first_arg,
            ...)
{
  g_autofree char *program = tether_test_server_program ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GError) error = NULL;
  char *output = NULL;
  va_list ap;

  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (char *) "--status");
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  subprocess = g_subprocess_newv ((const char * const *) argv->pdata,
                                  G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (subprocess, NULL, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("tether-server --status:\n%s", output);
  *out_status = g_subprocess_get_if_exited (subprocess) ? g_subprocess_get_exit_status (subprocess) : -1;
  return output;
}

/* The whitespace-separated cells of the output line that starts with @first. */
static GStrv
row (const char *output,
     const char *first)
{
  g_auto(GStrv) lines = g_strsplit (output, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit (lines[i], " ", -1);
      g_autoptr(GStrvBuilder) cells = g_strv_builder_new ();

      if (g_strcmp0 (words[0], first) != 0)
        continue;
      for (guint j = 0; words[j] != NULL; j++)
        if (*words[j] != '\0')
          g_strv_builder_add (cells, words[j]);
      return g_strv_builder_end (cells);
    }
  return NULL;
}

/* Column @column of the row that starts with @first is @expected. */
#define assert_cell(output, first, column, expected)                     \
  G_STMT_START {                                                          \
    g_auto(GStrv) _cells = row ((output), (first));                       \
                                                                          \
    g_assert_nonnull (_cells);                                            \
    g_assert_cmpuint (g_strv_length (_cells), >, (column));               \
    g_assert_cmpstr (_cells[(column)], ==, (expected));                   \
  } G_STMT_END

static void
redis_do (TetherTestRedis *redis,
          const char      *format,
          ...)
{
  g_auto(GStrv) args = NULL;
  g_autofree char *command = NULL;
  g_autofree char *reply = NULL;
  va_list ap;

  va_start (ap, format);
  command = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* no argument here holds a space */
  args = g_strsplit (command, " ", -1);
  reply = tether_test_redis_commandv (redis, (int) g_strv_length (args), (const char **) args);
  g_assert_nonnull (reply);
  g_assert_false (g_str_has_prefix (reply, "ERR"));
}

/* Two nodes (one alive, one whose alive key is gone), a media node, two rooms
 * with members and streams, and a key of another app that must not show. */
static void
write_cluster (TetherTestRedis *redis)
{
  gint64 now_ms = g_get_real_time () / 1000;

  redis_do (redis, "SADD " P "nodes node-a node-b");
  redis_do (redis, "HSET " P "node:node-a ws_url ws://127.0.0.1:7480/ws media_id media-a "
            "media_url srt://127.0.0.1:7481 started_ms %" G_GINT64_FORMAT " seen_ms %" G_GINT64_FORMAT,
            now_ms - 60000, now_ms);
  redis_do (redis, "SET " P "node:node-a:alive 1 PX 60000");
  redis_do (redis, "SADD " P "node:node-a:sessions s1 s2 s3");
  redis_do (redis, "HSET " P "node:node-b ws_url ws://127.0.0.1:7490/ws media_id media-b "
            "media_url srt://127.0.0.1:7491 started_ms %" G_GINT64_FORMAT " seen_ms %" G_GINT64_FORMAT,
            now_ms - 60000, now_ms - 42000);
  redis_do (redis, "SADD " P "node:node-b:sessions s4");
  redis_do (redis, "SADD " P "medianodes media-a");
  redis_do (redis, "HSET " P "medianode:media-a url srt://127.0.0.1:7481 load 5 seen_ms %" G_GINT64_FORMAT, now_ms);
  redis_do (redis, "SET " P "medianode:media-a:alive 1 PX 60000");

  redis_do (redis, "HSET " P "room:{lobby} rsid r-lobby seq 17 jn 4");
  redis_do (redis, "ZADD " P "room:{lobby}:members 1 s1 2 s2 4 s4");
  redis_do (redis, "HSET " P "room:{lobby}:byuser alice s1 bob s2 carol s4");
  redis_do (redis, "HSET " P "room:{lobby}:userjson s1 {} s2 {} s4 {}");
  redis_do (redis, "HSET " P "room:{lobby}:streamjson cam-1 {}");
  redis_do (redis, "ZADD " P "room:{lobby}:streams 1 cam-1");
  redis_do (redis, "XADD " P "room:{lobby}:log 17-1 e {} s s4 u 1");
  redis_do (redis, "HSET " P "room:{stage:2} rsid r-stage seq 3 jn 1");
  redis_do (redis, "ZADD " P "room:{stage:2}:members 1 s3");
  redis_do (redis, "HSET tether:other-app:room:{hidden} rsid x seq 1 jn 1");
}

static void
test_nodes_and_rooms (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *output = NULL;
  g_auto(GStrv) a = NULL;
  g_auto(GStrv) b = NULL;
  g_auto(GStrv) media = NULL;
  g_auto(GStrv) lobby = NULL;
  g_auto(GStrv) stage = NULL;
  int status;

  g_assert_no_error (error);
  write_cluster (redis);
  output = run_status (&status, "--redis", tether_test_redis_get_url (redis),
                       "--app-id", TETHER_TEST_APP_ID, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (output, "nodes: 2 (1 alive)"));
  g_assert_nonnull (strstr (output, "rooms: 2\n"));

  /* NODE STATE SEEN SESSIONS PUBLIC-URL MEDIA-ID MEDIA-URL */
  a = row (output, "node-a");
  g_assert_nonnull (a);
  g_assert_cmpuint (g_strv_length (a), ==, 7);
  g_assert_cmpstr (a[1], ==, "alive");
  g_assert_cmpfloat (g_ascii_strtod (a[2], NULL), <, 30.0);
  g_assert_cmpstr (a[3], ==, "3");
  g_assert_cmpstr (a[4], ==, "ws://127.0.0.1:7480/ws");
  g_assert_cmpstr (a[5], ==, "media-a");
  g_assert_cmpstr (a[6], ==, "srt://127.0.0.1:7481");
  b = row (output, "node-b");
  g_assert_nonnull (b);
  g_assert_cmpstr (b[1], ==, "dead");
  g_assert_cmpfloat (g_ascii_strtod (b[2], NULL), >=, 42.0);
  g_assert_cmpfloat (g_ascii_strtod (b[2], NULL), <, 100.0);
  g_assert_cmpstr (b[3], ==, "1");

  /* MEDIA-NODE STATE SEEN LOAD URL */
  media = row (output, "media-a");
  g_assert_nonnull (media);
  g_assert_cmpstr (media[1], ==, "alive");
  g_assert_cmpstr (media[3], ==, "5");
  g_assert_cmpstr (media[4], ==, "srt://127.0.0.1:7481");

  /* ROOM MEMBERS STREAMS SEQ ROOM-SESSION: the :byuser, :userjson and :streamjson
   * hashes are no rooms, a room
   * id may hold a colon, and other apps' rooms are not shown */
  lobby = row (output, "lobby");
  g_assert_nonnull (lobby);
  g_assert_cmpstrv (lobby, ((const char * const[]) { "lobby", "3", "1", "17", "r-lobby", NULL }));
  stage = row (output, "stage:2");
  g_assert_nonnull (stage);
  g_assert_cmpstrv (stage, ((const char * const[]) { "stage:2", "1", "0", "3", "r-stage", NULL }));
  g_assert_null (strstr (output, "byuser"));
  g_assert_null (strstr (output, "json"));
  g_assert_null (strstr (output, "hidden"));
}

static void
test_empty_and_other_db (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *url = NULL;
  g_autofree char *output = NULL;
  g_autofree char *other_db = NULL;
  int status;

  g_assert_no_error (error);
  write_cluster (redis);
  /* database 1 holds nothing */
  url = g_strdup_printf ("%s/1", tether_test_redis_get_url (redis));
  output = run_status (&status, "--redis", url, "--app-id", TETHER_TEST_APP_ID, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (output, "nodes: 0 (0 alive)"));
  g_assert_nonnull (strstr (output, "rooms: 0"));
  /* the default app id is demo's */
  other_db = run_status (&status, "--redis", tether_test_redis_get_url (redis), NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (other_db, "keys tether:demo:*"));
  g_assert_nonnull (strstr (other_db, "rooms: 0"));
}

static void
test_config_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *dir = g_dir_make_tmp ("tether-status-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "server.conf", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *output = NULL;
  int status;

  g_assert_no_error (error);
  write_cluster (redis);
  contents = g_strdup_printf ("[server]\nredis=%s\napp-id=%s\nlisten=0.0.0.0:7480\n",
                              tether_test_redis_get_url (redis), TETHER_TEST_APP_ID);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  output = run_status (&status, "--config", path, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (output, "nodes: 2 (1 alive)"));
  tether_test_remove_tree (dir);
}

static void
test_unreachable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *output = NULL;
  g_autofree char *no_redis = NULL;
  g_autofree char *bad_url = NULL;
  g_autofree char *secret_url = NULL;
  g_autofree char *with_password = NULL;
  int status;

  g_assert_no_error (error);
  tether_test_redis_kill (redis);
  output = run_status (&status, "--redis", tether_test_redis_get_url (redis), NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (output, "tether-server: --status: cannot reach Redis at 127.0.0.1:"));

  no_redis = run_status (&status, NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (no_redis, "--status needs --redis"));

  /* a password in the URL is never printed, not even in an error */
  bad_url = run_status (&status, "--redis", "http://:hunter2@example.org/", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (bad_url, "--redis: not a redis://[:PASSWORD@]HOST[:PORT][/DB] URL"));
  g_assert_null (strstr (bad_url, "hunter2"));

  g_assert_true (tether_test_redis_restart (redis, &error));
  secret_url = g_strdup_printf ("redis://:hunter2@127.0.0.1:%u", tether_test_redis_get_port (redis));
  with_password = run_status (&status, "--redis", secret_url, NULL);
  g_assert_cmpint (status, ==, 1);  /* this redis has no password */
  g_assert_nonnull (strstr (with_password, "refused the password"));
  g_assert_null (strstr (with_password, "hunter2"));
}

/* Real nodes: two tether-server processes on the fixture's Redis, a member on each
 * in one room; then kill -9 of one node, which --status shows dead, its member's
 * session moved to the other node and the room unchanged. */
static TetherRoom *
login_on (TetherEngine *engine,
          const char   *url,
          const char   *user)
{
  g_autofree char *token = tether_test_token (user, "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", url,
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", "lobby", "user-id", user,
                                                      "token", token, "notify-users", TRUE, NULL);

  return tether_engine_login_room (engine, login);
}

static TetherTestServerProcess *
start_node (TetherTestRedis *redis,
            const char      *node_id)
{
  return tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                         "--app-secret", TETHER_TEST_SECRET,
                                         "--redis", tether_test_redis_get_url (redis),
                                         "--node-id", node_id, "--no-media",
                                         "--node-beat", "0.2", "--node-timeout", "1", NULL);
}

typedef struct
{
  TetherTestRedis *redis;
  const char *node;
  const char *state;
  gint64 next_try;
} NodeStateWait;

/* Whether --status shows @node in @state (asked every 200 ms, not on every tick). */
static gboolean
status_shows (gpointer data)
{
  NodeStateWait *w = data;
  g_autofree char *output = NULL;
  g_auto(GStrv) cells = NULL;
  int status;

  if (g_get_monotonic_time () < w->next_try)
    return FALSE;
  w->next_try = g_get_monotonic_time () + 200 * G_TIME_SPAN_MILLISECOND;
  output = run_status (&status, "--redis", tether_test_redis_get_url (w->redis),
                       "--app-id", TETHER_TEST_APP_ID, NULL);
  cells = row (output, w->node);
  return status == 0 && cells != NULL && g_strcmp0 (cells[1], w->state) == 0;
}

static void
test_real_nodes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autoptr(TetherTestServerProcess) a = NULL;
  g_autoptr(TetherTestServerProcess) b = NULL;
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autoptr(TetherRoom) alice = NULL;
  g_autoptr(TetherRoom) bob = NULL;
  g_autofree char *output = NULL;
  NodeStateWait dead = { NULL, "node-b", "dead", 0 };
  int status;

  g_assert_no_error (error);
  a = start_node (redis, "node-a");
  b = start_node (redis, "node-b");
  alice = login_on (engine, tether_test_server_process_get_url (a), "alice");
  bob = login_on (engine, tether_test_server_process_get_url (b), "bob");
  TETHER_WAIT_UNTIL (tether_room_get_state (alice) == TETHER_ROOM_STATE_LOGINED
                     && tether_room_get_state (bob) == TETHER_ROOM_STATE_LOGINED, 10000);

  output = run_status (&status, "--redis", tether_test_redis_get_url (redis),
                       "--app-id", TETHER_TEST_APP_ID, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (output, "nodes: 2 (2 alive)"));
  assert_cell (output, "node-a", 1, "alive");
  assert_cell (output, "node-a", 3, "1");
  assert_cell (output, "node-a", 4, tether_test_server_process_get_url (a));
  assert_cell (output, "node-b", 3, "1");
  assert_cell (output, "lobby", 1, "2");  /* members */
  assert_cell (output, "lobby", 2, "0");  /* streams */
  assert_cell (output, "lobby", 3, "2");  /* seq: two user ADDs */

  /* kill -9: bob's room resumes on node-a (login_ok's room_services), and node-b's
   * liveness key expires after node-timeout */
  tether_test_server_process_kill (b);
  dead.redis = redis;
  TETHER_WAIT_UNTIL (tether_room_get_state (bob) == TETHER_ROOM_STATE_RECONNECTED, 10000);
  TETHER_WAIT_UNTIL (status_shows (&dead), 10000);
  g_free (output);
  output = run_status (&status, "--redis", tether_test_redis_get_url (redis),
                       "--app-id", TETHER_TEST_APP_ID, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (output, "nodes: 2 (1 alive)"));
  /* the session moved: node-a owns both, node-b (dead, not reaped yet) none */
  assert_cell (output, "node-a", 3, "2");
  assert_cell (output, "node-b", 1, "dead");
  assert_cell (output, "node-b", 3, "0");
  /* case 1: still two members, and no event since the two ADDs */
  assert_cell (output, "lobby", 1, "2");
  assert_cell (output, "lobby", 3, "2");
  tether_engine_logout_room (engine, alice);
  tether_engine_logout_room (engine, bob);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server-status/nodes-and-rooms", test_nodes_and_rooms);
  g_test_add_func ("/server-status/empty-and-other-db", test_empty_and_other_db);
  g_test_add_func ("/server-status/config-file", test_config_file);
  g_test_add_func ("/server-status/unreachable", test_unreachable);
  g_test_add_func ("/server-status/real-nodes", test_real_nodes);

  return g_test_run ();
}
