/* test-cluster.c: one room across three tether-server processes sharing a private
 * redis-server (--redis): the same events in the same order everywhere, a node killed
 * with SIGKILL (its clients resume elsewhere unseen, or leave exactly once after the
 * heartbeat timeout), duplicate login across nodes, Redis killed and restarted empty
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "server-fixture.h"
#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-fault-proxy.h"
#include "tether-srt-url.h"
#include "tether-test-login.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-ws.h"

#define N_NODES 3
#define HEARTBEAT_TIMEOUT "2"
#define PREFIX "tether:" APP ":"

typedef struct
{
  Fixture                  fx;          /* its clients and soup session; no server thread */
  TetherTestRedis         *redis;
  TetherTestServerProcess *nodes[N_NODES];
  GPtrArray               *beating;     /* Client: heartbeats every 300 ms */
  guint                    beat_id;
  gint64                   beat_n;
} Cluster;

/* Helpers */

static gboolean
beat_cb (gpointer data)
{
  Cluster *cl = data;

  for (guint i = 0; i < cl->beating->len; i++)
    {
      Client *c = g_ptr_array_index (cl->beating, i);
      g_autofree char *json = g_strdup_printf ("{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}",
                                               ++cl->beat_n);

      if (!c->closed && soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        client_send (c, json);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
redis_equals_on (TetherTestRedis *redis,
                 const char      *command,
                 const char      *expected)
{
  g_auto(GStrv) argv = g_strsplit (command, " ", -1);
  g_autofree char *reply = tether_test_redis_commandv (redis, (int) g_strv_length (argv),
                                                      (const char **) argv);

  return g_strcmp0 (reply, expected) == 0;
}

static gboolean
redis_equals (Cluster    *cl,
              const char *command,
              const char *expected)
{
  return redis_equals_on (cl->redis, command, expected);
}

/* Node @i, with the arguments @extra (NULL-terminated, or NULL) after the usual ones. */
static TetherTestServerProcess *
node_start_with (Cluster            *cl,
                 guint               i,
                 const char * const *extra)
{
  g_autofree char *id = g_strdup_printf ("n%u", i);
  const char *usual[] = {
    "--app-secret", SECRET, "--redis", tether_test_redis_get_url (cl->redis), "--node-id", id,
    "--media-listen", "127.0.0.1:0", "--srt-encryption", "off",
    /* a restart keeps the port, not the one after it */
    "--admin-listen", "127.0.0.1:0",
    "--heartbeat-timeout", HEARTBEAT_TIMEOUT, "--session-ttl", "60", "--login-rate", "0",
    "--node-beat", "0.2", "--node-timeout", "0.6",
  };
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  for (guint j = 0; j < G_N_ELEMENTS (usual); j++)
    g_ptr_array_add (args, (gpointer) usual[j]);
  for (guint j = 0; extra != NULL && extra[j] != NULL; j++)
    g_ptr_array_add (args, (gpointer) extra[j]);
  g_ptr_array_add (args, NULL);
  return tether_test_server_process_newv ((const char * const *) args->pdata);
}

static TetherTestServerProcess *
node_start (Cluster *cl,
            guint    i)
{
  return node_start_with (cl, i, NULL);
}

static const char *
url (Cluster *cl,
     guint    i)
{
  return tether_test_server_process_get_url (cl->nodes[i]);
}

static void
cluster_setup (Cluster       *cl,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  cl->redis = tether_test_redis_start (&error);
  g_assert_no_error (error);
  cl->fx.session = soup_session_new ();
  cl->fx.clients = g_ptr_array_new ();
  cl->beating = g_ptr_array_new ();
  cl->beat_id = g_timeout_add (300, beat_cb, cl);
  for (guint i = 0; i < N_NODES; i++)
    cl->nodes[i] = node_start (cl, i);
  /* Logins are refused (1021) until a node has registered. */
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "nodes", "3"),
                                    tether_test_scaled_ms (10000)));
}

static void
cluster_teardown (Cluster       *cl,
                  gconstpointer  data)
{
  g_source_remove (cl->beat_id);
  g_ptr_array_unref (cl->beating);
  fixture_clients_free (&cl->fx);
  /* A clean shutdown of every node still running (the sanitizer build checks their
   * leaks then). */
  for (guint i = 0; i < N_NODES; i++)
    {
      TetherTestProcess *process = tether_test_server_process_get_process (cl->nodes[i]);

      if (!tether_test_process_has_exited (process))
        g_assert_cmpint (tether_test_server_process_terminate (cl->nodes[i]), ==, 0);
      g_clear_pointer (&cl->nodes[i], tether_test_server_process_free);
    }
  tether_test_redis_free (cl->redis);
}

/* Drops the heartbeat answers heading @c's queue; whether a message or the close
 * is next. */
static gboolean
drop_heartbeat_acks (Client *c)
{
  JsonObject *o;

  while ((o = g_queue_peek_head (&c->messages)) != NULL
         && g_strcmp0 (tether_json_get_string (o, "type"), "heartbeat_ack") == 0)
    json_object_unref (g_queue_pop_head (&c->messages));
  return o != NULL || c->closed;
}

/* The next message that is not a heartbeat_ack, within one deadline (the answers
 * in between must not restart it, or a missing message would hang the test). */
static JsonObject *
next (Client *c)
{
  if (!WAIT_UNTIL (drop_heartbeat_acks (c), WAIT_MS) || c->messages.length == 0)
    return NULL;
  return g_queue_pop_head (&c->messages);
}

static JsonObject *
expect (Client     *c,
        const char *type)
{
  JsonObject *o = next (c);

  g_assert_nonnull (o);
  g_assert_cmpstr (tether_json_get_string (o, "type"), ==, type);
  return o;
}

/* "seq kind update id,id" of an event */
static char *
event_line (JsonObject *ev)
{
  const char *kind = tether_json_get_string (ev, "kind");
  JsonArray *items = tether_json_get_array (ev, g_strcmp0 (kind, "user") == 0 ? "users" : "streams");
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "%" G_GINT64_FORMAT " %s %s", get_int (ev, "seq"), kind,
                          tether_json_get_string (ev, "update"));
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    g_string_append_printf (line, " %s",
                            tether_json_get_string (json_array_get_object_element (items, i), "id"));
  return g_string_free (line, FALSE);
}

/* The events @c gets up to and including the user ADD of @marker, as lines. */
static GPtrArray *
events_until_add (Client     *c,
                  const char *marker)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (;;)
    {
      g_autoptr(JsonObject) ev = expect (c, "event");
      char *line = event_line (ev);
      gboolean end = g_str_equal (tether_json_get_string (ev, "kind"), "user")
                     && g_str_equal (tether_json_get_string (ev, "update"), "ADD")
                     && g_strcmp0 (first_id (ev, "users"), marker) == 0;

      g_ptr_array_add (lines, line);
      if (end)
        return lines;
    }
}

/* @user logs in to @room (NULL: ROOM) on @node and heartbeats from then on. */
static Client *
login_room_on (Cluster     *cl,
               guint        node,
               const char  *room,
               const char  *user,
               JsonObject **login_ok)
{
  LoginArgs args = { .notify = TRUE, .room = room };
  Client *c = client_login_url (&cl->fx, url (cl, node), user, &args, login_ok);

  g_ptr_array_add (cl->beating, c);
  return c;
}

static Client *
login_on (Cluster    *cl,
          guint       node,
          const char *user,
          JsonObject **login_ok)
{
  return login_room_on (cl, node, NULL, user, login_ok);
}

static Client *
resume_on (Cluster    *cl,
           guint       node,
           const char *user,
           JsonObject *old_login_ok,
           gint64      last_seq,
           JsonObject **login_ok)
{
  LoginArgs args = {
    .notify = TRUE,
    .resume_session = tether_json_get_string (old_login_ok, "session_id"),
    .resume_key = tether_json_get_string (old_login_ok, "resume_key"),
    .last_seq = last_seq,
  };
  Client *c = client_connect_url (&cl->fx, url (cl, node));

  client_send_login (c, user, &args);
  *login_ok = expect (c, "login_ok");
  g_ptr_array_add (cl->beating, c);
  return c;
}

static void
stop_beating (Cluster *cl,
              Client  *c)
{
  g_ptr_array_remove (cl->beating, c);
}

/* Takes the first queued message of @type out of @c's queue, waiting for it; what
 * came before it stays queued, in order. */
static JsonObject *
take (Client     *c,
      const char *type,
      gint64      id)
{
  JsonObject *found = NULL;

  WAIT_UNTIL (({
    for (GList *l = c->messages.head; l != NULL && found == NULL; l = l->next)
      if (g_strcmp0 (tether_json_get_string (l->data, "type"), type) == 0
          && (id < 0 || get_int (l->data, "id") == id))
        {
          found = l->data;
          g_queue_delete_link (&c->messages, l);
          break;
        }
    found != NULL || c->closed;
  }), WAIT_MS);
  g_assert_nonnull (found);
  return found;
}

/* stream_add; its answer comes before the event it causes, as on one node. Events
 * that came before the answer stay queued, in order. */
static void
add_stream (Client     *c,
            gint64      req,
            const char *id)
{
  g_autofree char *json = g_strdup_printf ("{\"type\":\"stream_add\",\"req\":%" G_GINT64_FORMAT
                                           ",\"stream\":{\"id\":\"%s\",\"node\":\"n\"}}", req, id);
  GQueue before = G_QUEUE_INIT;
  JsonObject *o;

  client_send (c, json);
  while ((o = next (c)) != NULL && g_strcmp0 (tether_json_get_string (o, "type"), "stream_add_ok") != 0)
    {
      JsonArray *streams = tether_json_get_array (o, "streams");

      g_assert_cmpstr (tether_json_get_string (o, "type"), ==, "event");
      g_assert_false (streams != NULL && g_strcmp0 (first_id (o, "streams"), id) == 0);
      g_queue_push_tail (&before, o);
    }
  g_assert_nonnull (o);
  g_assert_cmpint (get_int (o, "req"), ==, req);
  json_object_unref (o);
  while ((o = g_queue_pop_tail (&before)) != NULL)
    g_queue_push_head (&c->messages, o);
}

/* A heartbeat is answered while Redis is away. */
static void
heartbeat_answered (Client *c,
                    gint64  id)
{
  g_autofree char *json = g_strdup_printf ("{\"type\":\"heartbeat\",\"id\":%" G_GINT64_FORMAT "}", id);

  client_send (c, json);
  json_object_unref (take (c, "heartbeat_ack", id));
}

/* Tests */

/* Members on three nodes see the same events, in the same order, with the same seqs. */
static void
test_order (Cluster       *cl,
            gconstpointer  data)
{
  Client *observers[N_NODES];
  Client *dave, *erin;
  GPtrArray *lines[N_NODES] = { NULL };
  JsonObject *ok;

  observers[0] = login_on (cl, 0, "alice", NULL);
  observers[1] = login_on (cl, 1, "bob", NULL);
  json_object_unref (expect (observers[0], "event"));             /* bob ADD */
  observers[2] = login_on (cl, 2, "carol", &ok);
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "users")), ==, 2);
  /* Edge-first: the node's own media node (its id is the node id) leads the list. */
  g_assert_cmpstr (first_id (ok, "media_nodes"), ==, "n2");
  /* The room services to fail over to: the live nodes, this one first. */
  g_assert_cmpstr (json_array_get_string_element (tether_json_get_array (ok, "room_services"), 0),
                   ==, url (cl, 2));
  json_object_unref (ok);
  json_object_unref (expect (observers[0], "event"));             /* carol ADD */
  json_object_unref (expect (observers[1], "event"));

  /* Changes from every node, interleaved. */
  dave = login_on (cl, 1, "dave", NULL);
  erin = login_on (cl, 2, "erin", NULL);
  add_stream (observers[1], 1, "cam-bob");
  add_stream (erin, 2, "cam-erin");
  client_send (dave, "{\"type\":\"logout\"}");
  client_send (erin, "{\"type\":\"stream_delete\",\"req\":3,\"stream_id\":\"cam-erin\",\"reason\":\"stopped\"}");
  add_stream (observers[0], 4, "cam-alice");
  login_on (cl, 0, "frank", NULL);

  for (guint i = 0; i < N_NODES; i++)
    lines[i] = events_until_add (observers[i], "frank");
  for (guint i = 0; i < N_NODES; i++)
    {
      g_test_message ("node %u saw %u events", i, lines[i]->len);
      for (guint j = 0; j < lines[i]->len; j++)
        g_test_message ("  %s", (char *) lines[i]->pdata[j]);
    }
  for (guint i = 1; i < N_NODES; i++)
    {
      g_assert_cmpuint (lines[i]->len, ==, lines[0]->len);
      for (guint j = 0; j < lines[0]->len; j++)
        g_assert_cmpstr (lines[i]->pdata[j], ==, lines[0]->pdata[j]);
    }
  /* dave ADD, erin ADD, cam-bob, cam-erin ADD, dave DELETE, cam-erin DELETE,
   * cam-alice, frank: eight events, consecutive seqs. */
  g_assert_cmpuint (lines[0]->len, ==, 8);
  for (guint j = 1; j < lines[0]->len; j++)
    g_assert_cmpint (g_ascii_strtoll (lines[0]->pdata[j], NULL, 10), ==,
                     g_ascii_strtoll (lines[0]->pdata[j - 1], NULL, 10) + 1);
  for (guint i = 0; i < N_NODES; i++)
    g_ptr_array_unref (lines[i]);
}

/* The next message of @c is the user event @update ("ADD", "DELETE") of @user: nothing
 * came before it. */
