/* test-failover.c: a room with several room-service URLs walks them (docs/design.md,
 * "Room services with several nodes"): real tether-server processes killed with
 * SIGKILL, an in-process server handing out room_services, and a WebSocket peer that
 * refuses logins with 1021 service-unavailable
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "tether.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
#include "tether-test-utils.h"

#define WAIT_MS 15000

/* Servers drop a silent user after 2.5 s; clients beat every 0.3 s. */
#define SERVER_ARGS "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET, \
  "--heartbeat-interval", "0.3", "--heartbeat-timeout", "2.5", "--no-media"

/* One client: its engine, its room, and what the room reported, in order. */
typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
  GArray *states;       /* TetherRoomState */
  GPtrArray *events;    /* "user ADD bob", "stream DELETE cam resync" */
  GPtrArray *urls;      /* every server-url the room moved to */
  GPtrArray *reports;   /* TetherReconnectReport */
} Client;

static void
state_cb (TetherRoom *room, TetherRoomState state, int error, const char *extended, Client *c)
{
  g_array_append_val (c->states, state);
}

static void
user_cb (TetherRoom *room, TetherUpdateType update, GPtrArray *users, Client *c)
{
  for (guint i = 0; i < users->len; i++)
    g_ptr_array_add (c->events, g_strdup_printf ("user %s %s", tether_update_type_to_string (update),
                                                 tether_user_get_id (users->pdata[i])));
}

static void
stream_cb (TetherRoom *room, TetherUpdateType update, GPtrArray *streams, const char *reason,
           Client *c)
{
  for (guint i = 0; i < streams->len; i++)
    g_ptr_array_add (c->events, g_strdup_printf ("stream %s %s%s%s",
                                                 tether_update_type_to_string (update),
                                                 tether_stream_get_id (streams->pdata[i]),
                                                 reason != NULL ? " " : "",
                                                 reason != NULL ? reason : ""));
}

static void
url_cb (TetherRoom *room, GParamSpec *pspec, Client *c)
{
  g_ptr_array_add (c->urls, g_strdup (tether_room_get_server_url (room)));
}

static void
report_cb (TetherRoom *room, TetherReconnectReport *report, Client *c)
{
  g_ptr_array_add (c->reports, g_object_ref (report));
}

/* Logs @user_id into "lobby" with @engine (taken), @server_url (may be NULL) and
 * then @more. */
static Client *
client_new_for_engine (TetherEngine       *engine,
                       const char         *user_id,
                       const char         *server_url,
                       const char * const *more)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = NULL;

  c->engine = engine;
  c->states = g_array_new (FALSE, FALSE, sizeof (TetherRoomState));
  c->events = g_ptr_array_new_with_free_func (g_free);
  c->urls = g_ptr_array_new_with_free_func (g_free);
  c->reports = g_ptr_array_new_with_free_func (g_object_unref);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", server_url,
                        "server-urls", more, "app-id", TETHER_TEST_APP_ID, "room-id", "lobby",
                        "user-id", user_id, "token", token, "notify-users", TRUE, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "state-changed", G_CALLBACK (state_cb), c);
  g_signal_connect (c->room, "user-update", G_CALLBACK (user_cb), c);
  g_signal_connect (c->room, "stream-update", G_CALLBACK (stream_cb), c);
  g_signal_connect (c->room, "notify::server-url", G_CALLBACK (url_cb), c);
  g_signal_connect (c->room, "reconnect-report", G_CALLBACK (report_cb), c);
  return c;
}

/* The same with an engine of its own, set up with @config when not NULL. */
static Client *
client_new (const char         *user_id,
            const char         *server_url,
            const char * const *more,
            const char         *config)
{
  TetherEngine *engine = tether_engine_new ();
  g_autoptr(GError) error = NULL;

  if (config != NULL)
    {
      tether_engine_set_config (engine, config, &error);
      g_assert_no_error (error);
    }
  return client_new_for_engine (engine, user_id, server_url, more);
}

