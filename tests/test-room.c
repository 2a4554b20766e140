/* test-room.c: the room behaviour of docs/design.md ("The room state machine", "The
 * reconnection cases") with a real server, real
 * clients and real faults (silent cuts, resets, refusals, kills, restarts)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>

#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

/* Scaled timing: the server drops a silent user after 2.5 s; clients beat every 0.3 s
 * and so call a link dead after 0.66 s of silence. */
#define HEARTBEAT_TIMEOUT 2.5
#define HEARTBEAT_INTERVAL 0.3
#define WAIT_MS 10000

/* One client: an engine, its room, and everything the room reported, in order. */
typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
  char *user_id;
  GArray *states;        /* TetherRoomState */
  GArray *errors;        /* int */
  GPtrArray *events;     /* "user ADD bob", "stream DELETE cam heartbeat_timeout" */
  GPtrArray *reports;    /* TetherReconnectReport */
  guint expiry_warnings;
  double max_rtt;          /* ms, since a test last reset it */
  gint64 reconnecting_at;  /* monotonic µs of the first RECONNECTING, or 0 */
} Client;

typedef struct
{
  TetherTestServer *server;
  TetherFaultProxy *proxy;
  GPtrArray *clients;
} Fixture;

static void
state_cb (TetherRoom *room, TetherRoomState state, int error, const char *extended, Client *c)
{
  g_array_append_val (c->states, state);
  g_array_append_val (c->errors, error);
  if (state == TETHER_ROOM_STATE_RECONNECTING && c->reconnecting_at == 0)
    c->reconnecting_at = g_get_monotonic_time ();
  if (state == TETHER_ROOM_STATE_LOGINED)
    g_assert_nonnull (strstr (extended, "room_session_id"));
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
    g_ptr_array_add (c->events,
                     g_strdup_printf ("stream %s %s%s%s", tether_update_type_to_string (update),
                                      tether_stream_get_id (streams->pdata[i]),
                                      update == TETHER_UPDATE_DELETE ? " " : "",
                                      update == TETHER_UPDATE_DELETE && reason ? reason : ""));
}

static void
report_cb (TetherRoom *room, TetherReconnectReport *report, Client *c)
{
  g_ptr_array_add (c->reports, g_object_ref (report));
}

static void
expire_cb (TetherRoom *room, int remaining, Client *c)
{
  c->expiry_warnings++;
}

static void
rtt_cb (TetherRoom *room, GParamSpec *pspec, Client *c)
{
  c->max_rtt = MAX (c->max_rtt, tether_room_get_rtt (room));
}

static void
client_free (Client *c)
{
  g_signal_handlers_disconnect_by_data (c->room, c);
  if (tether_room_get_state (c->room) != TETHER_ROOM_STATE_LOGOUT)
    tether_room_logout (c->room);
  g_object_unref (c->room);
  g_object_unref (c->engine);
  g_free (c->user_id);
  g_array_unref (c->states);
  g_array_unref (c->errors);
  g_ptr_array_unref (c->events);
  g_ptr_array_unref (c->reports);
  g_free (c);
}

/* Logs a client in through @url with its own engine and @config. */
static Client *
client_new_full (Fixture    *f,
                 const char *url,
                 const char *user_id,
                 const char *token,
                 const char *config)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *own_token = NULL;
  g_autoptr(TetherLoginOptions) login = NULL;

  c->engine = tether_engine_new ();
  if (config != NULL)
    {
      tether_engine_set_config (c->engine, config, &error);
      g_assert_no_error (error);
    }
  c->user_id = g_strdup (user_id);
  c->states = g_array_new (FALSE, FALSE, sizeof (TetherRoomState));
  c->errors = g_array_new (FALSE, FALSE, sizeof (int));
  c->events = g_ptr_array_new_with_free_func (g_free);
  c->reports = g_ptr_array_new_with_free_func (g_object_unref);
  if (token == NULL)
    token = own_token = tether_test_token (user_id, "lobby", 3600);

  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", url,
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", user_id,
                        "token", token, "notify-users", TRUE, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "state-changed", G_CALLBACK (state_cb), c);
  g_signal_connect (c->room, "user-update", G_CALLBACK (user_cb), c);
  g_signal_connect (c->room, "stream-update", G_CALLBACK (stream_cb), c);
  g_signal_connect (c->room, "reconnect-report", G_CALLBACK (report_cb), c);
  g_signal_connect (c->room, "token-will-expire", G_CALLBACK (expire_cb), c);
  g_signal_connect (c->room, "notify::rtt", G_CALLBACK (rtt_cb), c);
  g_ptr_array_add (f->clients, c);
  return c;
}

static TetherRoomState
state_of (Client *c)
{
  return tether_room_get_state (c->room);
}

