/* tether-test-process.c: child processes with their stdout collected by a reader
 * thread
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tether-test-process.h"
#include "tether-test-utils.h"

/*
 * The child's stdout is read by a thread of its own, not by the test's main
 * context: a test that blocks for a while (or a child that logs a lot) must
 * never leave the child stuck on a full pipe. Each new line, and the exit,
 * wake the context the process was spawned from, so TETHER_WAIT_UNTIL on a
 * line or on the exit reacts at once.
 */

struct _TetherTestProcess
{
  GSubprocess *subprocess;
  char *name;
  char *identifier;
  GThread *reader;
  GCancellable *cancellable;
  GMainContext *owner_context;

  GMutex mutex;
  GPtrArray *lines;
  gboolean exited;
};

static gpointer
reader_main (gpointer data)
{
  TetherTestProcess *self = data;
  g_autoptr(GDataInputStream) in =
    g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->subprocess));
  char *line;

  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  while ((line = g_data_input_stream_read_line (in, NULL, self->cancellable, NULL)) != NULL)
    {
      g_printerr ("[%s %s] %s\n", self->name, self->identifier, line);
      g_mutex_lock (&self->mutex);
      g_ptr_array_add (self->lines, line);
      g_mutex_unlock (&self->mutex);
      g_main_context_wakeup (self->owner_context);
    }

  if (g_subprocess_wait (self->subprocess, self->cancellable, NULL))
    {
      g_mutex_lock (&self->mutex);
      self->exited = TRUE;
      g_mutex_unlock (&self->mutex);
      g_main_context_wakeup (self->owner_context);
    }

  return NULL;
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/**
 * tether_test_process_spawnv:
 * @argv: (array zero-terminated=1): the command; argv[0] is looked up in PATH
 *   unless it contains a slash
 * @error: return location for an error
 *
 * Starts the command with stdout captured line by line (see
 * tether_test_process_dup_lines()) and echoed to stderr with a prefix; stderr
 * is inherited, so the child's logs land in the test log.
 *
 * A child spawned from the test's main thread is killed when that thread ends:
 * a test that aborts leaves no server, client or daemon behind holding the
 * test's output open (meson would wait for its timeout).
 *
 * Returns: (transfer full) (nullable): the process
 */
TetherTestProcess *
tether_test_process_spawnv (const char * const  *argv,
                            GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  TetherTestProcess *self;
  GSubprocess *subprocess;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  if (gettid () == getpid ())
    g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (subprocess == NULL)
    return NULL;

  self = g_new0 (TetherTestProcess, 1);
  self->subprocess = subprocess;
  self->name = g_path_get_basename (argv[0]);
  self->identifier = g_strdup (g_subprocess_get_identifier (subprocess));
  self->cancellable = g_cancellable_new ();
  self->owner_context = g_main_context_ref_thread_default ();
  self->lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&self->mutex);
  self->reader = g_thread_new ("process-reader", reader_main, self);

  return self;
}

TetherTestProcess *
tether_test_process_spawn (GError     **error,
                           const char  *argv0,
                           ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (char *) argv0);
  va_start (ap, argv0);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  return tether_test_process_spawnv ((const char * const *) argv->pdata, error);
}

/* Returns: (transfer full) (element-type utf8): a copy of the stdout lines
 * read so far, without their line ends */
GPtrArray *
tether_test_process_dup_lines (TetherTestProcess *self)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func (g_free);

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->lines->len; i++)
    g_ptr_array_add (copy, g_strdup (self->lines->pdata[i]));
  g_mutex_unlock (&self->mutex);

  return copy;
}

guint
tether_test_process_get_n_lines (TetherTestProcess *self)
{
  guint n;

  g_mutex_lock (&self->mutex);
  n = self->lines->len;
  g_mutex_unlock (&self->mutex);

  return n;
}

/* Returns: (transfer full) (nullable): line @index, or %NULL if not read yet */
char *
tether_test_process_dup_line (TetherTestProcess *self,
                              guint              index)
{
  char *line = NULL;

  g_mutex_lock (&self->mutex);
  if (index < self->lines->len)
    line = g_strdup (self->lines->pdata[index]);
  g_mutex_unlock (&self->mutex);

  return line;
}

/* Returns: (transfer full) (nullable): the first line containing @substring */
char *
tether_test_process_find_line (TetherTestProcess *self,
                               const char        *substring)
{
  char *line = NULL;

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->lines->len && line == NULL; i++)
    if (strstr (self->lines->pdata[i], substring) != NULL)
      line = g_strdup (self->lines->pdata[i]);
  g_mutex_unlock (&self->mutex);

  return line;
}

/* Returns: how many stdout lines so far contain @substring */
guint
tether_test_process_count_lines (TetherTestProcess *self,
                                 const char        *substring)
{
  guint n = 0;

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->lines->len; i++)
    n += strstr (self->lines->pdata[i], substring) != NULL;
  g_mutex_unlock (&self->mutex);

  return n;
}

/**
 * tether_test_process_line_index:
 * @substring: what the line must contain
 * @from: the first line to look at
 *
 * Returns: the index of the first line at or after @from that contains @substring,
 *   -1 if none does (yet)
 */
