/* tether-test-utils.c: waiting with deadlines, worker threads, test tokens
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>

#include <glib/gstdio.h>

#include "tether-srt-url-private.h"
#include "tether-test-utils.h"

/* Conditions that other threads change (a server thread's session count, a
 * proxy's counters) do not wake the waiting thread's context, so waits also
 * re-check on this short tick. */
#define POLL_TICK_MS 5

/**
 * tether_test_scale:
 *
 * Returns: the factor from `TETHER_TEST_TIMEOUT_SCALE` (default 1.0) that
 *   stretches test deadlines on slow machines. Behaviour timings (heartbeat
 *   timeouts and the like) are never scaled.
 */
double
tether_test_scale (void)
{
  static double scale = 0.0;

  if (scale == 0.0)
    {
      const char *env = g_getenv ("TETHER_TEST_TIMEOUT_SCALE");
      double value = env != NULL ? g_ascii_strtod (env, NULL) : 1.0;

      scale = value > 0.0 ? value : 1.0;
    }
  return scale;
}

guint
tether_test_scaled_ms (guint timeout_ms)
{
  return (guint) (timeout_ms * tether_test_scale ());
}

struct _TetherTestDeadline
{
  GMainContext *context;
  GSource *deadline;
  GSource *tick;
  gboolean expired;
};

