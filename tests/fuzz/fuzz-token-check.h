/* fuzz-token-check.h: what tether_token_verify() promises about the claims it returns,
 * shared by fuzz-token.c and fuzz-token-claims.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-token.h"
#include "fuzz-common.h"

#define FUZZ_TOKEN_SKEW TETHER_TOKEN_DEFAULT_SKEW

/* Whether @json holds a \u0000 escape: json-glib would cut the string there, so
 * claims decoded from it name someone else ("alice\u0000x" would become "alice"). */
static inline gboolean
fuzz_json_has_nul_escape (const char *json,
                          gsize       len)
{
  for (gsize i = 0; i + 5 < len; i++)
    {
      gsize backslashes = 0;

      if (json[i + 1] != 'u' || json[i] != '\\' || memcmp (json + i + 2, "0000", 4) != 0)
        continue;
      /* an escaped backslash ("\\u0000") is text, not an escape */
      for (gsize j = i + 1; j-- > 0 && json[j] == '\\';)
        backslashes++;
      if (backslashes % 2 == 1)
        return TRUE;
    }
  return FALSE;
}

/* Verifies @token and checks the result against the documented contract.
 * @payload: the decoded JSON behind the signature when known, else NULL. */
static inline void
fuzz_token_verify_and_check (const char *token,
                             const char *payload,
                             gsize       payload_len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTokenClaims) claims =
    tether_token_verify (token, TETHER_FUZZ_SECRET, TETHER_FUZZ_APP_ID, TETHER_FUZZ_NOW,
                         FUZZ_TOKEN_SKEW, &error);

  if (claims == NULL)
    {
      TETHER_FUZZ_CHECK (error != NULL && error->domain == TETHER_ERROR);
      /* Errors are logged and sent to clients: they must never quote the token. */
      TETHER_FUZZ_CHECK (strlen (token) < 8 || strstr (error->message, token) == NULL);
      TETHER_FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
      return;
    }

  TETHER_FUZZ_CHECK (error == NULL);
  TETHER_FUZZ_CHECK (g_strcmp0 (claims->app_id, TETHER_FUZZ_APP_ID) == 0);
  TETHER_FUZZ_CHECK (claims->issued_at <= TETHER_FUZZ_NOW + FUZZ_TOKEN_SKEW);
  TETHER_FUZZ_CHECK (claims->expires_at >= TETHER_FUZZ_NOW - FUZZ_TOKEN_SKEW);
  TETHER_FUZZ_CHECK (claims->nonce != NULL);
  /* Identities are compared and shown as ids: they must be ids (docs/protocol.md). */
  TETHER_FUZZ_CHECK (tether_protocol_valid_id (claims->user_id));
  TETHER_FUZZ_CHECK (claims->room_id == NULL || tether_protocol_valid_id (claims->room_id));
  for (guint i = 0; claims->stream_ids != NULL && claims->stream_ids[i] != NULL; i++)
    TETHER_FUZZ_CHECK (tether_protocol_valid_id (claims->stream_ids[i]));
  TETHER_FUZZ_CHECK ((claims->privileges & ~(TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH)) == 0);
  if (payload != NULL)
    TETHER_FUZZ_CHECK (!fuzz_json_has_nul_escape (payload, payload_len));

  (void) tether_token_claims_allows_stream (claims, "cam");
  (void) tether_token_claims_allows_stream (claims, claims->user_id);
}
