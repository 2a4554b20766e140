/* tether-room-store.c: a list of users or streams kept by id — a GListStore for
 * views, a hash index for lookups
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-room-store.h"

/* The list is what the room exposes (tether_room_get_users(), ..._get_streams()),
 * in the order items arrived; the index finds an item by id without walking it.
 * Every change of a batch goes to the list in at most one splice per run of removed
 * items and one splice for all the new ones, so a snapshot of n items costs one walk
 * of the list, not one per item. */
struct _TetherRoomStore
{
  GListStore *list;
  GHashTable *index;  /* id (owned by the item) → item (a reference) */
  TetherRoomStoreIdFunc id_func;
  TetherRoomStoreSameFunc same_func;
};

TetherRoomStore *
_tether_room_store_new (GType                   item_type,
                        TetherRoomStoreIdFunc   id_func,
                        TetherRoomStoreSameFunc same_func)
{
  TetherRoomStore *self = g_new0 (TetherRoomStore, 1);

  self->list = g_list_store_new (item_type);
  self->index = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->id_func = id_func;
  self->same_func = same_func;
  return self;
}

void
_tether_room_store_free (TetherRoomStore *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->index);
  g_object_unref (self->list);
  g_free (self);
}

GListModel *
_tether_room_store_get_model (TetherRoomStore *self)
{
  return G_LIST_MODEL (self->list);
}

/* Returns: (transfer none) (nullable): the item listed under @id */
gpointer
_tether_room_store_lookup (TetherRoomStore *self,
                           const char      *id)
{
  return g_hash_table_lookup (self->index, id);
}

void
_tether_room_store_clear (TetherRoomStore *self)
{
  g_hash_table_remove_all (self->index);
  g_list_store_remove_all (self->list);
}

/* Takes the items in @gone (a set of pointers, already out of the index) off the
 * list: one walk to find them, then one splice per run, from the end so the
 * positions still to remove stay valid. */
typedef struct
{
  guint position;
  guint n_items;
} Run;

static void
splice_out (TetherRoomStore *self,
            GHashTable      *gone)
{
  GListModel *model = G_LIST_MODEL (self->list);
  g_autoptr(GArray) runs = NULL;
  guint n, found = 0;

  if (g_hash_table_size (gone) == 0)
    return;

  runs = g_array_new (FALSE, FALSE, sizeof (Run));
  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n && found < g_hash_table_size (gone); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);
      Run *last = runs->len > 0 ? &g_array_index (runs, Run, runs->len - 1) : NULL;

      if (!g_hash_table_contains (gone, item))
        continue;
      found++;
      if (last != NULL && last->position + last->n_items == i)
        last->n_items++;
      else
        {
          Run run = { i, 1 };

          g_array_append_val (runs, run);
        }
    }

  for (guint r = runs->len; r > 0; r--)
    {
      Run *run = &g_array_index (runs, Run, r - 1);

      g_list_store_splice (self->list, run->position, run->n_items, NULL, 0);
    }
}

/* Lists @items in order. An id already listed keeps its item when same_func says
 * nothing changed; otherwise the listed item goes (into @replaced) and the new one
 * is appended, as a new item to whoever watches. @added gets what was appended,
 * even an item a later one of the same batch replaced. */
void
_tether_room_store_add (TetherRoomStore *self,
                        GPtrArray       *items,
                        GPtrArray       *replaced,
                        GPtrArray       *added)
{
  g_autoptr(GHashTable) gone = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) appended = g_ptr_array_new ();
  guint n;

  for (guint i = 0; i < items->len; i++)
    {
      GObject *item = g_ptr_array_index (items, i);
      const char *id = self->id_func (item);
      GObject *listed = g_hash_table_lookup (self->index, id);

      if (listed != NULL)
        {
          if (self->same_func (listed, item))
            continue;
          g_ptr_array_add (replaced, g_object_ref (listed));
          g_hash_table_add (gone, listed);
        }
      g_hash_table_replace (self->index, (gpointer) id, g_object_ref (item));
      g_ptr_array_add (appended, item);
      g_ptr_array_add (added, g_object_ref (item));
    }

  /* An item appended and replaced within this batch never reaches the list. */
  for (guint i = appended->len; i > 0; i--)
    if (g_hash_table_remove (gone, g_ptr_array_index (appended, i - 1)))
      g_ptr_array_remove_index (appended, i - 1);

  splice_out (self, gone);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->list));
  g_list_store_splice (self->list, n, 0, appended->pdata, appended->len);
}

/* Takes off the listed items with the ids of @items; @removed gets them, in the
 * order of @items. */
void
_tether_room_store_remove (TetherRoomStore *self,
                           GPtrArray       *items,
                           GPtrArray       *removed)
{
  g_autoptr(GHashTable) gone = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < items->len; i++)
    {
      const char *id = self->id_func (g_ptr_array_index (items, i));
      gpointer key, listed;

      if (!g_hash_table_steal_extended (self->index, id, &key, &listed))
        continue;
      g_hash_table_add (gone, listed);
      g_ptr_array_add (removed, listed);
    }
  splice_out (self, gone);
}

/* Takes off every listed item whose id is not in @keep; @removed gets them, in list
 * order. */
void
_tether_room_store_remove_missing (TetherRoomStore *self,
                                   GHashTable      *keep,
                                   GPtrArray       *removed)
{
  GListModel *model = G_LIST_MODEL (self->list);
  g_autoptr(GHashTable) gone = g_hash_table_new (NULL, NULL);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);
      const char *id = self->id_func (item);
      gpointer key, listed;

      if (g_hash_table_contains (keep, id)
          || !g_hash_table_steal_extended (self->index, id, &key, &listed))
        continue;
      g_hash_table_add (gone, listed);
      g_ptr_array_add (removed, listed);
    }
  splice_out (self, gone);
}
