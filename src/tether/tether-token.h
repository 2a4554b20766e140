/* tether-token.h: signed credentials (HMAC-SHA-256 over JSON claims, base64url)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * TetherPrivilege:
 * @TETHER_PRIVILEGE_NONE: nothing
 * @TETHER_PRIVILEGE_LOGIN: may log into rooms and play their streams
 * @TETHER_PRIVILEGE_PUBLISH: may add streams
 *
 * What a token allows its bearer.
 */
typedef enum /*< flags >*/
{
  TETHER_PRIVILEGE_NONE = 0,
  TETHER_PRIVILEGE_LOGIN = 1 << 0,
  TETHER_PRIVILEGE_PUBLISH = 1 << 1,
} TetherPrivilege;

/**
 * TETHER_TOKEN_DEFAULT_SKEW:
 *
 * The default tolerance, in seconds, for clocks that disagree between client and
 * server.
 */
#define TETHER_TOKEN_DEFAULT_SKEW 30

/**
 * TetherTokenClaims:
 * @app_id: the app the token is for
 * @user_id: the user the token is for
 * @room_id: (nullable): the only room it opens; %NULL: any room
 * @privileges: what the bearer may do
 * @stream_ids: (nullable) (array zero-terminated=1): the stream ids it may publish;
 *   %NULL: any stream id
 * @issued_at: Unix seconds
 * @expires_at: Unix seconds
 * @nonce: random bytes, base64url, that make every token unique
 *
 * What a verified token says.
 */
typedef struct
{
  char *app_id;
  char *user_id;
  char *room_id;
  TetherPrivilege privileges;
  char **stream_ids;
  gint64 issued_at;
  gint64 expires_at;
  char *nonce;
} TetherTokenClaims;

#define TETHER_TYPE_TOKEN_CLAIMS (tether_token_claims_get_type ())

char               *tether_token_mint              (const char              *secret,
                                                    const char              *app_id,
                                                    const char              *user_id,
                                                    const char              *room_id,
                                                    TetherPrivilege          privileges,
                                                    const char * const      *stream_ids,
                                                    gint64                   issued_at,
                                                    gint64                   lifetime);
TetherTokenClaims  *tether_token_verify            (const char              *token,
                                                    const char              *secret,
                                                    const char              *app_id,
                                                    gint64                   now,
                                                    gint64                   skew,
                                                    GError                 **error);
gboolean            tether_token_is_well_formed    (const char              *token);
gboolean            tether_token_claims_allows_stream (const TetherTokenClaims *claims,
                                                       const char              *stream_id);
GType               tether_token_claims_get_type   (void) G_GNUC_CONST;
TetherTokenClaims  *tether_token_claims_copy       (const TetherTokenClaims *claims);
void                tether_token_claims_free       (TetherTokenClaims       *claims);

char               *tether_base64url_encode        (const guint8            *data,
                                                    gsize                    len);
guint8             *tether_base64url_decode        (const char              *text,
                                                    gsize                   *out_len);
gboolean            tether_secure_str_equal        (const char              *a,
                                                    const char              *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTokenClaims, tether_token_claims_free)

G_END_DECLS
