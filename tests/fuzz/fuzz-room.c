/* fuzz-room.c: the room client's dispatch of what a server sends (TetherRoom), fed
 * through the private test hooks of tether-room.c, so a hostile or broken server is
 * the attacker here.
 *
 * Input: lines. A line is one text frame from the server, e.g.
 *   {"type":"login_ok","session_id":"s","resume_key":"k","room_session_id":"r","seq":0,...}
 * except lines starting with '!', which are calls the application makes in between:
 *   !add ID     tether_room_add_stream_async ()     !delete ID   tether_room_delete_stream ()
 *   !logout     tether_room_logout ()               !renew TEXT  tether_room_renew_token ()
 *   !reconnect  tether_room_reconnect_now ()
 *   !release    the application drops its reference to the room (without a logout)
 *               and the main loop runs until the room is finalized, at most 400 ms
 *               (its timers may hold it that long);
 *               a room still alive then is taken back, and the lines after it run
 *               (TETHER_FUZZ_NO_RELEASE=1 turns it off, for long runs while a bug
 *               it reaches is open, as crash-release-with-pending-stream.txt was)
 * The room starts as after a connect (LOGINING, waiting for login_ok) as user "me",
 * with one stream "mycam" announced (its stream_add is req 1 after login_ok). The
 * server URL is not a valid URL, so a reconnect fails at once instead of going out
 * to the network.
 *
 * At the end the application logs out (which ends every pending stream request) and
 * drops the room, as TetherEngine does.
 *
 * After each line the room must keep its promises: its lists hold no duplicates and
 * never our own user or streams, and every item it reports is well formed.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "tether-room-private.h"
#include "tether-stream.h"
#include "tether-user.h"
#include "fuzz-common.h"

#define ME "me"
#define MAX_LINES 256

static void
check_list (GListModel *list,
            gboolean    users)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = g_list_model_get_n_items (list);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (list, i);
      const char *id, *owner;

      TETHER_FUZZ_CHECK (item != NULL);
      if (users)
        {
          TETHER_FUZZ_CHECK (TETHER_IS_USER (item));
          id = owner = tether_user_get_id (TETHER_USER (item));
        }
      else
        {
          TETHER_FUZZ_CHECK (TETHER_IS_STREAM (item));
          id = tether_stream_get_id (TETHER_STREAM (item));
          owner = tether_stream_get_user_id (TETHER_STREAM (item));
        }
      TETHER_FUZZ_CHECK (id != NULL);
      TETHER_FUZZ_CHECK (g_strcmp0 (owner, ME) != 0);
      TETHER_FUZZ_CHECK (!g_hash_table_contains (seen, id));
      g_hash_table_add (seen, g_strdup (id));
    }
}

static void
check_room (TetherRoom *room)
{
  check_list (tether_room_get_users (room), TRUE);
  check_list (tether_room_get_streams (room), FALSE);
  TETHER_FUZZ_CHECK (tether_room_get_rtt (room) >= 0);
  g_strfreev (tether_room_dup_media_node_ids (room));
}

static void
state_changed_cb (TetherRoom      *room,
                  TetherRoomState  state,
                  int              error_code,
                  const char      *extended_data,
                  gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  /* The extended data is JSON the application parses: it must be valid. */
  TETHER_FUZZ_CHECK (extended_data != NULL);
  if (!json_parser_load_from_data (parser, extended_data, -1, &error))
    tether_fuzz_fail ("state-changed extended data is not JSON: %s: %s", error->message,
                      extended_data);
  TETHER_FUZZ_CHECK (g_utf8_validate (extended_data, -1, NULL));
}

static void
update_cb (TetherRoom       *room,
           TetherUpdateType  update,
           GPtrArray        *items,
           gpointer          user_data)
{
  TETHER_FUZZ_CHECK (update == TETHER_UPDATE_ADD || update == TETHER_UPDATE_DELETE);
  TETHER_FUZZ_CHECK (items != NULL && items->len > 0);
  for (guint i = 0; i < items->len; i++)
    TETHER_FUZZ_CHECK (G_IS_OBJECT (g_ptr_array_index (items, i)));
}

