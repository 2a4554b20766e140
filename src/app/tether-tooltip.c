/* tether-tooltip.c: tooltips that keep short Chinese (and any CJK) texts on one line.
 * GTK 4.8 sizes a tooltip by its label's narrowest natural wrap, and Chinese may break
 * between any two characters: "离开房间" came out as "离开/房间", "主菜单" as a column.
 * These tooltips show the widget's tooltip text in a label that wraps only past 50
 * characters, as a Latin tooltip does.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-tooltip.h"

#define KEPT_KEY "tether-tooltip-kept"

static gboolean
query_tooltip_cb (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  gpointer    data)
{
  const char *text = gtk_widget_get_tooltip_text (widget);
  GtkWidget *label;

  if (text == NULL || *text == '\0')
    return FALSE;
  label = gtk_label_new (text);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_natural_wrap_mode (GTK_LABEL (label), GTK_NATURAL_WRAP_NONE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 50);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_tooltip_set_custom (tooltip, label);
  return TRUE;
}

/**
 * tether_tooltip_keep_lines:
 * @widget: a widget
 *
 * Every widget under @widget (itself included) that has a tooltip text now shows it
 * unwrapped up to 50 characters; later changes of the text are followed. Call it
 * again for widgets added later; each is handled once.
 */
void
tether_tooltip_keep_lines (GtkWidget *widget)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));

  if (gtk_widget_get_tooltip_text (widget) != NULL
      && g_object_get_data (G_OBJECT (widget), KEPT_KEY) == NULL)
    {
      g_object_set_data (G_OBJECT (widget), KEPT_KEY, GINT_TO_POINTER (TRUE));
      g_signal_connect (widget, "query-tooltip", G_CALLBACK (query_tooltip_cb), NULL);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    tether_tooltip_keep_lines (child);
}