int
tether_test_process_line_index (TetherTestProcess *self,
                                const char        *substring,
                                int                from)
{
  int index = -1;

  g_mutex_lock (&self->mutex);
  for (guint i = MAX (from, 0); i < self->lines->len && index < 0; i++)
    if (strstr (self->lines->pdata[i], substring) != NULL)
      index = (int) i;
  g_mutex_unlock (&self->mutex);

  return index;
}

typedef struct
{
  TetherTestProcess *self;
  const char *substring;
  char *line;
} FindLine;

static gboolean
line_found_or_exited (gpointer data)
{
  FindLine *find = data;

  find->line = tether_test_process_find_line (find->self, find->substring);
  return find->line != NULL || tether_test_process_has_exited (find->self);
}

/**
 * tether_test_process_wait_for_line:
 * @substring: what the line must contain
 * @timeout_ms: deadline, scaled by tether_test_scale()
 * @out_line: (out) (optional) (transfer full): the line
 *
 * Iterates the thread-default main context until a stdout line contains
 * @substring, the process exits, or the deadline passes. Does not fail the
 * test by itself.
 *
 * Returns: whether such a line was read
 */
gboolean
tether_test_process_wait_for_line (TetherTestProcess  *self,
                                   const char         *substring,
                                   guint               timeout_ms,
                                   char              **out_line)
{
  FindLine find = { self, substring, NULL };
  gboolean found;

  tether_test_poll_until (line_found_or_exited, &find, timeout_ms);
  if (find.line == NULL)
    find.line = tether_test_process_find_line (self, substring);  /* read just before the exit */
  found = find.line != NULL;
  if (out_line != NULL)
    *out_line = g_steal_pointer (&find.line);
  g_free (find.line);

  return found;
}

/* The process id, as a string. */
const char *
tether_test_process_get_identifier (TetherTestProcess *self)
{
  return self->identifier;
}

/* SIGKILL: a crash, as far as anyone else can tell. */
void
tether_test_process_kill (TetherTestProcess *self)
{
  if (!tether_test_process_has_exited (self))
    g_subprocess_force_exit (self->subprocess);
}

/* SIGTERM: asks the process to shut down cleanly. */
void
tether_test_process_terminate (TetherTestProcess *self)
{
  if (!tether_test_process_has_exited (self))
    g_subprocess_send_signal (self->subprocess, SIGTERM);
}

gboolean
tether_test_process_has_exited (TetherTestProcess *self)
{
  gboolean exited;

  g_mutex_lock (&self->mutex);
  exited = self->exited;
  g_mutex_unlock (&self->mutex);

  return exited;
}

static gboolean
has_exited_cb (gpointer data)
{
  return tether_test_process_has_exited (data);
}

/**
 * tether_test_process_wait:
 * @timeout_ms: deadline, scaled by tether_test_scale()
 *
 * Iterates the thread-default main context until the process has exited.
 * Does not fail the test by itself.
 *
 * Returns: whether it exited in time
 */
gboolean
tether_test_process_wait (TetherTestProcess *self,
                          guint              timeout_ms)
{
  return tether_test_poll_until (has_exited_cb, self, timeout_ms);
}

gboolean
tether_test_process_get_if_exited (TetherTestProcess *self)
{
  g_return_val_if_fail (tether_test_process_has_exited (self), FALSE);

  return g_subprocess_get_if_exited (self->subprocess);
}

int
tether_test_process_get_exit_status (TetherTestProcess *self)
{
  g_return_val_if_fail (tether_test_process_get_if_exited (self), -1);

  return g_subprocess_get_exit_status (self->subprocess);
}

gboolean
tether_test_process_get_if_signaled (TetherTestProcess *self)
{
  g_return_val_if_fail (tether_test_process_has_exited (self), FALSE);

  return g_subprocess_get_if_signaled (self->subprocess);
}

int
tether_test_process_get_term_sig (TetherTestProcess *self)
{
  g_return_val_if_fail (tether_test_process_get_if_signaled (self), 0);

  return g_subprocess_get_term_sig (self->subprocess);
}

/* Kills the process if it is still running and reaps it. */
void
tether_test_process_free (TetherTestProcess *self)
{
  if (self == NULL)
    return;

  tether_test_process_kill (self);
  /* a grandchild could hold stdout open after the kill; don't hang on it */
  if (!tether_test_process_wait (self, 5000))
    g_cancellable_cancel (self->cancellable);
  g_thread_join (self->reader);

  g_object_unref (self->subprocess);
  g_object_unref (self->cancellable);
  g_main_context_unref (self->owner_context);
  g_ptr_array_unref (self->lines);
  g_mutex_clear (&self->mutex);
  g_free (self->name);
  g_free (self->identifier);
  g_free (self);
}

/**
 * tether_test_ffmpeg_publish:
 * @srt_url: where to publish, e.g. the URL of `tether-cli url --publish`
 *
 * ffmpeg with a 4:2:0 test pattern (what OBS sends; testsrc alone would give High
 * 4:4:4), a key frame every second, in MPEG-TS over SRT, until stopped.
 *
 * Returns: (transfer full): the ffmpeg process
 */
TetherTestProcess *
tether_test_ffmpeg_publish (const char *srt_url)
{
  g_autoptr(GError) error = NULL;
  TetherTestProcess *p;

  p = tether_test_process_spawn (&error, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                                 "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                                 "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
                                 "-tune", "zerolatency", "-g", "25", "-f", "mpegts", srt_url, NULL);
  g_assert_no_error (error);
  return p;
}
