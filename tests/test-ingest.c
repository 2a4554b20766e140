/* test-ingest.c: ingest — ffmpeg and gst-launch publishing to the URL of
 * `tether-cli url --publish` without a room session, watched by `tether-cli watch
 * --autoplay` in the token's room (docs/protocol.md, "Ingest"); media-only nodes
 * reporting over http:// and https://
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "tether.h"
#include "tether-server-node-report.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

#define WAIT_MS 20000

#define PLAYING "\"state\":\"PLAYING\""
#define ADD "\"update\":\"ADD\",\"streams\":[{\"id\":\"cam\""
#define DELETE "\"update\":\"DELETE\",\"streams\":[{\"id\":\"cam\""

/* `tether-cli COMMAND` for @user in the lobby, then the NULL-terminated arguments; the
 * CLI mints the token from TETHER_APP_SECRET (see main()). */
#define cli(command, url, user, ...)                                                       \
  tether_test_cli_spawn (command, url, "--app-id", TETHER_TEST_APP_ID, "--room", "lobby",    \
                         "--user", user, __VA_ARGS__)

/* The publish URL for stream "cam" of user "host", from the libtether builder;
 * @tls_ca: (nullable): the --tls-ca of a wss:// @url. */
static char *
publish_url (const char *url,
             const char *tls_ca)
{
  g_autoptr(TetherTestProcess) get_url = cli ("url", url, "host", "--stream=cam", "--publish",
                                              tls_ca != NULL ? "--tls-ca" : NULL, tls_ca, NULL);
  g_autofree char *line = NULL;

  g_assert_true (tether_test_process_wait_for_line (get_url, "srt://", WAIT_MS, &line));
  g_assert_true (tether_test_process_wait (get_url, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (get_url), ==, 0);
  return g_strdup (g_strstrip (line));
}

static guint
n_lines_with (TetherTestProcess *p,
              const char        *substring)
{
  guint n = 0;

  for (int i = tether_test_process_line_index (p, substring, 0); i >= 0;
       i = tether_test_process_line_index (p, substring, i + 1))
    n++;
  return n;
}

static TetherTestServerProcess *
start_server (void)
{
  return tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                         "--app-secret", TETHER_TEST_SECRET,
                                         "--heartbeat-timeout", "3",
                                         "--heartbeat-interval", "0.3", NULL);
}

static gboolean
have (const char *program,
      const char *why)
{
  g_autofree char *path = g_find_program_in_path (program);

  if (path == NULL)
    g_test_skip (why);
  return path != NULL;
}

/* A server, a viewer with autoplay in the lobby, and the publish URL of "cam". */
typedef struct
{
  TetherTestServerProcess *server;
  TetherTestProcess *viewer;
  char *srt_url;
} Room;

static void
room_setup (Room *room)
{
  const char *url;

  room->server = start_server ();
  url = tether_test_server_process_get_url (room->server);
  room->viewer = cli ("watch", url, "viewer", "--autoplay", NULL);
  room->srt_url = publish_url (url, NULL);
}

static void
room_clear (Room *room)
{
  g_clear_pointer (&room->viewer, tether_test_process_free);
  g_clear_pointer (&room->server, tether_test_server_process_free);
  g_clear_pointer (&room->srt_url, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Room, room_clear)

/* ffmpeg publishes: the viewer gets the ADD and plays; ffmpeg stops (SIGTERM closes
 * its SRT socket): DELETE "stopped". */
static void
test_ffmpeg (void)
{
  g_auto(Room) room = { 0, };
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autofree char *add_line = NULL;
  int added;

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  room_setup (&room);
  ff = tether_test_ffmpeg_publish (room.srt_url);

  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (room.viewer, ADD, 0)) >= 0, WAIT_MS);
  add_line = tether_test_process_dup_line (room.viewer, added);
  g_assert_nonnull (strstr (add_line, "\"user_id\":\"host\""));
  TETHER_WAIT_UNTIL (tether_test_process_line_index (room.viewer, PLAYING, added) > added, WAIT_MS);

  tether_test_process_terminate (ff);
  g_assert_true (tether_test_process_wait (ff, WAIT_MS));
  g_assert_true (tether_test_process_wait_for_line (room.viewer, DELETE, WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (room.viewer, "\"reason\":\"stopped\"", WAIT_MS,
                                                    NULL));
  g_assert_cmpuint (n_lines_with (room.viewer, ADD), ==, 1);
}

