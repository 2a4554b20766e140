/* tether-srt-url.h: SRT stream ids and URLs that any SRT tool can open
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *tether_srt_stream_id_new (const char *stream_id,
                                const char *mode,
                                const char *token);
char *tether_srt_url_new       (const char *node_url,
                                const char *stream_id,
                                const char *mode,
                                const char *token);
char *tether_srt_url_new_full  (const char *node_url,
                                const char *stream_id,
                                const char *mode,
                                const char *token,
                                const char *passphrase);

G_END_DECLS