static gboolean
deadline_expired_cb (gpointer data)
{
  TetherTestDeadline *self = data;

  self->expired = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static TetherTestDeadline *
deadline_new_unscaled (guint ms)
{
  TetherTestDeadline *self = g_new0 (TetherTestDeadline, 1);

  self->context = g_main_context_ref_thread_default ();

  self->deadline = g_timeout_source_new (ms);
  g_source_set_callback (self->deadline, deadline_expired_cb, self, NULL);
  g_source_set_name (self->deadline, "[tether-test] deadline");
  g_source_attach (self->deadline, self->context);

  self->tick = g_timeout_source_new (POLL_TICK_MS);
  g_source_set_callback (self->tick, tick_cb, NULL, NULL);
  g_source_set_name (self->tick, "[tether-test] poll tick");
  g_source_attach (self->tick, self->context);

  return self;
}

TetherTestDeadline *
tether_test_deadline_new (guint timeout_ms)
{
  return deadline_new_unscaled (tether_test_scaled_ms (timeout_ms));
}

/* Returns FALSE once the deadline has passed. */
gboolean
tether_test_deadline_iterate (TetherTestDeadline *self)
{
  if (self->expired)
    return FALSE;
  g_main_context_iteration (self->context, TRUE);
  return !self->expired;
}

void
tether_test_deadline_free (TetherTestDeadline *self)
{
  g_source_destroy (self->deadline);
  g_source_unref (self->deadline);
  g_source_destroy (self->tick);
  g_source_unref (self->tick);
  g_main_context_unref (self->context);
  g_free (self);
}

void
tether_test_report_timeout (const char *what,
                            guint       timeout_ms,
                            const char *file,
                            int         line)
{
  g_test_message ("%s:%d: timed out after %u ms (scale %.2g) waiting for: %s",
                  file, line, tether_test_scaled_ms (timeout_ms), tether_test_scale (), what);
  g_test_fail ();
}

/**
 * tether_test_poll_until:
 * @condition: checked before each iteration of the thread-default main context
 * @data: for @condition
 * @timeout_ms: deadline, scaled by tether_test_scale()
 *
 * Like tether_test_wait_until() but without failing the test on timeout.
 *
 * Returns: whether @condition became true in time
 */
gboolean
tether_test_poll_until (TetherTestCondition condition,
                        gpointer            data,
                        guint               timeout_ms)
{
  TetherTestDeadline *deadline = tether_test_deadline_new (timeout_ms);
  gboolean ok = TRUE;

  while (!condition (data))
    {
      if (!tether_test_deadline_iterate (deadline))
        {
          ok = condition (data);
          break;
        }
    }
  tether_test_deadline_free (deadline);
  return ok;
}

/**
 * tether_test_wait_until:
 *
 * Iterates the thread-default main context until @condition returns %TRUE; on
 * timeout marks the test failed.
 *
 * Returns: whether @condition became true in time
 */
gboolean
tether_test_wait_until (TetherTestCondition condition,
                        gpointer            data,
                        guint               timeout_ms)
{
  if (tether_test_poll_until (condition, data, timeout_ms))
    return TRUE;
  tether_test_report_timeout ("condition function", timeout_ms, __FILE__, __LINE__);
  return FALSE;
}

/**
 * tether_test_run_for:
 * @ms: how long, not scaled
 *
 * Keeps the thread-default main context running for a fixed time. Only for
 * proving that something does *not* happen within a window; to wait for
 * something, use TETHER_WAIT_UNTIL.
 */
void
tether_test_run_for (guint ms)
{
  TetherTestDeadline *deadline = deadline_new_unscaled (ms);

  while (tether_test_deadline_iterate (deadline))
    ;
  tether_test_deadline_free (deadline);
}

/**
 * tether_test_remove_tree:
 * @path: a directory a test or bench made
 *
 * Removes @path and everything below it; symbolic links are removed, never followed.
 */
void
tether_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  for (const char *name; dir != NULL && (name = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        tether_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/**
 * tether_test_token_full:
 *
 * Returns: (transfer full): a token signed with %TETHER_TEST_SECRET for
 *   %TETHER_TEST_APP_ID, issued now
 */
char *
tether_test_token_full (const char         *user_id,
                        const char         *room_id,
                        TetherPrivilege     privileges,
                        const char * const *stream_ids,
                        gint64              lifetime)
{
  return tether_token_mint (TETHER_TEST_SECRET, TETHER_TEST_APP_ID, user_id, room_id,
                            privileges, stream_ids, g_get_real_time () / G_USEC_PER_SEC,
                            lifetime);
}

/**
 * tether_test_token:
 * @user_id: the user
 * @room_id: (nullable): the only room it opens, or %NULL for any
 * @lifetime: seconds
 *
 * Returns: (transfer full): a login + publish token for any stream id
 */
char *
tether_test_token (const char *user_id,
                   const char *room_id,
                   gint64      lifetime)
{
  return tether_test_token_full (user_id, room_id,
                                 TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                                 lifetime);
}

typedef struct
{
  TetherTestFunc func;
  gpointer data;
  GMutex mutex;
  GCond cond;
  gboolean done;
} InvokeData;

static gboolean
invoke_cb (gpointer user_data)
{
  InvokeData *invoke = user_data;

  invoke->func (invoke->data);

  g_mutex_lock (&invoke->mutex);
  invoke->done = TRUE;
  g_cond_signal (&invoke->cond);
  g_mutex_unlock (&invoke->mutex);

  return G_SOURCE_REMOVE;
}

/**
 * tether_test_invoke_sync:
 * @context: a context that another thread is iterating
 * @func: run in that thread
 * @data: for @func
 *
 * Runs @func in the thread that iterates @context and returns when it has
 * finished; runs it directly if the calling thread owns @context.
 */
void
tether_test_invoke_sync (GMainContext   *context,
                         TetherTestFunc  func,
                         gpointer        data)
{
  InvokeData invoke = { func, data };
  GSource *source;

  if (g_main_context_is_owner (context))
    {
      func (data);
      return;
    }

  g_mutex_init (&invoke.mutex);
  g_cond_init (&invoke.cond);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, invoke_cb, &invoke, NULL);
  g_source_set_name (source, "[tether-test] invoke-sync");
  g_source_attach (source, context);
  g_source_unref (source);

  g_mutex_lock (&invoke.mutex);
  while (!invoke.done)
    g_cond_wait (&invoke.cond, &invoke.mutex);
  g_mutex_unlock (&invoke.mutex);

  g_mutex_clear (&invoke.mutex);
  g_cond_clear (&invoke.cond);
}

struct _TetherTestThread
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
};

static gpointer
thread_main (gpointer data)
{
  TetherTestThread *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);

  /* let sources that finish closing (idle callbacks, pending closes) run */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);

  return NULL;
}

TetherTestThread *
tether_test_thread_new (const char *name)
{
  TetherTestThread *self = g_new0 (TetherTestThread, 1);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new (name, thread_main, self);

  return self;
}

GMainContext *
tether_test_thread_get_context (TetherTestThread *self)
{
  return self->context;
}

void
tether_test_thread_invoke_sync (TetherTestThread *self,
                                TetherTestFunc    func,
                                gpointer          data)
{
  tether_test_invoke_sync (self->context, func, data);
}

static void
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
}

/* Quits the loop and joins the thread; whatever lives in the thread must have
 * been torn down (with tether_test_thread_invoke_sync) before. */
