/* tether-window.c: the main window — shows its TetherSession: the room's badge, lists,
 * video grid and toasts; back to the start page with the reason when the room ends
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "tether-stream-row.h"
#include "tether-tooltip.h"
#include "tether-window-private.h"

enum
{
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum { COUNT_PEOPLE, COUNT_STREAMS };

G_DEFINE_FINAL_TYPE (TetherWindow, tether_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- toasts ---------------------------------------------------------------- */

/* Returns: (transfer none): the toast, the overlay's while it is queued or shown */
AdwToast *
_tether_window_show_toast (TetherWindow *self,
                           const char   *title,
                           guint         timeout)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, timeout);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  g_free (self->last_toast);
  self->last_toast = g_strdup (title);
  return toast;
}

static void
break_toast_dismissed (AdwToast     *toast,
                       TetherWindow *self)
{
  if (self->break_toast == toast)
    g_clear_object (&self->break_toast);
}

/* ---- the video grid -------------------------------------------------------- */

/* The grid (TetherTileGrid) places the tiles; the window only picks the page. */
static void
update_grid_page (TetherWindow *self)
{
  gtk_stack_set_visible_child_name (self->grid_stack,
                                    self->tile_order->len > 0 ? "grid" : "empty");
}

void
_tether_window_set_focused_tile (TetherWindow    *self,
                                 TetherVideoTile *tile)
{
  TetherVideoTile *previous;

  if (self->focused_tile == tile)
    return;
  previous = self->focused_tile;
  self->focused_tile = tile;
  tether_tile_grid_set_focused (self->video_grid, GTK_WIDGET (tile));
  _tether_window_update_fullscreen (self);
  /* The keyboard stays where it was: on the tile shown big, then back on it in the grid. */
  if (tile != NULL || previous != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (tile != NULL ? tile : previous));
}

static void
tile_toggle_fullscreen_cb (TetherVideoTile *tile,
                           TetherWindow    *self)
{
  _tether_window_set_focused_tile (self, self->focused_tile == tile ? NULL : tile);
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

static TetherStream *
find_room_stream (TetherWindow *self,
                  const char   *stream_id)
{
  TetherRoom *room = tether_session_get_room (self->session);
  GListModel *streams = room ? tether_room_get_streams (room) : NULL;

  for (guint i = 0; streams != NULL && i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_strcmp0 (tether_stream_get_id (s), stream_id) == 0)
        return g_steal_pointer (&s);
    }
  return NULL;
}

static const char *
stream_owner_name (TetherStream *stream)
{
  const char *name = stream ? tether_stream_get_user_name (stream) : NULL;

  if (stream == NULL)
    return NULL;
  return name != NULL && *name != '\0' ? name : tether_stream_get_user_id (stream);
}

static gboolean
room_is_reconnecting (TetherWindow *self)
{
  TetherRoom *room = tether_session_get_room (self->session);

  return room != NULL && tether_room_get_state (room) == TETHER_ROOM_STATE_RECONNECTING;
}

static void
add_tile (TetherWindow *self,
          TetherPlayer *player)
{
  GSettings *settings = tether_session_get_settings (self->session);
  const char *stream_id = tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (player));
  g_autoptr(TetherStream) stream = find_room_stream (self, stream_id);
  TetherVideoTile *tile;

  if (g_hash_table_contains (self->tiles, stream_id))
    return;
  if (self->tile_order->len >= g_settings_get_uint (settings, "max-tiles"))
    {
      g_debug ("not showing %s: the grid is full", stream_id);
      return;
    }

  tile = TETHER_VIDEO_TILE (tether_video_tile_new (stream_id, stream_owner_name (stream)));
  tether_video_tile_set_offline (tile, room_is_reconnecting (self));
  g_object_ref_sink (tile);
  tether_video_tile_set_muted (tile, g_settings_get_boolean (settings, "start-muted"));
  tether_video_tile_set_player (tile, player);
  _tether_window_tile_keys_tile_added (self, tile);
  g_signal_connect_object (tile, "toggle-fullscreen", G_CALLBACK (tile_toggle_fullscreen_cb),
                           self, 0);
  tether_tooltip_keep_lines (GTK_WIDGET (tile));
  g_hash_table_insert (self->tiles, g_strdup (stream_id), tile);
  g_ptr_array_add (self->tile_order, tile);
  /* A host who comes back gets its old place in the grid. */
  tether_tile_grid_add (self->video_grid, GTK_WIDGET (tile), stream_id,
                        stream ? tether_stream_get_user_id (stream) : NULL,
                        GDK_PAINTABLE (tether_video_tile_get_sink (tile)));
  update_grid_page (self);
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
    _tether_window_set_focused_tile (self, NULL);
  tether_video_tile_set_player (tile, NULL);
  tether_tile_grid_remove (self->video_grid, GTK_WIDGET (tile));
  g_ptr_array_remove (self->tile_order, tile);
  g_hash_table_remove (self->tiles, stream_id);
  update_grid_page (self);
  refresh_stream_rows (self);
}

