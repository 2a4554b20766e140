/* tether-mixer.c: TetherMixer. The overall volume and mute are the "volume" and
 * "muted" settings; a tile's own slider and mute multiply with them (the player plays
 * tile × overall, silent when either is muted). Each stream's slider is remembered by
 * stream id in "stream-volumes", newest last, at most TETHER_MIXER_MAX_STREAMS of them:
 * stream ids come and go with every room joined, and a setting read at every tile must
 * not grow without end; 64 covers the rooms one person watches. A volume back at 100%
 * is forgotten rather than stored.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-mixer.h"
#include "tether-volume-control.h"

struct _TetherMixer
{
  GObject parent_instance;

  GSettings *settings;
  double volume;
  gboolean muted;
};

enum
{
  PROP_0,
  PROP_VOLUME,
  PROP_MUTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherMixer, tether_mixer, G_TYPE_OBJECT)

TetherMixer *
tether_mixer_new (GSettings *settings)
{
  TetherMixer *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (TETHER_TYPE_MIXER, NULL);
  self->settings = g_object_ref (settings);
  g_settings_bind (settings, "volume", self, "volume", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "muted", self, "muted", G_SETTINGS_BIND_DEFAULT);
  return self;
}

double
tether_mixer_get_volume (TetherMixer *self)
{
  g_return_val_if_fail (TETHER_IS_MIXER (self), 1.0);

  return self->volume;
}

void
tether_mixer_set_volume (TetherMixer *self,
                         double       volume)
{
  g_return_if_fail (TETHER_IS_MIXER (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->volume == volume)
    return;
  self->volume = volume;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOLUME]);
}

gboolean
tether_mixer_get_muted (TetherMixer *self)
{
  g_return_val_if_fail (TETHER_IS_MIXER (self), FALSE);

  return self->muted;
}

void
tether_mixer_set_muted (TetherMixer *self,
                        gboolean     muted)
{
  g_return_if_fail (TETHER_IS_MIXER (self));

  if (self->muted == !!muted)
    return;
  self->muted = !!muted;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

/* The slider position remembered for @stream_id, 1 when none. */
double
tether_mixer_lookup_stream_volume (TetherMixer *self,
                                   const char  *stream_id)
{
  g_autoptr(GVariant) volumes = NULL;
  double volume = 1.0;

  g_return_val_if_fail (TETHER_IS_MIXER (self), 1.0);

  volumes = g_settings_get_value (self->settings, "stream-volumes");
  if (stream_id != NULL)
    g_variant_lookup (volumes, stream_id, "d", &volume);
  return CLAMP (volume, 0.0, 1.0);
}

void
tether_mixer_remember_stream_volume (TetherMixer *self,
                                     const char  *stream_id,
                                     double       volume)
{
  g_autoptr(GVariant) old = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  GVariantBuilder builder;
  GVariantIter iter;
  GVariant *entry;
  guint first = 0;

  g_return_if_fail (TETHER_IS_MIXER (self));
  g_return_if_fail (stream_id != NULL);

  if (tether_mixer_lookup_stream_volume (self, stream_id) == volume)
    return;
  old = g_settings_get_value (self->settings, "stream-volumes");
  g_variant_iter_init (&iter, old);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *key = NULL;

      g_variant_get_child (entry, 0, "&s", &key);
      if (g_strcmp0 (key, stream_id) == 0)
        g_variant_unref (entry);
      else
        g_ptr_array_add (kept, entry);
    }
  if (volume < 1.0)
    g_ptr_array_add (kept, g_variant_ref_sink (g_variant_new_dict_entry (g_variant_new_string (stream_id),
                                                                         g_variant_new_double (volume))));
  /* The oldest go first. */
  if (kept->len > TETHER_MIXER_MAX_STREAMS)
    first = kept->len - TETHER_MIXER_MAX_STREAMS;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sd}"));
  for (guint i = first; i < kept->len; i++)
    g_variant_builder_add_value (&builder, kept->pdata[i]);
  g_settings_set_value (self->settings, "stream-volumes", g_variant_builder_end (&builder));
}

/* @player plays at the tile's @volume times the overall one, silent if either mutes. */
void
tether_mixer_apply (TetherMixer  *self,
                    TetherPlayer *player,
                    double        volume,
                    gboolean      muted)
{
  g_return_if_fail (TETHER_IS_MIXER (self));
  g_return_if_fail (TETHER_IS_PLAYER (player));

  tether_player_set_volume (player, tether_volume_to_linear (volume)
                                    * tether_volume_to_linear (self->volume));
  tether_player_set_muted (player, muted || self->muted);
}

static void
tether_mixer_finalize (GObject *object)
{
  TetherMixer *self = TETHER_MIXER (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tether_mixer_parent_class)->finalize (object);
}

static void
tether_mixer_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TetherMixer *self = TETHER_MIXER (object);

  switch (prop_id)
    {
    case PROP_VOLUME: g_value_set_double (value, self->volume); break;
    case PROP_MUTED: g_value_set_boolean (value, self->muted); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_mixer_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TetherMixer *self = TETHER_MIXER (object);

  switch (prop_id)
    {
    case PROP_VOLUME: tether_mixer_set_volume (self, g_value_get_double (value)); break;
    case PROP_MUTED: tether_mixer_set_muted (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_mixer_class_init (TetherMixerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tether_mixer_finalize;
  object_class->get_property = tether_mixer_get_property;
  object_class->set_property = tether_mixer_set_property;

  /**
   * TetherMixer:volume:
   *
   * The overall volume, a slider position 0 to 1; every tile's is multiplied by it.
   */
  properties[PROP_VOLUME] =
    g_param_spec_double ("volume", NULL, NULL, 0, 1, 1,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherMixer:muted:
   *
   * Every tile silent.
   */
  properties[PROP_MUTED] =
    g_param_spec_boolean ("muted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_mixer_init (TetherMixer *self)
{
  self->volume = 1.0;
}