void
tether_test_thread_free (TetherTestThread *self)
{
  if (self == NULL)
    return;

  tether_test_invoke_sync (self->context, quit_loop, self->loop);
  g_thread_join (self->thread);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_free (self);
}

/**
 * tether_test_publish_stream_id:
 * @stream_id: the stream
 * @user_id: the publisher
 * @room_id: (nullable): the token's room, %NULL for an all-rooms token
 *
 * Returns: (transfer full): `#!::r=<stream>,m=publish,t=<token>`, with a login +
 *   publish token for any stream id, valid for an hour
 */
char *
tether_test_publish_stream_id (const char *stream_id,
                               const char *user_id,
                               const char *room_id)
{
  g_autofree char *token = tether_test_token (user_id, room_id, 3600);

  return tether_srt_stream_id_new (stream_id, "publish", token);
}

/**
 * tether_test_play_stream_id:
 * @stream_id: the stream
 * @user_id: the player
 * @room_id: (nullable): the token's room, %NULL for an all-rooms token
 * @stream_ids: (nullable): the token's stream list, %NULL for none
 *
 * Returns: (transfer full): `#!::r=<stream>,m=request,t=<token>`, with a
 *   login-only token valid for an hour
 */
char *
tether_test_play_stream_id (const char         *stream_id,
                            const char         *user_id,
                            const char         *room_id,
                            const char * const *stream_ids)
{
  g_autofree char *token = tether_test_token_full (user_id, room_id, TETHER_PRIVILEGE_LOGIN,
                                                   stream_ids, 3600);

  return tether_srt_stream_id_new (stream_id, "request", token);
}

/**
 * tether_test_stream_id_passphrase:
 * @streamid: a stream id with a token
 *
 * Returns: (transfer full) (nullable): the SRT passphrase a media node with the
 *   test secret sets for @streamid's token, %NULL when it carries none
 */
char *
tether_test_stream_id_passphrase (const char *streamid)
{
  g_auto(TetherSrtStreamId) sid = { 0, };

  if (tether_srt_stream_id_parse (streamid, &sid) != TETHER_SRT_STREAM_ID_OK || sid.token == NULL)
    return NULL;
  return tether_srt_passphrase_derive (TETHER_TEST_SECRET, sid.token);
}

/**
 * tether_test_metric:
 * @text: Prometheus text, as /metrics answers
 * @name: a metric's name, with its labels if it has any (`name{stream="cam"}`)
 * @value: (out) (optional): its value
 *
 * Returns: whether @text has a sample of @name
 */
gboolean
tether_test_metric (const char *text,
                    const char *name,
                    guint64    *value)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gsize name_len = strlen (name);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], name) && lines[i][name_len] == ' ')
      {
        if (value != NULL)
          *value = g_ascii_strtoull (lines[i] + name_len + 1, NULL, 10);
        return TRUE;
      }
  return FALSE;
}

/**
 * tether_test_mint_with_example:
 * @user_id: the token's user
 * @room_id: the token's room
 * @publish: whether it may publish
 * @passphrase: (out) (optional): the token's SRT passphrase, as the script prints it
 *   with `--passphrase`
 *
 * Runs examples/mint-token.py, the example of docs/protocol.md, with a Python 3 and
 * the test secret.
 *
 * Returns: (transfer full) (nullable): the token, or %NULL without a Python
 */
char *
tether_test_mint_with_example (const char  *user_id,
                               const char  *room_id,
                               gboolean     publish,
                               char       **passphrase)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "..", "examples", "mint-token.py",
                                                   NULL);
  g_autofree char *python = g_find_program_in_path ("python3");
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "TETHER_APP_SECRET", TETHER_TEST_SECRET,
                                        TRUE);
  const char *argv[8] = { NULL, script, TETHER_TEST_APP_ID, user_id, room_id, NULL, };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  guint n = 5;
  int status = 0;

  argv[0] = g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3"
                                                                          : python;
  if (argv[0] == NULL)
    return NULL;
  if (publish)
    argv[n++] = "--publish";
  if (passphrase != NULL)
    argv[n++] = "--passphrase";
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  if (passphrase != NULL)
    {
      g_assert_cmpuint (g_strv_length (lines), ==, 2);
      *passphrase = g_strdup (lines[1]);
    }
  return g_strdup (lines[0]);
}
