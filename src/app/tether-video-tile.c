/* tether-video-tile.c: a GtkPicture on the paintable sink with the stream's name, a
 * player-state badge, a spinner while requesting and a "waiting for the host" look
 * while the player retries
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-video-tile-private.h"

struct _TetherVideoTile
{
  GtkWidget parent_instance;

  char *stream_id;
  char *owner;
  TetherPlayer *player;
  GSignalGroup *player_signals;
  TetherPaintableSink *sink;
  gboolean muted;
  double volume;          /* the tile's slider, 0–1 perceptual */
  TetherMixer *mixer;     /* the window's overall volume, or NULL */
  gboolean ever_played;
  gboolean offline;       /* we (not the host) are reconnecting: the window says so once */
  TetherTileLook look;

  /* template children */
  GtkPicture *picture;
  GtkLabel *title_label;
  GtkLabel *state_badge;
  GtkSpinner *spinner;
  GtkBox *connecting_box;
  GtkBox *waiting_box;
  GtkLabel *waiting_title;
  GtkLabel *waiting_detail;
  TetherVolumeControl *volume_control;
  TetherStatsOverlay *stats_overlay;
  GtkImage *quality_image;
};

enum
{
  PROP_0,
  PROP_STREAM_ID,
  PROP_PLAYER,
  PROP_MUTED,
  PROP_LOOK,
  N_PROPS
};

enum
{
  SIGNAL_TOGGLE_FULLSCREEN,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TetherVideoTile, tether_video_tile, GTK_TYPE_WIDGET)

void
tether_player_state_style_label (GtkLabel          *label,
                                 TetherPlayerState  state)
{
  static const char * const classes[] = { "state-idle", "state-requesting", "state-playing" };
  const char *text;

  switch (state)
    {
    case TETHER_PLAYER_STATE_PLAY_REQUESTING: text = _("Connecting"); break;
    /* What viewers know from live video sites: a red "Live", the publisher's word too. */
    case TETHER_PLAYER_STATE_PLAYING: text = _("Live"); break;
    case TETHER_PLAYER_STATE_NO_PLAY:
    default: text = _("Not playing"); state = TETHER_PLAYER_STATE_NO_PLAY; break;
    }
  gtk_label_set_text (label, text);
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    if (i != (guint) state)
      gtk_widget_remove_css_class (GTK_WIDGET (label), classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (label), classes[state]);
}

static void
update (TetherVideoTile *self)
{
  TetherPlayerState state = self->player ? tether_player_get_state (self->player)
                                         : TETHER_PLAYER_STATE_NO_PLAY;
  int error_code = self->player ? tether_media_session_get_error_code (TETHER_MEDIA_SESSION (self->player)) : 0;
  TetherTileLook look;
  g_autofree char *accessible = NULL;

  if (state == TETHER_PLAYER_STATE_PLAYING)
    {
      self->ever_played = TRUE;
      look = TETHER_TILE_LOOK_PLAYING;
    }
  else if (self->ever_played || error_code != 0)
    look = TETHER_TILE_LOOK_WAITING;
  else
    look = TETHER_TILE_LOOK_CONNECTING;

  tether_player_state_style_label (self->state_badge, state);
  /* Not "Not playing": nothing is wrong with the stream, our link is down. */
  if (self->offline && state != TETHER_PLAYER_STATE_PLAYING)
    gtk_label_set_text (self->state_badge, _("Offline"));
  gtk_widget_set_visible (GTK_WIDGET (self->connecting_box), look == TETHER_TILE_LOOK_CONNECTING);
  gtk_spinner_set_spinning (self->spinner, look == TETHER_TILE_LOOK_CONNECTING);
  /* While our own connection is being restored the host is not to blame: the last
   * frame stays, dimmed, and the window alone says what happens. */
  gtk_widget_set_visible (GTK_WIDGET (self->waiting_box),
                          look == TETHER_TILE_LOOK_WAITING && !self->offline);
  if (look == TETHER_TILE_LOOK_WAITING)
    {
      g_autofree char *title = NULL;

      /* Translators: %s is the name of the person who publishes the stream */
      title = g_strdup_printf (_("Waiting for %s…"), self->owner && *self->owner ? self->owner : _("the host"));
      gtk_label_set_text (self->waiting_title, title);
      gtk_label_set_text (self->waiting_detail,
                          state == TETHER_PLAYER_STATE_PLAY_REQUESTING
                          ? _("The picture comes back by itself when the stream does.")
                                     : _("The stream stopped; trying again shortly."));
      gtk_widget_add_css_class (GTK_WIDGET (self), "waiting");
    }
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "waiting");

  /* Translators: accessible label of a video tile: "Video of cam by Alice, Playing" */
  accessible = g_strdup_printf (_("Video of %s by %s, %s"), self->stream_id,
                                self->owner ? self->owner : "", gtk_label_get_text (self->state_badge));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);

  if (look != self->look)
    {
      self->look = look;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOOK]);
    }
}

