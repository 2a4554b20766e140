/* test-media.c: publishers and players through real media nodes (TetherRelay) and a
 * real room server — frames, states, node restarts, failover, cuts, steady errors and
 * the autoplay policy
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/gst.h>

#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

/* The media node library is linked into the tests once its build rules exist; until
 * then this test reports a skip instead of breaking the build. */
#if __has_include ("tether-relay.h")
#include "tether-relay.h"
#define HAVE_RELAY 1
#else
#define HAVE_RELAY 0
#endif

#if HAVE_RELAY

/* Long enough for SRT to notice a cut host (2 s) and the host to come back. */
#define HEARTBEAT_TIMEOUT 8.0
#define HEARTBEAT_INTERVAL 0.3
#define WAIT_MS 15000
#define AV_RETRY_TIME 10.0

/* ---- clients ----------------------------------------------------------------------- */

typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
  GPtrArray *events;          /* "ADD cam node-a" / "DELETE cam stopped" */
} Client;

typedef struct
{
  GArray *states;
  GArray *errors;
} StateLog;

typedef struct
{
  TetherTestServer *server;
  TetherFaultProxy *room_proxy;
  TetherRelay *relays[3];
  guint16 relay_ports[3];
  TetherUdpFaultProxy *udp_proxy;
  GPtrArray *clients;
  GPtrArray *objects;          /* publishers and players, stopped at teardown */
  GPtrArray *logs;
} Fixture;

static void
stream_cb (TetherRoom *room, TetherUpdateType update, GPtrArray *streams, const char *reason,
           Client *c)
{
  for (guint i = 0; i < streams->len; i++)
    {
      TetherStream *s = streams->pdata[i];

      g_ptr_array_add (c->events,
                       g_strdup_printf ("%s %s %s", tether_update_type_to_string (update),
                                        tether_stream_get_id (s),
                                        update == TETHER_UPDATE_ADD ? tether_stream_get_node (s)
                                                                    : (reason ? reason : "")));
    }
}

static gboolean
has_event (Client *c, const char *event)
{
  for (guint i = 0; i < c->events->len; i++)
    if (g_str_equal (c->events->pdata[i], event))
      return TRUE;
  return FALSE;
}

/* Real deletions: a stream that changed (moved node) comes as DELETE "replaced" + ADD. */
static guint
count_deletes (Client *c)
{
  guint n = 0;

  for (guint i = 0; i < c->events->len; i++)
    if (g_str_has_prefix (c->events->pdata[i], "DELETE")
        && !g_str_has_suffix (c->events->pdata[i], " replaced"))
      n++;
  return n;
}

static void
client_free (Client *c)
{
  g_signal_handlers_disconnect_by_data (c->room, c);
  if (tether_room_get_state (c->room) != TETHER_ROOM_STATE_LOGOUT)
    tether_room_logout (c->room);
  g_object_unref (c->room);
  g_object_unref (c->engine);
  g_ptr_array_unref (c->events);
  g_free (c);
}

static Client *
client_new (Fixture *f, const char *user_id, gboolean via_proxy)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autofree char *proxy_url = NULL;
  const char *url = tether_test_server_get_url (f->server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoginOptions) login = NULL;

  if (via_proxy)
    url = proxy_url = tether_fault_proxy_get_ws_url (f->room_proxy);
  c->engine = tether_engine_new ();
  tether_engine_set_config (c->engine, "room_link_timeout=0.8", &error);
  g_assert_no_error (error);
  c->events = g_ptr_array_new_with_free_func (g_free);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", url,
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", user_id,
                        "token", token, "notify-users", TRUE, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "stream-update", G_CALLBACK (stream_cb), c);
  g_ptr_array_add (f->clients, c);
  TETHER_WAIT_UNTIL (tether_room_get_state (c->room) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  return c;
}

/* ---- state logs -------------------------------------------------------------------- */

static void
log_state_cb (GObject *object, int state, int error, const char *extended, StateLog *log)
{
  g_assert_nonnull (strstr (extended, "\"stream_id\""));
  g_array_append_val (log->states, state);
  g_array_append_val (log->errors, error);
}

static void
state_log_free (StateLog *log)
{
  g_array_unref (log->states);
  g_array_unref (log->errors);
  g_free (log);
}

static StateLog *
watch_states (Fixture *f, gpointer object)
{
  StateLog *log = g_new0 (StateLog, 1);

  log->states = g_array_new (FALSE, FALSE, sizeof (int));
  log->errors = g_array_new (FALSE, FALSE, sizeof (int));
  g_signal_connect (object, "state-changed", G_CALLBACK (log_state_cb), log);
  g_ptr_array_add (f->logs, log);
  return log;
}

static guint
count_state (StateLog *log, int state)
{
  guint n = 0;

  for (guint i = 0; i < log->states->len; i++)
    if (g_array_index (log->states, int, i) == state)
      n++;
  return n;
}

