/* tether-srt-url-private.h: the SRT stream id as a struct — the one builder and the
 * one parser of `#!::r=…,m=…,u=…,t=…[,pull=…]` (docs/protocol.md, "Stream id"), shared by
 * libtether's links, the media node, the tests and the benches
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tether-srt-url.h"

G_BEGIN_DECLS

/* The SRT limit on a stream id. */
#define TETHER_SRT_STREAM_ID_MAX_LEN 512

typedef enum
{
  TETHER_SRT_MODE_REQUEST,  /* m=request, or no m=: play */
  TETHER_SRT_MODE_PUBLISH,  /* m=publish */
} TetherSrtMode;

/* A stream id in the SRT Access Control syntax, `#!::key=value,...`. */
typedef struct
{
  char *resource;           /* r=, an id (tether_protocol_valid_id()) */
  TetherSrtMode mode;       /* m=, default request */
  char *user;               /* u=, nullable; an id when set */
  char *token;              /* t= (or s= when t= names an SRT type), nullable */
  char *pull;               /* pull=, nullable; an id when set: the media node that pulls
                             * the stream for its own players (docs/design.md, "Media cascade") */
} TetherSrtStreamId;

/* Why a stream id was refused; the media node answers with SRT_REJX_BAD_REQUEST
 * for MALFORMED and SRT_REJX_BAD_MODE for BAD_MODE. */
typedef enum
{
  TETHER_SRT_STREAM_ID_OK = 0,
  TETHER_SRT_STREAM_ID_MALFORMED,
  TETHER_SRT_STREAM_ID_BAD_MODE,
} TetherSrtStreamIdStatus;

const char              *tether_srt_mode_to_string       (TetherSrtMode            mode);
gboolean                 tether_srt_mode_from_string     (const char              *text,
                                                          TetherSrtMode           *out);

char                    *tether_srt_stream_id_to_string  (const TetherSrtStreamId *sid);
TetherSrtStreamIdStatus  tether_srt_stream_id_parse      (const char              *text,
                                                          TetherSrtStreamId       *out);
void                     tether_srt_stream_id_clear      (TetherSrtStreamId       *sid);

/* The SRT passphrase of a token (docs/protocol.md, "Media encryption"):
 * base64url(HMAC-SHA-256(app secret, TETHER_SRT_PASSPHRASE_LABEL || token)), 43
 * characters. The room service hands it to the token's holder; a media node sets it
 * on each connection whose stream id carries that token. */
#define TETHER_SRT_PASSPHRASE_LABEL "tether-srt-passphrase\n"
#define TETHER_SRT_PASSPHRASE_LEN 43

char                    *tether_srt_passphrase_derive    (const char              *app_secret,
                                                          const char              *token);
void                     tether_srt_passphrase_free      (char                    *passphrase);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TetherSrtStreamId, tether_srt_stream_id_clear)

G_END_DECLS
