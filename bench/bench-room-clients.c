/* bench-room-clients.c: bench-room's clients — raw WebSocket clients (libsoup, with a
 * login written by hand) in pools that ramp up a given number at a time, and libtether
 * clients (one TetherEngine per group, a TetherRoom each) that record when they reach
 * each room state
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "bench-room.h"
#include "bench-util.h"
#include "tether-test-login.h"
#include "tether-test-utils.h"

/* ---- raw WebSocket clients (libsoup + a hand-written login) ------------------------- */

static void raw_pool_pump (RawPool *pool);

static void
raw_client_done (RawClient *c,
                 gboolean   ok)
{
  RawPool *pool = c->pool;

  c->state = ok ? RAW_LOGINED : RAW_FAILED;
  g_atomic_int_inc (ok ? &pool->n_ok : &pool->n_failed);
  pool->in_flight--;
  g_main_context_wakeup (pool->notify);
  if (!pool->manual)
    raw_pool_pump (pool);
}

void
fan_check (FanState   *fan,
           const char *data,
           gsize       len,
           gint64      t)
{
  static const char add[] = "\"update\":\"ADD\"";
  static const char id[] = "\"id\":\"fj";
  const char *p;
  guint k;
  int before;

  if (memmem (data, len, add, sizeof add - 1) == NULL)
    return;
  p = memmem (data, len, id, sizeof id - 1);
  if (p == NULL)
    return;
  k = (guint) strtoul (p + sizeof id - 1, NULL, 10);
  if (k >= fan->n_joins)
    return;
  before = g_atomic_int_add (&fan->counts[k], 1);
  if (fan->rx != NULL && (guint) before < fan->n_members)
    fan->rx[(gsize) k * fan->n_members + before] = t;
  if (before == 0)
    fan->first_rx[k] = t;
  if ((guint) before + 1 == fan->n_members)
    {
      fan->last_rx[k] = t;
      g_main_context_wakeup (fan->notify);
    }
}

static void
raw_message_cb (SoupWebsocketConnection *ws,
                SoupWebsocketDataType    type,
                GBytes                  *message,
                gpointer                 user_data)
{
  RawClient *c = user_data;
  gint64 t = g_get_monotonic_time ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  if (c->state == RAW_LOGGING_IN)
    {
      if (memmem (data, len, "\"type\":\"login_ok\"", 17) != NULL)
        {
          c->t_ok = t;
          if (c->pool->keep_login_ok)
            c->login_ok = g_strndup (data, len);
          raw_client_done (c, TRUE);
        }
      else if (memmem (data, len, "\"type\":\"error\"", 14) != NULL)
        {
          g_printerr ("raw client %u: %.*s\n", c->index, (int) MIN (len, 200), data);
          raw_client_done (c, FALSE);
        }
      return;
    }
  if (c->pool->fan != NULL)
    fan_check (c->pool->fan, data, len, t);
}

static void
raw_closed_cb (SoupWebsocketConnection *ws,
               gpointer                 user_data)
{
  RawClient *c = user_data;

  if (c->state == RAW_LOGGING_IN)
    raw_client_done (c, FALSE);
  else if (c->state == RAW_LOGINED && c->t_closed == 0)
    {
      c->t_closed = g_get_monotonic_time ();
      g_atomic_int_inc (&c->pool->n_closed);
      g_main_context_wakeup (c->pool->notify);
    }
}

static void
raw_connect_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RawClient *c = user_data;
  g_autoptr(GError) error = NULL;

  c->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (c->ws == NULL)
    {
      g_printerr ("raw client %u: connect failed: %s\n", c->index, error->message);
      raw_client_done (c, FALSE);
      return;
    }
  c->t_open = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (c->ws, 16 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (c->ws, 0);
  g_signal_connect (c->ws, "message", G_CALLBACK (raw_message_cb), c);
  g_signal_connect (c->ws, "closed", G_CALLBACK (raw_closed_cb), c);
  c->state = RAW_LOGGING_IN;
  c->t_sent = g_get_monotonic_time ();
  soup_websocket_connection_send_text (c->ws, c->login_json);
}

static void
raw_client_start (RawClient *c)
{
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, c->pool->url);

  c->pool->in_flight++;
  c->state = RAW_CONNECTING;
  c->t_start = g_get_monotonic_time ();
  soup_session_websocket_connect_async (c->pool->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, raw_connect_cb, c);
}

