/* tether-cli-media.c: tether-cli publish, play and watch --autoplay
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/gst.h>

#include "tether-cli.h"

/* Exit code when publishing or playing failed for good (the room ones are 1–4). */
#define EXIT_MEDIA_FAILED 5

typedef enum
{
  MODE_PUBLISH,
  MODE_PLAY,
  MODE_AUTOPLAY,
} Mode;

typedef struct
{
  Mode mode;
  char *stream_id;
  char *node;
  gboolean camera;
  TetherPublisher *publisher;
  TetherPlayer *player;
  TetherAutoplay *autoplay;
  guint stats_id;
} MediaRun;

static void
publisher_state_cb (TetherPublisher      *publisher,
                    TetherPublisherState  state,
                    int                   error_code,
                    const char           *extended,
                    TetherCliRun         *run)
{
  JsonBuilder *b = tether_cli_begin_state ("publisher-state", "stream",
                                           tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (publisher)), "state",
                                           tether_publisher_state_to_string (state), error_code);

  tether_cli_add_json_member (b, "extended", extended);
  tether_cli_end_event (b);

  if (state == TETHER_PUBLISHER_STATE_NO_PUBLISH && error_code != 0 && !run->stopping)
    {
      g_printerr ("tether-cli: publishing stopped: %s (%d)\n",
                  tether_error_code_to_string (error_code), error_code);
      run->exit_code = EXIT_MEDIA_FAILED;
      run->stopping = TRUE;
      tether_room_logout (run->room);
    }
}

static void
player_state_cb (TetherPlayer      *player,
                 TetherPlayerState  state,
                 int                error_code,
                 const char        *extended,
                 TetherCliRun      *run)
{
  JsonBuilder *b = tether_cli_begin_state ("player-state", "stream",
                                           tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (player)), "state",
                                           tether_player_state_to_string (state), error_code);

  if (state == TETHER_PLAYER_STATE_PLAYING)
    {
      json_builder_set_member_name (b, "first_frame_ms");
      json_builder_add_int_value (b, tether_player_get_first_frame_ms (player));
    }
  tether_cli_add_json_member (b, "extended", extended);
  tether_cli_end_event (b);
}

static void
player_added_cb (TetherAutoplay *autoplay,
                 TetherPlayer   *player,
                 TetherCliRun   *run)
{
  g_signal_connect (player, "state-changed", G_CALLBACK (player_state_cb), run);
}

/* Once a second, what each player is doing: frames, fps, bitrate, RTT, loss. */
static gboolean
stats_cb (gpointer user_data)
{
  TetherCliRun *run = user_data;
  MediaRun *m = run->data;
  g_autoptr(GPtrArray) players = g_ptr_array_new_with_free_func (g_object_unref);

  if (m->player != NULL)
    g_ptr_array_add (players, g_object_ref (m->player));
  if (m->autoplay != NULL)
    {
      GListModel *list = tether_autoplay_get_players (m->autoplay);

      for (guint i = 0; i < g_list_model_get_n_items (list); i++)
        g_ptr_array_add (players, g_list_model_get_item (list, i));
    }

  for (guint i = 0; i < players->len; i++)
    {
      g_autofree char *stats = tether_player_dup_stats_json (players->pdata[i]);
      JsonBuilder *b = tether_cli_begin_event ("player-stats");

      json_builder_set_member_name (b, "stream");
      json_builder_add_string_value (b, tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (players->pdata[i])));
      tether_cli_add_json_member (b, "stats", stats);
      tether_cli_end_event (b);
    }

  return G_SOURCE_CONTINUE;
}

