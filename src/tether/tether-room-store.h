/* tether-room-store.h: a list of users or streams kept by id — a GListStore for
 * views, a hash index for lookups
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _TetherRoomStore TetherRoomStore;

/* The id of an item; the store indexes items by it. */
typedef const char *(*TetherRoomStoreIdFunc)   (gpointer item);
/* Whether an item announced again under an id already listed changes nothing, so
 * the listed one stays. */
typedef gboolean    (*TetherRoomStoreSameFunc) (gpointer listed,
                                                gpointer item);

TetherRoomStore *_tether_room_store_new            (GType                    item_type,
                                                    TetherRoomStoreIdFunc    id_func,
                                                    TetherRoomStoreSameFunc  same_func);
void             _tether_room_store_free           (TetherRoomStore         *self);
GListModel      *_tether_room_store_get_model      (TetherRoomStore         *self);
gpointer         _tether_room_store_lookup         (TetherRoomStore         *self,
                                                    const char              *id);
void             _tether_room_store_clear          (TetherRoomStore         *self);
void             _tether_room_store_add            (TetherRoomStore         *self,
                                                    GPtrArray               *items,
                                                    GPtrArray               *replaced,
                                                    GPtrArray               *added);
void             _tether_room_store_remove         (TetherRoomStore         *self,
                                                    GPtrArray               *items,
                                                    GPtrArray               *removed);
void             _tether_room_store_remove_missing (TetherRoomStore         *self,
                                                    GHashTable              *keep,
                                                    GPtrArray               *removed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherRoomStore, _tether_room_store_free)

G_END_DECLS