/* ---- media ------------------------------------------------------------------------- */

static TetherRelay *
relay_start (guint16 port)
{
  TetherRelay *relay = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;

  /* The port of a relay that just stopped may take a moment to be free again. */
  for (guint i = 0; i < 50; i++)
    {
      g_clear_error (&error);
      if (tether_relay_listen (relay, "127.0.0.1", port, &error))
        return relay;
      tether_test_run_for (100);
    }
  g_assert_no_error (error);
  return NULL;
}

typedef struct
{
  const char *id;
  char *url;
} NodeSpec;

static void
add_node_in_server (TetherServer *server, gpointer data)
{
  NodeSpec *spec = data;

  tether_server_add_media_node (server, spec->id, spec->url);
}

static void
add_node (Fixture *f, const char *id, guint16 port)
{
  NodeSpec spec = { id, g_strdup_printf ("srt://127.0.0.1:%u", port) };

  tether_test_server_run_sync (f->server, add_node_in_server, &spec);
  g_free (spec.url);
}

static TetherPublisher *
publisher_new (Fixture *f, Client *c, const char *stream_id, double av_retry_time)
{
  TetherPublisher *pub = tether_publisher_new (c->room, stream_id, av_retry_time);

  g_object_set (pub, "width", 320, "height", 240, NULL);
  g_ptr_array_add (f->objects, pub);
  return pub;
}

static TetherPlayer *
player_new (Fixture *f, Client *c, const char *stream_id, const char *node, double av_retry_time)
{
  TetherPlayer *player = tether_player_new (c->room, stream_id, node, av_retry_time);

  g_ptr_array_add (f->objects, player);
  return player;
}

static void
start_publisher (TetherPublisher *pub)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_publisher_start (pub, &error));
  g_assert_no_error (error);
}

static void
start_player (TetherPlayer *player)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_player_start (player, &error));
  g_assert_no_error (error);
}

static gboolean
publishing (TetherPublisher *pub)
{
  return tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_PUBLISHING;
}

static gboolean
playing (TetherPlayer *player)
{
  return tether_player_get_state (player) == TETHER_PLAYER_STATE_PLAYING;
}

/* Frames keep coming: @n more than now. */
static gboolean
wait_frames (TetherPlayer *player, guint n)
{
  guint64 target = tether_player_get_frames_decoded (player) + n;

  return TETHER_WAIT_UNTIL (tether_player_get_frames_decoded (player) >= target, WAIT_MS);
}

/* ---- fixture ----------------------------------------------------------------------- */

static void
stop_object (gpointer data)
{
  if (TETHER_IS_PUBLISHER (data))
    tether_publisher_stop (data);
  else if (TETHER_IS_PLAYER (data))
    tether_player_stop (data);
  g_object_unref (data);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  /* A test may bring its own heartbeat timeout, as a pointer to a double. */
  f->server = tether_test_server_new ("heartbeat-timeout",
                                      data != NULL ? *(const double *) data : HEARTBEAT_TIMEOUT,
                                      "heartbeat-interval", HEARTBEAT_INTERVAL,
                                      "session-ttl", 60.0,
                                      NULL);
  f->room_proxy = tether_fault_proxy_new ("127.0.0.1", tether_test_server_get_port (f->server));
  f->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  f->objects = g_ptr_array_new_with_free_func (stop_object);
  f->logs = g_ptr_array_new_with_free_func ((GDestroyNotify) state_log_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->objects);
  g_ptr_array_unref (f->logs);
  g_ptr_array_unref (f->clients);
  for (guint i = 0; i < G_N_ELEMENTS (f->relays); i++)
    if (f->relays[i] != NULL)
      {
        tether_relay_stop (f->relays[i]);
        g_clear_object (&f->relays[i]);
      }
  g_clear_object (&f->udp_proxy);
  g_clear_object (&f->room_proxy);
  g_clear_pointer (&f->server, tether_test_server_free);
  /* Let the SRT threads of stopped links close their sockets. */
  tether_test_run_for (200);
}

/* @n nodes "node-a", "node-b", "node-c", in that order in the room. */
static void
start_nodes (Fixture *f, guint n)
{
  static const char * const ids[] = { "node-a", "node-b", "node-c" };

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (ids));

  for (guint i = 0; i < n; i++)
    {
      f->relays[i] = relay_start (0);
      f->relay_ports[i] = tether_relay_get_port (f->relays[i]);
      add_node (f, ids[i], f->relay_ports[i]);
    }
}

static void
stop_node (Fixture *f, guint i)
{
  tether_relay_stop (f->relays[i]);
  g_clear_object (&f->relays[i]);
}

/* ---- tests ------------------------------------------------------------------------- */

static TetherPublisherState state_at_add = -1;

