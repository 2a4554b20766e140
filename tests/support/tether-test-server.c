/* tether-test-server.c: a Tether server for a test, in a thread or as a process
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gobject/gvaluecollector.h>
#include <string.h>

#include "tether-test-server.h"
#include "tether-test-utils.h"

/* How long a restart keeps retrying a port that is still held (TIME_WAIT, or
 * a killed process not reaped yet), and how long a process has to say it is
 * listening. Both scaled by tether_test_scale(). */
#define BIND_RETRY_MS 5000
#define RETRY_PAUSE_MS 50
#define PROCESS_START_MS 10000
#define PROCESS_EXIT_MS 10000
#define SHUTDOWN_DRAIN_MS 2000

struct _TetherTestServer
{
  TetherTestThread *thread;   /* NULL while stopped */
  TetherServer *server;       /* used in the server thread only */
  guint16 port;
  char *url;

  GPtrArray *names;           /* interned property names */
  GArray *values;             /* GValue, one per name */
};

static void
collect_properties (TetherTestServer *self,
                    const char       *first_property_name,
                    va_list           ap)
{
  GObjectClass *klass = g_type_class_ref (TETHER_TYPE_SERVER);

  self->names = g_ptr_array_new ();
  self->values = g_array_new (FALSE, TRUE, sizeof (GValue));
  g_array_set_clear_func (self->values, (GDestroyNotify) g_value_unset);

  for (const char *name = first_property_name; name != NULL; name = va_arg (ap, const char *))
    {
      GParamSpec *pspec = g_object_class_find_property (klass, name);
      GValue value = G_VALUE_INIT;
      g_autofree char *error = NULL;

      if (pspec == NULL)
        g_error ("TetherServer has no property \"%s\"", name);
      /* the same collection g_object_set() does, so the same argument rules:
       * doubles must be passed as doubles (2.0, not 2) */
      G_VALUE_COLLECT_INIT (&value, pspec->value_type, ap, 0, &error);
      if (error != NULL)
        g_error ("TetherServer property \"%s\": %s", name, error);
      g_ptr_array_add (self->names, (char *) pspec->name);
      g_array_append_val (self->values, value);
    }

  g_type_class_unref (klass);
}

typedef struct
{
  TetherTestServer *self;
  GError *error;
} Start;

static void
start_in_thread (gpointer data)
{
  Start *start = data;
  TetherTestServer *self = start->self;
  gint64 deadline = g_get_monotonic_time () + tether_test_scaled_ms (BIND_RETRY_MS) * G_TIME_SPAN_MILLISECOND;

  for (;;)
    {
      g_autoptr(TetherServer) server = tether_server_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);

      g_object_setv (G_OBJECT (server), self->names->len, (const char **) self->names->pdata,
                     (const GValue *) self->values->data);
      if (tether_server_listen (server, "127.0.0.1", self->port, &start->error))
        {
          self->server = g_steal_pointer (&server);
          break;
        }

      /* only a fixed port (a restart) can be busy for a moment */
      if (self->port == 0
          || !g_error_matches (start->error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
          || g_get_monotonic_time () > deadline)
        return;
      g_clear_error (&start->error);
      tether_test_run_for (RETRY_PAUSE_MS);
    }

  self->port = tether_server_get_port (self->server);
  g_free (self->url);
  self->url = tether_server_get_url (self->server);
}

static void
start (TetherTestServer *self)
{
  Start start = { self, NULL };

  g_assert (self->thread == NULL);
  self->thread = tether_test_thread_new ("tether-server");
  tether_test_thread_invoke_sync (self->thread, start_in_thread, &start);
  if (start.error != NULL)
    g_error ("cannot start the test server on 127.0.0.1:%u: %s", self->port, start.error->message);
}

static TetherTestServer *
server_new_valist (guint16     port,
                   const char *first_property_name,
                   va_list     ap)
{
  TetherTestServer *self = g_new0 (TetherTestServer, 1);

  self->port = port;
  collect_properties (self, first_property_name, ap);
  start (self);

  return self;
}

/**
 * tether_test_server_new:
 * @first_property_name: (nullable): the first TetherServer property to set,
 *   followed by its value, more name/value pairs, and %NULL
 *
 * Starts a TetherServer (app id %TETHER_TEST_APP_ID, secret
 * %TETHER_TEST_SECRET unless the properties say otherwise) in a thread with a
 * GMainContext of its own, listening on 127.0.0.1 on an ephemeral port.
 * Aborts the test if it cannot start.
 *
 *     server = tether_test_server_new ("heartbeat-timeout", 0.5,
 *                                      "session-ttl", 3.0, NULL);
 *
 * Returns: (transfer full): the running server
 */
