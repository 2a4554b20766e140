/* test-room-busy.c: a room whose application main loop is blocked for seconds (a
 * loaded machine, a slow frame) keeps its link — heartbeats, their round-trip time
 * and the dead-link timer run on libtether's network thread — while a real silent
 * cut during the block is still noticed (issue 12 item 5; docs/design.md, 'The
 * network thread')
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

/* Scaled timing as in test-room.c: the server drops a silent user after 2.5 s; clients
 * beat every 0.3 s and call a link dead after 0.66 s (2.2 intervals) of silence. The
 * owner's main loop is blocked for longer than both. */
#define HEARTBEAT_TIMEOUT 2.5
#define HEARTBEAT_INTERVAL 0.3
#define LINK_TIMEOUT (2.2 * HEARTBEAT_INTERVAL)
#define BLOCK_SECONDS 3.0
#define WAIT_MS 10000

typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
  GArray *states;          /* TetherRoomState */
  GPtrArray *extended;     /* each state-changed's extended data */
  GPtrArray *events;       /* "user ADD bob", "user DELETE alice heartbeat_timeout" */
  guint reports;
  double max_rtt;          /* ms, since the last reset */
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
  g_ptr_array_add (c->extended, g_strdup (extended));
  if (state == TETHER_ROOM_STATE_RECONNECTING && c->reconnecting_at == 0)
    c->reconnecting_at = g_get_monotonic_time ();
}

static void
user_cb (TetherRoom *room, TetherUpdateType update, GPtrArray *users, Client *c)
{
  for (guint i = 0; i < users->len; i++)
    g_ptr_array_add (c->events, g_strdup_printf ("user %s %s", tether_update_type_to_string (update),
                                                 tether_user_get_id (users->pdata[i])));
}

static void
report_cb (TetherRoom *room, TetherReconnectReport *report, Client *c)
{
  c->reports++;
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
  g_array_unref (c->states);
  g_ptr_array_unref (c->extended);
  g_ptr_array_unref (c->events);
  g_free (c);
}

static Client *
client_new (Fixture    *f,
            const char *url,
            const char *user_id)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = NULL;

  c->engine = tether_engine_new ();
  c->states = g_array_new (FALSE, FALSE, sizeof (TetherRoomState));
  c->extended = g_ptr_array_new_with_free_func (g_free);
  c->events = g_ptr_array_new_with_free_func (g_free);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", url,
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", user_id,
                        "token", token, "notify-users", TRUE, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "state-changed", G_CALLBACK (state_cb), c);
  g_signal_connect (c->room, "user-update", G_CALLBACK (user_cb), c);
  g_signal_connect (c->room, "reconnect-report", G_CALLBACK (report_cb), c);
  g_signal_connect (c->room, "notify::rtt", G_CALLBACK (rtt_cb), c);
  g_ptr_array_add (f->clients, c);
  return c;
}

static TetherRoomState
state_of (Client *c)
{
  return tether_room_get_state (c->room);
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

/* ---- blocking the owner's main loop ----------------------------------------------- */

/* The fault this file injects: one callback on the test's (the rooms' owner's) main
 * context that does not return for @seconds, as a main thread stuck in a slow frame
 * does. @during runs first, inside the block. */
typedef struct
{
  double seconds;
  TetherTestFunc during;
  gpointer data;
  gint64 ended_at;  /* monotonic µs when the callback returned, or 0 */
} Block;

static gboolean
block_cb (gpointer user_data)
{
  Block *b = user_data;

  if (b->during != NULL)
    b->during (b->data);
  g_usleep ((gulong) (b->seconds * G_USEC_PER_SEC));
  b->ended_at = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static gint64
block_main_context (double         seconds,
                    TetherTestFunc during,
                    gpointer       data)
{
  Block b = { seconds, during, data, 0 };
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, block_cb, &b, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
  TETHER_WAIT_UNTIL (b.ended_at != 0, WAIT_MS + (guint) (seconds * 1000));
  return b.ended_at;
}

/* ---- fixture ---------------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->server = tether_test_server_new ("heartbeat-timeout", HEARTBEAT_TIMEOUT,
                                      "heartbeat-interval", HEARTBEAT_INTERVAL,
                                      "session-ttl", 60.0,
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
proxied_client (Fixture *f, const char *user_id)
{
  g_autofree char *url = tether_fault_proxy_get_ws_url (f->proxy);

  return client_new (f, url, user_id);
}

/* ---- tests ------------------------------------------------------------------------ */

/* A main loop blocked for several link timeouts — longer even than the server's
 * heartbeat timeout — is not a dead link: the room stays LOGINED without a reconnect,
 * the server kept the session (the heartbeats went out meanwhile), and the round-trip
 * times stayed those of loopback, not of the block. */
static void
test_blocked_main_loop (Fixture *f, gconstpointer data)
{
  Client *bob = client_new (f, tether_test_server_get_url (f->server), "bob");
  Client *alice = proxied_client (f, "alice");

  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED
                     && state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "user ADD alice"), WAIT_MS);
  /* A first round trip, so the check below is not of a room that never measured. */
  TETHER_WAIT_UNTIL (tether_room_get_rtt (alice->room) > 0, WAIT_MS);
  alice->max_rtt = 0;

  block_main_context (BLOCK_SECONDS, NULL, NULL);
  /* Whatever the block would have set off arrives now: give it two link timeouts. */
  tether_test_run_for ((guint) (2 * LINK_TIMEOUT * 1000));

  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_LOGINED);
  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECTING), ==, 0);
  g_assert_cmpuint (alice->reports, ==, 0);
  g_assert_false (has_event (bob, "user DELETE alice"));
  g_assert_cmpint (state_of (bob), ==, TETHER_ROOM_STATE_LOGINED);
  /* Stamped when the answers were read on the network thread: loopback times (a
   * loaded test machine allowed), not the seconds the handler waited. */
  g_assert_cmpfloat (alice->max_rtt, >, 0);
  g_assert_cmpfloat (alice->max_rtt, <, 500);
}

static void
cut_cb (gpointer data)
{
  tether_fault_proxy_cut (data);
}

/* The counter-check: a real silent cut while the main loop is blocked is still a
 * dead link, known (cause link-timeout) as soon as the owner runs again, not a link
 * timeout later; and the room comes back when the cut ends. */
static void
test_cut_while_blocked (Fixture *f, gconstpointer data)
{
  Client *alice = proxied_client (f, "alice");
  gint64 unblocked;
  guint i;

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  unblocked = block_main_context (BLOCK_SECONDS, cut_cb, f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  g_assert_cmpint (alice->reconnecting_at, >=, unblocked);
  g_assert_cmpfloat ((alice->reconnecting_at - unblocked) / (double) G_USEC_PER_SEC, <,
                     LINK_TIMEOUT);
  for (i = 0; i < alice->states->len; i++)
    if (g_array_index (alice->states, TetherRoomState, i) == TETHER_ROOM_STATE_RECONNECTING)
      break;
  g_assert_nonnull (strstr (alice->extended->pdata[i], "\"link-timeout\""));

  tether_fault_proxy_restore (f->proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);
  g_assert_cmpuint (alice->reports, ==, 1);
  g_assert_cmpuint (count_states (alice, TETHER_ROOM_STATE_RECONNECTING), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);

  g_test_add ("/room-busy/blocked-main-loop-is-not-a-dead-link", Fixture, NULL, fixture_setup,
              test_blocked_main_loop, fixture_teardown);
  g_test_add ("/room-busy/cut-while-blocked-is-still-detected", Fixture, NULL, fixture_setup,
              test_cut_while_blocked, fixture_teardown);
  return g_test_run ();
}