static void
player_notify_cb (TetherVideoTile *self)
{
  update (self);
}

/* The player plays the tile's volume and mute, with the window's overall ones. */
static void
apply_audio (TetherVideoTile *self)
{
  if (self->player == NULL)
    return;
  if (self->mixer != NULL)
    tether_mixer_apply (self->mixer, self->player, self->volume, self->muted);
  else
    {
      tether_player_set_volume (self->player, tether_volume_to_linear (self->volume));
      tether_player_set_muted (self->player, self->muted);
    }
}

static void
quality_changed_cb (TetherVideoTile *self)
{
  tether_quality_image_update (self->quality_image,
                               self->player ? tether_player_get_quality (self->player)
                                            : TETHER_STREAM_QUALITY_UNKNOWN);
}

void
tether_video_tile_set_player (TetherVideoTile *self,
                              TetherPlayer    *player)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));
  g_return_if_fail (player == NULL || TETHER_IS_PLAYER (player));

  if (!g_set_object (&self->player, player))
    return;
  g_signal_group_set_target (self->player_signals, player);
  if (player != NULL)
    {
      GstElement *element = tether_paintable_sink_get_element (self->sink);

      if (element != NULL)
        tether_player_set_video_sink (player, element);
      apply_audio (self);
    }
  tether_stats_overlay_set_player (self->stats_overlay, player);
  quality_changed_cb (self);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYER]);
}

TetherPlayer *
tether_video_tile_get_player (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->player;
}

const char *
tether_video_tile_get_stream_id (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->stream_id;
}

void
tether_video_tile_set_owner (TetherVideoTile *self,
                             const char      *owner)
{
  g_autofree char *title = NULL;

  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));

  g_free (self->owner);
  self->owner = g_strdup (owner);
  if (owner != NULL && *owner != '\0')
    /* Translators: the title of a video tile: "<stream> · <owner>" */
    title = g_strdup_printf (_("%s · %s"), self->stream_id, owner);
  else
    title = g_strdup (self->stream_id);
  gtk_label_set_text (self->title_label, title);
  update (self);
}

TetherPaintableSink *
tether_video_tile_get_sink (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->sink;
}

/* @offline: whether the room is reconnecting (our outage, not the host's). */
void
tether_video_tile_set_offline (TetherVideoTile *self,
                               gboolean         offline)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));

  if (self->offline == !!offline)
    return;
  self->offline = !!offline;
  update (self);
}

gboolean
tether_video_tile_get_offline (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), FALSE);

  return self->offline;
}

gboolean
tether_video_tile_get_waiting_shown (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), FALSE);

  return gtk_widget_get_visible (GTK_WIDGET (self->waiting_box));
}

/* The state badge's words ("Live", "Connecting", ...), as a viewer reads them. */
const char *
tether_video_tile_get_badge_text (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return gtk_label_get_text (self->state_badge);
}

TetherTileLook
tether_video_tile_get_look (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), TETHER_TILE_LOOK_CONNECTING);

  return self->look;
}

gboolean
tether_video_tile_get_muted (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), FALSE);

  return self->muted;
}

