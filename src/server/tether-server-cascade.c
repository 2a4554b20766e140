/* tether-server-cascade.c: the media cascade of a room service with an embedded media
 * node (--media-cascade): its players play from that node, which pulls each stream
 * from the node the room service's model says it is published on
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-server-private.h"

/*
 * The relay asks where a stream is (tether_relay_set_locate_func()); this room
 * service answers from its model: the stream's `node` (what its publisher announced,
 * or the node an ingest was reported by), that node's URL in the media-node
 * directory, and the stream's room. A deployment that shares its model through Redis
 * answers the same question from `P stream:<id>` and `P medianode:<node>` instead;
 * the seam is the locate func, nothing else changes.
 */

static const char *
media_node_url (TetherServer *self,
                const char   *id)
{
  for (guint i = 0; i < self->media_nodes->len; i++)
    {
      TetherServerMediaNode *node = g_ptr_array_index (self->media_nodes, i);

      if (g_str_equal (node->id, id))
        return node->url;
    }
  return NULL;
}

/* On the relay's context, which is the room service's (both made in main()). */
static void
locate_from_model (TetherRelay       *relay,
                   TetherRelayLocate *request,
                   gpointer           data)
{
  g_autoptr(TetherServer) self = g_weak_ref_get (data);
  TetherServerStream *stream = NULL;
  const char *url = NULL;

  if (self != NULL)
    stream = g_hash_table_lookup (self->streams, tether_relay_locate_get_stream_id (request));
  if (stream != NULL && stream->node != NULL)
    url = media_node_url (self, stream->node);
  if (url == NULL)
    {
      tether_relay_locate_return (request, NULL, NULL, NULL);
      return;
    }
  tether_relay_locate_return (request, stream->node, url, stream->session->room->id);
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

/**
 * tether_server_enable_media_cascade:
 * @self: a #TetherServer
 * @relay: a media node attached with tether_server_attach_relay(), whose
 *   #TetherRelay:node-id is its id in the directory (set before it listens)
 *
 * Makes @relay the edge of this room service: login_ok names it in `media_edge`, so
 * libtether's players play from it whatever node their stream is on, and it pulls
 * each stream once from the node the stream is published on (docs/design.md,
 * "Media cascade"). Call it before tether_server_listen().
 */
void
tether_server_enable_media_cascade (TetherServer *self,
                                    TetherRelay  *relay)
{
  g_autofree char *node_id = NULL;
  GWeakRef *ref;

  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (TETHER_IS_RELAY (relay));

  g_object_get (relay, "node-id", &node_id, NULL);
  g_return_if_fail (node_id != NULL && media_node_url (self, node_id) != NULL);

  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  tether_relay_set_locate_func (relay, locate_from_model, ref, (GDestroyNotify) weak_ref_free);
  g_free (self->media_edge);
  self->media_edge = g_steal_pointer (&node_id);
  g_message ("media cascade: players play from node %s, which pulls each stream from its node",
             self->media_edge);
}
