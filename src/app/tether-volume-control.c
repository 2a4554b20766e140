/* tether-volume-control.c: a GtkMenuButton whose icon says the volume and whose
 * popover holds a mute switch and a slider. The slider is perceptual (cubic, as
 * GNOME's and Clapper's are): half way sounds half as loud.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "tether-volume-control.h"

struct _TetherVolumeControl
{
  GtkWidget parent_instance;

  double volume;
  gboolean muted;

  /* template children */
  GtkMenuButton *button;
  GtkToggleButton *mute_button;
  GtkScale *scale;
};

enum
{
  PROP_0,
  PROP_VOLUME,
  PROP_MUTED,
  PROP_OSD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherVolumeControl, tether_volume_control, GTK_TYPE_WIDGET)

double
tether_volume_to_linear (double volume)
{
  volume = CLAMP (volume, 0.0, 1.0);
  return volume * volume * volume;
}

static void
update_button (TetherVolumeControl *self)
{
  const char *icon;
  const char *mute_text = self->muted ? _("Unmute") : _("Mute");
  g_autofree char *tooltip = NULL;

  if (self->muted || self->volume <= 0)
    icon = "audio-volume-muted-symbolic";
  else if (self->volume < 1.0 / 3)
    icon = "audio-volume-low-symbolic";
  else if (self->volume < 2.0 / 3)
    icon = "audio-volume-medium-symbolic";
  else
    icon = "audio-volume-high-symbolic";
  gtk_menu_button_set_icon_name (self->button, icon);
  if (self->muted)
    tooltip = g_strdup (_("Volume: muted"));
  else
    /* Translators: a tooltip, %d is the volume in percent; "%%" is a percent sign */
    tooltip = g_strdup_printf (_("Volume: %d%%"), (int) round (self->volume * 100));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->button), tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->mute_button), mute_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->mute_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, mute_text, -1);
}

double
tether_volume_control_get_volume (TetherVolumeControl *self)
{
  g_return_val_if_fail (TETHER_IS_VOLUME_CONTROL (self), 1.0);

  return self->volume;
}

void
tether_volume_control_set_volume (TetherVolumeControl *self,
                                  double               volume)
{
  g_return_if_fail (TETHER_IS_VOLUME_CONTROL (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->volume == volume)
    return;
  self->volume = volume;
  gtk_range_set_value (GTK_RANGE (self->scale), volume);
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOLUME]);
}

gboolean
tether_volume_control_get_muted (TetherVolumeControl *self)
{
  g_return_val_if_fail (TETHER_IS_VOLUME_CONTROL (self), FALSE);

  return self->muted;
}

void
tether_volume_control_set_muted (TetherVolumeControl *self,
                                 gboolean             muted)
{
  g_return_if_fail (TETHER_IS_VOLUME_CONTROL (self));

  muted = !!muted;
  if (self->muted == muted)
    return;
  self->muted = muted;
  gtk_toggle_button_set_active (self->mute_button, muted);
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

GtkRange *
tether_volume_control_get_range (TetherVolumeControl *self)
{
  g_return_val_if_fail (TETHER_IS_VOLUME_CONTROL (self), NULL);

  return GTK_RANGE (self->scale);
}

static void
value_changed_cb (TetherVolumeControl *self,
                  GtkRange            *range)
{
  tether_volume_control_set_volume (self, gtk_range_get_value (range));
}

static void
mute_toggled_cb (TetherVolumeControl *self,
                 GtkToggleButton     *button)
{
  tether_volume_control_set_muted (self, gtk_toggle_button_get_active (button));
}

GtkWidget *
tether_volume_control_new (void)
{
  return g_object_new (TETHER_TYPE_VOLUME_CONTROL, NULL);
}

static void
tether_volume_control_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TETHER_TYPE_VOLUME_CONTROL);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (tether_volume_control_parent_class)->dispose (object);
}

static void
tether_volume_control_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TetherVolumeControl *self = TETHER_VOLUME_CONTROL (object);

  switch (prop_id)
    {
    case PROP_VOLUME: g_value_set_double (value, self->volume); break;
    case PROP_MUTED: g_value_set_boolean (value, self->muted); break;
    case PROP_OSD: g_value_set_boolean (value, gtk_widget_has_css_class (GTK_WIDGET (self->button), "osd")); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_volume_control_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  TetherVolumeControl *self = TETHER_VOLUME_CONTROL (object);

  switch (prop_id)
    {
    case PROP_VOLUME: tether_volume_control_set_volume (self, g_value_get_double (value)); break;
    case PROP_MUTED: tether_volume_control_set_muted (self, g_value_get_boolean (value)); break;
    case PROP_OSD:
      if (g_value_get_boolean (value))
        {
          /* Over video: a round on-screen-display button, its popover above it. The
           * menu button's own button takes the style, as a GtkButton would. */
          GtkWidget *inner = gtk_widget_get_first_child (GTK_WIDGET (self->button));

          gtk_widget_add_css_class (GTK_WIDGET (self->button), "osd");
          gtk_widget_add_css_class (inner, "osd");
          gtk_widget_add_css_class (inner, "circular");
          gtk_menu_button_set_direction (self->button, GTK_ARROW_UP);
        }
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_volume_control_class_init (TetherVolumeControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_volume_control_dispose;
  object_class->get_property = tether_volume_control_get_property;
  object_class->set_property = tether_volume_control_set_property;

  /**
   * TetherVolumeControl:volume:
   *
   * The slider's position, 0 to 1 (perceptual: see tether_volume_to_linear()).
   */
  properties[PROP_VOLUME] =
    g_param_spec_double ("volume", NULL, NULL, 0, 1, 1,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherVolumeControl:muted:
   *
   * Whether the sound is off, whatever the slider says.
   */
  properties[PROP_MUTED] =
    g_param_spec_boolean ("muted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherVolumeControl:osd:
   *
   * Styled to sit over video.
   */
  properties[PROP_OSD] =
    g_param_spec_boolean ("osd", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-volume-control.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherVolumeControl, button);
  gtk_widget_class_bind_template_child (widget_class, TetherVolumeControl, mute_button);
  gtk_widget_class_bind_template_child (widget_class, TetherVolumeControl, scale);
  gtk_widget_class_bind_template_callback (widget_class, value_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, mute_toggled_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
tether_volume_control_init (TetherVolumeControl *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->volume = 1.0;
  gtk_range_set_value (GTK_RANGE (self->scale), 1.0);
  update_button (self);
}