/* ffmpeg is killed (no SRT close) and comes back, at once (@at_once: while the node
 * still holds its old link) or after the node gave up on it. The viewer sees the
 * host-crash rule: one DELETE, "duplicate_login" or "media_lost", then the ADD, and
 * plays again by itself. */
static void
run_ffmpeg_killed (gboolean    at_once,
                   const char *reason)
{
  g_auto(Room) room = { 0, };
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autoptr(TetherTestProcess) ff2 = NULL;
  g_autofree char *delete_line = NULL;
  int deleted, added;

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  room_setup (&room);
  ff = tether_test_ffmpeg_publish (room.srt_url);
  g_assert_true (tether_test_process_wait_for_line (room.viewer, PLAYING, WAIT_MS, NULL));

  tether_test_process_kill (ff);
  if (at_once)
    ff2 = tether_test_ffmpeg_publish (room.srt_url);
  TETHER_WAIT_UNTIL ((deleted = tether_test_process_line_index (room.viewer, DELETE, 0)) >= 0,
                     WAIT_MS);
  delete_line = tether_test_process_dup_line (room.viewer, deleted);
  g_assert_nonnull (strstr (delete_line, reason));
  if (!at_once)
    ff2 = tether_test_ffmpeg_publish (room.srt_url);

  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (room.viewer, ADD, deleted)) > deleted,
                     WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (room.viewer, PLAYING, added) > added, WAIT_MS);
  g_assert_cmpuint (n_lines_with (room.viewer, DELETE), ==, 1);
}

static void
test_ffmpeg_killed_and_back (void)
{
  run_ffmpeg_killed (FALSE, "\"reason\":\"media_lost\"");
}

static void
test_ffmpeg_restarted (void)
{
  run_ffmpeg_killed (TRUE, "\"reason\":\"duplicate_login\"");
}

/* The plain pipeline of issue 10 at default settings: no is-live, no caps, no
 * encoder options. x264enc then encodes High 4:4:4 (videotestsrc offers Y444 first),
 * which openh264dec refuses, so this also proves the player falls back to avdec_h264
 * (see tether-player.c, on_autoplug_sort). */
static TetherTestProcess *
gst_launch (const char *srt_url)
{
  g_autofree char *uri = g_strdup_printf ("uri=%s", srt_url);
  g_autoptr(GError) error = NULL;
  TetherTestProcess *p;

  p = tether_test_process_spawn (&error, "gst-launch-1.0", "-q", "videotestsrc", "!", "x264enc",
                                 "!", "mpegtsmux", "!", "srtsink", uri, NULL);
  g_assert_no_error (error);
  return p;
}

/* gst-launch publishes until stopped: ADD, PLAYING, then DELETE (SIGTERM ends
 * gst-launch without closing its SRT socket, so the reason is "media_lost" when the
 * node's idle timeout passes, where ffmpeg's would be "stopped"). */
static void
test_gst_launch_default (void)
{
  g_auto(Room) room = { 0, };
  g_autoptr(TetherTestProcess) gst = NULL;
  int added;

  if (!have ("gst-launch-1.0", "gst-launch-1.0 is not installed (Debian: gstreamer1.0-tools)"))
    return;
  room_setup (&room);
  gst = gst_launch (room.srt_url);
  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (room.viewer, ADD, 0)) >= 0, WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (room.viewer, PLAYING, added) > added, WAIT_MS);
  tether_test_process_terminate (gst);
  g_assert_true (tether_test_process_wait (gst, WAIT_MS));
  g_assert_true (tether_test_process_wait_for_line (room.viewer, DELETE, WAIT_MS, NULL));
}

/* A libtether publisher (a room session that announces its stream) makes exactly
 * one ADD and one DELETE, as before ingest existed. */
