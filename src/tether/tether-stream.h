/* tether-stream.h: a stream announced in a room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TETHER_TYPE_STREAM (tether_stream_get_type ())
G_DECLARE_FINAL_TYPE (TetherStream, tether_stream, TETHER, STREAM, GObject)

TetherStream *tether_stream_new            (const char   *id,
                                            const char   *user_id,
                                            const char   *user_name,
                                            const char   *node,
                                            const char   *extra);
const char   *tether_stream_get_id         (TetherStream *self);
const char   *tether_stream_get_user_id    (TetherStream *self);
const char   *tether_stream_get_user_name  (TetherStream *self);
const char   *tether_stream_get_node       (TetherStream *self);
const char   *tether_stream_get_extra      (TetherStream *self);
gboolean      tether_stream_equal          (TetherStream *a,
                                            TetherStream *b);

G_END_DECLS
