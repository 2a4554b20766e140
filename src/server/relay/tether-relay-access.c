/* tether-relay-access.c: the token check behind an SRT stream id (parsed by
 * tether_srt_stream_id_parse()), and the SRT reject code it answers with
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <srt/srt.h>
#include <srt/access_control.h>

#include "tether-error.h"
#include "tether-token.h"
#include "tether-relay-private.h"

void
tether_relay_access_clear (TetherRelayAccess *access)
{
  g_clear_pointer (&access->stream_id, g_free);
  g_clear_pointer (&access->user_id, g_free);
  g_clear_pointer (&access->room_id, g_free);
  g_clear_pointer (&access->pull_node, g_free);
  g_clear_pointer (&access->passphrase, tether_srt_passphrase_free);
}

/**
 * tether_relay_access_check:
 * @stream_id: (nullable): the SRT stream id as received
 * @out: (out caller-allocates): on success, what the connection may do
 * @error: a #TETHER_ERROR saying why, for logs (never holds the token)
 *
 * Checks what the stream id and its token alone decide: the token is valid, `u=`
 * (if any) names its user, publishing needs the publish privilege and playing the
 * login privilege, and a token with a stream list names this stream id. Rooms are
 * left to the owner table: the stream id names no room. On success @out also holds
 * the token's SRT passphrase, which the node sets when it encrypts.
 *
 * Returns: 0, or the SRT_REJX_* code to reject with
 */
int
tether_relay_access_check (const char         *stream_id,
                           const char         *app_id,
                           const char         *app_secret,
                           gint64              now,
                           gint64              skew,
                           TetherRelayAccess  *out,
                           GError            **error)
{
  g_auto(TetherSrtStreamId) sid = { 0, };
  g_autoptr(TetherTokenClaims) claims = NULL;
  TetherSrtStreamIdStatus status;

  memset (out, 0, sizeof *out);

  status = tether_srt_stream_id_parse (stream_id, &sid);
  if (status != TETHER_SRT_STREAM_ID_OK)
    {
      gboolean bad_mode = status == TETHER_SRT_STREAM_ID_BAD_MODE;

      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_STREAM_ID_INVALID,
                           bad_mode ? "stream id has an unknown mode"
                                    : "stream id is not #!::r=<stream>,m=<mode>,t=<token>");
      return bad_mode ? SRT_REJX_BAD_MODE : SRT_REJX_BAD_REQUEST;
    }

  if (sid.token == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_TOKEN_INVALID, "stream id carries no token");
      return SRT_REJX_UNAUTHORIZED;
    }

  claims = tether_token_verify (sid.token, app_secret, app_id, now, skew, error);
  if (claims == NULL)
    return SRT_REJX_UNAUTHORIZED;

  if (sid.user != NULL && strcmp (sid.user, claims->user_id) != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_USER_ID_INVALID,
                           "u= names another user than the token");
      return SRT_REJX_FORBIDDEN;
    }

  if (sid.mode == TETHER_SRT_MODE_PUBLISH && !tether_token_claims_allows_stream (claims, sid.resource))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PUBLISH_DENIED,
                           "token does not allow publishing this stream id");
      return SRT_REJX_FORBIDDEN;
    }
  if (sid.mode == TETHER_SRT_MODE_REQUEST && !(claims->privileges & TETHER_PRIVILEGE_LOGIN))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PLAY_DENIED,
                           "token does not allow playing");
      return SRT_REJX_FORBIDDEN;
    }
  /* tether_token_claims_allows_stream() also wants the publish privilege, which
   * a player need not have: its stream list is read here. */
  if (sid.mode == TETHER_SRT_MODE_REQUEST && claims->stream_ids != NULL
      && !g_strv_contains ((const char * const *) claims->stream_ids, sid.resource))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PLAY_DENIED,
                           "token does not allow playing this stream id");
      return SRT_REJX_FORBIDDEN;
    }

  out->mode = sid.mode;
  out->stream_id = g_steal_pointer (&sid.resource);
  out->user_id = g_strdup (claims->user_id);
  out->room_id = g_strdup (claims->room_id);
  /* Only a player pulls; a publisher's pull= means nothing and is ignored. */
  if (sid.mode == TETHER_SRT_MODE_REQUEST)
    out->pull_node = g_steal_pointer (&sid.pull);
  out->passphrase = tether_srt_passphrase_derive (app_secret, sid.token);
  return 0;
}
