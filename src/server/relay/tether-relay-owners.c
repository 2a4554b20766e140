/* tether-relay-owners.c: who owns each stream id on a media node, and how long that
 * outlives the owner's publisher
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-relay-private.h"

/*
 * A stream id belongs to the user and room of the first publisher (or room-service
 * claim) that takes it. The record stays while a publisher is connected or the room
 * service claims it, and for the TTL after the last of them lets go: a host whose
 * node link broke, or who crashed, finds its stream id still its own when it comes
 * back, instead of whoever published first in the meantime.
 */

typedef struct
{
  char *user_id;
  char *room_id;        /* NULL until a token or the room service names the room */
  guint publishers;     /* connected publishers: two for a moment while one replaces another */
  gboolean claimed;     /* the room service holds the stream id */
  gint64 released_at;   /* when the last holder let go; read only when nobody holds it */
} Owner;

struct _TetherRelayOwners
{
  GHashTable *table;    /* stream id → Owner */
  gint64 ttl;
  guint generation;     /* bumped whenever a record's room becomes known */
};

static void
owner_free (Owner *owner)
{
  g_free (owner->user_id);
  g_free (owner->room_id);
  g_free (owner);
}

TetherRelayOwners *
tether_relay_owners_new (void)
{
  TetherRelayOwners *self = g_new0 (TetherRelayOwners, 1);

  self->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) owner_free);
  return self;
}

void
tether_relay_owners_free (TetherRelayOwners *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->table);
  g_free (self);
}

void
tether_relay_owners_set_ttl (TetherRelayOwners *self,
                             gint64             ttl_us)
{
  self->ttl = MAX (ttl_us, 0);
}

/* A NULL room is an all-rooms token, or a record whose room nobody has named yet. */
static gboolean
rooms_match (const char *a,
             const char *b)
{
  return a == NULL || b == NULL || strcmp (a, b) == 0;
}

static gboolean
owner_held (const Owner *owner)
{
  return owner->publishers > 0 || owner->claimed;
}

static gboolean
owner_expired (const TetherRelayOwners *self,
               const Owner             *owner,
               gint64                   now)
{
  return !owner_held (owner) && now - owner->released_at >= self->ttl;
}

/* The live record of @stream_id; an expired one is dropped on the way. */
static Owner *
owner_lookup (TetherRelayOwners *self,
              const char        *stream_id,
              gint64             now)
{
  Owner *owner = g_hash_table_lookup (self->table, stream_id);

  if (owner != NULL && owner_expired (self, owner, now))
    {
      g_hash_table_remove (self->table, stream_id);
      return NULL;
    }
  return owner;
}

/**
 * tether_relay_owners_take:
 * @room_id: (nullable): the taker's room, %NULL for all rooms
 * @hold: what holds the record from now on
 *
 * Makes the stream id @user_id's in @room_id, or refreshes their record: the same
 * user whose room matches (equal, or either one %NULL) may always take it again;
 * a record with no room learns @room_id.
 *
 * Returns: %FALSE when another user or another room owns the stream id
 */
gboolean
tether_relay_owners_take (TetherRelayOwners *self,
                          const char        *stream_id,
                          const char        *user_id,
                          const char        *room_id,
                          TetherRelayHold    hold,
                          gint64             now)
{
  Owner *owner = owner_lookup (self, stream_id, now);

  if (owner == NULL)
    {
      owner = g_new0 (Owner, 1);
      owner->user_id = g_strdup (user_id);
      g_hash_table_insert (self->table, g_strdup (stream_id), owner);
    }
  else if (strcmp (owner->user_id, user_id) != 0 || !rooms_match (owner->room_id, room_id))
    return FALSE;

  if (owner->room_id == NULL && room_id != NULL)
    {
      owner->room_id = g_strdup (room_id);
      self->generation++;
    }
  if (hold == TETHER_RELAY_HOLD_PUBLISHER)
    owner->publishers++;
  else if (hold == TETHER_RELAY_HOLD_CLAIM)
    owner->claimed = TRUE;
  owner->released_at = now;
  return TRUE;
}

/**
 * tether_relay_owners_let_go:
 * @hold: %TETHER_RELAY_HOLD_PUBLISHER or %TETHER_RELAY_HOLD_CLAIM
 *
 * @user_id's publisher left, or the room service no longer claims the stream id;
 * when nothing holds the record any more, its TTL starts.
 */
void
tether_relay_owners_let_go (TetherRelayOwners *self,
                            const char        *stream_id,
                            const char        *user_id,
                            TetherRelayHold    hold,
                            gint64             now)
{
  Owner *owner = g_hash_table_lookup (self->table, stream_id);

  if (owner == NULL || strcmp (owner->user_id, user_id) != 0)
    return;
  if (hold == TETHER_RELAY_HOLD_PUBLISHER && owner->publishers > 0)
    owner->publishers--;
  else if (hold == TETHER_RELAY_HOLD_CLAIM)
    owner->claimed = FALSE;
  if (!owner_held (owner))
    owner->released_at = now;
}

/**
 * tether_relay_owners_room_allows:
 * @room_id: (nullable): a player's room, %NULL for an all-rooms token
 *
 * Returns: whether a player of @room_id may play @stream_id: the stream has no
 *   owner yet, its room is not known, or the rooms match
 */
gboolean
tether_relay_owners_room_allows (TetherRelayOwners *self,
                                 const char        *stream_id,
                                 const char        *room_id,
                                 gint64             now)
{
  Owner *owner = owner_lookup (self, stream_id, now);

  return owner == NULL || rooms_match (owner->room_id, room_id);
}

/* Changes when a room becomes known, so the relay knows to check its players again. */
guint
tether_relay_owners_get_generation (TetherRelayOwners *self)
{
  return self->generation;
}

/* Expired records go, so ids that were published once do not pile up. */
void
tether_relay_owners_purge (TetherRelayOwners *self,
                           gint64             now)
{
  GHashTableIter iter;
  Owner *owner;

  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &owner))
    if (owner_expired (self, owner, now))
      g_hash_table_iter_remove (&iter);
}
