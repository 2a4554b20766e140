/* tether-demo.c: the demo room — the tether-server program as a child process (room
 * service and media node on ephemeral loopback ports, a fresh secret handed over a
 * pipe), and hosts in this process that publish the test picture for a while, pause,
 * and come back, staggered so that stream ADD/DELETE and autoplay are visible within a
 * minute
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "tether.h"
#include "tether-demo.h"
#include "tether-session.h"

/* How long the room service has to say where it listens. */
#define SERVER_START_TIMEOUT_S 10
#define LISTENING_PREFIX "listening on "

typedef struct
{
  TetherDemo *demo;             /* not owned */
  guint index;
  char *user_id;
  const char *name;
  char *stream_id;
  TetherEngine *engine;
  TetherRoom *room;
  TetherPublisher *publisher;
  guint timer_id;
  gboolean publish_next;
  gboolean first_round;
} Host;

struct _TetherDemo
{
  GObject parent_instance;

  double publish_time;
  double pause_time;
  guint n_hosts;

  char *secret;
  GSubprocess *server;
  GDataInputStream *server_stdout;
  GCancellable *cancellable;    /* the start, then the exit watch; cancelled by stop */
  guint start_timeout_id;
  gboolean timed_out;
  char *server_url;
  GPtrArray *hosts;             /* Host */
};

enum
{
  PROP_0,
  PROP_PUBLISH_TIME,
  PROP_PAUSE_TIME,
  PROP_N_HOSTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherDemo, tether_demo, G_TYPE_OBJECT)

static const char * const host_names[] = { "Ada", "Grace", "Hedy", "Katherine" };

static void host_schedule (Host *host, double seconds, gboolean publish_next);

static void
host_stop_publishing (Host *host)
{
  if (host->publisher == NULL)
    return;
  tether_publisher_stop (host->publisher);
  g_clear_object (&host->publisher);
}

static void
host_start_publishing (Host *host)
{
  g_autoptr(GError) error = NULL;

  if (host->publisher != NULL || host->room == NULL)
    return;
  host->publisher = tether_publisher_new (host->room, host->stream_id, 1200);
  tether_publisher_set_source (host->publisher, TETHER_PUBLISHER_SOURCE_TEST);
  g_object_set (host->publisher,
                "audio", g_getenv ("TETHER_NO_AUDIO") == NULL,
                "extra", host->name,
                NULL);
  if (!tether_publisher_start (host->publisher, &error))
    {
      g_warning ("demo host %s cannot publish: %s", host->user_id, error->message);
      g_clear_object (&host->publisher);
    }
}

static gboolean
host_timer_cb (gpointer data)
{
  Host *host = data;
  gboolean publish = host->publish_next;
  double duration = publish ? host->demo->publish_time : host->demo->pause_time;

  /* A later host's first round is shorter, so that the hosts' pauses do not line up. */
  if (publish && host->first_round && host->index > 0)
    duration = host->demo->publish_time / (host->index + 1);
  if (publish)
    host->first_round = FALSE;
  host->timer_id = 0;
  if (publish)
    host_start_publishing (host);
  else
    host_stop_publishing (host);
  host_schedule (host, duration, !publish);
  return G_SOURCE_REMOVE;
}

static void
host_schedule (Host     *host,
               double    seconds,
               gboolean  publish_next)
{
  g_clear_handle_id (&host->timer_id, g_source_remove);
  host->publish_next = publish_next;
  host->timer_id = g_timeout_add ((guint) (seconds * 1000), host_timer_cb, host);
}

static void
host_free (gpointer data)
{
  Host *host = data;

  g_clear_handle_id (&host->timer_id, g_source_remove);
  host_stop_publishing (host);
  if (host->room != NULL && tether_room_get_state (host->room) != TETHER_ROOM_STATE_LOGOUT)
    tether_engine_logout_room (host->engine, host->room);
  g_clear_object (&host->room);
  g_clear_object (&host->engine);
  g_free (host->user_id);
  g_free (host->stream_id);
  g_free (host);
}

/**
 * tether_demo_mint_token:
 * @self: a demo room
 * @user_id: who logs in
 *
 * Returns: (transfer full): a week-long token for @user_id in the demo room, with
 *   publishing allowed, signed with the demo's secret
 */
char *
tether_demo_mint_token (TetherDemo *self,
                        const char *user_id)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), NULL);

  return tether_token_mint (self->secret, TETHER_DEMO_APP_ID, user_id, TETHER_DEMO_ROOM_ID,
                            TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                            g_get_real_time () / G_USEC_PER_SEC, 7 * 24 * 3600);
}

