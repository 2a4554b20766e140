/* tether-demo.h: the demo room — an in-process room service, its media node, and two
 * hosts that publish a test picture and come and go
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_DEMO (tether_demo_get_type ())
G_DECLARE_FINAL_TYPE (TetherDemo, tether_demo, TETHER, DEMO, GObject)

#define TETHER_DEMO_APP_ID "demo"
#define TETHER_DEMO_ROOM_ID "demo"

/*
 * Properties: "publish-time" and "pause-time" (seconds a host publishes, then stays
 * away; 40 and 10), "n-hosts" (2), set before tether_demo_start().
 */

TetherDemo *tether_demo_new            (void);
gboolean    tether_demo_start          (TetherDemo  *self,
                                        GError     **error);
void        tether_demo_stop           (TetherDemo  *self);
const char *tether_demo_get_server_url (TetherDemo  *self);
gboolean    tether_demo_has_media      (TetherDemo  *self);
/* A token for @user_id in the demo room, signed with the demo's secret. */
char       *tether_demo_mint_token     (TetherDemo  *self,
                                        const char  *user_id);
guint       tether_demo_get_n_publishing (TetherDemo *self);

G_END_DECLS