static gboolean
logged_in (Client *c)
{
  TetherRoomState s = state_of (c);

  return s == TETHER_ROOM_STATE_LOGINED || s == TETHER_ROOM_STATE_RECONNECTED;
}

static guint
count_states (Client *c, TetherRoomState state)
{
  guint n = 0;

  for (guint i = 0; i < c->states->len; i++)
    n += g_array_index (c->states, TetherRoomState, i) == state;
  return n;
}

static gboolean
has_event (Client *c, const char *event)
{
  for (guint i = 0; i < c->events->len; i++)
    if (g_str_equal (c->events->pdata[i], event))
      return TRUE;
  return FALSE;
}

/* Where @event last happened in @c's history, or -1. */
static int
event_index (Client *c, const char *event)
{
  for (guint i = c->events->len; i > 0; i--)
    if (g_str_equal (c->events->pdata[i - 1], event))
      return (int) i - 1;
  return -1;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
event_with_prefix (Client *c, const char *prefix)
{
  for (guint i = 0; i < c->events->len; i++)
    if (g_str_has_prefix (c->events->pdata[i], prefix))
      return TRUE;
  return FALSE;
}

/* The ids in a list model of users or streams, sorted and joined: "bob,carol". */
static char *
ids_of (GListModel *model)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      g_ptr_array_add (ids, (gpointer) (TETHER_IS_USER (item)
                                          ? tether_user_get_id (TETHER_USER (item))
                                          : tether_stream_get_id (TETHER_STREAM (item))));
    }
  g_ptr_array_sort (ids, compare_strings);
  g_ptr_array_add (ids, NULL);
  return g_strjoinv (",", (char **) ids->pdata);
}

static gboolean
users_are (Client *c, const char *expected)
{
  g_autofree char *ids = ids_of (tether_room_get_users (c->room));

  return g_str_equal (ids, expected);
}

static gboolean
streams_are (Client *c, const char *expected)
{
  g_autofree char *ids = ids_of (tether_room_get_streams (c->room));

  return g_str_equal (ids, expected);
}

#define assert_users(c, expected) \
  G_STMT_START { g_autofree char *_ids = ids_of (tether_room_get_users ((c)->room)); \
                 g_assert_cmpstr (_ids, ==, expected); } G_STMT_END
#define assert_streams(c, expected) \
  G_STMT_START { g_autofree char *_ids = ids_of (tether_room_get_streams ((c)->room)); \
                 g_assert_cmpstr (_ids, ==, expected); } G_STMT_END

static void
add_stream_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  int *done = user_data;
  g_autoptr(GError) error = NULL;

  *done = tether_room_add_stream_finish (TETHER_ROOM (source), result, &error) ? 1 : -1;
}

static void
add_stream (Client *c, const char *stream_id)
{
  int done = 0;

  tether_room_add_stream_async (c->room, stream_id, "node-a", "", NULL, add_stream_cb, &done);
  TETHER_WAIT_UNTIL (done != 0, WAIT_MS);
  g_assert_cmpint (done, ==, 1);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->server = tether_test_server_new ("heartbeat-timeout", HEARTBEAT_TIMEOUT,
                                      "heartbeat-interval", HEARTBEAT_INTERVAL,
                                      "session-ttl", 60.0,
                                      "token-skew", 1.0,
                                      NULL);
  f->proxy = tether_fault_proxy_new ("127.0.0.1", tether_test_server_get_port (f->server));
  f->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->clients);
  g_clear_object (&f->proxy);
  g_clear_pointer (&f->server, tether_test_server_free);
}

static Client *
direct_client (Fixture *f, const char *user_id, const char *config)
{
  return client_new_full (f, tether_test_server_get_url (f->server), user_id, NULL, config);
}

static Client *
proxied_client (Fixture *f, const char *user_id, const char *config)
{
  g_autofree char *url = tether_fault_proxy_get_ws_url (f->proxy);

  return client_new_full (f, url, user_id, NULL, config);
}

/* ---- tests ------------------------------------------------------------------------ */

