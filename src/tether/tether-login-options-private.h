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
};

G_END_DECLS
