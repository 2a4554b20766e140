/* tether-session.h: what the app is doing in a room — the engine, the current room, its
 * autoplay or hand-started players, the publisher and the demo room; owned by the
 * application, shown by the windows
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether.h"
#include "tether-secrets.h"

G_BEGIN_DECLS

#define TETHER_TYPE_SESSION (tether_session_get_type ())
G_DECLARE_FINAL_TYPE (TetherSession, tether_session, TETHER, SESSION, GObject)

TetherSession   *tether_session_new                  (void);
GSettings       *tether_session_get_settings         (TetherSession        *self);
TetherSecrets   *tether_session_get_secrets          (TetherSession        *self);
TetherEngine    *tether_session_get_engine           (TetherSession        *self);
TetherRoom      *tether_session_get_room             (TetherSession        *self);
TetherAutoplay  *tether_session_get_autoplay         (TetherSession        *self);
TetherPublisher *tether_session_get_publisher        (TetherSession        *self);
const char      *tether_session_get_display_name     (TetherSession        *self);
gboolean         tether_session_is_in_room           (TetherSession        *self);
gboolean         tether_session_get_last_was_demo    (TetherSession        *self);
gboolean         tether_session_is_guest             (TetherSession        *self);

void             tether_session_join                 (TetherSession        *self,
                                                      TetherLoginOptions   *login);
gboolean         tether_session_join_from_settings   (TetherSession        *self,
                                                      GError              **error);
gboolean         tether_session_open_link            (TetherSession        *self,
                                                      const char           *text,
                                                      GError              **error);
char            *tether_session_dup_link             (TetherSession        *self,
                                                      GError              **error);
gboolean         tether_session_rejoin               (TetherSession        *self,
                                                      GError              **error);
void             tether_session_join_demo_async      (TetherSession        *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean         tether_session_join_demo_finish     (TetherSession        *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
void             tether_session_leave                (TetherSession        *self);
void             tether_session_shutdown             (TetherSession        *self);

gboolean         tether_session_toggle_player        (TetherSession        *self,
                                                      TetherStream         *stream,
                                                      GError              **error);
gboolean         tether_session_publish              (TetherSession        *self,
                                                      TetherPublisherSource source,
                                                      GstDevice            *device,
                                                      gboolean              audio,
                                                      GError              **error);
gboolean         tether_session_start_publishing     (TetherSession        *self,
                                                      GError              **error);
void             tether_session_stop_publishing      (TetherSession        *self);

G_END_DECLS