static void
client_free (Client *c)
{
  g_signal_handlers_disconnect_by_data (c->room, c);
  if (!tether_room_state_is_final (tether_room_get_state (c->room)))
    tether_room_logout (c->room);
  g_object_unref (c->room);
  g_object_unref (c->engine);
  g_array_unref (c->states);
  g_ptr_array_unref (c->events);
  g_ptr_array_unref (c->urls);
  g_ptr_array_unref (c->reports);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static TetherRoomState
state_of (Client *c)
{
  return tether_room_get_state (c->room);
}

static gboolean
had_state (Client *c, TetherRoomState state)
{
  for (guint i = 0; i < c->states->len; i++)
    if (g_array_index (c->states, TetherRoomState, i) == state)
      return TRUE;
  return FALSE;
}

/* The first login ended, one way or the other. */
static gboolean
login_over (Client *c)
{
  return c->states->len > 0 && state_of (c) != TETHER_ROOM_STATE_LOGINING;
}

/* Where @event first happened in @c's history, or -1. */
static int
event_index (Client *c, const char *event)
{
  for (guint i = 0; i < c->events->len; i++)
    if (g_str_equal (c->events->pdata[i], event))
      return (int) i;
  return -1;
}

static void
add_stream_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  int *done = user_data;

  *done = tether_room_add_stream_finish (TETHER_ROOM (source), result, NULL) ? 1 : -1;
}

static void
add_stream (Client *c, const char *stream_id)
{
  int done = 0;

  tether_room_add_stream_async (c->room, stream_id, "node-a", "", NULL, add_stream_cb, &done);
  TETHER_WAIT_UNTIL (done != 0, WAIT_MS);
  g_assert_cmpint (done, ==, 1);
}

/* A server that was running and was killed: its port refuses connections. */
static char *
dead_server_url (void)
{
  g_autoptr(TetherTestServerProcess) server = tether_test_server_process_new (SERVER_ARGS, NULL);
  char *url = g_strdup (tether_test_server_process_get_url (server));

  tether_test_server_process_kill (server);
  return url;
}

/* A port nobody listens on for the moment, for a server that must know its own URL
 * before it starts: the port a server had before it stopped. */
static guint16
free_port (void)
{
  g_autoptr(TetherTestServer) server = tether_test_server_new (NULL);

  return tether_test_server_get_port (server);
}

/* The first login walks the list: a dead first node does not end it. With every
 * node refusing, it still ends at once (1001), long before login_timeout. */
static void
test_first_login_skips_dead_node (void)
{
  g_autofree char *dead = dead_server_url ();
  g_autofree char *dead2 = dead_server_url ();
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  const char *b_url = tether_test_server_process_get_url (b);
  const char *list[] = { dead, b_url, NULL };
  const char *all_dead[] = { dead2, NULL };
  g_autoptr(Client) alice = client_new ("alice", NULL, list, NULL);
  g_autoptr(Client) bob = NULL;
  gint64 start;

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_false (had_state (alice, TETHER_ROOM_STATE_LOGIN_FAILED));
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, b_url);
  g_assert_cmpuint (tether_room_get_attempt (alice->room), ==, 2);

  start = g_get_monotonic_time ();
  bob = client_new ("bob", dead, all_dead, "login_timeout=30");
  TETHER_WAIT_UNTIL (login_over (bob), WAIT_MS);
  g_assert_cmpint (state_of (bob), ==, TETHER_ROOM_STATE_LOGIN_FAILED);
  g_assert_cmpint (tether_room_get_error_code (bob->room), ==, TETHER_ERROR_NETWORK);
  g_assert_cmpuint (tether_room_get_attempt (bob->room), ==, 2);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

/* A client whose node is killed fails over to the next node. Single nodes share
 * nothing, so it is a rejoin: RECONNECTED (not resumed), its view made equal to the
 * new node's room by DELETE then ADD "resync", and its stream announced there. */