static void
record_publisher_state_cb (TetherRoom *room, TetherUpdateType update, GPtrArray *streams,
                           const char *reason, TetherPublisher *pub)
{
  if (update == TETHER_UPDATE_ADD)
    state_at_add = tether_publisher_get_state (pub);
}

static void
test_publish_and_play (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;
  StateLog *pub_log, *play_log;
  g_autofree char *stats = NULL;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  pub_log = watch_states (f, pub);
  g_signal_connect (bob->room, "stream-update", G_CALLBACK (record_publisher_state_cb), pub);
  start_publisher (pub);
  g_assert_cmpint (tether_publisher_get_state (pub), ==, TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING);

  /* The stream reaches the viewer only once the media node has the data. */
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  g_assert_cmpint (state_at_add, ==, TETHER_PUBLISHER_STATE_PUBLISHING);
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (pub)), ==, "node-a");
  g_signal_handlers_disconnect_by_func (bob->room, record_publisher_state_cb, pub);

  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  play_log = watch_states (f, player);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  /* PLAYING means a frame was decoded. */
  g_assert_cmpuint (tether_player_get_frames_decoded (player), >=, 1);
  g_assert_cmpint (tether_player_get_first_frame_ms (player), >, 0);
  g_assert_cmpint (tether_player_get_first_frame_ms (player), <, 5000);
  g_test_message ("time to first frame: %" G_GINT64_FORMAT " ms",
                  tether_player_get_first_frame_ms (player));
  g_assert_true (wait_frames (player, 30));

  /* Statistics arrive within a couple of seconds. */
  TETHER_WAIT_UNTIL (tether_player_get_frames_decoded (player) > 60, WAIT_MS);
  tether_test_run_for (1200);
  stats = tether_player_dup_stats_json (player);
  g_test_message ("stats: %s", stats);
  g_assert_nonnull (strstr (stats, "\"state\":\"PLAYING\""));
  {
    double fps = 0, bitrate = 0;

    g_object_get (player, "fps", &fps, "bitrate", &bitrate, NULL);
    g_assert_cmpfloat (fps, >, 5);
    g_assert_cmpfloat (bitrate, >, 10000);
  }

  g_assert_cmpuint (play_log->states->len, ==, 2);
  g_assert_cmpint (g_array_index (play_log->states, int, 0), ==, TETHER_PLAYER_STATE_PLAY_REQUESTING);
  g_assert_cmpint (g_array_index (play_log->states, int, 1), ==, TETHER_PLAYER_STATE_PLAYING);

  /* stop() withdraws the stream; the player follows the DELETE. */
  tether_publisher_stop (pub);
  g_assert_cmpint (tether_publisher_get_state (pub), ==, TETHER_PUBLISHER_STATE_NO_PUBLISH);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (pub)), ==, 0);
  TETHER_WAIT_UNTIL (has_event (bob, "DELETE alice-cam stopped"), WAIT_MS);
  TETHER_WAIT_UNTIL (tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), ==, TETHER_ERROR_PLAY_STREAM_DELETED);
  g_assert_cmpuint (pub_log->states->len, ==, 3);
}

/* The node dies and comes back on the same port: both ends recover by themselves,
 * and the viewer never sees the stream go. */
static void
test_node_restart (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;
  guint16 port;

  start_nodes (f, 1);
  port = f->relay_ports[0];
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);

  stop_node (f, 0);
  TETHER_WAIT_UNTIL (tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING,
                     WAIT_MS);
  TETHER_WAIT_UNTIL (tether_player_get_state (player) == TETHER_PLAYER_STATE_PLAY_REQUESTING,
                     WAIT_MS);
  tether_test_run_for (1000);

  f->relays[0] = relay_start (port);
  TETHER_WAIT_UNTIL (publishing (pub), WAIT_MS);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_true (wait_frames (player, 30));
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (pub)), ==, "node-a");
  g_assert_false (has_event (bob, "DELETE alice-cam media_lost"));
  g_assert_cmpuint (count_deletes (bob), ==, 0);
}

/* Two nodes; the first dies for good: publisher and player both move to the second. */
static void
test_failover (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;

  start_nodes (f, 2);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), ==, "node-a");

  stop_node (f, 0);
  TETHER_WAIT_UNTIL (publishing (pub) && g_strcmp0 (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (pub)), "node-b") == 0,
                     WAIT_MS);
  /* The room tells the viewers where the stream went. */
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-b"), WAIT_MS);
  TETHER_WAIT_UNTIL (playing (player) && g_strcmp0 (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), "node-b") == 0,
                     WAIT_MS);
  g_assert_true (wait_frames (player, 30));
  g_assert_cmpuint (count_deletes (bob), ==, 0);
}

/* The node of each attempt, in order (TetherMediaSession:attempt notifies after
 * TetherMediaSession:current-node names it). */
