/* tether-token.c: minting and verifying Tether tokens
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-token.h"

#define MAX_TOKEN_LEN 8192
/* Claims are flat: an object holding two arrays of strings. */
#define TOKEN_MAX_DEPTH 4

G_DEFINE_BOXED_TYPE (TetherTokenClaims, tether_token_claims,
                     tether_token_claims_copy, tether_token_claims_free)

/**
 * tether_base64url_encode:
 * @data: (array length=len) (element-type guint8): the bytes to encode
 * @len: the number of bytes in @data
 *
 * Encodes @data in base64url (RFC 4648 §5) without padding, the alphabet of tokens.
 *
 * Returns: (transfer full): the encoded text
 */
char *
tether_base64url_encode (const guint8 *data,
                         gsize         len)
{
  char *text = g_base64_encode (data, len);
  gsize n = strlen (text);

  for (gsize i = 0; i < n; i++)
    {
      if (text[i] == '+')
        text[i] = '-';
      else if (text[i] == '/')
        text[i] = '_';
    }
  while (n > 0 && text[n - 1] == '=')
    text[--n] = '\0';

  return text;
}

/**
 * tether_base64url_decode:
 * @text: base64url text, with or without padding
 * @out_len: (out): return location for the number of decoded bytes
 *
 * Decodes what tether_base64url_encode() produces.
 *
 * Returns: (transfer full) (array length=out_len) (element-type guint8) (nullable):
 *   the decoded bytes, or %NULL if @text is not base64url
 */
guint8 *
tether_base64url_decode (const char *text,
                         gsize      *out_len)
{
  gsize n = strlen (text);
  g_autoptr(GString) std = g_string_sized_new (n + 4);

  for (gsize i = 0; i < n; i++)
    {
      char c = text[i];

      if (c == '-')
        c = '+';
      else if (c == '_')
        c = '/';
      else if (!g_ascii_isalnum (c))
        return NULL;
      g_string_append_c (std, c);
    }
  if (n % 4 == 1)
    return NULL;
  while (std->len % 4 != 0)
    g_string_append_c (std, '=');

  return g_base64_decode (std->str, out_len);
}

/**
 * tether_secure_str_equal:
 * @a: (nullable): a secret or a signature
 * @b: (nullable): another one
 *
 * Compares two strings in a time that depends only on their lengths, without an early
 * exit, so the time taken says nothing about where they differ: the comparison for
 * signatures and secrets.
 *
 * Returns: %TRUE if both are non-%NULL and equal
 */
gboolean
tether_secure_str_equal (const char *a,
                         const char *b)
{
  gsize la, lb;
  guint8 diff;

  if (a == NULL || b == NULL)
    return FALSE;

  la = strlen (a);
  lb = strlen (b);
  diff = la != lb;
  for (gsize i = 0; i < la; i++)
    diff |= (guint8) a[i] ^ (guint8) b[i % MAX (lb, 1)];

  return diff == 0;
}

static char *
sign (const char *secret,
      const char *payload_b64)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_hmac_update (hmac, (const guchar *) payload_b64, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);

  return tether_base64url_encode (digest, digest_len);
}

/**
 * tether_token_mint:
 * @secret: the app secret
 * @app_id: the app id
 * @user_id: the user the token is for
 * @room_id: (nullable): the only room it opens, or %NULL for any
 * @privileges: what the bearer may do
 * @stream_ids: (nullable) (array zero-terminated=1): the stream ids it may publish,
 *   or %NULL for any
 * @issued_at: Unix time of issue
 * @lifetime: seconds until expiry
 *
 * Mints a token: the claims as JSON, base64url-encoded, a dot, and their HMAC-SHA-256
 * signature with @secret. This is what an application's backend hands to its users;
 * tether_token_verify() is what the server does with it.
 *
 * Returns: (transfer full): a signed token
 */
