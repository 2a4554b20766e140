/* tether-tooltip.h: tooltips that keep short Chinese (and any CJK) texts on one line
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void tether_tooltip_keep_lines (GtkWidget *widget);

G_END_DECLS
