/* test-security.c: the room service against an attacker — each test is one class of
 * hole from issue 8, probed with real sockets against a real server, and each ends by
 * checking that an honest member of the room was not hurt
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "server-fixture.h"

/* A token whose payload is exactly @payload, correctly signed: what a party holding
 * the app secret could mint, with claims the minting API would never produce. */
static char *
sign_payload (const char *payload)
{
  g_autofree char *body = tether_base64url_encode ((const guint8 *) payload, strlen (payload));
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guint8 *) SECRET, strlen (SECRET));
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autofree char *signature = NULL;

  g_hmac_update (hmac, (const guint8 *) body, strlen (body));
  g_hmac_get_digest (hmac, digest, &digest_len);
  signature = tether_base64url_encode (digest, digest_len);
  return g_strconcat (body, ".", signature, NULL);
}

/* The next message that is not a room event must be `error` @code, then a close with
 * @close_code; the error's message must be there (so it was valid UTF-8). */
static void
expect_error_skipping_events (Client  *c,
                              int      code,
                              gushort  close_code)
{
  for (;;)
    {
      g_autoptr(JsonObject) o = client_next (c);

      g_assert_nonnull (o);
      if (g_strcmp0 (tether_json_get_string (o, "type"), "event") == 0)
        continue;
      g_assert_cmpstr (tether_json_get_string (o, "type"), ==, "error");
      g_assert_cmpint (get_int (o, "code"), ==, code);
      g_assert_true (g_utf8_validate (tether_json_get_string (o, "message"), -1, NULL));
      break;
    }
  client_expect_closed (c, close_code);
}

static char *
login_frame (const char *room,
             const char *user_json,
             const char *token)
{
  return g_strdup_printf ("{\"type\":\"login\",\"v\":1,\"app_id\":\"" APP "\",\"room_id\":\"%s\","
                          "\"user\":%s,\"token\":\"%s\",\"notify_users\":true}",
                          room, user_json, token);
}

/* Item 3: a string that decodes into invalid UTF-8 (an escaped lone surrogate) is
 * refused wherever it is, and the room goes on: later logins get login_ok and the
 * members get their events. */
static void
test_invalid_utf8_strings (Fixture       *fx,
                           gconstpointer  data)
{
  g_autofree char *eve_token = mint ("eve", ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);
  const char *bad_users[] = {
    "{\"id\":\"eve\",\"name\":\"\\ud800x\"}",
    "{\"id\":\"eve\",\"name\":\"\\udfff\"}",
    "{\"id\":\"eve\",\"name\":\"ok\",\"\\ud800\":1}",
  };
  const char *bad_requests[] = {
    "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"evecam\",\"extra\":\"\\ud800x\"}}",
    "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"evecam\",\"extra\":\"\\udfff\"}}",
    "{\"type\":\"heartbeat\",\"id\":\"\\udbff\"}",
  };
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *bob;

  for (guint i = 0; i < G_N_ELEMENTS (bad_users); i++)
    {
      Client *c = client_connect (fx);
      g_autofree char *frame = login_frame (ROOM, bad_users[i], eve_token);

      g_test_message ("login with %s", bad_users[i]);
      client_send (c, frame);
      expect_error_skipping_events (c, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad_requests); i++)
    {
      g_autofree char *user = g_strdup_printf ("eve%u", i);
      Client *c = client_login (fx, user, NULL, NULL);

      g_test_message ("request %s", bad_requests[i]);
      client_send (c, bad_requests[i]);
      expect_error_skipping_events (c, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);
    }

  /* The room still works for everyone: a new member gets login_ok, alice hears
   * about it, and its stream reaches alice. */
  bob = client_login (fx, "bob", NULL, NULL);
  for (;;)
    {
      g_autoptr(JsonObject) ev = client_expect (alice, "event");

      if (g_strcmp0 (first_id (ev, "users"), "bob") == 0)
        break;
    }
  client_send (bob, "{\"type\":\"stream_add\",\"req\":7,\"stream\":{\"id\":\"bobcam\",\"extra\":\"\\u00e9\\ud83d\\ude00\"}}");
  g_autoptr(JsonObject) ok = client_expect (bob, "stream_add_ok");
  g_autoptr(JsonObject) add = expect_event (alice, "stream", "ADD");
  JsonObject *stream = json_array_get_object_element (tether_json_get_array (add, "streams"), 0);

  g_assert_cmpstr (tether_json_get_string (stream, "extra"), ==, "\xc3\xa9\xf0\x9f\x98\x80");
  client_heartbeat_ok (alice, 1);
}

/* Item 4: a NUL inside any string would cut identities short in C. Every id, name
 * and token claim holding one is refused, and nobody is confused with the real
 * user: alice is not kicked by "alice\u0000trailing". */