static void
start_media (TetherCliRun *run)
{
  MediaRun *m = run->data;
  double av_retry_time = tether_engine_get_av_retry_time (run->engine);
  g_autoptr(GError) error = NULL;

  if (m->publisher != NULL || m->player != NULL || m->autoplay != NULL)
    return;

  if (m->mode == MODE_PUBLISH)
    {
      m->publisher = tether_publisher_new (run->room, m->stream_id, av_retry_time);
      tether_publisher_set_source (m->publisher, m->camera ? TETHER_PUBLISHER_SOURCE_CAMERA
                                                           : TETHER_PUBLISHER_SOURCE_TEST);
      if (m->node != NULL)
        tether_media_session_set_node (TETHER_MEDIA_SESSION (m->publisher), m->node);
      g_signal_connect (m->publisher, "state-changed", G_CALLBACK (publisher_state_cb), run);
      if (!tether_publisher_start (m->publisher, &error))
        goto failed;
    }
  else if (m->mode == MODE_PLAY)
    {
      m->player = tether_player_new (run->room, m->stream_id, m->node, av_retry_time);
      g_signal_connect (m->player, "state-changed", G_CALLBACK (player_state_cb), run);
      if (!tether_player_start (m->player, &error))
        goto failed;
    }
  else
    {
      m->autoplay = tether_autoplay_new (run->room, av_retry_time);
      g_signal_connect (m->autoplay, "player-added", G_CALLBACK (player_added_cb), run);
    }

  if (m->player != NULL || m->autoplay != NULL)
    m->stats_id = g_timeout_add_seconds (1, stats_cb, run);
  return;

failed:
  g_printerr ("tether-cli: %s\n", error->message);
  run->exit_code = EXIT_MEDIA_FAILED;
  run->stopping = TRUE;
  tether_room_logout (run->room);
}

static void
media_room_state_cb (TetherRoom      *room,
                     TetherRoomState  state,
                     int              error_code,
                     const char      *extended,
                     TetherCliRun    *run)
{
  if (state == TETHER_ROOM_STATE_LOGINED)
    start_media (run);
}

/* SIGINT/SIGTERM: stop publishing first (that deletes the stream), then log out. */
static void
media_stop (TetherCliRun *run)
{
  MediaRun *m = run->data;

  if (m->publisher != NULL)
    tether_publisher_stop (m->publisher);
  if (m->player != NULL)
    tether_player_stop (m->player);
  if (m->autoplay != NULL)
    tether_autoplay_stop (m->autoplay);
  tether_room_logout (run->room);
}

static void
media_teardown (TetherCliRun *run)
{
  MediaRun *m = run->data;

  g_clear_handle_id (&m->stats_id, g_source_remove);
  if (m->publisher != NULL)
    g_signal_handlers_disconnect_by_data (m->publisher, run);
  if (m->player != NULL)
    g_signal_handlers_disconnect_by_data (m->player, run);
  g_clear_object (&m->publisher);
  g_clear_object (&m->player);
  g_clear_object (&m->autoplay);
}

static void
media_setup (TetherCliRun *run,
             gpointer      data)
{
  run->data = data;
  run->on_stop = media_stop;
  run->teardown = media_teardown;
  g_signal_connect (run->room, "state-changed", G_CALLBACK (media_room_state_cb), run);
}

static int
run_media (int          argc,
           char       **argv,
           Mode         mode,
           const char  *summary)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new (summary);
  g_autoptr(GError) error = NULL;
  TetherCliOptions opts = { 0, };
  MediaRun m = { .mode = mode };
  const GOptionEntry entries[] = {
    { "stream", 0, 0, G_OPTION_ARG_STRING, &m.stream_id, "Stream id", "ID" },
    { "node", 0, 0, G_OPTION_ARG_STRING, &m.node, "Media node id to try first", "ID" },
    { "camera", 0, 0, G_OPTION_ARG_NONE, &m.camera,
      "Publish the camera instead of the test pattern", NULL },
    { NULL }
  };
  int status;

  g_option_context_add_main_entries (ctx, tether_cli_common_entries (&opts), NULL);
  if (mode != MODE_AUTOPLAY)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !tether_cli_parse_common (&opts, argc, argv, &error))
    {
      g_printerr ("tether-cli: %s\n", error->message);
      return 1;
    }
  if (mode != MODE_AUTOPLAY && m.stream_id == NULL)
    {
      g_printerr ("tether-cli: --stream is required\n");
      return 1;
    }

  status = tether_cli_run_room (&opts, media_setup, &m);
  g_free (m.stream_id);
  g_free (m.node);
  return status;
}