char *
tether_token_mint (const char         *secret,
                   const char         *app_id,
                   const char         *user_id,
                   const char         *room_id,
                   TetherPrivilege     privileges,
                   const char * const *stream_ids,
                   gint64              issued_at,
                   gint64              lifetime)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *payload_b64 = NULL;
  g_autofree char *sig = NULL;
  g_autofree char *nonce_b64 = NULL;
  guint8 nonce[12];

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (app_id != NULL, NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (nonce); i++)
    nonce[i] = (guint8) g_random_int_range (0, 256);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "app");
  json_builder_add_string_value (b, app_id);
  json_builder_set_member_name (b, "uid");
  json_builder_add_string_value (b, user_id);
  if (room_id != NULL)
    {
      json_builder_set_member_name (b, "room");
      json_builder_add_string_value (b, room_id);
    }
  json_builder_set_member_name (b, "priv");
  json_builder_begin_array (b);
  if (privileges & TETHER_PRIVILEGE_LOGIN)
    json_builder_add_string_value (b, "login");
  if (privileges & TETHER_PRIVILEGE_PUBLISH)
    json_builder_add_string_value (b, "publish");
  json_builder_end_array (b);
  if (stream_ids != NULL)
    {
      json_builder_set_member_name (b, "streams");
      json_builder_begin_array (b);
      for (guint i = 0; stream_ids[i] != NULL; i++)
        json_builder_add_string_value (b, stream_ids[i]);
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "iat");
  json_builder_add_int_value (b, issued_at);
  json_builder_set_member_name (b, "exp");
  json_builder_add_int_value (b, issued_at + lifetime);
  json_builder_set_member_name (b, "nonce");
  nonce_b64 = tether_base64url_encode (nonce, sizeof nonce);
  json_builder_add_string_value (b, nonce_b64);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  payload = json_generator_to_data (gen, NULL);
  payload_b64 = tether_base64url_encode ((const guint8 *) payload, strlen (payload));
  sig = sign (secret, payload_b64);

  return g_strconcat (payload_b64, ".", sig, NULL);
}

/**
 * tether_token_claims_copy:
 * @claims: claims from tether_token_verify()
 *
 * Copies @claims with the strings they hold.
 *
 * Returns: (transfer full): a deep copy of @claims
 */
TetherTokenClaims *
tether_token_claims_copy (const TetherTokenClaims *claims)
{
  TetherTokenClaims *copy;

  g_return_val_if_fail (claims != NULL, NULL);

  copy = g_new0 (TetherTokenClaims, 1);
  copy->app_id = g_strdup (claims->app_id);
  copy->user_id = g_strdup (claims->user_id);
  copy->room_id = g_strdup (claims->room_id);
  copy->privileges = claims->privileges;
  copy->stream_ids = g_strdupv (claims->stream_ids);
  copy->issued_at = claims->issued_at;
  copy->expires_at = claims->expires_at;
  copy->nonce = g_strdup (claims->nonce);

  return copy;
}

/**
 * tether_token_claims_free:
 * @claims: (nullable) (transfer full): claims from tether_token_verify()
 *
 * Frees @claims and the strings they hold.
 */
void
tether_token_claims_free (TetherTokenClaims *claims)
{
  if (claims == NULL)
    return;
  g_free (claims->app_id);
  g_free (claims->user_id);
  g_free (claims->room_id);
  g_strfreev (claims->stream_ids);
  g_free (claims->nonce);
  g_free (claims);
}

static gboolean
fail (GError    **error,
      TetherError code,
      const char *message)
{
  g_set_error_literal (error, TETHER_ERROR, code, message);
  return FALSE;
}

static gboolean
parse_claims (JsonObject         *o,
              TetherTokenClaims  *claims,
              GError            **error)
{
  JsonNode *priv = json_object_get_member (o, "priv");
  JsonNode *streams = json_object_get_member (o, "streams");
  const char *app = tether_json_get_string (o, "app");
  const char *uid = tether_json_get_string (o, "uid");
  const char *room = tether_json_get_string (o, "room");
  const char *nonce = tether_json_get_string (o, "nonce");

  if (app == NULL || uid == NULL || nonce == NULL
      || !tether_json_get_int (o, "iat", &claims->issued_at) || !tether_json_get_int (o, "exp", &claims->expires_at)
      || priv == NULL || !JSON_NODE_HOLDS_ARRAY (priv)
      || !tether_protocol_valid_id (app) || !tether_protocol_valid_id (uid)
      || (json_object_has_member (o, "room") && !tether_protocol_valid_id (room))
      || (streams != NULL && !JSON_NODE_HOLDS_ARRAY (streams)))
    return fail (error, TETHER_ERROR_TOKEN_INVALID, "token claims are malformed");

  claims->app_id = g_strdup (app);
  claims->user_id = g_strdup (uid);
  claims->room_id = g_strdup (room);
  claims->nonce = g_strdup (nonce);

  for (guint i = 0; i < json_array_get_length (json_node_get_array (priv)); i++)
    {
      JsonNode *e = json_array_get_element (json_node_get_array (priv), i);
      const char *s = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_string (e) : NULL;

      if (g_strcmp0 (s, "login") == 0)
        claims->privileges |= TETHER_PRIVILEGE_LOGIN;
      else if (g_strcmp0 (s, "publish") == 0)
        claims->privileges |= TETHER_PRIVILEGE_PUBLISH;
    }

  if (streams != NULL)
    {
      JsonArray *a = json_node_get_array (streams);
      g_autoptr(GStrvBuilder) sb = g_strv_builder_new ();

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);

          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING
              || !tether_protocol_valid_id (json_node_get_string (e)))
            return fail (error, TETHER_ERROR_TOKEN_INVALID, "token stream list is malformed");
          g_strv_builder_add (sb, json_node_get_string (e));
        }
      claims->stream_ids = g_strv_builder_end (sb);
    }

  return TRUE;
}

