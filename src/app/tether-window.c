/* tether-window.c: the main window — one room session at a time, its badge, lists,
 * video grid and toasts; back to the start page with the reason when the session ends
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "tether-demo.h"
#include "tether-stream-row.h"
#include "tether-window.h"

#define SCHEMA_ID "io.github.tetherlive.Tether"

struct _TetherWindow
{
  AdwApplicationWindow parent_instance;

  GSettings *settings;
  TetherEngine *engine;
  TetherRoom *room;
  TetherDemo *demo;
#ifdef TETHER_HAVE_MEDIA
  TetherAutoplay *autoplay;
  TetherPublisher *publisher;
  GHashTable *manual_players;    /* stream id → TetherPlayer, when autoplay is off */
#endif
  GHashTable *tiles;             /* stream id → TetherVideoTile (a reference) */
  GPtrArray *tile_order;         /* TetherVideoTile, in the order they came */
  GPtrArray *stream_rows;        /* bound TetherStreamRow, not owned */
  TetherVideoTile *focused_tile;
  gint64 break_started;          /* monotonic µs when RECONNECTING began */
  char *last_toast;

  /* what "Try again" repeats */
  gboolean last_was_demo;
  char *join_server_url;
  char *join_app_id;
  char *join_room_id;
  char *join_user_id;
  char *join_user_name;
  char *join_token;

  /* template children */
  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  TetherStartPage *start_page;
  AdwHeaderBar *room_header;
  AdwWindowTitle *room_title;
  TetherConnectionBadge *badge;
  AdwFlap *flap;
  GtkListView *users_view;
  GtkListView *streams_view;
  GtkLabel *users_count;
  GtkLabel *streams_count;
  GtkStack *grid_stack;
  GtkGrid *video_grid;
  GtkButton *publish_button;
  GtkLabel *publish_badge;
};

G_DEFINE_FINAL_TYPE (TetherWindow, tether_window, ADW_TYPE_APPLICATION_WINDOW)

static void update_actions (TetherWindow *self);
static void end_session (TetherWindow *self);

/* ---- toasts ---------------------------------------------------------------- */

static void
show_toast (TetherWindow *self,
            const char   *title,
            guint         timeout)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, timeout);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  g_free (self->last_toast);
  self->last_toast = g_strdup (title);
}

/* ---- the video grid -------------------------------------------------------- */

static void
relayout_grid (TetherWindow *self)
{
  GtkWidget *child;
  guint n, cols;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->video_grid))) != NULL)
    gtk_grid_remove (self->video_grid, child);

  if (self->focused_tile != NULL)
    {
      gtk_grid_attach (self->video_grid, GTK_WIDGET (self->focused_tile), 0, 0, 1, 1);
      gtk_stack_set_visible_child_name (self->grid_stack, "grid");
      return;
    }

  n = self->tile_order->len;
  /* As square as possible: 1, 2 side by side, 2×2, 3×2, 3×3 … */
  cols = n == 0 ? 1 : (guint) ceil (sqrt ((double) n));
  for (guint i = 0; i < n; i++)
    gtk_grid_attach (self->video_grid, g_ptr_array_index (self->tile_order, i),
                     (int) (i % cols), (int) (i / cols), 1, 1);
  gtk_stack_set_visible_child_name (self->grid_stack, n > 0 ? "grid" : "empty");
}

static void
set_focused_tile (TetherWindow    *self,
                  TetherVideoTile *tile)
{
  if (self->focused_tile == tile)
    return;
  self->focused_tile = tile;
  if (tile != NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->room_header), FALSE);
      adw_flap_set_reveal_flap (self->flap, FALSE);
      gtk_window_fullscreen (GTK_WINDOW (self));
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->room_header), TRUE);
      gtk_window_unfullscreen (GTK_WINDOW (self));
    }
  relayout_grid (self);
  update_actions (self);
}

static void
tile_toggle_fullscreen_cb (TetherVideoTile *tile,
                           TetherWindow    *self)
{
  set_focused_tile (self, self->focused_tile == tile ? NULL : tile);
}

static void
refresh_stream_rows (TetherWindow *self)
{
  for (guint i = 0; i < self->stream_rows->len; i++)
    {
      TetherStreamRow *row = g_ptr_array_index (self->stream_rows, i);
      TetherStream *stream = tether_stream_row_get_stream (row);
      TetherVideoTile *tile = stream ? g_hash_table_lookup (self->tiles, tether_stream_get_id (stream)) : NULL;

      tether_stream_row_set_player (row, tile ? tether_video_tile_get_player (tile) : NULL);
    }
}