static void
test_killed_node_rejoins_next (void)
{
  g_autoptr(TetherTestServerProcess) a = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  const char *a_url = tether_test_server_process_get_url (a);
  const char *b_url = tether_test_server_process_get_url (b);
  const char *more[] = { b_url, NULL };
  g_autoptr(Client) dave = client_new ("dave", a_url, NULL, NULL);
  g_autoptr(Client) carol = client_new ("carol", b_url, NULL, NULL);
  g_autoptr(Client) alice = NULL;
  TetherReconnectReport *report;
  int dave_gone, carol_came;

  TETHER_WAIT_UNTIL (state_of (dave) == TETHER_ROOM_STATE_LOGINED
                     && state_of (carol) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  add_stream (dave, "dave-cam");
  add_stream (carol, "carol-cam");

  alice = client_new ("alice", a_url, more, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  TETHER_WAIT_UNTIL (event_index (alice, "stream ADD dave-cam") >= 0, WAIT_MS);
  add_stream (alice, "alice-cam");
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, a_url);

  tether_test_server_process_kill (a);

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_true (had_state (alice, TETHER_ROOM_STATE_RECONNECTING));
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, b_url);
  g_assert_cmpuint (alice->reports->len, ==, 1);
  report = alice->reports->pdata[0];
  g_assert_true (tether_reconnect_report_get_succeeded (report));
  g_assert_false (tether_reconnect_report_get_resumed (report));

  /* Its view is B's room now: dave (on the dead node) gone, carol there. */
  dave_gone = event_index (alice, "user DELETE dave");
  carol_came = event_index (alice, "user ADD carol");
  g_assert_cmpint (dave_gone, >=, 0);
  g_assert_cmpint (carol_came, >, dave_gone);
  g_assert_cmpint (event_index (alice, "stream DELETE dave-cam resync"), >=, 0);
  g_assert_cmpint (event_index (alice, "stream ADD carol-cam resync"), >, dave_gone);
  g_assert_cmpuint (g_list_model_get_n_items (tether_room_get_users (alice->room)), ==, 1);

  /* B's members see it arrive, with the stream it announced again. */
  TETHER_WAIT_UNTIL (event_index (carol, "stream ADD alice-cam") >= 0, WAIT_MS);
  g_assert_cmpint (event_index (carol, "user ADD alice"), >=, 0);

  /* dave knew only A: it stays out of touch, retrying. */
  g_assert_cmpint (state_of (dave), ==, TETHER_ROOM_STATE_RECONNECTING);
}

/* A node going away (SIGTERM: a `reconnect` message) is not asked first: the walk
 * starts at the next node, reached at the first attempt. */
static void
test_node_going_away_starts_at_next (void)
{
  g_autoptr(TetherTestServerProcess) a = tether_test_server_process_new (SERVER_ARGS,
                                                                         "--shutdown-retry-after",
                                                                         "0.2", NULL);
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  const char *b_url = tether_test_server_process_get_url (b);
  const char *more[] = { b_url, NULL };
  g_autoptr(Client) alice = client_new ("alice", tether_test_server_process_get_url (a), more,
                                        NULL);

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpint (tether_test_server_process_terminate (a), ==, 0);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, b_url);
  g_assert_cmpstr (tether_reconnect_report_get_cause (alice->reports->pdata[0]), ==,
                   "server-restart");
  g_assert_cmpuint (tether_reconnect_report_get_attempts (alice->reports->pdata[0]), ==, 1);
}

/* login_ok's room_services is what a client fails over to: given only A, it reaches
 * B when A dies because A handed out [A, B]. */
static void
test_login_ok_list_is_used (void)
{
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  const char *b_url = tether_test_server_process_get_url (b);
  guint16 port = free_port ();
  g_autofree char *a_url = g_strdup_printf ("ws://127.0.0.1:%u/ws", port);
  const char *services[] = { a_url, b_url, NULL };
  g_autoptr(TetherTestServer) a = tether_test_server_new_on_port (port,
                                                                  "heartbeat-interval", 0.3,
                                                                  "room-service-urls", services,
                                                                  NULL);
  g_autoptr(Client) alice = NULL;
  g_auto(GStrv) known = NULL;

  g_assert_cmpstr (tether_test_server_get_url (a), ==, a_url);
  alice = client_new ("alice", a_url, NULL, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  known = tether_room_dup_server_urls (alice->room);
  g_assert_cmpstrv (known, services);

  tether_test_server_stop (a);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, b_url);

  /* B hands out nothing: the list is B's (none), then what the caller gave and the
   * URL in use. */
  g_clear_pointer (&known, g_strfreev);
  known = tether_room_dup_server_urls (alice->room);
  g_assert_cmpuint (g_strv_length (known), ==, 2);
  g_assert_cmpstr (known[0], ==, a_url);
  g_assert_cmpstr (known[1], ==, b_url);
}