static void
remove_all_tiles (TetherWindow *self)
{
  _tether_window_set_focused_tile (self, NULL);
  while (self->tile_order->len > 0)
    remove_tile (self, tether_video_tile_get_stream_id (g_ptr_array_index (self->tile_order, 0)));
  update_grid_page (self);
}

static void
player_added_cb (TetherWindow *self,
                 TetherPlayer *player)
{
  add_tile (self, player);
}

static void
player_removed_cb (TetherWindow *self,
                   TetherPlayer *player)
{
  const char *stream_id = tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (player));
  TetherVideoTile *tile = g_hash_table_lookup (self->tiles, stream_id);

  if (tile == NULL || tether_video_tile_get_player (tile) != player)
    return;
  /* The room gave up: its tiles stay, with their last picture, under the offline view. */
  if (tether_offline_view_is_shown (self->offline_view))
    {
      tether_video_tile_set_player (tile, NULL);
      refresh_stream_rows (self);
      return;
    }
  remove_tile (self, stream_id);
}

/* ---- publishing ------------------------------------------------------------ */

/* Who you are in the room: the name you joined as, watching or live. */
static void
update_subtitle (TetherWindow *self)
{
  TetherPublisher *publisher = tether_session_get_publisher (self->session);
  const char *name = tether_session_get_display_name (self->session);
  g_autofree char *subtitle = NULL;

  if (tether_session_get_room (self->session) == NULL || name == NULL)
    return;
  if (publisher != NULL && tether_publisher_get_state (publisher) == TETHER_PUBLISHER_STATE_PUBLISHING)
    /* Translators: the room page's subtitle while you publish: "Live as <user name>" */
    subtitle = g_strdup_printf (_("Live as %s"), name);
  else
    /* Translators: the room page's subtitle while you watch: "Watching as <user name>" */
    subtitle = g_strdup_printf (_("Watching as %s"), name);
  adw_window_title_set_subtitle (self->room_title, subtitle);
}

static void
update_publish_badge (TetherWindow *self)
{
  TetherPublisher *publisher = tether_session_get_publisher (self->session);
  TetherPublisherState state = publisher ? tether_publisher_get_state (publisher)
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
  gtk_widget_set_visible (GTK_WIDGET (self->publish_badge), publisher != NULL);
  gtk_button_set_label (self->publish_button, publisher ? _("Stop") : _("Publish"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->publish_button),
                               publisher ? _("Stop publishing")
                                         : _("Preview the camera or the test picture, then go live"));
  /* Stop ends what others watch: destructive, as HIG asks. */
  gtk_widget_remove_css_class (GTK_WIDGET (self->publish_button),
                               publisher ? "suggested-action" : "destructive-action");
  gtk_widget_add_css_class (GTK_WIDGET (self->publish_button),
                            publisher ? "destructive-action" : "suggested-action");
  /* Your own stream is not a tile: an empty grid must not say no one streams. */
  if (state == TETHER_PUBLISHER_STATE_PUBLISHING)
    {
      adw_status_page_set_title (self->empty_status, _("You Are Live"));
      adw_status_page_set_description (self->empty_status,
                                       _("People in the room see your picture. Their streams appear here as they go live."));
    }
  else
    {
      adw_status_page_set_title (self->empty_status, _("No One Is Streaming"));
      adw_status_page_set_description (self->empty_status,
                                       _("Streams appear here by themselves as soon as someone in the room goes live."));
    }
  update_subtitle (self);
}

/* The header's squeezer shows this icon instead of the Publish/Stop button when the
 * window is too narrow for the words. */
