/* tether-test-server.h: starting a Tether server for a test, in a thread of the
 * test process or as a tether-server child process
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-server.h"
#include "tether-test-process.h"

G_BEGIN_DECLS

/* In-process: a TetherServer in a thread with its own GMainContext. */
typedef struct _TetherTestServer TetherTestServer;

typedef void (*TetherTestServerFunc) (TetherServer *server,
                                      gpointer      data);

/* Properties as for g_object_new(): name, value, …, NULL (a lone NULL is fine). */
TetherTestServer *tether_test_server_new                (const char           *first_property_name,
                                                         ...);
TetherTestServer *tether_test_server_new_on_port        (guint16               port,
                                                         const char           *first_property_name,
                                                         ...);
guint16           tether_test_server_get_port           (TetherTestServer     *self);
const char       *tether_test_server_get_url            (TetherTestServer     *self);
gboolean          tether_test_server_is_running         (TetherTestServer     *self);
void              tether_test_server_run_sync           (TetherTestServer     *self,
                                                         TetherTestServerFunc  func,
                                                         gpointer              data);
guint             tether_test_server_get_session_count  (TetherTestServer     *self);
guint             tether_test_server_get_room_count     (TetherTestServer     *self);
char             *tether_test_server_get_metrics_text   (TetherTestServer     *self);
void              tether_test_server_shutdown           (TetherTestServer     *self,
                                                         double                retry_after);
void              tether_test_server_stop               (TetherTestServer     *self);
void              tether_test_server_restart            (TetherTestServer     *self);
void              tether_test_server_free               (TetherTestServer     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestServer, tether_test_server_free)

/* As a process: the tether-server program. */
typedef struct _TetherTestServerProcess TetherTestServerProcess;

char                    *tether_test_server_program         (void);
char                    *tether_test_cli_program            (void);
TetherTestProcess       *tether_test_cli_spawn              (const char              *command,
                                                             const char              *url,
                                                             ...) G_GNUC_NULL_TERMINATED;
TetherTestServerProcess *tether_test_server_process_new     (const char              *first_arg,
                                                             ...) G_GNUC_NULL_TERMINATED;
TetherTestServerProcess *tether_test_server_process_newv    (const char * const      *args);
guint16                  tether_test_server_process_get_port (TetherTestServerProcess *self);
const char              *tether_test_server_process_get_url (TetherTestServerProcess *self);
TetherTestProcess       *tether_test_server_process_get_process (TetherTestServerProcess *self);
void                     tether_test_server_process_kill    (TetherTestServerProcess *self);
int                      tether_test_server_process_terminate (TetherTestServerProcess *self);
void                     tether_test_server_process_restart (TetherTestServerProcess *self);
void                     tether_test_server_process_free    (TetherTestServerProcess *self);
char                    *tether_test_server_admin_get       (TetherTestProcess       *process,
                                                             const char              *path,
                                                             guint                   *status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestServerProcess, tether_test_server_process_free)

G_END_DECLS