static void
test_login_and_presence (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice;

  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpuint (count_states (bob, TETHER_ROOM_STATE_LOGINING), ==, 1);
  g_assert_nonnull (tether_room_get_room_session_id (bob->room));
  add_stream (bob, "bob-cam");

  alice = direct_client (f, "alice", NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  /* The new member learns what is there as ADD events; the old one hears of her. */
  TETHER_WAIT_UNTIL (has_event (alice, "user ADD bob") && has_event (alice, "stream ADD bob-cam"),
                     WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user ADD alice"), WAIT_MS);
  assert_users (alice, "bob");
  assert_streams (alice, "bob-cam");
  /* Nobody lists themselves or their own streams. */
  assert_users (bob, "alice");
  assert_streams (bob, "");
  g_assert_cmpstr (tether_room_get_room_session_id (alice->room), ==,
                   tether_room_get_room_session_id (bob->room));

  tether_room_delete_stream (bob->room, "bob-cam", "stopped");
  TETHER_WAIT_UNTIL (has_event (alice, "stream DELETE bob-cam stopped"), WAIT_MS);

  tether_room_logout (alice->room);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGOUT, WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user DELETE alice"), WAIT_MS);
}

/* Case 1: back before the server's heartbeat timeout — the others see nothing, and
 * the returning client gets what it missed, in order. */
static void
test_case1_resume (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = proxied_client (f, "alice", NULL);
  Client *carol;
  TetherReconnectReport *report;

  TETHER_WAIT_UNTIL (logged_in (bob) && logged_in (alice), WAIT_MS);
  add_stream (alice, "alice-cam");
  TETHER_WAIT_UNTIL (has_event (bob, "stream ADD alice-cam"), WAIT_MS);
  g_ptr_array_set_size (bob->events, 0);

  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  /* Something happens while she is away. */
  carol = direct_client (f, "carol", NULL);
  TETHER_WAIT_UNTIL (logged_in (carol), WAIT_MS);
  tether_fault_proxy_restore (f->proxy);

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpuint (alice->reports->len, ==, 1);
  report = alice->reports->pdata[0];
  g_assert_true (tether_reconnect_report_get_resumed (report));
  g_assert_true (tether_reconnect_report_get_succeeded (report));
  g_assert_cmpuint (tether_reconnect_report_get_attempts (report), >=, 1);
  g_assert_cmpstr (tether_reconnect_report_get_cause (report), ==, "link-timeout");

  /* The missed event was replayed. */
  TETHER_WAIT_UNTIL (has_event (alice, "user ADD carol"), WAIT_MS);
  assert_users (alice, "bob,carol");
  assert_streams (carol, "alice-cam");

  /* Bob saw nothing of alice's trip; wait past the server's timeout to be sure it
   * does not fire late. */
  tether_test_run_for ((guint) (HEARTBEAT_TIMEOUT * 1000 + 500));
  g_assert_false (event_with_prefix (bob, "user DELETE"));
  g_assert_false (event_with_prefix (bob, "stream DELETE"));
  assert_users (bob, "alice,carol");
  g_assert_true (logged_in (alice));
}

/* A stream withdrawn while the link is down (a host stops publishing during a cut)
 * is withdrawn when the session resumes: the others see its DELETE "stopped" once,
 * and nothing of the trip itself. */
static void
test_delete_while_away (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = proxied_client (f, "alice", NULL);

  TETHER_WAIT_UNTIL (logged_in (bob) && logged_in (alice), WAIT_MS);
  add_stream (alice, "alice-cam");
  add_stream (alice, "alice-screen");
  TETHER_WAIT_UNTIL (has_event (bob, "stream ADD alice-screen"), WAIT_MS);
  g_ptr_array_set_size (bob->events, 0);

  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  tether_room_delete_stream (alice->room, "alice-cam", NULL);
  tether_fault_proxy_restore (f->proxy);

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_true (tether_reconnect_report_get_resumed (alice->reports->pdata[0]));
  TETHER_WAIT_UNTIL (has_event (bob, "stream DELETE alice-cam stopped"), WAIT_MS);
  assert_streams (bob, "alice-screen");
  g_assert_false (event_with_prefix (bob, "user DELETE"));

  /* The link as it was: a withdrawal goes at once. */
  tether_room_delete_stream (alice->room, "alice-screen", NULL);
  TETHER_WAIT_UNTIL (has_event (bob, "stream DELETE alice-screen stopped"), WAIT_MS);
  assert_streams (bob, "");
}

/* Case 2: back after the heartbeat timeout — others see DELETE then ADD, and the
 * returning client's lists end equal to the server's. */
static void
test_case2_rejoin (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = proxied_client (f, "alice", NULL);
  Client *carol, *dave;
  TetherReconnectReport *report;
  int deleted, added;

  TETHER_WAIT_UNTIL (logged_in (bob) && logged_in (alice), WAIT_MS);
  add_stream (alice, "alice-cam");
  add_stream (bob, "bob-cam");
  TETHER_WAIT_UNTIL (has_event (bob, "stream ADD alice-cam"), WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (alice, "stream ADD bob-cam"), WAIT_MS);

  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (has_event (bob, "user DELETE alice"), WAIT_MS);
  g_assert_true (has_event (bob, "stream DELETE alice-cam heartbeat_timeout"));
  g_assert_true (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING);

  /* The room changes behind her back: carol arrives, bob's stream goes. */
  carol = direct_client (f, "carol", NULL);
  TETHER_WAIT_UNTIL (logged_in (carol), WAIT_MS);
  tether_room_delete_stream (bob->room, "bob-cam", "stopped");
  TETHER_WAIT_UNTIL (has_event (carol, "user ADD bob"), WAIT_MS);
  tether_test_run_for (100);

  tether_fault_proxy_restore (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  report = alice->reports->pdata[0];
  g_assert_false (tether_reconnect_report_get_resumed (report));
  g_assert_cmpfloat (tether_reconnect_report_get_downtime (report), >=, 0.5);

  /* Others: DELETE, then ADD — for her and for her stream, announced again. */
  TETHER_WAIT_UNTIL (has_event (bob, "user ADD alice"), WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "stream ADD alice-cam")
                     && event_index (bob, "stream ADD alice-cam")
                          > event_index (bob, "stream DELETE alice-cam heartbeat_timeout"),
                     WAIT_MS);
  deleted = event_index (bob, "user DELETE alice");
  added = event_index (bob, "user ADD alice");
  g_assert_cmpint (deleted, <, added);

  /* Her view was resynchronised: every difference reported as an event. */
  TETHER_WAIT_UNTIL (has_event (alice, "user ADD carol"), WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (alice, "stream DELETE bob-cam resync"), WAIT_MS);

  /* And it equals what a newcomer gets from the server. */
  dave = direct_client (f, "dave", NULL);
  TETHER_WAIT_UNTIL (logged_in (dave), WAIT_MS);
  TETHER_WAIT_UNTIL (users_are (dave, "alice,bob,carol") && streams_are (dave, "alice-cam"),
                     WAIT_MS);
  TETHER_WAIT_UNTIL (users_are (alice, "bob,carol,dave"), WAIT_MS);
  assert_streams (alice, "");
}

/* Case 3: the retry window ends — RECONNECT_FAILED exactly once, then silence. */
static void
test_case3_gives_up (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice", "room_retry_time=2");
  gint64 broke, failed;
  guint accepted;

  TETHER_WAIT_UNTIL (logged_in (alice), WAIT_MS);
  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  broke = g_get_monotonic_time ();
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECT_FAILED, WAIT_MS);
  failed = g_get_monotonic_time ();

  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECT_FAILED), ==, 1);
  g_assert_cmpint (g_array_index (alice->errors, int, alice->errors->len - 1), ==,
                   TETHER_ERROR_RECONNECT_TIMEOUT);
  /* The window is measured from detection. */
  g_assert_cmpfloat ((failed - broke) / 1e6, >=, 1.9);
  g_assert_cmpuint (alice->reports->len, ==, 1);
  g_assert_false (tether_reconnect_report_get_succeeded (alice->reports->pdata[0]));
  g_assert_cmpuint (g_list_model_get_n_items (tether_room_get_users (alice->room)), ==, 0);

  /* No attempt after giving up, even with the network back. */
  tether_fault_proxy_restore (f->proxy);
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);
  tether_test_run_for (1500);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted);
  g_assert_cmpuint (alice->states->len, ==, count_states (alice, TETHER_ROOM_STATE_LOGINING)
                                              + count_states (alice, TETHER_ROOM_STATE_LOGINED)
                                              + count_states (alice, TETHER_ROOM_STATE_RECONNECTING)
                                              + 1);
}

