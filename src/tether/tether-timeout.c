/* tether-timeout.c: timers of any length libtether allows
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "tether-timeout-private.h"

/* Beyond this, milliseconds no longer matter and no longer fit in a guint
 * (G_MAXUINT ms is about 49.7 days; timing settings go up to 365 days). */
#define MAX_MS_TIMEOUT_SECONDS (24.0 * 3600)

/**
 * tether_timeout_source_new:
 * @seconds: the delay; negative or NaN counts as 0
 *
 * A timeout source that fires after @seconds, however long: millisecond precision
 * up to a day, then whole seconds (a cast to guint milliseconds would wrap a
 * 365-day retry window into 17 days).
 *
 * Returns: (transfer full): the source, not attached
 */
GSource *
tether_timeout_source_new (double seconds)
{
  if (!(seconds > 0))
    return g_timeout_source_new (0);
  if (seconds <= MAX_MS_TIMEOUT_SECONDS)
    return g_timeout_source_new ((guint) llround (seconds * 1000.0));
  return g_timeout_source_new_seconds ((guint) MIN (ceil (seconds), (double) G_MAXUINT));
}