static void
expect_user_event (Client     *c,
                   const char *update,
                   const char *user)
{
  g_autoptr(JsonObject) ev = expect (c, "event");

  g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, "user");
  g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, update);
  g_assert_cmpstr (first_id (ev, "users"), ==, user);
}

static void
expect_only_add (Client     *c,
                 const char *user)
{
  expect_user_event (c, "ADD", user);
}

static void
expect_only_delete (Client     *c,
                    const char *user)
{
  expect_user_event (c, "DELETE", user);
}

/* bob on node 1, carol on node 2, then alice on node 0, each seeing the later ones
 * join. */
static void
three_members (Cluster  *cl,
               Client  **alice,
               Client  **bob,
               Client  **carol)
{
  *bob = login_on (cl, 1, "bob", NULL);
  *carol = login_on (cl, 2, "carol", NULL);
  expect_only_add (*bob, "carol");
  *alice = login_on (cl, 0, "alice", NULL);
  expect_only_add (*bob, "alice");
  expect_only_add (*carol, "alice");
}

/* bob on node 1, carol on node 2 (their login_ok in @bob_ok, @carol_ok unless NULL),
 * then alice with the streams @streams (NULL-terminated) on node 0, which is killed;
 * returns alice's client, her login_ok in *@ok and the seq of her last stream's ADD,
 * as bob and carol both saw it. */
static Client *
alice_streams_on_killed_node (Cluster             *cl,
                              const char * const  *streams,
                              Client             **bob,
                              JsonObject         **bob_ok,
                              Client             **carol,
                              JsonObject         **carol_ok,
                              JsonObject         **ok,
                              gint64              *seq)
{
  Client *alice;
  guint n = 0;

  *bob = login_on (cl, 1, "bob", bob_ok);
  *carol = login_on (cl, 2, "carol", carol_ok);
  json_object_unref (expect (*bob, "event"));
  alice = login_on (cl, 0, "alice", ok);
  for (; streams[n] != NULL; n++)
    {
      add_stream (alice, n + 1, streams[n]);
      json_object_unref (expect (alice, "event"));
    }
  for (guint i = 0; i < n + 1; i++)
    {
      g_autoptr(JsonObject) a = expect (*bob, "event");
      g_autoptr(JsonObject) b = expect (*carol, "event");

      g_assert_cmpint (get_int (a, "seq"), ==, get_int (b, "seq"));
      *seq = get_int (a, "seq");
    }
  stop_beating (cl, alice);
  tether_test_server_process_kill (cl->nodes[0]);
  return alice;
}

/* The same with stream cam-alice. */
static Client *
alice_on_killed_node (Cluster     *cl,
                      Client     **bob,
                      Client     **carol,
                      JsonObject **ok,
                      gint64      *seq)
{
  const char *streams[] = { "cam-alice", NULL };

  return alice_streams_on_killed_node (cl, streams, bob, NULL, carol, NULL, ok, seq);
}

/* The other nodes reaped node 0: its keys are gone. */
static void
wait_reaped (Cluster *cl)
{
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SISMEMBER " PREFIX "nodes n0", "0"),
                                    tether_test_scaled_ms (10000)));
}

/* Case 1 across nodes: alice's node dies, she resumes on another within the heartbeat
 * timeout; bob and carol see nothing at all, and nothing once the dead node is reaped. */
static void
test_node_death_resume (Cluster       *cl,
                        gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) resumed = NULL;
  Client *bob, *carol, *alice;
  gint64 seq;

  alice = alice_on_killed_node (cl, &bob, &carol, &ok, &seq);
  g_assert_true (WAIT_UNTIL (alice->closed, WAIT_MS));

  alice = resume_on (cl, 1, "alice", ok, seq, &resumed);
  g_assert_true (tether_json_get_bool (resumed, "resumed", FALSE));
  g_assert_false (tether_json_get_bool (resumed, "resync", FALSE));
  g_assert_cmpint (get_int (resumed, "seq"), ==, seq);
  g_assert_cmpstr (first_id (resumed, "streams"), ==, "cam-alice");

  /* The dead node is reaped (its keys go) after the heartbeat timeout: alice was not
   * its any more, so nobody hears a DELETE. */
  wait_reaped (cl);
  login_on (cl, 2, "dave", NULL);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");
  expect_only_add (alice, "dave");
}

/* Case 2 across nodes: alice's node dies and she stays away past the heartbeat
 * timeout: bob (node 1) and carol (node 2) see her stream and her leave exactly once,
 * with the same seqs; her return is a rejoin, an ADD. */
static void
test_node_death_timeout (Cluster       *cl,
                         gconstpointer  data)
{
  g_autoptr(JsonObject) ok = NULL;
  g_autoptr(JsonObject) rejoined = NULL;
  Client *bob, *carol;
  gint64 seq = 0;

  alice_on_killed_node (cl, &bob, &carol, &ok, &seq);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonObject) a = expect (bob, "event");
      g_autoptr(JsonObject) b = expect (carol, "event");
      g_autofree char *la = event_line (a);
      g_autofree char *lb = event_line (b);

      g_assert_cmpstr (la, ==, lb);
      g_assert_cmpstr (tether_json_get_string (a, "update"), ==, "DELETE");
      if (i == 0)
        {
          g_assert_cmpstr (tether_json_get_string (a, "kind"), ==, "stream");
          g_assert_cmpstr (tether_json_get_string (a, "reason"), ==, "heartbeat_timeout");
          g_assert_cmpstr (first_id (a, "streams"), ==, "cam-alice");
        }
      else
        {
          g_assert_cmpstr (tether_json_get_string (a, "kind"), ==, "user");
          g_assert_cmpstr (first_id (a, "users"), ==, "alice");
        }
      seq = get_int (a, "seq");
    }
  wait_reaped (cl);
  {
    g_autofree char *last = g_strdup_printf ("%" G_GINT64_FORMAT, seq);

    g_assert_true (redis_equals (cl, "HGET " PREFIX "room:{" ROOM "} seq", last));
  }

  /* Back after the timeout: a rejoin, seen as an ADD; exactly once removed before. */
  resume_on (cl, 2, "alice", ok, seq - 2, &rejoined);
  g_assert_false (tether_json_get_bool (rejoined, "resumed", TRUE));
  expect_only_add (bob, "alice");
  expect_only_add (carol, "alice");
}

/* A node killed and started again at once under the same id: the sessions of its
 * previous process are nobody's; they leave once, after the heartbeat timeout. */
static void
test_node_restart (Cluster       *cl,
                   gconstpointer  data)
{
  Client *bob, *alice;

  bob = login_on (cl, 1, "bob", NULL);
  alice = login_on (cl, 0, "alice", NULL);
  expect_only_add (bob, "alice");
  stop_beating (cl, alice);
  tether_test_server_process_kill (cl->nodes[0]);
  tether_test_server_process_restart (cl->nodes[0]);

  expect_only_delete (bob, "alice");
  /* The restarted node serves logins, and nothing else came before this ADD. */
  login_on (cl, 0, "carol", NULL);
  expect_only_add (bob, "carol");
}

/* A token that expires unrenewed on node 0: kick_out 1005 there, and the members on
 * the other nodes see the stream and user DELETEs (reason kicked). */
static void
test_token_expiry (Cluster       *cl,
                   gconstpointer  data)
{
  g_autofree char *token = mint ("alice", ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                 0, 2);
  LoginArgs args = { .notify = TRUE, .token = token };
  g_autoptr(JsonObject) kick = NULL;
  Client *bob, *alice;

  bob = login_on (cl, 1, "bob", NULL);
  alice = client_login_url (&cl->fx, url (cl, 0), "alice", &args, NULL);
  g_ptr_array_add (cl->beating, alice);
  expect_only_add (bob, "alice");
  /* The token is inside token-warning from the start: the warning comes at the
   * server's next deadline tick after login_ok, before or after anything else. */
  json_object_unref (take (alice, "token_will_expire", -1));
  add_stream (alice, 1, "cam-alice");
  json_object_unref (expect (alice, "event"));
  json_object_unref (expect (bob, "event"));

  kick = take (alice, "kick_out", -1);
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_TOKEN_EXPIRED);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonObject) ev = expect (bob, "event");

      g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, "DELETE");
      g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, i == 0 ? "stream" : "user");
      if (i == 0)
        g_assert_cmpstr (tether_json_get_string (ev, "reason"), ==, "kicked");
    }
}

/* Drops what heads @c's queue until an event does; whether one does. */
static gboolean
drop_until_event (Client *c)
{
  JsonObject *o;

  while ((o = g_queue_peek_head (&c->messages)) != NULL
         && g_strcmp0 (tether_json_get_string (o, "type"), "event") != 0)
    json_object_unref (g_queue_pop_head (&c->messages));
  return o != NULL;
}

/* The next event of @c, waiting up to @ms (a media node's idle timeout is longer
 * than WAIT_MS). */
static JsonObject *
next_event_within (Client *c,
                   guint   ms)
{
  /* One deadline for the whole wait: the heartbeat answers in between must not
   * restart it, or a missing event would hang the test instead of failing it. */
  if (!TETHER_WAIT_UNTIL (drop_until_event (c), tether_test_scaled_ms (ms)))
    return NULL;
  return g_queue_pop_head (&c->messages);
}

/* Whether gst-launch-1.0 is there; the test is skipped if not. */
static gboolean
have_gst (void)
{
  g_autofree char *gst = g_find_program_in_path ("gst-launch-1.0");

  if (gst == NULL)
    g_test_skip ("gst-launch-1.0 is not installed (Debian: gstreamer1.0-tools)");
  return gst != NULL;
}

/* gst-launch publishing stream @stream as user "host" (no room session) to the media
 * node at @media_url; -e: SIGINT ends it with an EOS, which closes its SRT link. */
static TetherTestProcess *
ingest_publish_to (const char *media_url,
                   const char *stream)
{
  g_autofree char *token = NULL;
  g_autofree char *srt_url = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  TetherTestProcess *publisher;

  g_assert_true (g_str_has_prefix (media_url, "srt://"));
  token = mint ("host", ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);
  srt_url = tether_srt_url_new (media_url, stream, "publish", token);
  uri = g_strdup_printf ("uri=%s", srt_url);
  publisher = tether_test_process_spawn (&error, "gst-launch-1.0", "-q", "-e", "videotestsrc", "!",
                                         "x264enc", "!", "mpegtsmux", "!", "srtsink", uri, NULL);
  g_assert_no_error (error);
  return publisher;
}

/* The same to the media node registered in Redis as @media_id. */
static TetherTestProcess *
ingest_publish (Cluster    *cl,
                const char *media_id,
                const char *stream)
{
  g_autofree char *media_url = tether_test_redis_command (cl->redis, "HGET %smedianode:%s url",
                                                          PREFIX, media_id);

  return ingest_publish_to (media_url, stream);
}

/* The next event of @c: the ADD of ingest stream @stream of "host" on @node. */
static JsonObject *
expect_ingest_add (Client     *c,
                   const char *stream,
                   const char *node)
{
  JsonObject *add = next_event_within (c, 20000);
  JsonObject *item;

  g_assert_nonnull (add);
  g_assert_cmpstr (tether_json_get_string (add, "kind"), ==, "stream");
  g_assert_cmpstr (tether_json_get_string (add, "update"), ==, "ADD");
  item = json_array_get_object_element (tether_json_get_array (add, "streams"), 0);
  g_assert_cmpstr (tether_json_get_string (item, "id"), ==, stream);
  g_assert_cmpstr (tether_json_get_string (item, "user_id"), ==, "host");
  g_assert_cmpstr (tether_json_get_string (item, "node"), ==, node);
  return add;
}

/* An ingest publisher (gst-launch, no room session) on node 0's embedded media node
 * is a stream of its token's user for the members on node 1, and goes when it stops. */
static void
test_ingest (Cluster       *cl,
             gconstpointer  data)
{
  g_autoptr(TetherTestProcess) publisher = NULL;
  g_autoptr(JsonObject) add = NULL;
  g_autoptr(JsonObject) del = NULL;
  Client *bob;

  if (!have_gst ())
    return;
  bob = login_on (cl, 1, "bob", NULL);
  publisher = ingest_publish (cl, "n0", "cam");
  add = expect_ingest_add (bob, "cam", "n0");

  tether_test_process_terminate (publisher);
  g_assert_true (tether_test_process_wait (publisher, tether_test_scaled_ms (20000)));
  del = next_event_within (bob, 20000);
  g_assert_nonnull (del);
  g_assert_cmpstr (tether_json_get_string (del, "update"), ==, "DELETE");
  g_assert_cmpstr (first_id (del, "streams"), ==, "cam");
}

/* The next events of @a and @b, which must be the same: @update of stream @stream
 * for @reason; returns its seq. */
static gint64
expect_same_stream_event (Client     *a,
                          Client     *b,
                          const char *update,
                          const char *stream,
                          const char *reason)
{
  g_autoptr(JsonObject) ea = next_event_within (a, 20000);
  g_autoptr(JsonObject) eb = next_event_within (b, 20000);
  g_autofree char *la = NULL;
  g_autofree char *lb = NULL;

  g_assert_nonnull (ea);
  g_assert_nonnull (eb);
  la = event_line (ea);
  lb = event_line (eb);
  g_assert_cmpstr (la, ==, lb);
  g_assert_cmpstr (tether_json_get_string (ea, "kind"), ==, "stream");
  g_assert_cmpstr (tether_json_get_string (ea, "update"), ==, update);
  g_assert_cmpstr (first_id (ea, "streams"), ==, stream);
  g_assert_cmpstr (tether_json_get_string (ea, "reason"), ==, reason);
  return get_int (ea, "seq");
}

