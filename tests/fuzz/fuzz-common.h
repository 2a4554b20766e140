/* fuzz-common.h: what every libFuzzer harness in tests/fuzz shares — the entry point,
 * a log writer that turns GLib criticals into crashes, and fixed credentials
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* The app and secret every harness (and tests/fuzz/make-seeds.py) signs with, and the
 * clock the token checks run at, so a seed token stays valid forever. */
#define TETHER_FUZZ_APP_ID "demo"
#define TETHER_FUZZ_SECRET "tether-fuzz-secret"
#define TETHER_FUZZ_NOW ((gint64) 1700000000)

typedef enum
{
  TETHER_FUZZ_NONE = 0,
  /* Every g_warning() is a finding, not just those of GLib itself. */
  TETHER_FUZZ_FATAL_WARNINGS = 1 << 0,
} TetherFuzzFlags;

/* libFuzzer's entry point, defined once by each harness. */
int    LLVMFuzzerTestOneInput (const uint8_t *data,
                               size_t         size);

/* Called first in LLVMFuzzerTestOneInput; only the first call does anything.
 * Criticals, errors (and warnings with TETHER_FUZZ_FATAL_WARNINGS, or from a GLib
 * domain) abort, so libFuzzer keeps the input; everything else is dropped unless
 * TETHER_FUZZ_VERBOSE is set. TETHER_FUZZ_IGNORE='text|text' lets a long run go past
 * findings already reported: a message containing one of the texts does not abort. */
void   tether_fuzz_init       (TetherFuzzFlags flags);

/* Whether TETHER_FUZZ_VERBOSE is set: harnesses may then trace what they see. */
gboolean tether_fuzz_verbose  (void);

/* A nul-terminated copy of the input, as the C string APIs want it. */
char  *tether_fuzz_strndup    (const uint8_t *data,
                               size_t         size);

/* Aborts with a message: an invariant the code under test promised does not hold.
 * Returns only when TETHER_FUZZ_IGNORE names the message as already reported. */
void   tether_fuzz_fail       (const char *format,
                               ...) G_GNUC_PRINTF (1, 2);

#define TETHER_FUZZ_CHECK(expr)                                                     \
  G_STMT_START {                                                                    \
    if (G_UNLIKELY (!(expr)))                                                       \
      tether_fuzz_fail ("%s:%d: check failed: %s", __FILE__, __LINE__, #expr);      \
  } G_STMT_END

G_END_DECLS
