/* tether-demo.h: the demo room — a tether-server child process (room service and media
 * node on ephemeral loopback ports) and hosts in this process that publish a test
 * picture and come and go
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_DEMO (tether_demo_get_type ())
G_DECLARE_FINAL_TYPE (TetherDemo, tether_demo, TETHER, DEMO, GObject)

#define TETHER_DEMO_APP_ID "demo"
#define TETHER_DEMO_ROOM_ID "demo"

TetherDemo *tether_demo_new            (void);
void        tether_demo_start_async    (TetherDemo           *self,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
gboolean    tether_demo_start_finish   (TetherDemo           *self,
                                        GAsyncResult         *result,
                                        GError              **error);
void        tether_demo_stop           (TetherDemo           *self);
const char *tether_demo_get_server_url (TetherDemo           *self);
char       *tether_demo_mint_token     (TetherDemo           *self,
                                        const char           *user_id);
char       *tether_demo_find_server    (void);

G_END_DECLS