static const char *
stream_owner_name (TetherWindow *self,
                   const char   *stream_id)
{
  GListModel *streams = self->room ? tether_room_get_streams (self->room) : NULL;

  for (guint i = 0; streams != NULL && i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_strcmp0 (tether_stream_get_id (s), stream_id) == 0)
        {
          const char *name = tether_stream_get_user_name (s);

          return name != NULL && *name != '\0' ? name : tether_stream_get_user_id (s);
        }
    }
  return NULL;
}

static void
add_tile (TetherWindow *self,
          GObject      *player,
          const char   *stream_id)
{
  TetherVideoTile *tile;

  if (g_hash_table_contains (self->tiles, stream_id))
    return;
  if (self->tile_order->len >= g_settings_get_uint (self->settings, "max-tiles"))
    {
      g_debug ("not showing %s: the grid is full", stream_id);
      return;
    }

  tile = TETHER_VIDEO_TILE (tether_video_tile_new (stream_id, stream_owner_name (self, stream_id)));
  g_object_ref_sink (tile);
  tether_video_tile_set_muted (tile, g_settings_get_boolean (self->settings, "start-muted"));
  tether_video_tile_set_player (tile, player);
  g_signal_connect_object (tile, "toggle-fullscreen", G_CALLBACK (tile_toggle_fullscreen_cb),
                           self, 0);
  g_hash_table_insert (self->tiles, g_strdup (stream_id), tile);
  g_ptr_array_add (self->tile_order, tile);
  relayout_grid (self);
  refresh_stream_rows (self);
}

static void
remove_tile (TetherWindow *self,
             const char   *stream_id)
{
  TetherVideoTile *tile = g_hash_table_lookup (self->tiles, stream_id);

  if (tile == NULL)
    return;
  if (self->focused_tile == tile)
    set_focused_tile (self, NULL);
  tether_video_tile_set_player (tile, NULL);
  g_ptr_array_remove (self->tile_order, tile);
  g_hash_table_remove (self->tiles, stream_id);
  relayout_grid (self);
  refresh_stream_rows (self);
}

static void
remove_all_tiles (TetherWindow *self)
{
  self->focused_tile = NULL;
  while (self->tile_order->len > 0)
    remove_tile (self, tether_video_tile_get_stream_id (g_ptr_array_index (self->tile_order, 0)));
  relayout_grid (self);
}

#ifdef TETHER_HAVE_MEDIA
static void
player_added_cb (TetherAutoplay *autoplay,
                 TetherPlayer   *player,
                 TetherWindow   *self)
{
  add_tile (self, G_OBJECT (player), tether_player_get_stream_id (player));
}

static void
player_removed_cb (TetherAutoplay *autoplay,
                   TetherPlayer   *player,
                   TetherWindow   *self)
{
  TetherVideoTile *tile = g_hash_table_lookup (self->tiles, tether_player_get_stream_id (player));

  if (tile != NULL && tether_video_tile_get_player (tile) == G_OBJECT (player))
    remove_tile (self, tether_player_get_stream_id (player));
}

static void
start_autoplay (TetherWindow *self)
{
  if (self->autoplay != NULL || self->room == NULL
      || !g_settings_get_boolean (self->settings, "autoplay"))
    return;
  /* Streams beyond the grid wait unpulled and take a place when one frees. */
  self->autoplay = g_object_new (TETHER_TYPE_AUTOPLAY,
                                 "room", self->room,
                                 "av-retry-time", tether_engine_get_av_retry_time (self->engine),
                                 "max-players", g_settings_get_uint (self->settings, "max-tiles"),
                                 NULL);
  g_signal_connect_object (self->autoplay, "player-added", G_CALLBACK (player_added_cb), self, 0);
  g_signal_connect_object (self->autoplay, "player-removed", G_CALLBACK (player_removed_cb), self, 0);
}

static void
stop_autoplay (TetherWindow *self)
{
  if (self->autoplay == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->autoplay, self);
  tether_autoplay_stop (self->autoplay);
  g_clear_object (&self->autoplay);
}

/* With autoplay off, activating a stream row plays it (or stops it). */
static void
toggle_manual_player (TetherWindow *self,
                      TetherStream *stream)
{
  const char *id = tether_stream_get_id (stream);
  TetherPlayer *player;
  g_autoptr(GError) error = NULL;

  if (self->autoplay != NULL || self->room == NULL)
    return;
  if ((player = g_hash_table_lookup (self->manual_players, id)) != NULL)
    {
      tether_player_stop (player);
      remove_tile (self, id);
      g_hash_table_remove (self->manual_players, id);
      return;
    }
  player = tether_player_new (self->room, id, tether_stream_get_node (stream),
                              tether_engine_get_av_retry_time (self->engine));
  g_hash_table_insert (self->manual_players, g_strdup (id), player);
  add_tile (self, G_OBJECT (player), id);
  if (!tether_player_start (player, &error))
    show_toast (self, error->message, 5);
}

