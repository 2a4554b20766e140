/* test-proxy.c: --trusted-proxy — client addresses from X-Forwarded-For and Forwarded
 * only when the TCP peer is a trusted proxy, for the per-address login bucket that
 * logins and guest-token requests draw on (docs/security.md, "Reverse proxies"); raw
 * HTTP and WebSocket clients, so any header can be sent
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether.h"
#include "tether-test-login.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"
#include "tether-test-ws.h"

#define WAIT_MS 5000
#define GUEST_BODY "{\"room\":\"pub-1\"}"

/* The whole answer to @request on a fresh connection to 127.0.0.1:@port: read until
 * it holds @until (or, for %NULL, until the server closes), or the deadline. */
static char *
exchange (guint16     port,
          const char *request,
          gsize       len,
          const char *until)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  GSocket *socket;
  gint64 deadline = g_get_monotonic_time () + tether_test_scaled_ms (WAIT_MS) * G_TIME_SPAN_MILLISECOND;

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                            request, len, NULL, NULL, &error));
  g_assert_no_error (error);
  socket = g_socket_connection_get_socket (conn);
  g_socket_set_timeout (socket, 1);

  while (g_get_monotonic_time () < deadline && (until == NULL || strstr (answer->str, until) == NULL))
    {
      char buffer[4096];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      if (n > 0)
        g_string_append_len (answer, buffer, n);
      else if (n == 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        break;
      g_clear_error (&error);
    }
  return g_string_free (g_steal_pointer (&answer), FALSE);
}

/* POST /v1/guest-token for a public room with @header (a whole header line, or
 * %NULL); returns the status, 0 when the connection closed without an answer. */
static guint
post_guest (TetherTestServer *server,
            const char       *header)
{
  g_autofree char *request = NULL;
  g_autofree char *answer = NULL;
  guint status = 0;

  request = g_strdup_printf ("POST /v1/guest-token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n%s%s\r\n" GUEST_BODY,
                             strlen (GUEST_BODY), header != NULL ? header : "",
                             header != NULL ? "\r\n" : "");
  answer = exchange (tether_test_server_get_port (server), request, strlen (request), NULL);
  if (g_str_has_prefix (answer, "HTTP/1.1 "))
    status = (guint) g_ascii_strtoull (answer + 9, NULL, 10);
  return status;
}

/* POSTs with `X-Forwarded-For: @address`. */
static guint
post_xff (TetherTestServer *server,
          const char       *address)
{
  g_autofree char *header = g_strdup_printf ("X-Forwarded-For: %s", address);

  return post_guest (server, header);
}

/* A WebSocket login with `X-Forwarded-For: @address`: whether it got login_ok, or
 * was refused for its address's rate ("too many logins"). */
static gboolean
login_xff (TetherTestServer *server,
           const char       *address,
           const char       *user)
{
  guint16 port = tether_test_server_get_port (server);
  g_autofree char *upgrade = tether_test_ws_upgrade_request (port);
  g_autofree char *token = tether_test_token (user, "lobby", 600);
  TetherTestLogin login = { .room_id = "lobby", .user_id = user, .token = token };
  g_autofree char *json = tether_test_login_json (&login);
  g_autoptr(GByteArray) frame = tether_test_ws_client_frame (TRUE, 0x1, (const guint8 *) json,
                                                             strlen (json));
  g_autoptr(GByteArray) request = g_byte_array_new ();
  g_autofree char *header = g_strdup_printf ("X-Forwarded-For: %s\r\n\r\n", address);
  g_autofree char *answer = NULL;

  /* The upgrade request ends with a blank line: the header goes before it. */
  g_byte_array_append (request, (const guint8 *) upgrade, strlen (upgrade) - 2);
  g_byte_array_append (request, (const guint8 *) header, strlen (header));
  g_byte_array_append (request, frame->data, frame->len);
  answer = exchange (port, (const char *) request->data, request->len, "\"login_ok\"");
  if (strstr (answer, "\"login_ok\"") != NULL)
    return TRUE;
  g_assert_nonnull (strstr (answer, "too many logins"));
  return FALSE;
}

typedef struct
{
  const char *trusted;
} Setup;

static void
setup_server (TetherServer *server,
              gpointer      data)
{
  const Setup *setup = data;
  g_autoptr(GError) error = NULL;

  tether_server_add_public_room (server, "pub-*");
  if (setup->trusted != NULL)
    {
      g_assert_true (tether_server_add_trusted_proxy (server, setup->trusted, &error));
      g_assert_no_error (error);
    }
}

