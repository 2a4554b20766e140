/* tether-offline-view.c: what the room area shows once the room gave up reconnecting —
 * why, when, Try Again and Leave, over the room's last (dimmed) pictures; it presses
 * Try Again by itself when the network comes back
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-offline-view.h"

struct _TetherOfflineView
{
  GtkWidget parent_instance;

  GNetworkMonitor *monitor;
  gboolean network_available;
  gboolean busy;
  char *time_text;

  /* template children */
  GtkBox *card;
  GtkLabel *reason_label;
  GtkLabel *time_label;
  GtkButton *retry_button;
};

enum
{
  SIGNAL_RETRY,
  SIGNAL_LEAVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TetherOfflineView, tether_offline_view, GTK_TYPE_WIDGET)

static void
retry_clicked_cb (TetherOfflineView *self)
{
  g_signal_emit (self, signals[SIGNAL_RETRY], 0);
}

static void
leave_clicked_cb (TetherOfflineView *self)
{
  g_signal_emit (self, signals[SIGNAL_LEAVE], 0);
}

/* A network that is there again (or a different one) is worth a new try at once; a
 * network that went away is not. */
static void
network_changed_cb (TetherOfflineView *self,
                    gboolean           available)
{
  gboolean was_available = self->network_available;

  self->network_available = available;
  if (!available || !tether_offline_view_is_shown (self) || self->busy)
    return;
  g_debug ("network changed (%s before): trying the room again",
           was_available ? "available" : "unavailable");
  g_signal_emit (self, signals[SIGNAL_RETRY], 0);
}

/**
 * tether_offline_view_set_network_monitor:
 * @self: the view
 * @monitor: (nullable): the network monitor to watch; the system's by default
 *
 * While the view is shown, a change of @monitor's network that leaves it available
 * emits #TetherOfflineView::retry.
 */
void
tether_offline_view_set_network_monitor (TetherOfflineView *self,
                                         GNetworkMonitor   *monitor)
{
  g_return_if_fail (TETHER_IS_OFFLINE_VIEW (self));
  g_return_if_fail (monitor == NULL || G_IS_NETWORK_MONITOR (monitor));

  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  if (monitor == NULL)
    monitor = g_network_monitor_get_default ();
  g_object_ref (monitor);
  g_clear_object (&self->monitor);
  self->monitor = monitor;
  self->network_available = g_network_monitor_get_network_available (self->monitor);
  g_signal_connect_swapped (self->monitor, "network-changed", G_CALLBACK (network_changed_cb),
                            self);
}

/**
 * tether_offline_view_show:
 * @self: the view
 * @reason: why the room is offline, a sentence
 * @when: when it gave up
 *
 * Shows the view, once for the window, over the room's pictures.
 */
void
tether_offline_view_show (TetherOfflineView *self,
                          const char        *reason,
                          GDateTime         *when)
{
  g_autoptr(GDateTime) local = NULL;
  g_autofree char *clock = NULL, *text = NULL;

  g_return_if_fail (TETHER_IS_OFFLINE_VIEW (self));
  g_return_if_fail (when != NULL);

  local = g_date_time_to_local (when);
  clock = g_date_time_format (local, "%H:%M");
  /* Translators: %s is the local time the app stopped trying, e.g. "14:32" */
  g_free (self->time_text);
  self->time_text = g_strdup_printf (_("Gave up at %s"), clock);
  gtk_label_set_text (self->reason_label, reason != NULL ? reason : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reason_label), reason != NULL && *reason != '\0');
  tether_offline_view_set_busy (self, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->retry_button));
}

/**
 * tether_offline_view_set_busy:
 * @self: the view
 * @busy: whether the room is being joined again
 *
 * While the room is joined again the view stays, over the same pictures, and says so;
 * Try Again waits. tether_offline_view_show() ends it.
 */
void
tether_offline_view_set_busy (TetherOfflineView *self,
                              gboolean           busy)
{
  g_return_if_fail (TETHER_IS_OFFLINE_VIEW (self));

  self->busy = !!busy;
  gtk_widget_set_sensitive (GTK_WIDGET (self->retry_button), !busy);
  gtk_label_set_text (self->time_label, busy ? _("Trying again…") : self->time_text);
}

gboolean
tether_offline_view_get_busy (TetherOfflineView *self)
{
  g_return_val_if_fail (TETHER_IS_OFFLINE_VIEW (self), FALSE);

  return self->busy;
}

void
tether_offline_view_hide (TetherOfflineView *self)
{
  g_return_if_fail (TETHER_IS_OFFLINE_VIEW (self));

  tether_offline_view_set_busy (self, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

gboolean
tether_offline_view_is_shown (TetherOfflineView *self)
{
  g_return_val_if_fail (TETHER_IS_OFFLINE_VIEW (self), FALSE);

  return gtk_widget_get_visible (GTK_WIDGET (self));
}

const char *
tether_offline_view_get_reason (TetherOfflineView *self)
{
  g_return_val_if_fail (TETHER_IS_OFFLINE_VIEW (self), NULL);

  return gtk_label_get_text (self->reason_label);
}

const char *
tether_offline_view_get_time_text (TetherOfflineView *self)
{
  g_return_val_if_fail (TETHER_IS_OFFLINE_VIEW (self), NULL);

  return gtk_label_get_text (self->time_label);
}

GtkWidget *
tether_offline_view_get_retry_button (TetherOfflineView *self)
{
  g_return_val_if_fail (TETHER_IS_OFFLINE_VIEW (self), NULL);

  return GTK_WIDGET (self->retry_button);
}

GtkWidget *
tether_offline_view_new (void)
{
  return g_object_new (TETHER_TYPE_OFFLINE_VIEW, NULL);
}

static void
tether_offline_view_dispose (GObject *object)
{
  TetherOfflineView *self = TETHER_OFFLINE_VIEW (object);

  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_pointer (&self->time_text, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_OFFLINE_VIEW);

  G_OBJECT_CLASS (tether_offline_view_parent_class)->dispose (object);
}

static void
tether_offline_view_class_init (TetherOfflineViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_offline_view_dispose;

  /**
   * TetherOfflineView::retry:
   *
   * Try Again was pressed, or the network came back while the view was shown.
   */
  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * TetherOfflineView::leave:
   *
   * The viewer asks to leave the room for the start page.
   */
  signals[SIGNAL_LEAVE] = g_signal_new ("leave", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-offline-view.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherOfflineView, card);
  gtk_widget_class_bind_template_child (widget_class, TetherOfflineView, reason_label);
  gtk_widget_class_bind_template_child (widget_class, TetherOfflineView, time_label);
  gtk_widget_class_bind_template_child (widget_class, TetherOfflineView, retry_button);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, leave_clicked_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "offlineview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_ALERT);
}

static void
tether_offline_view_init (TetherOfflineView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  tether_offline_view_set_network_monitor (self, NULL);
}
