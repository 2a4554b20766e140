/* test-tls.c: the room service over TLS on loopback with certificates made by openssl
 * for the test — trusted logins, untrusted certificates (LOGIN_FAILED 1019 at once,
 * RECONNECT_FAILED 1019 on a reconnect), plain and TLS clients on the wrong port, a
 * handshake that stalls, and a certificate replaced while the server runs
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
#include "tether-test-utils.h"

#define WAIT_MS 10000
/* The request deadline (TLS handshake included), scaled: under the sanitizers a
 * handshake alone can take a second. */
#define REQUEST_TIMEOUT (2.0 * tether_test_scale ())

/* One set of certificates for the whole run. */
static TetherTestTls *tls;

typedef struct
{
  TetherEngine *engine;
  TetherRoom   *room;
  GArray       *states;     /* TetherRoomState */
  int           error;      /* of the last state */
  char         *message;    /* of the last state, from its extended data */
} Client;

static void
state_cb (TetherRoom      *room,
          TetherRoomState  state,
          int              error,
          const char      *extended,
          Client          *c)
{
  g_autoptr(JsonNode) node = json_from_string (extended, NULL);

  g_array_append_val (c->states, state);
  c->error = error;
  g_free (c->message);
  c->message = g_strdup (json_object_get_string_member_with_default (json_node_get_object (node),
                                                                     TETHER_ROOM_EXTENDED_MESSAGE,
                                                                     ""));
}

/* Logs @user into the lobby at @url, trusting @ca_file (NULL: the system's). */
static Client *
client_new (const char *url,
            const char *user,
            const char *ca_file,
            const char *config)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr(TetherLoginOptions) login = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = tether_test_token (user, "lobby", 3600);

  c->engine = tether_engine_new ();
  c->states = g_array_new (FALSE, FALSE, sizeof (TetherRoomState));
  tether_engine_set_tls_ca_file (c->engine, ca_file, &error);
  g_assert_no_error (error);
  if (config != NULL)
    {
      tether_engine_set_config (c->engine, config, &error);
      g_assert_no_error (error);
    }
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", url,
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", user,
                        "token", token, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "state-changed", G_CALLBACK (state_cb), c);
  return c;
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
  g_free (c->message);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static TetherRoomState
state_of (Client *c)
{
  return tether_room_get_state (c->room);
}

/* Left for good after a login started (LOGOUT, the state before it, is final too). */
static gboolean
has_ended (Client *c)
{
  return c->states->len > 0 && tether_room_state_is_final (state_of (c));
}

static TetherTestServer *
tls_server_new (const char *cert_file,
                const char *key_file)
{
  g_autoptr(GTlsCertificate) certificate = tether_test_tls_load (cert_file, key_file);

  return tether_test_server_new ("tls-certificate", certificate,
                                 "request-timeout", REQUEST_TIMEOUT, NULL);
}

/* The states a client went through are exactly LOGINING then @last. */
static void
assert_failed_at_once (Client          *c,
                       TetherRoomState  last)
{
  g_assert_cmpuint (c->states->len, ==, 2);
  g_assert_cmpint (g_array_index (c->states, TetherRoomState, 0), ==, TETHER_ROOM_STATE_LOGINING);
  g_assert_cmpint (g_array_index (c->states, TetherRoomState, 1), ==, last);
}

/* With the test authority, wss:// logs in; the URL says wss. */
static void
test_login_with_ca (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->cert_file, tls->key_file);
  const char *url = tether_test_server_get_url (server);
  g_autoptr(Client) alice = NULL;

  g_assert_true (g_str_has_prefix (url, "wss://127.0.0.1:"));
  alice = client_new (url, "alice", tls->ca_file, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
  g_assert_cmpuint (tether_test_server_get_session_count (server), ==, 1);
  g_assert_cmpstr (tether_engine_get_tls_ca_file (alice->engine), ==, tls->ca_file);
}

/* A relative --tls-ca (as typed on a command line) works too: glib-networking's file
 * database alone would trust nothing from it. */
