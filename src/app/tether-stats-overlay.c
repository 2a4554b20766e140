/* tether-stats-overlay.c: TetherStatsOverlay, a small on-screen table over a tile with
 * what its player measured in the last second (TetherPlayer:stats): picture size, frame
 * rate, bitrate, dropped frames, receive-side latency, round trip and SRT loss and
 * retransmissions, and the network quality
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-stats-overlay.h"

enum
{
  ROW_RESOLUTION,
  ROW_FPS,
  ROW_BITRATE,
  ROW_DROPPED,
  ROW_LATENCY,
  ROW_RTT,
  ROW_LOSS,
  ROW_QUALITY,
  N_ROWS
};

struct _TetherStatsOverlay
{
  GtkWidget parent_instance;

  TetherPlayer *player;
  GSignalGroup *player_signals;
  GtkGrid *grid;
  GtkLabel *names[N_ROWS];
  GtkLabel *values[N_ROWS];
};

G_DEFINE_FINAL_TYPE (TetherStatsOverlay, tether_stats_overlay, GTK_TYPE_WIDGET)

static const char *
quality_text (TetherStreamQuality quality)
{
  switch (quality)
    {
    case TETHER_STREAM_QUALITY_EXCELLENT: return _("Excellent");
    case TETHER_STREAM_QUALITY_GOOD: return _("Good");
    case TETHER_STREAM_QUALITY_POOR: return _("Poor");
    case TETHER_STREAM_QUALITY_BAD: return _("Bad");
    case TETHER_STREAM_QUALITY_UNKNOWN:
    default: return _("Unknown");
    }
}

void
tether_quality_image_update (GtkImage            *image,
                             TetherStreamQuality  quality)
{
  static const char * const icons[] = {
    [TETHER_STREAM_QUALITY_UNKNOWN] = "network-cellular-signal-none-symbolic",
    [TETHER_STREAM_QUALITY_EXCELLENT] = "network-cellular-signal-excellent-symbolic",
    [TETHER_STREAM_QUALITY_GOOD] = "network-cellular-signal-good-symbolic",
    [TETHER_STREAM_QUALITY_POOR] = "network-cellular-signal-ok-symbolic",
    [TETHER_STREAM_QUALITY_BAD] = "network-cellular-signal-weak-symbolic",
  };
  static const char * const classes[] = {
    [TETHER_STREAM_QUALITY_UNKNOWN] = "quality-unknown",
    [TETHER_STREAM_QUALITY_EXCELLENT] = "quality-excellent",
    [TETHER_STREAM_QUALITY_GOOD] = "quality-good",
    [TETHER_STREAM_QUALITY_POOR] = "quality-poor",
    [TETHER_STREAM_QUALITY_BAD] = "quality-bad",
  };
  g_autofree char *text = NULL;

  g_return_if_fail (GTK_IS_IMAGE (image));

  if ((guint) quality >= G_N_ELEMENTS (icons))
    quality = TETHER_STREAM_QUALITY_UNKNOWN;
  gtk_image_set_from_icon_name (image, icons[quality]);
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (image), classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (image), classes[quality]);
  /* Translators: tooltip of the network-quality icon: "Network: Good" */
  text = g_strdup_printf (_("Network: %s"), quality_text (quality));
  gtk_widget_set_tooltip_text (GTK_WIDGET (image), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (image), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  gtk_widget_set_visible (GTK_WIDGET (image), quality != TETHER_STREAM_QUALITY_UNKNOWN);
}

static void
set_row (TetherStatsOverlay *self,
         guint               row,
         char               *value)
{
  gtk_label_set_text (self->values[row], value);
  g_free (value);
}

static void
update (TetherStatsOverlay *self)
{
  const TetherPlayerStats *s = self->player ? tether_player_get_stats (self->player) : NULL;
  TetherPlayerStats none = { 0 };

  if (s == NULL)
    s = &none;
  set_row (self, ROW_RESOLUTION, s->width > 0 ? g_strdup_printf ("%d×%d", s->width, s->height)
                                                : g_strdup ("—"));
  /* Translators: frames per second */
  set_row (self, ROW_FPS, g_strdup_printf (_("%.1f fps"), s->fps));
  /* Translators: kilobits per second */
  set_row (self, ROW_BITRATE, g_strdup_printf (_("%.0f kbit/s"), s->bitrate / 1000.0));
  set_row (self, ROW_DROPPED, g_strdup_printf ("%" G_GUINT64_FORMAT, s->frames_dropped));
  /* Translators: milliseconds */
  set_row (self, ROW_LATENCY, g_strdup_printf (_("%.0f ms"), s->latency_ms));
  set_row (self, ROW_RTT, g_strdup_printf (_("%.0f ms"), s->rtt_ms));
  /* Translators: packet loss of the last second in percent, then the link's totals:
   * "0.0% (12 lost, 11 resent, 0 dropped)"; "%%" is a percent sign */
  set_row (self, ROW_LOSS, g_strdup_printf (_("%.1f%% (%lld lost, %lld resent, %lld dropped)"),
                                            s->loss_rate * 100, (long long) s->packets_lost,
                                            (long long) s->packets_retransmitted,
                                            (long long) s->packets_dropped));
  set_row (self, ROW_QUALITY, g_strdup (quality_text (s->quality)));
}

