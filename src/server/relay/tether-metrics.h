/* tether-metrics.h: Prometheus text format for the /metrics of the room service and
 * the media node (the room service links the media node's library)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void tether_metrics_append (GString    *out,
                            const char *name,
                            const char *type,
                            const char *help,
                            guint64     value);

G_END_DECLS
