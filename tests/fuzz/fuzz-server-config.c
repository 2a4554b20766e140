/* fuzz-server-config.c: tether-server's config file (the [server] group read by
 * --config) through the program's own parser, tether-server-config.c: the key file,
 * the HOST:PORT addresses, the option checks, and the options applied to a
 * TetherServer exactly as tether-server-main.c applies them.
 *
 * Input: the key file text. Whatever the parser accepts must apply cleanly: a GLib
 * warning (a value out of range for a property) or critical is a finding.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-server-config.h"
#include "fuzz-common.h"

static void
check_listen (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (text == NULL)
    return;
  if (tether_server_parse_listen (text, &host, &port, &error))
    TETHER_FUZZ_CHECK (host != NULL && error == NULL);
  else
    TETHER_FUZZ_CHECK (host == NULL && error != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherServer) server = NULL;
  TetherServerOptions o;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  if (!g_key_file_load_from_data (kf, (const char *) data, size, G_KEY_FILE_NONE, NULL))
    return 0;

  tether_server_options_init (&o);
  if (!tether_server_options_apply_key_file (&o, kf, "fuzz.conf", &error))
    {
      TETHER_FUZZ_CHECK (error != NULL);
      tether_server_options_clear (&o);
      return 0;
    }

  check_listen (o.listen);
  check_listen (o.media_listen);
  if (tether_server_options_check (&o, NULL))
    {
      server = tether_server_new (o.app_id != NULL ? o.app_id : "demo", TETHER_FUZZ_SECRET);
      g_clear_error (&error);
      if (!tether_server_options_configure (&o, server, &error))
        TETHER_FUZZ_CHECK (error != NULL);
    }
  tether_server_options_clear (&o);
  return 0;
}
