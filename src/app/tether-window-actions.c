/* tether-window-actions.c: the window's actions (win.leave, win.fullscreen, win.publish,
 * win.leave-fullscreen[-step], win.copy-link, win.toggle-sidebar), their keys, and when
 * each is enabled
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-publish-preview.h"
#include "tether-window-private.h"

static void
leave_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  tether_window_leave (TETHER_WINDOW (widget));
}

/* F11: in and out of fullscreen, immersive in a room (tether-window-fullscreen.c). */
static void
fullscreen_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);

  _tether_window_set_fullscreen (self, !self->filled);
}

/* The on-screen button: all the way out, a tile shown big included. */
static void
leave_fullscreen_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  _tether_window_set_fullscreen (TETHER_WINDOW (widget), FALSE);
}

/* Escape: one step out (enabled only while there is one, so the key goes on otherwise). */
static void
leave_fullscreen_step_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  _tether_window_leave_fullscreen_step (TETHER_WINDOW (widget));
}

/* F9, as in GNOME's apps with a sidebar: people and streams shown or hidden. */
static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

/* Publish opens the preview (only its Go Live publishes); while live, it stops. */
static void
publish_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);

  if (tether_session_get_publisher (self->session) != NULL)
    tether_session_stop_publishing (self->session);
  else
    {
      if (self->preview == NULL)
        {
          self->preview = tether_publish_preview_new (GTK_WINDOW (self), self->session);
          g_object_add_weak_pointer (G_OBJECT (self->preview), (gpointer *) &self->preview);
        }
      gtk_window_present (GTK_WINDOW (self->preview));
    }
  _tether_window_actions_update (self);
}

/* The current room's link on the clipboard: server, room and app id, never a token. */
static void
copy_link_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  TetherWindow *self = TETHER_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  g_autofree char *link = tether_session_dup_link (self->session, &error);

  if (link == NULL)
    {
      /* Translators: %s says why, in English */
      g_autofree char *text = g_strdup_printf (_("This room has no link: %s"), error->message);

      _tether_window_show_toast (self, text, 6);
      return;
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), link);
  _tether_window_show_toast (self, _("Link copied"), 3);
}

void
_tether_window_actions_update (TetherWindow *self)
{
  gboolean in_room = tether_session_get_room (self->session) != NULL;
  /* A guest's token plays only: no Publish button that could only fail. */
  gboolean can_publish = (tether_session_is_in_room (self->session)
                          && !tether_session_is_guest (self->session))
                         || tether_session_get_publisher (self->session) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave",
                                 in_room || tether_offline_view_is_shown (self->offline_view));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-link", in_room);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-stats", in_room);
  /* Not while one tile fills the screen: Escape brings the grid (and sidebar) back. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.toggle-sidebar",
                                 in_room && self->focused_tile == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.publish", can_publish);
  gtk_widget_set_visible (GTK_WIDGET (self->publish_button),
                          can_publish || (in_room && !tether_session_is_guest (self->session)));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-fullscreen", self->filled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-fullscreen-step", self->filled);
}

void
_tether_window_class_actions_init (TetherWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.leave", NULL, leave_action);
  gtk_widget_class_install_action (widget_class, "win.fullscreen", NULL, fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.leave-fullscreen", NULL,
                                   leave_fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.leave-fullscreen-step", NULL,
                                   leave_fullscreen_step_action);
  gtk_widget_class_install_action (widget_class, "win.publish", NULL, publish_action);
  gtk_widget_class_install_action (widget_class, "win.copy-link", NULL, copy_link_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL,
                                   toggle_sidebar_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.toggle-sidebar", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.fullscreen", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.copy-link", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "win.leave-fullscreen-step", NULL);
}