/* A reset (RST) is noticed at once, not after the dead-link timeout. */
static void
test_reset_reconnects (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice", NULL);

  TETHER_WAIT_UNTIL (logged_in (alice), WAIT_MS);
  tether_fault_proxy_reset (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpstr (tether_reconnect_report_get_cause (alice->reports->pdata[0]), ==, "closed");
  g_assert_true (tether_reconnect_report_get_resumed (alice->reports->pdata[0]));
}

/* A second login with the same user id: the first session's streams go, then it is
 * kicked out and never retries. */
static void
test_duplicate_login (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = proxied_client (f, "alice", NULL);
  Client *alice2;
  guint accepted;

  TETHER_WAIT_UNTIL (logged_in (bob) && logged_in (alice), WAIT_MS);
  add_stream (alice, "alice-cam");
  TETHER_WAIT_UNTIL (has_event (bob, "stream ADD alice-cam"), WAIT_MS);

  alice2 = direct_client (f, "alice", NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_KICK_OUT, WAIT_MS);
  g_assert_cmpint (tether_room_get_error_code (alice->room), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  TETHER_WAIT_UNTIL (logged_in (alice2), WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "stream DELETE alice-cam duplicate_login"), WAIT_MS);

  /* The host is back: its stream returns. */
  add_stream (alice2, "alice-cam");
  TETHER_WAIT_UNTIL (event_index (bob, "stream ADD alice-cam")
                       > event_index (bob, "stream DELETE alice-cam duplicate_login"),
                     WAIT_MS);
  assert_users (bob, "alice");

  /* Kicked out means no more attempts. */
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);
  tether_test_run_for (1500);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted);
  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECTING), ==, 0);
}