static void
test_member_publisher_once (void)
{
  g_autoptr(TetherTestServerProcess) server = start_server ();
  const char *url = tether_test_server_process_get_url (server);
  g_autoptr(TetherTestProcess) viewer = cli ("watch", url, "viewer", "--autoplay", NULL);
  g_autoptr(TetherTestProcess) host = cli ("publish", url, "host", "--stream=cam", NULL);

  g_assert_true (tether_test_process_wait_for_line (viewer, PLAYING, WAIT_MS, NULL));
  tether_test_process_terminate (host);
  g_assert_true (tether_test_process_wait (host, WAIT_MS));
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"reason\":\"stopped\"", WAIT_MS, NULL));
  g_assert_cmpuint (n_lines_with (viewer, ADD), ==, 1);
  g_assert_cmpuint (n_lines_with (viewer, DELETE), ==, 1);
}

/* POSTs @body to the room service's node-report endpoint; returns the status. */
static guint
post_report (const char *http_base,
             const char *body,
             const char *secret)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (http_base, TETHER_NODE_REPORT_PATH, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;
  g_autofree char *signature = tether_node_report_sign (secret, body);

  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                TETHER_NODE_REPORT_SIGNATURE, signature);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  answer = soup_session_send_and_read (session, msg, NULL, NULL);
  return soup_message_get_status (msg);
}

/* tether-server --media-only reporting to @room_service as node "edge" on @port,
 * trusting @ca (or the system's authorities); its stderr is in its lines too. */
static TetherTestProcess *
media_only_node (guint16     port,
                 const char *room_service,
                 const char *ca)
{
  g_autofree char *program = tether_test_server_program ();
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GError) error = NULL;
  const char *argv[] = {
    "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program, "--media-only",
    "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET, "--listen", listen,
    "--media-id", "edge", "--room-service", room_service,
    ca != NULL ? "--room-service-ca" : NULL, ca, NULL,
  };
  TetherTestProcess *p = tether_test_process_spawnv (argv, &error);

  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (p, "listening on srt://", WAIT_MS, NULL));
  return p;
}

/* A room service (with @flag) announcing node "edge" on @node_port, and that node as
 * tether-server --media-only reporting to it; @http_base: the service's public port. */
static TetherTestServerProcess *
server_with_node (const char         *flag,
                  guint16             node_port,
                  TetherTestProcess **node,
                  char              **http_base)
{
  g_autofree char *node_arg = g_strdup_printf ("edge=srt://127.0.0.1:%u", node_port);
  TetherTestServerProcess *server;

  server = tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                           "--app-secret", TETHER_TEST_SECRET,
                                           flag, "--media-node", node_arg, NULL);
  *http_base = g_strdup_printf ("http://127.0.0.1:%u", tether_test_server_process_get_port (server));
  *node = media_only_node (node_port, *http_base, NULL);
  return server;
}

/* A separate media node (--media-only --room-service) reports its ffmpeg publisher:
 * ADD, PLAYING and DELETE "stopped" as on an embedded node; a node killed outright
 * has its streams deleted ("media_lost") once its reports stop. Forged reports are
 * refused. */
static void
test_media_only_node (void)
{
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) node = NULL;
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autoptr(TetherTestProcess) ff2 = NULL;
  g_autofree char *node_listen = NULL, *http_base = NULL, *srt_url = NULL;
  g_autofree char *delete_line = NULL;
  const char *url;
  guint16 node_port = tether_udp_free_port ();
  int added, again, deleted;
  const char *report = "{\"node\":\"edge\",\"seq\":1,\"streams\":[],\"removed\":[]}";

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  server = server_with_node ("--no-media", node_port, &node, &http_base);
  url = tether_test_server_process_get_url (server);
  node_listen = g_strdup_printf ("127.0.0.1:%u", node_port);

  /* Forged: another secret, or a node the service does not announce. */
  g_assert_cmpuint (post_report (http_base, report, "not-the-secret"), ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (post_report (http_base, "{\"node\":\"elsewhere\",\"seq\":1,\"streams\":[],\"removed\":[]}",
                                 TETHER_TEST_SECRET), ==, SOUP_STATUS_FORBIDDEN);

  viewer = cli ("watch", url, "viewer", "--autoplay", NULL);
  srt_url = publish_url (url, NULL);
  g_assert_nonnull (strstr (srt_url, node_listen));
  ff = tether_test_ffmpeg_publish (srt_url);
  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (viewer, ADD, 0)) >= 0, WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, PLAYING, added) > added, WAIT_MS);
  tether_test_process_terminate (ff);
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"reason\":\"stopped\"", WAIT_MS, NULL));

  /* A replayed (old) report changes nothing. */
  g_assert_cmpuint (post_report (http_base, report, TETHER_TEST_SECRET), ==, SOUP_STATUS_CONFLICT);

  ff2 = tether_test_ffmpeg_publish (srt_url);
  TETHER_WAIT_UNTIL ((again = tether_test_process_line_index (viewer, ADD, added + 1)) > added,
                     WAIT_MS);
  tether_test_process_kill (node);
  TETHER_WAIT_UNTIL ((deleted = tether_test_process_line_index (viewer, DELETE, again)) > again,
                     3 * WAIT_MS);
  delete_line = tether_test_process_dup_line (viewer, deleted);
  g_assert_nonnull (strstr (delete_line, "\"reason\":\"media_lost\""));
}