/* bob on node 1 and carol on node 2, then ingest cam on node 0's media node, whose
 * ADD both see; returns the publisher. */
static TetherTestProcess *
members_and_cam_on_n0 (Cluster  *cl,
                       Client  **bob,
                       Client  **carol)
{
  TetherTestProcess *publisher;

  *bob = login_on (cl, 1, "bob", NULL);
  *carol = login_on (cl, 2, "carol", NULL);
  expect_only_add (*bob, "carol");
  publisher = ingest_publish (cl, "n0", "cam");
  json_object_unref (expect_ingest_add (*bob, "cam", "n0"));
  json_object_unref (expect_ingest_add (*carol, "cam", "n0"));
  return publisher;
}

/* A node killed with an ingest publisher and started again at once under the same id
 * (a supervisor's restart): the stream of its previous process goes once, for
 * media_lost, seen identically on two other nodes, and nothing else follows. */
static void
test_ingest_node_restart (Cluster       *cl,
                          gconstpointer  data)
{
  g_autoptr(TetherTestProcess) publisher = NULL;
  Client *bob, *carol;

  if (!have_gst ())
    return;
  publisher = members_and_cam_on_n0 (cl, &bob, &carol);

  tether_test_process_kill (publisher);
  tether_test_server_process_kill (cl->nodes[0]);
  tether_test_server_process_restart (cl->nodes[0]);
  expect_same_stream_event (bob, carol, "DELETE", "cam", "media_lost");

  login_on (cl, 0, "dave", NULL);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");
}

/* tether-server --media-only --redis: a separate media node "m1" of the cluster, an
 * edge with @cascade. */
static TetherTestProcess *
media_only_start (Cluster  *cl,
                  gboolean  cascade)
{
  g_autofree char *program = tether_test_server_program ();
  g_autoptr(GError) error = NULL;
  const char *argv[] = {
    "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program, "--media-only",
    "--app-secret", SECRET, "--redis", tether_test_redis_get_url (cl->redis),
    "--media-id", "m1", "--listen", "127.0.0.1:0", "--srt-encryption", "off",
    "--heartbeat-timeout", HEARTBEAT_TIMEOUT, "--node-beat", "0.2", "--node-timeout", "0.6",
    cascade ? "--media-cascade" : NULL, NULL,
  };
  /* Tied: a test that aborts does not leave it running. */
  TetherTestProcess *p = tether_test_process_spawnv (argv, &error);

  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (p, "listening on srt://",
                                                    tether_test_scaled_ms (10000), NULL));
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SISMEMBER " PREFIX "medianodes m1", "1"),
                                    tether_test_scaled_ms (10000)));
  return p;
}

/* A separate media node of the cluster (--media-only --redis): its ingest streams
 * reach the members on two room-service nodes (ADD with node m1, DELETE when it ends),
 * it is in login_ok's media_nodes after the node's own, and its death (kill -9)
 * deletes its streams exactly once ("media_lost"), seen identically on both. */
static void
test_media_only (Cluster       *cl,
                 gconstpointer  data)
{
  g_autoptr(TetherTestProcess) media = NULL;
  g_autoptr(TetherTestProcess) publisher = NULL;
  g_autoptr(TetherTestProcess) publisher2 = NULL;
  g_autoptr(JsonObject) ok = NULL;
  g_autofree char *last = NULL;
  JsonArray *nodes;
  Client *bob, *carol;
  gint64 seq;

  if (!have_gst ())
    return;
  media = media_only_start (cl, FALSE);
  /* It serves no clients: no ws URL, so no node's room_services names it (checked below). */
  g_assert_true (redis_equals (cl, "HGET " PREFIX "node:m1 ws_url", ""));
  g_assert_true (redis_equals (cl, "HGET " PREFIX "medianode:m1 load", "0"));
  bob = login_on (cl, 1, "bob", NULL);
  carol = login_on (cl, 2, "carol", NULL);
  json_object_unref (expect (bob, "event"));

  publisher = ingest_publish (cl, "m1", "cam");
  json_object_unref (expect_ingest_add (bob, "cam", "m1"));
  json_object_unref (expect_ingest_add (carol, "cam", "m1"));
  tether_test_process_terminate (publisher);
  g_assert_true (tether_test_process_wait (publisher, tether_test_scaled_ms (20000)));
  /* gst-launch ends without closing its SRT link: the node finds it idle (5 s). */
  expect_same_stream_event (bob, carol, "DELETE", "cam", "media_lost");

  /* login_ok of a room-service node: its own media node first, m1 among the rest. */
  login_on (cl, 0, "dave", &ok);
  nodes = tether_json_get_array (ok, "media_nodes");
  g_assert_cmpstr (first_id (ok, "media_nodes"), ==, "n0");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 4);
  {
    gboolean listed = FALSE;

    for (guint i = 1; i < json_array_get_length (nodes); i++)
      listed |= g_strcmp0 (tether_json_get_string (json_array_get_object_element (nodes, i), "id"),
                           "m1") == 0;
    g_assert_true (listed);
  }
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "room_services")), ==, N_NODES);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");

  /* tether-server --status lists it among the nodes (no public URL) and media nodes. */
  {
    g_autofree char *program = tether_test_server_program ();
    g_autoptr(TetherTestProcess) status = NULL;
    g_autoptr(GError) error = NULL;

    status = tether_test_process_spawn (&error, program, "--status", "--redis",
                                        tether_test_redis_get_url (cl->redis), NULL);
    g_assert_no_error (error);
    g_assert_true (tether_test_process_wait (status, tether_test_scaled_ms (10000)));
    g_assert_cmpint (tether_test_process_get_exit_status (status), ==, 0);
    g_assert_cmpuint (tether_test_process_count_lines (status, "m1 "), ==, 2);
  }

  /* kill -9: a reaper deletes its stream once, after the heartbeat timeout. */
  publisher2 = ingest_publish (cl, "m1", "cam2");
  json_object_unref (expect_ingest_add (bob, "cam2", "m1"));
  json_object_unref (expect_ingest_add (carol, "cam2", "m1"));
  tether_test_process_kill (media);
  seq = expect_same_stream_event (bob, carol, "DELETE", "cam2", "media_lost");
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SISMEMBER " PREFIX "nodes m1", "0"),
                                    tether_test_scaled_ms (10000)));
  g_assert_true (redis_equals (cl, "SISMEMBER " PREFIX "medianodes m1", "0"));
  g_assert_true (redis_equals (cl, "EXISTS " PREFIX "stream:cam2", "0"));
  last = g_strdup_printf ("%" G_GINT64_FORMAT, seq);
  g_assert_true (redis_equals (cl, "HGET " PREFIX "room:{" ROOM "} seq", last));
  login_on (cl, 2, "erin", NULL);
  expect_only_add (bob, "erin");
  expect_only_add (carol, "erin");
}

/* A plain GStreamer player decodes 15 frames of stream @stream from the media-only
 * node m1, which has no publisher of it. */
static void
play_on_m1 (Cluster    *cl,
            const char *stream)
{
  g_autoptr(TetherTestProcess) player = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *edge_url = NULL;
  g_autofree char *token = NULL;
  g_autofree char *srt_url = NULL;
  g_autofree char *uri = NULL;

  edge_url = tether_test_redis_command (cl->redis, "HGET %smedianode:m1 url", PREFIX);
  token = mint ("viewer", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600);
  srt_url = tether_srt_url_new (edge_url, stream, "request", token);
  uri = g_strdup_printf ("uri=%s", srt_url);
  player = tether_test_process_spawn (&error, "gst-launch-1.0", "-q", "srtsrc", uri, "!",
                                      "tsdemux", "!", "h264parse", "!", "avdec_h264", "!",
                                      "identity", "eos-after=15", "!", "fakesink", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (player, tether_test_scaled_ms (20000)));
  g_assert_cmpint (tether_test_process_get_exit_status (player), ==, 0);
}

/* A media-only node of the cluster with --media-cascade: a plain GStreamer player
 * on it plays a stream published on node 0 only, which it found in Redis and pulled. */
static void
test_media_only_cascade (Cluster       *cl,
                         gconstpointer  data)
{
  g_autoptr(TetherTestProcess) media = NULL;
  g_autoptr(TetherTestProcess) publisher = NULL;
  Client *bob;

  if (!have_gst ())
    return;
  media = media_only_start (cl, TRUE);
  bob = login_on (cl, 1, "bob", NULL);
  publisher = ingest_publish (cl, "n0", "cam");
  json_object_unref (expect_ingest_add (bob, "cam", "n0"));

  play_on_m1 (cl, "cam");
  g_assert_cmpuint (tether_test_process_count_lines (media, "pulling stream cam from node n0"), ==, 1);
  /* SIGTERM: a clean exit (the sanitizer build checks its leaks then). */
  tether_test_process_terminate (media);
  g_assert_true (tether_test_process_wait (media, tether_test_scaled_ms (10000)));
  g_assert_cmpint (tether_test_process_get_exit_status (media), ==, 0);
}

/* A second login of alice on another node kicks the first (1010), wherever it is;
 * others see no DELETE/ADD of alice. */
static void
test_duplicate_login (Cluster       *cl,
                      gconstpointer  data)
{
  Client *bob, *alice, *alice2;
  g_autoptr(JsonObject) kick = NULL;

  bob = login_on (cl, 2, "bob", NULL);
  alice = login_on (cl, 0, "alice", NULL);
  expect_only_add (bob, "alice");
  alice2 = login_on (cl, 1, "alice", NULL);
  kick = expect (alice, "kick_out");
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  client_expect_closed (alice, TETHER_CLOSE_KICKED);
  login_on (cl, 0, "carol", NULL);
  expect_only_add (bob, "carol");
  expect_only_add (alice2, "carol");
}

/* Redis away with its data (saved, killed, started again on the saved file): a
 * member of node 0 that falls silent meanwhile is dropped there at its heartbeat
 * timeout, and its DELETE, deferred, reaches the members on the other nodes once
 * Redis is back — once. */
static void
test_redis_outage (Cluster       *cl,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  Client *alice, *bob, *carol;

  three_members (cl, &alice, &bob, &carol);

  saved = tether_test_redis_command (cl->redis, "SAVE");
  g_assert_cmpstr (saved, ==, "OK");
  tether_test_redis_kill (cl->redis);
  stop_beating (cl, alice);
  /* Node 0 cuts her connection at the timeout, with nobody to tell. */
  g_assert_true (WAIT_UNTIL (alice->closed, tether_test_scaled_ms (10000)));

  g_assert_true (tether_test_redis_restart (cl->redis, &error));
  g_assert_no_error (error);
  expect_only_delete (bob, "alice");
  expect_only_delete (carol, "alice");
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "nodes", "3"),
                                    tether_test_scaled_ms (10000)));
  login_on (cl, 0, "dave", NULL);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");
}

/* Logs in @user on node @node, retrying while the node answers 1021 (it has no Redis
 * yet), as a client does. */
static Client *
login_retrying (Cluster     *cl,
                guint        node,
                const char  *user,
                JsonObject **login_ok)
{
  Client *done = NULL;

  g_assert_true (TETHER_WAIT_UNTIL (({
    LoginArgs args = { .notify = TRUE };
    Client *c = client_connect_url (&cl->fx, url (cl, node));
    JsonObject *answer;

    client_send_login (c, user, &args);
    answer = next (c);
    if (answer != NULL && g_strcmp0 (tether_json_get_string (answer, "type"), "login_ok") == 0)
      {
        done = c;
        *login_ok = answer;
        g_ptr_array_add (cl->beating, c);
      }
    else if (answer != NULL)
      json_object_unref (answer);
    done != NULL;
  }), tether_test_scaled_ms (10000)));
  return done;
}

/* Redis hung (SIGSTOP): hiredis has no timeouts, so a node that gets no answer to
 * its PING for 3 × node-timeout drops its connections; a login waiting meanwhile is
 * refused with 1021 instead of hanging. Members stay; after SIGCONT logins work. */
static void
test_redis_hung (Cluster       *cl,
                 gconstpointer  data)
{
  gint64 pid = g_ascii_strtoll (tether_test_redis_get_pid (cl->redis), NULL, 10);
  JsonObject *bob_ok;
  Client *alice, *refused;

  alice = login_on (cl, 0, "alice", NULL);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill ((pid_t) pid, SIGSTOP), ==, 0);
  refused = client_connect_url (&cl->fx, url (cl, 1));
  client_send_login (refused, "bob", NULL);
  g_assert_true (TETHER_WAIT_UNTIL (refused->messages.length > 0 || refused->closed,
                                    tether_test_scaled_ms (10000)));
  expect_error (refused, TETHER_ERROR_SERVICE_UNAVAILABLE, 4503);
  heartbeat_answered (alice, 99003);

  g_assert_cmpint (kill ((pid_t) pid, SIGCONT), ==, 0);
  /* As a client does: 1021 is retried until the node has Redis again. */
  bob_ok = NULL;
  login_retrying (cl, 1, "bob", &bob_ok);
  json_object_unref (bob_ok);
  expect_only_add (alice, "bob");
}

/* Node 0 alone loses Redis (a proxy refuses it) while node 1 makes more events than
 * the room's log keeps: back, node 0 cannot fill the gap, so its member is sent
 * `reconnect` and its resume is a resync with every stream. */