/* A client keeps only the room_services it may use: ws:// or wss:// URLs with a host,
 * and over TLS only wss:// ones (a TLS node cannot move the token to plain text). */
static void
test_room_services_filtered (void)
{
  g_autoptr(TetherTestTls) tls = tether_test_tls_new ();
  g_autoptr(GTlsCertificate) certificate = tether_test_tls_load (tls->cert_file, tls->key_file);
  const char *services[] = { "ws://127.0.0.1:1/ws", "ftp://b.example/ws", "wss://",
                             "wss://b.example:7481/ws", NULL };
  g_autoptr(TetherTestServer) a = tether_test_server_new ("tls-certificate", certificate,
                                                          "room-service-urls", services,
                                                          NULL);
  const char *a_url = tether_test_server_get_url (a);
  TetherEngine *engine = tether_engine_new ();
  g_autoptr(Client) alice = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) known = NULL;

  g_assert_true (g_str_has_prefix (a_url, "wss://"));
  g_assert_true (tether_engine_set_tls_ca_file (engine, tls->ca_file, &error));
  alice = client_new_for_engine (engine, "alice", a_url, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  known = tether_room_dup_server_urls (alice->room);
  g_assert_cmpuint (g_strv_length (known), ==, 2);
  g_assert_cmpstr (known[0], ==, "wss://b.example:7481/ws");
  g_assert_cmpstr (known[1], ==, a_url);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, a_url);
}

/* --room-service-url and the key file's room-service-urls reach login_ok; a URL that
 * is not ws:// or wss:// is a usage error. */
static void
test_server_option (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-failover-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (dir, "tether-server.conf", NULL);
  g_autofree char *program = tether_test_server_program ();
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) bad = NULL;
  g_autoptr(Client) alice = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) known = NULL;

  g_assert_true (g_file_set_contents (config, "[server]\n"
                                      "room-service-urls=ws://127.0.0.1:1/ws;ws://127.0.0.1:2/ws\n",
                                      -1, &error));
  server = tether_test_server_process_new ("--config", config, SERVER_ARGS, NULL);
  alice = client_new ("alice", tether_test_server_process_get_url (server), NULL, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  known = tether_room_dup_server_urls (alice->room);
  g_assert_cmpuint (g_strv_length (known), ==, 3);
  g_assert_cmpstr (known[0], ==, "ws://127.0.0.1:1/ws");
  g_assert_cmpstr (known[1], ==, "ws://127.0.0.1:2/ws");
  g_assert_cmpstr (known[2], ==, tether_test_server_process_get_url (server));

  bad = tether_test_process_spawnv ((const char *[]) { program, "--room-service-url",
                                                       "ftp://b.example/ws", "--listen",
                                                       "127.0.0.1:0", NULL }, &error);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (bad, WAIT_MS));
  g_assert_true (tether_test_process_get_if_exited (bad));
  g_assert_cmpint (tether_test_process_get_exit_status (bad), !=, 0);

  g_unlink (config);
  g_rmdir (dir);
}

/* The walk keeps the list's order: after a break, the node that worked first, then
 * the next ones in order — the dead second, then the third. */
