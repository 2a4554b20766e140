/* tether-test-redis.h: a private redis-server for a test or bench (free loopback
 * port, temp dir, no persistence) and synchronous commands to it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TetherTestRedis TetherTestRedis;

TetherTestRedis *tether_test_redis_start    (GError          **error);
TetherTestRedis *tether_test_redis_start_in (const char       *netns,
                                             const char       *host,
                                             GError          **error);
const char      *tether_test_redis_get_url  (TetherTestRedis  *self);
guint16          tether_test_redis_get_port (TetherTestRedis  *self);
const char      *tether_test_redis_get_pid  (TetherTestRedis  *self);
void             tether_test_redis_kill     (TetherTestRedis  *self);
gboolean         tether_test_redis_restart  (TetherTestRedis  *self,
                                             GError          **error);
char            *tether_test_redis_command  (TetherTestRedis  *self,
                                             const char       *format,
                                             ...);
char            *tether_test_redis_commandv (TetherTestRedis  *self,
                                             int               argc,
                                             const char      **argv);
void             tether_test_redis_free     (TetherTestRedis  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestRedis, tether_test_redis_free)

G_END_DECLS