static void
test_log_gap (Cluster       *cl,
              gconstpointer  data)
{
  g_autoptr(TetherFaultProxy) proxy = tether_fault_proxy_new ("127.0.0.1",
                                                              tether_test_redis_get_port (cl->redis));
  g_autofree char *proxied = g_strdup_printf ("redis://127.0.0.1:%u", tether_fault_proxy_get_port (proxy));
  g_autoptr(JsonObject) alice_ok = NULL;
  g_autoptr(JsonObject) bob_ok = NULL;
  g_autoptr(JsonObject) again = NULL;
  Client *alice, *bob;

  /* Nodes 0 and 1 again, with a log of 2 events; node 0 reaches Redis by the proxy. */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (tether_test_server_process_terminate (cl->nodes[i]), ==, 0);
      tether_test_server_process_free (cl->nodes[i]);
      cl->nodes[i] = tether_test_server_process_new (
        "--app-secret", SECRET, "--redis", i == 0 ? proxied : tether_test_redis_get_url (cl->redis),
        "--node-id", i == 0 ? "n0" : "n1", "--no-media", "--event-backlog", "2",
        "--heartbeat-timeout", HEARTBEAT_TIMEOUT, "--session-ttl", "60", "--login-rate", "0",
        "--node-beat", "0.2", "--node-timeout", "0.6", NULL);
    }
  alice = login_retrying (cl, 0, "alice", &alice_ok);
  bob = login_retrying (cl, 1, "bob", &bob_ok);
  expect_only_add (alice, "bob");

  tether_fault_proxy_refuse (proxy);
  tether_fault_proxy_reset (proxy);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("cam%u", i);

      add_stream (bob, i + 1, id);
    }
  tether_fault_proxy_restore (proxy);

  json_object_unref (take (alice, "reconnect", -1));
  stop_beating (cl, alice);
  alice = resume_on (cl, 0, "alice", alice_ok, get_int (alice_ok, "seq") + 1, &again);
  g_assert_true (tether_json_get_bool (again, "resumed", FALSE));
  g_assert_true (tether_json_get_bool (again, "resync", FALSE));
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (again, "streams")), ==, 4);
}

/* Redis killed: logins refused with 1021 (close 4503), members stay connected;
 * restarted empty: the nodes restore their sessions, members resume into a resync,
 * and new logins work again. */
static void
test_redis_restart (Cluster       *cl,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) alice_ok = NULL;
  g_autoptr(JsonObject) bob_ok = NULL;
  g_autoptr(JsonObject) alice_re = NULL;
  g_autoptr(JsonObject) bob_re = NULL;
  g_autoptr(JsonObject) reconnect_a = NULL;
  g_autoptr(JsonObject) reconnect_b = NULL;
  Client *alice, *bob, *refused;

  alice = login_on (cl, 0, "alice", &alice_ok);
  bob = login_on (cl, 1, "bob", &bob_ok);
  expect_only_add (alice, "bob");

  tether_test_redis_kill (cl->redis);
  refused = client_connect_url (&cl->fx, url (cl, 2));
  client_send_login (refused, "carol", NULL);
  expect_error (refused, TETHER_ERROR_SERVICE_UNAVAILABLE, 4503);
  /* Members are kept: heartbeats answered, nothing closed. */
  heartbeat_answered (alice, 99001);
  heartbeat_answered (bob, 99002);

  g_assert_true (tether_test_redis_restart (cl->redis, &error));
  g_assert_no_error (error);
  reconnect_a = take (alice, "reconnect", -1);
  reconnect_b = take (bob, "reconnect", -1);
  stop_beating (cl, alice);
  stop_beating (cl, bob);

  alice = resume_on (cl, 0, "alice", alice_ok, get_int (alice_ok, "seq"), &alice_re);
  bob = resume_on (cl, 1, "bob", bob_ok, get_int (bob_ok, "seq") + 1, &bob_re);
  g_assert_true (tether_json_get_bool (alice_re, "resumed", FALSE));
  g_assert_true (tether_json_get_bool (alice_re, "resync", FALSE));
  g_assert_true (tether_json_get_bool (bob_re, "resync", FALSE));
  /* Whoever resumed second sees the other in its snapshot; the first hears an ADD
   * or has it in its snapshot: everyone converges on {alice, bob}. */
  {
    gboolean alice_sees_bob = json_array_get_length (tether_json_get_array (alice_re, "users")) == 1;
    gboolean bob_sees_alice = json_array_get_length (tether_json_get_array (bob_re, "users")) == 1;

    g_assert_true (alice_sees_bob || bob_sees_alice);
    if (!alice_sees_bob)
      expect_only_add (alice, "bob");
    if (!bob_sees_alice)
      expect_only_add (bob, "alice");
  }
  /* Node 2 may still be backing off: new logins work once it is registered again. */
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "nodes", "3"),
                                    tether_test_scaled_ms (10000)));
  login_on (cl, 2, "carol", NULL);
  expect_only_add (alice, "carol");
  expect_only_add (bob, "carol");
}

/* A fresh login of @user on @node under the display name @name. */
static Client *
login_named (Cluster     *cl,
             guint        node,
             const char  *user,
             const char  *name,
             JsonObject **login_ok)
{
  g_autofree char *token = mint (user, ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);
  TetherTestLogin login = {
    .app_id = APP, .room_id = ROOM, .user_id = user, .token = token, .notify_users = TRUE,
  };
  g_autofree char *json = tether_test_login_json (&login);
  g_autoptr(JsonNode) root = json_from_string (json, NULL);
  g_autofree char *named = NULL;
  Client *c = client_connect_url (&cl->fx, url (cl, node));

  json_object_set_string_member (json_object_get_object_member (json_node_get_object (root), "user"),
                                 "name", name);
  named = json_to_string (root, FALSE);
  client_send (c, named);
  *login_ok = expect (c, "login_ok");
  g_ptr_array_add (cl->beating, c);
  return c;
}

/* A login_ok's users as "id/name …" and its streams as "id/user_id/user_name/node/extra
 * …", in their order; a field that is missing or not a string shows as "?". */
static char *
snapshot_of (JsonObject *ok,
             const char *member)
{
  static const char * const user_fields[] = { "id", "name", NULL };
  static const char * const stream_fields[] = { "id", "user_id", "user_name", "node", "extra", NULL };
  const char * const *fields = g_str_equal (member, "users") ? user_fields : stream_fields;
  JsonArray *items = tether_json_get_array (ok, member);
  GString *line = g_string_new (NULL);

  g_assert_nonnull (items);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      g_assert_cmpuint (json_object_get_size (item), ==, g_strv_length ((char **) fields));
      for (guint f = 0; fields[f] != NULL; f++)
        {
          const char *v = tether_json_get_string (item, fields[f]);

          g_string_append_printf (line, "%s%s", f == 0 ? (i == 0 ? "" : " ") : "/", v != NULL ? v : "?");
        }
    }
  return g_string_free (line, FALSE);
}

static void
assert_snapshot (JsonObject *ok,
                 const char *users,
                 const char *streams)
{
  g_autofree char *u = snapshot_of (ok, "users");
  g_autofree char *s = snapshot_of (ok, "streams");

  g_assert_cmpstr (u, ==, users);
  g_assert_cmpstr (s, ==, streams);
}

/* The snapshot of every login and resume lists exactly the room's members (the joiner
 * left out) in join order and its streams in add order, with their fields as events
 * carry them, across joins on three nodes, a duplicate login under a new name (which
 * keeps its place and loses its streams), a stream moved to another node, leaves and
 * a rejoin; the room's wire-form hashes hold nothing once their entries left. */
static void
test_snapshot (Cluster       *cl,
               gconstpointer  data)
{
  Client *alice, *bob, *carol, *dave, *erin;
  g_autoptr(JsonObject) ok_alice = NULL;
  JsonObject *ok;

  alice = login_on (cl, 0, "alice", &ok_alice);
  assert_snapshot (ok_alice, "", "");
  bob = login_on (cl, 1, "bob", &ok);
  assert_snapshot (ok, "alice/alice", "");
  json_object_unref (ok);
  carol = login_on (cl, 2, "carol", &ok);
  assert_snapshot (ok, "alice/alice bob/bob", "");
  json_object_unref (ok);
  add_stream (bob, 1, "cam-bob");
  add_stream (carol, 2, "cam-carol");
  dave = login_on (cl, 0, "dave", &ok);
  assert_snapshot (ok, "alice/alice bob/bob carol/carol",
                   "cam-bob/bob/bob/n/ cam-carol/carol/carol/n/");
  json_object_unref (ok);

  /* bob again, on node 2 and under another name: he is not in his own snapshot, his
   * old session's stream went, and the others see him in his old place, renamed. */
  login_named (cl, 2, "bob", "Bobby", &ok);
  assert_snapshot (ok, "alice/alice carol/carol dave/dave", "cam-carol/carol/carol/n/");
  json_object_unref (ok);
  client_expect_closed (bob, TETHER_CLOSE_KICKED);
  erin = login_on (cl, 1, "erin", &ok);
  assert_snapshot (ok, "alice/alice bob/Bobby carol/carol dave/dave", "cam-carol/carol/carol/n/");
  json_object_unref (ok);

  /* erin's stream moves to another node (an ADD again): the snapshot follows. */
  add_stream (erin, 3, "cam-erin");
  client_send (erin, "{\"type\":\"stream_add\",\"req\":4,\"stream\":{\"id\":\"cam-erin\","
                     "\"node\":\"m\",\"extra\":\"x\"}}");
  json_object_unref (take (erin, "stream_add_ok", -1));

  /* carol (and her stream) and dave leave. */
  client_send (carol, "{\"type\":\"logout\"}");
  client_send (dave, "{\"type\":\"logout\"}");
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "3"),
                                    tether_test_scaled_ms (10000)));
  login_on (cl, 2, "frank", &ok);
  assert_snapshot (ok, "alice/alice bob/Bobby erin/erin", "cam-erin/erin/erin/m/x");
  json_object_unref (ok);

  /* carol's rejoin is a new member, last in the join order. */
  login_on (cl, 0, "carol", &ok);
  assert_snapshot (ok, "alice/alice bob/Bobby erin/erin frank/frank", "cam-erin/erin/erin/m/x");

  /* alice resumes on node 1: she is left out of her own snapshot too. */
  stop_beating (cl, alice);
  {
    g_autoptr(JsonObject) resumed = NULL;

    resume_on (cl, 1, "alice", ok_alice, get_int (ok, "seq"), &resumed);
    g_assert_true (tether_json_get_bool (resumed, "resumed", FALSE));
    assert_snapshot (resumed, "bob/Bobby erin/erin frank/frank carol/carol", "cam-erin/erin/erin/m/x");
  }
  json_object_unref (ok);

  /* Exactly the present members' and streams' wire forms are kept. */
  g_assert_true (redis_equals (cl, "HLEN " PREFIX "room:{" ROOM "}:userjson", "5"));
  g_assert_true (redis_equals (cl, "HLEN " PREFIX "room:{" ROOM "}:streamjson", "1"));
}

/* The ids of a snapshot's users, joined by ' '. */
static char *
snapshot_users (JsonObject *login_ok)
{
  JsonArray *users = tether_json_get_array (login_ok, "users");
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) v = NULL;

  for (guint i = 0; users != NULL && i < json_array_get_length (users); i++)
    g_strv_builder_add (ids, tether_json_get_string (json_array_get_object_element (users, i), "id"));
  v = g_strv_builder_end (ids);
  return g_strjoinv (" ", v);
}

/* A room id may hold ':' (docs/protocol.md), so "lobby:members" is a room of its
 * own: its keys in Redis must never be those of lobby's members, user list, log or
 * user index. Those rooms come first; lobby works next to them and neither hears the
 * other. Before the keys put the room id in braces, lobby's first login met a hash
 * where its members' sorted set belongs (WRONGTYPE: 1021 for every login). */
static void
test_room_id_namespace (Cluster       *cl,
                        gconstpointer  data)
{
  static const char *const parts[] = { ":members", ":userlist", ":log", ":byuser", ":streams" };
  Client *mallory[G_N_ELEMENTS (parts)];
  Client *alice;
  JsonObject *ok;
  g_autofree char *users = NULL;
  g_autofree char *trent_users = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *room = g_strconcat (ROOM, parts[i], NULL);

      mallory[i] = login_room_on (cl, i % N_NODES, room, "mallory", NULL);
      add_stream (mallory[i], 1, parts[i] + 1);
      json_object_unref (expect (mallory[i], "event"));   /* its stream ADD */
    }
  alice = login_on (cl, 0, "alice", &ok);
  users = snapshot_users (ok);
  g_assert_cmpstr (users, ==, "");
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "streams")), ==, 0);
  json_object_unref (ok);
  login_on (cl, 1, "bob", &ok);
  g_clear_pointer (&users, g_free);
  users = snapshot_users (ok);
  g_assert_cmpstr (users, ==, "alice");
  json_object_unref (ok);
  expect_only_add (alice, "bob");
  add_stream (alice, 1, "cam-alice");
  json_object_unref (expect (alice, "event"));

  /* lobby:members is still its own room, with its own events. */
  login_room_on (cl, 2, ROOM ":members", "trent", &ok);
  trent_users = snapshot_users (ok);
  g_assert_cmpstr (trent_users, ==, "mallory");
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (ok, "streams")), ==, 1);
  json_object_unref (ok);
  expect_only_add (mallory[0], "trent");
  login_on (cl, 2, "carol", NULL);
  expect_only_add (alice, "carol");
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "3"));
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM ":members}:members", "2"));
}

/* A node subscribes to a room's channel when its first member there logs in, and the
 * SUBSCRIBE takes effect a moment later: an event published meanwhile (here the
 * member's own stream ADD, sent as soon as login_ok came) must still reach it, from
 * the log. Before, it waited for the room's next event, which may never come. */