static void
stop_manual_players (TetherWindow *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->manual_players);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    tether_player_stop (value);
  g_hash_table_remove_all (self->manual_players);
}

/* Manual players of deleted streams stop, as the seed says: never pull a deleted stream. */
static void
stop_manual_player_of (TetherWindow *self,
                       const char   *stream_id)
{
  TetherPlayer *player = g_hash_table_lookup (self->manual_players, stream_id);

  if (player == NULL)
    return;
  tether_player_stop (player);
  remove_tile (self, stream_id);
  g_hash_table_remove (self->manual_players, stream_id);
}

/* ---- publishing ------------------------------------------------------------ */

static void
update_publish_badge (TetherWindow *self)
{
  TetherPublisherState state = self->publisher ? tether_publisher_get_state (self->publisher)
                                               : TETHER_PUBLISHER_STATE_NO_PUBLISH;
  static const char * const classes[] = { "state-idle", "state-requesting", "state-playing" };
  const char *text;

  switch (state)
    {
    case TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING: text = _("Going live…"); break;
    case TETHER_PUBLISHER_STATE_PUBLISHING: text = _("Live"); break;
    case TETHER_PUBLISHER_STATE_NO_PUBLISH:
    default: text = _("Not live"); break;
    }
  gtk_label_set_text (self->publish_badge, text);
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->publish_badge), classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self->publish_badge), classes[MIN ((guint) state, 2u)]);
  gtk_widget_set_visible (GTK_WIDGET (self->publish_badge), self->publisher != NULL);
  gtk_button_set_label (self->publish_button, self->publisher ? _("Stop") : _("Publish"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->publish_button),
                               self->publisher ? _("Stop publishing")
                                               : _("Publish the camera or the test picture"));
  if (self->publisher)
    gtk_widget_remove_css_class (GTK_WIDGET (self->publish_button), "suggested-action");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->publish_button), "suggested-action");
}

static void
publisher_state_cb (TetherPublisher      *publisher,
                    TetherPublisherState  state,
                    int                   error_code,
                    const char           *extended,
                    TetherWindow         *self)
{
  if (state == TETHER_PUBLISHER_STATE_NO_PUBLISH && error_code != 0)
    {
      g_autofree char *why = tether_describe_error (error_code);
      /* Translators: %s is why publishing stopped */
      g_autofree char *text = g_strdup_printf (_("Publishing stopped: %s"), why);

      show_toast (self, text, 6);
    }
  update_publish_badge (self);
  update_actions (self);
}

static void
stop_publishing (TetherWindow *self)
{
  if (self->publisher == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->publisher, self);
  tether_publisher_stop (self->publisher);
  g_clear_object (&self->publisher);
  update_publish_badge (self);
}

static void
start_publishing (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *stream_id = NULL;
  g_autofree char *source = NULL;

  if (self->room == NULL || self->publisher != NULL)
    return;
  source = g_settings_get_string (self->settings, "publish-source");
  stream_id = g_strdup_printf ("%s-%s", tether_room_get_user_id (self->room),
                               g_str_equal (source, "camera") ? "camera" : "test");
  self->publisher = tether_publisher_new (self->room, stream_id,
                                          tether_engine_get_av_retry_time (self->engine));
  tether_publisher_set_source (self->publisher, g_str_equal (source, "camera")
                                                ? TETHER_PUBLISHER_SOURCE_CAMERA
                                                : TETHER_PUBLISHER_SOURCE_TEST);
  if (g_getenv ("TETHER_NO_AUDIO") != NULL)
    g_object_set (self->publisher, "audio", FALSE, NULL);
  g_signal_connect_object (self->publisher, "state-changed", G_CALLBACK (publisher_state_cb), self, 0);
  if (!tether_publisher_start (self->publisher, &error))
    {
      /* Translators: %s is an error message */
      g_autofree char *text = g_strdup_printf (_("Cannot publish: %s"), error->message);

      show_toast (self, text, 6);
      stop_publishing (self);
    }
  update_publish_badge (self);
}
#endif

/* ---- the session ----------------------------------------------------------- */

static gboolean
room_is_in (TetherWindow *self)
{
  TetherRoomState state;

  if (self->room == NULL)
    return FALSE;
  state = tether_room_get_state (self->room);
  return state == TETHER_ROOM_STATE_LOGINED || state == TETHER_ROOM_STATE_RECONNECTED
         || state == TETHER_ROOM_STATE_RECONNECTING;
}

