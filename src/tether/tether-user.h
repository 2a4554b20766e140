/* tether-user.h: a person in a room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TETHER_TYPE_USER (tether_user_get_type ())
G_DECLARE_FINAL_TYPE (TetherUser, tether_user, TETHER, USER, GObject)

TetherUser  *tether_user_new       (const char *id,
                                    const char *name);
const char  *tether_user_get_id    (TetherUser *self);
const char  *tether_user_get_name  (TetherUser *self);

G_END_DECLS