/**
 * tether_token_is_well_formed:
 * @token: (nullable): a token as handed over by an application or a peer
 *
 * Whether @token has the shape of a token, `base64url.base64url` of at most 8 KiB,
 * without checking its signature: what a client can tell before sending it.
 *
 * Returns: %TRUE if @token could be a token
 */
gboolean
tether_token_is_well_formed (const char *token)
{
  guint dots = 0;
  gsize len = 0;

  if (token == NULL)
    return FALSE;
  for (const char *p = token; *p != '\0'; p++, len++)
    {
      if (*p == '.')
        dots++;
      else if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        return FALSE;
    }
  return dots == 1 && len <= MAX_TOKEN_LEN && token[0] != '.' && token[len - 1] != '.';
}

/**
 * tether_token_verify:
 * @token: the token as received
 * @secret: the app secret
 * @app_id: the app id the token must be for
 * @now: current Unix time
 * @skew: clock-skew tolerance, seconds
 * @error: return location for a #TETHER_ERROR
 *
 * Checks the signature and the time window. The caller checks user, room and
 * privileges against what is being asked (tether_token_claims_allows_stream() for
 * publishing).
 *
 * Returns: (transfer full) (nullable): the claims, or %NULL with @error set
 */
TetherTokenClaims *
tether_token_verify (const char  *token,
                     const char  *secret,
                     const char  *app_id,
                     gint64       now,
                     gint64       skew,
                     GError     **error)
{
  g_autoptr(TetherTokenClaims) claims = g_new0 (TetherTokenClaims, 1);
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *payload_b64 = NULL;
  g_autofree char *expected = NULL;
  g_autofree guint8 *payload = NULL;
  const char *dot;
  gsize payload_len = 0;

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (app_id != NULL, NULL);

  if (!tether_token_is_well_formed (token))
    {
      fail (error, TETHER_ERROR_TOKEN_INVALID, "token is not in the form payload.signature");
      return NULL;
    }

  dot = strchr (token, '.');
  payload_b64 = g_strndup (token, dot - token);
  expected = sign (secret, payload_b64);
  if (!tether_secure_str_equal (expected, dot + 1))
    {
      fail (error, TETHER_ERROR_TOKEN_INVALID, "token signature does not match");
      return NULL;
    }

  payload = tether_base64url_decode (payload_b64, &payload_len);
  /* The same door as protocol messages: a "\u0000" would otherwise cut
   * "alice\u0000x" down to "alice". */
  if (payload == NULL
      || (object = tether_json_parse_object ((const char *) payload, payload_len,
                                             TOKEN_MAX_DEPTH, NULL)) == NULL)
    {
      fail (error, TETHER_ERROR_TOKEN_INVALID, "token payload is not a valid JSON object");
      return NULL;
    }

  if (!parse_claims (object, claims, error))
    return NULL;

  if (g_strcmp0 (claims->app_id, app_id) != 0)
    {
      fail (error, TETHER_ERROR_APP_ID_INVALID, "token is for another app");
      return NULL;
    }
  if (claims->issued_at > now + skew)
    {
      fail (error, TETHER_ERROR_TOKEN_INVALID, "token is issued in the future");
      return NULL;
    }
  if (claims->expires_at + skew < now)
    {
      fail (error, TETHER_ERROR_TOKEN_EXPIRED, "token has expired");
      return NULL;
    }

  return g_steal_pointer (&claims);
}

/**
 * tether_token_claims_allows_stream:
 * @claims: verified claims
 * @stream_id: a stream id the bearer wants to publish
 *
 * Whether the bearer of a verified token may publish @stream_id.
 *
 * Returns: %TRUE if the claims grant %TETHER_PRIVILEGE_PUBLISH and either list
 *   @stream_id or do not restrict stream ids
 */
gboolean
tether_token_claims_allows_stream (const TetherTokenClaims *claims,
                                   const char              *stream_id)
{
  g_return_val_if_fail (claims != NULL, FALSE);

  if (!(claims->privileges & TETHER_PRIVILEGE_PUBLISH))
    return FALSE;
  if (claims->stream_ids == NULL)
    return TRUE;
  return g_strv_contains ((const char * const *) claims->stream_ids, stream_id);
}
