/* fuzz-stream-id.c: an SRT stream id as the media node receives it, through
 * tether_relay_stream_id_parse() and then, when it carries one, the token check.
 *
 * Input: the stream id text, e.g. `#!::r=cam1,m=publish,t=<token>` or its
 * URL-escaped form `%23%21%3A%3Ar%3Dcam1...` (a NUL ends it, as in libsrt).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <srt/srt.h>
#include <srt/access_control.h>

#include "tether-relay-private.h"
#include "fuzz-token-check.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  g_auto(TetherRelayStreamId) sid = { 0, };
  int code;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  text = tether_fuzz_strndup (data, size);
  code = tether_relay_stream_id_parse (text, &sid);
  if (code != 0)
    {
      /* A refused id leaves nothing behind and is refused with an SRT reject code. */
      TETHER_FUZZ_CHECK (code == SRT_REJX_BAD_REQUEST || code == SRT_REJX_BAD_MODE);
      TETHER_FUZZ_CHECK (sid.resource == NULL && sid.user == NULL && sid.token == NULL);
      return 0;
    }

  /* Stream and user ids name things in rooms: they must be ids (docs/protocol.md). */
  TETHER_FUZZ_CHECK (tether_protocol_valid_id (sid.resource));
  TETHER_FUZZ_CHECK (sid.user == NULL || tether_protocol_valid_id (sid.user));
  TETHER_FUZZ_CHECK (sid.mode == TETHER_RELAY_MODE_REQUEST || sid.mode == TETHER_RELAY_MODE_PUBLISH);
  TETHER_FUZZ_CHECK (strlen (sid.resource) <= TETHER_RELAY_MAX_STREAM_ID_LEN);

  if (sid.token != NULL)
    fuzz_token_verify_and_check (sid.token, NULL, 0);
  return 0;
}