static void
record_attempt_cb (GObject *object, GParamSpec *pspec, GPtrArray *nodes)
{
  TetherMediaSession *session = TETHER_MEDIA_SESSION (object);

  if (tether_media_session_get_attempt (session) > 0)
    g_ptr_array_add (nodes, g_strdup (tether_media_session_get_current_node (session)));
}

/* @nodes without repeats in a row, joined: "node-b node-a". */
static char *
walk_of (GPtrArray *nodes)
{
  g_autoptr(GString) walk = g_string_new (NULL);
  const char *last = NULL;

  for (guint i = 0; i < nodes->len; i++)
    {
      if (g_strcmp0 (last, nodes->pdata[i]) == 0)
        continue;
      last = nodes->pdata[i];
      g_string_append_printf (walk, "%s%s", walk->len ? " " : "", last);
    }
  return g_string_free (g_steal_pointer (&walk), FALSE);
}

/* The failover rule of TetherMediaSession, the same for both ends: three nodes, the
 * stream on the second; that node dies. Publisher and player each retry it once, then
 * walk the room's list from its first node (node-a), not on to the next (node-c). */
static void
test_failover_rule (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) pub_nodes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) player_nodes = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *pub_walk = NULL;
  g_autofree char *player_walk = NULL;
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;

  start_nodes (f, 3);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  tether_media_session_set_node (TETHER_MEDIA_SESSION (pub), "node-b");
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-b"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-b", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), ==, "node-b");

  g_signal_connect (pub, "notify::attempt", G_CALLBACK (record_attempt_cb), pub_nodes);
  g_signal_connect (player, "notify::attempt", G_CALLBACK (record_attempt_cb), player_nodes);
  stop_node (f, 1);

  TETHER_WAIT_UNTIL (publishing (pub) && g_strcmp0 (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (pub)), "node-a") == 0,
                     WAIT_MS);
  TETHER_WAIT_UNTIL (playing (player) && g_strcmp0 (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), "node-a") == 0,
                     WAIT_MS);
  g_assert_true (wait_frames (player, 30));
  g_signal_handlers_disconnect_by_data (pub, pub_nodes);
  g_signal_handlers_disconnect_by_data (player, player_nodes);

  pub_walk = walk_of (pub_nodes);
  player_walk = walk_of (player_nodes);
  g_test_message ("publisher: %s; player: %s", pub_walk, player_walk);
  g_assert_cmpstr (pub_walk, ==, "node-b node-a");
  g_assert_cmpstr (player_walk, ==, "node-b node-a");
  g_assert_cmpuint (count_deletes (bob), ==, 0);
}

/* The only node is gone longer than av_retry_time: NO_PUBLISH with a timeout, the
 * stream withdrawn as media_lost, the player stops. */
static void
test_retry_timeout (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;
  gint64 broken_at;
  double waited;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", 2.0);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-a", 2.0);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);

  stop_node (f, 0);
  broken_at = g_get_monotonic_time ();
  TETHER_WAIT_UNTIL (tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_NO_PUBLISH, WAIT_MS);
  waited = (g_get_monotonic_time () - broken_at) / (double) G_USEC_PER_SEC;
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (pub)), ==, TETHER_ERROR_PUBLISH_RETRY_TIMEOUT);
  g_assert_cmpfloat (waited, >=, 1.9);
  g_assert_cmpfloat (waited, <, 6.0);
  TETHER_WAIT_UNTIL (has_event (bob, "DELETE alice-cam media_lost"), WAIT_MS);
  TETHER_WAIT_UNTIL (tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), !=, 0);
}

/* A host whose network drops for less than the heartbeat timeout: no DELETE, and
 * publishing and playback resume by themselves. */