static void
update_actions (TetherWindow *self)
{
  gboolean can_publish = FALSE;

#ifdef TETHER_HAVE_MEDIA
  can_publish = room_is_in (self) || self->publisher != NULL;
#endif
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave", self->room != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.publish", can_publish);
  gtk_widget_set_visible (GTK_WIDGET (self->publish_button), can_publish || self->room != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-tile-fullscreen",
                                 self->focused_tile != NULL);
}

static void
clear_join_params (TetherWindow *self)
{
  g_clear_pointer (&self->join_server_url, g_free);
  g_clear_pointer (&self->join_app_id, g_free);
  g_clear_pointer (&self->join_room_id, g_free);
  g_clear_pointer (&self->join_user_id, g_free);
  g_clear_pointer (&self->join_user_name, g_free);
  g_clear_pointer (&self->join_token, g_free);
}

static void
update_counts (TetherWindow *self)
{
  g_autofree char *users = NULL;
  g_autofree char *streams = NULL;
  guint n_users = self->room ? g_list_model_get_n_items (tether_room_get_users (self->room)) : 0;
  guint n_streams = self->room ? g_list_model_get_n_items (tether_room_get_streams (self->room)) : 0;

  /* Translators: the number of people in the room */
  users = g_strdup_printf (ngettext ("%u person", "%u people", n_users), n_users);
  /* Translators: the number of streams in the room */
  streams = g_strdup_printf (ngettext ("%u stream", "%u streams", n_streams), n_streams);
  gtk_label_set_text (self->users_count, users);
  gtk_label_set_text (self->streams_count, streams);
}

static void
items_changed_cb (TetherWindow *self)
{
  update_counts (self);
}

static void
stream_update_cb (TetherRoom       *room,
                  TetherUpdateType  update,
                  GPtrArray        *streams,
                  const char       *reason,
                  TetherWindow     *self)
{
  for (guint i = 0; i < streams->len; i++)
    {
      TetherStream *stream = g_ptr_array_index (streams, i);
      const char *who = tether_stream_get_user_name (stream);

      if (who == NULL || *who == '\0')
        who = tether_stream_get_user_id (stream);
      if (update == TETHER_UPDATE_DELETE)
        {
#ifdef TETHER_HAVE_MEDIA
          stop_manual_player_of (self, tether_stream_get_id (stream));
#endif
          /* A stream that simply stopped needs no toast: its tile going says it. */
          if (g_strcmp0 (reason, "heartbeat_timeout") == 0 || g_strcmp0 (reason, "media_lost") == 0
              || g_strcmp0 (reason, "kicked") == 0)
            {
              /* Translators: %s is a person's name */
              g_autofree char *text = g_strdup_printf (_("%s went offline"), who);

              show_toast (self, text, 5);
            }
          else if (g_strcmp0 (reason, "logout") == 0)
            {
              /* Translators: %s is a person's name */
              g_autofree char *text = g_strdup_printf (_("%s left the room"), who);

              show_toast (self, text, 4);
            }
        }
    }
}

static void
user_update_cb (TetherRoom       *room,
                TetherUpdateType  update,
                GPtrArray        *users,
                TetherWindow     *self)
{
  update_counts (self);
}

static void
go_to_start (TetherWindow *self,
             const char   *title,
             const char   *message,
             gboolean      can_retry)
{
  end_session (self);
  tether_start_page_set_busy (self->start_page, FALSE);
  if (title != NULL)
    tether_start_page_show_error (self->start_page, title, message, can_retry);
  else
    tether_start_page_clear_error (self->start_page);
  gtk_stack_set_visible_child_name (self->main_stack, "start");
  update_actions (self);
}

