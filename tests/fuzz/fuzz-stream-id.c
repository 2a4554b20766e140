/* fuzz-stream-id.c: an SRT stream id as the media node receives it, through the one
 * parser, tether_srt_stream_id_parse(); what it accepts must come back the same
 * through the one builder, and a token it carries goes on to the token check.
 *
 * Input: the stream id text, e.g. `#!::r=cam1,m=publish,t=<token>` or its
 * URL-escaped form `%23%21%3A%3Ar%3Dcam1...` (a NUL ends it, as in libsrt).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-srt-url-private.h"
#include "fuzz-token-check.h"

/* A token the builder writes as `t=<token>` and the parser reads back as one: not
 * empty (left out) and not one of SRT's type names (those send the parser to `s=`). */
static gboolean
token_survives_building (const char *token)
{
  return token == NULL
         || (*token != '\0' && strcmp (token, "stream") != 0
             && strcmp (token, "file") != 0 && strcmp (token, "auth") != 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  g_autofree char *built = NULL;
  g_auto(TetherSrtStreamId) sid = { 0, };
  g_auto(TetherSrtStreamId) again = { 0, };
  TetherSrtStreamIdStatus status;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  text = tether_fuzz_strndup (data, size);
  status = tether_srt_stream_id_parse (text, &sid);
  if (status != TETHER_SRT_STREAM_ID_OK)
    {
      /* A refused id leaves nothing behind and says why. */
      TETHER_FUZZ_CHECK (status == TETHER_SRT_STREAM_ID_MALFORMED || status == TETHER_SRT_STREAM_ID_BAD_MODE);
      TETHER_FUZZ_CHECK (sid.resource == NULL && sid.user == NULL && sid.token == NULL);
      return 0;
    }

  /* Stream and user ids name things in rooms: they must be ids (docs/protocol.md). */
  TETHER_FUZZ_CHECK (tether_protocol_valid_id (sid.resource));
  TETHER_FUZZ_CHECK (sid.user == NULL || tether_protocol_valid_id (sid.user));
  TETHER_FUZZ_CHECK (sid.mode == TETHER_SRT_MODE_REQUEST || sid.mode == TETHER_SRT_MODE_PUBLISH);
  TETHER_FUZZ_CHECK (strlen (sid.resource) <= TETHER_SRT_STREAM_ID_MAX_LEN);

  /* The builder writes what the parser read, and the parser reads it back the same. */
  if (token_survives_building (sid.token))
    {
      built = tether_srt_stream_id_to_string (&sid);
      TETHER_FUZZ_CHECK (built != NULL && g_str_has_prefix (built, "#!::r="));
      TETHER_FUZZ_CHECK (tether_srt_stream_id_parse (built, &again) == TETHER_SRT_STREAM_ID_OK
                         || strlen (built) > TETHER_SRT_STREAM_ID_MAX_LEN);
      if (again.resource != NULL)
        {
          TETHER_FUZZ_CHECK (strcmp (again.resource, sid.resource) == 0);
          TETHER_FUZZ_CHECK (again.mode == sid.mode);
          TETHER_FUZZ_CHECK (g_strcmp0 (again.user, sid.user) == 0);
          TETHER_FUZZ_CHECK (g_strcmp0 (again.token, sid.token) == 0);
        }
    }

  if (sid.token != NULL)
    fuzz_token_verify_and_check (sid.token, NULL, 0);
  return 0;
}