static void
test_host_network_cut (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;
  StateLog *pub_log;

  f->relays[0] = relay_start (0);
  f->relay_ports[0] = tether_relay_get_port (f->relays[0]);
  f->udp_proxy = tether_udp_fault_proxy_new ("127.0.0.1", f->relay_ports[0]);
  /* One node, two ways in: the host through a proxy whose link can be cut, the
   * viewer directly. */
  add_node (f, "node-a", tether_udp_fault_proxy_get_port (f->udp_proxy));
  add_node (f, "node-direct", f->relay_ports[0]);
  alice = client_new (f, "alice", TRUE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  tether_media_session_set_node (TETHER_MEDIA_SESSION (pub), "node-a");
  pub_log = watch_states (f, pub);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-direct", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);

  /* The host's network goes: room link and media link. */
  tether_fault_proxy_cut (f->room_proxy);
  tether_udp_fault_proxy_cut (f->udp_proxy);
  TETHER_WAIT_UNTIL (tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING,
                     WAIT_MS);
  tether_test_run_for (500);
  tether_fault_proxy_restore (f->room_proxy);
  tether_udp_fault_proxy_restore (f->udp_proxy);

  TETHER_WAIT_UNTIL (publishing (pub), WAIT_MS);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_true (wait_frames (player, 30));
  /* Back before the heartbeat timeout: the viewer never saw the stream go. */
  g_assert_cmpuint (count_deletes (bob), ==, 0);
  g_assert_cmpuint (count_state (pub_log, TETHER_PUBLISHER_STATE_NO_PUBLISH), ==, 0);
}

static const double short_heartbeat_timeout = 2.5;

static guint
count_events (Client *c, const char *event)
{
  guint n = 0;

  for (guint i = 0; i < c->events->len; i++)
    n += g_str_equal (c->events->pdata[i], event);
  return n;
}

/* The host's network is gone for longer than the heartbeat timeout: viewers get the
 * DELETE and stop pulling; when the network is back the host publishes again by
 * itself, viewers get the ADD and autoplay plays it again without anyone's help. */
static void
test_host_network_cut_long (Fixture *f, gconstpointer data)
{
  g_autoptr(TetherAutoplay) autoplay = NULL;
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;

  f->relays[0] = relay_start (0);
  f->relay_ports[0] = tether_relay_get_port (f->relays[0]);
  f->udp_proxy = tether_udp_fault_proxy_new ("127.0.0.1", f->relay_ports[0]);
  /* The only way to the node crosses the cut, as it would for a host whose network is
   * gone (the viewer's picture stalls too, but the stream is deleted anyway). */
  add_node (f, "node-a", tether_udp_fault_proxy_get_port (f->udp_proxy));
  alice = client_new (f, "alice", TRUE);
  bob = client_new (f, "bob", FALSE);
  autoplay = tether_autoplay_new (bob->room, AV_RETRY_TIME);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  tether_media_session_set_node (TETHER_MEDIA_SESSION (pub), "node-a");
  start_publisher (pub);
  TETHER_WAIT_UNTIL ((player = tether_autoplay_lookup (autoplay, "alice-cam")) != NULL
                       && playing (player),
                     WAIT_MS);

  tether_fault_proxy_cut (f->room_proxy);
  tether_udp_fault_proxy_cut (f->udp_proxy);
  /* The server's heartbeat timeout removes the host and its stream... */
  TETHER_WAIT_UNTIL (has_event (bob, "DELETE alice-cam heartbeat_timeout"), WAIT_MS);
  /* ...and the viewer stops pulling a deleted stream. */
  TETHER_WAIT_UNTIL (tether_autoplay_lookup (autoplay, "alice-cam") == NULL, WAIT_MS);
  g_assert_cmpint (tether_publisher_get_state (pub), ==,
                   TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING);

  tether_fault_proxy_restore (f->room_proxy);
  tether_udp_fault_proxy_restore (f->udp_proxy);
  TETHER_WAIT_UNTIL (publishing (pub), WAIT_MS);
  TETHER_WAIT_UNTIL (count_events (bob, "ADD alice-cam node-a") == 2, WAIT_MS);
  TETHER_WAIT_UNTIL ((player = tether_autoplay_lookup (autoplay, "alice-cam")) != NULL
                       && playing (player),
                     WAIT_MS);
  g_assert_true (wait_frames (player, 30));
}

/* Another user already publishes this stream id: refused at once, no retries. */
static void
test_stream_id_taken (Fixture *f, gconstpointer data)
{
  Client *alice, *carol;
  TetherPublisher *pub, *thief;
  StateLog *log;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  carol = client_new (f, "carol", FALSE);

  pub = publisher_new (f, alice, "cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (publishing (pub), WAIT_MS);

  thief = publisher_new (f, carol, "cam", AV_RETRY_TIME);
  log = watch_states (f, thief);
  start_publisher (thief);
  TETHER_WAIT_UNTIL (tether_publisher_get_state (thief) == TETHER_PUBLISHER_STATE_NO_PUBLISH, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (thief)), ==, TETHER_ERROR_STREAM_ID_TAKEN);
  g_assert_cmpuint (count_state (log, TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING), ==, 1);
  g_assert_cmpuint (count_state (log, TETHER_PUBLISHER_STATE_PUBLISHING), ==, 0);

  /* No retries afterwards, and the owner is undisturbed. */
  tether_test_run_for (1500);
  g_assert_cmpuint (log->states->len, ==, 2);
  g_assert_true (publishing (pub));
}

/* A token that does not allow publishing: PUBLISH_DENIED at once. */
static void
test_publish_denied (Fixture *f, gconstpointer data)
{
  Client *c = g_new0 (Client, 1);
  const char * const streams[] = { "other", NULL };
  g_autofree char *token = tether_test_token_full ("dave", "lobby",
                                                   TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                                   streams, 3600);
  TetherPublisher *pub;
  StateLog *log;
  g_autoptr(TetherLoginOptions) login = NULL;

  start_nodes (f, 1);
  c->engine = tether_engine_new ();
  c->events = g_ptr_array_new_with_free_func (g_free);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                        "server-url", tether_test_server_get_url (f->server),
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", "dave",
                        "token", token, "notify-users", TRUE, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_ptr_array_add (f->clients, c);
  TETHER_WAIT_UNTIL (tether_room_get_state (c->room) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  pub = publisher_new (f, c, "cam", AV_RETRY_TIME);
  log = watch_states (f, pub);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_NO_PUBLISH, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (pub)), ==, TETHER_ERROR_PUBLISH_DENIED);
  g_assert_cmpuint (log->states->len, ==, 2);
}

