/* tether-connection-badge-private.h: the badge's words, for tests/test-app.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-connection-badge.h"

G_BEGIN_DECLS

const char *tether_connection_badge_get_text        (TetherConnectionBadge *self);
GtkPopover *tether_connection_badge_get_popover     (TetherConnectionBadge *self);
GtkLabel   *tether_connection_badge_get_state_label (TetherConnectionBadge *self);

G_END_DECLS
