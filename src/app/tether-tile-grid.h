/* tether-tile-grid.h: the video grid — rows and columns from the tiles' shape and the
 * space there is, a stable slot per tile, moves animated
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TETHER_TYPE_TILE_GRID (tether_tile_grid_get_type ())
G_DECLARE_FINAL_TYPE (TetherTileGrid, tether_tile_grid, TETHER, TILE_GRID, GtkWidget)

GtkWidget *tether_tile_grid_new            (void);
void       tether_tile_grid_add            (TetherTileGrid *self,
                                            GtkWidget      *tile,
                                            const char     *stream_id,
                                            const char     *user_id,
                                            GdkPaintable   *video);
void       tether_tile_grid_remove         (TetherTileGrid *self,
                                            GtkWidget      *tile);
void       tether_tile_grid_set_focused    (TetherTileGrid *self,
                                            GtkWidget      *tile);

/* Read-outs for tests/test-app-layout.c. */
void       tether_tile_grid_get_layout     (TetherTileGrid *self,
                                            guint          *columns,
                                            guint          *rows);
gboolean   tether_tile_grid_get_animating  (TetherTileGrid *self);
gboolean   tether_tile_grid_get_settled    (TetherTileGrid *self);

G_END_DECLS