static void
test_walk_in_order (void)
{
  g_autoptr(TetherTestServerProcess) x = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autoptr(TetherTestServerProcess) z = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autofree char *y_url = dead_server_url ();
  g_autofree char *w_url = dead_server_url ();
  const char *x_url = tether_test_server_process_get_url (x);
  const char *z_url = tether_test_server_process_get_url (z);
  const char *list[] = { x_url, y_url, z_url, NULL };
  const char *first_two_dead[] = { w_url, y_url, z_url, NULL };
  g_autoptr(Client) alice = client_new ("alice", NULL, list, NULL);
  g_autoptr(Client) bob = NULL;

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpuint (alice->urls->len, ==, 0);

  tether_test_server_process_kill (x);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  /* x again (no change of URL), then y, then z. */
  g_assert_cmpuint (alice->urls->len, ==, 2);
  g_assert_cmpstr (alice->urls->pdata[0], ==, y_url);
  g_assert_cmpstr (alice->urls->pdata[1], ==, z_url);
  g_assert_cmpuint (tether_reconnect_report_get_attempts (alice->reports->pdata[0]), ==, 3);

  /* At the first login: the first two dead, the third answers. */
  bob = client_new ("bob", NULL, first_two_dead, NULL);
  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpuint (bob->urls->len, ==, 2);
  g_assert_cmpstr (bob->urls->pdata[0], ==, y_url);
  g_assert_cmpstr (bob->urls->pdata[1], ==, z_url);
}

/* A failed attempt moves on to the next URL at once: the backoff waits between whole
 * rounds through the list, not between its URLs. With room_backoff_max=60, the old
 * rule (one backoff step before each next URL, growing 0.1 s × 2^attempt × [0.5, 1))
 * put at least 0.1 × (2 + 4 + … + 128) × 0.5 = 12.7 s between the kill and the eighth
 * URL; walking the round, the six dead nodes cost six refused connects. */
static void
test_dead_nodes_cost_no_backoff (void)
{
  g_autoptr(TetherTestServerProcess) a = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(Client) alice = NULL;
  TetherReconnectReport *report;
  gint64 start;
  double took;

  for (guint i = 0; i < 6; i++)
    g_ptr_array_add (dead, dead_server_url ());
  g_ptr_array_add (dead, g_strdup (tether_test_server_process_get_url (b)));
  g_ptr_array_add (dead, NULL);
  alice = client_new ("alice", tether_test_server_process_get_url (a),
                      (const char * const *) dead->pdata, "room_backoff_max=60");
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  start = g_get_monotonic_time ();
  tether_test_server_process_kill (a);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  took = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("kill -9 -> RECONNECTED on the eighth URL: %.3f s", took);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==,
                   tether_test_server_process_get_url (b));
  report = alice->reports->pdata[0];
  g_assert_cmpuint (tether_reconnect_report_get_attempts (report), ==, 8);
  g_assert_cmpfloat (took, <, 2.0 * tether_test_scale ());
}

static void
attempt_cb (TetherRoom *room, GParamSpec *pspec, GArray *times)
{
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (times, now);
}

/* A round where every URL fails still backs off, and the step grows: no busy loop.
 * With two URLs, both dead, attempts 2k and 2k + 1 (the end of round k and the start
 * of the next) are at least min(0.1 s × 2^k, room_backoff_max) × 0.5 apart. */
static void
test_failed_round_backs_off (void)
{
  g_autoptr(TetherTestServerProcess) a = tether_test_server_process_new (SERVER_ARGS, NULL);
  g_autofree char *dead = dead_server_url ();
  const char *more[] = { dead, NULL };
  g_autoptr(Client) alice = client_new ("alice", tether_test_server_process_get_url (a), more,
                                        NULL);
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_signal_connect (alice->room, "notify::attempt", G_CALLBACK (attempt_cb), times);
  tether_test_server_process_kill (a);
  TETHER_WAIT_UNTIL (tether_room_get_attempt (alice->room) >= 9, WAIT_MS);
  g_signal_handlers_disconnect_by_data (alice->room, times);
  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_RECONNECTING);
  g_assert_cmpuint (times->len, >=, 9);

  for (guint k = 1; k <= 4; k++)
    {
      double gap = (g_array_index (times, gint64, 2 * k) - g_array_index (times, gint64, 2 * k - 1))
                   / (double) G_USEC_PER_SEC;
      double step = MIN (0.1 * (1u << k), 1.0) * 0.5;

      g_test_message ("round %u -> %u: %.3f s (at least %.3f s)", k, k + 1, gap, step);
      /* 1 ms for the timer's rounding. */
      g_assert_cmpfloat (gap, >=, step - 0.001);
    }
}

