/* test-token.c: minting and verifying tokens, and what verification refuses
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-test-utils.h"
#include "tether-token.h"

#define NOW ((gint64) 1700000000)
#define SKEW TETHER_TOKEN_DEFAULT_SKEW

static char *
mint (const char         *user_id,
      const char         *room_id,
      TetherPrivilege     privileges,
      const char * const *stream_ids,
      gint64              issued_at,
      gint64              lifetime)
{
  return tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, user_id, room_id,
                            privileges, stream_ids, issued_at, lifetime);
}

static TetherTokenClaims *
verify (const char  *token,
        gint64       now,
        GError     **error)
{
  return tether_token_verify (token, TETHER_TEST_SECRET, TETHER_TEST_APP_ID, now, SKEW, error);
}

static void
assert_rejected (const char  *token,
                 gint64       now,
                 int          code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims = verify (token, now, &error);

  g_assert_null (claims);
  g_assert_error (error, TETHER_ERROR, code);
}

static void
test_round_trip (void)
{
  const char * const streams[] = { "cam-1", "screen", NULL };
  g_autofree char *token = mint ("alice", "room-1",
                                 TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                 streams, NOW, 3600);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims = verify (token, NOW + 10, &error);

  g_assert_no_error (error);
  g_assert_nonnull (claims);
  g_assert_cmpstr (claims->app_id, ==, TETHER_TEST_APP_ID);
  g_assert_cmpstr (claims->user_id, ==, "alice");
  g_assert_cmpstr (claims->room_id, ==, "room-1");
  g_assert_cmpint (claims->privileges, ==, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH);
  g_assert_cmpint (claims->issued_at, ==, NOW);
  g_assert_cmpint (claims->expires_at, ==, NOW + 3600);
  g_assert_nonnull (claims->nonce);
  g_assert_cmpstrv (claims->stream_ids, streams);
}

static void
test_any_room (void)
{
  g_autofree char *token = mint ("bob", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims = verify (token, NOW, &error);

  g_assert_no_error (error);
  g_assert_null (claims->room_id);
  g_assert_null (claims->stream_ids);
  g_assert_cmpint (claims->privileges, ==, TETHER_PRIVILEGE_LOGIN);
}

static void
test_nonce_differs (void)
{
  g_autofree char *a = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);
  g_autofree char *b = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);

  g_assert_cmpstr (a, !=, b);
}

/* The convenience the other tests use is valid for the test server's secret. */
static void
test_test_token (void)
{
  g_autofree char *token = tether_test_token ("carol", "room-2", 60);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims =
    verify (token, g_get_real_time () / G_USEC_PER_SEC, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (claims->user_id, ==, "carol");
  g_assert_cmpstr (claims->room_id, ==, "room-2");
  g_assert_true (tether_token_claims_allows_stream (claims, "anything"));
}

static void
test_tampered_payload (void)
{
  g_autofree char *token = mint ("alice", "room-1", TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);
  g_autofree char *evil_payload = NULL;
  g_autofree char *forged = NULL;
  const char *dot = strchr (token, '.');
  const char *evil = "{\"v\":1,\"app\":\"test-app\",\"uid\":\"mallory\"}";

  /* flip one character of the payload */
  token[3] = token[3] == 'A' ? 'B' : 'A';
  assert_rejected (token, NOW, TETHER_ERROR_TOKEN_INVALID);
  token[3] = token[3] == 'A' ? 'B' : 'A';

  /* a whole new payload with the old signature */
  evil_payload = tether_base64url_encode ((const guint8 *) evil, strlen (evil));
  forged = g_strconcat (evil_payload, dot, NULL);
  assert_rejected (forged, NOW, TETHER_ERROR_TOKEN_INVALID);
}

static void
test_tampered_signature (void)
{
  g_autofree char *token = mint ("alice", "room-1", TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);
  gsize len = strlen (token);
  g_autofree char *truncated = g_strndup (token, len - 1);
  g_autofree char *extended = g_strconcat (token, "A", NULL);

  token[len - 2] = token[len - 2] == 'x' ? 'y' : 'x';
  assert_rejected (token, NOW, TETHER_ERROR_TOKEN_INVALID);
  assert_rejected (truncated, NOW, TETHER_ERROR_TOKEN_INVALID);
  assert_rejected (extended, NOW, TETHER_ERROR_TOKEN_INVALID);
}

static void
test_wrong_secret (void)
{
  g_autofree char *token = tether_token_mint ("another-secret", TETHER_TEST_APP_ID, "alice",
                                              NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);

  assert_rejected (token, NOW, TETHER_ERROR_TOKEN_INVALID);
}

static void
test_wrong_app (void)
{
  g_autofree char *token = tether_token_mint (TETHER_TEST_SECRET, "another-app", "alice",
                                              NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);

  assert_rejected (token, NOW, TETHER_ERROR_APP_ID_INVALID);
}

static void
test_expired (void)
{
  g_autofree char *token = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW, 60);
  g_autoptr(TetherTokenClaims) at_skew_edge = NULL;

  /* expiry is tolerated by the skew, not a second more */
  at_skew_edge = verify (token, NOW + 60 + SKEW, NULL);
  g_assert_nonnull (at_skew_edge);
  assert_rejected (token, NOW + 60 + SKEW + 1, TETHER_ERROR_TOKEN_EXPIRED);
  assert_rejected (token, NOW + 86400, TETHER_ERROR_TOKEN_EXPIRED);
}

static void
test_issued_in_future (void)
{
  g_autofree char *within = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW + SKEW, 60);
  g_autofree char *beyond = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, NOW + SKEW + 1, 60);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims = verify (within, NOW, &error);

  g_assert_no_error (error);
  g_assert_nonnull (claims);
  assert_rejected (beyond, NOW, TETHER_ERROR_TOKEN_INVALID);
}

