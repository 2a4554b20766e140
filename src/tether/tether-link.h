/* tether-link.h: room links (tether://HOST[:PORT]/ROOM) and what a person types for a
 * server
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * TETHER_LINK_DEFAULT_PORT:
 *
 * The port of a room link, a bare host or `host` without a port: 7480, the port
 * `tether-server` listens on by default.
 */
#define TETHER_LINK_DEFAULT_PORT 7480

/**
 * TETHER_LINK_MAX_HOSTS:
 *
 * The most room services (hosts) one link names: `tether://h1,h2,…/ROOM`.
 */
#define TETHER_LINK_MAX_HOSTS 16

#define TETHER_TYPE_LINK (tether_link_get_type ())

typedef struct _TetherLink TetherLink;

GType        tether_link_get_type             (void) G_GNUC_CONST;

TetherLink  *tether_link_new                  (const char        *server_url,
                                               const char        *room_id,
                                               const char        *app_id,
                                               GError           **error);
TetherLink  *tether_link_new_for_servers      (const char * const *server_urls,
                                               const char        *room_id,
                                               const char        *app_id,
                                               GError           **error);
TetherLink  *tether_link_parse                (const char        *text,
                                               GError           **error);
TetherLink  *tether_link_copy                 (const TetherLink  *self);
void         tether_link_free                 (TetherLink        *self);

char        *tether_link_to_string            (const TetherLink  *self);
const char  *tether_link_get_server_url       (const TetherLink  *self);
const char * const *tether_link_get_server_urls (const TetherLink *self);
const char  *tether_link_get_host             (const TetherLink  *self);
guint16      tether_link_get_port             (const TetherLink  *self);
const char  *tether_link_get_room_id          (const TetherLink  *self);
const char  *tether_link_get_app_id           (const TetherLink  *self);
gboolean     tether_link_is_insecure          (const TetherLink  *self);

char        *tether_link_server_url_from_text (const char        *text,
                                               char             **room_id,
                                               char             **app_id,
                                               GError           **error);

char       **tether_link_server_urls_from_text (const char       *text,
                                               char             **room_id,
                                               char             **app_id,
                                               GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherLink, tether_link_free)

G_END_DECLS