/* Leaving the room (here: kicked out by a second login) stops publishing and
 * playing in it. */
static void
test_room_exit_stops_media (Fixture *f, gconstpointer data)
{
  Client *alice, *bob, *alice2;
  TetherPublisher *pub;
  TetherPlayer *player;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);

  alice2 = client_new (f, "alice", FALSE);
  g_assert_nonnull (alice2);
  TETHER_WAIT_UNTIL (tether_room_get_state (alice->room) == TETHER_ROOM_STATE_KICK_OUT, WAIT_MS);
  g_assert_cmpint (tether_publisher_get_state (pub), ==, TETHER_PUBLISHER_STATE_NO_PUBLISH);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (pub)), !=, 0);
  TETHER_WAIT_UNTIL (tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), ==, TETHER_ERROR_PLAY_STREAM_DELETED);

  /* The viewer logs out: its own players stop without an error. */
  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  tether_room_logout (bob->room);
  TETHER_WAIT_UNTIL (tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), ==, 0);
}

/* A room that ends while it cannot reach the server (LOGOUT_FAILED) is over too:
 * its publisher, players and autoplay stop, without an error, as for LOGOUT. */
static void
test_logout_failed_stops_media (Fixture *f, gconstpointer data)
{
  Client *alice, *carol;
  TetherPublisher *pub;
  TetherPlayer *player;
  g_autoptr(TetherAutoplay) autoplay = NULL;

  start_nodes (f, 1);
  alice = client_new (f, "alice", TRUE);
  carol = client_new (f, "carol", TRUE);
  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (carol, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, carol, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  autoplay = tether_autoplay_new (carol->room, AV_RETRY_TIME);
  TETHER_WAIT_UNTIL (publishing (pub) && playing (player), WAIT_MS);

  /* The room link goes; media, which does not go through it, carries on. */
  tether_fault_proxy_cut (f->room_proxy);
  TETHER_WAIT_UNTIL (tether_room_get_state (alice->room) == TETHER_ROOM_STATE_RECONNECTING
                     && tether_room_get_state (carol->room) == TETHER_ROOM_STATE_RECONNECTING,
                     WAIT_MS);
  g_assert_true (publishing (pub));
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 1);

  tether_room_logout (alice->room);
  tether_room_logout (carol->room);
  g_assert_cmpint (tether_room_get_state (alice->room), ==, TETHER_ROOM_STATE_LOGOUT_FAILED);
  g_assert_cmpint (tether_room_get_state (carol->room), ==, TETHER_ROOM_STATE_LOGOUT_FAILED);
  TETHER_WAIT_UNTIL (tether_publisher_get_state (pub) == TETHER_PUBLISHER_STATE_NO_PUBLISH
                     && tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (pub)), ==, 0);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 0);
}

typedef struct
{
  guint added;
  guint removed;
} AutoplayLog;

static void
player_added_cb (TetherAutoplay *autoplay, TetherPlayer *player, AutoplayLog *log)
{
  /* Not started yet: the place to attach a sink. */
  g_assert_cmpint (tether_player_get_state (player), ==, TETHER_PLAYER_STATE_NO_PLAY);
  log->added++;
}

static void
player_removed_cb (TetherAutoplay *autoplay, TetherPlayer *player, AutoplayLog *log)
{
  g_assert_cmpint (tether_player_get_state (player), ==, TETHER_PLAYER_STATE_NO_PLAY);
  log->removed++;
}

static void
add_stream_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  int *done = data;

  *done = tether_room_add_stream_finish (TETHER_ROOM (source), result, NULL) ? 1 : -1;
}