static void
test_stream_allowance (void)
{
  const char * const streams[] = { "cam-1", NULL };
  g_autofree char *listed = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                  streams, NOW, 60);
  g_autofree char *any = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                               NULL, NOW, 60);
  g_autofree char *viewer = mint ("alice", NULL, TETHER_PRIVILEGE_LOGIN, streams, NOW, 60);
  g_autoptr(TetherTokenClaims) listed_claims = verify (listed, NOW, NULL);
  g_autoptr(TetherTokenClaims) any_claims = verify (any, NOW, NULL);
  g_autoptr(TetherTokenClaims) viewer_claims = verify (viewer, NOW, NULL);

  g_assert_true (tether_token_claims_allows_stream (listed_claims, "cam-1"));
  g_assert_false (tether_token_claims_allows_stream (listed_claims, "cam-2"));
  g_assert_false (tether_token_claims_allows_stream (listed_claims, ""));
  g_assert_true (tether_token_claims_allows_stream (any_claims, "cam-2"));
  /* listing a stream does not grant publishing */
  g_assert_false (tether_token_claims_allows_stream (viewer_claims, "cam-1"));
}

static void
test_garbage (void)
{
  g_autofree char *huge = g_strnfill (10 * 1024, 'a');
  g_autofree char *huge_dotted = g_strnfill (10 * 1024, 'a');
  const char *inputs[] = {
    "", ".", "..", "a.b.c", "a.", ".b", "abc", "!!!.???", "a b.c d", "\xff\xfe.\x01",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    assert_rejected (inputs[i], NOW, TETHER_ERROR_TOKEN_INVALID);

  assert_rejected (huge, NOW, TETHER_ERROR_TOKEN_INVALID);
  huge_dotted[5000] = '.';
  assert_rejected (huge_dotted, NOW, TETHER_ERROR_TOKEN_INVALID);

  {
    g_autoptr(GError) error = NULL;
    g_assert_null (verify (NULL, NOW, &error));
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_TOKEN_INVALID);
  }

  /* correctly signed, but not claims: the signature alone is not enough */
  {
    g_autoptr(GHmac) hmac = NULL;
    g_autofree char *payload = tether_base64url_encode ((const guint8 *) "not json", 8);
    g_autofree char *array_payload = tether_base64url_encode ((const guint8 *) "[1,2]", 5);
    const char *partial = "{\"app\":\"test-app\",\"uid\":\"x\"}";
    g_autofree char *claims_payload =
      tether_base64url_encode ((const guint8 *) partial, strlen (partial));
    const char *payloads[] = { payload, array_payload, claims_payload };

    for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
      {
        guint8 digest[32];
        gsize digest_len = sizeof digest;
        g_autofree char *sig = NULL;
        g_autofree char *token = NULL;

        hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) TETHER_TEST_SECRET,
                           strlen (TETHER_TEST_SECRET));
        g_hmac_update (hmac, (const guchar *) payloads[i], -1);
        g_hmac_get_digest (hmac, digest, &digest_len);
        g_clear_pointer (&hmac, g_hmac_unref);
        sig = tether_base64url_encode (digest, digest_len);
        token = g_strconcat (payloads[i], ".", sig, NULL);
        assert_rejected (token, NOW, TETHER_ERROR_TOKEN_INVALID);
      }
  }
}

static void
test_base64url (void)
{
  const guint8 data[] = { 0xfb, 0xff, 0xbf, 0x00, 0x3e };
  g_autofree char *text = tether_base64url_encode (data, sizeof data);
  g_autofree guint8 *back = NULL;
  gsize len = 0;

  g_assert_null (strpbrk (text, "+/="));
  back = tether_base64url_decode (text, &len);
  g_assert_nonnull (back);
  g_assert_cmpmem (back, len, data, sizeof data);

  g_assert_null (tether_base64url_decode ("ab+c", &len));
  g_assert_null (tether_base64url_decode ("abcde", &len));
}

static void
test_secure_str_equal (void)
{
  g_assert_true (tether_secure_str_equal ("abc", "abc"));
  g_assert_true (tether_secure_str_equal ("", ""));
  g_assert_false (tether_secure_str_equal ("abc", "abd"));
  g_assert_false (tether_secure_str_equal ("abc", "ab"));
  g_assert_false (tether_secure_str_equal ("", "a"));
  g_assert_false (tether_secure_str_equal ("a", ""));
  g_assert_false (tether_secure_str_equal (NULL, "a"));
  g_assert_false (tether_secure_str_equal (NULL, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/token/round-trip", test_round_trip);
  g_test_add_func ("/token/any-room", test_any_room);
  g_test_add_func ("/token/nonce-differs", test_nonce_differs);
  g_test_add_func ("/token/test-token", test_test_token);
  g_test_add_func ("/token/tampered-payload", test_tampered_payload);
  g_test_add_func ("/token/tampered-signature", test_tampered_signature);
  g_test_add_func ("/token/wrong-secret", test_wrong_secret);
  g_test_add_func ("/token/wrong-app", test_wrong_app);
  g_test_add_func ("/token/expired", test_expired);
  g_test_add_func ("/token/issued-in-future", test_issued_in_future);
  g_test_add_func ("/token/stream-allowance", test_stream_allowance);
  g_test_add_func ("/token/garbage", test_garbage);
  g_test_add_func ("/token/base64url", test_base64url);
  g_test_add_func ("/token/secure-str-equal", test_secure_str_equal);

  return g_test_run ();
}
