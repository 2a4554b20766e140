/* tether-server-cascade.c: the media cascade of a room service with an embedded media
 * node (--media-cascade): its players play from that node, which pulls each stream
 * from the node the room service's model says it is published on
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-redis.h"
#include "tether-server-private.h"

/*
 * The relay asks where a stream is (tether_relay_set_locate_func()); this room
 * service answers from its model: the stream's `node` (what its publisher announced,
 * or the node an ingest was reported by), that node's URL in the media-node
 * directory, and the stream's room. In cluster mode (--redis) a node's model holds
 * only its own sessions, so the answer comes from Redis instead, on a connection of
 * its own: `P stream:<id>` → `node`, `room`, then `P medianode:<node>` → `url`, in
 * one script. The seam is the locate func; nothing else changes.
 */

/* KEYS[1] = P stream:<id>, ARGV[1] = P: {node, url, room} or nil. */
static const char locate_lua[] =
  "local s = redis.call('HMGET', KEYS[1], 'node', 'room')\n"
  "if not s[1] or s[1] == '' then return false end\n"
  "local url = redis.call('HGET', ARGV[1] .. 'medianode:' .. s[1], 'url')\n"
  "if not url or url == '' then return false end\n"
  "return {s[1], url, s[2] or ''}\n";

typedef struct
{
  GWeakRef server;
  TetherRedis *redis;       /* cluster mode */
  char *prefix;             /* tether:<app id>: */
  TetherRedisScript script;
  GHashTable *pending;      /* Lookup: asked of Redis, answered "not found" if we go first */
} Cascade;

typedef struct
{
  Cascade *cascade;
  TetherRelayLocate *request;
} Lookup;

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

static const char *
reply_string (redisReply *reply,
              guint       i)
{
  redisReply *e = reply->element[i];

  return e->type == REDIS_REPLY_STRING && e->len > 0 ? e->str : NULL;
}

static void
located_in_redis (TetherRedis *redis,
                  redisReply  *reply,
                  const char  *error,
                  gpointer     data)
{
  Lookup *lookup = data;

  g_hash_table_remove (lookup->cascade->pending, lookup);
  if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3)
    tether_relay_locate_return (lookup->request, reply_string (reply, 0), reply_string (reply, 1),
                                reply_string (reply, 2));
  else
    {
      if (error != NULL || (reply != NULL && reply->type == REDIS_REPLY_ERROR))
        g_info ("media cascade: cannot locate stream %s in Redis: %s",
                tether_relay_locate_get_stream_id (lookup->request),
                error != NULL ? error : reply->str);
      tether_relay_locate_return (lookup->request, NULL, NULL, NULL);
    }
  g_free (lookup);
}

static void
locate_from_redis (Cascade           *cascade,
                   TetherRelayLocate *request)
{
  Lookup *lookup = g_new0 (Lookup, 1);
  g_autofree char *key = g_strconcat (cascade->prefix, "stream:",
                                      tether_relay_locate_get_stream_id (request), NULL);
  const char *keys_and_args[] = { key, cascade->prefix, NULL };

  lookup->cascade = cascade;
  lookup->request = request;
  g_hash_table_add (cascade->pending, lookup);
  tether_redis_eval (cascade->redis, &cascade->script, located_in_redis, lookup, 1, keys_and_args);
}

/* On the relay's context, which is the room service's (both made in main()). */
static void
locate_stream (TetherRelay       *relay,
               TetherRelayLocate *request,
               gpointer           data)
{
  Cascade *cascade = data;
  g_autoptr(TetherServer) self = g_weak_ref_get (&cascade->server);
  TetherServerStream *stream = NULL;
  const char *url = NULL;

  if (cascade->redis != NULL)
    {
      locate_from_redis (cascade, request);
      return;
    }
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
cascade_free (Cascade *cascade)
{
  g_autoptr(GList) lookups = g_hash_table_get_keys (cascade->pending);

  /* A freed client calls back no more: what it still owed is answered here. */
  g_clear_pointer (&cascade->redis, tether_redis_free);
  for (GList *l = lookups; l != NULL; l = l->next)
    {
      Lookup *lookup = l->data;

      tether_relay_locate_return (lookup->request, NULL, NULL, NULL);
      g_free (lookup);
    }
  g_hash_table_unref (cascade->pending);
  tether_redis_script_clear (&cascade->script);
  g_free (cascade->prefix);
  g_weak_ref_clear (&cascade->server);
  g_free (cascade);
}

/**
 * tether_server_set_media_edge:
 * @self: a #TetherServer of a cluster (#TetherServer:redis set)
 * @node_id: the id of a `--media-only` node of the cluster that cascades
 *   (`tether-server --media-only --redis --media-cascade`)
 *
 * login_ok names @node_id in `media_edge` while it is among the cluster's live media
 * nodes, so libtether's players play from it whatever node their stream is on; it
 * pulls each stream once. tether_server_enable_media_cascade() names the embedded
 * media node instead.
 */
void
tether_server_set_media_edge (TetherServer *self,
                              const char   *node_id)
{
  g_return_if_fail (TETHER_IS_SERVER (self));

  g_free (self->media_edge);
  self->media_edge = g_strdup (node_id);
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
 * "Media cascade"). Call it before tether_server_listen(), after "redis-url" is set
 * for a cluster: then the streams are located in Redis.
 */
void
tether_server_enable_media_cascade (TetherServer *self,
                                    TetherRelay  *relay)
{
  g_autofree char *node_id = NULL;
  g_autoptr(GError) error = NULL;
  Cascade *cascade;

  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (TETHER_IS_RELAY (relay));

  g_object_get (relay, "node-id", &node_id, NULL);
  g_return_if_fail (node_id != NULL && media_node_url (self, node_id) != NULL);

  cascade = g_new0 (Cascade, 1);
  g_weak_ref_init (&cascade->server, self);
  cascade->pending = g_hash_table_new (NULL, NULL);
  if (self->redis_url != NULL)
    {
      cascade->redis = tether_redis_new (self->redis_url, self->context, &error);
      if (cascade->redis == NULL)
        g_warning ("media cascade: %s; streams are located in this node's model only",
                   error->message);
      else
        {
          cascade->prefix = g_strdup_printf ("tether:%s:", self->app_id);
          tether_redis_script_init (&cascade->script, locate_lua);
          tether_redis_start (cascade->redis);
        }
    }
  tether_relay_set_locate_func (relay, locate_stream, cascade, (GDestroyNotify) cascade_free);
  g_free (self->media_edge);
  self->media_edge = g_steal_pointer (&node_id);
  g_message ("media cascade: players play from node %s, which pulls each stream from its node",
             self->media_edge);
}
