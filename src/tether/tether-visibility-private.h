/* tether-visibility-private.h: which symbols libtether-1.so exports
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Included first in every file of libtether (-include, see src/tether/meson.build),
 * which is compiled with -fvisibility=hidden. The first declaration of a function fixes
 * its visibility: what tether.h declares is exported, everything else (the *-private.h
 * functions, tether_protocol_*, tether_timeout_*, ...) stays inside the library. */
#pragma once

#pragma GCC visibility push(default)
#include "tether.h"
#pragma GCC visibility pop