static char *
executable_if_there (char *path)
{
  if (path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return path;
  g_free (path);
  return NULL;
}

/**
 * tether_demo_find_server:
 *
 * Finds the tether-server program the demo room runs: `$TETHER_SERVER`; else the one
 * next to this program (installed, Flatpak); else, when this program runs from the
 * build tree, the build tree's; else the one in bindir; else the first on `PATH`.
 *
 * Returns: (transfer full) (nullable): its path, or NULL when there is none
 */
char *
tether_demo_find_server (void)
{
  const char *env = g_getenv ("TETHER_SERVER");
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *self_dir = self_path ? g_path_get_dirname (self_path) : NULL;
  /* /proc/self/exe has no symbolic links left in it; the build dir may have some. */
  g_autofree char *build_dir = realpath (TETHER_APP_BUILD_DIR, NULL);
  char *found;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (self_dir != NULL
      && (found = executable_if_there (g_build_filename (self_dir, "tether-server", NULL))) != NULL)
    return found;
  if (self_dir != NULL && build_dir != NULL && g_str_equal (self_dir, build_dir)
      && (found = executable_if_there (g_strdup (TETHER_SERVER_BUILD_PATH))) != NULL)
    return found;
  if ((found = executable_if_there (g_build_filename (TETHER_BINDIR, "tether-server", NULL))) != NULL)
    return found;
  return g_find_program_in_path ("tether-server");
}

#ifdef __linux__
/* In the child: the room service goes when the app goes, even when the app crashes. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}
#endif

/* The secret travels over a pipe (fd 3 of the child): not in argv, not in a file. */
static GSubprocess *
spawn_server (TetherDemo  *self,
              const char  *program,
              GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  size_t len = strlen (self->secret);
  int fds[2];

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return NULL;
  /* A few dozen bytes: the pipe holds them until the child reads. */
  if (write (fds[1], self->secret, len) != (ssize_t) len)
    {
      int saved = errno;

      close (fds[0]);
      close (fds[1]);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot hand the secret to tether-server: %s", g_strerror (saved));
      return NULL;
    }
  close (fds[1]);
  g_subprocess_launcher_take_fd (launcher, fds[0], 3);
#ifdef __linux__
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
#endif
  return g_subprocess_launcher_spawn (launcher, error, program,
                                      "--listen", "127.0.0.1:0",
                                      "--app-id", TETHER_DEMO_APP_ID,
                                      "--app-secret-file", "/dev/fd/3",
                                      "--shutdown-retry-after", "0",
                                      NULL);
}

static void
start_hosts (TetherDemo *self)
{
  for (guint i = 0; i < self->n_hosts; i++)
    {
      Host *host = g_new0 (Host, 1);
      g_autofree char *token = NULL;
      g_autoptr(TetherLoginOptions) login = NULL;

      host->demo = self;
      host->index = i;
      host->name = host_names[i % G_N_ELEMENTS (host_names)];
      host->user_id = g_ascii_strdown (host->name, -1);
      host->stream_id = g_strdup_printf ("%s-camera", host->user_id);
      host->engine = tether_engine_new ();
      token = tether_demo_mint_token (self, host->user_id);
      login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                            "server-url", self->server_url, "app-id", TETHER_DEMO_APP_ID,
                            "room-id", TETHER_DEMO_ROOM_ID, "user-id", host->user_id,
                            "user-name", host->name, "token", token, "notify-users", FALSE,
                            NULL);
      host->room = tether_engine_login_room (host->engine, login);
      host->first_round = TRUE;
      g_ptr_array_add (self->hosts, host);

      /* Staggered: the first host goes live at once, the next ones a moment later. */
      host_schedule (host, i == 0 ? 0.2 : 2.0 * i, TRUE);
    }
}

static gboolean
start_timeout_cb (gpointer data)
{
  TetherDemo *self = data;

  self->start_timeout_id = 0;
  self->timed_out = TRUE;
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

/* A room service that died (killed, crashed) is started afresh on the next try. */
static void
server_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(TetherDemo) self = user_data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL)
      || self->server != G_SUBPROCESS (source))
    return;
  g_warning ("the demo room service exited (status %d)", g_subprocess_get_status (self->server));
  tether_demo_stop (self);
}

static void
server_line_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TetherDemo *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, &error);

  if (line != NULL && !g_str_has_prefix (line, LISTENING_PREFIX "ws://"))
    {
      g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT,
                                           self->cancellable, server_line_cb,
                                           g_steal_pointer (&task));
      return;
    }
  if (line == NULL)
    {
      gboolean timed_out = self->timed_out;

      tether_demo_stop (self);
      if (timed_out)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _("The demo room service did not start within %d seconds."),
                                 SERVER_START_TIMEOUT_S);
      else if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                                 _("The demo room service stopped as it started."));
      return;
    }

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_subprocess_wait_async (self->server, self->cancellable, server_exited_cb, g_object_ref (self));
  self->server_url = g_strdup (line + strlen (LISTENING_PREFIX));
  g_debug ("demo room service on %s", self->server_url);
  start_hosts (self);
  g_task_return_boolean (task, TRUE);
}

/**
 * tether_demo_start_async:
 * @self: a demo room
 * @cancellable: (nullable): unused by the start itself, checked on completion
 * @callback: called once the room service listens and the hosts log in
 * @user_data: for @callback
 *
 * Runs tether-server (see tether_demo_find_server()) with a fresh secret, waits for
 * it to say where it listens, and logs the hosts in.
 */
