/* tether-preferences.c: retry windows (shown in minutes), autoplay, maximum tiles, start
 * muted and the publish source, each bound to its GSettings key
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "tether-preferences-private.h"

struct _TetherPreferences
{
  AdwPreferencesWindow parent_instance;

  GSettings *settings;

  GtkSwitch *autoplay_switch;
  GtkSwitch *muted_switch;
  GtkSpinButton *max_tiles_spin;
  GtkSpinButton *room_retry_spin;
  GtkSpinButton *av_retry_spin;
  AdwComboRow *source_row;
};

G_DEFINE_FINAL_TYPE (TetherPreferences, tether_preferences, ADW_TYPE_PREFERENCES_WINDOW)

static gboolean
source_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "camera") ? 1 : 0);
  return TRUE;
}

static GVariant *
source_set_mapping (const GValue       *value,
                    const GVariantType *type,
                    gpointer            data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "camera" : "test");
}

/* The retry windows are shown and edited in minutes; their keys stay in seconds, the
 * unit of the engine's properties, of tether-cli and of the server's configuration. */
static gboolean
minutes_get_mapping (GValue   *value,
                     GVariant *variant,
                     gpointer  data)
{
  g_value_set_double (value, MAX (1.0, round (g_variant_get_double (variant) / 60.0)));
  return TRUE;
}

static GVariant *
minutes_set_mapping (const GValue       *value,
                     const GVariantType *type,
                     gpointer            data)
{
  return g_variant_new_double (round (g_value_get_double (value)) * 60.0);
}

GtkWidget *
tether_preferences_new (GtkWindow *parent)
{
  return g_object_new (TETHER_TYPE_PREFERENCES, "transient-for", parent, "modal", TRUE, NULL);
}

static void
tether_preferences_dispose (GObject *object)
{
  TetherPreferences *self = TETHER_PREFERENCES (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_PREFERENCES);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tether_preferences_parent_class)->dispose (object);
}

static void
tether_preferences_class_init (TetherPreferencesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_preferences_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, autoplay_switch);
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, muted_switch);
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, max_tiles_spin);
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, room_retry_spin);
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, av_retry_spin);
  gtk_widget_class_bind_template_child (widget_class, TetherPreferences, source_row);
}

static void
tether_preferences_init (TetherPreferences *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new ("io.github.tetherlive.Tether");
  g_settings_bind (self->settings, "autoplay", self->autoplay_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "start-muted", self->muted_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "max-tiles", self->max_tiles_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "room-retry-time", self->room_retry_spin, "value",
                                G_SETTINGS_BIND_DEFAULT, minutes_get_mapping, minutes_set_mapping,
                                NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "av-retry-time", self->av_retry_spin, "value",
                                G_SETTINGS_BIND_DEFAULT, minutes_get_mapping, minutes_set_mapping,
                                NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "publish-source", self->source_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, source_get_mapping, source_set_mapping,
                                NULL, NULL);
}

/* ---- read-outs for tests/test-app-publish.c -------------------------------------- */

GtkSpinButton *
tether_preferences_get_room_retry_spin (TetherPreferences *self)
{
  g_return_val_if_fail (TETHER_IS_PREFERENCES (self), NULL);
  return self->room_retry_spin;
}

GtkSpinButton *
tether_preferences_get_av_retry_spin (TetherPreferences *self)
{
  g_return_val_if_fail (TETHER_IS_PREFERENCES (self), NULL);
  return self->av_retry_spin;
}
