/* tether.h: the public header of libtether
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-error.h"
#include "tether-token.h"
#include "tether-user.h"
#include "tether-stream.h"
#include "tether-reconnect-report.h"
#include "tether-login-options.h"
#include "tether-room.h"
#include "tether-srt-url.h"
#include "tether-engine.h"
#include "tether-media.h"
#include "tether-media-session.h"
#include "tether-publisher.h"
#include "tether-player-stats.h"
#include "tether-player.h"
#include "tether-autoplay.h"
#include "tether-guest.h"
#include "tether-link.h"
#include "tether-enum-types.h"