/* tether-cli: --server given twice (the first dead) and a link with several hosts;
 * each room-state line names the server in use. */
static void
test_cli_several_servers (void)
{
  g_autofree char *dead = dead_server_url ();
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS,
                                                                         "--public-room",
                                                                         "lobby", NULL);
  const char *b_url = tether_test_server_process_get_url (b);
  g_autofree char *dead_port = g_strdup (strrchr (dead, ':') + 1);
  g_autofree char *link = NULL;
  g_autoptr(TetherTestProcess) alice = NULL, bob = NULL, guest = NULL;
  g_autofree char *line = NULL, *program = tether_test_cli_program ();
  g_autoptr(GError) error = NULL;

  *strchr (dead_port, '/') = '\0';
  link = g_strdup_printf ("tether+insecure://127.0.0.1:%s,localhost:%u/lobby?app=%s", dead_port,
                          tether_test_server_process_get_port (b), TETHER_TEST_APP_ID);

  alice = tether_test_cli_spawn ("watch", dead, "--server", b_url, "--app-id", TETHER_TEST_APP_ID,
                                 "--room", "lobby", "--user", "alice", NULL);
  g_assert_true (tether_test_process_wait_for_line (alice, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    &line));
  g_assert_nonnull (strstr (line, b_url));

  /* The link as the one argument, as `tether-cli watch LINK` takes it. */
  bob = tether_test_process_spawnv ((const char *[]) { program, "watch", link, "--user", "bob",
                                                       NULL }, &error);
  g_assert_no_error (error);
  g_clear_pointer (&line, g_free);
  g_assert_true (tether_test_process_wait_for_line (bob, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    &line));
  g_assert_nonnull (strstr (line, "ws://localhost:"));

  /* A guest's token comes from the first node that answers. */
  guest = tether_test_cli_spawn ("watch", dead, "--server", b_url, "--room", "lobby", "--guest",
                                 NULL);
  g_clear_pointer (&line, g_free);
  g_assert_true (tether_test_process_wait_for_line (guest, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    &line));
  g_assert_nonnull (strstr (line, b_url));
}

/* ---- nodes of one cluster ----------------------------------------------------------- */

/* A tether-server node of the cluster on @redis. */
static TetherTestServerProcess *
cluster_node (TetherTestRedis *redis,
              const char      *id)
{
  return tether_test_server_process_new (SERVER_ARGS, "--redis", tether_test_redis_get_url (redis),
                                         "--node-id", id, "--session-ttl", "60",
                                         "--node-beat", "0.2", "--node-timeout", "0.6", NULL);
}

static gboolean
redis_says (TetherTestRedis *redis,
            const char      *command,
            const char      *expected)
{
  g_auto(GStrv) argv = g_strsplit (command, " ", -1);
  g_autofree char *reply = tether_test_redis_commandv (redis, (int) g_strv_length (argv),
                                                      (const char **) argv);

  return g_strcmp0 (reply, expected) == 0;
}

#define NODES_KEY "tether:" TETHER_TEST_APP_ID ":nodes"
#define NODE_A_KEY "tether:" TETHER_TEST_APP_ID ":node:a"

/* The whole of item 3 against real cluster nodes: a client given only node A learns
 * [A, B] from login_ok; when A is killed its walk reaches B, where the session is
 * resumed (case 1): the others see nothing, then or once A is reaped. */
