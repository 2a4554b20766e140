/* tether-reconnect-report.h: what happened during one reconnect episode
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TETHER_TYPE_RECONNECT_REPORT (tether_reconnect_report_get_type ())
G_DECLARE_FINAL_TYPE (TetherReconnectReport, tether_reconnect_report, TETHER, RECONNECT_REPORT, GObject)

const char *tether_reconnect_report_get_cause     (TetherReconnectReport *self);
guint       tether_reconnect_report_get_attempts  (TetherReconnectReport *self);
gboolean    tether_reconnect_report_get_resumed   (TetherReconnectReport *self);
gboolean    tether_reconnect_report_get_succeeded (TetherReconnectReport *self);
double      tether_reconnect_report_get_downtime  (TetherReconnectReport *self);
char       *tether_reconnect_report_to_json       (TetherReconnectReport *self);

G_END_DECLS