void
tether_stats_overlay_set_player (TetherStatsOverlay *self,
                                 TetherPlayer       *player)
{
  g_return_if_fail (TETHER_IS_STATS_OVERLAY (self));

  if (!g_set_object (&self->player, player))
    return;
  g_signal_group_set_target (self->player_signals, player);
  update (self);
}

char *
tether_stats_overlay_dup_text (TetherStatsOverlay *self)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (TETHER_IS_STATS_OVERLAY (self), NULL);

  for (guint i = 0; i < N_ROWS; i++)
    g_string_append_printf (text, "%s\t%s\n", gtk_label_get_text (self->names[i]),
                            gtk_label_get_text (self->values[i]));
  return g_string_free (text, FALSE);
}

GtkWidget *
tether_stats_overlay_new (void)
{
  return g_object_new (TETHER_TYPE_STATS_OVERLAY, NULL);
}

static void
tether_stats_overlay_dispose (GObject *object)
{
  TetherStatsOverlay *self = TETHER_STATS_OVERLAY (object);

  if (self->player_signals != NULL)
    g_signal_group_set_target (self->player_signals, NULL);
  g_clear_object (&self->player_signals);
  g_clear_object (&self->player);
  if (self->grid != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->grid));
  self->grid = NULL;

  G_OBJECT_CLASS (tether_stats_overlay_parent_class)->dispose (object);
}

static void
tether_stats_overlay_class_init (TetherStatsOverlayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_stats_overlay_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "statsoverlay");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tether_stats_overlay_init (TetherStatsOverlay *self)
{
  const char *names[N_ROWS] = {
    [ROW_RESOLUTION] = _("Resolution"),
    [ROW_FPS] = _("Frame rate"),
    [ROW_BITRATE] = _("Bitrate"),
    [ROW_DROPPED] = _("Dropped frames"),
    /* Translators: the delay on our side: network, SRT's buffer, decoding and display */
    [ROW_LATENCY] = _("Latency"),
    [ROW_RTT] = _("Round trip"),
    [ROW_LOSS] = _("Packet loss"),
    [ROW_QUALITY] = _("Network"),
  };

  self->grid = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_column_spacing (self->grid, 12);
  gtk_widget_set_parent (GTK_WIDGET (self->grid), GTK_WIDGET (self));
  for (guint i = 0; i < N_ROWS; i++)
    {
      self->names[i] = GTK_LABEL (gtk_label_new (names[i]));
      gtk_label_set_xalign (self->names[i], 0);
      gtk_widget_set_valign (GTK_WIDGET (self->names[i]), GTK_ALIGN_START);
      gtk_widget_add_css_class (GTK_WIDGET (self->names[i]), "dim-label");
      self->values[i] = GTK_LABEL (gtk_label_new (NULL));
      gtk_label_set_xalign (self->values[i], 0);
      /* A narrow tile wraps the long loss line rather than cutting it. */
      gtk_label_set_wrap (self->values[i], TRUE);
      gtk_label_set_wrap_mode (self->values[i], PANGO_WRAP_WORD_CHAR);
      gtk_widget_add_css_class (GTK_WIDGET (self->values[i]), "numeric");
      gtk_grid_attach (self->grid, GTK_WIDGET (self->names[i]), 0, i, 1, 1);
      gtk_grid_attach (self->grid, GTK_WIDGET (self->values[i]), 1, i, 1, 1);
    }
  gtk_widget_add_css_class (GTK_WIDGET (self), "osd");
  gtk_widget_add_css_class (GTK_WIDGET (self), "caption");
  self->player_signals = g_signal_group_new (TETHER_TYPE_PLAYER);
  g_signal_group_connect_swapped (self->player_signals, "notify::stats", G_CALLBACK (update), self);
  update (self);
}