static void
test_first_event (Cluster       *cl,
                  gconstpointer  data)
{
  for (guint i = 0; i < 24; i++)
    {
      g_autofree char *room = g_strdup_printf ("fresh-%u", i);
      g_autofree char *stream = g_strdup_printf ("cam-%u", i);
      Client *c = login_room_on (cl, i % N_NODES, room, "alice", NULL);
      g_autoptr(JsonObject) ev = NULL;

      add_stream (c, 1, stream);
      ev = expect (c, "event");
      g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, "stream");
      g_assert_cmpstr (first_id (ev, "streams"), ==, stream);
    }
}

/* @user's login with `resume` {@sid, @key} into @room (NULL: ROOM) on @node; returns
 * its login_ok. */
static JsonObject *
login_resuming (Cluster    *cl,
                guint       node,
                const char *room,
                const char *user,
                const char *sid,
                const char *key)
{
  LoginArgs args = { .notify = TRUE, .room = room, .resume_session = sid, .resume_key = key };
  Client *c = client_connect_url (&cl->fx, url (cl, node));

  client_send_login (c, user, &args);
  g_ptr_array_add (cl->beating, c);
  return expect (c, "login_ok");
}

/* A resume that names no session of its user in its room — a string shaped to reach
 * another key ("<sid>:streams", a real session's stream set), control characters, a
 * real session of another user or room — is a fresh login, as on one node: login_ok
 * with resumed false, and the session it names is untouched. Before, the first one
 * got 1021 and close 4503 (the script met a set where it read a hash: WRONGTYPE). */
static void
test_forged_resume (Cluster       *cl,
                    gconstpointer  data)
{
  static const char *const bad_ids[] = { ":streams", "*", "\n1\nx\n0\n{}" };
  Client *alice, *bob;
  JsonObject *ok;
  g_autofree char *sid = NULL;
  g_autofree char *key = NULL;

  bob = login_on (cl, 1, "bob", NULL);
  alice = login_on (cl, 0, "alice", &ok);
  sid = g_strdup (tether_json_get_string (ok, "session_id"));
  key = g_strdup (tether_json_get_string (ok, "resume_key"));
  json_object_unref (ok);
  expect_only_add (bob, "alice");
  add_stream (alice, 1, "cam-alice");
  json_object_unref (expect (alice, "event"));
  json_object_unref (expect (bob, "event"));

  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      g_autofree char *user = g_strdup_printf ("mallory%u", i);
      g_autofree char *forged = g_strconcat (i == 0 ? sid : "", bad_ids[i], NULL);
      g_autoptr(JsonObject) fresh = login_resuming (cl, 2, NULL, user, forged, key);

      g_assert_false (tether_json_get_bool (fresh, "resumed", TRUE));
      g_assert_cmpstr (tether_json_get_string (fresh, "session_id"), !=, sid);
      expect_only_add (bob, user);
      expect_only_add (alice, user);
    }
  /* Alice's own session and key, by another user, or in another room. */
  {
    g_autoptr(JsonObject) other_user = login_resuming (cl, 2, NULL, "trent", sid, key);
    g_autoptr(JsonObject) other_room = login_resuming (cl, 1, "elsewhere", "alice", sid, key);

    g_assert_false (tether_json_get_bool (other_user, "resumed", TRUE));
    g_assert_false (tether_json_get_bool (other_room, "resumed", TRUE));
    expect_only_add (bob, "trent");
    expect_only_add (alice, "trent");
  }
  /* Alice is still there, on node 0, with her stream. */
  login_on (cl, 1, "carol", &ok);
  g_assert_cmpstr (first_id (ok, "streams"), ==, "cam-alice");
  json_object_unref (ok);
  expect_only_add (alice, "carol");
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "7"));
}

/* Milliseconds by Redis's clock since the latest @field (seen_ms: beat, started_ms:
 * start) of any node. */
static gint64
ms_since (Cluster    *cl,
          const char *field)
{
  g_autofree char *time = tether_test_redis_command (cl->redis, "TIME");
  g_auto(GStrv) t = g_strsplit (time != NULL ? time : "0\n0", "\n", 2);
  gint64 now = g_ascii_strtoll (t[0], NULL, 10) * 1000 + g_ascii_strtoll (t[1] != NULL ? t[1] : "0", NULL, 10) / 1000;
  gint64 seen = 0;

  for (guint i = 0; i < N_NODES; i++)
    {
      g_autofree char *ms = tether_test_redis_command (cl->redis, "HGET " PREFIX "node:n%u %s", i, field);

      seen = MAX (seen, ms != NULL ? g_ascii_strtoll (ms, NULL, 10) : 0);
    }
  return now - seen;
}

static gboolean
all_alive (Cluster *cl)
{
  for (guint i = 0; i < N_NODES; i++)
    {
      g_autofree char *key = g_strdup_printf ("EXISTS " PREFIX "node:n%u:alive", i);

      if (!redis_equals (cl, key, "1"))
        return FALSE;
    }
  return TRUE;
}

/* The gauge @name of node @i's /metrics. */
static guint64
node_metric (Cluster    *cl,
             guint       i,
             const char *name)
{
  TetherTestProcess *node = tether_test_server_process_get_process (cl->nodes[i]);
  g_autofree char *text = tether_test_server_admin_get (node, "metrics", NULL);
  guint64 value = G_MAXUINT64;

  tether_test_metric (text, name, &value);
  return value;
}

/* Redis out of memory (maxmemory, noeviction) refuses a script whose first write
 * would grow its memory (a script that already wrote goes on: it cannot stop
 * halfway). So a stream_add gets 1021, and no node can beat. When it takes changes
 * again, no node may be reaped for the beats it could not make: nobody's members see
 * a DELETE. Before, the first node to beat again reaped the others at once. */
static void
test_redis_oom (Cluster       *cl,
                gconstpointer  data)
{
  Client *alice, *bob, *carol;
  g_autofree char *set = NULL;
  g_autofree char *unset = NULL;
  g_autoptr(JsonObject) refused = NULL;

  three_members (cl, &alice, &bob, &carol);

  /* Up longer than the reaper's grace after a start (2.5 s + node-timeout). */
  g_assert_true (WAIT_UNTIL (ms_since (cl, "started_ms") > 2500 + 600 + 500, tether_test_scaled_ms (10000)));
  set = tether_test_redis_command (cl->redis, "CONFIG SET maxmemory 1");
  g_assert_cmpstr (set, ==, "OK");
  client_send (bob, "{\"type\":\"stream_add\",\"req\":7,\"stream\":{\"id\":\"cam-bob\"}}");
  refused = take (bob, "request_error", -1);
  g_assert_cmpint (get_int (refused, "req"), ==, 7);
  g_assert_cmpint (get_int (refused, "code"), ==, TETHER_ERROR_SERVICE_UNAVAILABLE);
  /* Longer than the heartbeat timeout without a beat. */
  g_assert_true (WAIT_UNTIL (ms_since (cl, "seen_ms") > 2000 + 600, tether_test_scaled_ms (10000)));
  g_assert_cmpuint (node_metric (cl, 0, "tether_redis_refusing"), ==, 1);
  g_assert_cmpuint (node_metric (cl, 0, "tether_redis_up"), ==, 1);

  unset = tether_test_redis_command (cl->redis, "CONFIG SET maxmemory 0");
  g_assert_cmpstr (unset, ==, "OK");
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_redis_refusing") == 0,
                                    tether_test_scaled_ms (10000)));
  /* Every node beats again (a node is reaped only while it does not); nobody left
   * meanwhile. */
  g_assert_true (TETHER_WAIT_UNTIL (all_alive (cl), tether_test_scaled_ms (10000)));
  login_on (cl, 1, "erin", NULL);
  expect_only_add (alice, "erin");
  expect_only_add (bob, "erin");
  expect_only_add (carol, "erin");
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "4"));
  add_stream (bob, 8, "cam-bob");
}

/* Redis busy with a script (another client's endless loop) answers BUSY to every
 * other script. A member who logs out then is dropped by its node at once; its
 * removal is refused and must wait for Redis, not be lost: once the script is killed,
 * the others get its DELETE. Before, the leave was dropped at the BUSY answer, and
 * alice stayed in the room, for everyone, for good. */
static void
test_redis_busy (Cluster       *cl,
                 gconstpointer  data)
{
  static const char loop[] = "*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n";
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) busy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *threshold = NULL;
  g_autofree char *killed = NULL;
  Client *alice, *bob;

  bob = login_on (cl, 1, "bob", NULL);
  alice = login_on (cl, 0, "alice", NULL);
  expect_only_add (bob, "alice");

  threshold = tether_test_redis_command (cl->redis, "CONFIG SET busy-reply-threshold 50");
  g_assert_cmpstr (threshold, ==, "OK");
  busy = g_socket_client_connect_to_host (socket_client, "127.0.0.1", tether_test_redis_get_port (cl->redis),
                                          NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (busy)), loop, strlen (loop),
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (({
    g_autofree char *pong = tether_test_redis_command (cl->redis, "PING");
    g_str_has_prefix (pong != NULL ? pong : "", "BUSY");
  }), WAIT_MS));
  stop_beating (cl, alice);
  client_send (alice, "{\"type\":\"logout\"}");
  json_object_unref (expect (alice, "logout_ok"));
  g_assert_true (WAIT_UNTIL (({
    g_autofree char *pong = tether_test_redis_command (cl->redis, "PING");
    g_str_has_prefix (pong != NULL ? pong : "", "BUSY");
  }), WAIT_MS));
  /* The leave met BUSY: node 0 sent it at the logout (or, knowing Redis refuses
   * changes, queued it for its next beat). */
  killed = tether_test_redis_command (cl->redis, "SCRIPT KILL");
  g_assert_cmpstr (killed, ==, "OK");

  expect_only_delete (bob, "alice");
  login_on (cl, 2, "carol", NULL);
  expect_only_add (bob, "carol");
}

/* The same user logs in on two nodes at the same moment, ten times over: Redis
 * orders the two scripts, so one session replaces the other. Exactly one connection
 * is kicked (1010, close 4403 after its login_ok), the other stays; the others see one
 * ADD. A kick that reached a node before its own login's answer would leave a
 * connection that Redis no longer counts: nobody could remove it. */
static void
test_duplicate_login_race (Cluster       *cl,
                           gconstpointer  data)
{
  Client *bob = login_on (cl, 2, "bob", NULL);

  for (guint round = 0; round < 10; round++)
    {
      g_autofree char *user = g_strdup_printf ("twin%u", round);
      LoginArgs args = { .notify = TRUE };
      Client *c[2];
      guint closed = 0;

      for (guint i = 0; i < 2; i++)
        c[i] = client_connect_url (&cl->fx, url (cl, i));
      for (guint i = 0; i < 2; i++)
        client_send_login (c[i], user, &args);
      for (guint i = 0; i < 2; i++)
        {
          json_object_unref (expect (c[i], "login_ok"));
          g_ptr_array_add (cl->beating, c[i]);
        }
      g_assert_true (WAIT_UNTIL (c[0]->closed || c[1]->closed, WAIT_MS));
      for (guint i = 0; i < 2; i++)
        if (c[i]->closed)
          {
            g_autoptr(JsonObject) kick = expect (c[i], "kick_out");

            g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
            g_assert_cmpuint (c[i]->close_code, ==, TETHER_CLOSE_KICKED);
            closed++;
          }
      g_assert_cmpuint (closed, ==, 1);
      expect_only_add (bob, user);
    }
  /* Every survivor is still a member; the kicked ones are not. */
  login_on (cl, 1, "carol", NULL);
  expect_only_add (bob, "carol");
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "12"));
}

/* Points @cl's fixture (raw connections, metric()) at node @i. */
static void
fixture_on_node (Cluster *cl,
                 guint    i)
{
  TetherTestProcess *process = tether_test_server_process_get_process (cl->nodes[i]);
  g_autofree char *line = tether_test_process_find_line (process, "admin on http://127.0.0.1:");

  g_assert_nonnull (line);
  cl->fx.st.port = tether_test_server_process_get_port (cl->nodes[i]);
  cl->fx.st.admin_port = (guint16) g_ascii_strtoull (strstr (line, "127.0.0.1:") + strlen ("127.0.0.1:"),
                                                    NULL, 10);
}

/* The next two events of @c are the ADD and the DELETE of stream @id. */
static void
expect_add_delete (Client     *c,
                   const char *id)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonObject) ev = expect (c, "event");

      g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, i == 0 ? "ADD" : "DELETE");
      g_assert_cmpstr (first_id (ev, "streams"), ==, id);
    }
}

/* A member that never reads, while events flow from another node, is dropped by its
 * own node once its send queue is full (4413), as on one node: the node's memory for
 * it stays bounded, the members on that node and on the others keep getting every
 * event in time, and its session stays for a resume. */
