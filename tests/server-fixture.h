/* server-fixture.h: a TetherServer in a thread of its own, driven by raw libsoup
 * WebSocket clients and plain sockets — what the protocol-level server tests share
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether-server.h"
#include "tether-test-utils.h"
#include "tether-token.h"

#define SECRET "test-secret"
#define APP "demo"
#define ROOM "lobby"
/* Deadlines stretch on a slow machine or under a sanitizer (TETHER_TEST_TIMEOUT_SCALE). */
#define WAIT_MS tether_test_scaled_ms (5000)

/* Waiting: iterate the test thread's main context until a condition holds or a
 * deadline passes. Never a sleep. */
gboolean deadline_cb (gpointer data);

#define WAIT_UNTIL(expr, ms)                                          \
  ({                                                                  \
    gboolean _expired = FALSE;                                        \
    guint _id = g_timeout_add ((ms), deadline_cb, &_expired);         \
    while (!(expr) && !_expired)                                      \
      g_main_context_iteration (NULL, TRUE);                          \
    if (!_expired)                                                    \
      g_source_remove (_id);                                          \
    (expr);                                                           \
  })

typedef struct
{
  double heartbeat_timeout;
  double session_ttl;
  double login_grace;
  double login_rate;
  double login_burst;
  double token_warning;
  double token_skew;
  guint  max_frame_size;
  guint  event_backlog;
  /* 0: the server's default */
  double request_timeout;
  guint  max_connections_per_address;
  guint  max_send_queue;
  guint  event_backlog_bytes;
} ServerConfig;

extern const ServerConfig default_config;

/* default_config's timings and limits, for a config that changes only the others:
 * `{ SERVER_CONFIG_BASE, .max_frame_size = 4096 }` */
#define SERVER_CONFIG_BASE                                                      \
  .heartbeat_timeout = 30, .session_ttl = 60, .login_grace = 10, .login_rate = 0, \
  .login_burst = 100, .token_warning = 30, .token_skew = 30, .event_backlog = 1024

typedef struct
{
  ServerConfig  config;
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  TetherServer *server;
  guint16       port;
  guint16       admin_port;
  char         *url;
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
} ServerThread;

typedef struct
{
  ServerThread  st;
  SoupSession  *session;
  GPtrArray    *clients;
} Fixture;

typedef struct
{
  Fixture                 *fx;
  SoupWebsocketConnection *ws;
  GQueue                   messages;      /* JsonObject */
  gboolean                 connect_done;
  gboolean                 closed;
  gushort                  close_code;
} Client;

typedef struct
{
  const char *room;
  const char *app_id;
  const char *token;
  gboolean    notify;
  const char *resume_session;
  const char *resume_key;
  gint64      last_seq;
} LoginArgs;

void
server_call (ServerThread *st,
             void        (*func) (TetherServer *server, gpointer data),
             gpointer      data);

void
fixture_setup (Fixture       *fx,
               gconstpointer  data);

void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data);

void
fixture_clients_free (Fixture *fx);
Client *
client_connect (Fixture *fx);
Client *
client_connect_url (Fixture    *fx,
                    const char *url);
Client *
client_login_url (Fixture          *fx,
                  const char       *url,
                  const char       *user,
                  const LoginArgs  *args,
                  JsonObject      **login_ok);

void
client_send (Client     *c,
             const char *json);

void
client_send_builder (Client      *c,
                     JsonBuilder *b);

JsonObject *
client_next (Client *c);

JsonObject *
client_expect (Client     *c,
               const char *type);

void
client_expect_closed (Client  *c,
                      gushort  code);

gint64
get_int (JsonObject *o,
         const char *name);

char *
mint (const char      *user,
      const char      *room,
      TetherPrivilege  privileges,
      gint64           issued_offset,
      gint64           lifetime);

void
client_send_login (Client          *c,
                   const char      *user,
                   const LoginArgs *args);

Client *
client_login (Fixture          *fx,
              const char       *user,
              const LoginArgs  *args,
              JsonObject      **login_ok);

void
client_heartbeat_full (Client   *c,
                       gint64    id,
                       gboolean  skip_events);

void
client_heartbeat_ok (Client *c,
                     gint64  id);

void
client_request (Client     *c,
                const char *json);

void
expect_error (Client  *c,
              int      code,
              gushort  close_code);

JsonObject *
expect_event (Client     *c,
              const char *kind,
              const char *update);

const char *
first_id (JsonObject *ev,
          const char *array);

char *
http_get (Fixture    *fx,
          const char *path);

guint64
metric (Fixture    *fx,
        const char *name);

GSocketConnection *
raw_connect (Fixture *fx);

GSocketConnection *
tcp_connect_from (Fixture    *fx,
                  const char *from,
                  int         rcvbuf);

GSocketConnection *
raw_connect_from (Fixture    *fx,
                  const char *from,
                  int         rcvbuf);

void
raw_send_frame_full (GSocketConnection *conn,
                     gboolean           fin,
                     guint8             opcode,
                     const guint8      *payload,
                     gsize              len);

void
raw_send_frame (GSocketConnection *conn,
                guint8             opcode,
                const guint8      *payload,
                gsize              len);

guint
raw_read_close_code (GSocketConnection *conn);