static void
room_state_changed_cb (TetherRoom      *room,
                       TetherRoomState  state,
                       int              error_code,
                       const char      *extended,
                       TetherWindow    *self)
{
  g_autofree char *why = tether_describe_error (error_code);

  g_debug ("room state %s (%d)", tether_room_state_to_string (state), error_code);

  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINED:
      tether_start_page_set_busy (self->start_page, FALSE);
      tether_start_page_clear_error (self->start_page);
#ifdef TETHER_HAVE_MEDIA
      start_autoplay (self);
#endif
      break;

    case TETHER_ROOM_STATE_RECONNECTING:
      self->break_started = g_get_monotonic_time ();
      show_toast (self, _("Connection lost — reconnecting by itself"), 4);
      break;

    case TETHER_ROOM_STATE_RECONNECTED:
      {
        TetherReconnectReport *report = tether_room_get_last_report (room);
        double downtime = report ? tether_reconnect_report_get_downtime (report)
                                 : (g_get_monotonic_time () - self->break_started) / 1e6;
        g_autofree char *took = tether_format_duration (downtime);
        /* Translators: %s is how long the connection was down, e.g. "4.2 s" */
        g_autofree char *text = g_strdup_printf (_("The connection is back after %s"), took);

        show_toast (self, text, 5);
      }
      break;

    case TETHER_ROOM_STATE_LOGIN_FAILED:
      {
        /* Translators: %s is the reason */
        g_autofree char *text = g_strdup_printf (_("Login failed: %s"), why);

        go_to_start (self, _("Could not join the room"), why, TRUE);
        show_toast (self, text, 6);
      }
      break;

    case TETHER_ROOM_STATE_KICK_OUT:
      {
        /* Translators: %s is the reason */
        g_autofree char *text = g_strdup_printf (_("You were signed out: %s"), why);

        go_to_start (self, _("You were signed out of the room"), why, TRUE);
        show_toast (self, text, 6);
      }
      break;

    case TETHER_ROOM_STATE_RECONNECT_FAILED:
      go_to_start (self, _("The connection could not be restored"), why, TRUE);
      show_toast (self, _("Gave up reconnecting"), 6);
      break;

    case TETHER_ROOM_STATE_LOGOUT_FAILED:
      show_toast (self, _("Could not leave the room cleanly"), 4);
      break;

    case TETHER_ROOM_STATE_LOGINING:
    case TETHER_ROOM_STATE_LOGOUT:
    default:
      break;
    }
  update_actions (self);
}

static void
end_session (TetherWindow *self)
{
#ifdef TETHER_HAVE_MEDIA
  stop_publishing (self);
  stop_autoplay (self);
  stop_manual_players (self);
#endif
  set_focused_tile (self, NULL);
  remove_all_tiles (self);
  if (self->room != NULL)
    {
      g_autoptr(TetherRoom) room = g_steal_pointer (&self->room);

      g_signal_handlers_disconnect_by_data (room, self);
      g_signal_handlers_disconnect_by_data (tether_room_get_users (room), self);
      g_signal_handlers_disconnect_by_data (tether_room_get_streams (room), self);
      switch (tether_room_get_state (room))
        {
        case TETHER_ROOM_STATE_LOGINING:
        case TETHER_ROOM_STATE_LOGINED:
        case TETHER_ROOM_STATE_RECONNECTING:
        case TETHER_ROOM_STATE_RECONNECTED:
          tether_engine_logout_room (self->engine, room);
          break;
        default:
          break;  /* already out of the room */
        }
    }
  /* The badge keeps showing how the session ended until the next one starts. */
  gtk_list_view_set_model (self->users_view, NULL);
  gtk_list_view_set_model (self->streams_view, NULL);
  update_counts (self);
  update_actions (self);
}

static void
apply_engine_config (TetherWindow *self)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *config = NULL;
  g_autoptr(GError) error = NULL;

  g_ascii_dtostr (a, sizeof a, g_settings_get_double (self->settings, "room-retry-time"));
  g_ascii_dtostr (b, sizeof b, g_settings_get_double (self->settings, "av-retry-time"));
  config = g_strdup_printf ("room_retry_time=%s;av_retry_time=%s", a, b);
  if (!tether_engine_set_config (self->engine, config, &error))
    g_warning ("engine config “%s”: %s", config, error->message);
}