static void
test_relative_ca_path (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->cert_file, tls->key_file);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *base = g_path_get_basename (tls->ca_file);
  g_autofree char *dir = g_path_get_dirname (tls->ca_file);
  g_autoptr(Client) bob = NULL;

  g_assert_cmpint (g_chdir (dir), ==, 0);
  bob = client_new (tether_test_server_get_url (server), "bob", base, NULL);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  /* Read back absolute: the same file from any working directory. */
  g_assert_cmpstr (tether_engine_get_tls_ca_file (bob->engine), ==, tls->ca_file);
  TETHER_WAIT_UNTIL (state_of (bob) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
}

/* Without the authority (the system's store, or another authority), the first attempt
 * ends the login: LOGIN_FAILED 1019 with the reason, no retry. */
static void
test_unknown_authority (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->cert_file, tls->key_file);
  const char *url = tether_test_server_get_url (server);
  const char *authorities[] = { NULL, tls->stranger_ca_file };

  for (guint i = 0; i < G_N_ELEMENTS (authorities); i++)
    {
      g_autoptr(Client) eve = client_new (url, "eve", authorities[i], NULL);

      TETHER_WAIT_UNTIL (has_ended (eve), WAIT_MS);
      assert_failed_at_once (eve, TETHER_ROOM_STATE_LOGIN_FAILED);
      g_assert_cmpint (eve->error, ==, TETHER_ERROR_TLS_CERTIFICATE);
      g_assert_cmpint (tether_room_get_error_code (eve->room), ==, 1019);
      g_assert_cmpstr (eve->message, ==,
                       "the server's certificate is not trusted: it is not signed by a trusted "
                       "authority");
      g_assert_cmpuint (tether_room_get_attempt (eve->room), ==, 1);
    }
  g_assert_cmpstr (tether_error_code_to_string (TETHER_ERROR_TLS_CERTIFICATE), ==,
                   "tls-certificate");
}

/* A certificate from the trusted authority, for another host name. */
static void
test_wrong_host_name (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->other_cert_file, tls->other_key_file);
  g_autoptr(Client) eve = client_new (tether_test_server_get_url (server), "eve", tls->ca_file,
                                      NULL);

  TETHER_WAIT_UNTIL (has_ended (eve), WAIT_MS);
  assert_failed_at_once (eve, TETHER_ROOM_STATE_LOGIN_FAILED);
  g_assert_cmpint (eve->error, ==, TETHER_ERROR_TLS_CERTIFICATE);
  g_assert_cmpstr (eve->message, ==,
                   "the server's certificate is not trusted: it is for another host name");
}

