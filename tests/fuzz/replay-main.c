/* replay-main.c: runs a harness over its corpus without libFuzzer, so the normal (gcc)
 * build replays every seed and every saved crash as an ordinary test.
 *
 *   fuzz-replay-NAME DIR|FILE...
 *
 * Each file is one input; directories are read in name order (not recursively).
 * A failing input aborts the program after its name was printed.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  printf ("%s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
  fflush (stdout);
  /* A copy of exactly len bytes, so ASan sees a read past the input. */
  {
    g_autofree uint8_t *input = g_memdup2 (contents, len);

    LLVMFuzzerTestOneInput (input, len);
  }
  return TRUE;
}

static gboolean
run_dir (const char *path,
         guint      *count)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);

      if (g_file_test (file, G_FILE_TEST_IS_DIR))
        continue;
      if (!run_file (file))
        return FALSE;
      (*count)++;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  guint count = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s DIR|FILE...\n", argv[0]);
      return EXIT_FAILURE;
    }

  for (int i = 1; i < argc; i++)
    {
      gboolean ok;

      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        ok = run_dir (argv[i], &count);
      else
        ok = run_file (argv[i]) && ++count;
      if (!ok)
        return EXIT_FAILURE;
    }

  if (count == 0)
    {
      fprintf (stderr, "no inputs found: an empty corpus replays nothing\n");
      return EXIT_FAILURE;
    }
  printf ("%u inputs replayed\n", count);
  return EXIT_SUCCESS;
}
