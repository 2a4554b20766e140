/* fuzz-token.c: tether_token_verify() on a token as a client sends it, with the
 * harness's fixed secret, app and clock; and the base64url codec under it.
 *
 * Input: the token text (a NUL ends it, as it would in the C API). Mutations rarely
 * keep a valid signature: fuzz-token-claims.c signs its input to get behind it.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fuzz-token-check.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *token = NULL;
  g_autofree guint8 *decoded = NULL;
  g_autofree char *encoded = NULL;
  g_autofree guint8 *again = NULL;
  gsize decoded_len = 0, again_len = 0;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  token = tether_fuzz_strndup (data, size);
  fuzz_token_verify_and_check (token, NULL, 0);

  /* The payload part through the decoder; whatever decodes must encode and decode
   * back to the same bytes. */
  decoded = tether_base64url_decode (token, &decoded_len);
  if (decoded != NULL)
    {
      encoded = tether_base64url_encode (decoded, decoded_len);
      again = tether_base64url_decode (encoded, &again_len);
      TETHER_FUZZ_CHECK (again != NULL && again_len == decoded_len);
      TETHER_FUZZ_CHECK (decoded_len == 0 || memcmp (again, decoded, decoded_len) == 0);
    }

  /* The constant-time comparison must still be a comparison. */
  TETHER_FUZZ_CHECK (tether_secure_str_equal (token, token));
  return 0;
}
