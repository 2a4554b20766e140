/* tether-metrics.c: one Prometheus metric in text format
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-metrics.h"

/* Appends @name with its HELP and TYPE lines; @type is "gauge" or "counter". */
void
tether_metrics_append (GString    *out,
                       const char *name,
                       const char *type,
                       const char *help,
                       guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n",
                          name, help, name, type, name, value);
}
