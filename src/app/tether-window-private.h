/* tether-window-private.h: what tether-window.c and tether-window-actions.c share, and
 * the read-outs tests/test-app.c checks the window with
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-connection-badge-private.h"
#include "tether-offline-view.h"
#include "tether-publish-preview.h"
#include "tether-mixer.h"
#include "tether-start-page-private.h"
#include "tether-volume-control.h"
#include "tether-tile-grid.h"
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
  AdwToast *break_toast;             /* "Connection lost", until dismissed */
  char *last_toast;
  GCancellable *demo_cancellable;
  TetherOfflineView *offline_view;   /* over the tiles once the room gave up */
  TetherPublishPreview *preview;     /* the self-view before going live, while open */
  GListStore *me;                    /* the People list's first row: yourself */
  GtkFilterListModel *others;        /* the room's users but you */
  TetherMixer *mixer;                /* the overall volume (tether-window-tile-keys.c) */
  gboolean stats_shown;              /* i with no tile focused showed every tile's stats */

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
  TetherTileGrid *video_grid;
  AdwStatusPage *empty_status;
  GtkButton *publish_button;
  GtkLabel *publish_badge;
  GtkButton *narrow_publish_button;  /* the Publish/Stop button as an icon, at phone width */

  /* fullscreen (tether-window-fullscreen.c) */
  AdwFlap *header_flap;              /* the room's header bar: above the room, or over it */
  GtkButton *leave_fullscreen_button;
  GtkEventController *motion;        /* the pointer moved: show the controls */
  GtkEventController *header_motion; /* is the pointer over the header bar? */
  gboolean fullscreen;               /* F11: the window wants the whole screen */
  gboolean filled;                   /* what was last asked of the window manager */
  gboolean immersive;                /* the room page without header bar and sidebar */
  gboolean sidebar_was_revealed;     /* before the room became immersive */
  guint controls_hide_ms;
  guint controls_hide_id;
  double pointer_x, pointer_y;
  TetherVolumeControl *volume_control;
};

/* tether-window.c */
AdwToast *_tether_window_show_toast (TetherWindow    *self,
                                     const char      *title,
                                     guint            timeout);
void _tether_window_set_focused_tile (TetherWindow    *self,
                                      TetherVideoTile *tile);

/* tether-window-actions.c */
void _tether_window_class_actions_init (TetherWindowClass *klass);
void _tether_window_actions_update     (TetherWindow      *self);

/* tether-window-fullscreen.c */
void _tether_window_fullscreen_init       (TetherWindow *self);
void _tether_window_fullscreen_dispose    (TetherWindow *self);
void _tether_window_set_fullscreen        (TetherWindow *self,
                                           gboolean      fullscreen);
void _tether_window_update_fullscreen     (TetherWindow *self);
void _tether_window_leave_fullscreen_step (TetherWindow *self);
/* tether-window-tile-keys.c */
void _tether_window_tile_keys_class_init (TetherWindowClass *klass);
void _tether_window_tile_keys_setup      (TetherWindow      *self);
void _tether_window_tile_keys_tile_added (TetherWindow      *self,
                                          TetherVideoTile   *tile);

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
gboolean               tether_window_get_break_toast_shown (TetherWindow *self);
TetherOfflineView     *tether_window_get_offline_view (TetherWindow *self);
/* For tests/test-app-fullscreen.c. */
gboolean            tether_window_get_immersive              (TetherWindow *self);
void                tether_window_set_controls_hide_delay    (TetherWindow *self,
                                                              guint         ms);
GtkEventController *tether_window_get_immersive_motion       (TetherWindow *self);
TetherPublishPreview  *tether_window_get_publish_preview (TetherWindow *self);
const char            *tether_window_get_subtitle   (TetherWindow *self);
GListModel            *tether_window_get_people     (TetherWindow *self);
char                  *tether_window_dup_person_label (TetherWindow *self,
                                                       guint         position);

G_END_DECLS
