/* test-srt-crypto.c: encrypted media (docs/protocol.md, "Media encryption") with real
 * processes — tether-server, tether-cli publishers and viewers (a guest too), ffmpeg —
 * through the UDP fault proxy, which shows what crosses the network: no plain MPEG-TS
 * in SRT data packets by default, plain TS with --srt-encryption off; refusals of a
 * missing or wrong passphrase and of a node set otherwise than its room service; the
 * passphrase formula of examples/mint-token.py against the server's; a renewed token's
 * passphrase
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tether.h"
#include "tether-srt-url-private.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

#define WAIT_MS 20000
#define PLAYING "\"state\":\"PLAYING\""
/* Enough SRT data packets each way to call what they carry (about 3 s of video). */
#define MIN_DATA_PACKETS 150

/* A member of the lobby; the CLI mints its token from TETHER_APP_SECRET (see main()). */
#define member(command, url, user, ...)                                                    \
  tether_test_cli_spawn (command, url, "--app-id", TETHER_TEST_APP_ID, "--room", "lobby",    \
                         "--user", user, __VA_ARGS__)

/* The URL `tether-cli url` prints for stream "cam". */
static char *
cli_url (const char *url,
         const char *user,
         const char *mode_arg)
{
  g_autoptr(TetherTestProcess) p = member ("url", url, user, "--stream=cam", mode_arg, NULL);
  g_autofree char *line = NULL;

  g_assert_true (tether_test_process_wait_for_line (p, "srt://", WAIT_MS, &line));
  g_assert_true (tether_test_process_wait (p, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (p), ==, 0);
  return g_strdup (g_strstrip (line));
}

/* A room service with an embedded node on a port of its own, announced to clients
 * at the proxy in front of it: every SRT datagram goes through the proxy. */
typedef struct
{
  TetherUdpFaultProxy *proxy;
  TetherTestServerProcess *server;
  const char *url;
} Node;

/* @option and @value set the encryption: `--srt-encryption on|off`, or `--config FILE` */
static void
node_start (Node       *node,
            const char *option,
            const char *value)
{
  guint16 node_port = tether_udp_free_port ();
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", node_port);
  g_autofree char *media_url = NULL;

  node->proxy = tether_udp_fault_proxy_new ("127.0.0.1", node_port);
  media_url = g_strdup_printf ("srt://127.0.0.1:%u", tether_udp_fault_proxy_get_port (node->proxy));
  node->server = tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                                 "--app-secret", TETHER_TEST_SECRET,
                                                 "--heartbeat-interval", "0.3",
                                                 "--public-room", "lobby",
                                                 "--media-listen", listen,
                                                 "--media-url", media_url,
                                                 option, value, NULL);
  node->url = tether_test_server_process_get_url (node->server);
}

static void
node_clear (Node *node)
{
  g_clear_pointer (&node->server, tether_test_server_process_free);
  g_clear_object (&node->proxy);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Node, node_clear)

static gboolean
enough_data (TetherUdpFaultProxy *proxy)
{
  TetherUdpSrtTally to_node, to_clients;

  tether_udp_fault_proxy_get_srt_tally (proxy, &to_node, &to_clients);
  return to_node.data_packets >= MIN_DATA_PACKETS && to_clients.data_packets >= MIN_DATA_PACKETS;
}

/* A host publishes and a viewer plays through the proxy; fills in what the proxy saw.
 * Returns: (transfer full): the host, still publishing */
static TetherTestProcess *
publish_and_play (Node              *node,
                  TetherUdpSrtTally *to_node,
                  TetherUdpSrtTally *to_clients)
{
  TetherTestProcess *host = member ("publish", node->url, "host", "--stream=cam", NULL);
  g_autoptr(TetherTestProcess) viewer = member ("watch", node->url, "viewer", "--autoplay", NULL);

  g_assert_true (tether_test_process_wait_for_line (viewer, PLAYING, WAIT_MS, NULL));
  g_assert_true (TETHER_WAIT_UNTIL (enough_data (node->proxy), WAIT_MS));
  tether_udp_fault_proxy_get_srt_tally (node->proxy, to_node, to_clients);
  g_test_message ("to the node: %u data packets, %u plain TS; to the clients: %u, %u plain TS",
                  to_node->data_packets, to_node->ts_packets, to_clients->data_packets,
                  to_clients->ts_packets);
  return host;
}

/* By default neither the publisher's packets nor the node's to its player carry a
 * TS sync byte where plain MPEG-TS would: the payload is AES, and a guest plays it
 * too (its passphrase came with its guest token's login). */