static void
update_narrow_publish_button (TetherWindow *self)
{
  gboolean live = tether_session_get_publisher (self->session) != NULL;
  const char *what = live ? _("Stop publishing") : _("Publish the camera or the test picture");

  gtk_button_set_icon_name (self->narrow_publish_button,
                            live ? "media-playback-stop-symbolic" : "camera-video-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->narrow_publish_button), what);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->narrow_publish_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, what, -1);
  if (live)
    gtk_widget_add_css_class (GTK_WIDGET (self->narrow_publish_button), "destructive-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->narrow_publish_button), "destructive-action");
}

static void
publisher_state_cb (TetherWindow         *self,
                    TetherPublisherState  state,
                    int                   error_code,
                    const char           *extended)
{
  if (state == TETHER_PUBLISHER_STATE_NO_PUBLISH && error_code != 0)
    {
      g_autofree char *why = tether_describe_error (error_code);
      /* Translators: %s is why publishing stopped */
      g_autofree char *text = g_strdup_printf (_("Publishing stopped: %s"), why);

      _tether_window_show_toast (self, text, 6);
    }
  update_publish_badge (self);
  _tether_window_actions_update (self);
}

static void
session_publisher_changed_cb (TetherWindow *self)
{
  update_publish_badge (self);
  _tether_window_actions_update (self);
}

/* ---- the room ---------------------------------------------------------------- */

/* "3 people" or "2 streams", from a selection's n-items; @data is the label's list. */
static gboolean
count_transform (GBinding     *binding,
                 const GValue *from,
                 GValue       *to,
                 gpointer      data)
{
  guint n = g_value_get_uint (from);

  if (GPOINTER_TO_UINT (data) == COUNT_PEOPLE)
    /* Translators: the number of people in the room */
    g_value_take_string (to, g_strdup_printf (ngettext ("%u person", "%u people", n), n));
  else
    /* Translators: the number of streams in the room */
    g_value_take_string (to, g_strdup_printf (ngettext ("%u stream", "%u streams", n), n));
  return TRUE;
}

static void
stream_update_cb (TetherWindow     *self,
                  TetherUpdateType  update,
                  GPtrArray        *streams,
                  const char       *reason)
{
  if (update != TETHER_UPDATE_DELETE)
    return;
  for (guint i = 0; i < streams->len; i++)
    {
      TetherStream *stream = g_ptr_array_index (streams, i);
      const char *who = tether_stream_get_user_name (stream);

      if (who == NULL || *who == '\0')
        who = tether_stream_get_user_id (stream);
      /* A stream that simply stopped needs no toast: its tile going says it. */
      if (g_strcmp0 (reason, "heartbeat_timeout") == 0 || g_strcmp0 (reason, "media_lost") == 0
          || g_strcmp0 (reason, "kicked") == 0)
        {
          /* Translators: %s is a person's name */
          g_autofree char *text = g_strdup_printf (_("%s went offline"), who);

          _tether_window_show_toast (self, text, 5);
        }
      else if (g_strcmp0 (reason, "logout") == 0)
        {
          /* Translators: %s is a person's name */
          g_autofree char *text = g_strdup_printf (_("%s left the room"), who);

          _tether_window_show_toast (self, text, 4);
        }
    }
}

static void
go_to_start (TetherWindow *self,
             const char   *title,
             const char   *message,
             gboolean      can_retry)
{
  tether_start_page_set_busy (self->start_page, FALSE);
  if (tether_offline_view_is_shown (self->offline_view))
    {
      tether_offline_view_hide (self->offline_view);
      remove_all_tiles (self);
    }
  if (title != NULL)
    tether_start_page_show_error (self->start_page, title, message, can_retry);
  else
    tether_start_page_clear_error (self->start_page);
  gtk_stack_set_visible_child_name (self->main_stack, "start");
  _tether_window_actions_update (self);
}

/* Why, in words; for an untrusted certificate also libtether's own reason. @details
 * gets what helps only whoever looks into it: libtether's message (which address, what
 * the system said) and the error code. A server that cannot be reached says how, from
 * the start of libtether's message (tether_connect_failure_message()). */
static char *
describe_with_detail (int          error_code,
                      const char  *detail,
                      char       **details)
{
  static const struct { const char *prefix; const char *hint; } network[] = {
    { "connection refused", N_("Nothing answers at this address: the server is not running, or the port is wrong.") },
    { "host not found", N_("No server has this name: check the address for typing errors.") },
    { "TLS failed", N_("A secure connection could not be set up: the server may not offer one at this port.") },
  };
  g_autofree char *why = tether_describe_error (error_code);
  gboolean has_detail = detail != NULL && *detail != '\0';

  if (details != NULL && error_code != TETHER_ERROR_NONE)
    *details = has_detail && error_code != TETHER_ERROR_TLS_CERTIFICATE
               ? g_strdup_printf ("%s · %s (%d)", detail, tether_error_code_to_string (error_code),
                                  error_code)
               : g_strdup_printf ("%s (%d)", tether_error_code_to_string (error_code), error_code);
  if (has_detail && error_code == TETHER_ERROR_TLS_CERTIFICATE)
    return g_strdup_printf ("%s\n(%s)", why, detail);
  for (guint i = 0; has_detail && error_code == TETHER_ERROR_NETWORK && i < G_N_ELEMENTS (network); i++)
    if (g_str_has_prefix (detail, network[i].prefix))
      return g_strdup_printf ("%s %s", why, _(network[i].hint));
  return g_steal_pointer (&why);
}

static char *
extended_message (const char *extended)
{
  g_autoptr(JsonNode) node = extended != NULL ? json_from_string (extended, NULL) : NULL;
  JsonObject *o = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node)
                                                                 : NULL;

  return o != NULL ? g_strdup (json_object_get_string_member_with_default (o, "message", NULL))
                   : NULL;
}

/* Runs before the session's own handler, which lets an ended room go. */
static void
room_state_changed_cb (TetherWindow    *self,
                       TetherRoomState  state,
                       int              error_code,
                       const char      *extended,
                       TetherRoom      *room)
{
  g_autofree char *detail = extended_message (extended);
  g_autofree char *details = NULL;
  g_autofree char *why = describe_with_detail (error_code, detail, &details);

  g_debug ("room state %s (%d)", tether_room_state_to_string (state), error_code);
  for (guint i = 0; i < self->tile_order->len; i++)
    tether_video_tile_set_offline (g_ptr_array_index (self->tile_order, i),
                                   state == TETHER_ROOM_STATE_RECONNECTING
                                   || state == TETHER_ROOM_STATE_RECONNECT_FAILED
                                   || tether_offline_view_is_shown (self->offline_view));

  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINED:
      tether_start_page_set_busy (self->start_page, FALSE);
      tether_start_page_clear_error (self->start_page);
      /* Back in after Try Again: the old pictures make way for the room's new players. */
      if (tether_offline_view_is_shown (self->offline_view))
        {
          tether_offline_view_hide (self->offline_view);
          remove_all_tiles (self);
        }
      break;

    case TETHER_ROOM_STATE_RECONNECTING:
      self->break_started = g_get_monotonic_time ();
      g_clear_object (&self->break_toast);
      self->break_toast = g_object_ref (_tether_window_show_toast (
        self, _("Connection lost — reconnecting by itself"), 4));
      g_signal_connect_object (self->break_toast, "dismissed", G_CALLBACK (break_toast_dismissed),
                               self, 0);
      break;

    case TETHER_ROOM_STATE_RECONNECTED:
      {
        TetherReconnectReport *report = tether_room_get_last_report (room);
        double downtime = report ? tether_reconnect_report_get_downtime (report)
                                 : (g_get_monotonic_time () - self->break_started) / 1e6;
        g_autofree char *took = tether_format_duration (downtime);
        /* Translators: %s is how long the connection was down, e.g. "4.2 s" */
        g_autofree char *text = downtime < 0.05
                                  ? g_strdup (_("The connection is back at once"))
                                  : g_strdup_printf (_("The connection is back after %s"), took);

        /* A quick return must not leave "Connection lost" up (the overlay shows one
         * toast at a time) while the badge already says Reconnected. */
        if (self->break_toast != NULL)
          adw_toast_dismiss (self->break_toast);
        _tether_window_show_toast (self, text, 5);
      }
      break;

    /* The start page's error card says why, once: no toast repeating it over the card. */
    case TETHER_ROOM_STATE_LOGIN_FAILED:
      /* Try Again while the server is still out of reach: Offline again, with the new
       * reason and time, and the network monitor still watched. */
      if (tether_offline_view_get_busy (self->offline_view)
          && (error_code == TETHER_ERROR_NETWORK || error_code == TETHER_ERROR_LOGIN_TIMEOUT))
        {
          g_autoptr(GDateTime) now = g_date_time_new_now_local ();

          tether_offline_view_show (self->offline_view, why, now);
          break;
        }
      go_to_start (self, _("Could not join the room"), why, TRUE);
      tether_start_page_set_error_details (self->start_page, details);
      break;

    case TETHER_ROOM_STATE_KICK_OUT:
      go_to_start (self, _("You were signed out of the room"), why, TRUE);
      tether_start_page_set_error_details (self->start_page, details);
      break;

    case TETHER_ROOM_STATE_RECONNECT_FAILED:
      {
        /* The room stays in view, Offline, with why and when, until Try Again or Leave. */
        g_autoptr(GDateTime) now = g_date_time_new_now_local ();
        TetherReconnectReport *report = tether_room_get_last_report (room);
        const char *cause = report ? tether_reconnect_report_get_cause (report) : NULL;
        /* Translators: what broke the connection, then why it was not restored:
         * "The server stopped answering. The connection could not be restored in time." */
        g_autofree char *reason = cause ? g_strdup_printf (_("%s. %s"), tether_describe_cause (cause), why)
                                        : g_strdup (why);

        tether_offline_view_show (self->offline_view, reason, now);
      }
      break;

    case TETHER_ROOM_STATE_LOGOUT_FAILED:
      _tether_window_show_toast (self, _("Could not leave the room cleanly"), 4);
      break;

    case TETHER_ROOM_STATE_LOGINING:
    case TETHER_ROOM_STATE_LOGOUT:
    default:
      break;
    }
  _tether_window_actions_update (self);
}

