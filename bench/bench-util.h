/* bench-util.h: what the benches share beyond the test-support library (tests/support):
 * what they read about a process from /proc, the descriptor limit they raise, a bare
 * WebSocket handshake and text frame, the watchdog that ends a hung run, the machine
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tether-test-process.h"

G_BEGIN_DECLS

gboolean bench_proc_vm           (int     pid,
                                  gint64 *rss_kib,
                                  gint64 *hwm_kib);
gint64   bench_proc_rss_kib      (int     pid);
double   bench_proc_cpu_seconds  (int     pid);
double   bench_stat_cpu_seconds  (const char *path);
int      bench_proc_fd_count     (int     pid);
double   bench_thread_cpu_seconds (void);
guint64  bench_raise_nofile      (void);

/* Minimal blocking WebSocket client pieces, for clients that libsoup cannot play
 * (thousands of cheap receivers, a peer that never reads). */
gboolean bench_write_all         (int         fd,
                                  const void *data,
                                  gsize       len);
gboolean bench_ws_handshake      (int         fd,
                                  guint16     port);
gboolean bench_ws_send_text      (int         fd,
                                  const char *text);

/* Ends a hung or crashed run, and the child processes with it. */
void     bench_watchdog_start      (const char *name,
                                    guint       seconds);
void     bench_watchdog_stop       (void);
void     bench_watchdog_add_pid    (int         pid);
void     bench_watchdog_remove_pid (int         pid);
int      bench_process_pid         (TetherTestProcess *process);

char    *bench_cpu_model           (void);
char    *bench_loadavg             (void);
void     bench_json_add_machine    (JsonBuilder *builder);
char    *bench_server_program      (const char *bench,
                                    const char *option,
                                    const char *built);

G_END_DECLS
