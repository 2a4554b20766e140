/* tether-test-stats.h: figures from a series of measurements, for the tests that
 * report them and the benches
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

double  tether_test_percentile  (GArray *values,
                                 double  p);

G_END_DECLS