/* A new room (a join) or none (the room ended): the room page follows. */
static void
session_room_changed_cb (TetherWindow *self)
{
  TetherRoom *room = tether_session_get_room (self->session);

  /* The tiles were the last room's; a room that gave up keeps them under the offline
   * view until the start page, or until Try Again gets back in. */
  if (room != NULL && !tether_offline_view_get_busy (self->offline_view))
    tether_offline_view_hide (self->offline_view);
  if (!tether_offline_view_is_shown (self->offline_view))
    remove_all_tiles (self);
  if (room == NULL)
    {
      /* The badge keeps showing how the room ended until the next one starts. */
      gtk_filter_list_model_set_model (self->others, NULL);
      g_list_store_remove_all (self->me);
      gtk_no_selection_set_model (self->streams_selection, NULL);
    }
  else
    {
      g_autoptr(TetherUser) user = tether_user_new (tether_room_get_user_id (room),
                                                    tether_session_get_display_name (self->session));

      tether_connection_badge_set_room (self->badge, room);
      update_subtitle (self);
      g_list_store_remove_all (self->me);
      /* person_label() marks it; the avatar keeps the plain name's initials. */
      g_object_set_data (G_OBJECT (user), "tether-you", GINT_TO_POINTER (TRUE));
      g_list_store_append (self->me, user);
      gtk_filter_changed (gtk_filter_list_model_get_filter (self->others), GTK_FILTER_CHANGE_DIFFERENT);
      tether_start_page_set_busy (self->start_page, TRUE);
      gtk_stack_set_visible_child_name (self->main_stack, "room");
    }
  _tether_window_actions_update (self);
}

