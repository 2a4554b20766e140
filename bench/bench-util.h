/* bench-util.h: what several benches read about a process from /proc, and the
 * descriptor limit they raise; a bare WebSocket handshake and text frame
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean bench_proc_vm           (int     pid,
                                  gint64 *rss_kib,
                                  gint64 *hwm_kib);
gint64   bench_proc_rss_kib      (int     pid);
double   bench_proc_cpu_seconds  (int     pid);
int      bench_proc_fd_count     (int     pid);
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

G_END_DECLS
