/* bench-soak.h: what bench-soak's files share — the options, the counters every
 * thread adds to, the server's address; the churning sessions
 * (bench-soak-sessions.c) and the raw sockets (bench-soak-raw.c: half-open
 * connections, slow readers) that bench-soak.c starts, samples and reports on
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tether-test-process.h"

G_BEGIN_DECLS

#define ROOM_SIZE          10     /* sessions per room */
#define PER_ADDRESS        100    /* sessions per source address (and worker thread) */
#define EXTRA_BYTES        4096   /* stream `extra`: the documented maximum */
#define LOGIN_DEADLINE_MS  10000  /* connect + login */
#define REQUEST_DEADLINE_MS 10000 /* stream_add / stream_delete answer */
#define ENDING_DEADLINE_MS 5000   /* logout_ok + close, or our close frame answered */
#define HALF_OPEN_ADDR     "127.0.0.2"
#define SLOW_ADDR          "127.0.0.3"
#define REFUSED_WITHIN_US  (1 * G_USEC_PER_SEC) /* a half-open closed this fast was refused */

typedef struct
{
  gint logins_ok, logins_resumed, logins_failed, connect_failed, login_timeouts;
  gint streams_added, streams_deleted, request_errors, request_timeouts, kicks, reconnects;
  gint end_logout, end_close, end_reset, end_silent, ending_timeouts;
  gint messages;
  gint ho_open, ho_opened, ho_reaped, ho_refused, ho_held, ho_connect_failed;
  gint64 ho_reap_us_sum, ho_reap_us_max;   /* under stats_lock */
  gint slow_live, slow_started, slow_dropped, slow_ended, slow_failed;
} Stats;

typedef enum
{
  PHASE_RUN,
  PHASE_FINAL,     /* the last line is being fetched */
  PHASE_DRAIN,
  PHASE_DONE,
} Phase;

typedef struct _Worker Worker;

/* bench-soak.c: the options */
extern double opt_duration;
extern double opt_life;
extern double opt_stream_pause;
extern double opt_slow_room_pause;
extern double opt_hb_timeout;
extern int opt_half_open;
extern double opt_half_open_hold;
extern int opt_slow_readers;
extern double opt_slow_hold;

/* bench-soak.c: the counters (all threads) */
extern Stats stats;
extern GMutex stats_lock;
extern GHashTable *close_codes;    /* code → count, under stats_lock (0: none) */
extern GHashTable *error_codes;    /* `error` and `request_error` codes → count */
extern GHashTable *ho_answers;     /* HTTP status a half-open got before its close → count */

void      count_code        (GHashTable *table,
                             int         code);
void      note_problem      (const char *format,
                             ...) G_GNUC_PRINTF (1, 2);

/* bench-soak.c: the server and the run */
extern TetherTestProcess *server;
extern guint16 server_port;
extern char *server_url;           /* ws://127.0.0.1:PORT/ws */
extern Phase phase;

guint     slow_room_index   (guint       i);
gboolean  is_slow_room      (guint       room);

/* bench-soak-sessions.c */
Worker   *worker_new        (guint       index,
                             guint       first_slot,
                             guint       n_slots);
void      worker_free       (Worker     *w);

/* bench-soak-raw.c */
extern gint raw_stop;      /* atomic: the half-open and slow-reader threads end */
gpointer  half_open_main    (gpointer    data);
gpointer  slow_main         (gpointer    data);
gint64    slow_kernel_queue (void);

G_END_DECLS