TetherTestServer *
tether_test_server_new (const char *first_property_name,
                        ...)
{
  TetherTestServer *self;
  va_list ap;

  va_start (ap, first_property_name);
  self = server_new_valist (0, first_property_name, ap);
  va_end (ap);

  return self;
}

/* Like tether_test_server_new() on a given port; 0 means ephemeral. */
TetherTestServer *
tether_test_server_new_on_port (guint16     port,
                                const char *first_property_name,
                                ...)
{
  TetherTestServer *self;
  va_list ap;

  va_start (ap, first_property_name);
  self = server_new_valist (port, first_property_name, ap);
  va_end (ap);

  return self;
}

/* The port it listens on; kept across stop and restart. */
guint16
tether_test_server_get_port (TetherTestServer *self)
{
  return self->port;
}

/* The WebSocket URL, as tether_server_get_url() gave it. */
const char *
tether_test_server_get_url (TetherTestServer *self)
{
  return self->url;
}

gboolean
tether_test_server_is_running (TetherTestServer *self)
{
  return self->thread != NULL;
}

typedef struct
{
  TetherTestServer *self;
  TetherTestServerFunc func;
  gpointer data;
} RunSync;

static void
run_in_thread (gpointer data)
{
  RunSync *run = data;

  run->func (run->self->server, run->data);
}

/**
 * tether_test_server_run_sync:
 * @func: called in the server thread with the TetherServer
 * @data: for @func
 *
 * The only safe way to touch the TetherServer: runs @func in its thread and
 * returns when it is done.
 */
void
tether_test_server_run_sync (TetherTestServer     *self,
                             TetherTestServerFunc  func,
                             gpointer              data)
{
  RunSync run = { self, func, data };

  g_return_if_fail (self->thread != NULL);

  tether_test_thread_invoke_sync (self->thread, run_in_thread, &run);
}

static void
get_session_count (TetherServer *server,
                   gpointer      data)
{
  *(guint *) data = tether_server_get_session_count (server);
}

static void
get_room_count (TetherServer *server,
                gpointer      data)
{
  *(guint *) data = tether_server_get_room_count (server);
}

static void
get_metrics_text (TetherServer *server,
                  gpointer      data)
{
  *(char **) data = tether_server_get_metrics_text (server);
}

guint
tether_test_server_get_session_count (TetherTestServer *self)
{
  guint count = 0;

  tether_test_server_run_sync (self, get_session_count, &count);
  return count;
}

guint
tether_test_server_get_room_count (TetherTestServer *self)
{
  guint count = 0;

  tether_test_server_run_sync (self, get_room_count, &count);
  return count;
}

/* Returns: (transfer full): the Prometheus text of /metrics */
char *
tether_test_server_get_metrics_text (TetherTestServer *self)
{
  char *text = NULL;

  tether_test_server_run_sync (self, get_metrics_text, &text);
  return text;
}

static gboolean
no_sessions (gpointer data)
{
  return tether_server_get_session_count (data) == 0;
}

typedef struct
{
  TetherTestServer *self;
  gboolean graceful;
  double retry_after;
} Stop;

static void
stop_in_thread (gpointer data)
{
  Stop *stop = data;
  TetherTestServer *self = stop->self;

  if (stop->graceful)
    {
      tether_server_shutdown (self->server, stop->retry_after);
      /* let the goodbyes go out before the sockets are dropped */
      if (!tether_test_poll_until (no_sessions, self->server, SHUTDOWN_DRAIN_MS))
        g_test_message ("test server: sessions still open after shutdown");
    }
  g_clear_object (&self->server);
}

static void
stop (TetherTestServer *self,
      gboolean          graceful,
      double            retry_after)
{
  Stop data = { self, graceful, retry_after };

  if (self->thread == NULL)
    return;
  tether_test_thread_invoke_sync (self->thread, stop_in_thread, &data);
  g_clear_pointer (&self->thread, tether_test_thread_free);
}

/**
 * tether_test_server_shutdown:
 * @retry_after: passed to tether_server_shutdown()
 *
 * Stops the server the polite way: clients are told, and get a moment to be
 * told, before the server goes.
 */
void
tether_test_server_shutdown (TetherTestServer *self,
                             double            retry_after)
{
  stop (self, TRUE, retry_after);
}