static void
raw_pool_pump (RawPool *pool)
{
  while (pool->in_flight < pool->max_in_flight && pool->next < pool->clients->len)
    raw_client_start (g_ptr_array_index (pool->clients, pool->next++));
}

static void
raw_client_free (gpointer data)
{
  RawClient *c = data;

  if (c->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (c->ws, c);
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        g_io_stream_close (soup_websocket_connection_get_io_stream (c->ws), NULL, NULL);
      g_object_unref (c->ws);
    }
  g_free (c->login_json);
  g_free (c->login_ok);
  g_free (c);
}

char *
login_json (const char *room_id,
            const char *user_id,
            gboolean    notify_users)
{
  g_autofree char *token = tether_test_token (user_id, NULL, 3600);
  TetherTestLogin login = {
    .room_id = room_id, .user_id = user_id, .token = token, .notify_users = notify_users,
  };

  return tether_test_login_json (&login);
}

static void
pool_make_session (gpointer data)
{
  RawPool *pool = data;

  pool->session = g_object_new (SOUP_TYPE_SESSION, "max-conns", 65536,
                                "max-conns-per-host", 65536, "timeout", 10, NULL);
  pool->cpu_mark = bench_thread_cpu_seconds ();
}

/* A pool of raw clients on its own thread (@threaded) or on the main context. */
RawPool *
raw_pool_new (const char *name,
              gboolean    threaded,
              const char *url,
              guint       max_in_flight)
{
  RawPool *pool = g_new0 (RawPool, 1);

  pool->url = g_strdup (url);
  pool->clients = g_ptr_array_new_with_free_func (raw_client_free);
  pool->max_in_flight = max_in_flight;
  pool->notify = g_main_context_ref_thread_default ();
  if (threaded)
    {
      pool->thread = tether_test_thread_new (name);
      pool->context = g_main_context_ref (tether_test_thread_get_context (pool->thread));
      tether_test_thread_invoke_sync (pool->thread, pool_make_session, pool);
    }
  else
    {
      pool->context = g_main_context_ref_thread_default ();
      pool_make_session (pool);
    }
  return pool;
}

/* A client that sends @login_json (taken; e.g. a login with `resume`) as its login. */
RawClient *
raw_pool_add_login (RawPool *pool,
                    char    *login_json)
{
  RawClient *c = g_new0 (RawClient, 1);

  c->pool = pool;
  c->index = pool->clients->len;
  c->login_json = login_json;
  g_ptr_array_add (pool->clients, c);
  return c;
}

RawClient *
raw_pool_add (RawPool    *pool,
              const char *room_id,
              const char *user_id,
              gboolean    notify_users)
{
  return raw_pool_add_login (pool, login_json (room_id, user_id, notify_users));
}

static gboolean
pump_idle_cb (gpointer data)
{
  raw_pool_pump (data);
  return G_SOURCE_REMOVE;
}

/* Starts connecting what was added, @max_in_flight at a time; returns at once. */
void
raw_pool_start (RawPool *pool)
{
  g_main_context_invoke (pool->context, pump_idle_cb, pool);
}

static gboolean
start_one_cb (gpointer data)
{
  RawPool *pool = data;

  if (pool->next < pool->clients->len)
    raw_client_start (g_ptr_array_index (pool->clients, pool->next++));
  return G_SOURCE_REMOVE;
}

void
raw_pool_start_one (RawPool *pool)
{
  g_main_context_invoke (pool->context, start_one_cb, pool);
}

typedef struct
{
  RawPool *pool;
  guint target;
} OneWait;

static gboolean
one_done (gpointer data)
{
  OneWait *w = data;

  return raw_pool_done (w->pool) >= w->target;
}

/* raw_pool_start_one(), then waits (deadline scaled) until that client has logged in
 * or failed; FALSE if it has not by then. */
gboolean
raw_pool_run_one (RawPool *pool,
                  guint    timeout_ms)
{
  OneWait w = { pool, raw_pool_done (pool) + 1 };

  raw_pool_start_one (pool);
  return tether_test_poll_until (one_done, &w, timeout_ms);
}

