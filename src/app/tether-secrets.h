/* tether-secrets.h: the token and the development app secret, kept in the Secret
 * Service (the keyring) per server and app id, not in GSettings
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_SECRETS (tether_secrets_get_type ())
G_DECLARE_FINAL_TYPE (TetherSecrets, tether_secrets, TETHER, SECRETS, GObject)

TetherSecrets *tether_secrets_new            (GSettings     *settings);
const char    *tether_secrets_get_token      (TetherSecrets *self);
const char    *tether_secrets_get_app_secret (TetherSecrets *self);
gboolean       tether_secrets_get_available  (TetherSecrets *self);
gboolean       tether_secrets_get_busy       (TetherSecrets *self);
void           tether_secrets_remember       (TetherSecrets *self);
void           tether_secrets_flush          (TetherSecrets *self);

G_END_DECLS
