/* tether-test-stats.c: figures from a series of measurements
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "tether-test-stats.h"

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * tether_test_percentile:
 * @values: (element-type double): the measurements; sorted in place
 * @p: the percentile, 0 to 100 (100: the largest)
 *
 * Nearest-rank percentile.
 *
 * Returns: the value of rank ⌈@p/100 × n⌉, or NaN for no values
 */
double
tether_test_percentile (GArray *values,
                        double  p)
{
  guint rank;

  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_doubles);
  rank = (guint) ceil (p / 100.0 * values->len);
  rank = CLAMP (rank, 1, values->len);
  return g_array_index (values, double, rank - 1);
}
