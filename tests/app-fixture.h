/* app-fixture.h: the fixture and helpers the app tests share (see app-fixture.c)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>
#include <gst/gst.h>

#include "tether.h"
#include "tether-fault-proxy.h"
#include "tether-test-server.h"
#include "tether-test-tls.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"
#include "tether-relay.h"
#include "tether-window-private.h"

G_BEGIN_DECLS

#define HEARTBEAT_TIMEOUT 8.0
#define HEARTBEAT_INTERVAL 0.3
#define WAIT_MS 15000

typedef struct
{
  TetherTestServer *server;
  TetherFaultProxy *proxy;
  TetherRelay *relay;
  TetherSession *session;
  TetherWindow *window;
  /* a host: its own engine, room and publisher */
  TetherEngine *host_engine;
  TetherRoom *host_room;
  TetherPublisher *publisher;
} Fixture;

gboolean app_fixture_init (int *argc, char ***argv);
void fixture_setup (Fixture *f, gconstpointer data);
void fixture_teardown (Fixture *f, gconstpointer data);
/* Registers one more media node @id at @url (srt://…) with the server. */
void add_media_node (Fixture *f, const char *id, const char *url);

/* The session joins "lobby" as @user_id with @token, through the fault proxy. */
void session_join (Fixture *f, const char *user_id, const char *user_name, const char *token);
/* The window joins "lobby" as @user_id, through the fault proxy. */
void window_join (Fixture *f, const char *user_id);
TetherRoomState badge_state (Fixture *f);
gboolean badge_in (Fixture *f);
/* A host logs into "lobby" directly (no proxy) with its own engine; publishes @stream_id. */
void host_login (Fixture *f, const char *user_id);
void host_publish (Fixture *f, const char *stream_id);
/* The same on media node @node (NULL: the room's choice). */
void host_publish_on (Fixture *f, const char *stream_id, const char *node);
/* A second media node, "node-b", the same relay behind a UDP fault proxy (returned). */
TetherUdpFaultProxy *add_proxied_media_node (Fixture *f);
guint64 tile_frames (Fixture *f, const char *stream_id);
gboolean tile_playing (Fixture *f, const char *stream_id);
/* Frames keep arriving in the tile's paintable: @n more than now. */
gboolean wait_tile_frames (Fixture *f, const char *stream_id, guint n);
gboolean room_has_stream (TetherRoom *room, const char *stream_id);
/* gtk_widget_snapshot → the window's renderer → PNG @name in G_TEST_BUILDDIR. */
void save_screenshot (GtkWidget *widget, const char *name);

#define APP_TEST_ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

G_END_DECLS