void
tether_window_join (TetherWindow *self,
                    const char   *server_url,
                    const char   *app_id,
                    const char   *room_id,
                    const char   *user_id,
                    const char   *user_name,
                    const char   *token)
{
  g_autofree char *title = NULL;
  g_autoptr(TetherLoginOptions) login = NULL;

  g_return_if_fail (TETHER_IS_WINDOW (self));
  g_return_if_fail (server_url != NULL && room_id != NULL && user_id != NULL);

  end_session (self);

  if (self->join_server_url != server_url)
    {
      /* Copies first: the arguments may be the very strings being replaced. */
      char *u = g_strdup (server_url), *a = g_strdup (app_id), *r = g_strdup (room_id);
      char *i = g_strdup (user_id), *n = g_strdup (user_name), *t = g_strdup (token);

      clear_join_params (self);
      self->join_server_url = u;
      self->join_app_id = a;
      self->join_room_id = r;
      self->join_user_id = i;
      self->join_user_name = n;
      self->join_token = t;
    }

  apply_engine_config (self);
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", server_url, "app-id", app_id,
                        "room-id", room_id, "user-id", user_id, "user-name", user_name,
                        "token", token, "notify-users", TRUE, NULL);
  self->room = tether_engine_login_room (self->engine, login);
  g_signal_connect_object (self->room, "state-changed", G_CALLBACK (room_state_changed_cb), self, 0);
  g_signal_connect_object (self->room, "stream-update", G_CALLBACK (stream_update_cb), self, 0);
  g_signal_connect_object (self->room, "user-update", G_CALLBACK (user_update_cb), self, 0);
  g_signal_connect_object (tether_room_get_users (self->room), "items-changed",
                           G_CALLBACK (items_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (tether_room_get_streams (self->room), "items-changed",
                           G_CALLBACK (items_changed_cb), self, G_CONNECT_SWAPPED);

  {
    g_autoptr(GtkNoSelection) users = gtk_no_selection_new (g_object_ref (tether_room_get_users (self->room)));
    g_autoptr(GtkNoSelection) streams = gtk_no_selection_new (g_object_ref (tether_room_get_streams (self->room)));

    gtk_list_view_set_model (self->users_view, GTK_SELECTION_MODEL (users));
    gtk_list_view_set_model (self->streams_view, GTK_SELECTION_MODEL (streams));
  }

  tether_connection_badge_set_room (self->badge, self->room);
  /* Translators: the subtitle of the room page: "as <user name>" */
  title = g_strdup_printf (_("as %s"), user_name && *user_name ? user_name : user_id);
  adw_window_title_set_title (self->room_title, room_id);
  adw_window_title_set_subtitle (self->room_title, title);
  tether_start_page_set_busy (self->start_page, TRUE);
  gtk_stack_set_visible_child_name (self->main_stack, "room");
  update_counts (self);
  relayout_grid (self);
  update_actions (self);
}

static char *
default_user_id (void)
{
  g_autofree char *name = g_ascii_strdown (g_get_user_name (), -1);

  return g_strdup_printf ("%s-%04x", name, g_random_int_range (0, 0xffff));
}

gboolean
tether_window_join_from_settings (TetherWindow  *self,
                                  GError       **error)
{
  g_autofree char *url = g_strstrip (g_settings_get_string (self->settings, "server-url"));
  g_autofree char *app_id = g_strstrip (g_settings_get_string (self->settings, "app-id"));
  g_autofree char *room = g_strstrip (g_settings_get_string (self->settings, "room-id"));
  g_autofree char *user = g_strstrip (g_settings_get_string (self->settings, "user-id"));
  g_autofree char *name = g_strstrip (g_settings_get_string (self->settings, "user-name"));
  g_autofree char *token = g_strstrip (g_settings_get_string (self->settings, "token"));
  g_autofree char *secret = g_settings_get_string (self->settings, "app-secret");

  g_return_val_if_fail (TETHER_IS_WINDOW (self), FALSE);

  if (*url == '\0' || *room == '\0')
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           _("Enter a server URL and a room ID."));
      return FALSE;
    }
  if (*user == '\0')
    {
      g_free (user);
      user = default_user_id ();
      g_settings_set_string (self->settings, "user-id", user);
    }
  if (*token == '\0' && *secret != '\0')
    {
      g_free (token);
      token = tether_token_mint (secret, app_id, user, room,
                                 TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                                 g_get_real_time () / G_USEC_PER_SEC, 24 * 3600);
    }
  if (*token == '\0')
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_TOKEN_INVALID,
                           _("Enter a token, or an app secret for a development server."));
      return FALSE;
    }

  self->last_was_demo = FALSE;
  tether_window_join (self, url, app_id, room, user, *name ? name : NULL, token);
  return TRUE;
}

gboolean
tether_window_start_demo (TetherWindow  *self,
                          GError       **error)
{
  g_autofree char *user = NULL;
  g_autofree char *token = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (TETHER_IS_WINDOW (self), FALSE);

  if (self->demo == NULL)
    {
      self->demo = tether_demo_new ();
      if (!tether_demo_start (self->demo, error))
        {
          g_clear_object (&self->demo);
          return FALSE;
        }
    }

  name = g_settings_get_string (self->settings, "user-name");
  user = g_strdup_printf ("viewer-%04x", g_random_int_range (0, 0xffff));
  token = tether_demo_mint_token (self->demo, user);
  self->last_was_demo = TRUE;
  tether_window_join (self, tether_demo_get_server_url (self->demo), TETHER_DEMO_APP_ID,
                      TETHER_DEMO_ROOM_ID, user, *name ? name : _("Viewer"), token);
  return TRUE;
}

void
tether_window_leave (TetherWindow *self)
{
  g_return_if_fail (TETHER_IS_WINDOW (self));

  go_to_start (self, NULL, NULL, FALSE);
  tether_connection_badge_set_room (self->badge, NULL);
}

