/* fuzz-token-claims.c: the claims JSON behind a token's signature. The input is
 * signed with the harness's secret, as a token issuer (or anyone holding the secret)
 * would, so every run reaches the payload parsing of tether_token_verify().
 *
 * Input: the claims payload as JSON text, e.g.
 *   {"v":1,"app":"demo","uid":"alice","priv":["login"],"iat":1700000000,"exp":1900000000,"nonce":"x"}
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fuzz-token-check.h"

static char *
sign_payload (const uint8_t *data,
              size_t         size)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) TETHER_FUZZ_SECRET,
                                      strlen (TETHER_FUZZ_SECRET));
  g_autofree char *payload_b64 = tether_base64url_encode (data, size);
  g_autofree char *sig = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  /* Same construction as tether-token.c: HMAC-SHA-256 over the base64url payload. */
  g_hmac_update (hmac, (const guchar *) payload_b64, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  sig = tether_base64url_encode (digest, digest_len);
  return g_strconcat (payload_b64, ".", sig, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *token = NULL;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  /* Tokens longer than the verifier's limit are refused before any parsing. */
  if (size > 6000)
    return 0;
  token = sign_payload (data, size);
  fuzz_token_verify_and_check (token, (const char *) data, size);
  return 0;
}