static void
test_encrypted_on_the_wire (void)
{
  g_auto(Node) node = { 0, };
  g_autoptr(TetherTestProcess) host = NULL;
  g_autoptr(TetherTestProcess) guest = NULL;
  g_autofree char *play_url = NULL;
  TetherUdpSrtTally to_node, to_clients;

  node_start (&node, "--srt-encryption", "on");
  play_url = cli_url (node.url, "viewer", NULL);
  g_assert_nonnull (strstr (play_url, "&passphrase="));

  host = publish_and_play (&node, &to_node, &to_clients);
  g_assert_cmpuint (to_node.ts_packets, ==, 0);
  g_assert_cmpuint (to_clients.ts_packets, ==, 0);

  guest = tether_test_cli_spawn ("watch", node.url, "--guest", "--room", "lobby", "--autoplay", NULL);
  g_assert_true (tether_test_process_wait_for_line (guest, PLAYING, WAIT_MS, NULL));
  tether_udp_fault_proxy_get_srt_tally (node.proxy, &to_node, &to_clients);
  g_assert_cmpuint (to_clients.ts_packets, ==, 0);
}

/* srt-encryption=off (from the key file): the same session sends plain MPEG-TS, and
 * the room service hands out no passphrase (the URL has none). */
static void
test_plain_when_off (void)
{
  g_auto(Node) node = { 0, };
  g_autoptr(TetherTestProcess) host = NULL;
  g_autofree char *play_url = NULL;
  g_autofree char *config = g_build_filename (g_get_tmp_dir (), "test-srt-crypto-XXXXXX.conf",
                                              NULL);
  g_autoptr(GError) error = NULL;
  TetherUdpSrtTally to_node, to_clients;
  int fd = g_mkstemp (config);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (config, "[server]\nsrt-encryption=off\n", -1, &error));
  node_start (&node, "--config", config);
  play_url = cli_url (node.url, "viewer", NULL);
  g_assert_null (strstr (play_url, "passphrase"));

  host = publish_and_play (&node, &to_node, &to_clients);
  /* Every data packet is whole TS packets (retransmissions included). */
  g_assert_cmpuint (to_node.ts_packets, ==, to_node.data_packets);
  g_assert_cmpuint (to_clients.ts_packets, ==, to_clients.data_packets);
  g_unlink (config);
}

/* Anything but on or off is refused at start, with a message that says so. */
static void
test_bad_option (void)
{
  g_autofree char *program = tether_test_server_program ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestProcess) p = NULL;

  p = tether_test_process_spawn (&error, "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program,
                                 "--app-id", TETHER_TEST_APP_ID, "--app-secret", TETHER_TEST_SECRET,
                                 "--listen", "127.0.0.1:0", "--srt-encryption", "maybe", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (p, WAIT_MS));
  g_assert_cmpint (tether_test_process_get_exit_status (p), ==, 1);
  g_assert_cmpint (tether_test_process_line_index (p, "--srt-encryption expects on or off", 0), >=, 0);
}

static gboolean
have_ffmpeg (void)
{
  g_autofree char *path = g_find_program_in_path ("ffmpeg");

  if (path == NULL)
    g_test_skip ("ffmpeg is not installed (Debian: apt-get install ffmpeg)");
  return path != NULL;
}

/* ffmpeg reads 10 frames from @srt_url (what ffplay and mpv do); its exit status. */
static int
ffmpeg_play (const char *srt_url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTestProcess) p = NULL;

  p = tether_test_process_spawn (&error, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                                 "-i", srt_url, "-frames:v", "10", "-f", "null", "-", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait (p, WAIT_MS));
  return tether_test_process_get_exit_status (p);
}

/* An external player with the URL of `tether-cli url` plays; the same URL without
 * its passphrase, or with another one, is refused (the node logs SRT's reasons:
 * UNSECURE, BADSECRET). */
static void
test_external_player (void)
{
  g_auto(Node) node = { 0, };
  g_autoptr(TetherTestProcess) host = NULL;
  g_autofree char *play_url = NULL;
  g_autofree char *bare = NULL;
  g_autofree char *wrong = NULL;

  if (!have_ffmpeg ())
    return;
  node_start (&node, "--srt-encryption", "on");
  host = member ("publish", node.url, "host", "--stream=cam", NULL);
  g_assert_true (tether_test_process_wait_for_line (host, "\"state\":\"PUBLISHING\"", WAIT_MS, NULL));

  play_url = cli_url (node.url, "viewer", NULL);
  bare = g_strndup (play_url, strstr (play_url, "&passphrase=") - play_url);
  wrong = g_strconcat (bare, "&passphrase=not-the-passphrase", NULL);
  g_assert_cmpint (ffmpeg_play (play_url), ==, 0);
  g_assert_cmpint (ffmpeg_play (bare), !=, 0);
  g_assert_cmpint (ffmpeg_play (wrong), !=, 0);
}

