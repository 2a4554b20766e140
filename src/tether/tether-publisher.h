/* tether-publisher.h: capture → H.264/AAC in MPEG-TS → SRT to a media node, with the
 * publish state machine of DESIGN.md section 3
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-room.h"

G_BEGIN_DECLS

/**
 * TetherPublisherState:
 *
 * The publish states of DESIGN.md; the numeric values are part of the contract.
 */
typedef enum
{
  TETHER_PUBLISHER_STATE_NO_PUBLISH = 0,
  TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING = 1,
  TETHER_PUBLISHER_STATE_PUBLISHING = 2,
} TetherPublisherState;

/**
 * TetherPublisherSource:
 * @TETHER_PUBLISHER_SOURCE_TEST: a moving test picture and a tone
 * @TETHER_PUBLISHER_SOURCE_CAMERA: the camera (PipeWire, else V4L2) and the microphone
 */
typedef enum
{
  TETHER_PUBLISHER_SOURCE_TEST = 0,
  TETHER_PUBLISHER_SOURCE_CAMERA = 1,
} TetherPublisherSource;

#define TETHER_TYPE_PUBLISHER (tether_publisher_get_type ())
G_DECLARE_FINAL_TYPE (TetherPublisher, tether_publisher, TETHER, PUBLISHER, GObject)

/*
 * Properties:
 *   "room"           TetherRoom             construct-only
 *   "stream-id"      string                 construct-only
 *   "av-retry-time"  double                 seconds of retrying after a media break (1200)
 *   "source"         TetherPublisherSource  (TEST); read at start
 *   "node"           string                 preferred media node id, NULL = the first; read at start
 *   "extra"          string                 application data announced with the stream
 *   "width" "height" "framerate"  uint      test/camera picture (640×360 at 30)
 *   "audio"          boolean                send audio too (TRUE)
 *   "latency"        uint                   SRT latency in ms (120)
 *   "state"          TetherPublisherState   read-only
 *   "error-code"     int                    read-only, the code of the last state change
 *   "current-node"   string                 read-only, the node in use or being tried
 *   "bytes-sent"     int64                  read-only, updated about once a second
 *
 * Signals:
 *   "state-changed" (TetherPublisherState state, int error_code, const char *extended_data)
 *      extended_data is a JSON object with "stream_id", "node", "attempt" and, for
 *      failures, "reject" (the SRT reject reason) and "message".
 */

TetherPublisher      *tether_publisher_new             (TetherRoom      *room,
                                                        const char      *stream_id,
                                                        double           av_retry_time);
gboolean              tether_publisher_start           (TetherPublisher *self,
                                                        GError         **error);
void                  tether_publisher_stop            (TetherPublisher *self);

TetherRoom           *tether_publisher_get_room        (TetherPublisher *self);
const char           *tether_publisher_get_stream_id   (TetherPublisher *self);
TetherPublisherState  tether_publisher_get_state       (TetherPublisher *self);
int                   tether_publisher_get_error_code  (TetherPublisher *self);
const char           *tether_publisher_get_current_node (TetherPublisher *self);
gint64                tether_publisher_get_bytes_sent  (TetherPublisher *self);
void                  tether_publisher_set_source      (TetherPublisher      *self,
                                                        TetherPublisherSource source);
void                  tether_publisher_set_node        (TetherPublisher *self,
                                                        const char      *node_id);
void                  tether_publisher_set_av_retry_time (TetherPublisher *self,
                                                          double           seconds);

const char           *tether_publisher_state_to_string (TetherPublisherState state);

G_END_DECLS