static void
test_cluster_resume_elsewhere (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autoptr(TetherTestServerProcess) a = NULL, b = NULL;
  g_autoptr(Client) alice = NULL, bob = NULL, dave = NULL;
  g_auto(GStrv) known = NULL;
  g_autofree char *seen = NULL;
  TetherReconnectReport *report;

  g_assert_no_error (error);
  a = cluster_node (redis, "a");
  b = cluster_node (redis, "b");
  TETHER_WAIT_UNTIL (redis_says (redis, "SCARD " NODES_KEY, "2"), WAIT_MS);
  /* A learns of the other nodes at its beats: wait for one after B registered. */
  seen = tether_test_redis_commandv (redis, 3, (const char *[]) { "HGET", NODE_A_KEY, "seen_ms" });
  TETHER_WAIT_UNTIL (!redis_says (redis, "HGET " NODE_A_KEY " seen_ms", seen), WAIT_MS);

  bob = client_new ("bob", tether_test_server_process_get_url (b), NULL, NULL);
  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  alice = client_new ("alice", tether_test_server_process_get_url (a), NULL, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  known = tether_room_dup_server_urls (alice->room);
  g_assert_cmpuint (g_strv_length (known), ==, 2);
  g_assert_cmpstr (known[0], ==, tether_test_server_process_get_url (a));
  g_assert_cmpstr (known[1], ==, tether_test_server_process_get_url (b));
  add_stream (alice, "alice-cam");
  TETHER_WAIT_UNTIL (event_index (bob, "stream ADD alice-cam") >= 0, WAIT_MS);
  g_assert_cmpint (event_index (bob, "user ADD alice"), >=, 0);

  tether_test_server_process_kill (a);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==,
                   tether_test_server_process_get_url (b));
  report = alice->reports->pdata[0];
  g_assert_true (tether_reconnect_report_get_resumed (report));

  /* Node A is reaped after the heartbeat timeout: alice is B's now, so no DELETE. An
   * ADD after that reaches bob and alice with nothing before it. */
  TETHER_WAIT_UNTIL (redis_says (redis, "SISMEMBER " NODES_KEY " a", "0"), WAIT_MS);
  dave = client_new ("dave", tether_test_server_process_get_url (b), NULL, NULL);
  TETHER_WAIT_UNTIL (event_index (bob, "user ADD dave") >= 0
                     && event_index (alice, "user ADD dave") >= 0, WAIT_MS);
  g_assert_cmpint (event_index (bob, "user DELETE alice"), ==, -1);
  g_assert_cmpint (event_index (bob, "stream DELETE alice-cam"), ==, -1);
  g_assert_cmpint (event_index (alice, "user DELETE bob"), ==, -1);
}

/* login_ok's room_services: this node first, then the other live nodes starting at a
 * random one per login, so that the clients of a node that dies do not all try the
 * same next node (bench-cluster kill-libtether: 1,000 on one survivor before). */
static void
test_cluster_spreads_next_node (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autoptr(TetherTestServerProcess) a = NULL, b = NULL, c = NULL;
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  g_autofree char *seen = NULL;
  guint next_b = 0, next_c = 0;

  g_assert_no_error (error);
  a = cluster_node (redis, "a");
  b = cluster_node (redis, "b");
  c = cluster_node (redis, "c");
  TETHER_WAIT_UNTIL (redis_says (redis, "SCARD " NODES_KEY, "3"), WAIT_MS);
  seen = tether_test_redis_commandv (redis, 3, (const char *[]) { "HGET", NODE_A_KEY, "seen_ms" });
  TETHER_WAIT_UNTIL (!redis_says (redis, "HGET " NODE_A_KEY " seen_ms", seen), WAIT_MS);

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *user = g_strdup_printf ("u%02u", i);

      g_ptr_array_add (clients, client_new (user, tether_test_server_process_get_url (a), NULL,
                                            NULL));
    }
  for (guint i = 0; i < clients->len; i++)
    {
      Client *client = clients->pdata[i];
      g_auto(GStrv) known = NULL;

      TETHER_WAIT_UNTIL (state_of (client) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
      known = tether_room_dup_server_urls (client->room);
      g_assert_cmpuint (g_strv_length (known), ==, 3);
      g_assert_cmpstr (known[0], ==, tether_test_server_process_get_url (a));
      next_b += g_strcmp0 (known[1], tether_test_server_process_get_url (b)) == 0;
      next_c += g_strcmp0 (known[1], tether_test_server_process_get_url (c)) == 0;
    }
  g_test_message ("next after a: b %u times, c %u times", next_b, next_c);
  /* Both orders are a rotation: each of 20 logins picks one; all the same has a
   * chance of 2 in a million. */
  g_assert_cmpuint (next_b + next_c, ==, 20);
  g_assert_cmpuint (next_b, >, 0);
  g_assert_cmpuint (next_c, >, 0);
}

