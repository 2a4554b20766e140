/* tether-srt-url.c: SRT stream ids and URLs that any SRT tool can open — the one
 * builder and the one parser of the stream id (docs/protocol.md, "Stream id")
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-protocol.h"
#include "tether-token.h"
#include "tether-srt-url-private.h"

/* tether_srt_mode_to_string:
 * Returns: "request" or "publish", the value of `m=` */
const char *
tether_srt_mode_to_string (TetherSrtMode mode)
{
  return mode == TETHER_SRT_MODE_PUBLISH ? "publish" : "request";
}

/* tether_srt_mode_from_string:
 * @text: (nullable): "request" or "publish"; %NULL (no `m=`) means "request"
 * Returns: %FALSE for any other text */
gboolean
tether_srt_mode_from_string (const char    *text,
                             TetherSrtMode *out)
{
  if (text == NULL || strcmp (text, "request") == 0)
    *out = TETHER_SRT_MODE_REQUEST;
  else if (strcmp (text, "publish") == 0)
    *out = TETHER_SRT_MODE_PUBLISH;
  else
    return FALSE;
  return TRUE;
}

/* tether_srt_stream_id_to_string:
 * @sid: the parts; resource and user must be ids, the token must hold no `,`
 *
 * The one builder. A %NULL or empty user or token is left out.
 * tether_srt_stream_id_parse() reads the result back as @sid.
 *
 * Returns: (transfer full): `#!::r=<resource>,m=<mode>[,u=<user>][,pull=<node>][,t=<token>]` */
char *
tether_srt_stream_id_to_string (const TetherSrtStreamId *sid)
{
  GString *s;

  g_return_val_if_fail (sid != NULL, NULL);
  g_return_val_if_fail (sid->resource != NULL, NULL);

  s = g_string_new ("#!::r=");
  g_string_append (s, sid->resource);
  g_string_append (s, ",m=");
  g_string_append (s, tether_srt_mode_to_string (sid->mode));
  if (sid->user != NULL && *sid->user != '\0')
    {
      g_string_append (s, ",u=");
      g_string_append (s, sid->user);
    }
  if (sid->pull != NULL && *sid->pull != '\0')
    {
      g_string_append (s, ",pull=");
      g_string_append (s, sid->pull);
    }
  if (sid->token != NULL && *sid->token != '\0')
    {
      g_string_append (s, ",t=");
      g_string_append (s, sid->token);
    }
  return g_string_free (s, FALSE);
}

void
tether_srt_stream_id_clear (TetherSrtStreamId *sid)
{
  g_clear_pointer (&sid->resource, g_free);
  g_clear_pointer (&sid->user, g_free);
  g_clear_pointer (&sid->token, g_free);
  g_clear_pointer (&sid->pull, g_free);
  sid->mode = TETHER_SRT_MODE_REQUEST;
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

/* tether_srt_stream_id_parse:
 * @text: (nullable): the stream id a caller sent
 * @out: (out caller-allocates): the parsed keys; clear with
 *   tether_srt_stream_id_clear(). Left empty when the text is refused.
 *
 * The one parser, as docs/protocol.md ("Stream id") spells the rules: at most 512
 * bytes; URL-escaped as a whole when it begins with `%23`; `#!::` then `key=value`
 * items split at `,`, no empty key, no key twice, unknown keys ignored; `r=`
 * required and an id, `u=` and `pull=` ids; `m=` request (default) or publish; the token
 * from `t=`, or from `s=` when `t=` holds an SRT type (`stream`, `file`, `auth`)
 * or is absent. The first rule that fails decides the status.
 *
 * Returns: %TETHER_SRT_STREAM_ID_OK, or why @text is refused */
TetherSrtStreamIdStatus
tether_srt_stream_id_parse (const char        *text,
                            TetherSrtStreamId *out)
{
  g_auto(GStrv) items = NULL;
  g_autofree char *unescaped = NULL;
  g_autofree char *t = NULL;
  g_autofree char *s = NULL;
  g_autofree char *m = NULL;

  memset (out, 0, sizeof *out);

  if (text == NULL || strlen (text) > TETHER_SRT_STREAM_ID_MAX_LEN)
    return TETHER_SRT_STREAM_ID_MALFORMED;

  /* Some callers pass the URL-escaped form from `srt://…?streamid=%23%21%3A%3A…`
   * verbatim (GStreamer 1.22's srtsrc/srtsink, srt-live-transmit). Nothing in a
   * valid id needs a '%', so undoing the escape is unambiguous. */
  if (g_ascii_strncasecmp (text, "%23", 3) == 0)
    {
      unescaped = g_uri_unescape_string (text, NULL);
      if (unescaped == NULL)
        return TETHER_SRT_STREAM_ID_MALFORMED;
      text = unescaped;
    }

  if (!g_str_has_prefix (text, "#!::"))
    return TETHER_SRT_STREAM_ID_MALFORMED;

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
      else if (strcmp (key, "pull") == 0)
        ok = set_once (&out->pull, value);
      if (!ok)
        goto bad;
    }

  if (!tether_protocol_valid_id (out->resource)
      || (out->user != NULL && !tether_protocol_valid_id (out->user))
      || (out->pull != NULL && !tether_protocol_valid_id (out->pull)))
    goto bad;

  if (!tether_srt_mode_from_string (m, &out->mode))
    {
      tether_srt_stream_id_clear (out);
      return TETHER_SRT_STREAM_ID_BAD_MODE;
    }

  if (t != NULL && (strcmp (t, "stream") == 0 || strcmp (t, "file") == 0 || strcmp (t, "auth") == 0))
    out->token = g_steal_pointer (&s);
  else
    out->token = t != NULL ? g_steal_pointer (&t) : g_steal_pointer (&s);

  return TETHER_SRT_STREAM_ID_OK;

bad:
  tether_srt_stream_id_clear (out);
  return TETHER_SRT_STREAM_ID_MALFORMED;
}