static void
test_nul_in_strings (Fixture       *fx,
                     gconstpointer  data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *al_token = mint ("al", ROOM, TETHER_PRIVILEGE_LOGIN, 0, 3600);
  g_autofree char *x_token = mint ("mallory", "X", TETHER_PRIVILEGE_LOGIN, 0, 3600);
  g_autofree char *m_token = mint ("mallory", ROOM, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, 0, 3600);
  g_autofree char *nul_payload = g_strdup_printf (
    "{\"v\":1,\"app\":\"" APP "\",\"uid\":\"alice\\u0000trailing\",\"room\":\"" ROOM "\","
    "\"priv\":[\"login\"],\"iat\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT ",\"nonce\":\"n\"}",
    now, now + 3600);
  g_autofree char *nul_token = sign_payload (nul_payload);
  g_autofree char *f_user = login_frame (ROOM, "{\"id\":\"al\\u0000ice\"}", al_token);
  g_autofree char *f_room = login_frame ("X\\u0000evil", "{\"id\":\"mallory\"}", x_token);
  g_autofree char *f_name = login_frame (ROOM, "{\"id\":\"al\",\"name\":\"Al\\u0000 the admin\"}", al_token);
  g_autofree char *f_token = login_frame (ROOM, "{\"id\":\"alice\"}", nul_token);
  struct {
    const char *what;
    const char *frame;
    int         code;
    gushort     close_code;
  } logins[] = {
    { "user id", f_user, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL },
    { "room id", f_room, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL },
    { "display name", f_name, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL },
    /* The token's own JSON is checked the same way: it is just not valid. */
    { "token uid", f_token, TETHER_ERROR_TOKEN_INVALID, TETHER_CLOSE_AUTH },
  };
  Client *alice = client_login (fx, "alice", NULL, NULL);
  Client *mallory;

  for (guint i = 0; i < G_N_ELEMENTS (logins); i++)
    {
      Client *c = client_connect (fx);

      g_test_message ("NUL in the %s", logins[i].what);
      client_send (c, logins[i].frame);
      expect_error_skipping_events (c, logins[i].code, logins[i].close_code);
    }

  /* Control characters have no place in a display name either. */
  {
    Client *c = client_connect (fx);
    g_autofree char *frame = login_frame (ROOM, "{\"id\":\"al\",\"name\":\"Al\\nice\"}", al_token);

    client_send (c, frame);
    expect_error_skipping_events (c, TETHER_ERROR_USER_ID_INVALID, TETHER_CLOSE_PROTOCOL);
  }

  mallory = client_login (fx, "mallory", &(LoginArgs) { .token = m_token, .notify = TRUE }, NULL);
  client_send (mallory, "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"cam\\u0000x\"}}");
  expect_error_skipping_events (mallory, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);

  /* alice was never kicked and saw nobody but mallory come in. */
  for (;;)
    {
      g_autoptr(JsonObject) o = client_next (alice);

      g_assert_nonnull (o);
      if (g_strcmp0 (tether_json_get_string (o, "type"), "heartbeat_ack") == 0)
        break;
      g_assert_cmpstr (tether_json_get_string (o, "type"), ==, "event");
      g_assert_cmpstr (first_id (o, "users"), ==, "mallory");
      client_send (alice, "{\"type\":\"heartbeat\",\"id\":1}");
    }
  g_assert_false (alice->closed);
  g_assert_cmpuint (metric (fx, "tether_kicks_total"), ==, 0);
}

/* Item 9: numbers out of range are refused at the boundary instead of wrapping. */
static void
test_numbers_out_of_range (Fixture       *fx,
                           gconstpointer  data)
{
  const char *bad[] = {
    "{\"type\":\"heartbeat\",\"id\":1180591620717411303424}",   /* 2^70 */
    "{\"type\":\"heartbeat\",\"id\":9007199254740992}",         /* 2^53 */
    "{\"type\":\"heartbeat\",\"id\":-1}",
    "{\"type\":\"heartbeat\",\"id\":1.5}",
    "{\"type\":\"heartbeat\",\"id\":true}",
    "{\"type\":\"heartbeat\",\"id\":\"0123456789012345678901234567890123456789012345678901234567890123x\"}",
    "{\"type\":\"stream_delete\",\"req\":99999999999999999999,\"stream_id\":\"x\"}",
    "{\"type\":\"heartbeat\",\"id\":1,\"pad\":1e999}",
  };
  Client *alice = client_login (fx, "alice", NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *user = g_strdup_printf ("n%u", i);
      Client *c = client_login (fx, user, NULL, NULL);

      g_test_message ("frame %s", bad[i]);
      client_send (c, bad[i]);
      expect_error_skipping_events (c, TETHER_ERROR_PROTOCOL, TETHER_CLOSE_PROTOCOL);
    }

  /* The largest id allowed comes back exactly; so does a string id. */
  client_send (alice, "{\"type\":\"heartbeat\",\"id\":9007199254740991}");
  for (;;)
    {
      g_autoptr(JsonObject) o = client_next (alice);

      g_assert_nonnull (o);
      if (g_strcmp0 (tether_json_get_string (o, "type"), "heartbeat_ack") != 0)
        continue;
      g_assert_cmpint (get_int (o, "id"), ==, G_GINT64_CONSTANT (9007199254740991));
      break;
    }
  client_send (alice, "{\"type\":\"heartbeat\",\"id\":\"h-1\"}");
  {
    g_autoptr(JsonObject) o = client_expect (alice, "heartbeat_ack");

    g_assert_cmpstr (tether_json_get_string (o, "id"), ==, "h-1");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, config) \
  g_test_add ("/security/" path, Fixture, config, fixture_setup, func, fixture_teardown)

  ADD ("invalid-utf8-strings", test_invalid_utf8_strings, NULL);
  ADD ("nul-in-strings", test_nul_in_strings, NULL);
  ADD ("numbers-out-of-range", test_numbers_out_of_range, NULL);

  return g_test_run ();
}
