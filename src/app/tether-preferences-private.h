/* tether-preferences-private.h: read-outs tests/test-app-publish.c checks the
 * preferences with
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-preferences.h"

G_BEGIN_DECLS

GtkSpinButton *tether_preferences_get_room_retry_spin (TetherPreferences *self);
GtkSpinButton *tether_preferences_get_av_retry_spin   (TetherPreferences *self);

G_END_DECLS
