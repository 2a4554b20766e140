/* tether-media.h: the process-wide side of libtether's media layer
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean tether_media_init (GError **error);

G_END_DECLS
