/* tether-media-session.h: what a publisher and a player share — the media-node walk,
 * the retry window, backoff, the state change, link statistics and the SRT link
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include "tether-room.h"

G_BEGIN_DECLS

/**
 * TetherMediaSessionState:
 * @TETHER_MEDIA_SESSION_STATE_IDLE: not started, stopped or given up (NO_PUBLISH, NO_PLAY)
 * @TETHER_MEDIA_SESSION_STATE_REQUESTING: trying media nodes (PUBLISH_REQUESTING,
 *   PLAY_REQUESTING)
 * @TETHER_MEDIA_SESSION_STATE_ACTIVE: media flows (PUBLISHING, PLAYING)
 *
 * The states every media session goes through; #TetherPublisherState and
 * #TetherPlayerState have the same numeric values under their own names.
 */
typedef enum
{
  TETHER_MEDIA_SESSION_STATE_IDLE = 0,
  TETHER_MEDIA_SESSION_STATE_REQUESTING = 1,
  TETHER_MEDIA_SESSION_STATE_ACTIVE = 2,
} TetherMediaSessionState;

#define TETHER_TYPE_MEDIA_SESSION (tether_media_session_get_type ())
G_DECLARE_DERIVABLE_TYPE (TetherMediaSession, tether_media_session, TETHER, MEDIA_SESSION, GObject)

/**
 * TetherMediaSessionClass:
 * @prepare_attempt: builds what one attempt needs and returns (transfer none) the
 *   element the SRT link attaches to: the player's appsrc (payloads go in, link events
 *   are posted from it), the publisher's appsink (link events are posted from it).
 *   On failure the session gives up with the #GError's code.
 * @end_attempt: undoes @prepare_attempt; the link is already stopped and joined
 * @link_connected: the SRT handshake of the current attempt succeeded
 * @link_first_data: the first payload of the current attempt went out or came in
 * @bus_message: a message of the watched pipeline other than the link's own
 * @update_stats: the statistics window turned; @seconds is its length, 0 when a new
 *   window starts (a new link)
 * @ending: the session is about to become idle, for @reason (a stream DELETE reason:
 *   "stopped", "media_lost", or %NULL); release what start set up
 *
 * The hooks of the subclasses that libtether has (#TetherPublisher, #TetherPlayer).
 */
struct _TetherMediaSessionClass
{
  GObjectClass parent_class;

  /*< public >*/
  GstElement *(*prepare_attempt) (TetherMediaSession  *self,
                                  GError             **error);
  void        (*end_attempt)     (TetherMediaSession  *self);
  void        (*link_connected)  (TetherMediaSession  *self);
  void        (*link_first_data) (TetherMediaSession  *self);
  void        (*bus_message)     (TetherMediaSession  *self,
                                  GstMessage          *message);
  void        (*update_stats)    (TetherMediaSession  *self,
                                  double               seconds);
  void        (*ending)          (TetherMediaSession  *self,
                                  const char          *reason);

  /*< private >*/
  gconstpointer info;
  GParamSpec *state_pspec;
  guint state_changed_signal;
  gpointer padding[8];
};

TetherRoom              *tether_media_session_get_room           (TetherMediaSession *self);
const char              *tether_media_session_get_stream_id      (TetherMediaSession *self);
TetherMediaSessionState  tether_media_session_get_state          (TetherMediaSession *self);
int                      tether_media_session_get_error_code     (TetherMediaSession *self);
const char              *tether_media_session_get_node           (TetherMediaSession *self);
void                     tether_media_session_set_node           (TetherMediaSession *self,
                                                                  const char         *node);
const char              *tether_media_session_get_current_node   (TetherMediaSession *self);
guint                    tether_media_session_get_attempt        (TetherMediaSession *self);
double                   tether_media_session_get_av_retry_time  (TetherMediaSession *self);
void                     tether_media_session_set_av_retry_time  (TetherMediaSession *self,
                                                                  double              seconds);
double                   tether_media_session_get_bitrate        (TetherMediaSession *self);
double                   tether_media_session_get_rtt            (TetherMediaSession *self);
gint64                   tether_media_session_get_packets_lost   (TetherMediaSession *self);

G_END_DECLS