/* reconnect-now (what a network change or a wake-up does) skips the backoff wait. */
static void
test_reconnect_now_skips_backoff (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice", "room_backoff_max=60");
  guint accepted;
  gint64 start;

  TETHER_WAIT_UNTIL (logged_in (alice), WAIT_MS);
  tether_fault_proxy_refuse (f->proxy);
  tether_fault_proxy_reset (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  /* Six refused attempts grow the backoff to at least 3.2 s (6.4 s × jitter ≥ 0.5),
   * and leave the room waiting, not connecting, when the network comes back. */
  TETHER_WAIT_UNTIL (tether_room_get_attempt (alice->room) >= 6
                       && tether_fault_proxy_get_accepted_count (f->proxy)
                            >= tether_room_get_attempt (alice->room) + 1,
                     30000);
  tether_fault_proxy_restore (f->proxy);
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);

  start = g_get_monotonic_time ();
  tether_engine_reconnect_now (alice->engine);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted + 1);
  g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, 1.5 * tether_test_scale ());
}

static void
test_login_failures (Fixture *f, gconstpointer data)
{
  const char *url = tether_test_server_get_url (f->server);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *bad_sig = tether_token_mint ("wrong-secret", TETHER_TEST_APP_ID, "a", NULL,
                                                TETHER_PRIVILEGE_LOGIN, NULL, now, 600);
  g_autofree char *expired = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, "b", NULL,
                                                TETHER_PRIVILEGE_LOGIN, NULL, now - 7200, 600);
  g_autofree char *other_app = tether_token_mint (TETHER_TEST_SECRET, "other-app", "c", NULL,
                                                  TETHER_PRIVILEGE_LOGIN, NULL, now, 600);
  g_autofree char *other_room = tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, "d",
                                                   "elsewhere", TETHER_PRIVILEGE_LOGIN, NULL, now,
                                                   600);
  struct { const char *user; const char *token; int code; } cases[] = {
    { "a", bad_sig, TETHER_ERROR_TOKEN_INVALID },
    { "b", expired, TETHER_ERROR_TOKEN_EXPIRED },
    { "c", other_app, TETHER_ERROR_APP_ID_INVALID },
    { "d", other_room, TETHER_ERROR_PERMISSION_DENIED },
    { "e", "garbage", TETHER_ERROR_TOKEN_INVALID },
  };
  Client *down;
  g_autoptr(TetherFaultProxy) dead = NULL;
  g_autofree char *dead_url = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Client *c = client_new_full (f, url, cases[i].user, cases[i].token, NULL);

      TETHER_WAIT_UNTIL (state_of (c) == TETHER_ROOM_STATE_LOGIN_FAILED, WAIT_MS);
      g_assert_cmpint (tether_room_get_error_code (c->room), ==, cases[i].code);
      g_assert_cmpuint (count_states (c, TETHER_ROOM_STATE_LOGINED), ==, 0);
    }

  /* Ids the server would refuse fail at once, without a connection. */
  {
    g_autoptr(TetherEngine) engine = tether_engine_new ();
    g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                        "server-url", url,
                                                        "app-id", TETHER_TEST_APP_ID,
                                                        "room-id", "no spaces allowed",
                                                        "user-id", "g", "token", "token",
                                                        "notify-users", TRUE, NULL);
    g_autoptr(TetherRoom) room = tether_engine_login_room (engine, login);

    TETHER_WAIT_UNTIL (tether_room_get_state (room) == TETHER_ROOM_STATE_LOGIN_FAILED, WAIT_MS);
    g_assert_cmpint (tether_room_get_error_code (room), ==, TETHER_ERROR_ROOM_ID_INVALID);
  }

  /* Unreachable: every attempt refused until the login timeout. */
  dead = tether_fault_proxy_new ("127.0.0.1", tether_test_server_get_port (f->server));
  tether_fault_proxy_refuse (dead);
  dead_url = tether_fault_proxy_get_ws_url (dead);
  down = client_new_full (f, dead_url, "f", NULL, "login_timeout=1.5");
  TETHER_WAIT_UNTIL (state_of (down) == TETHER_ROOM_STATE_LOGIN_FAILED, WAIT_MS);
  g_assert_cmpint (tether_room_get_error_code (down->room), ==, TETHER_ERROR_LOGIN_TIMEOUT);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (dead), >=, 2);
}

