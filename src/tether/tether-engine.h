/* tether-engine.h: the session manager — configuration, network and sleep watching,
 * and the rooms it owns
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-login-options.h"
#include "tether-room.h"

G_BEGIN_DECLS

#define TETHER_TYPE_ENGINE (tether_engine_get_type ())
G_DECLARE_FINAL_TYPE (TetherEngine, tether_engine, TETHER, ENGINE, GObject)

TetherEngine *tether_engine_new              (void);
TetherEngine *tether_engine_new_with_monitor (GNetworkMonitor  *monitor);
gboolean      tether_engine_set_config       (TetherEngine     *self,
                                              const char       *config,
                                              GError          **error);
double        tether_engine_get_room_retry_time (TetherEngine  *self);
double        tether_engine_get_av_retry_time   (TetherEngine  *self);
const char   *tether_engine_get_tls_ca_file     (TetherEngine  *self);
gboolean      tether_engine_set_tls_ca_file     (TetherEngine  *self,
                                                 const char    *ca_file,
                                                 GError       **error);
TetherRoom   *tether_engine_login_room       (TetherEngine       *self,
                                              TetherLoginOptions *options);
TetherRoom   *tether_engine_switch_room      (TetherEngine     *self,
                                              TetherRoom       *from,
                                              const char       *room_id,
                                              const char       *token);
void          tether_engine_logout_room      (TetherEngine     *self,
                                              TetherRoom       *room);
void          tether_engine_reconnect_now    (TetherEngine     *self);
GListModel   *tether_engine_get_rooms        (TetherEngine     *self);

G_END_DECLS
