/* tether-user.c: a person in a room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-user.h"

/**
 * TetherUser:
 *
 * Another user in a room, as [method@Tether.Room.get_users] lists them.
 */

struct _TetherUser
{
  GObject parent_instance;
  char *id;
  char *name;
};

G_DEFINE_FINAL_TYPE (TetherUser, tether_user, G_TYPE_OBJECT)

enum { PROP_0, PROP_ID, PROP_NAME, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
tether_user_finalize (GObject *object)
{
  TetherUser *self = TETHER_USER (object);

  g_free (self->id);
  g_free (self->name);
  G_OBJECT_CLASS (tether_user_parent_class)->finalize (object);
}

static void
tether_user_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TetherUser *self = TETHER_USER (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->id); break;
    case PROP_NAME: g_value_set_string (value, self->name); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_user_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TetherUser *self = TETHER_USER (object);

  switch (prop_id)
    {
    case PROP_ID: self->id = g_value_dup_string (value); break;
    case PROP_NAME: self->name = g_value_dup_string (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_user_class_init (TetherUserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tether_user_finalize;
  object_class->get_property = tether_user_get_property;
  object_class->set_property = tether_user_set_property;

  /**
   * TetherUser:id: (getter get_id)
   *
   * The user's id, unique in the room.
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherUser:name: (getter get_name)
   *
   * The name the user is shown with.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_user_init (TetherUser *self)
{
}

/**
 * tether_user_new: (constructor)
 * @id: the user's id
 * @name: (nullable): the name shown; %NULL for the id
 *
 * Creates a user, as a room lists them.
 *
 * Returns: (transfer full): a new user
 */
TetherUser *
tether_user_new (const char *id,
                 const char *name)
{
  g_return_val_if_fail (id != NULL, NULL);

  return g_object_new (TETHER_TYPE_USER, "id", id, "name", name ? name : id, NULL);
}

/**
 * tether_user_get_id: (get-property id)
 * @self: a user
 *
 * Gets the user's id.
 *
 * Returns: the user's id
 */
const char *
tether_user_get_id (TetherUser *self)
{
  g_return_val_if_fail (TETHER_IS_USER (self), NULL);
  return self->id;
}

/**
 * tether_user_get_name: (get-property name)
 * @self: a user
 *
 * Gets the name the user is shown with.
 *
 * Returns: the name the user is shown with
 */
const char *
tether_user_get_name (TetherUser *self)
{
  g_return_val_if_fail (TETHER_IS_USER (self), NULL);
  return self->name;
}