/* A bad CA file is refused by the engine, which keeps what it trusted. */
static void
test_bad_ca_file (void)
{
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_engine_set_tls_ca_file (engine, tls->key_file, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tether_engine_set_tls_ca_file (engine, "/nonexistent/ca.pem", &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_null (tether_engine_get_tls_ca_file (engine));

  g_object_set (engine, "tls-ca-file", tls->ca_file, NULL);
  g_assert_cmpstr (tether_engine_get_tls_ca_file (engine), ==, tls->ca_file);
  g_object_set (engine, "tls-ca-file", NULL, NULL);
  g_assert_null (tether_engine_get_tls_ca_file (engine));
}

/* ws:// to the TLS port fails like an unreachable server (LOGIN_FAILED after
 * login_timeout); wss:// to a plain port, whose handshake is never answered, fails as a
 * TLS failure (1001, "TLS failed: ..."), not a timeout; the clients that speak the right
 * protocol on each port are not disturbed. */
static void
test_wrong_protocol (void)
{
  g_autoptr(TetherTestServer) tls_server = tls_server_new (tls->cert_file, tls->key_file);
  g_autoptr(TetherTestServer) plain_server = tether_test_server_new ("request-timeout",
                                                                      REQUEST_TIMEOUT, NULL);
  g_autofree char *plain_to_tls = g_strdup_printf ("ws://127.0.0.1:%u/ws",
                                                   tether_test_server_get_port (tls_server));
  g_autofree char *tls_to_plain = g_strdup_printf ("wss://127.0.0.1:%u/ws",
                                                   tether_test_server_get_port (plain_server));
  g_autoptr(Client) good_tls = client_new (tether_test_server_get_url (tls_server), "alice",
                                           tls->ca_file, NULL);
  g_autoptr(Client) good_plain = client_new (tether_test_server_get_url (plain_server), "bob",
                                             NULL, NULL);
  g_autoptr(Client) bad_plain = NULL;
  g_autoptr(Client) bad_tls = NULL;

  TETHER_WAIT_UNTIL (state_of (good_tls) == TETHER_ROOM_STATE_LOGINED
                       && state_of (good_plain) == TETHER_ROOM_STATE_LOGINED,
                     WAIT_MS);

  bad_plain = client_new (plain_to_tls, "mallory", NULL, "login_timeout=1.5");
  bad_tls = client_new (tls_to_plain, "trent", tls->ca_file, "login_timeout=1.5");
  TETHER_WAIT_UNTIL (has_ended (bad_plain)
                       && has_ended (bad_tls),
                     WAIT_MS);
  g_assert_cmpint (state_of (bad_plain), ==, TETHER_ROOM_STATE_LOGIN_FAILED);
  g_assert_cmpint (bad_plain->error, ==, TETHER_ERROR_LOGIN_TIMEOUT);
  g_assert_cmpint (state_of (bad_tls), ==, TETHER_ROOM_STATE_LOGIN_FAILED);
  g_assert_cmpint (bad_tls->error, ==, TETHER_ERROR_NETWORK);
  g_assert_true (g_str_has_prefix (bad_tls->message, "TLS failed"));

  g_assert_cmpint (state_of (good_tls), ==, TETHER_ROOM_STATE_LOGINED);
  g_assert_cmpint (state_of (good_plain), ==, TETHER_ROOM_STATE_LOGINED);
  g_assert_cmpuint (good_tls->states->len, ==, 2);
  g_assert_cmpuint (good_plain->states->len, ==, 2);
}

static guint
request_timeouts (TetherTestServer *server)
{
  g_autofree char *metrics = tether_test_server_get_metrics_text (server);
  const char *line = strstr (metrics, "\ntether_request_timeouts_total ");

  g_assert_nonnull (line);
  return (guint) g_ascii_strtoull (strchr (line + 1, ' ') + 1, NULL, 10);
}

/* Whether the server closed @connection (read without blocking: the test's main
 * context keeps running the rooms meanwhile). */
static gboolean
closed_by_server (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GError) error = NULL;
  char buffer[512];
  gssize n;

  g_socket_set_blocking (socket, FALSE);
  n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
  return n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
}

/* A client that connects and never finishes its handshake (silent, or half a
 * ClientHello) is cut at the request deadline, and others log in meanwhile. */
static void
test_stalled_handshake (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->cert_file, tls->key_file);
  g_autoptr(GSocketClient) sc = g_socket_client_new ();
  g_autoptr(GSocketConnection) silent = NULL;
  g_autoptr(GSocketConnection) half = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Client) alice = NULL;
  const guint8 hello_start[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
  gint64 start = g_get_monotonic_time ();
  double elapsed;

  silent = g_socket_client_connect_to_host (sc, "127.0.0.1", tether_test_server_get_port (server),
                                            NULL, &error);
  g_assert_no_error (error);
  half = g_socket_client_connect_to_host (sc, "127.0.0.1", tether_test_server_get_port (server),
                                          NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (half)), hello_start,
                             sizeof hello_start, NULL, NULL, &error);
  g_assert_no_error (error);

  alice = client_new (tether_test_server_get_url (server), "alice", tls->ca_file, NULL);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  TETHER_WAIT_UNTIL (closed_by_server (silent) && closed_by_server (half), WAIT_MS);
  elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_assert_cmpfloat (elapsed, >=, REQUEST_TIMEOUT * 0.9);
  g_assert_cmpuint (request_timeouts (server), ==, 2);
  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_LOGINED);
}

