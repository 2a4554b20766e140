/* test-redis-fixture.c: the private redis-server of the cluster tests
 * (tests/support/tether-test-redis.c): start, commands, kill -9, restart
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <sys/types.h>

#include "tether-test-redis.h"
#include "tether-test-utils.h"

static void
test_start_and_commands (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *url = NULL;
  g_autofree char *pong = NULL;
  g_autofree char *set = NULL;
  g_autofree char *get = NULL;
  g_autofree char *incr = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *list = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *err = NULL;
  g_autofree char *save = NULL;
  g_autofree char *aof = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (redis);
  g_assert_cmpuint (tether_test_redis_get_port (redis), >, 0);
  g_assert_cmpuint (tether_test_redis_get_port (redis), !=, 6379);
  url = g_strdup_printf ("redis://127.0.0.1:%u", tether_test_redis_get_port (redis));
  g_assert_cmpstr (tether_test_redis_get_url (redis), ==, url);

  pong = tether_test_redis_command (redis, "PING");
  g_assert_cmpstr (pong, ==, "PONG");
  set = tether_test_redis_command (redis, "SET %s %s", "k", "a value with spaces");
  g_assert_cmpstr (set, ==, "OK");
  get = tether_test_redis_command (redis, "GET k");
  g_assert_cmpstr (get, ==, "a value with spaces");
  incr = tether_test_redis_command (redis, "INCRBY n %d", 41);
  g_assert_cmpstr (incr, ==, "41");
  missing = tether_test_redis_command (redis, "GET nothing");
  g_assert_null (missing);
  g_free (tether_test_redis_command (redis, "RPUSH l a b c"));
  list = tether_test_redis_command (redis, "LRANGE l 0 -1");
  g_assert_cmpstr (list, ==, "a\nb\nc");
  empty = tether_test_redis_command (redis, "LRANGE none 0 -1");
  g_assert_cmpstr (empty, ==, "");
  err = tether_test_redis_command (redis, "NOSUCHCOMMAND");
  g_assert_true (g_str_has_prefix (err, "ERR"));

  /* no persistence: nothing survives a restart */
  save = tether_test_redis_command (redis, "CONFIG GET save");
  g_assert_cmpstr (save, ==, "save\n");
  aof = tether_test_redis_command (redis, "CONFIG GET appendonly");
  g_assert_cmpstr (aof, ==, "appendonly\nno");
}

static void
test_kill_and_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *old_pid = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *gone = NULL;
  g_autofree char *lost = NULL;
  guint16 port;

  g_assert_no_error (error);
  port = tether_test_redis_get_port (redis);
  g_free (tether_test_redis_command (redis, "SET k v"));
  before = tether_test_redis_command (redis, "GET k");
  g_assert_cmpstr (before, ==, "v");

  old_pid = g_strdup (tether_test_redis_get_pid (redis));
  tether_test_redis_kill (redis);
  g_assert_null (tether_test_redis_get_pid (redis));
  /* the process is gone (reaped), and nothing answers on the port */
  g_assert_cmpint (kill ((pid_t) g_ascii_strtoll (old_pid, NULL, 10), 0), ==, -1);
  gone = tether_test_redis_command (redis, "PING");
  g_assert_null (gone);

  g_assert_true (tether_test_redis_restart (redis, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tether_test_redis_get_port (redis), ==, port);
  g_assert_cmpstr (tether_test_redis_get_pid (redis), !=, old_pid);
  after = tether_test_redis_command (redis, "PING");
  g_assert_cmpstr (after, ==, "PONG");
  lost = tether_test_redis_command (redis, "GET k");
  g_assert_null (lost);

  /* a restart of a running redis works too */
  g_assert_true (tether_test_redis_restart (redis, &error));
  g_assert_no_error (error);
}

static void
test_two_at_once (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) a = tether_test_redis_start (&error);
  g_autoptr(TetherTestRedis) b = NULL;
  g_autofree char *in_b = NULL;

  g_assert_no_error (error);
  b = tether_test_redis_start (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (tether_test_redis_get_port (a), !=, tether_test_redis_get_port (b));
  g_free (tether_test_redis_command (a, "SET only-a 1"));
  in_b = tether_test_redis_command (b, "GET only-a");
  g_assert_null (in_b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/redis-fixture/start-and-commands", test_start_and_commands);
  g_test_add_func ("/redis-fixture/kill-and-restart", test_kill_and_restart);
  g_test_add_func ("/redis-fixture/two-at-once", test_two_at_once);

  return g_test_run ();
}
