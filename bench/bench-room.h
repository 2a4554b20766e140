/* bench-room.h: what bench-room's files share — its clients (bench-room-clients.c): raw
 * libsoup WebSocket clients with a hand-written login, in pools, and libtether clients
 * (TetherEngine/TetherRoom) in groups, driven by the parts in bench-room.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "tether.h"
#include "tether-test-utils.h"

G_BEGIN_DECLS

#define ROOM_SIZE 10              /* members per room for the "many rooms" parts */

typedef enum
{
  RAW_IDLE,
  RAW_CONNECTING,
  RAW_LOGGING_IN,
  RAW_LOGINED,
  RAW_FAILED,
} RawState;

typedef struct _RawPool RawPool;

typedef struct
{
  RawPool *pool;
  guint index;
  char *login_json;
  SoupWebsocketConnection *ws;
  RawState state;
  gint64 t_start, t_open, t_sent, t_ok;
  gint64 t_closed;           /* when a logged-in client saw its connection end, or 0 */
  char *login_ok;            /* the login_ok text, with pool->keep_login_ok */
} RawClient;

/* The user ADD fan-out of part 2: member threads count the ADDs of joiner k. */
typedef struct
{
  guint n_members;
  guint n_joins;
  gint *counts;          /* atomic */
  gint64 *first_rx;      /* written by the member that was first */
  gint64 *last_rx;       /* written by the member that completed the count */
  gint64 *rx;            /* NULL, or every receipt: [k * n_members + i], i in arrival order */
  GMainContext *notify;  /* woken when a count completes */
} FanState;

struct _RawPool
{
  TetherTestThread *thread;   /* NULL: the main thread's context */
  GMainContext *context;
  SoupSession *session;
  char *url;
  GPtrArray *clients;         /* RawClient* */
  guint next;
  guint in_flight;
  guint max_in_flight;
  gboolean manual;            /* start clients one by one with raw_pool_start_one() */
  gboolean keep_login_ok;     /* keep each client's login_ok (its session_id, resume_key) */
  gint n_ok;                  /* atomic */
  gint n_failed;              /* atomic */
  gint n_closed;              /* atomic: logged-in clients whose connection ended */
  FanState *fan;
  double cpu_mark;
  GMainContext *notify;
};

typedef struct _LtGroup LtGroup;

typedef struct
{
  LtGroup *group;
  TetherEngine *engine;
  TetherRoom *room;
  char *room_id, *user_id, *token;
  gboolean notify_users;
  TetherRoomState state;
  gint64 t_start, t_logined, t_reconnecting, t_reconnected;
  gboolean reconnected_since_mark;
} LtClient;

struct _LtGroup
{
  TetherEngine *engine;      /* the first of engines */
  GPtrArray *engines;        /* TetherEngine*, one per clients_per_engine clients */
  guint clients_per_engine;
  char *url;
  GPtrArray *clients;        /* LtClient* */
  GPtrArray *urls;           /* per-client URL override (fault proxies), or NULL */
  guint next, in_flight, max_in_flight;
  gboolean ramping;
  guint n_logined, n_login_failed, n_reconnecting, n_reconnected_mark;
  guint n_reconnect_failed, n_kicked, n_rate_limited, n_logout;
  guint n_state_changes;
  GArray *reconnected_at;    /* gint64 µs, since the mark */
};

typedef struct
{
  RawPool **pools;
  guint n_pools;
  guint target;
} PoolsWait;

/* Raw clients */
char      *login_json         (const char *room_id,
                               const char *user_id,
                               gboolean    notify_users);
void       fan_check          (FanState   *fan,
                               const char *data,
                               gsize       len,
                               gint64      t);
RawPool   *raw_pool_new       (const char *name,
                               gboolean    threaded,
                               const char *url,
                               guint       max_in_flight);
RawClient *raw_pool_add       (RawPool    *pool,
                               const char *room_id,
                               const char *user_id,
                               gboolean    notify_users);
RawClient *raw_pool_add_login (RawPool    *pool,
                               char       *login_json);
void       raw_pool_start     (RawPool    *pool);
void       raw_pool_start_one (RawPool    *pool);
gboolean   raw_pool_run_one   (RawPool    *pool,
                               guint       timeout_ms);
guint      raw_pool_done      (RawPool    *pool);
void       raw_pool_free      (RawPool    *pool);
void       raw_client_logout  (RawClient  *c);
gboolean   pools_done_cond    (gpointer    data);
guint      pools_failed       (RawPool   **pools,
                               guint       n);

/* libtether clients */
LtGroup   *lt_group_new       (const char *url,
                               guint       max_in_flight);
LtClient  *lt_add             (LtGroup    *g,
                               const char *room_id,
                               const char *user_id,
                               gboolean    notify_users);
void       lt_start           (LtClient   *c,
                               const char *url);
gboolean   lt_ramp            (LtGroup    *g,
                               guint       timeout_ms);
void       lt_mark            (LtGroup    *g);
void       lt_group_free      (LtGroup    *g);

/* Minimal epoll WebSocket clients (bench-room-epoll.c): a blocking handshake and login,
 * then non-blocking reads on epoll threads with a small frame parser; a few µs per
 * received message where a libsoup client on a GMainContext costs ~30 µs. */
typedef struct
{
  int fd;
  guint8 *buf;
  gsize len, cap;
} EpConn;

typedef struct
{
  int epfd;
  GThread *thread;
  FanState *fan;
  gint stop;             /* atomic */
  gint mark_gen;         /* atomic; the thread records its CPU time when it changes */
  double cpu_at_mark[4];
  guint64 messages;
} EpThread;

void       ws_parse           (EpConn     *c,
                               void      (*fn) (const char *payload, gsize len, gpointer data),
                               gpointer    data);
gboolean   ep_read            (EpConn     *c);
EpConn    *ep_login           (guint16     port,
                               const char *json,
                               gint64     *t_sent,
                               gint64     *t_ok);
void       ep_conn_free       (EpConn     *c);
gpointer   ep_thread_main     (gpointer    data);
void       ep_mark            (EpThread   *threads,
                               guint       n,
                               int         gen);

G_END_DECLS