typedef struct
{
  GTlsCertificate *certificate;
} Swap;

static void
swap_in_server (TetherServer *server,
                gpointer      data)
{
  Swap *swap = data;

  g_object_set (server, "tls-certificate", swap->certificate, NULL);
}

/* The certificate is replaced while the server runs (what SIGHUP does): new
 * connections get the new one. A room whose link breaks and that then meets a
 * certificate it does not trust ends at once in RECONNECT_FAILED 1019; a room that
 * meets a good renewed certificate reconnects. */
static void
test_certificate_replaced (void)
{
  g_autoptr(TetherTestServer) server = tls_server_new (tls->cert_file, tls->key_file);
  g_autoptr(TetherFaultProxy) proxy = tether_fault_proxy_new ("127.0.0.1",
                                                              tether_test_server_get_port (server));
  g_autofree char *url = g_strdup_printf ("wss://127.0.0.1:%u/ws",
                                          tether_fault_proxy_get_port (proxy));
  g_autoptr(GTlsCertificate) renewed = tether_test_tls_load (tls->cert_file, tls->key_file);
  g_autoptr(GTlsCertificate) wrong = tether_test_tls_load (tls->other_cert_file,
                                                           tls->other_key_file);
  g_autoptr(Client) alice = client_new (url, "alice", tls->ca_file, NULL);
  Swap swap = { renewed };

  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);

  /* A renewal: the link breaks, the room comes back. */
  tether_test_server_run_sync (server, swap_in_server, &swap);
  tether_fault_proxy_reset (proxy);
  TETHER_WAIT_UNTIL (state_of (alice) == TETHER_ROOM_STATE_RECONNECTED, WAIT_MS);

  /* Something the room does not trust now answers. */
  swap.certificate = wrong;
  tether_test_server_run_sync (server, swap_in_server, &swap);
  tether_fault_proxy_reset (proxy);
  TETHER_WAIT_UNTIL (has_ended (alice), WAIT_MS);
  g_assert_cmpint (state_of (alice), ==, TETHER_ROOM_STATE_RECONNECT_FAILED);
  g_assert_cmpint (alice->error, ==, TETHER_ERROR_TLS_CERTIFICATE);
  g_assert_cmpstr (alice->message, ==,
                   "the server's certificate is not trusted: it is for another host name");
  /* The first attempt after the break met it: no retry loop. */
  g_assert_cmpuint (tether_room_get_attempt (alice->room), ==, 1);
}

/* The server refuses certificate files it cannot use, with their names. */
static void
test_bad_server_files (void)
{
  g_autoptr(TetherServer) server = tether_server_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_server_load_tls_files (server, "/nonexistent/cert.pem", tls->key_file,
                                                &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/cert.pem"));
  g_clear_error (&error);
  g_assert_false (tether_server_load_tls_files (server, tls->ca_file, tls->ca_file, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (tether_server_load_tls_files (server, tls->cert_file, tls->key_file, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);

  tls = tether_test_tls_new ();

  g_test_add_func ("/tls/login-with-ca", test_login_with_ca);
  g_test_add_func ("/tls/relative-ca-path", test_relative_ca_path);
  g_test_add_func ("/tls/unknown-authority", test_unknown_authority);
  g_test_add_func ("/tls/wrong-host-name", test_wrong_host_name);
  g_test_add_func ("/tls/bad-ca-file", test_bad_ca_file);
  g_test_add_func ("/tls/bad-server-files", test_bad_server_files);
  g_test_add_func ("/tls/wrong-protocol", test_wrong_protocol);
  g_test_add_func ("/tls/stalled-handshake", test_stalled_handshake);
  g_test_add_func ("/tls/certificate-replaced", test_certificate_replaced);

  status = g_test_run ();
  tether_test_tls_free (tls);
  return status;
}