void
tether_video_tile_set_muted (TetherVideoTile *self,
                             gboolean         muted)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));

  muted = !!muted;
  if (self->muted == muted)
    return;
  self->muted = muted;
  tether_volume_control_set_muted (self->volume_control, muted);
  apply_audio (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

static void
control_muted_cb (TetherVideoTile *self)
{
  tether_video_tile_set_muted (self, tether_volume_control_get_muted (self->volume_control));
}

double
tether_video_tile_get_volume (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), 1.0);

  return self->volume;
}

/* @volume: the tile's slider position, 0–1; remembered for the stream with a mixer. */
void
tether_video_tile_set_volume (TetherVideoTile *self,
                              double           volume)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->volume == volume)
    return;
  self->volume = volume;
  tether_volume_control_set_volume (self->volume_control, volume);
  if (self->mixer != NULL)
    tether_mixer_remember_stream_volume (self->mixer, self->stream_id, volume);
  apply_audio (self);
}

static void
control_volume_cb (TetherVideoTile *self)
{
  tether_video_tile_set_volume (self, tether_volume_control_get_volume (self->volume_control));
}

/* The window's overall volume and mute, and the stream's remembered volume. */
void
tether_video_tile_set_mixer (TetherVideoTile *self,
                             TetherMixer     *mixer)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));
  g_return_if_fail (self->mixer == NULL);

  self->mixer = g_object_ref (mixer);
  g_signal_connect_object (mixer, "notify::volume", G_CALLBACK (apply_audio), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (mixer, "notify::muted", G_CALLBACK (apply_audio), self, G_CONNECT_SWAPPED);
  self->volume = tether_mixer_lookup_stream_volume (mixer, self->stream_id);
  tether_volume_control_set_volume (self->volume_control, self->volume);
  apply_audio (self);
}

gboolean
tether_video_tile_get_stats_visible (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), FALSE);

  return gtk_widget_get_visible (GTK_WIDGET (self->stats_overlay));
}

void
tether_video_tile_set_stats_visible (TetherVideoTile *self,
                                     gboolean         visible)
{
  g_return_if_fail (TETHER_IS_VIDEO_TILE (self));

  gtk_widget_set_visible (GTK_WIDGET (self->stats_overlay), visible);
}

TetherVolumeControl *
tether_video_tile_get_volume_control (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->volume_control;
}

TetherStatsOverlay *
tether_video_tile_get_stats_overlay (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->stats_overlay;
}

GtkImage *
tether_video_tile_get_quality_image (TetherVideoTile *self)
{
  g_return_val_if_fail (TETHER_IS_VIDEO_TILE (self), NULL);

  return self->quality_image;
}

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            TetherVideoTile *self)
{
  if (n_press == 2)
    g_signal_emit (self, signals[SIGNAL_TOGGLE_FULLSCREEN], 0);
}

GtkWidget *
tether_video_tile_new (const char *stream_id,
                       const char *owner)
{
  TetherVideoTile *self = g_object_new (TETHER_TYPE_VIDEO_TILE, "stream-id", stream_id, NULL);

  tether_video_tile_set_owner (self, owner);
  return GTK_WIDGET (self);
}

