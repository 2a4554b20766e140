/* tether-redis.h: an asynchronous Redis client on a GMainContext (hiredis async with
 * its GLib adapter) for the room service's cluster mode — a command connection and a
 * subscriber connection, reconnected with jittered backoff, scripts by EVALSHA with
 * an EVAL fallback, channel subscriptions kept across reconnects
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

typedef struct _TetherRedis TetherRedis;

/* Called once per command: @reply is NULL and @error set when Redis could not answer
 * (down, connection lost, or the client freed meanwhile: then it is called from
 * tether_redis_free() and must only free what it was given). An error reply
 * (REDIS_REPLY_ERROR) is passed as a reply. */
typedef void (*TetherRedisReplyFunc)   (TetherRedis *redis,
                                        redisReply  *reply,
                                        const char  *error,
                                        gpointer     user_data);
/* Both connections up (and the database selected), or either down. */
typedef void (*TetherRedisStateFunc)   (TetherRedis *redis,
                                        gboolean     up,
                                        gpointer     user_data);
/* A message on a subscribed channel; @payload NULL (and @len 0) when Redis confirms
 * a SUBSCRIBE: from then on every PUBLISH to @channel arrives here, and whatever was
 * published before is only in what the publisher also stored. */
typedef void (*TetherRedisMessageFunc) (TetherRedis *redis,
                                        const char  *channel,
                                        const char  *payload,
                                        gsize        len,
                                        gpointer     user_data);

typedef struct
{
  char *lua;
  char  sha[41];
} TetherRedisScript;

gboolean      tether_redis_id_check    (const char            *what,
                                        const char            *id,
                                        GError               **error);
gboolean      tether_redis_parse_url   (const char            *url,
                                        char                 **host,
                                        guint16               *port,
                                        guint                 *db,
                                        char                 **password,
                                        GError               **error);
TetherRedis  *tether_redis_new         (const char            *url,
                                        GMainContext          *context,
                                        GError               **error);
void          tether_redis_set_handlers (TetherRedis          *redis,
                                         TetherRedisStateFunc  state_func,
                                         TetherRedisMessageFunc message_func,
                                         gpointer              user_data);
void          tether_redis_start       (TetherRedis           *redis);
gboolean      tether_redis_is_up       (TetherRedis           *redis);
void          tether_redis_command     (TetherRedis           *redis,
                                        TetherRedisReplyFunc   func,
                                        gpointer               user_data,
                                        const char * const    *argv);
void          tether_redis_eval        (TetherRedis           *redis,
                                        const TetherRedisScript *script,
                                        TetherRedisReplyFunc   func,
                                        gpointer               user_data,
                                        guint                  n_keys,
                                        const char * const    *keys_and_args);
void          tether_redis_subscribe   (TetherRedis           *redis,
                                        const char            *channel);
void          tether_redis_unsubscribe (TetherRedis           *redis,
                                        const char            *channel);
void          tether_redis_ping        (TetherRedis           *redis,
                                        gint64                 deadline_us);
guint64       tether_redis_get_commands (TetherRedis          *redis);
double        tether_redis_get_round_trip (TetherRedis        *redis);
void          tether_redis_free        (TetherRedis           *redis);

void          tether_redis_script_init (TetherRedisScript     *script,
                                        const char            *lua);
void          tether_redis_script_clear (TetherRedisScript    *script);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherRedis, tether_redis_free)

G_END_DECLS