/* tether_srt_passphrase_derive:
 * @app_secret: the app secret (the key of the HMAC; never the passphrase itself)
 * @token: the token as sent, the `t=` of the stream id
 *
 * The label keeps this MAC apart from a token's signature (computed over base64url
 * text, which has no newline) and a node report's (another label).
 *
 * Returns: (transfer full): the passphrase, TETHER_SRT_PASSPHRASE_LEN characters of
 *   the base64url alphabet (SRT wants 10 to 79) */
char *
tether_srt_passphrase_derive (const char *app_secret,
                              const char *token)
{
  g_autoptr(GHmac) hmac = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  char *passphrase;

  g_return_val_if_fail (app_secret != NULL, NULL);
  g_return_val_if_fail (token != NULL, NULL);

  hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) app_secret, strlen (app_secret));
  g_hmac_update (hmac, (const guchar *) TETHER_SRT_PASSPHRASE_LABEL, -1);
  g_hmac_update (hmac, (const guchar *) token, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  passphrase = tether_base64url_encode (digest, digest_len);
  memset (digest, 0, sizeof digest);
  g_assert (strlen (passphrase) == TETHER_SRT_PASSPHRASE_LEN);
  return passphrase;
}

/* tether_srt_passphrase_free:
 * @passphrase: (nullable): a passphrase (or any secret string)
 *
 * Overwrites it, then frees it: a secret does not linger in freed memory. */
void
tether_srt_passphrase_free (char *passphrase)
{
  if (passphrase == NULL)
    return;
  memset (passphrase, 0, strlen (passphrase));
  g_free (passphrase);
}

/**
 * tether_srt_stream_id_new:
 * @stream_id: the room's stream id
 * @mode: "publish" or "request"
 * @token: (nullable): the credential the media node checks
 *
 * Builds the stream id a player (@mode "request") or a publisher (@mode
 * "publish") sends to a media node.
 *
 * Returns: (transfer full): `#!::r=<stream id>,m=<mode>,t=<token>`, the standard SRT
 *   access-control syntax
 */
char *
tether_srt_stream_id_new (const char *stream_id,
                          const char *mode,
                          const char *token)
{
  TetherSrtStreamId sid = { (char *) stream_id, TETHER_SRT_MODE_REQUEST, NULL, (char *) token };

  g_return_val_if_fail (stream_id != NULL, NULL);
  g_return_val_if_fail (mode != NULL, NULL);
  g_return_val_if_fail (tether_srt_mode_from_string (mode, &sid.mode), NULL);

  return tether_srt_stream_id_to_string (&sid);
}

/**
 * tether_srt_url_new:
 * @node_url: a media node, `srt://HOST:PORT`
 * @stream_id: the room's stream id
 * @mode: "publish" or "request"
 * @token: (nullable): the credential the media node checks
 *
 * Builds a URL any SRT tool can open: the node's URL with the stream id of
 * tether_srt_stream_id_new() as its `streamid` query parameter.
 *
 * Returns: (transfer full): `srt://HOST:PORT?streamid=…` with the stream id
 *   URL-escaped, for gst-launch (srtsrc/srtsink uri), ffplay, mpv or OBS
 */
char *
tether_srt_url_new (const char *node_url,
                    const char *stream_id,
                    const char *mode,
                    const char *token)
{
  return tether_srt_url_new_full (node_url, stream_id, mode, token, NULL);
}

/**
 * tether_srt_url_new_full:
 * @node_url: a media node, `srt://HOST:PORT`
 * @stream_id: the room's stream id
 * @mode: "publish" or "request"
 * @token: (nullable): the credential the media node checks
 * @passphrase: (nullable): the SRT passphrase of @token
 *   ([method@Tether.Room.get_srt_passphrase]), %NULL for a node that does not
 *   encrypt
 *
 * Builds a URL any SRT tool can open, as tether_srt_url_new() does, with the
 * passphrase as its `passphrase` query parameter when there is one: ffmpeg, ffplay,
 * mpv and GStreamer's srtsrc/srtsink read both parameters from the URL.
 *
 * Returns: (transfer full): `srt://HOST:PORT?streamid=…[&passphrase=…]`
 */
char *
tether_srt_url_new_full (const char *node_url,
                         const char *stream_id,
                         const char *mode,
                         const char *token,
                         const char *passphrase)
{
  g_autofree char *sid = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *escaped_pass = NULL;

  g_return_val_if_fail (node_url != NULL, NULL);

  sid = tether_srt_stream_id_new (stream_id, mode, token);
  if (sid == NULL)
    return NULL;
  escaped = g_uri_escape_string (sid, NULL, FALSE);
  if (passphrase == NULL || *passphrase == '\0')
    return g_strdup_printf ("%s%cstreamid=%s", node_url, strchr (node_url, '?') ? '&' : '?',
                            escaped);

  escaped_pass = g_uri_escape_string (passphrase, NULL, FALSE);
  return g_strdup_printf ("%s%cstreamid=%s&passphrase=%s", node_url,
                          strchr (node_url, '?') ? '&' : '?', escaped, escaped_pass);
}