/**
 * tether_test_server_stop:
 *
 * Stops the server abruptly: the TetherServer is dropped without a shutdown
 * message. (The closest an in-process server gets to a crash; for a real one
 * use a TetherTestServerProcess and kill it.)
 */
void
tether_test_server_stop (TetherTestServer *self)
{
  stop (self, FALSE, 0);
}

/**
 * tether_test_server_restart:
 *
 * Stops the server abruptly if it runs and starts a new one with the same
 * properties on the same port, retrying while the port is still held.
 */
void
tether_test_server_restart (TetherTestServer *self)
{
  stop (self, FALSE, 0);
  start (self);
}

void
tether_test_server_free (TetherTestServer *self)
{
  if (self == NULL)
    return;

  stop (self, FALSE, 0);
  g_ptr_array_unref (self->names);
  g_array_unref (self->values);
  g_free (self->url);
  g_free (self);
}

struct _TetherTestServerProcess
{
  GStrv args;
  TetherTestProcess *process;
  guint16 port;
  char *url;
};

/**
 * tether_test_server_program:
 *
 * Returns: (transfer full): the tether-server executable: `$TETHER_SERVER`,
 *   or the one in the build tree next to the tests
 */
char *
tether_test_server_program (void)
{
  const char *env = g_getenv ("TETHER_SERVER");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_test_build_filename (G_TEST_BUILT, "..", "src", "server", "tether-server", NULL);
}

/**
 * tether_test_cli_program:
 *
 * Returns: (transfer full): the tether-cli executable: `$TETHER_CLI`, or the one in
 *   the build tree next to the tests
 */
char *
tether_test_cli_program (void)
{
  const char *env = g_getenv ("TETHER_CLI");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_test_build_filename (G_TEST_BUILT, "..", "src", "cli", "tether-cli", NULL);
}

/**
 * tether_test_cli_spawn:
 * @command: the tether-cli command (watch, publish, url, …)
 * @url: the room service's URL, for `--server`
 * @...: more arguments, then %NULL
 *
 * Returns: (transfer full): `tether-cli COMMAND --server URL ARGS…` running
 */
