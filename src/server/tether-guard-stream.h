/* tether-guard-stream.h: a GIOStream around an accepted connection that counts what
 * goes through it, so the room service can bound what libsoup buffers for a peer
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_TYPE_GUARD_STREAM (tether_guard_stream_get_type ())
G_DECLARE_FINAL_TYPE (TetherGuardStream, tether_guard_stream, TETHER, GUARD_STREAM, GIOStream)

/* One epoll set and a few small contexts for all of a server's connections. */
typedef gboolean (*TetherGuardMessageHook) (const char *text,
                                            gsize       len,
                                            gpointer    user_data);
typedef struct _TetherGuardPoller TetherGuardPoller;

TetherGuardPoller *tether_guard_poller_new  (GMainContext      *home);
void               tether_guard_poller_free (TetherGuardPoller *poller);

TetherGuardStream *tether_guard_stream_new           (GIOStream         *base);
GIOStream         *tether_guard_stream_get_base      (TetherGuardStream *self);
guint64            tether_guard_stream_get_bytes_in  (TetherGuardStream *self);
guint64            tether_guard_stream_get_bytes_out (TetherGuardStream *self);
void               tether_guard_stream_set_input_budget (TetherGuardStream *self,
                                                         guint64            budget);
void               tether_guard_stream_renew_input_budget (TetherGuardStream *self);
GMainContext      *tether_guard_stream_watch (TetherGuardStream *self,
                                              TetherGuardPoller *poller,
                                              int                fd);
gboolean           tether_guard_stream_send_direct (TetherGuardStream *self,
                                                    const guint8      *data,
                                                    gsize              len);
void               tether_guard_stream_set_message_hook (TetherGuardStream      *self,
                                                         TetherGuardMessageHook  hook,
                                                         gpointer                user_data);

G_END_DECLS