/* A room service with --srt-encryption @service_setting and a --media-only node with
 * the other setting: the room service warns when the node's report says so;
 * libtether's publisher ends at once with 2010 (reject 11, UNSECURE) and a message
 * naming the side (@why), without retrying. When the node does not encrypt, so does a
 * player of a stream that ffmpeg publishes there without a passphrase (reported to the
 * room service as an ingest). */
static void
run_mismatch (const char *service_setting,
              const char *node_setting,
              const char *why)
{
  guint16 node_port = tether_udp_free_port ();
  g_autofree char *program = tether_test_server_program ();
  g_autofree char *node_arg = g_strdup_printf ("edge=srt://127.0.0.1:%u", node_port);
  g_autofree char *node_listen = g_strdup_printf ("127.0.0.1:%u", node_port);
  g_autofree char *warning = g_strdup_printf ("media node edge runs --srt-encryption=%s",
                                              node_setting);
  g_autofree char *http_base = NULL;
  g_autofree char *publish_url = NULL;
  g_autofree char *bare = NULL;
  g_autoptr(TetherTestProcess) server = NULL;
  g_autoptr(TetherTestProcess) node = NULL;
  g_autoptr(TetherTestProcess) host = NULL;
  g_autoptr(TetherTestProcess) viewer = NULL;
  g_autoptr(TetherTestProcess) ff = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *url = NULL;

  /* stderr with stdout, for the warning. */
  server = tether_test_process_spawn (&error, "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", program,
                                      "--app-id", TETHER_TEST_APP_ID,
                                      "--app-secret", TETHER_TEST_SECRET, "--listen", "127.0.0.1:0",
                                      "--admin-listen", "127.0.0.1:0", "--no-media",
                                      "--media-node", node_arg, "--srt-encryption", service_setting,
                                      NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (server, "listening on ws://", WAIT_MS, &line));
  url = g_strdup (strstr (g_strstrip (line), "ws://"));
  /* ws://HOST:PORT/ws → http://HOST:PORT */
  http_base = g_strdup_printf ("http%.*s", (int) (strstr (url, "/ws") - url - 2), url + 2);
  g_clear_pointer (&line, g_free);
  node = tether_test_process_spawn (&error, program, "--media-only", "--app-id", TETHER_TEST_APP_ID,
                                    "--app-secret", TETHER_TEST_SECRET, "--listen", node_listen,
                                    "--media-id", "edge", "--room-service", http_base,
                                    "--srt-encryption", node_setting, NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (node, "listening on srt://", WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (server, warning, WAIT_MS, NULL));

  host = member ("publish", url, "host", "--stream=cam", NULL);
  g_assert_true (tether_test_process_wait_for_line (host, "\"state\":\"NO_PUBLISH\",\"error\":2010",
                                                    WAIT_MS, &line));
  g_assert_nonnull (strstr (line, "\"reject\":11"));
  g_assert_nonnull (strstr (line, why));
  g_assert_cmpuint (tether_test_process_count_lines (host, "\"state\":\"PUBLISH_REQUESTING\""), ==, 1);

  if (g_str_equal (node_setting, "on") || !have_ffmpeg ())
    return;
  viewer = member ("watch", url, "viewer", "--autoplay", NULL);
  publish_url = cli_url (url, "host", "--publish");
  bare = g_strndup (publish_url, strstr (publish_url, "&passphrase=") - publish_url);
  ff = tether_test_ffmpeg_publish (bare);
  g_assert_true (tether_test_process_wait_for_line (viewer, "\"state\":\"NO_PLAY\",\"error\":2010",
                                                    WAIT_MS, NULL));
}

static void
test_mismatch (void)
{
  run_mismatch ("on", "off", "it does not encrypt");
}

static void
test_mismatch_reverse (void)
{
  run_mismatch ("off", "on", "it encrypts and the room service gave no passphrase");
}

/* The formula of docs/protocol.md, as examples/mint-token.py computes it, is the
 * server's: a host logging in with that token gets that passphrase in its URL. */
static void
test_example_formula (void)
{
  g_autoptr(TetherTestServerProcess) server = NULL;
  g_autoptr(TetherTestProcess) p = NULL;
  g_autofree char *passphrase = NULL;
  g_autofree char *token = tether_test_mint_with_example ("host", "lobby", TRUE, &passphrase);
  g_autofree char *derived = NULL;
  g_autofree char *line = NULL;
  g_autofree char *expected = NULL;

  if (token == NULL)
    {
      g_test_skip ("no python3");
      return;
    }
  derived = tether_srt_passphrase_derive (TETHER_TEST_SECRET, token);
  g_assert_cmpstr (passphrase, ==, derived);
  g_assert_cmpuint (strlen (passphrase), ==, TETHER_SRT_PASSPHRASE_LEN);

  server = tether_test_server_process_new ("--app-id", TETHER_TEST_APP_ID,
                                           "--app-secret", TETHER_TEST_SECRET, NULL);
  p = tether_test_cli_spawn ("url", tether_test_server_process_get_url (server),
                             "--app-id", TETHER_TEST_APP_ID, "--token", token, "--room", "lobby",
                             "--user", "host", "--stream=cam", "--publish", NULL);
  g_assert_true (tether_test_process_wait_for_line (p, "srt://", WAIT_MS, &line));
  expected = g_strconcat ("&passphrase=", passphrase, NULL);
  g_assert_true (g_str_has_suffix (g_strstrip (line), expected));
}

static TetherRoom *
login (TetherEngine     *engine,
       TetherTestServer *server,
       const char       *token)
{
  g_autoptr(TetherLoginOptions) options = tether_login_options_new ();
  TetherRoom *room;

  g_object_set (options, "server-url", tether_test_server_get_url (server),
                "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", "ann",
                "token", token, NULL);
  room = tether_engine_login_room (engine, options);
  TETHER_WAIT_UNTIL (tether_room_get_state (room) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  return room;
}

/* The room's media credentials: the token of login_ok and its passphrase, then those
 * of the renewal once the server confirmed it — not before, when a media node would
 * take the new token with the old passphrase for a wrong one. A room service with
 * encryption off gives no passphrase. */
static void
test_renewal (void)
{
  g_autoptr(TetherTestServer) server = tether_test_server_new (NULL);
  g_autoptr(TetherTestServer) plain = tether_test_server_new ("srt-encryption", FALSE, NULL);
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autofree char *token = tether_test_token ("ann", "lobby", 600);
  g_autofree char *renewed = tether_test_token ("ann", "lobby", 1200);
  g_autofree char *passphrase = tether_srt_passphrase_derive (TETHER_TEST_SECRET, token);
  g_autofree char *renewed_passphrase = tether_srt_passphrase_derive (TETHER_TEST_SECRET, renewed);
  g_autoptr(TetherRoom) room = login (engine, server, token);
  g_autoptr(TetherRoom) plain_room = NULL;

  g_assert_cmpstr (tether_room_get_media_token (room), ==, token);
  g_assert_cmpstr (tether_room_get_srt_passphrase (room), ==, passphrase);

  tether_room_renew_token (room, renewed);
  g_assert_cmpstr (tether_room_get_token (room), ==, renewed);
  g_assert_cmpstr (tether_room_get_media_token (room), ==, token);
  g_assert_cmpstr (tether_room_get_srt_passphrase (room), ==, passphrase);
  TETHER_WAIT_UNTIL (g_strcmp0 (tether_room_get_media_token (room), renewed) == 0, WAIT_MS);
  g_assert_cmpstr (tether_room_get_srt_passphrase (room), ==, renewed_passphrase);
  tether_room_logout (room);

  plain_room = login (engine, plain, token);
  g_assert_cmpstr (tether_room_get_media_token (plain_room), ==, token);
  g_assert_null (tether_room_get_srt_passphrase (plain_room));
  tether_room_logout (plain_room);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  g_setenv ("TETHER_APP_SECRET", TETHER_TEST_SECRET, TRUE);

  g_test_add_func ("/srt-crypto/encrypted-on-the-wire", test_encrypted_on_the_wire);
  g_test_add_func ("/srt-crypto/plain-when-off", test_plain_when_off);
  g_test_add_func ("/srt-crypto/bad-option", test_bad_option);
  g_test_add_func ("/srt-crypto/external-player", test_external_player);
  g_test_add_func ("/srt-crypto/mismatch", test_mismatch);
  g_test_add_func ("/srt-crypto/mismatch-reverse", test_mismatch_reverse);
  g_test_add_func ("/srt-crypto/example-formula", test_example_formula);
  g_test_add_func ("/srt-crypto/renewal", test_renewal);

  return g_test_run ();
}