static void
test_token_renewal (Fixture *f, gconstpointer data)
{
  g_autofree char *short_token = tether_test_token ("alice", "lobby", 3);
  g_autofree char *short_token2 = tether_test_token ("bob", "lobby", 3);
  Client *alice = client_new_full (f, tether_test_server_get_url (f->server), "alice",
                                   short_token, NULL);
  Client *bob = client_new_full (f, tether_test_server_get_url (f->server), "bob",
                                 short_token2, NULL);
  g_autofree char *renewed = NULL;
  gint64 old_expiry;

  TETHER_WAIT_UNTIL (logged_in (alice) && logged_in (bob), WAIT_MS);
  old_expiry = tether_room_get_token_expires_at (alice->room);
  /* The server warns token-warning (2 s here) ahead of expiry. */
  TETHER_WAIT_UNTIL (alice->expiry_warnings == 1 && bob->expiry_warnings == 1, WAIT_MS);
  renewed = tether_test_token ("alice", "lobby", 600);
  tether_room_renew_token (alice->room, renewed);
  TETHER_WAIT_UNTIL (tether_room_get_token_expires_at (alice->room) > old_expiry + 100, WAIT_MS);

  /* Bob did not renew: out when his token runs out; alice stays. */
  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_KICK_OUT, WAIT_MS);
  g_assert_cmpint (tether_room_get_error_code (bob->room), ==, TETHER_ERROR_TOKEN_EXPIRED);
  g_assert_true (logged_in (alice));
  g_assert_cmpuint (alice->expiry_warnings, ==, 1);
}

/* Leaving while the server cannot be told: LOGOUT_FAILED, and no retries after. */
static void
test_logout_failed (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice", NULL);
  Client *bob = direct_client (f, "bob", NULL);
  guint accepted;

  TETHER_WAIT_UNTIL (logged_in (alice) && logged_in (bob), WAIT_MS);
  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  tether_room_logout (alice->room);
  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_LOGOUT_FAILED);
  g_assert_cmpint (tether_room_get_error_code (alice->room), ==, TETHER_ERROR_NETWORK);

  /* The server notices by itself, after its heartbeat timeout. */
  TETHER_WAIT_UNTIL (has_event (bob, "user DELETE alice"), WAIT_MS);
  tether_fault_proxy_restore (f->proxy);
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);
  tether_test_run_for (1000);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted);
}

/* switch_room leaves one room (others see the user go) and enters another. */
static void
test_switch_room (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = direct_client (f, "alice", NULL);
  g_autofree char *token = tether_test_token ("alice", NULL, 3600);
  g_autoptr(TetherRoom) stage = NULL;

  TETHER_WAIT_UNTIL (logged_in (bob) && logged_in (alice), WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user ADD alice"), WAIT_MS);

  stage = tether_engine_switch_room (alice->engine, alice->room, "stage", token);
  TETHER_WAIT_UNTIL (tether_room_get_state (stage) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGOUT, WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user DELETE alice"), WAIT_MS);
  g_assert_cmpstr (tether_room_get_id (stage), ==, "stage");
  g_assert_cmpuint (g_list_model_get_n_items (tether_engine_get_rooms (alice->engine)), ==, 1);
  tether_room_logout (stage);
  TETHER_WAIT_UNTIL (tether_room_get_state (stage) == TETHER_ROOM_STATE_LOGOUT, WAIT_MS);
}

/* A private bus: dbus-daemon as a plain child process, its address read from its
 * stdout. Not GTestDBus: that forks a watcher from this process, which already runs
 * server threads, and the watcher leaves through exit(), so it runs GLib code and
 * exit handlers (LeakSanitizer's among them) in a copy of a threaded process whose
 * threads are gone. */
static GSubprocess *
private_bus_new (char **address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) out = NULL;

  daemon = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "dbus-daemon", "--session",
                             "--nofork", "--nopidfile", "--nosyslog", "--print-address", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  *address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*address);
  return g_steal_pointer (&daemon);
}

static void
private_bus_free (GSubprocess *daemon)
{
  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  g_object_unref (daemon);
}

/* logind says the machine woke up: a retrying room tries at once, skipping its
 * backoff. The system bus is a private dbus-daemon the test owns. */
