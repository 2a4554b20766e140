/* fuzz-protocol.c: one room-protocol frame through tether_protocol_parse(), as the
 * server (depth 8) and the room client (depth 64) parse it.
 *
 * Besides not crashing, a frame that is accepted must keep the promises of
 * docs/protocol.md and issue 8: a string "type", every string and member name valid
 * UTF-8, every double finite, and the object must survive a round trip — what the
 * server echoes back (an `extra`, a name) is parsed again by every client.
 *
 * Then every reader of tether-message.c reads it, whatever its type: the server's
 * readers either refuse it with a sendable reason or hand out fields that keep the
 * rules (ids, names, bounded extra), and a login they accept, built again with
 * tether_message_build_login(), reads back the same.
 *
 * Input: the frame, as is.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "tether-message.h"
#include "tether-protocol.h"
#include "fuzz-common.h"

static void
check_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            TETHER_FUZZ_CHECK (g_utf8_validate (name, -1, NULL));
            check_node (member);
          }
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          check_node (json_array_get_element (array, i));
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        TETHER_FUZZ_CHECK (g_utf8_validate (json_node_get_string (node), -1, NULL));
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        TETHER_FUZZ_CHECK (isfinite (json_node_get_double (node)));
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

static void
check_refusal (gboolean  ok,
               GError   *error)
{
  if (!ok)
    TETHER_FUZZ_CHECK (error != NULL && g_utf8_validate (error->message, -1, NULL));
  else
    TETHER_FUZZ_CHECK (error == NULL);
}

static void
check_login_round_trip (const TetherLoginMessage *login)
{
  g_autofree char *text = tether_message_build_login (login);
  g_autoptr(JsonObject) again = tether_protocol_parse (text, strlen (text), 64, NULL);
  TetherLoginMessage copy;

  TETHER_FUZZ_CHECK (again != NULL);
  TETHER_FUZZ_CHECK (tether_message_get_type (again) == TETHER_MESSAGE_LOGIN);
  TETHER_FUZZ_CHECK (tether_message_read_login (again, &copy, NULL));
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.app_id, login->app_id) == 0);
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.room_id, login->room_id) == 0);
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.user.id, login->user.id) == 0);
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.user.name, login->user.name) == 0);
  TETHER_FUZZ_CHECK (copy.notify_users == login->notify_users);
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.session_id, login->session_id) == 0);
  TETHER_FUZZ_CHECK (g_strcmp0 (copy.resume_key, login->resume_key) == 0);
  TETHER_FUZZ_CHECK (copy.last_seq == login->last_seq);
}

/* Every reader, whatever the type says: none may trust it. */
static void
read_all (JsonObject *msg)
{
  TetherLoginMessage login;
  TetherStreamAddMessage add;
  TetherStreamDeleteMessage del;
  TetherTokenRenewMessage renew;
  g_auto(TetherLoginOkMessage) login_ok = { 0 };
  g_auto(TetherEventMessage) event = { 0 };
  TetherTokenWillExpireMessage warning;
  TetherErrorMessage err;
  JsonNode *id;
  gint64 n;
  double d;
  const char *passphrase = NULL;

  {
    g_autoptr(GError) error = NULL;
    gboolean ok = tether_message_read_login (msg, &login, &error);

    check_refusal (ok, error);
    if (login.app_id != NULL)
      TETHER_FUZZ_CHECK (tether_protocol_valid_id (login.app_id));
    if (ok)
      {
        TETHER_FUZZ_CHECK (tether_protocol_valid_id (login.room_id));
        TETHER_FUZZ_CHECK (tether_protocol_valid_id (login.user.id));
        TETHER_FUZZ_CHECK (tether_protocol_valid_name (login.user.name));
        TETHER_FUZZ_CHECK ((login.session_id == NULL) == (login.resume_key == NULL));
        TETHER_FUZZ_CHECK (login.last_seq >= 0);
        check_login_round_trip (&login);
      }
  }
  {
    g_autoptr(GError) error = NULL;
    gboolean ok = tether_message_read_heartbeat (msg, &id, &error);

    check_refusal (ok, error);
  }
  {
    g_autoptr(GError) error = NULL;
    gboolean ok = tether_message_read_stream_add (msg, &add, &error);

    check_refusal (ok, error);
    if (ok)
      {
        TETHER_FUZZ_CHECK (tether_protocol_valid_id (add.stream.id));
        TETHER_FUZZ_CHECK (*add.stream.node == '\0' || tether_protocol_valid_id (add.stream.node));
        TETHER_FUZZ_CHECK (strlen (add.stream.extra) <= TETHER_PROTOCOL_MAX_EXTRA_LEN);
      }
  }
  {
    g_autoptr(GError) error = NULL;
    gboolean ok = tether_message_read_stream_delete (msg, &del, &error);

    check_refusal (ok, error);
    if (ok)
      TETHER_FUZZ_CHECK (g_str_equal (del.reason, TETHER_REASON_STOPPED)
                         || g_str_equal (del.reason, TETHER_REASON_MEDIA_LOST));
  }
  {
    g_autoptr(GError) error = NULL;
    gboolean ok = tether_message_read_token_renew (msg, &renew, &error);

    check_refusal (ok, error);
  }

  /* The client's side: lenient, but what it lists has ids, and a passphrase is one
   * libsrt takes. */
  tether_message_read_login_ok (msg, &login_ok);
  TETHER_FUZZ_CHECK (login_ok.srt_passphrase == NULL
                     || (strlen (login_ok.srt_passphrase) >= 10 && strlen (login_ok.srt_passphrase) <= 79));
  for (guint i = 0; i < login_ok.n_users; i++)
    TETHER_FUZZ_CHECK (login_ok.users[i].id != NULL);
  for (guint i = 0; i < login_ok.n_streams; i++)
    TETHER_FUZZ_CHECK (login_ok.streams[i].id != NULL);
  for (guint i = 0; i < login_ok.n_media_nodes; i++)
    TETHER_FUZZ_CHECK (login_ok.media_nodes[i].id != NULL && login_ok.media_nodes[i].url != NULL);
  if (tether_message_read_event (msg, &event))
    {
      for (guint i = 0; i < event.n_users; i++)
        TETHER_FUZZ_CHECK (event.users[i].id != NULL);
      for (guint i = 0; i < event.n_streams; i++)
        TETHER_FUZZ_CHECK (event.streams[i].id != NULL);
    }
  tether_message_read_heartbeat_ack (msg, &n);
  tether_message_read_request_ok (msg, &n);
  tether_message_read_token_renew_ok (msg, &n, &passphrase);
  TETHER_FUZZ_CHECK (passphrase == NULL || (strlen (passphrase) >= 10 && strlen (passphrase) <= 79));
  tether_message_read_token_will_expire (msg, &warning);
  tether_message_read_reconnect (msg, &d);
  tether_message_read_error (msg, 1013, &err);
}

static void
parse_at_depth (const uint8_t *data,
                size_t         size,
                guint          depth)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = tether_protocol_parse ((const char *) data, size, depth, &error);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (object == NULL)
    {
      /* The reason goes back to the peer in an error message: it must be sendable. */
      TETHER_FUZZ_CHECK (error != NULL && error->message != NULL);
      TETHER_FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
      return;
    }
  TETHER_FUZZ_CHECK (error == NULL);
  TETHER_FUZZ_CHECK (tether_json_get_string (object, "type") != NULL);

  root = json_node_init_object (json_node_alloc (), object);
  check_node (root);
  read_all (object);

  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  again = tether_protocol_parse (text, len, depth, &again_error);
  if (again == NULL)
    tether_fuzz_fail ("an accepted frame does not parse again after serialising: %s\n%s",
                      again_error->message, text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  parse_at_depth (data, size, TETHER_PROTOCOL_DEFAULT_MAX_DEPTH);
  parse_at_depth (data, size, 64);
  return 0;
}