int
tether_cli_cmd_publish (int    argc,
                        char **argv)
{
  return run_media (argc, argv, MODE_PUBLISH, "[LINK] - publish a stream into a room");
}

int
tether_cli_cmd_play (int    argc,
                     char **argv)
{
  return run_media (argc, argv, MODE_PLAY, "[LINK] - play one stream of a room");
}

int
tether_cli_cmd_autoplay (int    argc,
                         char **argv)
{
  return run_media (argc, argv, MODE_AUTOPLAY,
                    "[LINK] - watch a room and play every stream as it comes and goes");
}

/* url: log in, find the node the stream is on, print a URL any SRT player opens. */
typedef struct
{
  char *stream_id;
  const char *mode;
} UrlRun;

static void
url_state_cb (TetherRoom      *room,
              TetherRoomState  state,
              int              error_code,
              const char      *extended,
              TetherCliRun    *run)
{
  UrlRun *u = run->data;
  GListModel *streams = tether_room_get_streams (room);
  g_auto(GStrv) nodes = NULL;
  const char *node = NULL;
  g_autofree char *url = NULL;

  if (state != TETHER_ROOM_STATE_LOGINED)
    return;

  for (guint i = 0; i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_str_equal (tether_stream_get_id (s), u->stream_id))
        node = tether_room_get_media_node_url (room, tether_stream_get_node (s));
    }
  nodes = tether_room_dup_media_node_ids (room);
  if (node == NULL && nodes[0] != NULL)
    node = tether_room_get_media_node_url (room, nodes[0]);

  if (node == NULL)
    {
      g_printerr ("tether-cli: the room service announces no media node\n");
      run->exit_code = 5;
    }
  else
    {
      /* The token and its passphrase, which an external tool needs both of. */
      url = tether_srt_url_new_full (node, u->stream_id, u->mode,
                                     tether_room_get_media_token (room),
                                     tether_room_get_srt_passphrase (room));
      g_print ("%s\n", url);
    }
  run->stopping = TRUE;
  tether_room_logout (room);
}

static void
url_setup (TetherCliRun *run,
           gpointer      data)
{
  run->data = data;
  g_signal_connect (run->room, "state-changed", G_CALLBACK (url_state_cb), run);
}

int
tether_cli_cmd_url (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) ctx =
    g_option_context_new ("[LINK] - print an srt:// URL, credentials included (token and SRT "
                          "passphrase), for any SRT player");
  g_autoptr(GError) error = NULL;
  TetherCliOptions opts = { 0, };
  UrlRun u = { 0, };
  gboolean publish = FALSE;
  const GOptionEntry entries[] = {
    { "stream", 0, 0, G_OPTION_ARG_STRING, &u.stream_id, "Stream id", "ID" },
    { "publish", 0, 0, G_OPTION_ARG_NONE, &publish, "A URL to publish to instead of play",
      NULL },
    { NULL }
  };
  int status;

  g_option_context_add_main_entries (ctx, tether_cli_common_entries (&opts), NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !tether_cli_parse_common (&opts, argc, argv, &error))
    {
      g_printerr ("tether-cli url: %s\n", error->message);
      return 1;
    }
  if (u.stream_id == NULL)
    {
      g_printerr ("tether-cli url: --stream is required\n");
      return 1;
    }

  u.mode = publish ? "publish" : "request";
  /* The URL goes to stdout alone, for $(tether-cli url ...). */
  opts.quiet = TRUE;
  status = tether_cli_run_room (&opts, url_setup, &u);
  g_free (u.stream_id);
  return status;
}
