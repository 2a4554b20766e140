/* main.c: the tether program
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "tether-application.h"
#include "tether-media.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TetherApplication) app = NULL;
  int status;

#ifdef __GLIBC__
  /* Video frames (0.3–1 MB) are allocated and freed by streaming threads that come and go
   * with the streams. glibc raises its mmap threshold after the first such free, so later
   * frames come from per-thread arenas that fragment and never shrink: RSS kept growing
   * over a demo soak. A fixed threshold (which also fixes the trim threshold) keeps big
   * blocks in mmap, given back when freed (docs/benchmarks.md, "Viewer app: CPU and
   * memory"). */
  mallopt (M_MMAP_THRESHOLD, 128 * 1024);
#endif
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gst_init (NULL, NULL);
  /* libsrt for the life of the process (libtether owns it; see tether_media_init()). */
  tether_media_init (NULL);
  app = tether_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_clear_object (&app);
  return status;
}