/* A server with a login bucket of @burst and almost no refill, and public rooms;
 * @trusted: (nullable): its --trusted-proxy. */
static TetherTestServer *
start_server (const char *trusted,
              double      burst,
              guint       max_connections)
{
  TetherTestServer *server = tether_test_server_new ("login-rate", 0.001, "login-burst", burst,
                                                     "max-connections-per-address", max_connections,
                                                     NULL);
  Setup setup = { trusted };

  tether_test_server_run_sync (server, setup_server, &setup);
  return server;
}

/* No trusted proxy: the headers are ignored, every request counts against the TCP
 * peer, however many addresses it claims. */
static void
test_untrusted_ignored (void)
{
  g_autoptr(TetherTestServer) server = start_server (NULL, 3, 0);

  g_assert_cmpuint (post_xff (server, "10.0.0.1"), ==, 200);
  g_assert_cmpuint (post_xff (server, "10.0.0.2"), ==, 200);
  g_assert_cmpuint (post_guest (server, "Forwarded: for=10.0.0.3"), ==, 200);
  g_assert_cmpuint (post_xff (server, "10.0.0.4"), ==, 429);
  g_assert_cmpuint (post_guest (server, "Forwarded: for=\"[2001:db8::1]:4711\""), ==, 429);
  g_assert_false (login_xff (server, "10.0.0.5", "alice"));
}

/* A peer inside a trusted range (127.0.0.1/32, the test's own): each client address
 * it names has a bucket of its own, read from the right past trusted hops; entries a
 * client prepended do not choose the bucket. Logins draw on the same buckets. */
static void
test_trusted_buckets (void)
{
  g_autoptr(TetherTestServer) server = start_server ("127.0.0.1/32", 2, 0);

  g_assert_cmpuint (post_xff (server, "10.0.0.1"), ==, 200);
  g_assert_cmpuint (post_xff (server, "10.0.0.1"), ==, 200);
  g_assert_cmpuint (post_xff (server, "10.0.0.1"), ==, 429);
  /* Another client, and the proxy's own bucket, are untouched. */
  g_assert_cmpuint (post_xff (server, "10.0.0.2"), ==, 200);
  g_assert_cmpuint (post_guest (server, NULL), ==, 200);
  /* A trusted hop on the right is skipped: 10.0.0.1 again. */
  g_assert_cmpuint (post_xff (server, "10.0.0.1, 127.0.0.1"), ==, 429);
  /* What the client wrote on the left does not count: this is 10.0.0.3. */
  g_assert_cmpuint (post_xff (server, "10.0.0.2, 10.0.0.3"), ==, 200);
  g_assert_cmpuint (post_guest (server, "X-Forwarded-For: 10.0.0.2\r\nX-Forwarded-For: 10.0.0.3"),
                    ==, 200);
  g_assert_cmpuint (post_xff (server, "10.0.0.3"), ==, 429);
  /* Forwarded, with ports and brackets; X-Forwarded-For wins over it. */
  g_assert_cmpuint (post_guest (server, "Forwarded: for=\"[2001:db8::1]:4711\";proto=https"), ==, 200);
  g_assert_cmpuint (post_guest (server, "Forwarded: for=192.0.2.9, for=\"10.0.0.1:443\""), ==, 429);
  g_assert_cmpuint (post_guest (server, "Forwarded: for=10.0.0.1\r\nX-Forwarded-For: 10.0.0.4"), ==,
                    200);
  g_assert_cmpuint (post_xff (server, "2001:db8::1"), ==, 200);
  g_assert_cmpuint (post_xff (server, "[2001:db8::1]:80"), ==, 429);

  /* WebSocket logins: the address the proxy names. */
  g_assert_true (login_xff (server, "10.0.1.1", "alice"));
  g_assert_true (login_xff (server, "10.0.1.1", "bob"));
  g_assert_false (login_xff (server, "10.0.1.1", "carol"));
  g_assert_true (login_xff (server, "10.0.1.2", "carol"));
  g_assert_false (login_xff (server, "10.0.0.1", "dave"));
}

/* Headers a trusted proxy should never send are ignored as a whole: the request
 * counts against the peer (one bucket for all of them), and the server answers
 * every one. */
