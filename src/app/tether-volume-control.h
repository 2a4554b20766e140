/* tether-volume-control.h: a volume button whose popover holds a mute switch and a
 * slider, for a tile and for the window's overall volume
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TETHER_TYPE_VOLUME_CONTROL (tether_volume_control_get_type ())
G_DECLARE_FINAL_TYPE (TetherVolumeControl, tether_volume_control, TETHER, VOLUME_CONTROL, GtkWidget)

GtkWidget *tether_volume_control_new        (void);
double     tether_volume_control_get_volume (TetherVolumeControl *self);
void       tether_volume_control_set_volume (TetherVolumeControl *self,
                                             double               volume);
gboolean   tether_volume_control_get_muted  (TetherVolumeControl *self);
void       tether_volume_control_set_muted  (TetherVolumeControl *self,
                                             gboolean             muted);
/* The slider, for tests/test-app-tile.c. */
GtkRange  *tether_volume_control_get_range  (TetherVolumeControl *self);

/* The slider's 0–1 (perceptual, cubic) as a linear amplitude factor. */
double     tether_volume_to_linear          (double               volume);

G_END_DECLS