/* No guest token (or another failure before the login): the start page says why. */
static void
session_join_failed_cb (TetherWindow *self,
                        GError       *error)
{
  int code = error->domain == TETHER_ERROR ? error->code : TETHER_ERROR_NETWORK;
  g_autofree char *details = NULL;
  g_autofree char *why = describe_with_detail (code, error->message, &details);

  go_to_start (self, _("Could not join the room"), why,
               code != TETHER_ERROR_ROOM_NOT_PUBLIC && code != TETHER_ERROR_TLS_CERTIFICATE);
  tether_start_page_set_error_details (self->start_page, details);
}

/**
 * tether_window_open_link:
 * @self: a window
 * @link: a room link, `tether://HOST[:PORT]/ROOM`
 *
 * Opens the room of @link (tether_session_open_link()); a link that is not valid, or
 * a room that cannot be joined, shows on the start page.
 */
void
tether_window_open_link (TetherWindow *self,
                         const char   *link)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (TETHER_IS_WINDOW (self));
  g_return_if_fail (link != NULL);

  if (!tether_session_open_link (self->session, link, &error))
    {
      go_to_start (self, _("Cannot open the link"), error->message, FALSE);
      return;
    }
  tether_start_page_clear_error (self->start_page);
  tether_start_page_set_busy (self->start_page, TRUE);
}

