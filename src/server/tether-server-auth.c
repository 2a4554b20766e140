/* tether-server-auth.c: who may log in — the token checks for login, token_renew and
 * guest renewals, and the per-address login rate limit (token buckets)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-server-private.h"

#define BUCKET_PRUNE_INTERVAL (10 * G_USEC_PER_SEC)

typedef struct
{
  double tokens;
  gint64 stamp;
} LoginBucket;

/* Checks a token's signature, app and time, and that it opens @room_id. Returns the
 * claims, or %NULL with a TETHER_ERROR code for the client: a valid token that does
 * not open this room is 1006, as docs/errors.md says. */
TetherTokenClaims *
tether_server_auth_verify_for_room (TetherServer  *self,
                                    const char    *token,
                                    const char    *room_id,
                                    GError       **error)
{
  g_autoptr(TetherTokenClaims) claims = NULL;

  claims = tether_token_verify (token, self->app_secret, self->app_id,
                                g_get_real_time () / G_USEC_PER_SEC,
                                (gint64) self->token_skew, error);
  if (claims == NULL)
    return NULL;
  if (claims->room_id != NULL && g_strcmp0 (claims->room_id, room_id) != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token is for another room");
      return NULL;
    }
  return g_steal_pointer (&claims);
}

/* Checks a token against the login it is used for (room, user, privilege). */
TetherTokenClaims *
tether_server_auth_check_token (TetherServer  *self,
                                const char    *token,
                                const char    *room_id,
                                const char    *user_id,
                                GError       **error)
{
  g_autoptr(TetherTokenClaims) claims = NULL;

  claims = tether_server_auth_verify_for_room (self, token, room_id, error);
  if (claims == NULL)
    return NULL;
  if (g_strcmp0 (claims->user_id, user_id) != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token is for another user");
      return NULL;
    }
  if (!(claims->privileges & TETHER_PRIVILEGE_LOGIN))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token lacks the login privilege");
      return NULL;
    }

  return g_steal_pointer (&claims);
}

/* One token bucket per client address: login-rate per second, up to login-burst. */
gboolean
tether_server_auth_login_allowed (TetherServer *self,
                                  const char   *address)
{
  LoginBucket *bucket;
  double burst = MAX (self->login_burst, 1.0);
  gint64 now;

  if (self->login_rate <= 0)
    return TRUE;

  now = g_get_monotonic_time ();
  bucket = g_hash_table_lookup (self->login_buckets, address);
  if (bucket == NULL)
    {
      bucket = g_new (LoginBucket, 1);
      bucket->tokens = burst;
      g_hash_table_insert (self->login_buckets, g_strdup (address), bucket);
    }
  else
    {
      bucket->tokens = MIN (burst, bucket->tokens + (now - bucket->stamp) / (double) G_USEC_PER_SEC * self->login_rate);
    }
  bucket->stamp = now;

  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

static void
prune_login_buckets (TetherServer *self,
                     gint64        now)
{
  GHashTableIter iter;
  gpointer value;
  double burst = MAX (self->login_burst, 1.0);

  g_hash_table_iter_init (&iter, self->login_buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LoginBucket *bucket = value;

      /* A full bucket holds no information: forget it. */
      if (self->login_rate <= 0
          || bucket->tokens + (now - bucket->stamp) / (double) G_USEC_PER_SEC * self->login_rate >= burst)
        g_hash_table_iter_remove (&iter);
    }
  self->last_bucket_prune = now;
}

/* Forgets full buckets now and then, so the table follows the addresses that
 * are actually logging in. */
void
tether_server_auth_sweep (TetherServer *self,
                          gint64        now)
{
  if (now - self->last_bucket_prune >= BUCKET_PRUNE_INTERVAL)
    prune_login_buckets (self, now);
}