void
tether_demo_start_async (TetherDemo          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *program = NULL;
  GError *error = NULL;

  g_return_if_fail (TETHER_IS_DEMO (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_demo_start_async);
  if (self->server_url != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->server != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "the demo room is already starting");
      return;
    }

  program = tether_demo_find_server ();
  if (program == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("The tether-server program was not found next to the app, "
                                 "in %s or on the PATH; set TETHER_SERVER to it."), TETHER_BINDIR);
      return;
    }
  self->server = spawn_server (self, program, &error);
  if (self->server == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  self->server_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->server));
  self->cancellable = g_cancellable_new ();
  self->timed_out = FALSE;
  self->start_timeout_id = g_timeout_add_seconds (SERVER_START_TIMEOUT_S, start_timeout_cb, self);
  g_data_input_stream_read_line_async (self->server_stdout, G_PRIORITY_DEFAULT, self->cancellable,
                                       server_line_cb, g_steal_pointer (&task));
}

/**
 * tether_demo_start_finish:
 * @self: a demo room
 * @result: the result given to the callback
 * @error: why the room service did not start
 *
 * Returns: whether the demo room runs
 */
gboolean
tether_demo_start_finish (TetherDemo    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tether_demo_stop:
 * @self: a demo room
 *
 * Logs the hosts out and stops the room service.
 */
void
tether_demo_stop (TetherDemo *self)
{
  g_return_if_fail (TETHER_IS_DEMO (self));

  g_ptr_array_set_size (self->hosts, 0);
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->server_stdout);
  if (self->server != NULL)
    g_subprocess_send_signal (self->server, SIGTERM);
  g_clear_object (&self->server);
  g_clear_pointer (&self->server_url, g_free);
}

/**
 * tether_demo_get_server_url:
 * @self: a demo room
 *
 * Returns: (nullable): the room service's WebSocket URL, once it runs
 */
const char *
tether_demo_get_server_url (TetherDemo *self)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), NULL);

  return self->server_url;
}

/**
 * tether_demo_new:
 *
 * Returns: (transfer full): a demo room, not started; its "publish-time" (40 s),
 *   "pause-time" (10 s) and "n-hosts" (2) say how its hosts come and go
 */
TetherDemo *
tether_demo_new (void)
{
  return g_object_new (TETHER_TYPE_DEMO, NULL);
}

static void
tether_demo_dispose (GObject *object)
{
  TetherDemo *self = TETHER_DEMO (object);

  tether_demo_stop (self);

  G_OBJECT_CLASS (tether_demo_parent_class)->dispose (object);
}

static void
tether_demo_finalize (GObject *object)
{
  TetherDemo *self = TETHER_DEMO (object);

  g_ptr_array_unref (self->hosts);
  g_free (self->secret);

  G_OBJECT_CLASS (tether_demo_parent_class)->finalize (object);
}

static void
tether_demo_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TetherDemo *self = TETHER_DEMO (object);

  switch (prop_id)
    {
    case PROP_PUBLISH_TIME: g_value_set_double (value, self->publish_time); break;
    case PROP_PAUSE_TIME: g_value_set_double (value, self->pause_time); break;
    case PROP_N_HOSTS: g_value_set_uint (value, self->n_hosts); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_demo_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TetherDemo *self = TETHER_DEMO (object);

  switch (prop_id)
    {
    case PROP_PUBLISH_TIME: self->publish_time = g_value_get_double (value); break;
    case PROP_PAUSE_TIME: self->pause_time = g_value_get_double (value); break;
    case PROP_N_HOSTS: self->n_hosts = g_value_get_uint (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_demo_class_init (TetherDemoClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_demo_dispose;
  object_class->finalize = tether_demo_finalize;
  object_class->get_property = tether_demo_get_property;
  object_class->set_property = tether_demo_set_property;

  /**
   * TetherDemo:publish-time:
   *
   * Seconds a host publishes before it pauses (a later host's first round is shorter).
   */
  properties[PROP_PUBLISH_TIME] = g_param_spec_double ("publish-time", NULL, NULL, 1, 3600, 40, flags);
  /**
   * TetherDemo:pause-time:
   *
   * Seconds a host stays away before it publishes again.
   */
  properties[PROP_PAUSE_TIME] = g_param_spec_double ("pause-time", NULL, NULL, 1, 3600, 10, flags);
  /**
   * TetherDemo:n-hosts:
   *
   * How many hosts log in when the demo room starts.
   */
  properties[PROP_N_HOSTS] = g_param_spec_uint ("n-hosts", NULL, NULL, 0, 4, 2, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_demo_init (TetherDemo *self)
{
  g_autofree guint8 *raw = g_malloc (24);

  self->publish_time = 40;
  self->pause_time = 10;
  self->n_hosts = 2;
  self->hosts = g_ptr_array_new_with_free_func (host_free);
  for (guint i = 0; i < 24; i++)
    raw[i] = (guint8) g_random_int_range (0, 256);
  /* A fresh secret per run: nothing outside this process can log into the demo room. */
  self->secret = tether_base64url_encode (raw, 24);
}