static void
demo_joined_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TetherWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (tether_session_join_demo_finish (TETHER_SESSION (source), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  tether_start_page_set_busy (self->start_page, FALSE);
  tether_start_page_show_error (self->start_page, _("The demo room could not start"),
                                error->message, TRUE);
}

/**
 * tether_window_start_demo:
 * @self: a window
 *
 * Starts the session's demo room and joins it; on failure the start page says why.
 */
void
tether_window_start_demo (TetherWindow *self)
{
  g_return_if_fail (TETHER_IS_WINDOW (self));

  tether_start_page_set_busy (self->start_page, TRUE);
  tether_session_join_demo_async (self->session, self->demo_cancellable, demo_joined_cb,
                                  g_object_ref (self));
}

/**
 * tether_window_leave:
 * @self: a window
 *
 * Leaves the session's room and goes back to the start page.
 */
void
tether_window_leave (TetherWindow *self)
{
  g_return_if_fail (TETHER_IS_WINDOW (self));

  go_to_start (self, NULL, NULL, FALSE);
  tether_session_leave (self->session);
  tether_connection_badge_set_room (self->badge, NULL);
}

/* ---- the offline view -------------------------------------------------------- */

/* Try Again, or the network came back: the same room with the same login, which
 * resumes when the server still holds the session and logs in afresh otherwise. */
static void
offline_retry_cb (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;

  tether_offline_view_set_busy (self->offline_view, TRUE);
  if (!tether_session_rejoin (self->session, &error))
    go_to_start (self, _("Cannot join yet"), error->message, FALSE);
}

static void
setup_offline_view (TetherWindow *self)
{
  GtkWidget *content = g_object_ref (adw_flap_get_content (self->flap));
  GtkWidget *overlay = gtk_overlay_new ();

  adw_flap_set_content (self->flap, overlay);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), content);
  g_object_unref (content);
  self->offline_view = TETHER_OFFLINE_VIEW (tether_offline_view_new ());
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->offline_view));
  g_signal_connect_object (self->offline_view, "retry", G_CALLBACK (offline_retry_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->offline_view, "leave", G_CALLBACK (tether_window_leave), self,
                           G_CONNECT_SWAPPED);
}

/* ---- start page signals ----------------------------------------------------- */

static void
start_open_link_cb (TetherWindow *self,
                    const char   *link)
{
  tether_window_open_link (self, link);
}

static void
start_join_cb (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (!tether_session_join_from_settings (self->session, &error))
    tether_start_page_show_error (self->start_page, _("Cannot join yet"), error->message, FALSE);
  else
    tether_start_page_set_busy (self->start_page, TRUE);
}

static void
start_demo_cb (TetherWindow *self)
{
  tether_window_start_demo (self);
}

static void
start_retry_cb (TetherWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (tether_session_get_last_was_demo (self->session))
    tether_window_start_demo (self);
  else if (!tether_session_rejoin (self->session, &error))
    tether_start_page_show_error (self->start_page, _("Cannot join yet"), error->message, FALSE);
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
  g_autoptr(GError) error = NULL;
  TetherVideoTile *tile;

  if (stream == NULL)
    return;
  /* With autoplay off, activating a stream plays it (or stops it). */
  if (tether_session_get_autoplay (self->session) == NULL)
    {
      if (!tether_session_toggle_player (self->session, stream, &error))
        _tether_window_show_toast (self, error->message, 5);
      return;
    }
  /* With autoplay on, activating a stream shows it big. */
  tile = g_hash_table_lookup (self->tiles, tether_stream_get_id (stream));
  if (tile != NULL)
    _tether_window_set_focused_tile (self, tile);
}

/* ---- GObject ------------------------------------------------------------------ */

/**
 * tether_window_new:
 * @application: (nullable): the application
 * @session: the session to show
 *
 * Returns: (transfer none): a new window
 */
TetherWindow *
tether_window_new (GtkApplication *application,
                   TetherSession  *session)
{
  g_return_val_if_fail (TETHER_IS_SESSION (session), NULL);

  return g_object_new (TETHER_TYPE_WINDOW, "application", application, "session", session, NULL);
}

/**
 * tether_window_get_session:
 * @self: a window
 *
 * Returns: (transfer none): the session the window shows
 */
TetherSession *
tether_window_get_session (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);

  return self->session;
}

static gboolean
tether_window_close_request (GtkWindow *window)
{
  TetherWindow *self = TETHER_WINDOW (window);
  GSettings *settings = tether_session_get_settings (self->session);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (tether_window_parent_class)->close_request (window);
}