/* ---- a room service that cannot reach its shared state ---------------------------- */

/* A real cluster node whose Redis is gone: it answers every login with error 1021 and
 * close 4503, and counts them in tether_cluster_refused_total. */
static TetherTestServerProcess *
unavailable_node (TetherTestRedis *dead_redis)
{
  return tether_test_server_process_new (SERVER_ARGS, "--redis", tether_test_redis_get_url (dead_redis),
                                         "--node-id", "u", "--admin-listen", "127.0.0.1:0", NULL);
}

static guint64
refusals_of (TetherTestServerProcess *node)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *line = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  guint64 value = 0;

  g_assert_true (tether_test_process_wait_for_line (tether_test_server_process_get_process (node),
                                                    "admin on http://", WAIT_MS, &line));
  uri = g_strconcat (strstr (line, "http://"), "metrics", NULL);
  msg = soup_message_new ("GET", uri);
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_test_metric (g_bytes_get_data (body, NULL), "tether_cluster_refused_total",
                                     &value));
  return value;
}

/* 1021 is retried like 1009: a client with another node gets there; a client with
 * only the unavailable node keeps trying until login_timeout (1002), never
 * LOGIN_FAILED 1021. */
static void
test_service_unavailable_is_retried (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autoptr(TetherTestServerProcess) u = NULL;
  g_autoptr(TetherTestServerProcess) b = tether_test_server_process_new (SERVER_ARGS, NULL);
  const char *b_url = tether_test_server_process_get_url (b);
  const char *more[] = { b_url, NULL };
  g_autoptr(Client) alice = NULL;
  g_autoptr(Client) bob = NULL;
  guint64 before;

  g_assert_no_error (error);
  tether_test_redis_kill (redis);
  u = unavailable_node (redis);

  alice = client_new ("alice", tether_test_server_process_get_url (u), more, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpstr (tether_room_get_server_url (alice->room), ==, b_url);
  before = refusals_of (u);
  g_assert_cmpuint (before, ==, 1);

  bob = client_new ("bob", tether_test_server_process_get_url (u), NULL, "login_timeout=2");
  TETHER_WAIT_UNTIL (login_over (bob), WAIT_MS);
  g_assert_cmpint (state_of (bob), ==, TETHER_ROOM_STATE_LOGIN_FAILED);
  g_assert_cmpint (tether_room_get_error_code (bob->room), ==, TETHER_ERROR_LOGIN_TIMEOUT);
  g_assert_cmpuint (refusals_of (u) - before, >=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* tether-cli takes the app secret from the environment (docs/security.md). */
  g_setenv ("TETHER_APP_SECRET", TETHER_TEST_SECRET, TRUE);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);

  g_test_add_func ("/failover/first-login-skips-dead-node", test_first_login_skips_dead_node);
  g_test_add_func ("/failover/killed-node-rejoins-next", test_killed_node_rejoins_next);
  g_test_add_func ("/failover/node-going-away-starts-at-next",
                   test_node_going_away_starts_at_next);
  g_test_add_func ("/failover/login-ok-list-is-used", test_login_ok_list_is_used);
  g_test_add_func ("/failover/walk-in-order", test_walk_in_order);
  g_test_add_func ("/failover/dead-nodes-cost-no-backoff", test_dead_nodes_cost_no_backoff);
  g_test_add_func ("/failover/failed-round-backs-off", test_failed_round_backs_off);
  g_test_add_func ("/failover/room-services-filtered", test_room_services_filtered);
  g_test_add_func ("/failover/server-option", test_server_option);
  g_test_add_func ("/failover/cli-several-servers", test_cli_several_servers);
  g_test_add_func ("/failover/cluster-resume-elsewhere", test_cluster_resume_elsewhere);
  g_test_add_func ("/failover/cluster-spreads-next-node", test_cluster_spreads_next_node);
  g_test_add_func ("/failover/service-unavailable-is-retried",
                   test_service_unavailable_is_retried);

  return g_test_run ();
}
