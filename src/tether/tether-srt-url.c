/* tether-srt-url.c: SRT stream ids and URLs that any SRT tool can open
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-srt-url.h"

/**
 * tether_srt_stream_id_new:
 * @stream_id: the room's stream id
 * @mode: "publish" or "request"
 * @token: (nullable): the credential the media node checks
 *
 * Builds the SRT stream id a media node expects from a publisher or a player.
 *
 * Returns: (transfer full): `#!::r=<stream id>,m=<mode>,t=<token>`, the standard SRT
 *   access-control syntax
 */
char *
tether_srt_stream_id_new (const char *stream_id,
                          const char *mode,
                          const char *token)
{
  GString *s = g_string_new ("#!::r=");

  g_return_val_if_fail (stream_id != NULL, NULL);
  g_return_val_if_fail (mode != NULL, NULL);

  g_string_append (s, stream_id);
  g_string_append (s, ",m=");
  g_string_append (s, mode);
  if (token != NULL && *token != '\0')
    {
      g_string_append (s, ",t=");
      g_string_append (s, token);
    }
  return g_string_free (s, FALSE);
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
  g_autofree char *sid = tether_srt_stream_id_new (stream_id, mode, token);
  g_autofree char *escaped = g_uri_escape_string (sid, NULL, FALSE);

  g_return_val_if_fail (node_url != NULL, NULL);

  return g_strdup_printf ("%s%cstreamid=%s", node_url, strchr (node_url, '?') ? '&' : '?',
                          escaped);
}
