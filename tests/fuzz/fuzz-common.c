/* fuzz-common.c: the log writer and helpers of the fuzz harnesses
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

static TetherFuzzFlags fuzz_flags;
static gboolean verbose;
static char **known;  /* TETHER_FUZZ_IGNORE, split at '|' */

/* Whether @message names a finding already reported, which TETHER_FUZZ_IGNORE lets a
 * long run go past: "TETHER_FUZZ_IGNORE='out of range|video_pid'". */
static gboolean
is_known (const char *message)
{
  for (guint i = 0; message != NULL && known != NULL && known[i] != NULL; i++)
    if (known[i][0] != '\0' && strstr (message, known[i]) != NULL)
      return TRUE;
  return FALSE;
}

static const char *
field_string (const GLogField *fields,
              gsize            n_fields,
              const char      *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, key) == 0 && fields[i].length < 0)
      return fields[i].value;
  return NULL;
}

static gboolean
is_fatal (GLogLevelFlags  level,
          const char     *domain)
{
  if (level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return TRUE;
  if (!(level & G_LOG_LEVEL_WARNING))
    return FALSE;
  /* GLib's own warnings (a property value out of range, an invalid cast, a source
   * removed twice) are always bugs of the caller. */
  if (domain != NULL && g_str_has_prefix (domain, "GLib"))
    return TRUE;
  return (fuzz_flags & TETHER_FUZZ_FATAL_WARNINGS) != 0;
}

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (is_fatal (level, field_string (fields, n_fields, "GLIB_DOMAIN"))
      && !is_known (field_string (fields, n_fields, "MESSAGE")))
    {
      g_log_writer_standard_streams (level, fields, n_fields, NULL);
      fprintf (stderr, "tether-fuzz: a fatal log message; aborting so the input is kept\n");
      abort ();
    }
  if (verbose)
    return g_log_writer_standard_streams (level, fields, n_fields, NULL);
  return G_LOG_WRITER_HANDLED;
}

void
tether_fuzz_init (TetherFuzzFlags flags)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      fuzz_flags = flags;
      verbose = g_getenv ("TETHER_FUZZ_VERBOSE") != NULL;
      if (g_getenv ("TETHER_FUZZ_IGNORE") != NULL)
        known = g_strsplit (g_getenv ("TETHER_FUZZ_IGNORE"), "|", -1);
      /* No system bus, no GIO modules probing the machine: each run the same. */
      g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
      g_setenv ("GIO_USE_VFS", "local", TRUE);
      g_setenv ("GIO_USE_NETWORK_MONITOR", "base", TRUE);
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_once_init_leave (&once, 1);
    }
}

gboolean
tether_fuzz_verbose (void)
{
  return verbose;
}

char *
tether_fuzz_strndup (const uint8_t *data,
                     size_t         size)
{
  char *copy = g_malloc (size + 1);

  if (size > 0)
    memcpy (copy, data, size);
  copy[size] = '\0';
  return copy;
}

void
tether_fuzz_fail (const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (is_known (message))
    return;
  fprintf (stderr, "tether-fuzz: %s\n", message);
  abort ();
}
