/* tether-test-login.c: the `login` message, written by hand
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "tether-protocol.h"
#include "tether-test-login.h"
#include "tether-test-utils.h"

/**
 * tether_test_login_json:
 * @login: what to log in with
 *
 * Returns: (transfer full): `{"type": "login", "v": 1, "app_id": …, "room_id": …,
 *   "user": {"id": …, "name": …}, "token": …, "notify_users": …}`, with
 *   `"resume": {"session_id", "resume_key", "last_seq"}` when @login has a
 *   session to resume
 */
char *
tether_test_login_json (const TetherTestLogin *login)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "login");
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "app_id");
  json_builder_add_string_value (b, login->app_id != NULL ? login->app_id : TETHER_TEST_APP_ID);
  json_builder_set_member_name (b, "room_id");
  json_builder_add_string_value (b, login->room_id);
  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, login->user_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, login->user_id);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, login->token);
  json_builder_set_member_name (b, "notify_users");
  json_builder_add_boolean_value (b, login->notify_users);
  if (login->resume_session_id != NULL)
    {
      json_builder_set_member_name (b, "resume");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "session_id");
      json_builder_add_string_value (b, login->resume_session_id);
      json_builder_set_member_name (b, "resume_key");
      json_builder_add_string_value (b, login->resume_key);
      json_builder_set_member_name (b, "last_seq");
      json_builder_add_int_value (b, login->last_seq);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  return tether_protocol_serialize (b);
}
