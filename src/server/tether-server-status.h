/* tether-server-status.h: `tether-server --status`, the nodes and rooms of a
 * cluster as its Redis holds them
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean tether_server_status_requested (int    argc,
                                         char **argv);
int      tether_server_status_main      (int    argc,
                                         char **argv);

G_END_DECLS
