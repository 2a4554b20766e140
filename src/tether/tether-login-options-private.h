/* tether-login-options-private.h: the fields of TetherLoginOptions, which TetherRoom
 * reads directly
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-login-options.h"

G_BEGIN_DECLS

struct _TetherLoginOptions
{
  GObject parent_instance;

  char *server_url;
  char *app_id;
  char *room_id;
  char *user_id;
  char *user_name;
  char *token;
  gboolean notify_users;
  char **server_urls;  /* more room services, tried after server_url; NULL: none */
};

GPtrArray *_tether_login_options_dup_urls (TetherLoginOptions *self);

G_END_DECLS
