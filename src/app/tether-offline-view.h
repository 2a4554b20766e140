/* tether-offline-view.h: what the room area shows once the room gave up reconnecting
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TETHER_TYPE_OFFLINE_VIEW (tether_offline_view_get_type ())
G_DECLARE_FINAL_TYPE (TetherOfflineView, tether_offline_view, TETHER, OFFLINE_VIEW, GtkWidget)

GtkWidget       *tether_offline_view_new                 (void);
void             tether_offline_view_show                (TetherOfflineView *self,
                                                          const char        *reason,
                                                          GDateTime         *when);
void             tether_offline_view_hide                (TetherOfflineView *self);
void             tether_offline_view_set_busy            (TetherOfflineView *self,
                                                          gboolean           busy);
gboolean         tether_offline_view_get_busy            (TetherOfflineView *self);
gboolean         tether_offline_view_is_shown            (TetherOfflineView *self);
void             tether_offline_view_set_network_monitor (TetherOfflineView *self,
                                                          GNetworkMonitor   *monitor);

/* For the tests. */
const char      *tether_offline_view_get_reason          (TetherOfflineView *self);
const char      *tether_offline_view_get_time_text       (TetherOfflineView *self);
GtkWidget       *tether_offline_view_get_retry_button    (TetherOfflineView *self);

G_END_DECLS
