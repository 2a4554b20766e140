/* tether-preferences.h: the preferences window, bound to GSettings
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TETHER_TYPE_PREFERENCES (tether_preferences_get_type ())
G_DECLARE_FINAL_TYPE (TetherPreferences, tether_preferences, TETHER, PREFERENCES, AdwPreferencesWindow)

GtkWidget *tether_preferences_new (GtkWindow *parent);

G_END_DECLS
