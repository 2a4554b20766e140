/* tether-mixer.h: the window's overall volume and mute, and each stream's remembered
 * volume, in GSettings
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether.h"

G_BEGIN_DECLS

#define TETHER_TYPE_MIXER (tether_mixer_get_type ())
G_DECLARE_FINAL_TYPE (TetherMixer, tether_mixer, TETHER, MIXER, GObject)

/* How many streams' volumes are remembered (see tether-mixer.c). */
#define TETHER_MIXER_MAX_STREAMS 64

TetherMixer *tether_mixer_new                  (GSettings    *settings);
double       tether_mixer_get_volume           (TetherMixer  *self);
void         tether_mixer_set_volume           (TetherMixer  *self,
                                                double        volume);
gboolean     tether_mixer_get_muted            (TetherMixer  *self);
void         tether_mixer_set_muted            (TetherMixer  *self,
                                                gboolean      muted);
double       tether_mixer_lookup_stream_volume (TetherMixer  *self,
                                                const char   *stream_id);
void         tether_mixer_remember_stream_volume (TetherMixer *self,
                                                  const char  *stream_id,
                                                  double       volume);
void         tether_mixer_apply                (TetherMixer  *self,
                                                TetherPlayer *player,
                                                double        volume,
                                                gboolean      muted);

G_END_DECLS
