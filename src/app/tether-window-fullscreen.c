/* tether-window-fullscreen.c: fullscreen — F11 and a tile shown big make the room
 * immersive: no header bar or sidebar, the video on the whole screen; the pointer or a
 * key brings the header bar over the video for a few seconds, with Leave Fullscreen
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-window-private.h"

/* How long the controls stay after the pointer last moved, as video players do. */
#define CONTROLS_HIDE_MS 3000

static gboolean
on_room_page (TetherWindow *self)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "room") == 0;
}

static gboolean
has_open_popover (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_POPOVER (child) ? gtk_widget_get_visible (child) : has_open_popover (child))
        return TRUE;
    }
  return FALSE;
}

/* The pointer rests on the header bar, or one of its popovers (the badge's, the menu)
 * is open: the controls stay. */
static gboolean
controls_in_use (TetherWindow *self)
{
  return gtk_event_controller_motion_contains_pointer (GTK_EVENT_CONTROLLER_MOTION (self->header_motion))
         || has_open_popover (GTK_WIDGET (self->room_header));
}

static void
show_controls (TetherWindow *self,
               gboolean      show)
{
  adw_flap_set_reveal_flap (self->header_flap, show);
  /* No pointer over the picture while nothing can be clicked, nor a focus ring. */
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self->header_flap), show ? NULL : "none");
  if (show)
    gtk_widget_remove_css_class (GTK_WIDGET (self->header_flap), "controls-hidden");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->header_flap), "controls-hidden");
}

static gboolean
hide_controls_cb (gpointer user_data)
{
  TetherWindow *self = user_data;

  if (controls_in_use (self))
    return G_SOURCE_CONTINUE;
  self->controls_hide_id = 0;
  show_controls (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
reveal_controls (TetherWindow *self)
{
  if (!self->immersive)
    return;
  show_controls (self, TRUE);
  g_clear_handle_id (&self->controls_hide_id, g_source_remove);
  self->controls_hide_id = g_timeout_add (self->controls_hide_ms, hide_controls_cb, self);
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           TetherWindow             *self)
{
  /* GTK also reports "motion" when what is under a resting pointer changes, as when the
   * header bar slides away: only a pointer that really moved shows the controls. */
  if (x == self->pointer_x && y == self->pointer_y)
    return;
  self->pointer_x = x;
  self->pointer_y = y;
  reveal_controls (self);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                TetherWindow          *self)
{
  reveal_controls (self);
  return GDK_EVENT_PROPAGATE;
}

static void
set_immersive (TetherWindow *self,
               gboolean      immersive)
{
  if (self->immersive == immersive)
    return;
  self->immersive = immersive;
  g_debug ("immersive: %s", immersive ? "yes" : "no");
  gtk_widget_set_visible (GTK_WIDGET (self->leave_fullscreen_button), immersive);
  if (immersive)
    gtk_widget_add_css_class (GTK_WIDGET (self->header_flap), "immersive");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->header_flap), "immersive");
  if (immersive)
    {
      self->sidebar_was_revealed = adw_flap_get_reveal_flap (self->flap);
      adw_flap_set_reveal_flap (self->flap, FALSE);
      /* Folded, the header bar lies over the video instead of above it; it stays for
       * the delay first, so the way out has been seen. */
      adw_flap_set_fold_policy (self->header_flap, ADW_FLAP_FOLD_POLICY_ALWAYS);
      reveal_controls (self);
    }
  else
    {
      g_clear_handle_id (&self->controls_hide_id, g_source_remove);
      adw_flap_set_fold_policy (self->header_flap, ADW_FLAP_FOLD_POLICY_NEVER);
      show_controls (self, TRUE);
      adw_flap_set_reveal_flap (self->flap, self->sidebar_was_revealed);
    }
}

/* One place decides: the window fills the screen for F11 or a tile shown big, and the
 * room page is immersive while it does. */