/* A media-only node reports to an https:// room service whose certificate is the
 * test's own authority's: with --room-service-ca the ffmpeg publisher appears and
 * plays; without it the node says why its reports fail. */
static void
test_media_only_node_tls (void)
{
  g_autoptr(TetherTestTls) tls = NULL;
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) untrusting = NULL;
  g_autoptr(TetherTestProcess) node = NULL;
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autofree char *node_arg = NULL, *https_base = NULL, *srt_url = NULL, *node_listen = NULL;
  guint16 node_port = tether_udp_free_port ();
  const char *url;
  int added;

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  tls = tether_test_tls_new ();
  node_arg = g_strdup_printf ("edge=srt://127.0.0.1:%u", node_port);
  server = tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                           "--app-secret", TETHER_TEST_SECRET,
                                           "--no-media", "--media-node", node_arg,
                                           "--tls-cert", tls->cert_file, "--tls-key", tls->key_file,
                                           NULL);
  url = tether_test_server_process_get_url (server);
  g_assert_true (g_str_has_prefix (url, "wss://"));
  https_base = g_strdup_printf ("https://127.0.0.1:%u", tether_test_server_process_get_port (server));

  untrusting = media_only_node (tether_udp_free_port (), https_base, NULL);
  g_assert_true (tether_test_process_wait_for_line (untrusting, "the server's certificate is not "
                                                    "trusted: it is not signed by a trusted "
                                                    "authority", WAIT_MS, NULL));
  tether_test_process_terminate (untrusting);

  node = media_only_node (node_port, https_base, tls->ca_file);
  viewer = cli ("watch", url, "viewer", "--autoplay", "--tls-ca", tls->ca_file, NULL);
  srt_url = publish_url (url, tls->ca_file);
  node_listen = g_strdup_printf ("127.0.0.1:%u", node_port);
  g_assert_nonnull (strstr (srt_url, node_listen));
  ff = tether_test_ffmpeg_publish (srt_url);
  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (viewer, ADD, 0)) >= 0, WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, PLAYING, added) > added, WAIT_MS);
  tether_test_process_terminate (ff);
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"reason\":\"stopped\"", WAIT_MS, NULL));
  g_assert_cmpuint (tether_test_process_count_lines (node, "node report to"), ==, 0);
}

/* tether-server --media-cascade: the room service's embedded node ("local") is the
 * edge. ffmpeg publishes to a separate node ("edge" here, the stream's origin), which
 * reports it; the viewer's player is told media_edge "local" and plays from there,
 * and the embedded node pulls the stream from "edge" (docs/design.md, "Media
 * cascade"). The option is refused without an embedded node. */
