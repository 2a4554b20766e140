/* tether-timeout-private.h: timers of any length libtether allows, on a given context
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

GSource *tether_timeout_source_new (double seconds);

G_END_DECLS
