/* tether-application.h: the single-instance application — owner of the session — its
 * actions and shortcuts
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tether-session.h"

G_BEGIN_DECLS

#define TETHER_APP_ID "io.github.tetherlive.Tether"
#define TETHER_TYPE_APPLICATION (tether_application_get_type ())
G_DECLARE_FINAL_TYPE (TetherApplication, tether_application, TETHER, APPLICATION, AdwApplication)

TetherApplication *tether_application_new         (void);
TetherSession     *tether_application_get_session (TetherApplication *self);

G_END_DECLS