static void
test_resume_from_sleep (Fixture *f, gconstpointer data)
{
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");
  g_autofree char *address = NULL;
  GSubprocess *bus;
  g_autoptr(GDBusConnection) logind = NULL;
  g_autoptr(GError) error = NULL;
  Client *alice;
  guint accepted, owner;
  gint64 start;

  if (dbus_daemon == NULL)
    {
      g_test_skip ("dbus-daemon is not installed");
      return;
    }
  bus = private_bus_new (&address);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
  g_unsetenv ("TETHER_NO_SYSTEM_BUS");

  logind = g_dbus_connection_new_for_address_sync (address,
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  owner = g_bus_own_name_on_connection (logind, "org.freedesktop.login1",
                                        G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);

  alice = proxied_client (f, "alice", "room_backoff_max=60");
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  TETHER_WAIT_UNTIL (logged_in (alice), WAIT_MS);
  tether_fault_proxy_refuse (f->proxy);
  tether_fault_proxy_reset (f->proxy);
  /* Six refused attempts grow the backoff to at least 3.2 s (6.4 s × jitter ≥ 0.5),
   * and leave the room waiting, not connecting, when the network comes back. */
  TETHER_WAIT_UNTIL (tether_room_get_attempt (alice->room) >= 6
                       && tether_fault_proxy_get_accepted_count (f->proxy)
                            >= tether_room_get_attempt (alice->room) + 1,
                     30000);
  tether_fault_proxy_restore (f->proxy);
  accepted = tether_fault_proxy_get_accepted_count (f->proxy);

  start = g_get_monotonic_time ();
  g_dbus_connection_emit_signal (logind, NULL, "/org/freedesktop/login1",
                                 "org.freedesktop.login1.Manager", "PrepareForSleep",
                                 g_variant_new ("(b)", FALSE), &error);
  g_assert_no_error (error);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpuint (tether_fault_proxy_get_accepted_count (f->proxy), ==, accepted + 1);
  g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, 1.5 * tether_test_scale ());

  g_bus_unown_name (owner);
  g_ptr_array_set_size (f->clients, 0);
  g_dbus_connection_close_sync (logind, NULL, NULL);
  private_bus_free (bus);
}

