/* tether-stream.c: a stream announced in a room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-stream.h"

/**
 * TetherStream:
 *
 * A stream another user announced in a room, as [method@Tether.Room.get_streams]
 * lists them: who publishes it, and on which media node.
 */

struct _TetherStream
{
  GObject parent_instance;
  char *id;
  char *user_id;
  char *user_name;
  char *node;
  char *extra;
};

G_DEFINE_FINAL_TYPE (TetherStream, tether_stream, G_TYPE_OBJECT)

enum { PROP_0, PROP_ID, PROP_USER_ID, PROP_USER_NAME, PROP_NODE, PROP_EXTRA, N_PROPS };
static GParamSpec *properties[N_PROPS];

static char **
field (TetherStream *self,
       guint         prop_id)
{
  switch (prop_id)
    {
    case PROP_ID: return &self->id;
    case PROP_USER_ID: return &self->user_id;
    case PROP_USER_NAME: return &self->user_name;
    case PROP_NODE: return &self->node;
    case PROP_EXTRA: return &self->extra;
    default: return NULL;
    }
}

static void
tether_stream_finalize (GObject *object)
{
  TetherStream *self = TETHER_STREAM (object);

  for (guint i = PROP_ID; i < N_PROPS; i++)
    g_free (*field (self, i));
  G_OBJECT_CLASS (tether_stream_parent_class)->finalize (object);
}

static void
tether_stream_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  char **f = field (TETHER_STREAM (object), prop_id);

  if (f == NULL)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  else
    g_value_set_string (value, *f);
}

static void
tether_stream_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  char **f = field (TETHER_STREAM (object), prop_id);

  if (f == NULL)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  else
    *f = g_value_dup_string (value);
}

static void
tether_stream_class_init (TetherStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tether_stream_finalize;
  object_class->get_property = tether_stream_get_property;
  object_class->set_property = tether_stream_set_property;

  /**
   * TetherStream:id: (getter get_id)
   *
   * The stream's id, unique in the room.
   */
  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  /**
   * TetherStream:user-id: (getter get_user_id)
   *
   * The id of the user who publishes it.
   */
  properties[PROP_USER_ID] = g_param_spec_string ("user-id", NULL, NULL, NULL, flags);
  /**
   * TetherStream:user-name: (getter get_user_name)
   *
   * The name of the user who publishes it.
   */
  properties[PROP_USER_NAME] = g_param_spec_string ("user-name", NULL, NULL, NULL, flags);
  /**
   * TetherStream:node: (getter get_node)
   *
   * The media node it is published on (see [method@Tether.Room.get_media_node_url]).
   */
  properties[PROP_NODE] = g_param_spec_string ("node", NULL, NULL, NULL, flags);
  /**
   * TetherStream:extra: (getter get_extra)
   *
   * Application data the publisher attached.
   */
  properties[PROP_EXTRA] = g_param_spec_string ("extra", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_stream_init (TetherStream *self)
{
}

/**
 * tether_stream_new: (constructor)
 * @id: the stream's id
 * @user_id: (nullable): who publishes it
 * @user_name: (nullable): their name
 * @node: (nullable): the media node it is on
 * @extra: (nullable): application data
 *
 * Missing fields read as "".
 *
 * Returns: (transfer full): a new stream
 */
TetherStream *
tether_stream_new (const char *id,
                   const char *user_id,
                   const char *user_name,
                   const char *node,
                   const char *extra)
{
  g_return_val_if_fail (id != NULL, NULL);

  return g_object_new (TETHER_TYPE_STREAM,
                       "id", id,
                       "user-id", user_id ? user_id : "",
                       "user-name", user_name ? user_name : "",
                       "node", node ? node : "",
                       "extra", extra ? extra : "",
                       NULL);
}

/**
 * tether_stream_get_id: (get-property id)
 * @self: a stream
 *
 * Gets the stream's id.
 *
 * Returns: the stream's id
 */
const char *
tether_stream_get_id (TetherStream *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM (self), NULL);
  return self->id;
}

/**
 * tether_stream_get_user_id: (get-property user-id)
 * @self: a stream
 *
 * Gets the id of the user who publishes the stream.
 *
 * Returns: the id of the user who publishes it
 */
const char *
tether_stream_get_user_id (TetherStream *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM (self), NULL);
  return self->user_id;
}

/**
 * tether_stream_get_user_name: (get-property user-name)
 * @self: a stream
 *
 * Gets the name of the user who publishes the stream.
 *
 * Returns: the name of the user who publishes it
 */
const char *
tether_stream_get_user_name (TetherStream *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM (self), NULL);
  return self->user_name;
}

/**
 * tether_stream_get_node: (get-property node)
 * @self: a stream
 *
 * Gets the media node the stream is published on.
 *
 * Returns: the media node it is published on
 */
const char *
tether_stream_get_node (TetherStream *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM (self), NULL);
  return self->node;
}

/**
 * tether_stream_get_extra: (get-property extra)
 * @self: a stream
 *
 * Gets the application data the publisher attached.
 *
 * Returns: the application data the publisher attached
 */
const char *
tether_stream_get_extra (TetherStream *self)
{
  g_return_val_if_fail (TETHER_IS_STREAM (self), NULL);
  return self->extra;
}

/**
 * tether_stream_equal:
 * @a: a stream
 * @b: another record of a stream
 *
 * Two records of the same stream id are equal when nothing a viewer acts on
 * changed.
 *
 * Returns: whether every field of @a and @b is the same
 */
gboolean
tether_stream_equal (TetherStream *a,
                     TetherStream *b)
{
  for (guint i = PROP_ID; i < N_PROPS; i++)
    if (g_strcmp0 (*field (a, i), *field (b, i)) != 0)
      return FALSE;
  return TRUE;
}