static void
test_media_cascade (void)
{
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) node = NULL;
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autoptr(TetherTestProcess) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *program = tether_test_server_program ();
  g_autofree char *node_listen = NULL, *http_base = NULL, *srt_url = NULL;
  g_autofree char *add_line = NULL;
  const char *url;
  guint16 node_port = tether_udp_free_port ();
  int added;

  refused = tether_test_process_spawn (&error, "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program,
                                       "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET,
                                       "--listen", "127.0.0.1:0", "--no-media", "--media-cascade", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (refused, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (refused), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (refused, "--media-cascade is for a room service", 0), >=, 0);

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  server = server_with_node ("--media-cascade", node_port, &node, &http_base);
  url = tether_test_server_process_get_url (server);
  node_listen = g_strdup_printf ("127.0.0.1:%u", node_port);

  viewer = cli ("watch", url, "viewer", "--autoplay", NULL);
  srt_url = publish_url (url, NULL);
  g_assert_nonnull (strstr (srt_url, node_listen));
  ff = tether_test_ffmpeg_publish (srt_url);
  TETHER_WAIT_UNTIL ((added = tether_test_process_line_index (viewer, ADD, 0)) >= 0, WAIT_MS);
  add_line = tether_test_process_dup_line (viewer, added);
  g_assert_nonnull (strstr (add_line, "\"node\":\"edge\""));
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, PLAYING, added) > added, WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, "\"node\":\"local\"", added) > added, WAIT_MS);
  /* "local" has no publisher of cam: the origin served it its pull. */
  g_assert_true (tether_test_process_wait_for_line (node, "node local pulls stream cam", WAIT_MS, NULL));
}

/* Whether Redis answers @expected (NULL: nil) to the command @format. */
static gboolean
redis_is (TetherTestRedis *redis,
          const char      *expected,
          const char      *format,
          const char      *arg)
{
  g_autofree char *reply = tether_test_redis_command (redis, format, arg);

  return g_strcmp0 (reply, expected) == 0;
}

/* A node of a cluster on @redis, with its embedded media node as the edge. */
static TetherTestServerProcess *
cluster_node (TetherTestRedis *redis,
              const char      *id)
{
  return tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                         "--app-secret", TETHER_TEST_SECRET,
                                         "--redis", tether_test_redis_get_url (redis),
                                         "--node-id", id, "--media-listen", "127.0.0.1:0",
                                         "--media-cascade", "--heartbeat-timeout", "5",
                                         "--node-beat", "0.2", "--node-timeout", "0.6", NULL);
}

/* The frames the viewer's latest stats line counts for a player on @node, else -1. */
static gint64
frames_on (TetherTestProcess *viewer,
           const char        *node)
{
  g_autofree char *line = NULL;
  g_autofree char *on = g_strdup_printf ("\"node\":\"%s\",\"frames_decoded\":", node);
  const char *p;
  int last = -1;

  for (int i = tether_test_process_line_index (viewer, "player-stats", 0); i >= 0;
       i = tether_test_process_line_index (viewer, "player-stats", i + 1))
    last = i;
  if (last < 0)
    return -1;
  line = tether_test_process_dup_line (viewer, last);
  p = strstr (line, on);
  return p != NULL ? g_ascii_strtoll (p + strlen (on), NULL, 10) : -1;
}

/* tether-server --redis --media-cascade, two nodes: ffmpeg publishes to n0's media
 * node; a viewer logged into n1 plays from n1's (its media_edge), which finds the
 * stream's node in Redis (`P stream:cam` → n0, `P medianode:n0` → its URL) and pulls
 * it from there. */
static void
test_cluster_cascade (void)
{
  g_autoptr(TetherTestRedis) redis = NULL;
  g_autoptr(TetherTestServerProcess) n0 = NULL;
  g_autoptr(TetherTestServerProcess) n1 = NULL;
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *n0_media = NULL, *srt_url = NULL;
  int playing;

  if (!have ("ffmpeg", "ffmpeg is not installed (Debian: apt-get install ffmpeg)"))
    return;
  redis = tether_test_redis_start (&error);
  g_assert_no_error (error);
  n0 = cluster_node (redis, "n0");
  n1 = cluster_node (redis, "n1");
  TETHER_WAIT_UNTIL (!redis_is (redis, NULL, "HGET tether:%s:medianode:n0 url", TETHER_TEST_APP_ID),
                     WAIT_MS);
  n0_media = tether_test_redis_command (redis, "HGET tether:%s:medianode:n0 url", TETHER_TEST_APP_ID);
  g_assert_true (g_str_has_prefix (n0_media, "srt://"));

  srt_url = publish_url (tether_test_server_process_get_url (n0), NULL);
  g_assert_nonnull (strstr (srt_url, n0_media + strlen ("srt://")));
  ff = tether_test_ffmpeg_publish (srt_url);
  TETHER_WAIT_UNTIL (redis_is (redis, "n0", "HGET tether:%s:stream:cam node", TETHER_TEST_APP_ID), WAIT_MS);

  viewer = cli ("watch", tether_test_server_process_get_url (n1), "viewer", "--autoplay", NULL);
  TETHER_WAIT_UNTIL ((playing = tether_test_process_line_index (viewer, PLAYING, 0)) >= 0, WAIT_MS);
  TETHER_WAIT_UNTIL (tether_test_process_line_index (viewer, "\"node\":\"n1\"", playing) >= playing, WAIT_MS);
}

