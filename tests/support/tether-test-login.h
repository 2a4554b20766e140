/* tether-test-login.h: the `login` message of docs/protocol.md, for clients that speak
 * the protocol by hand (raw WebSocket clients of the server tests and the benches)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *app_id;             /* NULL: TETHER_TEST_APP_ID */
  const char *room_id;
  const char *user_id;            /* also the user's name */
  const char *token;
  gboolean    notify_users;
  const char *resume_session_id;  /* NULL: a fresh login, no `resume` */
  const char *resume_key;
  gint64      last_seq;
} TetherTestLogin;

char *tether_test_login_json (const TetherTestLogin *login);

G_END_DECLS