static gboolean
logout_cb (gpointer data)
{
  RawClient *c = data;

  if (c->ws != NULL && soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (c->ws, "{\"type\":\"logout\"}");
  return G_SOURCE_REMOVE;
}

/* Sends logout from the client's own thread. */
void
raw_client_logout (RawClient *c)
{
  g_main_context_invoke (c->pool->context, logout_cb, c);
}

guint
raw_pool_done (RawPool *pool)
{
  return (guint) (g_atomic_int_get (&pool->n_ok) + g_atomic_int_get (&pool->n_failed));
}

static void
pool_teardown (gpointer data)
{
  RawPool *pool = data;

  g_ptr_array_set_size (pool->clients, 0);
  g_clear_object (&pool->session);
  /* let the closes and unrefs run */
  while (g_main_context_iteration (pool->context, FALSE))
    ;
}

void
raw_pool_free (RawPool *pool)
{
  if (pool->thread != NULL)
    {
      tether_test_thread_invoke_sync (pool->thread, pool_teardown, pool);
      tether_test_thread_free (pool->thread);
    }
  else
    pool_teardown (pool);
  g_ptr_array_unref (pool->clients);
  g_main_context_unref (pool->context);
  g_main_context_unref (pool->notify);
  g_free (pool->url);
  g_free (pool);
}

gboolean
pools_done_cond (gpointer data)
{
  PoolsWait *w = data;
  guint done = 0;

  for (guint i = 0; i < w->n_pools; i++)
    done += raw_pool_done (w->pools[i]);
  return done >= w->target;
}

guint
pools_failed (RawPool **pools,
              guint     n)
{
  guint failed = 0;

  for (guint i = 0; i < n; i++)
    failed += (guint) g_atomic_int_get (&pools[i]->n_failed);
  return failed;
}

/* ---- libtether clients -------------------------------------------------------------- */

static void lt_pump (LtGroup *g);

static void
lt_state_changed_cb (TetherRoom      *room,
                     TetherRoomState  state,
                     int              error_code,
                     const char      *extended,
                     gpointer         user_data)
{
  LtClient *c = user_data;
  LtGroup *g = c->group;
  gint64 t = g_get_monotonic_time ();
  TetherRoomState old = c->state;

  c->state = state;
  g->n_state_changes++;
  if (error_code == TETHER_ERROR_RATE_LIMITED)
    g->n_rate_limited++;

  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINED:
      c->t_logined = t;
      g->n_logined++;
      break;
    case TETHER_ROOM_STATE_LOGIN_FAILED:
      g->n_login_failed++;
      g_printerr ("client %s: LOGIN_FAILED %d %s\n", c->user_id, error_code, extended);
      break;
    case TETHER_ROOM_STATE_RECONNECTING:
      c->t_reconnecting = t;
      g->n_reconnecting++;
      break;
    case TETHER_ROOM_STATE_RECONNECTED:
      c->t_reconnected = t;
      if (!c->reconnected_since_mark)
        {
          c->reconnected_since_mark = TRUE;
          g->n_reconnected_mark++;
          g_array_append_val (g->reconnected_at, t);
        }
      break;
    case TETHER_ROOM_STATE_RECONNECT_FAILED:
      g->n_reconnect_failed++;
      break;
    case TETHER_ROOM_STATE_KICK_OUT:
      g->n_kicked++;
      break;
    case TETHER_ROOM_STATE_LOGOUT:
    case TETHER_ROOM_STATE_LOGOUT_FAILED:
      g->n_logout++;
      break;
    case TETHER_ROOM_STATE_LOGINING:
    default:
      break;
    }

  if (old == TETHER_ROOM_STATE_LOGINING && state != TETHER_ROOM_STATE_LOGINING && g->ramping)
    {
      g->in_flight--;
      lt_pump (g);
    }
}

LtGroup *
lt_group_new (const char *url,
              guint       max_in_flight)
{
  LtGroup *g = g_new0 (LtGroup, 1);

  g->engines = g_ptr_array_new_with_free_func (g_object_unref);
  g->engine = tether_engine_new ();
  g_ptr_array_add (g->engines, g->engine);
  g->clients_per_engine = G_MAXUINT;
  g->url = g_strdup (url);
  g->clients = g_ptr_array_new ();
  g->max_in_flight = max_in_flight;
  g->reconnected_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  return g;
}