static void
test_slow_reader (Cluster       *cl,
                  gconstpointer  data)
{
  g_autoptr(GSocketConnection) slow = NULL;
  g_autofree char *token = mint ("sloth", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600);
  g_autofree char *login = g_strdup_printf ("{\"type\":\"login\",\"v\":1,\"app_id\":\"" APP "\","
                                            "\"room_id\":\"" ROOM "\",\"user\":{\"id\":\"sloth\"},"
                                            "\"token\":\"%s\",\"notify_users\":true}", token);
  g_autofree char *extra = g_strnfill (4000, 'x');
  Client *alice, *bob, *carol;
  guint rounds = 0;

  fixture_on_node (cl, 0);
  carol = login_on (cl, 0, "carol", NULL);
  alice = login_on (cl, 2, "alice", NULL);
  expect_only_add (carol, "alice");
  slow = raw_connect_from (&cl->fx, NULL, 4096);
  raw_send_frame (slow, 0x1, (const guint8 *) login, strlen (login));
  expect_only_add (carol, "sloth");
  expect_only_add (alice, "sloth");
  bob = login_on (cl, 1, "bob", NULL);
  expect_only_add (carol, "bob");
  expect_only_add (alice, "bob");

  /* bob, on node 1, churns streams with 4 KB of extra; carol (node 0, the sloth's)
   * and alice (node 2) read everything, each round in time. */
  while (metric (&cl->fx, "tether_slow_consumers_total") == 0)
    {
      g_autofree char *id = g_strdup_printf ("cam%u", rounds);
      g_autofree char *add = g_strdup_printf ("{\"type\":\"stream_add\",\"req\":%u,\"stream\":"
                                              "{\"id\":\"%s\",\"extra\":\"%s\"}}", rounds, id, extra);
      g_autofree char *del = g_strdup_printf ("{\"type\":\"stream_delete\",\"req\":%u,"
                                              "\"stream_id\":\"%s\"}", rounds, id);

      g_assert_cmpuint (rounds, <, 3000);
      if (rounds % 20 == 0)
        {
          /* The sloth sends heartbeats (it only never reads), until its node drops it. */
          static const char beat[] = "{\"type\":\"heartbeat\"}";
          g_autoptr(GByteArray) frame = tether_test_ws_client_frame (TRUE, 0x1, (const guint8 *) beat,
                                                                     strlen (beat));

          g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (slow)), frame->data,
                                     frame->len, NULL, NULL, NULL);
        }
      client_send (bob, add);
      client_send (bob, del);
      json_object_unref (take (bob, "stream_delete_ok", -1));
      g_queue_clear_full (&bob->messages, (GDestroyNotify) json_object_unref);
      expect_add_delete (carol, id);
      expect_add_delete (alice, id);
      rounds++;
    }
  g_test_message ("dropped after %u rounds", rounds);

  /* The drop is no leave: the sloth is still a member, and node 0 answers its other
   * one. Then, silent, the sloth is removed at its heartbeat timeout like after any
   * cut (this fixture's is 2 s), once, for everyone. */
  g_assert_true (redis_equals (cl, "ZCARD " PREFIX "room:{" ROOM "}:members", "4"));
  heartbeat_answered (carol, 1);
  expect_only_delete (carol, "sloth");
  expect_only_delete (alice, "sloth");
  login_on (cl, 1, "dave", NULL);
  expect_only_add (carol, "dave");
  expect_only_add (alice, "dave");
}

/* Redis emptied under running nodes (FLUSHDB by an operator): a stream request that
 * reaches it before the node's next beat finds no session. It gets request_error 1021
 * (retry), not silence; then the node restores its members and sends them reconnect,
 * as after an empty restart. Before, the request was never answered. */
static void
test_redis_flushed (Cluster       *cl,
                    gconstpointer  data)
{
  Client *alice;
  g_autofree char *flushed = NULL;
  g_autoptr(JsonObject) refused = NULL;

  alice = login_on (cl, 0, "alice", NULL);
  /* (the beat every 200 ms restores; a node beat just now leaves the most time) */
  g_assert_true (TETHER_WAIT_UNTIL (({
    g_autofree char *pttl = tether_test_redis_command (cl->redis, "PTTL " PREFIX "node:n0:alive");
    g_ascii_strtoll (pttl != NULL ? pttl : "0", NULL, 10) > 500;
  }), tether_test_scaled_ms (5000)));
  flushed = tether_test_redis_command (cl->redis, "FLUSHDB");
  g_assert_cmpstr (flushed, ==, "OK");
  client_send (alice, "{\"type\":\"stream_add\",\"req\":3,\"stream\":{\"id\":\"cam-alice\"}}");
  refused = take (alice, "request_error", -1);
  g_assert_cmpint (get_int (refused, "req"), ==, 3);
  g_assert_cmpint (get_int (refused, "code"), ==, TETHER_ERROR_SERVICE_UNAVAILABLE);
  json_object_unref (take (alice, "reconnect", -1));
}

/* A client that pipelines stream requests faster than Redis answers them: at most 64
 * of one session await Redis, the others get request_error 1009 at once (here Redis
 * is stopped meanwhile, so the first 64 wait). Every request gets exactly one answer.
 * Before, each went to Redis: a node's memory and the shared Redis's queue grew with
 * whatever one client sent. */
static void
test_request_flood (Cluster       *cl,
                    gconstpointer  data)
{
  const char *pid_text = tether_test_redis_get_pid (cl->redis);
  guint64 pid = g_ascii_strtoull (pid_text, NULL, 10);
  Client *alice;
  guint answers[2] = { 0 };   /* ok, limit */

  alice = login_on (cl, 0, "alice", NULL);
  stop_beating (cl, alice);
  g_assert_cmpint (kill ((pid_t) pid, SIGSTOP), ==, 0);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *add = g_strdup_printf ("{\"type\":\"stream_add\",\"req\":%u,"
                                              "\"stream\":{\"id\":\"f%u\"}}", i, i);

      client_send (alice, add);
    }
  /* The 36 over the bound are answered while Redis is stopped. */
  for (guint i = 64; i < 100; i++)
    {
      g_autoptr(JsonObject) refused = take (alice, "request_error", -1);

      g_assert_cmpint (get_int (refused, "req"), ==, i);
      g_assert_cmpint (get_int (refused, "code"), ==, TETHER_ERROR_RATE_LIMITED);
    }
  g_assert_cmpint (kill ((pid_t) pid, SIGCONT), ==, 0);
  /* The 64 that waited: 32 added (the session's limit), 32 refused with 2009. */
  while (answers[0] + answers[1] < 64)
    {
      g_autoptr(JsonObject) o = next (alice);
      const char *type;

      g_assert_nonnull (o);
      type = tether_json_get_string (o, "type");
      if (g_str_equal (type, "stream_add_ok"))
        answers[0]++;
      else if (g_str_equal (type, "request_error"))
        {
          g_assert_cmpint (get_int (o, "code"), ==, TETHER_ERROR_STREAM_LIMIT);
          answers[1]++;
        }
      else
        g_assert_cmpstr (type, ==, "event");
    }
  g_assert_cmpuint (answers[0], ==, 32);
  heartbeat_answered (alice, 1);
}

/* The connections Redis has taken since it started. */
static guint64
redis_connections (TetherTestRedis *redis)
{
  g_autofree char *info = tether_test_redis_command (redis, "INFO stats");
  const char *field = info != NULL ? strstr (info, "total_connections_received:") : NULL;

  g_assert_nonnull (field);
  return g_ascii_strtoull (field + strlen ("total_connections_received:"), NULL, 10);
}

/* Ids that would spell another key of the cluster are refused at start, with why:
 * ':' separates a key's parts ("n0:alive" would be node n0's liveness), '~' marks a
 * restarted node's ghost. Nothing reaches Redis (its URL is a closed port). */
static void
test_reserved_ids (void)
{
  g_autofree char *program = tether_test_server_program ();
  const char *bad[][2] = {
    { "--node-id", "n0:alive" }, { "--node-id", "n0~1764000000000" },
    { "--media-id", "m:1" }, { "--app-id", "demo:room:{lobby}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TetherTestProcess) server = NULL;
      g_autoptr(GError) error = NULL;

      /* through /bin/sh, so its stderr lands in the captured lines */
      server = tether_test_process_spawn (&error, "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
                                          program, "--app-secret", SECRET, "--redis",
                                          "redis://127.0.0.1:1", "--listen", "127.0.0.1:0",
                                          "--media-listen", "127.0.0.1:0", "--admin-listen",
                                          "127.0.0.1:0", bad[i][0], bad[i][1], NULL);
      g_assert_no_error (error);
      g_assert_true (tether_test_process_wait (server, tether_test_scaled_ms (10000)));
      g_assert_cmpint (tether_test_process_get_exit_status (server), ==, 1);
      g_assert_cmpint (tether_test_process_line_index (server, "reserved in its Redis keys", 0), >=, 0);
    }
}

/* A node whose Redis refuses its password stays down (it does not register) and
 * tries again with the usual backoff, 100 ms doubling to 2 s: over 3 s at most a
 * dozen connections. When Redis takes the password, the node comes up. Before, both
 * connections counted as up at connect time, failed, and were back within 100 ms:
 * about 30 connections and 60 warnings a second, for as long as it lasted. */
static void
test_redis_wrong_password (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestRedis) redis = tether_test_redis_start (&error);
  g_autofree char *set = NULL;
  g_autofree char *url = NULL;
  g_autofree char *fixed = NULL;
  TetherTestServerProcess *node;
  guint64 before;
  gint64 start;

  g_assert_no_error (error);
  set = tether_test_redis_command (redis, "CONFIG SET requirepass right-password");
  g_assert_cmpstr (set, ==, "OK");
  url = g_strdup_printf ("redis://:wrong-password@127.0.0.1:%u", tether_test_redis_get_port (redis));
  before = redis_connections (redis);
  node = tether_test_server_process_new ("--app-secret", SECRET, "--redis", url, "--node-id", "n0",
                                         "--no-media", "--node-beat", "0.2", "--node-timeout", "0.6",
                                         NULL);
  g_assert_true (TETHER_WAIT_UNTIL (redis_connections (redis) > before, tether_test_scaled_ms (5000)));
  start = g_get_monotonic_time ();
  g_assert_true (TETHER_WAIT_UNTIL (g_get_monotonic_time () - start > 3 * G_USEC_PER_SEC
                             || redis_connections (redis) - before > 16, tether_test_scaled_ms (10000)));
  g_assert_cmpuint (redis_connections (redis) - before, <=, 16);
  g_assert_true (redis_equals_on (redis, "SCARD " PREFIX "nodes", "0"));

  fixed = tether_test_redis_command (redis, "CONFIG SET requirepass wrong-password");
  g_assert_cmpstr (fixed, ==, "OK");
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals_on (redis, "SCARD " PREFIX "nodes", "1"), tether_test_scaled_ms (5000)));
  g_assert_cmpint (tether_test_server_process_terminate (node), ==, 0);
  tether_test_server_process_free (node);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The ids of the streams in @ok's snapshot, sorted. */
static char *
snapshot_stream_ids (JsonObject *ok)
{
  JsonArray *items = tether_json_get_array (ok, "streams");
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      g_ptr_array_add (ids, (gpointer) tether_json_get_string (item, "id"));
    }
  g_ptr_array_sort (ids, compare_strings);
  g_ptr_array_add (ids, NULL);
  return g_strjoinv (" ", (char **) ids->pdata);
}

/* SIGINT: gst-launch -e sends EOS and closes its SRT link ("stopped"). */
static void
ingest_stop (TetherTestProcess *publisher)
{
  gint64 pid = g_ascii_strtoll (tether_test_process_get_identifier (publisher), NULL, 10);

  g_assert_cmpint (kill ((pid_t) pid, SIGINT), ==, 0);
  g_assert_true (tether_test_process_wait (publisher, tether_test_scaled_ms (20000)));
}

/* bob on node 1 and carol on node 2 (their login_ok in @bob_ok, @carol_ok), then
 * ingest cam1 on node 0's media node (at @media_url), whose ADD both see. */
static TetherTestProcess *
members_and_cam1 (Cluster     *cl,
                  Client     **bob,
                  JsonObject **bob_ok,
                  Client     **carol,
                  JsonObject **carol_ok,
                  char       **media_url)
{
  TetherTestProcess *cam1;

  *bob = login_on (cl, 1, "bob", bob_ok);
  *carol = login_on (cl, 2, "carol", carol_ok);
  expect_only_add (*bob, "carol");
  *media_url = tether_test_redis_command (cl->redis, "HGET %smedianode:n0 url", PREFIX);
  cam1 = ingest_publish_to (*media_url, "cam1");
  expect_same_stream_event (*bob, *carol, "ADD", "cam1", NULL);
  return cam1;
}

/* Redis away with its data while ingest @cam1 (on node 0's media node, at
 * @media_url) stops and cam3 starts: killed after a SAVE and started again on the
 * saved file, or @hung (SIGSTOP until node 0 dropped it, then SIGCONT: it then runs
 * what the node had sent before, whose replies the node never got). Back, @bob and
 * @carol on nodes 1 and 2 see cam1's DELETE ("stopped") and cam3's ADD, once each,
 * and nothing else. */
static void
ingest_changes_while_away (Cluster           *cl,
                           Client            *bob,
                           Client            *carol,
                           TetherTestProcess *cam1,
                           const char        *media_url,
                           gboolean           hung)
{
  g_autoptr(TetherTestProcess) cam3 = NULL;
  g_autoptr(GError) error = NULL;
  pid_t pid = (pid_t) g_ascii_strtoll (tether_test_redis_get_pid (cl->redis), NULL, 10);

  if (hung)
    g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  else
    {
      g_autofree char *saved = tether_test_redis_command (cl->redis, "SAVE");

      g_assert_cmpstr (saved, ==, "OK");
      tether_test_redis_kill (cl->redis);
    }
  ingest_stop (cam1);
  cam3 = ingest_publish_to (media_url, "cam3");
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_cluster_pending_ingests") == 2,
                                    20000));
  if (hung)
    {
      g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_redis_up") == 0, 20000));
      g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
    }
  else
    {
      g_assert_true (tether_test_redis_restart (cl->redis, &error));
      g_assert_no_error (error);
    }
  expect_same_stream_event (bob, carol, "DELETE", "cam1", "stopped");
  expect_same_stream_event (bob, carol, "ADD", "cam3", NULL);
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_cluster_pending_ingests") == 0,
                                    10000));
  g_assert_true (redis_equals (cl, "SISMEMBER " PREFIX "medianode:n0:ingests cam1", "0"));
  g_assert_true (redis_equals (cl, "SISMEMBER " PREFIX "medianode:n0:ingests cam3", "1"));
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "nodes", "3"), 10000));
  login_on (cl, 0, "erin", NULL);
  expect_only_add (bob, "erin");
  expect_only_add (carol, "erin");
}

