/* main.c: the tether program
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <locale.h>

#include "tether-application.h"
#include "tether-media.h"

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
  /* libsrt for the life of the process (libtether owns it; see tether_media_init()). */
  tether_media_init (NULL);
  app = tether_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_clear_object (&app);
  return status;
}