LtClient *
lt_add (LtGroup    *g,
        const char *room_id,
        const char *user_id,
        gboolean    notify_users)
{
  LtClient *c = g_new0 (LtClient, 1);

  c->group = g;
  c->room_id = g_strdup (room_id);
  c->user_id = g_strdup (user_id);
  c->token = tether_test_token (user_id, NULL, 3600);
  c->notify_users = notify_users;
  c->state = TETHER_ROOM_STATE_LOGOUT;
  if (g->clients->len > 0 && g->clients->len % g->clients_per_engine == 0)
    g_ptr_array_add (g->engines, tether_engine_new ());
  c->engine = g_ptr_array_index (g->engines, g->engines->len - 1);
  g_ptr_array_add (g->clients, c);
  return c;
}

void
lt_start (LtClient   *c,
          const char *url)
{
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", url,
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", c->room_id,
                                                      "user-id", c->user_id,
                                                      "token", c->token,
                                                      "notify-users", c->notify_users, NULL);

  c->state = TETHER_ROOM_STATE_LOGINING;
  c->t_start = g_get_monotonic_time ();
  c->room = tether_engine_login_room (c->engine, login);
  g_signal_connect (c->room, "state-changed", G_CALLBACK (lt_state_changed_cb), c);
}

static void
lt_pump (LtGroup *g)
{
  while (g->in_flight < g->max_in_flight && g->next < g->clients->len)
    {
      guint i = g->next++;
      const char *url = g->urls != NULL ? g_ptr_array_index (g->urls, i) : g->url;

      g->in_flight++;
      lt_start (g_ptr_array_index (g->clients, i), url);
    }
}

static gboolean
lt_ramp_done (gpointer data)
{
  LtGroup *g = data;

  return g->next >= g->clients->len && g->in_flight == 0;
}

/* Logs in every client added so far, max_in_flight at a time. */
gboolean
lt_ramp (LtGroup *g,
         guint    timeout_ms)
{
  gboolean ok;

  g->ramping = TRUE;
  lt_pump (g);
  ok = tether_test_poll_until (lt_ramp_done, g, timeout_ms);
  g->ramping = FALSE;
  return ok && g->n_login_failed == 0;
}

void
lt_mark (LtGroup *g)
{
  for (guint i = 0; i < g->clients->len; i++)
    ((LtClient *) g_ptr_array_index (g->clients, i))->reconnected_since_mark = FALSE;
  g->n_reconnected_mark = 0;
  g_array_set_size (g->reconnected_at, 0);
}

static gboolean
lt_all_logged_out (gpointer data)
{
  LtGroup *g = data;

  for (guint i = 0; i < g->clients->len; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);

      if (c->room != NULL && tether_room_get_state (c->room) != TETHER_ROOM_STATE_LOGOUT
          && tether_room_get_state (c->room) != TETHER_ROOM_STATE_LOGOUT_FAILED
          && tether_room_get_state (c->room) != TETHER_ROOM_STATE_LOGIN_FAILED
          && tether_room_get_state (c->room) != TETHER_ROOM_STATE_RECONNECT_FAILED
          && tether_room_get_state (c->room) != TETHER_ROOM_STATE_KICK_OUT)
        return FALSE;
    }
  return TRUE;
}

/* Logs everyone out (while the server still runs) so no room keeps retrying. */
void
lt_group_free (LtGroup *g)
{
  for (guint i = 0; i < g->clients->len; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);

      if (c->room != NULL)
        tether_engine_logout_room (c->engine, c->room);
    }
  if (!tether_test_poll_until (lt_all_logged_out, g, 8000))
    g_printerr ("warning: not every room logged out in time\n");
  for (guint i = 0; i < g->clients->len; i++)
    {
      LtClient *c = g_ptr_array_index (g->clients, i);

      if (c->room != NULL)
        {
          g_signal_handlers_disconnect_by_data (c->room, c);
          g_object_unref (c->room);
        }
      g_free (c->room_id);
      g_free (c->user_id);
      g_free (c->token);
      g_free (c);
    }
  g_ptr_array_unref (g->clients);
  if (g->urls != NULL)
    g_ptr_array_unref (g->urls);
  g_ptr_array_unref (g->engines);
  g_array_unref (g->reconnected_at);
  g_free (g->url);
  g_free (g);
  tether_test_run_for (100);
}