static void
test_autoplay (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  g_autoptr(TetherAutoplay) autoplay = NULL;
  TetherPlayer *player;
  AutoplayLog log = { 0, };
  GListModel *players;
  int done = 0;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  autoplay = tether_autoplay_new (bob->room, 1.0);
  g_object_set (autoplay, "retry-delay-min", 0.1, "retry-delay-max", 0.2, "max-retries", 2, NULL);
  g_signal_connect (autoplay, "player-added", G_CALLBACK (player_added_cb), &log);
  g_signal_connect (autoplay, "player-removed", G_CALLBACK (player_removed_cb), &log);
  players = tether_autoplay_get_players (autoplay);

  /* ADD → a player that plays. */
  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub);
  TETHER_WAIT_UNTIL (log.added == 1, WAIT_MS);
  g_assert_cmpuint (g_list_model_get_n_items (players), ==, 1);
  player = tether_autoplay_lookup (autoplay, "alice-cam");
  g_assert_nonnull (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);

  /* DELETE → the player stops and goes. */
  tether_publisher_stop (pub);
  TETHER_WAIT_UNTIL (log.removed == 1, WAIT_MS);
  g_assert_cmpuint (g_list_model_get_n_items (players), ==, 0);
  g_assert_null (tether_autoplay_lookup (autoplay, "alice-cam"));

  /* A stream nobody sends: the player fails after av_retry_time, is retried twice
   * after the (shrunk) delay, then left alone. */
  tether_room_add_stream_async (alice->room, "ghost", "node-a", "", NULL, add_stream_cb, &done);
  TETHER_WAIT_UNTIL (done != 0, WAIT_MS);
  TETHER_WAIT_UNTIL (log.added == 2, WAIT_MS);
  player = tether_autoplay_lookup (autoplay, "ghost");
  g_assert_nonnull (player);
  TETHER_WAIT_UNTIL (tether_autoplay_get_retries (autoplay, "ghost") == 2
                     && tether_player_get_state (player) == TETHER_PLAYER_STATE_NO_PLAY, WAIT_MS);
  g_assert_cmpint (tether_media_session_get_error_code (TETHER_MEDIA_SESSION (player)), ==, TETHER_ERROR_PLAY_RETRY_TIMEOUT);
  tether_test_run_for (1500);
  g_assert_cmpuint (tether_autoplay_get_retries (autoplay, "ghost"), ==, 2);
  g_assert_cmpint (tether_player_get_state (player), ==, TETHER_PLAYER_STATE_NO_PLAY);

  /* Deleted: dropped, never retried again. */
  tether_room_delete_stream (alice->room, "ghost", "stopped");
  TETHER_WAIT_UNTIL (log.removed == 2, WAIT_MS);
  g_assert_cmpuint (g_list_model_get_n_items (players), ==, 0);
}

/* max-players: a stream beyond the limit waits unpulled, and gets the place of the
 * first one when that one is deleted. */
static void
test_autoplay_max_players (Fixture *f, gconstpointer data)
{
  Client *alice, *carol, *bob;
  TetherPublisher *pub_a, *pub_c;
  g_autoptr(TetherAutoplay) autoplay = NULL;
  TetherPlayer *player;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  carol = client_new (f, "carol", FALSE);
  bob = client_new (f, "bob", FALSE);
  autoplay = g_object_new (TETHER_TYPE_AUTOPLAY, "room", bob->room, "av-retry-time", AV_RETRY_TIME,
                           "max-players", 1, NULL);

  pub_a = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  start_publisher (pub_a);
  TETHER_WAIT_UNTIL ((player = tether_autoplay_lookup (autoplay, "alice-cam")) != NULL
                       && playing (player),
                     WAIT_MS);
  pub_c = publisher_new (f, carol, "carol-cam", AV_RETRY_TIME);
  start_publisher (pub_c);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD carol-cam node-a"), WAIT_MS);
  g_assert_null (tether_autoplay_lookup (autoplay, "carol-cam"));
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 1);

  tether_publisher_stop (pub_a);
  TETHER_WAIT_UNTIL ((player = tether_autoplay_lookup (autoplay, "carol-cam")) != NULL
                       && playing (player),
                     WAIT_MS);
  g_assert_null (tether_autoplay_lookup (autoplay, "alice-cam"));
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 1);
}

/* An autoplay made in a room that has streams already plays them from the next main
 * loop iteration: whoever made it has connected to "player-added" (each player is
 * announced before it starts) and set max-players by then. */
static void
test_autoplay_existing_streams (Fixture *f, gconstpointer data)
{
  Client *alice, *carol, *bob;
  g_autoptr(TetherAutoplay) autoplay = NULL;
  AutoplayLog log = { 0, };
  TetherPlayer *player;

  start_nodes (f, 1);
  alice = client_new (f, "alice", FALSE);
  carol = client_new (f, "carol", FALSE);
  bob = client_new (f, "bob", FALSE);
  start_publisher (publisher_new (f, alice, "alice-cam", AV_RETRY_TIME));
  start_publisher (publisher_new (f, carol, "carol-cam", AV_RETRY_TIME));
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a") && has_event (bob, "ADD carol-cam node-a"),
                     WAIT_MS);

  autoplay = tether_autoplay_new (bob->room, AV_RETRY_TIME);
  g_object_set (autoplay, "max-players", 1, NULL);
  g_signal_connect (autoplay, "player-added", G_CALLBACK (player_added_cb), &log);
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 0);

  TETHER_WAIT_UNTIL (log.added == 1, WAIT_MS);
  player = g_list_model_get_item (tether_autoplay_get_players (autoplay), 0);
  g_object_unref (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_cmpuint (log.added, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (tether_autoplay_get_players (autoplay)), ==, 1);
}