/* ---- start page signals ----------------------------------------------------- */

static void
start_join_cb (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (!tether_window_join_from_settings (self, &error))
    tether_start_page_show_error (self->start_page, _("Cannot join yet"), error->message, FALSE);
}

static void
start_demo_cb (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (!tether_window_start_demo (self, &error))
    tether_start_page_show_error (self->start_page, _("The demo room could not start"),
                                  error->message, TRUE);
}

static void
start_retry_cb (TetherWindow *self)
{
  if (self->last_was_demo || self->join_server_url == NULL)
    {
      if (self->last_was_demo)
        start_demo_cb (self);
      else
        start_join_cb (self);
      return;
    }
  tether_window_join (self, self->join_server_url, self->join_app_id, self->join_room_id,
                      self->join_user_id, self->join_user_name, self->join_token);
}

/* ---- list factories --------------------------------------------------------- */

static void
stream_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 TetherWindow             *self)
{
  gtk_list_item_set_child (item, tether_stream_row_new ());
}

static void
stream_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                TetherWindow             *self)
{
  TetherStreamRow *row = TETHER_STREAM_ROW (gtk_list_item_get_child (item));
  TetherStream *stream = gtk_list_item_get_item (item);
  TetherVideoTile *tile = g_hash_table_lookup (self->tiles, tether_stream_get_id (stream));

  tether_stream_row_set_stream (row, stream);
  tether_stream_row_set_player (row, tile ? tether_video_tile_get_player (tile) : NULL);
  g_ptr_array_add (self->stream_rows, row);
}

static void
stream_unbind_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  TetherWindow             *self)
{
  TetherStreamRow *row = TETHER_STREAM_ROW (gtk_list_item_get_child (item));

  g_ptr_array_remove (self->stream_rows, row);
  tether_stream_row_set_player (row, NULL);
  tether_stream_row_set_stream (row, NULL);
}

static void
stream_activate_cb (GtkListView  *view,
                    guint         position,
                    TetherWindow *self)
{
  g_autoptr(TetherStream) stream = g_list_model_get_item (G_LIST_MODEL (gtk_list_view_get_model (view)),
                                                          position);
  TetherVideoTile *tile;

  if (stream == NULL)
    return;
#ifdef TETHER_HAVE_MEDIA
  if (self->autoplay == NULL)
    {
      toggle_manual_player (self, stream);
      return;
    }
#endif
  /* With autoplay on, activating a stream shows it big. */
  tile = g_hash_table_lookup (self->tiles, tether_stream_get_id (stream));
  if (tile != NULL)
    set_focused_tile (self, tile);
}

/* ---- actions ---------------------------------------------------------------- */

static void
leave_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  tether_window_leave (TETHER_WINDOW (widget));
}

static void
fullscreen_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  GtkWindow *window = GTK_WINDOW (widget);

  if (gtk_window_is_fullscreen (window))
    gtk_window_unfullscreen (window);
  else
    gtk_window_fullscreen (window);
}

static void
leave_tile_fullscreen_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  set_focused_tile (TETHER_WINDOW (widget), NULL);
}

static void
publish_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
#ifdef TETHER_HAVE_MEDIA
  TetherWindow *self = TETHER_WINDOW (widget);

  if (self->publisher != NULL)
    stop_publishing (self);
  else
    start_publishing (self);
  update_actions (self);
#endif
}

/* ---- settings ----------------------------------------------------------------- */

static void
settings_changed_cb (GSettings    *settings,
                     const char   *key,
                     TetherWindow *self)
{
  if (g_str_equal (key, "room-retry-time") || g_str_equal (key, "av-retry-time"))
    {
      apply_engine_config (self);
#ifdef TETHER_HAVE_MEDIA
      if (self->autoplay != NULL)
        g_object_set (self->autoplay, "av-retry-time",
                      tether_engine_get_av_retry_time (self->engine), NULL);
      if (self->publisher != NULL)
        tether_publisher_set_av_retry_time (self->publisher,
                                            tether_engine_get_av_retry_time (self->engine));
#endif
    }
#ifdef TETHER_HAVE_MEDIA
  else if (g_str_equal (key, "autoplay") && room_is_in (self))
    {
      if (g_settings_get_boolean (settings, "autoplay"))
        {
          stop_manual_players (self);
          remove_all_tiles (self);
          start_autoplay (self);
        }
      else
        {
          stop_autoplay (self);
          remove_all_tiles (self);
        }
    }
#endif
}

/* ---- GObject ------------------------------------------------------------------ */