TetherTestProcess *
tether_test_cli_spawn (const char *command,
                       const char *url,
                       ...)
{
  g_autofree char *program = tether_test_cli_program ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  TetherTestProcess *p;
  va_list ap;

  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, (char *) "--server");
  g_ptr_array_add (argv, (char *) url);
  va_start (ap, url);
  for (const char *arg = va_arg (ap, const char *); arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  p = tether_test_process_spawnv ((const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

/* Parses "… listening on ws://HOST:PORT/ws …" (or wss://, with --tls-cert). */
static gboolean
parse_listening_line (const char  *line,
                      guint16     *out_port,
                      char       **out_url)
{
  const char *start = strstr (line, "wss://") != NULL ? strstr (line, "wss://")
                                                      : strstr (line, "ws://");
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;

  if (start == NULL)
    return FALSE;
  url = g_strndup (start, strcspn (start, " \t\r\n"));
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_port (uri) <= 0 || g_uri_get_port (uri) > G_MAXUINT16)
    return FALSE;

  *out_port = (guint16) g_uri_get_port (uri);
  *out_url = g_steal_pointer (&url);
  return TRUE;
}

/* Whether @args set @option ("--option VALUE" or "--option=VALUE"). */
static gboolean
args_have (char * const *args,
           const char   *option)
{
  gsize len = strlen (option);

  for (guint i = 0; args[i] != NULL; i++)
    if (strncmp (args[i], option, len) == 0 && (args[i][len] == '\0' || args[i][len] == '='))
      return TRUE;
  return FALSE;
}

static void
process_start (TetherTestServerProcess *self)
{
  g_autofree char *program = tether_test_server_program ();
  gint64 deadline = g_get_monotonic_time () + tether_test_scaled_ms (BIND_RETRY_MS) * G_TIME_SPAN_MILLISECOND;

  g_assert (self->process == NULL);

  for (;;)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) error = NULL;
      g_autofree char *line = NULL;

      g_ptr_array_add (argv, g_strdup (program));
      for (guint i = 0; self->args[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (self->args[i]));
      g_ptr_array_add (argv, g_strdup ("--listen"));
      g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", self->port));
      /* A restart keeps the --listen port, but the admin and media ports default to
       * the port after it, which any test's client may hold as its ephemeral port
       * meanwhile: the restart would then fail until the deadline. Free ports. */
      if (!args_have (self->args, "--admin-listen"))
        {
          g_ptr_array_add (argv, g_strdup ("--admin-listen"));
          g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
        }
      if (!args_have (self->args, "--media-listen") && !args_have (self->args, "--no-media")
          && !args_have (self->args, "--media-only"))
        {
          g_ptr_array_add (argv, g_strdup ("--media-listen"));
          g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
        }
      g_ptr_array_add (argv, NULL);

      self->process = tether_test_process_spawnv ((const char * const *) argv->pdata, &error);
      if (self->process == NULL)
        g_error ("cannot run %s: %s", program, error->message);

      if (tether_test_process_wait_for_line (self->process, "listening on ws",
                                             PROCESS_START_MS, &line))
        {
          g_free (self->url);
          self->url = NULL;
          if (!parse_listening_line (line, &self->port, &self->url))
            g_error ("cannot parse the listening line of %s: %s", program, line);
          return;
        }

      /* it exited without listening: a fixed port may still be held for a moment */
      if (self->port == 0 || !tether_test_process_has_exited (self->process)
          || g_get_monotonic_time () > deadline)
        g_error ("%s did not start listening on 127.0.0.1:%u", program, self->port);
      g_clear_pointer (&self->process, tether_test_process_free);
      tether_test_run_for (RETRY_PAUSE_MS);
    }
}

/**
 * tether_test_server_process_newv:
 * @args: (array zero-terminated=1) (nullable): arguments for tether-server;
 *   `--listen 127.0.0.1:0` is added
 *
 * Runs the tether-server program and waits until it prints
 * `listening on ws://HOST:PORT/ws` (`wss://` with `--tls-cert`) on stdout. Aborts the
 * test if it does not.
 *
 * Returns: (transfer full): the running server process
 */
TetherTestServerProcess *
tether_test_server_process_newv (const char * const *args)
{
  TetherTestServerProcess *self = g_new0 (TetherTestServerProcess, 1);
  const char * const no_args[] = { NULL };

  self->args = g_strdupv ((char **) (args != NULL ? args : no_args));
  process_start (self);

  return self;
}

TetherTestServerProcess *
tether_test_server_process_new (const char *first_arg,
                                ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  return tether_test_server_process_newv ((const char * const *) args->pdata);
}

/* The port it listens on; kept across kill and restart. */
guint16
tether_test_server_process_get_port (TetherTestServerProcess *self)
{
  return self->port;
}

/* "ws://HOST:PORT/ws" (or "wss://…") as the process printed it. */
const char *
tether_test_server_process_get_url (TetherTestServerProcess *self)
{
  return self->url;
}

/* Returns: (transfer none): the current process, for its output and exit */
TetherTestProcess *
tether_test_server_process_get_process (TetherTestServerProcess *self)
{
  return self->process;
}

/* SIGKILL, and reap it: a crash. */
void
tether_test_server_process_kill (TetherTestServerProcess *self)
{
  tether_test_process_kill (self->process);
  if (!tether_test_process_wait (self->process, PROCESS_EXIT_MS))
    g_error ("tether-server %s survived SIGKILL", tether_test_process_get_identifier (self->process));
}

/**
 * tether_test_server_process_terminate:
 *
 * Sends SIGTERM and waits for the exit. If the process does not exit in time
 * the test fails and the process is killed.
 *
 * Returns: the exit status, or -1 if it did not exit normally
 */
int
tether_test_server_process_terminate (TetherTestServerProcess *self)
{
  tether_test_process_terminate (self->process);
  if (!tether_test_process_wait (self->process, PROCESS_EXIT_MS))
    {
      g_test_message ("tether-server %s ignored SIGTERM",
                      tether_test_process_get_identifier (self->process));
      g_test_fail ();
      tether_test_server_process_kill (self);
      return -1;
    }
  if (!tether_test_process_get_if_exited (self->process))
    return -1;
  return tether_test_process_get_exit_status (self->process);
}

/**
 * tether_test_server_process_restart:
 *
 * Kills the process if it still runs, then starts it again with the same
 * arguments on the same port (retrying while the port is still held).
 */
void
tether_test_server_process_restart (TetherTestServerProcess *self)
{
  if (!tether_test_process_has_exited (self->process))
    tether_test_server_process_kill (self);
  g_clear_pointer (&self->process, tether_test_process_free);
  process_start (self);
}

void
tether_test_server_process_free (TetherTestServerProcess *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->process, tether_test_process_free);
  g_strfreev (self->args);
  g_free (self->url);
  g_free (self);
}