/* Three nodes with --media-cascade; alice (tether-cli publish) publishes on n0, the
 * viewer on n1 plays through n1's pull. n0 is killed (SIGKILL): alice resumes on n2 and
 * her publisher fails over to another node; the viewer's player stays on n1, which
 * pulls from wherever the stream went (or takes it over, when alice lands on n1), and
 * its frames go on. */
static void
test_cluster_cascade_failover (void)
{
  g_autoptr(TetherTestRedis) redis = NULL;
  TetherTestServerProcess *nodes[3] = { NULL, };
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) alice = NULL;
  g_autoptr(GError) error = NULL;
  gint64 frames, killed_at;

  redis = tether_test_redis_start (&error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    {
      g_autofree char *id = g_strdup_printf ("n%u", i);

      nodes[i] = cluster_node (redis, id);
    }
  TETHER_WAIT_UNTIL (redis_is (redis, "3", "SCARD tether:%s:medianodes", TETHER_TEST_APP_ID), WAIT_MS);

  alice = cli ("publish", tether_test_server_process_get_url (nodes[0]), "alice",
               "--server", tether_test_server_process_get_url (nodes[2]), "--stream", "cam",
               "--node", "n0", NULL);
  TETHER_WAIT_UNTIL (redis_is (redis, "n0", "HGET tether:%s:stream:cam node", TETHER_TEST_APP_ID), WAIT_MS);
  viewer = cli ("watch", tether_test_server_process_get_url (nodes[1]), "viewer", "--autoplay", NULL);
  TETHER_WAIT_UNTIL (frames_on (viewer, "n1") > 25, WAIT_MS);

  killed_at = g_get_monotonic_time ();
  tether_test_server_process_kill (nodes[0]);
  frames = frames_on (viewer, "n1");
  TETHER_WAIT_UNTIL (!redis_is (redis, "n0", "HGET tether:%s:stream:cam node", TETHER_TEST_APP_ID),
                     WAIT_MS);
  /* Three seconds of video more, still on n1. */
  TETHER_WAIT_UNTIL (frames_on (viewer, "n1") > frames + 75, 2 * WAIT_MS);
  g_test_message ("the viewer had 75 frames more on n1 %" G_GINT64_FORMAT " ms after n0 was killed",
                  (g_get_monotonic_time () - killed_at) / 1000);
  /* The stream only changed nodes: DELETE "replaced" then ADD, the protocol's update. */
  for (int i = tether_test_process_line_index (viewer, DELETE, 0); i >= 0;
       i = tether_test_process_line_index (viewer, DELETE, i + 1))
    {
      g_autofree char *line = tether_test_process_dup_line (viewer, i);

      g_assert_nonnull (strstr (line, "\"reason\":\"replaced\""));
    }
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    tether_test_server_process_free (nodes[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  g_setenv ("TETHER_APP_SECRET", TETHER_TEST_SECRET, TRUE);

  g_test_add_func ("/ingest/ffmpeg", test_ffmpeg);
  g_test_add_func ("/ingest/ffmpeg-killed-and-back", test_ffmpeg_killed_and_back);
  g_test_add_func ("/ingest/ffmpeg-restarted", test_ffmpeg_restarted);
  g_test_add_func ("/ingest/gst-launch-default", test_gst_launch_default);
  g_test_add_func ("/ingest/member-publisher-once", test_member_publisher_once);
  g_test_add_func ("/ingest/media-only-node", test_media_only_node);
  g_test_add_func ("/ingest/media-only-node-tls", test_media_only_node_tls);
  g_test_add_func ("/ingest/media-cascade", test_media_cascade);
  g_test_add_func ("/ingest/cluster-cascade", test_cluster_cascade);
  g_test_add_func ("/ingest/cluster-cascade-failover", test_cluster_cascade_failover);

  return g_test_run ();
}