static void
tether_window_constructed (GObject *object)
{
  TetherWindow *self = TETHER_WINDOW (object);
  g_autoptr(GNetworkMonitor) monitor = NULL;
  GSettings *settings;

  G_OBJECT_CLASS (tether_window_parent_class)->constructed (object);

  g_assert (TETHER_IS_SESSION (self->session));
  settings = tether_session_get_settings (self->session);

  tether_start_page_set_settings (self->start_page, settings);
  tether_start_page_set_secrets (self->start_page, tether_session_get_secrets (self->session));
  g_signal_connect_object (self->start_page, "open-link", G_CALLBACK (start_open_link_cb), self,
                           G_CONNECT_SWAPPED);
  /* The network the engine's rooms watch is the one that brings the room back. */
  g_object_get (tether_session_get_engine (self->session), "network-monitor", &monitor, NULL);
  tether_offline_view_set_network_monitor (self->offline_view, monitor);
  _tether_window_tile_keys_setup (self);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_object (self->session, "player-added", G_CALLBACK (player_added_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "player-removed", G_CALLBACK (player_removed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::publisher",
                           G_CALLBACK (session_publisher_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::publisher",
                           G_CALLBACK (update_narrow_publish_button), self, G_CONNECT_SWAPPED);
  /* The groups first: the room page's handler finds them pointed at the new room. */
  g_object_bind_property (self->session, "room", self->room_signals, "target", G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "room", self->room_bindings, "source", G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "publisher", self->publisher_signals, "target",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_object (self->session, "notify::room", G_CALLBACK (session_room_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "join-failed", G_CALLBACK (session_join_failed_cb),
                           self, G_CONNECT_SWAPPED);

  if (tether_session_get_room (self->session) != NULL)
    session_room_changed_cb (self);
  update_publish_badge (self);
  update_narrow_publish_button (self);
  update_grid_page (self);
  _tether_window_actions_update (self);
  /* Chinese tooltips on one line (the badge's, the header buttons'…) */
  tether_tooltip_keep_lines (GTK_WIDGET (self));
}

static void
tether_window_dispose (GObject *object)
{
  TetherWindow *self = TETHER_WINDOW (object);

  g_cancellable_cancel (self->demo_cancellable);
  if (self->room_signals != NULL)
    g_signal_group_set_target (self->room_signals, NULL);
  if (self->room_bindings != NULL)
    g_binding_group_set_source (self->room_bindings, NULL);
  if (self->publisher_signals != NULL)
    g_signal_group_set_target (self->publisher_signals, NULL);
  if (self->tile_order != NULL)
    remove_all_tiles (self);
  _tether_window_fullscreen_dispose (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_WINDOW);
  g_clear_pointer (&self->tiles, g_hash_table_unref);
  g_clear_object (&self->room_signals);
  g_clear_object (&self->room_bindings);
  g_clear_object (&self->publisher_signals);
  g_clear_object (&self->users_selection);
  g_clear_object (&self->others);
  g_clear_object (&self->me);
  g_clear_object (&self->streams_selection);
  g_clear_object (&self->demo_cancellable);
  g_clear_object (&self->mixer);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (tether_window_parent_class)->dispose (object);
}

static void
tether_window_finalize (GObject *object)
{
  TetherWindow *self = TETHER_WINDOW (object);

  g_ptr_array_unref (self->tile_order);
  g_ptr_array_unref (self->stream_rows);
  g_free (self->last_toast);
  g_clear_object (&self->break_toast);

  G_OBJECT_CLASS (tether_window_parent_class)->finalize (object);
}

static void
tether_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherWindow *self = TETHER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION: g_value_set_object (value, self->session); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TetherWindow *self = TETHER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION: self->session = g_value_dup_object (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_window_class_init (TetherWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = tether_window_constructed;
  object_class->dispose = tether_window_dispose;
  object_class->finalize = tether_window_finalize;
  object_class->get_property = tether_window_get_property;
  object_class->set_property = tether_window_set_property;
  window_class->close_request = tether_window_close_request;

  /**
   * TetherWindow:session:
   *
   * The session the window shows: its room, players and publisher.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, TETHER_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (TETHER_TYPE_START_PAGE);
  g_type_ensure (TETHER_TYPE_CONNECTION_BADGE);
  g_type_ensure (TETHER_TYPE_USER);
  g_type_ensure (TETHER_TYPE_TILE_GRID);

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
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, empty_status);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, publish_button);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, publish_badge);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, narrow_publish_button);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, header_flap);
  gtk_widget_class_bind_template_child (widget_class, TetherWindow, leave_fullscreen_button);
  gtk_widget_class_bind_template_callback (widget_class, start_join_cb);
  gtk_widget_class_bind_template_callback (widget_class, start_demo_cb);
  gtk_widget_class_bind_template_callback (widget_class, start_retry_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_unbind_cb);
  gtk_widget_class_bind_template_callback (widget_class, stream_activate_cb);

  _tether_window_class_actions_init (klass);
  _tether_window_tile_keys_class_init (klass);
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

/* "Ada (You)" for the People list's first row, the name for the others. */
static char *
person_label (GtkListItem *item,
              TetherUser  *user,
              const char  *name)
{
  if (user == NULL)
    return NULL;
  if (g_object_get_data (G_OBJECT (user), "tether-you") != NULL)
    /* Translators: you, first in the People list */
    return g_strdup_printf (_("%s (You)"), name);
  return g_strdup (name);
}

/* The room's users but you: you are the People list's first row already. */
static gboolean
not_me (gpointer item,
        gpointer data)
{
  TetherWindow *self = data;
  TetherRoom *room = tether_session_get_room (self->session);

  return room == NULL || g_strcmp0 (tether_user_get_id (item), tether_room_get_user_id (room)) != 0;
}

static void
tether_window_init (TetherWindow *self)
{
  GListStore *people;
  g_autoptr(GtkBuilderScope) scope = gtk_builder_cscope_new ();
  g_autoptr(GtkListItemFactory) person_factory = NULL;

  load_style ();
  gtk_widget_init_template (GTK_WIDGET (self));
  setup_offline_view (self);
  gtk_builder_cscope_add_callback (GTK_BUILDER_CSCOPE (scope), person_label);
  person_factory = gtk_builder_list_item_factory_new_from_resource (scope,
                                                                    "/io/github/tetherlive/Tether/tether-user-item.ui");
  gtk_list_view_set_factory (self->users_view, person_factory);

  self->tiles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->tile_order = g_ptr_array_new ();
  self->stream_rows = g_ptr_array_new ();
  self->demo_cancellable = g_cancellable_new ();
  _tether_window_fullscreen_init (self);

  /* The lists show the current room's; the counts follow them. You come first in
   * People: the room's list holds the others. */
  self->me = g_list_store_new (TETHER_TYPE_USER);
  self->others = gtk_filter_list_model_new (NULL, GTK_FILTER (gtk_custom_filter_new (not_me, self, NULL)));
  people = g_list_store_new (G_TYPE_LIST_MODEL);
  g_list_store_append (people, self->me);
  g_list_store_append (people, self->others);
  self->users_selection = gtk_no_selection_new (G_LIST_MODEL (gtk_flatten_list_model_new (G_LIST_MODEL (people))));
  self->streams_selection = gtk_no_selection_new (NULL);
  gtk_list_view_set_model (self->users_view, GTK_SELECTION_MODEL (self->users_selection));
  gtk_list_view_set_model (self->streams_view, GTK_SELECTION_MODEL (self->streams_selection));
  g_object_bind_property_full (self->users_selection, "n-items", self->users_count, "label",
                               G_BINDING_SYNC_CREATE, count_transform, NULL,
                               GUINT_TO_POINTER (COUNT_PEOPLE), NULL);
  g_object_bind_property_full (self->streams_selection, "n-items", self->streams_count, "label",
                               G_BINDING_SYNC_CREATE, count_transform, NULL,
                               GUINT_TO_POINTER (COUNT_STREAMS), NULL);

  self->room_bindings = g_binding_group_new ();
  g_binding_group_bind (self->room_bindings, "users", self->others, "model", G_BINDING_SYNC_CREATE);
  g_binding_group_bind (self->room_bindings, "streams", self->streams_selection, "model",
                        G_BINDING_SYNC_CREATE);
  g_binding_group_bind (self->room_bindings, "id", self->room_title, "title", G_BINDING_SYNC_CREATE);

  self->room_signals = g_signal_group_new (TETHER_TYPE_ROOM);
  g_signal_group_connect_swapped (self->room_signals, "state-changed",
                                  G_CALLBACK (room_state_changed_cb), self);
  g_signal_group_connect_swapped (self->room_signals, "stream-update",
                                  G_CALLBACK (stream_update_cb), self);

  self->publisher_signals = g_signal_group_new (TETHER_TYPE_PUBLISHER);
  g_signal_group_connect_swapped (self->publisher_signals, "state-changed",
                                  G_CALLBACK (publisher_state_cb), self);
}

/* ---- read-outs for tests/test-app.c (tether-window-private.h) -------------------- */

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

/* Whether "Connection lost" is still queued or shown. */
gboolean
tether_window_get_break_toast_shown (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), FALSE);
  return self->break_toast != NULL;
}

TetherPublishPreview *
tether_window_get_publish_preview (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->preview;
}

const char *
tether_window_get_subtitle (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return adw_window_title_get_subtitle (self->room_title);
}

GListModel *
tether_window_get_people (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->users_selection);
}

/* What the People list's row @position says: "Ada (You)" first. */
char *
tether_window_dup_person_label (TetherWindow *self,
                                guint         position)
{
  g_autoptr(TetherUser) user = NULL;

  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  user = g_list_model_get_item (G_LIST_MODEL (self->users_selection), position);
  return user != NULL ? person_label (NULL, user, tether_user_get_name (user)) : NULL;
}

TetherOfflineView *
tether_window_get_offline_view (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->offline_view;
}
