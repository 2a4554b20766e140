/* tether-test-utils.h: waiting with deadlines, worker threads with their own main
 * context, and test tokens — the pieces every Tether test uses
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tether-token.h"

G_BEGIN_DECLS

/* The credentials every test server and every test token share. */
#define TETHER_TEST_APP_ID "test-app"
#define TETHER_TEST_SECRET "test-secret"

typedef gboolean (*TetherTestCondition) (gpointer data);
typedef void     (*TetherTestFunc)      (gpointer data);

double    tether_test_scale            (void);
guint     tether_test_scaled_ms        (guint                timeout_ms);

gboolean  tether_test_poll_until       (TetherTestCondition  condition,
                                        gpointer             data,
                                        guint                timeout_ms);
gboolean  tether_test_wait_until       (TetherTestCondition  condition,
                                        gpointer             data,
                                        guint                timeout_ms);
void      tether_test_run_for          (guint                ms);
void      tether_test_remove_tree      (const char          *path);

char     *tether_test_token            (const char          *user_id,
                                        const char          *room_id,
                                        gint64               lifetime);
char     *tether_test_token_full       (const char          *user_id,
                                        const char          *room_id,
                                        TetherPrivilege      privileges,
                                        const char * const  *stream_ids,
                                        gint64               lifetime);

/* SRT stream ids (tether_srt_stream_id_new()) with a test token of an hour. */
char     *tether_test_publish_stream_id (const char         *stream_id,
                                         const char         *user_id,
                                         const char         *room_id);
char     *tether_test_play_stream_id    (const char         *stream_id,
                                         const char         *user_id,
                                         const char         *room_id,
                                         const char * const *stream_ids);
char     *tether_test_stream_id_passphrase (const char      *streamid);
gboolean  tether_test_metric           (const char          *text,
                                        const char          *name,
                                        guint64             *value);

char     *tether_test_mint_with_example (const char         *user_id,
                                         const char         *room_id,
                                         gboolean            publish,
                                         char              **passphrase);

void      tether_test_invoke_sync      (GMainContext        *context,
                                        TetherTestFunc       func,
                                        gpointer             data);

/* A thread that runs a GMainLoop on a GMainContext of its own (pushed as its
 * thread-default), so whatever lives there keeps running while a test blocks. */
typedef struct _TetherTestThread TetherTestThread;

TetherTestThread *tether_test_thread_new         (const char        *name);
GMainContext     *tether_test_thread_get_context (TetherTestThread  *self);
void              tether_test_thread_invoke_sync (TetherTestThread  *self,
                                                  TetherTestFunc     func,
                                                  gpointer           data);
void              tether_test_thread_free        (TetherTestThread  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestThread, tether_test_thread_free)

/* Deadline-bounded iteration of the thread-default main context; the pieces
 * TETHER_WAIT_UNTIL is made of. */
typedef struct _TetherTestDeadline TetherTestDeadline;

TetherTestDeadline *tether_test_deadline_new     (guint               timeout_ms);
gboolean            tether_test_deadline_iterate (TetherTestDeadline *self);
void                tether_test_deadline_free    (TetherTestDeadline *self);
void                tether_test_report_timeout   (const char         *what,
                                                  guint               timeout_ms,
                                                  const char         *file,
                                                  int                 line);

/* The loop of TETHER_WAIT_UNTIL and TETHER_POLL_UNTIL; @on_timeout runs when @expr
 * still does not hold at the deadline. */
#define TETHER_UNTIL_(expr, timeout_ms, on_timeout)                                 \
  ({                                                                                \
    TetherTestDeadline *_tether_deadline = tether_test_deadline_new (timeout_ms);   \
    gboolean _tether_ok = TRUE;                                                     \
    while (!(expr))                                                                 \
      {                                                                             \
        if (!tether_test_deadline_iterate (_tether_deadline))                       \
          {                                                                         \
            _tether_ok = !!(expr);                                                  \
            if (!_tether_ok)                                                        \
              on_timeout;                                                           \
            break;                                                                  \
          }                                                                         \
      }                                                                             \
    tether_test_deadline_free (_tether_deadline);                                   \
    _tether_ok;                                                                     \
  })

/**
 * TETHER_WAIT_UNTIL:
 * @expr: a condition, evaluated again after every main-context iteration
 * @timeout_ms: the deadline (multiplied by tether_test_scale())
 *
 * Iterates the thread-default main context until @expr holds. On timeout the
 * test is marked failed with the expression's text. Evaluates to %TRUE if @expr
 * became true, so a test can stop early: `if (!TETHER_WAIT_UNTIL (...)) return;`
 */
#define TETHER_WAIT_UNTIL(expr, timeout_ms) \
  TETHER_UNTIL_ (expr, timeout_ms, tether_test_report_timeout (#expr, (timeout_ms), __FILE__, __LINE__))

/**
 * TETHER_POLL_UNTIL:
 * @expr: a condition, evaluated again after every main-context iteration
 * @timeout_ms: the deadline (multiplied by tether_test_scale())
 *
 * TETHER_WAIT_UNTIL without failing the test on timeout: for waits whose end
 * is a figure (the benches) or that may rightly not come.
 *
 * Evaluates to %TRUE if @expr became true in time.
 */
#define TETHER_POLL_UNTIL(expr, timeout_ms) \
  TETHER_UNTIL_ (expr, timeout_ms, (void) 0)

G_END_DECLS