TetherWindow *
tether_window_new (GtkApplication *application)
{
  return g_object_new (TETHER_TYPE_WINDOW, "application", application, NULL);
}

static gboolean
tether_window_close_request (GtkWindow *window)
{
  TetherWindow *self = TETHER_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  end_session (self);
  if (self->demo != NULL)
    tether_demo_stop (self->demo);

  return GTK_WINDOW_CLASS (tether_window_parent_class)->close_request (window);
}

static void
tether_window_dispose (GObject *object)
{
  TetherWindow *self = TETHER_WINDOW (object);

  if (self->engine != NULL)
    end_session (self);
  if (self->demo != NULL)
    tether_demo_stop (self->demo);
  g_clear_object (&self->demo);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_WINDOW);
  g_clear_pointer (&self->tiles, g_hash_table_unref);
  g_clear_object (&self->engine);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tether_window_parent_class)->dispose (object);
}

static void
tether_window_finalize (GObject *object)
{
  TetherWindow *self = TETHER_WINDOW (object);

  g_ptr_array_unref (self->tile_order);
  g_ptr_array_unref (self->stream_rows);
#ifdef TETHER_HAVE_MEDIA
  g_hash_table_unref (self->manual_players);
#endif
  clear_join_params (self);
  g_free (self->last_toast);

  G_OBJECT_CLASS (tether_window_parent_class)->finalize (object);
}

static void
tether_window_class_init (TetherWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tether_window_dispose;
  object_class->finalize = tether_window_finalize;
  window_class->close_request = tether_window_close_request;

  g_type_ensure (TETHER_TYPE_START_PAGE);
  g_type_ensure (TETHER_TYPE_CONNECTION_BADGE);
  g_type_ensure (TETHER_TYPE_USER);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, start_page);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, room_header);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, room_title);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, badge);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, users_view);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, streams_view);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, users_count);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, streams_count);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, video_grid);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, publish_button);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, publish_badge);
  gtk_widget_class_bind_template_callback (widget_class, start_join_cb);
  gtk_widget_class_bind_template_callback (widget_class, start_demo_cb);
  gtk_widget_class_bind_template_callback (widget_class, start_retry_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_unbind_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_activate_cb);

  gtk_widget_class_install_action (widget_class, "win.leave", NULL, leave_action);
  gtk_widget_class_install_action (widget_class, "win.fullscreen", NULL, fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.publish", NULL, publish_action);
  gtk_widget_class_install_action (widget_class, "win.leave-tile-fullscreen", NULL,
                                   leave_tile_fullscreen_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.fullscreen", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "win.leave-tile-fullscreen", NULL);
}

static void
load_style (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      GtkCssProvider *provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_resource (provider, "/io/github/tetherlive/Tether/tether.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                  GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      /* GtkApplication does this for its resource base path; the tests have none. */
      gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                        "/io/github/tetherlive/Tether/icons");
      g_once_init_leave (&once, 1);
    }
}

static void
tether_window_init (TetherWindow *self)
{
  load_style ();
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (SCHEMA_ID);
  self->engine = tether_engine_new ();
  self->tiles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->tile_order = g_ptr_array_new ();
  self->stream_rows = g_ptr_array_new ();
#ifdef TETHER_HAVE_MEDIA
  self->manual_players = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
#endif

  tether_start_page_set_settings (self->start_page, self->settings);
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb), self, 0);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

#ifdef TETHER_HAVE_MEDIA
  update_publish_badge (self);
#else
  gtk_widget_set_visible (GTK_WIDGET (self->publish_badge), FALSE);
#endif
  relayout_grid (self);
  update_counts (self);
  update_actions (self);
}

/* ---- accessors (the tests use them) ---------------------------------------------- */

TetherEngine *
tether_window_get_engine (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->engine;
}

TetherRoom *
tether_window_get_room (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->room;
}

TetherConnectionBadge *
tether_window_get_badge (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->badge;
}

TetherStartPage *
tether_window_get_start_page (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->start_page;
}

const char *
tether_window_get_page_name (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->main_stack);
}

guint
tether_window_get_n_tiles (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), 0);
  return self->tile_order->len;
}

TetherVideoTile *
tether_window_get_tile (TetherWindow *self,
                        const char   *stream_id)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return g_hash_table_lookup (self->tiles, stream_id);
}

TetherVideoTile *
tether_window_get_nth_tile (TetherWindow *self,
                            guint         index)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return index < self->tile_order->len ? g_ptr_array_index (self->tile_order, index) : NULL;
}

const char *
tether_window_get_last_toast (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->last_toast;
}

GObject *
tether_window_get_demo (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return G_OBJECT (self->demo);
}
