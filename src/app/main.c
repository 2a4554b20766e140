/* main.c: the tether program
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>

#include "tether-application.h"
#include <srt/srt.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TetherApplication) app = NULL;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gst_init (NULL, NULL);
  /* One libsrt user for the life of the process: libsrt 1.5 crashes at exit when it
   * was cleaned up and started again (each demo session, each player attempt). */
  srt_startup ();
  app = tether_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_clear_object (&app);
  srt_cleanup ();
  return status;
}