static void
stream_update_cb (TetherRoom       *room,
                  TetherUpdateType  update,
                  GPtrArray        *items,
                  const char       *reason,
                  gpointer          user_data)
{
  update_cb (room, update, items, user_data);
}

static void
run_command (TetherRoom *room,
             const char *line)
{
  const char *arg = strchr (line, ' ');

  arg = arg != NULL ? arg + 1 : "";
  if (g_str_has_prefix (line, "!add "))
    tether_room_add_stream_async (room, arg, "local", "{}", NULL, NULL, NULL);
  else if (g_str_has_prefix (line, "!delete "))
    tether_room_delete_stream (room, arg, NULL);
  else if (g_str_equal (line, "!logout"))
    tether_room_logout (room);
  else if (g_str_has_prefix (line, "!renew "))
    tether_room_renew_token (room, arg);
  else if (g_str_equal (line, "!reconnect"))
    tether_room_reconnect_now (room);
}

static void
room_finalized_cb (gpointer  data,
                   GObject  *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* "!release": what an application that forgets the room without logging out does.
 * Returns the room if something (a pending request) still holds it. */
static TetherRoom *
release (TetherRoom *room)
{
  gboolean finalized = FALSE;
  gboolean timed_out = FALSE;
  guint guard;

  g_object_weak_ref (G_OBJECT (room), room_finalized_cb, &finalized);
  g_object_unref (room);
  /* Twice what a 10 ms heartbeat needs to find the link dead (0.2 s); a run spends
   * no more than that on each "!release". */
  guard = g_timeout_add (400, flag_cb, &timed_out);
  while (!finalized && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (guard);
  if (finalized)
    return NULL;
  g_object_weak_unref (G_OBJECT (room), room_finalized_cb, &finalized);
  return g_object_ref (room);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const TetherRoomTiming timing = {
    .retry_time = 1200, .login_timeout = 10, .link_timeout = 0,
    .backoff_min = 0.1, .backoff_max = 1.0, .logout_timeout = 2.0,
  };
  g_autoptr(TetherLoginOptions) login = NULL;
  TetherRoom *room = NULL;
  const char *p = (const char *) data;
  const char *end = p + size;
  guint lines = 0;

  tether_fuzz_init (TETHER_FUZZ_NONE);

  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", "not a url", "app-id", "demo",
                        "room-id", "room1", "user-id", ME, "user-name", "Me", "token", "token",
                        "notify-users", TRUE, NULL);
  /* No network: the room never connects, the harness plays the server. */
  room = _tether_room_new (NULL, &timing, login);
  g_signal_connect (room, "state-changed", G_CALLBACK (state_changed_cb), NULL);
  g_signal_connect (room, "user-update", G_CALLBACK (update_cb), NULL);
  g_signal_connect (room, "stream-update", G_CALLBACK (stream_update_cb), NULL);
  _tether_room_test_begin_login (room);
  tether_room_add_stream_async (room, "mycam", "local", "{}", NULL, NULL, NULL);

  while (p < end && lines++ < MAX_LINES && room != NULL)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize len = (nl != NULL ? nl : end) - p;

      if (len == 8 && memcmp (p, "!release", 8) == 0)
        {
          if (g_getenv ("TETHER_FUZZ_NO_RELEASE") == NULL)
            room = release (room);
        }
      else if (len > 0 && p[0] == '!')
        {
          g_autofree char *line = g_strndup (p, len);

          run_command (room, line);
        }
      else if (len > 0)
        {
          /* An exact-size copy, so ASan sees a read past the frame. */
          g_autofree char *frame = g_memdup2 (p, len);

          _tether_room_test_receive (room, frame, len);
        }
      if (room != NULL)
        check_room (room);
      p += len + 1;
    }

  if (room != NULL)
    {
      /* A final state ends the pending requests, whose tasks hold the room. */
      tether_room_logout (room);
      g_object_unref (room);
    }
  /* Idle callbacks of those tasks. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
