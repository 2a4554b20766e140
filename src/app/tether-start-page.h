/* tether-start-page.h: where the user says which room to join, or tries the demo room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "tether-secrets.h"

G_BEGIN_DECLS

#define TETHER_TYPE_START_PAGE (tether_start_page_get_type ())
G_DECLARE_FINAL_TYPE (TetherStartPage, tether_start_page, TETHER, START_PAGE, GtkWidget)

/*
 * Actions (on the page): start.join, start.demo, start.retry — each emits the signal of
 * the same name; the window does the work. The fields are bound to GSettings, the token
 * and app secret to TetherSecrets (the keyring), so what the user typed is remembered.
 */

GtkWidget  *tether_start_page_new          (GSettings       *settings);
void        tether_start_page_set_settings (TetherStartPage *self,
                                            GSettings       *settings);
void        tether_start_page_set_secrets  (TetherStartPage *self,
                                            TetherSecrets   *secrets);
void        tether_start_page_show_error   (TetherStartPage *self,
                                            const char      *title,
                                            const char      *message,
                                            gboolean         can_retry);
void        tether_start_page_set_error_details (TetherStartPage *self,
                                                 const char      *details);
void        tether_start_page_clear_error  (TetherStartPage *self);
void        tether_start_page_set_busy     (TetherStartPage *self,
                                            gboolean         busy);

G_END_DECLS