/* Ingest streams that start or stop on node 0 while Redis is away reach the room
 * when it is back. Back empty: the nodes put back their sessions and the ingest
 * streams their media node still has, including one started meanwhile, and the
 * members' resync shows exactly those. Back with its data: a stream stopped meanwhile
 * is deleted ("stopped"), one started meanwhile added — each once, seen identically
 * on two other nodes, and nothing else follows. */
static void
test_ingest_redis_outage (Cluster       *cl,
                          gconstpointer  data)
{
  g_autoptr(TetherTestProcess) cam1 = NULL;
  g_autoptr(TetherTestProcess) cam2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) bob_ok = NULL;
  g_autoptr(JsonObject) carol_ok = NULL;
  g_autoptr(JsonObject) bob_re = NULL;
  g_autoptr(JsonObject) carol_re = NULL;
  g_autofree char *media_url = NULL;
  g_autofree char *bob_streams = NULL;
  g_autofree char *carol_streams = NULL;
  Client *bob, *carol;

  if (!have_gst ())
    return;
  cam1 = members_and_cam1 (cl, &bob, &bob_ok, &carol, &carol_ok, &media_url);

  /* Away and back empty; cam2 starts meanwhile. */
  tether_test_redis_kill (cl->redis);
  cam2 = ingest_publish_to (media_url, "cam2");
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_cluster_pending_ingests") == 1,
                                    20000));
  g_assert_true (tether_test_redis_restart (cl->redis, &error));
  g_assert_no_error (error);
  json_object_unref (take (bob, "reconnect", -1));
  json_object_unref (take (carol, "reconnect", -1));
  stop_beating (cl, bob);
  stop_beating (cl, carol);
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "medianode:n0:ingests", "2"),
                                    10000));
  g_assert_cmpuint (node_metric (cl, 0, "tether_cluster_pending_ingests"), ==, 0);
  bob = resume_on (cl, 1, "bob", bob_ok, get_int (bob_ok, "seq"), &bob_re);
  carol = resume_on (cl, 2, "carol", carol_ok, get_int (carol_ok, "seq"), &carol_re);
  g_assert_true (tether_json_get_bool (bob_re, "resync", FALSE));
  g_assert_true (tether_json_get_bool (carol_re, "resync", FALSE));
  bob_streams = snapshot_stream_ids (bob_re);
  carol_streams = snapshot_stream_ids (carol_re);
  g_assert_cmpstr (bob_streams, ==, "cam1 cam2");
  g_assert_cmpstr (carol_streams, ==, "cam1 cam2");
  /* Whoever resumed first may hear the other's restore ADD: nothing about streams. */
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "nodes", "3"),
                                    10000));
  login_on (cl, 0, "dave", NULL);
  for (guint i = 0; i < 2; i++)
    {
      Client *c = i == 0 ? bob : carol;
      g_autoptr(JsonObject) ev = NULL;

      while ((ev = expect (c, "event")) != NULL
             && g_strcmp0 (first_id (ev, "users"), "dave") != 0)
        {
          g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, "user");
          g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, "ADD");
          g_clear_pointer (&ev, json_object_unref);
        }
    }

  ingest_changes_while_away (cl, bob, carol, cam1, media_url, FALSE);
}

/* The same with Redis hung (SIGSTOP) instead of killed: node 0 drops it and never
 * gets the replies to the changes it sent, which Redis runs when it goes on; the
 * reconciliation then adds and deletes nothing a second time. */
static void
test_ingest_redis_hung (Cluster       *cl,
                        gconstpointer  data)
{
  g_autoptr(TetherTestProcess) cam1 = NULL;
  g_autofree char *media_url = NULL;
  Client *bob, *carol;

  if (!have_gst ())
    return;
  cam1 = members_and_cam1 (cl, &bob, NULL, &carol, NULL, &media_url);
  ingest_changes_while_away (cl, bob, carol, cam1, media_url, TRUE);
}

/* A metric of /metrics text @text, which must be there. */
static guint64
metric_of (const char *text,
           const char *name)
{
  guint64 value = 0;

  if (!tether_test_metric (text, name, &value))
    g_error ("no %s in:\n%s", name, text);
  return value;
}

/* The gauge @name of the media-only node @media's /metrics. */
static guint64
media_metric (TetherTestProcess *media,
              const char        *name)
{
  g_autofree char *text = tether_test_server_admin_get (media, "metrics", NULL);

  return metric_of (text, name);
}

/* A media-only node of the cluster has the admin endpoints of a room-service node,
 * here on their default address (loopback, the --listen port + 1: any free port
 * for 0): /healthz, and /metrics with its node id, Redis and media figures, but none
 * of a room service's; tether_redis_up follows Redis, an empty restart counts as a
 * restore, and its pulls are counted. A media node without --redis has no admin
 * endpoints and refuses --admin-listen. */
static void
test_media_only_admin (Cluster       *cl,
                       gconstpointer  data)
{
  g_autoptr(TetherTestProcess) media = NULL;
  g_autoptr(TetherTestProcess) publisher = NULL;
  g_autoptr(TetherTestProcess) alone = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *health = NULL;
  g_autofree char *text = NULL;
  g_autofree char *program = tether_test_server_program ();
  guint status = 0;
  Client *bob;

  if (!have_gst ())
    return;
  media = media_only_start (cl, TRUE);
  health = tether_test_server_admin_get (media, "healthz", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (health, ==, "ok\n");
  text = tether_test_server_admin_get (media, "metrics", &status);
  g_assert_cmpuint (status, ==, SOUP_STATUS_OK);
  g_assert_nonnull (strstr (text, "\ntether_cluster_node_info{node=\"m1\"} 1\n"));
  g_assert_cmpuint (metric_of (text, "tether_redis_up"), ==, 1);
  g_assert_cmpuint (metric_of (text, "tether_redis_commands_total"), >, 0);
  metric_of (text, "tether_redis_round_trip_seconds");
  g_assert_cmpuint (metric_of (text, "tether_cluster_reaped_sessions_total"), ==, 0);
  g_assert_cmpuint (metric_of (text, "tether_cluster_restores_total"), ==, 0);
  g_assert_cmpuint (metric_of (text, "tether_cluster_pending_ingests"), ==, 0);
  g_assert_cmpuint (metric_of (text, "tether_media_streams"), ==, 0);
  g_assert_cmpuint (metric_of (text, "tether_media_pulls_started_total"), ==, 0);
  /* Nothing of a room service, which it does not run. */
  g_assert_false (tether_test_metric (text, "tether_sessions", NULL));
  g_assert_false (tether_test_metric (text, "tether_logins_total", NULL));
  g_assert_false (tether_test_metric (text, "tether_cluster_events_total", NULL));
  g_assert_false (tether_test_metric (text, "tether_cluster_pending_leaves", NULL));

  /* A player on it of a stream published on node 0: one pull. */
  bob = login_on (cl, 1, "bob", NULL);
  publisher = ingest_publish (cl, "n0", "cam");
  json_object_unref (expect_ingest_add (bob, "cam", "n0"));
  play_on_m1 (cl, "cam");
  g_assert_cmpuint (media_metric (media, "tether_media_pulls_started_total"), ==, 1);

  /* Redis away, then back empty. */
  tether_test_redis_kill (cl->redis);
  g_assert_true (TETHER_WAIT_UNTIL (media_metric (media, "tether_redis_up") == 0, 10000));
  g_assert_true (tether_test_redis_restart (cl->redis, &error));
  g_assert_no_error (error);
  g_assert_true (TETHER_WAIT_UNTIL (media_metric (media, "tether_redis_up") == 1
                                    && media_metric (media, "tether_cluster_restores_total") == 1,
                                    10000));

  alone = tether_test_process_spawn (&error, program, "--media-only", "--app-secret", SECRET,
                                     "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                     NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (alone, tether_test_scaled_ms (10000)));
  g_assert_cmpint (tether_test_process_get_exit_status (alone), ==, 1);

  /* SIGTERM: a clean exit with its admin port open. */
  tether_test_process_terminate (media);
  g_assert_true (tether_test_process_wait (media, tether_test_scaled_ms (10000)));
  g_assert_cmpint (tether_test_process_get_exit_status (media), ==, 0);
}

/* login_ok of a fresh login of @user on node @node (retrying 1021 as a client
 * does); its media_edge, or NULL. */
static char *
media_edge_of_login (Cluster    *cl,
                     guint       node,
                     const char *user)
{
  g_autoptr(JsonObject) ok = NULL;
  Client *c = login_retrying (cl, node, user, &ok);

  stop_beating (cl, c);
  return g_strdup (tether_json_get_string (ok, "media_edge"));
}

/* A room-service node with --media-edge m1 names the media-only node m1 (an edge:
 * --media-cascade) as media_edge in login_ok while m1 is alive, and not once it is
 * dead; the other nodes name none. */
static void
test_media_only_edge (Cluster       *cl,
                      gconstpointer  data)
{
  const char *edge_args[] = { "--media-edge", "m1", NULL };
  g_autoptr(TetherTestProcess) media = NULL;
  g_autofree char *edge = NULL;
  g_autofree char *none = NULL;
  g_autofree char *gone = NULL;
  g_autoptr(JsonObject) ok = NULL;
  gboolean listed = FALSE;
  JsonArray *nodes;

  media = media_only_start (cl, TRUE);
  g_assert_cmpint (tether_test_server_process_terminate (cl->nodes[2]), ==, 0);
  tether_test_server_process_free (cl->nodes[2]);
  cl->nodes[2] = node_start_with (cl, 2, edge_args);

  login_retrying (cl, 2, "bob", &ok);
  g_assert_cmpstr (tether_json_get_string (ok, "media_edge"), ==, "m1");
  /* Its own media node stays first for publishers; m1 is among the others. */
  g_assert_cmpstr (first_id (ok, "media_nodes"), ==, "n2");
  nodes = tether_json_get_array (ok, "media_nodes");
  for (guint i = 1; i < json_array_get_length (nodes); i++)
    listed |= g_strcmp0 (tether_json_get_string (json_array_get_object_element (nodes, i), "id"),
                         "m1") == 0;
  g_assert_true (listed);
  none = media_edge_of_login (cl, 1, "carol");
  g_assert_null (none);

  /* m1 dies: once node 2 has seen it dead, no login names it. */
  tether_test_process_kill (media);
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "EXISTS " PREFIX "node:m1:alive", "0"),
                                    10000));
  g_assert_true (TETHER_WAIT_UNTIL (({
    g_free (gone);
    gone = media_edge_of_login (cl, 2, "dave");
    gone == NULL;
  }), 10000));
}

/* The ids of the streams in @ok's snapshot, in its order. */
static char *
snapshot_stream_order (JsonObject *ok)
{
  JsonArray *items = tether_json_get_array (ok, "streams");
  GString *ids = g_string_new (NULL);

  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    g_string_append_printf (ids, "%s%s", i > 0 ? " " : "",
                            tether_json_get_string (json_array_get_object_element (items, i), "id"));
  return g_string_free (ids, FALSE);
}

/* bob on node 1 and carol on node 2 (login_ok in @bob_ok, @carol_ok), then alice on
 * node 0 with streams cam-a and cam-b; node 0 is killed and alice resumes on node 1
 * (case 1, unseen), her login_ok in @alice_ok. Returns alice. */
static Client *
alice_moved (Cluster     *cl,
             Client     **bob,
             JsonObject **bob_ok,
             Client     **carol,
             JsonObject **carol_ok,
             JsonObject **alice_ok)
{
  const char *cams[] = { "cam-a", "cam-b", NULL };
  g_autoptr(JsonObject) first = NULL;
  g_autofree char *streams = NULL;
  Client *alice;
  gint64 seq = 0;

  alice = alice_streams_on_killed_node (cl, cams, bob, bob_ok, carol, carol_ok, &first, &seq);
  g_assert_true (WAIT_UNTIL (alice->closed, WAIT_MS));
  alice = resume_on (cl, 1, "alice", first, seq, alice_ok);
  g_assert_true (tether_json_get_bool (*alice_ok, "resumed", FALSE));
  g_assert_false (tether_json_get_bool (*alice_ok, "resync", FALSE));
  streams = snapshot_stream_order (*alice_ok);
  g_assert_cmpstr (streams, ==, "cam-a cam-b");
  return alice;
}

/* A session that moved to another node (case 1: its node killed) keeps its streams
 * when Redis then restarts empty: its new node restores it with the streams it added
 * on the old one, in their order. Everyone gets reconnect, their resync snapshots
 * hold both streams, and no stream event follows; her logout then deletes them
 * (reason logout). Before, node 1 restored alice without her streams: the room lost
 * them for good. */
