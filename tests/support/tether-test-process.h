/* tether-test-process.h: a child process (tether-server, tether-cli …) whose
 * stdout is collected line by line, and which a test can kill
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _TetherTestProcess TetherTestProcess;

TetherTestProcess *tether_test_process_spawnv          (const char * const  *argv,
                                                        GError             **error);
TetherTestProcess *tether_test_process_spawn           (GError             **error,
                                                        const char          *argv0,
                                                        ...) G_GNUC_NULL_TERMINATED;

GPtrArray         *tether_test_process_dup_lines       (TetherTestProcess   *self);
guint              tether_test_process_get_n_lines     (TetherTestProcess   *self);
char              *tether_test_process_dup_line        (TetherTestProcess   *self,
                                                        guint                index);
char              *tether_test_process_find_line       (TetherTestProcess   *self,
                                                        const char          *substring);
guint              tether_test_process_count_lines     (TetherTestProcess   *self,
                                                        const char          *substring);
int                tether_test_process_line_index      (TetherTestProcess   *self,
                                                        const char          *substring,
                                                        int                  from);
gboolean           tether_test_process_wait_for_line   (TetherTestProcess   *self,
                                                        const char          *substring,
                                                        guint                timeout_ms,
                                                        char               **out_line);

const char        *tether_test_process_get_identifier  (TetherTestProcess   *self);
void               tether_test_process_kill            (TetherTestProcess   *self);
void               tether_test_process_terminate       (TetherTestProcess   *self);
gboolean           tether_test_process_has_exited      (TetherTestProcess   *self);
gboolean           tether_test_process_wait            (TetherTestProcess   *self,
                                                        guint                timeout_ms);
gboolean           tether_test_process_get_if_exited   (TetherTestProcess   *self);
int                tether_test_process_get_exit_status (TetherTestProcess   *self);
gboolean           tether_test_process_get_if_signaled (TetherTestProcess   *self);
int                tether_test_process_get_term_sig    (TetherTestProcess   *self);

void               tether_test_process_free            (TetherTestProcess   *self);

TetherTestProcess *tether_test_ffmpeg_publish          (const char          *srt_url);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestProcess, tether_test_process_free)

G_END_DECLS
