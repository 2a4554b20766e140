/* tether-login-options.h: what a room login needs — server, app, room, user, token
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TETHER_TYPE_LOGIN_OPTIONS (tether_login_options_get_type ())
G_DECLARE_FINAL_TYPE (TetherLoginOptions, tether_login_options, TETHER, LOGIN_OPTIONS, GObject)

TetherLoginOptions *tether_login_options_new              (void);
TetherLoginOptions *tether_login_options_copy             (TetherLoginOptions *self);

const char         *tether_login_options_get_server_url   (TetherLoginOptions *self);
void                tether_login_options_set_server_url   (TetherLoginOptions *self,
                                                           const char         *server_url);
const char * const *tether_login_options_get_server_urls  (TetherLoginOptions *self);
void                tether_login_options_set_server_urls  (TetherLoginOptions *self,
                                                           const char * const *server_urls);
const char         *tether_login_options_get_app_id       (TetherLoginOptions *self);
void                tether_login_options_set_app_id       (TetherLoginOptions *self,
                                                           const char         *app_id);
const char         *tether_login_options_get_room_id      (TetherLoginOptions *self);
void                tether_login_options_set_room_id      (TetherLoginOptions *self,
                                                           const char         *room_id);
const char         *tether_login_options_get_user_id      (TetherLoginOptions *self);
void                tether_login_options_set_user_id      (TetherLoginOptions *self,
                                                           const char         *user_id);
const char         *tether_login_options_get_user_name    (TetherLoginOptions *self);
void                tether_login_options_set_user_name    (TetherLoginOptions *self,
                                                           const char         *user_name);
const char         *tether_login_options_get_token        (TetherLoginOptions *self);
void                tether_login_options_set_token        (TetherLoginOptions *self,
                                                           const char         *token);
gboolean            tether_login_options_get_notify_users (TetherLoginOptions *self);
void                tether_login_options_set_notify_users (TetherLoginOptions *self,
                                                           gboolean            notify_users);

G_END_DECLS