static void
test_moved_redis_restart (Cluster       *cl,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) alice_ok = NULL;
  g_autoptr(JsonObject) bob_ok = NULL;
  g_autoptr(JsonObject) carol_ok = NULL;
  JsonObject *re[3] = { NULL };
  Client *c[3];

  c[0] = alice_moved (cl, &c[1], &bob_ok, &c[2], &carol_ok, &alice_ok);
  tether_test_redis_kill (cl->redis);
  g_assert_true (tether_test_redis_restart (cl->redis, &error));
  g_assert_no_error (error);
  /* reconnect comes once its session is restored: the resyncs see the whole room. */
  for (guint i = 0; i < 3; i++)
    {
      json_object_unref (take (c[i], "reconnect", -1));
      stop_beating (cl, c[i]);
    }
  c[0] = resume_on (cl, 1, "alice", alice_ok, get_int (alice_ok, "seq"), &re[0]);
  c[1] = resume_on (cl, 1, "bob", bob_ok, get_int (bob_ok, "seq"), &re[1]);
  c[2] = resume_on (cl, 2, "carol", carol_ok, get_int (carol_ok, "seq"), &re[2]);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *streams = snapshot_stream_order (re[i]);

      g_assert_true (tether_json_get_bool (re[i], "resumed", FALSE));
      g_assert_true (tether_json_get_bool (re[i], "resync", FALSE));
      g_assert_cmpuint (json_array_get_length (tether_json_get_array (re[i], "users")), ==, 2);
      g_assert_cmpstr (streams, ==, "cam-a cam-b");
      json_object_unref (re[i]);
    }
  /* Nothing between the snapshots and dave's join. */
  g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SISMEMBER " PREFIX "nodes n2", "1"),
                                    10000));
  login_on (cl, 2, "dave", NULL);
  for (guint i = 0; i < 3; i++)
    expect_only_add (c[i], "dave");
  /* Her streams are hers in Redis again: her logout deletes them. */
  client_send (c[0], "{\"type\":\"logout\"}");
  for (guint i = 1; i < 3; i++)
    {
      g_autoptr(JsonObject) ev = expect (c[i], "event");

      g_assert_cmpstr (tether_json_get_string (ev, "kind"), ==, "stream");
      g_assert_cmpstr (tether_json_get_string (ev, "update"), ==, "DELETE");
      g_assert_cmpstr (tether_json_get_string (ev, "reason"), ==, "logout");
      expect_only_delete (c[i], "alice");
    }
}

/* A kick (duplicate login) or a drop (resume elsewhere) that Redis published while a
 * node was not listening (its own connections to Redis broken, Redis fine) is not
 * lost: subscribed again, the node finds the sessions Redis gave away meanwhile.
 * alice's first connection on node 0 gets kick_out 1010, and carol's, whose session
 * resumed on node 2, is closed. Before, node 0 kept both open for good, heartbeats
 * answered: members Redis no longer counted, as in /cluster/duplicate-login/race. */
static void
test_moved_unheard (Cluster       *cl,
                    gconstpointer  data)
{
  g_autoptr(TetherFaultProxy) proxy = tether_fault_proxy_new ("127.0.0.1",
                                                              tether_test_redis_get_port (cl->redis));
  g_autofree char *proxied = g_strdup_printf ("redis://127.0.0.1:%u", tether_fault_proxy_get_port (proxy));
  const char *via_proxy[] = { "--redis", proxied, NULL };
  g_autoptr(JsonObject) alice_ok = NULL;
  g_autoptr(JsonObject) carol_ok = NULL;
  g_autoptr(JsonObject) resumed = NULL;
  g_autoptr(JsonObject) kick = NULL;
  Client *bob, *alice, *carol;

  g_assert_cmpint (tether_test_server_process_terminate (cl->nodes[0]), ==, 0);
  tether_test_server_process_free (cl->nodes[0]);
  cl->nodes[0] = node_start_with (cl, 0, via_proxy);
  bob = login_on (cl, 1, "bob", NULL);
  alice = login_retrying (cl, 0, "alice", &alice_ok);
  expect_only_add (bob, "alice");
  carol = login_on (cl, 0, "carol", &carol_ok);
  expect_only_add (bob, "carol");
  expect_only_add (alice, "carol");

  tether_fault_proxy_refuse (proxy);
  tether_fault_proxy_reset (proxy);
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_redis_up") == 0, 10000));
  login_on (cl, 2, "alice", NULL);
  resume_on (cl, 2, "carol", carol_ok, get_int (carol_ok, "seq"), &resumed);
  g_assert_true (tether_json_get_bool (resumed, "resumed", FALSE));
  tether_fault_proxy_restore (proxy);

  kick = take (alice, "kick_out", -1);
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  g_assert_true (WAIT_UNTIL (alice->closed && carol->closed, WAIT_MS));
  /* Nobody heard of it: no user DELETE or ADD. */
  login_on (cl, 1, "dave", NULL);
  expect_only_add (bob, "dave");
}

/* The stream DELETE @reason of cam-a and cam-b, then alice's user DELETE, as the next
 * events of @c. */
static void
expect_alice_gone (Client     *c,
                   const char *reason)
{
  g_autoptr(JsonObject) ev = expect (c, "event");
  g_autofree char *line = event_line (ev);

  g_assert_cmpstr (strchr (line, ' ') + 1, ==, "stream DELETE cam-a cam-b");
  g_assert_cmpstr (tether_json_get_string (ev, "reason"), ==, reason);
  expect_only_delete (c, "alice");
}

/* The leaves of a session that moved (case 1) go as on its first node: its
 * heartbeat timeout on node 1 deletes the streams it added on node 0, then the user,
 * once for bob (node 1) and carol (node 2). Her return is a rejoin without streams,
 * and a duplicate login elsewhere then kicks her on node 1. */
static void
test_moved_leaves (Cluster       *cl,
                   gconstpointer  data)
{
  g_autoptr(JsonObject) alice_ok = NULL;
  g_autoptr(JsonObject) bob_ok = NULL;
  g_autoptr(JsonObject) carol_ok = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(JsonObject) kick = NULL;
  Client *alice, *bob, *carol;

  alice = alice_moved (cl, &bob, &bob_ok, &carol, &carol_ok, &alice_ok);
  stop_beating (cl, alice);
  expect_alice_gone (bob, "heartbeat_timeout");
  expect_alice_gone (carol, "heartbeat_timeout");

  alice = resume_on (cl, 1, "alice", alice_ok, get_int (alice_ok, "seq"), &again);
  g_assert_false (tether_json_get_bool (again, "resumed", FALSE));
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (again, "streams")), ==, 0);
  expect_only_add (bob, "alice");
  expect_only_add (carol, "alice");
  login_on (cl, 2, "alice", NULL);
  kick = take (alice, "kick_out", -1);
  g_assert_cmpint (get_int (kick, "code"), ==, TETHER_ERROR_LOGGED_IN_ELSEWHERE);
  login_on (cl, 2, "dave", NULL);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");
}

/* An ingest publisher whose node is killed and which pushes to another node's media
 * node at once (OBS/ffmpeg reconnecting elsewhere): its stream moves there (stream
 * ADD with the new node), seen identically on nodes 1 and 2 — at most after a
 * media_lost DELETE when the reaper ran first — and stays. Before, the new media
 * node's ingest_add found the id still taken by the dead one and gave up, and the
 * reaper then deleted the stream for good (found by bench-cascade). */
static void
test_ingest_moved (Cluster       *cl,
                   gconstpointer  data)
{
  g_autoptr(TetherTestProcess) first = NULL;
  g_autoptr(TetherTestProcess) again = NULL;
  g_autoptr(JsonObject) moved = NULL;
  g_autoptr(JsonObject) moved_carol = NULL;
  JsonObject *item;
  Client *bob, *carol;

  if (!have_gst ())
    return;
  first = members_and_cam_on_n0 (cl, &bob, &carol);

  tether_test_server_process_kill (cl->nodes[0]);
  tether_test_process_kill (first);
  again = ingest_publish (cl, "n2", "cam");
  moved = next_event_within (bob, 20000);
  moved_carol = next_event_within (carol, 20000);
  g_assert_nonnull (moved);
  g_assert_nonnull (moved_carol);
  g_assert_cmpint (get_int (moved, "seq"), ==, get_int (moved_carol, "seq"));
  if (g_strcmp0 (tether_json_get_string (moved, "update"), "DELETE") == 0)
    {
      g_test_message ("the reaper ran first: DELETE, then ADD");
      g_assert_cmpstr (tether_json_get_string (moved, "reason"), ==, "media_lost");
      g_clear_pointer (&moved, json_object_unref);
      g_clear_pointer (&moved_carol, json_object_unref);
      moved = expect_ingest_add (bob, "cam", "n2");
      moved_carol = expect_ingest_add (carol, "cam", "n2");
    }
  g_assert_cmpstr (tether_json_get_string (moved, "update"), ==, "ADD");
  item = json_array_get_object_element (tether_json_get_array (moved, "streams"), 0);
  g_assert_cmpstr (tether_json_get_string (item, "id"), ==, "cam");
  g_assert_cmpstr (tether_json_get_string (item, "node"), ==, "n2");

  /* It stays once the dead node is reaped, and is n2's. */
  wait_reaped (cl);
  g_assert_true (redis_equals (cl, "HGET " PREFIX "stream:cam node", "n2"));
  g_assert_true (redis_equals (cl, "SISMEMBER " PREFIX "medianode:n2:ingests cam", "1"));
  login_on (cl, 1, "dave", NULL);
  expect_only_add (bob, "dave");
  expect_only_add (carol, "dave");
}

/* A login whose answer node 0 lost with its connection (Redis hung: node 0 drops it
 * and refuses alice with 1021, and Redis runs the buffered login after SIGCONT)
 * left alice a member Redis counts as node 0's while node 0 has no such session.
 * Subscribed again, node 0 learns that (at once, or a beat later when Redis ran the
 * login after its first check), and she leaves after the heartbeat timeout, as a
 * member gone silent: bob sees her ADD, then her DELETE. Before, she stayed in the
 * room for good. Then once more, the resubscription caused by Redis killing the
 * subscribers. */
static void
test_login_answer_lost (Cluster       *cl,
                        gconstpointer  data)
{
  pid_t pid = (pid_t) g_ascii_strtoll (tether_test_redis_get_pid (cl->redis), NULL, 10);
  Client *bob, *alice;

  bob = login_on (cl, 1, "bob", NULL);
  for (guint round = 0; round < 2; round++)
    {
      g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
      alice = client_connect_url (&cl->fx, url (cl, 0));
      client_send_login (alice, "alice", NULL);
      g_assert_true (TETHER_WAIT_UNTIL (node_metric (cl, 0, "tether_redis_up") == 0, 10000));
      expect_error (alice, TETHER_ERROR_SERVICE_UNAVAILABLE, 4503);
      g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
      expect_only_add (bob, "alice");
      g_assert_true (TETHER_WAIT_UNTIL (redis_equals (cl, "SCARD " PREFIX "node:n0:sessions", "1"),
                                        10000));
      if (round == 1)
        g_free (tether_test_redis_command (cl->redis, "CLIENT KILL TYPE pubsub"));
      expect_only_delete (bob, "alice");
      g_assert_true (redis_equals (cl, "SCARD " PREFIX "node:n0:sessions", "0"));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *redis_server = NULL;

  g_test_init (&argc, &argv, NULL);

  redis_server = g_find_program_in_path ("redis-server");
  if (redis_server == NULL)
    {
      g_test_skip ("redis-server is not installed");
      return g_test_run ();
    }
#define ADD(path, func) g_test_add (path, Cluster, NULL, cluster_setup, func, cluster_teardown)
  ADD ("/cluster/order", test_order);
  ADD ("/cluster/node-death/resume", test_node_death_resume);
  ADD ("/cluster/node-death/timeout", test_node_death_timeout);
  ADD ("/cluster/node-restart", test_node_restart);
  ADD ("/cluster/duplicate-login", test_duplicate_login);
  ADD ("/cluster/token-expiry", test_token_expiry);
  ADD ("/cluster/ingest", test_ingest);
  ADD ("/cluster/ingest/node-restart", test_ingest_node_restart);
  ADD ("/cluster/media-only", test_media_only);
  ADD ("/cluster/media-only/cascade", test_media_only_cascade);
  ADD ("/cluster/redis-restart", test_redis_restart);
  ADD ("/cluster/redis-outage", test_redis_outage);
  ADD ("/cluster/redis-hung", test_redis_hung);
  ADD ("/cluster/log-gap", test_log_gap);
  ADD ("/cluster/snapshot", test_snapshot);
  ADD ("/cluster/ingest/redis-outage", test_ingest_redis_outage);
  ADD ("/cluster/ingest/redis-hung", test_ingest_redis_hung);
  ADD ("/cluster/media-only/admin", test_media_only_admin);
  ADD ("/cluster/media-only/edge", test_media_only_edge);
  ADD ("/cluster/room-id-namespace", test_room_id_namespace);
  ADD ("/cluster/first-event", test_first_event);
  ADD ("/cluster/forged-resume", test_forged_resume);
  ADD ("/cluster/redis-oom", test_redis_oom);
  ADD ("/cluster/redis-busy", test_redis_busy);
  ADD ("/cluster/duplicate-login/race", test_duplicate_login_race);
  ADD ("/cluster/slow-reader", test_slow_reader);
  ADD ("/cluster/redis-flushed", test_redis_flushed);
  ADD ("/cluster/request-flood", test_request_flood);
  ADD ("/cluster/moved/redis-restart", test_moved_redis_restart);
  ADD ("/cluster/moved/unheard", test_moved_unheard);
  ADD ("/cluster/moved/leaves", test_moved_leaves);
  ADD ("/cluster/ingest/moved", test_ingest_moved);
  ADD ("/cluster/login-answer-lost", test_login_answer_lost);
  g_test_add_func ("/cluster/redis-wrong-password", test_redis_wrong_password);
  g_test_add_func ("/cluster/reserved-ids", test_reserved_ids);
#undef ADD
  return g_test_run ();
}