void
_tether_window_update_fullscreen (TetherWindow *self)
{
  gboolean in_room = on_room_page (self);
  gboolean filled = self->fullscreen || (in_room && self->focused_tile != NULL);

  if (self->filled != filled)
    {
      self->filled = filled;
      if (filled)
        gtk_window_fullscreen (GTK_WINDOW (self));
      else
        gtk_window_unfullscreen (GTK_WINDOW (self));
    }
  set_immersive (self, in_room && filled);
  _tether_window_actions_update (self);
}

void
_tether_window_set_fullscreen (TetherWindow *self,
                               gboolean      fullscreen)
{
  if (!fullscreen)
    {
      /* Leaving fullscreen leaves a tile shown big too: back to the grid. */
      self->fullscreen = FALSE;
      _tether_window_set_focused_tile (self, NULL);
    }
  else
    self->fullscreen = TRUE;
  _tether_window_update_fullscreen (self);
}

/* Escape: one step back — from a tile shown big to the grid it came from (immersive
 * still, if F11 made it so), from fullscreen to the window. */
void
_tether_window_leave_fullscreen_step (TetherWindow *self)
{
  if (self->focused_tile != NULL)
    _tether_window_set_focused_tile (self, NULL);
  else
    _tether_window_set_fullscreen (self, FALSE);
}

/* The window manager's own keys (or another client) can end fullscreen, or start it. */
static void
fullscreened_cb (TetherWindow *self,
                 GParamSpec   *pspec,
                 gpointer      user_data)
{
  gboolean now = gtk_window_is_fullscreen (GTK_WINDOW (self));

  if (now == self->filled)
    return;
  self->filled = now;
  _tether_window_set_fullscreen (self, now);
}

static void
page_changed_cb (TetherWindow *self)
{
  /* A room that ends takes its tile shown big with it; F11 stays for the next room. */
  _tether_window_update_fullscreen (self);
}

void
_tether_window_fullscreen_init (TetherWindow *self)
{
  self->controls_hide_ms = CONTROLS_HIDE_MS;
  self->pointer_x = self->pointer_y = -1;

  self->motion = gtk_event_controller_motion_new ();
  g_signal_connect (self->motion, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), self->motion);

  self->header_motion = gtk_event_controller_motion_new ();
  gtk_widget_add_controller (GTK_WIDGET (self->room_header), self->header_motion);

  {
    GtkEventController *keys = gtk_event_controller_key_new ();

    /* Before the key's own handler: F11 or Escape may end what the key revealed. */
    gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
    gtk_event_controller_set_name (keys, "tether-fullscreen-keys");
    g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
    gtk_widget_add_controller (GTK_WIDGET (self), keys);
  }

  g_signal_connect (self, "notify::fullscreened", G_CALLBACK (fullscreened_cb), NULL);
  g_signal_connect_swapped (self->main_stack, "notify::visible-child",
                            G_CALLBACK (page_changed_cb), self);
}

void
_tether_window_fullscreen_dispose (TetherWindow *self)
{
  g_clear_handle_id (&self->controls_hide_id, g_source_remove);
  g_signal_handlers_disconnect_by_func (self, fullscreened_cb, NULL);
  if (self->main_stack != NULL)
    g_signal_handlers_disconnect_by_func (self->main_stack, page_changed_cb, self);
}

/* ---- read-outs for tests/test-app-fullscreen.c (tether-window-private.h) ---------- */

gboolean
tether_window_get_immersive (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), FALSE);
  return self->immersive;
}

void
tether_window_set_controls_hide_delay (TetherWindow *self,
                                       guint         ms)
{
  g_return_if_fail (TETHER_IS_WINDOW (self));
  self->controls_hide_ms = ms;
}

GtkEventController *
tether_window_get_immersive_motion (TetherWindow *self)
{
  g_return_val_if_fail (TETHER_IS_WINDOW (self), NULL);
  return self->motion;
}