static void
tether_video_tile_dispose (GObject *object)
{
  TetherVideoTile *self = TETHER_VIDEO_TILE (object);

  if (self->player_signals != NULL)
    g_signal_group_set_target (self->player_signals, NULL);
  g_clear_object (&self->player_signals);
  g_clear_object (&self->player);
  g_clear_object (&self->mixer);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_VIDEO_TILE);
  /* The template's root is not a bound child; it goes with its parent. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->sink);

  G_OBJECT_CLASS (tether_video_tile_parent_class)->dispose (object);
}

static void
tether_video_tile_finalize (GObject *object)
{
  TetherVideoTile *self = TETHER_VIDEO_TILE (object);

  g_free (self->stream_id);
  g_free (self->owner);

  G_OBJECT_CLASS (tether_video_tile_parent_class)->finalize (object);
}

static void
tether_video_tile_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  TetherVideoTile *self = TETHER_VIDEO_TILE (object);

  switch (prop_id)
    {
    case PROP_STREAM_ID: g_value_set_string (value, self->stream_id); break;
    case PROP_PLAYER: g_value_set_object (value, self->player); break;
    case PROP_MUTED: g_value_set_boolean (value, self->muted); break;
    case PROP_LOOK: g_value_set_int (value, self->look); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_video_tile_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  TetherVideoTile *self = TETHER_VIDEO_TILE (object);

  switch (prop_id)
    {
    case PROP_STREAM_ID:
      g_free (self->stream_id);
      self->stream_id = g_value_dup_string (value);
      gtk_label_set_text (self->title_label, self->stream_id);
      break;
    case PROP_PLAYER: tether_video_tile_set_player (self, g_value_get_object (value)); break;
    case PROP_MUTED: tether_video_tile_set_muted (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_video_tile_class_init (TetherVideoTileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_video_tile_dispose;
  object_class->finalize = tether_video_tile_finalize;
  object_class->get_property = tether_video_tile_get_property;
  object_class->set_property = tether_video_tile_set_property;

  /**
   * TetherVideoTile:stream-id:
   *
   * The stream the tile shows.
   */
  properties[PROP_STREAM_ID] =
    g_param_spec_string ("stream-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherVideoTile:player:
   *
   * The stream's player; the tile gives it its video sink and follows its state.
   */
  properties[PROP_PLAYER] =
    g_param_spec_object ("player", NULL, NULL, TETHER_TYPE_PLAYER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherVideoTile:muted:
   *
   * Whether the player's sound is off.
   */
  properties[PROP_MUTED] =
    g_param_spec_boolean ("muted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherVideoTile:look:
   *
   * What the tile shows, a #TetherTileLook: a spinner while connecting, frames, or
   * "waiting for the host" while the player retries.
   */
  properties[PROP_LOOK] =
    g_param_spec_int ("look", NULL, NULL, 0, 2, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherVideoTile::toggle-fullscreen:
   *
   * The user double-clicked the tile, or pressed Enter or F on it: its activation.
   */
  signals[SIGNAL_TOGGLE_FULLSCREEN] =
    g_signal_new ("toggle-fullscreen", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_activate_signal (widget_class, signals[SIGNAL_TOGGLE_FULLSCREEN]);
  gtk_widget_class_add_binding_signal (widget_class, GDK_KEY_Return, 0, "toggle-fullscreen", NULL);
  gtk_widget_class_add_binding_signal (widget_class, GDK_KEY_KP_Enter, 0, "toggle-fullscreen", NULL);
  gtk_widget_class_add_binding_signal (widget_class, GDK_KEY_f, 0, "toggle-fullscreen", NULL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-video-tile.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, picture);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, title_label);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, state_badge);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, spinner);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, connecting_box);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, waiting_box);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, waiting_title);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, waiting_detail);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, volume_control);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, stats_overlay);
  gtk_widget_class_bind_template_child (widget_class, TetherVideoTile, quality_image);
  gtk_widget_class_bind_template_callback (widget_class, control_muted_cb);
  gtk_widget_class_bind_template_callback (widget_class, control_volume_cb);
  gtk_widget_class_bind_template_callback (widget_class, pressed_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "videotile");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tether_video_tile_init (TetherVideoTile *self)
{
  g_type_ensure (TETHER_TYPE_VOLUME_CONTROL);
  g_type_ensure (TETHER_TYPE_STATS_OVERLAY);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->volume = 1.0;
  self->player_signals = g_signal_group_new (TETHER_TYPE_PLAYER);
  g_signal_group_connect_swapped (self->player_signals, "notify::state",
                                  G_CALLBACK (player_notify_cb), self);
  g_signal_group_connect_swapped (self->player_signals, "notify::error-code",
                                  G_CALLBACK (player_notify_cb), self);
  g_signal_group_connect_swapped (self->player_signals, "notify::quality",
                                  G_CALLBACK (quality_changed_cb), self);
  self->sink = tether_paintable_sink_new ();
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (self->sink));
  self->look = TETHER_TILE_LOOK_CONNECTING;
  quality_changed_cb (self);
  update (self);
}