static void
test_malformed_ignored (void)
{
  g_autoptr(TetherTestServer) server = start_server ("127.0.0.0/8", 3, 0);
  g_autoptr(GString) long_list = g_string_new ("X-Forwarded-For: ");
  const char *headers[] = {
    "X-Forwarded-For: 10.0.0.9",  /* a real one first: it must not be the peer's bucket */
    "X-Forwarded-For: garbage",
    "X-Forwarded-For: ",
    "X-Forwarded-For: ,,,",
    "X-Forwarded-For: 10.0.0.1, nonsense",
    "X-Forwarded-For: 1.2.3.4.5",
    "X-Forwarded-For: [::1",
    "X-Forwarded-For: [10.0.0.1]x",
    "X-Forwarded-For: 10.0.0.1:80:80:80:80:80:80:80:80",
    "X-Forwarded-For: 10.0.0.1\xff\xfe",
    "Forwarded: for=unknown",
    "Forwarded: for=\"_hidden\"",
    "Forwarded: for=\"10.0.0.1",
    "Forwarded: for=10.0.0.1\"",
    "Forwarded: proto=https",
    "Forwarded: for=",
    "Forwarded: ;;;,,,",
    "Forwarded: for=10.0.0.1, by=10.0.0.2",
    NULL,
  };
  guint answered = 0, refused = 0;

  for (guint i = 0; i < 600; i++)
    g_string_append (long_list, "10.0.0.8, ");
  g_string_append (long_list, "10.0.0.8");

  g_assert_cmpuint (post_guest (server, headers[0]), ==, 200);
  for (guint i = 1; headers[i] != NULL; i++)
    {
      guint status = post_guest (server, headers[i]);
      g_autofree char *shown = g_strescape (headers[i], NULL); /* TAP is UTF-8 */

      g_test_message ("%s: %u", shown, status);
      g_assert_true (status == 200 || status == 429);
      answered++;
      refused += status == 429;
    }
  g_assert_cmpuint (post_guest (server, long_list->str), ==, 429);
  /* Three from the peer's bucket, the rest refused: none chose a bucket of its own. */
  g_assert_cmpuint (answered - refused, ==, 3);
  g_assert_cmpuint (post_xff (server, "10.0.0.9"), ==, 200);
  g_assert_true (tether_test_server_is_running (server));
}

static void
read_tcp_count (TetherServer *server,
                gpointer      data)
{
  *(guint *) data = tether_server_get_tcp_connection_count (server);
}

static guint
tcp_connections (TetherTestServer *server)
{
  guint n = 0;

  tether_test_server_run_sync (server, read_tcp_count, &n);
  return n;
}

/* A trusted proxy carries many clients: --max-connections-per-address does not cap
 * its connections; an untrusted peer's are capped as before. */
static void
test_connection_cap (void)
{
  g_autoptr(TetherTestServer) capped = start_server (NULL, 100, 1);
  g_autoptr(TetherTestServer) proxied = start_server ("127.0.0.1", 100, 1);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) held = NULL;
  g_autoptr(GSocketConnection) held2 = NULL;
  g_autoptr(GError) error = NULL;

  held = g_socket_client_connect_to_host (client, "127.0.0.1", tether_test_server_get_port (capped),
                                          NULL, &error);
  g_assert_no_error (error);
  held2 = g_socket_client_connect_to_host (client, "127.0.0.1",
                                           tether_test_server_get_port (proxied), NULL, &error);
  g_assert_no_error (error);
  TETHER_WAIT_UNTIL (tcp_connections (capped) == 1 && tcp_connections (proxied) == 1, WAIT_MS);
  g_assert_cmpuint (post_xff (capped, "10.0.0.1"), ==, 0);
  g_assert_cmpuint (post_xff (proxied, "10.0.0.1"), ==, 200);
}

static void
check_values (TetherServer *server,
              gpointer      data)
{
  const char *good[] = { "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "192.0.2.0/24" };
  const char *bad[] = { "", "nonsense", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "/8",
                        "10.0.0.0/8;10.1.0.0/16", "fd00::1/8" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (tether_server_add_trusted_proxy (server, good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (tether_server_add_trusted_proxy (server, bad[i], &error));
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      g_assert_nonnull (strstr (error->message, "--trusted-proxy"));
    }
}

/* --trusted-proxy takes an address or a network with no host bits; anything else is
 * a clear error naming the option. */
static void
test_bad_values (void)
{
  g_autoptr(TetherTestServer) server = start_server (NULL, 3, 0);

  tether_test_server_run_sync (server, check_values, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/proxy/untrusted-ignored", test_untrusted_ignored);
  g_test_add_func ("/proxy/trusted-buckets", test_trusted_buckets);
  g_test_add_func ("/proxy/malformed-ignored", test_malformed_ignored);
  g_test_add_func ("/proxy/connection-cap", test_connection_cap);
  g_test_add_func ("/proxy/bad-values", test_bad_values);

  return g_test_run ();
}