/* ---- the media cascade ------------------------------------------------------------- */

static guint64
node_metric (TetherRelay *relay, const char *name)
{
  g_autofree char *text = tether_relay_get_metrics_text (relay);
  guint64 value = 0;

  g_assert_true (tether_test_metric (text, name, &value));
  return value;
}

/* In the server's thread, as tether-server --media-cascade does in main(): an
 * embedded node whose locate func reads the room service's model. */
static void
add_edge_in_server (TetherServer *server, gpointer data)
{
  TetherRelay **out = data;
  TetherRelay *relay = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  g_object_set (relay, "node-id", "node-z", NULL);
  g_assert_true (tether_relay_listen (relay, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  url = g_strdup_printf ("srt://127.0.0.1:%u", tether_relay_get_port (relay));
  tether_server_attach_relay (server, relay, "node-z", url);
  tether_server_enable_media_cascade (server, relay);
  *out = relay;
}

/* The room service cascades: bob's player plays from the edge (node-z, last in the
 * room's order) although the stream is on node-a, and stays there when node-a dies
 * and the publisher moves to node-b: the edge pulls from node-b. */
static void
test_cascade (Fixture *f, gconstpointer data)
{
  Client *alice, *bob;
  TetherPublisher *pub;
  TetherPlayer *player;

  start_nodes (f, 2);
  tether_test_server_run_sync (f->server, add_edge_in_server, &f->relays[2]);
  alice = client_new (f, "alice", FALSE);
  bob = client_new (f, "bob", FALSE);

  pub = publisher_new (f, alice, "alice-cam", AV_RETRY_TIME);
  tether_media_session_set_node (TETHER_MEDIA_SESSION (pub), "node-a");
  start_publisher (pub);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-a"), WAIT_MS);
  player = player_new (f, bob, "alice-cam", "node-a", AV_RETRY_TIME);
  start_player (player);
  TETHER_WAIT_UNTIL (playing (player), WAIT_MS);
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), ==, "node-z");
  g_assert_true (wait_frames (player, 30));
  g_assert_cmpuint (node_metric (f->relays[2], "tether_media_pulls"), ==, 1);
  g_assert_cmpuint (node_metric (f->relays[0], "tether_media_pulls_served"), ==, 1);

  stop_node (f, 0);
  TETHER_WAIT_UNTIL (publishing (pub) && g_strcmp0 (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (pub)), "node-b") == 0,
                     WAIT_MS);
  TETHER_WAIT_UNTIL (has_event (bob, "ADD alice-cam node-b"), WAIT_MS);
  TETHER_WAIT_UNTIL (node_metric (f->relays[1], "tether_media_pulls_served") == 1, WAIT_MS);
  g_assert_true (wait_frames (player, 30));
  g_assert_cmpstr (tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)), ==, "node-z");
  g_assert_cmpuint (node_metric (f->relays[2], "tether_media_pulls_started_total"), ==, 1);
  g_assert_cmpuint (node_metric (f->relays[2], "tether_media_pull_restarts_total"), >=, 1);
  g_assert_cmpuint (count_deletes (bob), ==, 0);
}

#else /* !HAVE_RELAY */

static void
test_no_relay (void)
{
  g_test_skip ("the media node (TetherRelay) is not linked into the tests");
}

#endif

int
main (int argc, char **argv)
{
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

#if HAVE_RELAY
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/media/publish-and-play", test_publish_and_play);
  ADD ("/media/node-restart", test_node_restart);
  ADD ("/media/failover", test_failover);
  ADD ("/media/failover-rule", test_failover_rule);
  ADD ("/media/cascade", test_cascade);
  ADD ("/media/retry-timeout", test_retry_timeout);
  ADD ("/media/host-network-cut", test_host_network_cut);
  g_test_add ("/media/host-network-cut-long", Fixture, &short_heartbeat_timeout, fixture_setup,
              test_host_network_cut_long, fixture_teardown);
  ADD ("/media/stream-id-taken", test_stream_id_taken);
  ADD ("/media/publish-denied", test_publish_denied);
  ADD ("/media/room-exit-stops-media", test_room_exit_stops_media);
  ADD ("/media/logout-failed-stops-media", test_logout_failed_stops_media);
  ADD ("/media/autoplay", test_autoplay);
  ADD ("/media/autoplay-max-players", test_autoplay_max_players);
  ADD ("/media/autoplay-existing-streams", test_autoplay_existing_streams);
#else
  g_test_add_func ("/media/skipped", test_no_relay);
#endif

  return g_test_run ();
}
