/* tether-stream-row.h: one row of the Streams list — name, owner, player state, bitrate, fps
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tether.h"

G_BEGIN_DECLS

#define TETHER_TYPE_STREAM_ROW (tether_stream_row_get_type ())
G_DECLARE_FINAL_TYPE (TetherStreamRow, tether_stream_row, TETHER, STREAM_ROW, GtkWidget)

GtkWidget    *tether_stream_row_new        (void);
void          tether_stream_row_set_stream (TetherStreamRow *self,
                                            TetherStream    *stream);
TetherStream *tether_stream_row_get_stream (TetherStreamRow *self);
/* The player of the stream, or NULL when it is not played. */
void          tether_stream_row_set_player (TetherStreamRow *self,
                                            TetherPlayer    *player);
/* The network-quality icon, for tests. */
GtkImage     *tether_stream_row_get_quality_image (TetherStreamRow *self);

G_END_DECLS
