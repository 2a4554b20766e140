/* tether-stream-row.c: a Streams-list row; its player's state and statistics refresh
 * on every state change and once a second
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-stats-overlay.h"
#include "tether-stream-row.h"
#include "tether-video-tile.h"

struct _TetherStreamRow
{
  GtkWidget parent_instance;

  TetherStream *stream;
  TetherPlayer *player;
  GSignalGroup *player_signals;
  guint tick_id;

  GtkLabel *title;
  GtkLabel *owner;
  GtkLabel *state_badge;
  GtkLabel *stats;
  GtkImage *quality;
};

G_DEFINE_FINAL_TYPE (TetherStreamRow, tether_stream_row, GTK_TYPE_WIDGET)

static void
update (TetherStreamRow *self)
{
  TetherPlayerState state = TETHER_PLAYER_STATE_NO_PLAY;
  double bitrate = 0, fps = 0;
  g_autofree char *stats = NULL;
  g_autofree char *accessible = NULL;

  if (self->stream == NULL)
    return;

  gtk_label_set_text (self->title, tether_stream_get_id (self->stream));
  gtk_label_set_text (self->owner, tether_stream_get_user_name (self->stream) && *tether_stream_get_user_name (self->stream)
                                   ? tether_stream_get_user_name (self->stream)
                                   : tether_stream_get_user_id (self->stream));
  if (self->player != NULL)
    {
      state = tether_player_get_state (self->player);
      g_object_get (self->player, "bitrate", &bitrate, "fps", &fps, NULL);
    }

  tether_player_state_style_label (self->state_badge, state);
  if (state == TETHER_PLAYER_STATE_PLAYING)
    /* Translators: stream statistics: bitrate in kilobits per second, frames per second */
    stats = g_strdup_printf (_("%.0f kbit/s · %.0f fps"), bitrate / 1000.0, fps);
  else
    stats = g_strdup ("");
  gtk_label_set_text (self->stats, stats);
  gtk_widget_set_visible (GTK_WIDGET (self->stats), *stats != '\0');
  tether_quality_image_update (self->quality, self->player ? tether_player_get_quality (self->player)
                                                           : TETHER_STREAM_QUALITY_UNKNOWN);

  /* Translators: accessible description of a stream row: "cam by Alice, Playing" */
  accessible = g_strdup_printf (_("%s by %s, %s"), gtk_label_get_text (self->title),
                                gtk_label_get_text (self->owner),
                                gtk_label_get_text (self->state_badge));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

static gboolean
tick_cb (gpointer data)
{
  update (data);
  return G_SOURCE_CONTINUE;
}

void
tether_stream_row_set_stream (TetherStreamRow *self,
                              TetherStream    *stream)
{
  g_return_if_fail (TETHER_IS_STREAM_ROW (self));

  g_set_object (&self->stream, stream);
  update (self);
}

TetherStream *
tether_stream_row_get_stream (TetherStreamRow *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM_ROW (self), NULL);

  return self->stream;
}

static void
player_changed_cb (TetherStreamRow *self)
{
  update (self);
}

void
tether_stream_row_set_player (TetherStreamRow *self,
                              TetherPlayer    *player)
{
  g_return_if_fail (TETHER_IS_STREAM_ROW (self));
  g_return_if_fail (player == NULL || TETHER_IS_PLAYER (player));

  if (!g_set_object (&self->player, player))
    return;
  g_signal_group_set_target (self->player_signals, player);
  update (self);
}

GtkImage *
tether_stream_row_get_quality_image (TetherStreamRow *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM_ROW (self), NULL);

  return self->quality;
}

GtkWidget *
tether_stream_row_new (void)
{
  return g_object_new (TETHER_TYPE_STREAM_ROW, NULL);
}

static void
tether_stream_row_map (GtkWidget *widget)
{
  TetherStreamRow *self = TETHER_STREAM_ROW (widget);

  GTK_WIDGET_CLASS (tether_stream_row_parent_class)->map (widget);
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (1, tick_cb, self);
  update (self);
}

static void
tether_stream_row_unmap (GtkWidget *widget)
{
  TetherStreamRow *self = TETHER_STREAM_ROW (widget);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  GTK_WIDGET_CLASS (tether_stream_row_parent_class)->unmap (widget);
}

static void
tether_stream_row_dispose (GObject *object)
{
  TetherStreamRow *self = TETHER_STREAM_ROW (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->player_signals != NULL)
    g_signal_group_set_target (self->player_signals, NULL);
  g_clear_object (&self->player_signals);
  g_clear_object (&self->player);
  g_clear_object (&self->stream);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_STREAM_ROW);
  /* The template's root is not a bound child; it goes with its parent. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (tether_stream_row_parent_class)->dispose (object);
}

static void
tether_stream_row_class_init (TetherStreamRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_stream_row_dispose;
  widget_class->map = tether_stream_row_map;
  widget_class->unmap = tether_stream_row_unmap;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-stream-row.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherStreamRow, title);
  gtk_widget_class_bind_template_child (widget_class, TetherStreamRow, owner);
  gtk_widget_class_bind_template_child (widget_class, TetherStreamRow, state_badge);
  gtk_widget_class_bind_template_child (widget_class, TetherStreamRow, stats);
  gtk_widget_class_bind_template_child (widget_class, TetherStreamRow, quality);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tether_stream_row_init (TetherStreamRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->player_signals = g_signal_group_new (TETHER_TYPE_PLAYER);
  g_signal_group_connect_swapped (self->player_signals, "notify::state",
                                  G_CALLBACK (player_changed_cb), self);
  g_signal_group_connect_swapped (self->player_signals, "notify::quality",
                                  G_CALLBACK (player_changed_cb), self);
}
