/* tether-window-private.h: what tether-window.c and tether-window-actions.c share, and
 * the read-outs tests/test-app.c checks the window with
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-connection-badge-private.h"
#include "tether-offline-view.h"
#include "tether-start-page-private.h"
#include "tether-window.h"

G_BEGIN_DECLS

struct _TetherWindow
{
  AdwApplicationWindow parent_instance;

  TetherSession *session;
  GSignalGroup *room_signals;        /* follow the session's room */
  GBindingGroup *room_bindings;
  GSignalGroup *publisher_signals;   /* and its publisher */
  GtkNoSelection *users_selection;
  GtkNoSelection *streams_selection;

  GHashTable *tiles;                 /* stream id → TetherVideoTile (a reference) */
  GPtrArray *tile_order;             /* TetherVideoTile, in the order they came */
  GPtrArray *stream_rows;            /* bound TetherStreamRow, not owned */
  TetherVideoTile *focused_tile;
  gint64 break_started;              /* monotonic µs when RECONNECTING began */
  char *last_toast;
  GCancellable *demo_cancellable;
  TetherOfflineView *offline_view;   /* over the tiles once the room gave up */

  /* template children */
  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  TetherStartPage *start_page;
  AdwHeaderBar *room_header;
  AdwWindowTitle *room_title;
  TetherConnectionBadge *badge;
  AdwFlap *flap;
  GtkListView *users_view;
  GtkListView *streams_view;
  GtkLabel *users_count;
  GtkLabel *streams_count;
  GtkStack *grid_stack;
  GtkGrid *video_grid;
  GtkButton *publish_button;
  GtkLabel *publish_badge;
};

/* tether-window.c */
void _tether_window_show_toast       (TetherWindow    *self,
                                      const char      *title,
                                      guint            timeout);
void _tether_window_set_focused_tile (TetherWindow    *self,
                                      TetherVideoTile *tile);

/* tether-window-actions.c */
void _tether_window_class_actions_init (TetherWindowClass *klass);
void _tether_window_actions_update     (TetherWindow      *self);

/* For tests/test-app.c. */
TetherConnectionBadge *tether_window_get_badge      (TetherWindow *self);
TetherStartPage       *tether_window_get_start_page (TetherWindow *self);
const char            *tether_window_get_page_name  (TetherWindow *self);
guint                  tether_window_get_n_tiles    (TetherWindow *self);
TetherVideoTile       *tether_window_get_tile       (TetherWindow *self,
                                                     const char   *stream_id);
TetherVideoTile       *tether_window_get_nth_tile   (TetherWindow *self,
                                                     guint         index);
const char            *tether_window_get_last_toast (TetherWindow *self);
TetherOfflineView     *tether_window_get_offline_view (TetherWindow *self);

G_END_DECLS
