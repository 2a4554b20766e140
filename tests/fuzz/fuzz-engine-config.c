/* fuzz-engine-config.c: TetherEngine's string configuration, tether_engine_set_config()
 * (the `--config` of tether-cli and the app), e.g. `room_retry_time=1200;av_retry_time=30.5`.
 *
 * Input: the config string (a NUL ends it, as in the C API). A setting that is
 * accepted must land in the engine's properties: GLib warning that a value is out of
 * range for its property is a finding.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "tether-engine.h"
#include "tether-error.h"
#include "fuzz-common.h"

static TetherEngine *engine;

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *config = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);
  if (engine == NULL)
    {
      /* One engine for every run (creating one starts a SoupSession); set_config does
       * not depend on what earlier runs set. */
      engine = tether_engine_new ();
    }

  config = tether_fuzz_strndup (data, size);
  ok = tether_engine_set_config (engine, config, &error);
  if (!ok)
    {
      TETHER_FUZZ_CHECK (error != NULL && error->domain == TETHER_ERROR);
      TETHER_FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL) || !g_utf8_validate (config, -1, NULL));
      return 0;
    }
  TETHER_FUZZ_CHECK (error == NULL);

  /* Whatever was accepted is a usable number of seconds. */
  TETHER_FUZZ_CHECK (isfinite (tether_engine_get_room_retry_time (engine))
                     && tether_engine_get_room_retry_time (engine) > 0);
  TETHER_FUZZ_CHECK (isfinite (tether_engine_get_av_retry_time (engine))
                     && tether_engine_get_av_retry_time (engine) > 0);
  return 0;
}
