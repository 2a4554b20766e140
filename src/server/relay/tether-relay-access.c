/* tether-relay-access.c: SRT Access Control stream ids and the token check behind them
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <srt/srt.h>
#include <srt/access_control.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-token.h"
#include "tether-relay-private.h"

void
tether_relay_stream_id_clear (TetherRelayStreamId *sid)
{
  g_clear_pointer (&sid->resource, g_free);
  g_clear_pointer (&sid->user, g_free);
  g_clear_pointer (&sid->token, g_free);
  sid->mode = TETHER_RELAY_MODE_REQUEST;
}

static gboolean
set_once (char       **slot,
          const char  *value)
{
  if (*slot != NULL)
    return FALSE;
  *slot = g_strdup (value);
  return TRUE;
}

/**
 * tether_relay_stream_id_parse:
 * @text: (nullable): the stream id the caller sent
 * @out: (out caller-allocates): the parsed keys; clear with tether_relay_stream_id_clear()
 *
 * Reads `#!::r=<stream>,m=publish|request,t=<token>[,u=<user>]`, also URL-escaped
 * as a whole. Unknown keys are
 * ignored, as the SRT Access Control text allows. When `t=` holds one of the SRT
 * types (`stream`, `file`, `auth`) the token is taken from `s=` instead.
 *
 * Returns: 0, or the SRT_REJX_* code to reject with
 */
int
tether_relay_stream_id_parse (const char          *text,
                              TetherRelayStreamId *out)
{
  g_auto(GStrv) items = NULL;
  g_autofree char *unescaped = NULL;
  g_autofree char *t = NULL;
  g_autofree char *s = NULL;
  g_autofree char *m = NULL;

  memset (out, 0, sizeof *out);

  if (text == NULL || strlen (text) > TETHER_RELAY_MAX_STREAM_ID_LEN)
    return SRT_REJX_BAD_REQUEST;

  /* Some callers pass the URL-escaped form from `srt://…?streamid=%23%21%3A%3A…`
   * verbatim (GStreamer 1.22's srtsrc/srtsink, srt-live-transmit). Nothing in a
   * valid id needs a '%', so undoing the escape is unambiguous. */
  if (g_ascii_strncasecmp (text, "%23", 3) == 0)
    {
      unescaped = g_uri_unescape_string (text, NULL);
      if (unescaped == NULL)
        return SRT_REJX_BAD_REQUEST;
      text = unescaped;
    }

  if (!g_str_has_prefix (text, "#!::"))
    return SRT_REJX_BAD_REQUEST;

  items = g_strsplit (text + 4, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      char *eq = strchr (items[i], '=');
      const char *key = items[i];
      const char *value;
      gboolean ok = TRUE;

      if (eq == NULL || eq == items[i])
        goto bad;
      *eq = '\0';
      value = eq + 1;

      if (strcmp (key, "r") == 0)
        ok = set_once (&out->resource, value);
      else if (strcmp (key, "m") == 0)
        ok = set_once (&m, value);
      else if (strcmp (key, "t") == 0)
        ok = set_once (&t, value);
      else if (strcmp (key, "s") == 0)
        ok = set_once (&s, value);
      else if (strcmp (key, "u") == 0)
        ok = set_once (&out->user, value);
      if (!ok)
        goto bad;
    }

  if (!tether_protocol_valid_id (out->resource)
      || (out->user != NULL && !tether_protocol_valid_id (out->user)))
    goto bad;

  if (m == NULL || strcmp (m, "request") == 0)
    out->mode = TETHER_RELAY_MODE_REQUEST;
  else if (strcmp (m, "publish") == 0)
    out->mode = TETHER_RELAY_MODE_PUBLISH;
  else
    {
      tether_relay_stream_id_clear (out);
      return SRT_REJX_BAD_MODE;
    }

  if (t != NULL && (strcmp (t, "stream") == 0 || strcmp (t, "file") == 0 || strcmp (t, "auth") == 0))
    out->token = g_steal_pointer (&s);
  else
    out->token = t != NULL ? g_steal_pointer (&t) : g_steal_pointer (&s);

  return 0;

bad:
  tether_relay_stream_id_clear (out);
  return SRT_REJX_BAD_REQUEST;
}

void
tether_relay_access_clear (TetherRelayAccess *access)
{
  g_clear_pointer (&access->stream_id, g_free);
  g_clear_pointer (&access->user_id, g_free);
  g_clear_pointer (&access->room_id, g_free);
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
 * left to the owner table: the stream id names no room.
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
  g_auto(TetherRelayStreamId) sid = { 0, };
  g_autoptr(TetherTokenClaims) claims = NULL;
  int code;

  memset (out, 0, sizeof *out);

  code = tether_relay_stream_id_parse (stream_id, &sid);
  if (code != 0)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_STREAM_ID_INVALID,
                           code == SRT_REJX_BAD_MODE ? "stream id has an unknown mode"
                                                     : "stream id is not #!::r=<stream>,m=<mode>,t=<token>");
      return code;
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

  if (sid.mode == TETHER_RELAY_MODE_PUBLISH && !tether_token_claims_allows_stream (claims, sid.resource))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PUBLISH_DENIED,
                           "token does not allow publishing this stream id");
      return SRT_REJX_FORBIDDEN;
    }
  if (sid.mode == TETHER_RELAY_MODE_REQUEST && !(claims->privileges & TETHER_PRIVILEGE_LOGIN))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PLAY_DENIED,
                           "token does not allow playing");
      return SRT_REJX_FORBIDDEN;
    }
  /* tether_token_claims_allows_stream() also wants the publish privilege, which
   * a player need not have: its stream list is read here. */
  if (sid.mode == TETHER_RELAY_MODE_REQUEST && claims->stream_ids != NULL
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
  return 0;
}
