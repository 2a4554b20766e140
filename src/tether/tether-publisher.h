/* tether-publisher.h: capture → H.264/AAC in MPEG-TS → SRT to a media node, with the
 * publish state machine of docs/design.md
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tether-media-session.h"
#include "tether-room.h"

G_BEGIN_DECLS

/**
 * TetherPublisherState:
 * @TETHER_PUBLISHER_STATE_NO_PUBLISH: not publishing (initial, stopped, or given up
 *   with an error)
 * @TETHER_PUBLISHER_STATE_PUBLISH_REQUESTING: trying media nodes
 * @TETHER_PUBLISHER_STATE_PUBLISHING: a media node takes the data
 *
 * The publish states (see docs/design.md, 'Media states and reasons'); the numeric values
 * are part of the contract and equal #TetherMediaSessionState's.
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
/**
 * TetherPublisher:
 *
 * Publishes one stream into a room: capture (a test picture or the camera), H.264 and
 * AAC/Opus in MPEG-TS, SRT to a media node, and the stream announced in the room once
 * the node takes the data. The state machine, the failover rule and the link
 * statistics are #TetherMediaSession's.
 */
G_DECLARE_FINAL_TYPE (TetherPublisher, tether_publisher, TETHER, PUBLISHER, TetherMediaSession)

TetherPublisher      *tether_publisher_new             (TetherRoom      *room,
                                                        const char      *stream_id,
                                                        double           av_retry_time);
gboolean              tether_publisher_start           (TetherPublisher *self,
                                                        GError         **error);
void                  tether_publisher_stop            (TetherPublisher *self);

TetherPublisherState  tether_publisher_get_state       (TetherPublisher *self);
gint64                tether_publisher_get_bytes_sent  (TetherPublisher *self);
void                  tether_publisher_set_source      (TetherPublisher      *self,
                                                        TetherPublisherSource source);
void                  tether_publisher_set_device      (TetherPublisher      *self,
                                                        GstDevice            *device);

const char           *tether_publisher_state_to_string (TetherPublisherState state);

G_END_DECLS
