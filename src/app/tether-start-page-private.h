/* tether-start-page-private.h: the error the start page shows, for tests/test-app.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-start-page.h"

G_BEGIN_DECLS

gboolean    tether_start_page_has_error         (TetherStartPage *self);
const char *tether_start_page_get_error_title   (TetherStartPage *self);
const char *tether_start_page_get_error_message (TetherStartPage *self);
const char *tether_start_page_get_error_details (TetherStartPage *self);
const char *tether_start_page_get_server_error  (TetherStartPage *self);
const char *tether_start_page_get_rejoin_title  (TetherStartPage *self);
GtkWidget  *tether_start_page_get_join_button   (TetherStartPage *self);
double      tether_start_page_get_scroll        (TetherStartPage *self);
void        tether_start_page_set_scroll        (TetherStartPage *self,
                                                 double           value);

G_END_DECLS