static void
test_config_strings (void)
{
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpfloat (tether_engine_get_room_retry_time (engine), ==, 1200);
  g_assert_true (tether_engine_set_config (engine, "room_retry_time=2.5; av_retry_time=30", &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tether_engine_get_room_retry_time (engine), ==, 2.5);
  g_assert_cmpfloat (tether_engine_get_av_retry_time (engine), ==, 30);

  g_assert_false (tether_engine_set_config (engine, "room_retry_time=abc", &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tether_engine_set_config (engine, "no_such_key=1", &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tether_engine_set_config (engine, "room_retry_time=-1", &error));
  g_clear_error (&error);
  g_assert_cmpfloat (tether_engine_get_room_retry_time (engine), ==, 2.5);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* The options name each login value; a room keeps its own copy and gives it back
 * with the token it holds now. */
static void
test_login_options (void)
{
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autoptr(TetherLoginOptions) login = tether_login_options_new ();
  g_autoptr(TetherLoginOptions) copy = NULL;
  g_autoptr(TetherLoginOptions) back = NULL;
  g_autofree char *token = tether_test_token ("ann", "lobby", 3600);
  g_autofree char *renewed = tether_test_token ("ann", "lobby", 7200);
  g_autoptr(TetherRoom) room = NULL;
  g_autofree char *room_id = NULL;
  gboolean notify_users = TRUE;
  guint notifications = 0;

  g_assert_null (tether_login_options_get_user_name (login));
  g_assert_false (tether_login_options_get_notify_users (login));
  g_signal_connect (login, "notify", G_CALLBACK (count_notify_cb), &notifications);
  g_object_set (login, "server-url", "ws://127.0.0.1:1/ws", "app-id", TETHER_TEST_APP_ID,
                "room-id", "lobby", "user-id", "ann", "token", token, NULL);
  g_assert_cmpuint (notifications, ==, 5);
  tether_login_options_set_room_id (login, "lobby");
  tether_login_options_set_notify_users (login, FALSE);
  g_assert_cmpuint (notifications, ==, 5);
  g_object_get (login, "room-id", &room_id, "notify-users", &notify_users, NULL);
  g_assert_cmpstr (room_id, ==, "lobby");
  g_assert_false (notify_users);

  copy = tether_login_options_copy (login);
  g_assert_cmpstr (tether_login_options_get_server_url (copy), ==, "ws://127.0.0.1:1/ws");
  g_assert_cmpstr (tether_login_options_get_app_id (copy), ==, TETHER_TEST_APP_ID);
  g_assert_cmpstr (tether_login_options_get_user_id (copy), ==, "ann");
  g_assert_cmpstr (tether_login_options_get_token (copy), ==, token);

  room = tether_engine_login_room (engine, login);
  /* Changing the options afterwards does not reach the room. */
  tether_login_options_set_room_id (login, "elsewhere");
  g_assert_cmpstr (tether_room_get_id (room), ==, "lobby");

  tether_room_renew_token (room, renewed);
  back = tether_room_dup_login_options (room);
  g_assert_cmpstr (tether_login_options_get_room_id (back), ==, "lobby");
  g_assert_cmpstr (tether_login_options_get_user_name (back), ==, "ann");
  g_assert_cmpstr (tether_login_options_get_token (back), ==, renewed);
  tether_room_logout (room);
}

/* ---- a blocked main loop (issue 12 item 5; docs/design.md, 'The network thread') -- */

/* The fault injected here: one callback on the test's (the rooms' owner's) main context
 * that does not return for BLOCK_SECONDS, as a main thread stuck in slow frames does —
 * longer than the link timeout (0.66 s) and the server's heartbeat timeout. @during
 * runs first, inside the block. Returns when the callback returned (monotonic µs). */
#define BLOCK_SECONDS 3.0

typedef struct
{
  TetherTestFunc during;
  gpointer data;
  gint64 ended_at;
} Block;

static gboolean
block_cb (gpointer user_data)
{
  Block *b = user_data;

  if (b->during != NULL)
    b->during (b->data);
  g_usleep ((gulong) (BLOCK_SECONDS * G_USEC_PER_SEC));
  b->ended_at = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static gint64
block_main_context (TetherTestFunc during,
                    gpointer       data)
{
  Block b = { during, data, 0 };
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, block_cb, &b, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
  TETHER_WAIT_UNTIL (b.ended_at != 0, WAIT_MS + (guint) (BLOCK_SECONDS * 1000));
  return b.ended_at;
}

/* A blocked main loop is not a dead link: the room stays LOGINED without a reconnect,
 * the server kept the session (heartbeats went out during the block, from libtether's
 * network thread), and the round-trip times stayed those of loopback — stamped when
 * the answers were read, not when the blocked handler ran. */
static void
test_blocked_main_loop (Fixture *f, gconstpointer data)
{
  Client *bob = direct_client (f, "bob", NULL);
  Client *alice = proxied_client (f, "alice", NULL);

  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED
                     && state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user ADD alice"), WAIT_MS);
  TETHER_WAIT_UNTIL (tether_room_get_rtt (alice->room) > 0, WAIT_MS);
  alice->max_rtt = 0;

  block_main_context (NULL, NULL);
  /* Whatever the block would have set off arrives now: give it two link timeouts. */
  tether_test_run_for ((guint) (2 * 2.2 * HEARTBEAT_INTERVAL * 1000));

  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_LOGINED);
  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECTING), ==, 0);
  g_assert_cmpuint (alice->reports->len, ==, 0);
  g_assert_false (has_event (bob, "user DELETE alice"));
  g_assert_cmpint (state_of (bob), ==, TETHER_ROOM_STATE_LOGINED);
  /* Loopback times, a loaded test machine allowed; not the 3 s of the block. */
  g_assert_cmpfloat (alice->max_rtt, >, 0);
  g_assert_cmpfloat (alice->max_rtt, <, 500);
}

static void
cut_cb (gpointer data)
{
  tether_fault_proxy_cut (data);
}

/* The counter-check: a real silent cut while the main loop is blocked is still a dead
 * link (link-timeout), known as soon as the loop runs again rather than a link
 * timeout later, and the room comes back when the cut ends. */
static void
test_cut_while_blocked (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice", NULL);
  gint64 unblocked;

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  unblocked = block_main_context (cut_cb, f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  g_assert_cmpint (alice->reconnecting_at, >=, unblocked);
  g_assert_cmpfloat ((alice->reconnecting_at - unblocked) / (double) G_USEC_PER_SEC, <,
                     2.2 * HEARTBEAT_INTERVAL);

  tether_fault_proxy_restore (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpuint (alice->reports->len, ==, 1);
  g_assert_cmpstr (tether_reconnect_report_get_cause (alice->reports->pdata[0]), ==,
                   "link-timeout");
  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECTING), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  g_test_add_func ("/room/config-strings", test_config_strings);
  g_test_add_func ("/room/login-options", test_login_options);
  ADD ("/room/login-and-presence", test_login_and_presence);
  ADD ("/room/case1-resume", test_case1_resume);
  ADD ("/room/case2-rejoin", test_case2_rejoin);
  ADD ("/room/delete-while-away", test_delete_while_away);
  ADD ("/room/case3-gives-up", test_case3_gives_up);
  ADD ("/room/reset-reconnects", test_reset_reconnects);
  ADD ("/room/duplicate-login", test_duplicate_login);
  ADD ("/room/reconnect-now-skips-backoff", test_reconnect_now_skips_backoff);
  ADD ("/room/login-failures", test_login_failures);
  ADD ("/room/token-renewal", test_token_renewal);
  ADD ("/room/logout-failed", test_logout_failed);
  ADD ("/room/switch-room", test_switch_room);
  ADD ("/room/resume-from-sleep", test_resume_from_sleep);
  ADD ("/room/blocked-main-loop-is-not-a-dead-link", test_blocked_main_loop);
  ADD ("/room/cut-while-blocked-is-still-detected", test_cut_while_blocked);
#undef ADD

  return g_test_run ();
}
