/* tether-player-stats.h: what a player measures once a second (picture, frames, SRT
 * link, latency) and the network quality it derives from them
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * TetherStreamQuality:
 * @TETHER_STREAM_QUALITY_UNKNOWN: nothing measured yet (not playing)
 * @TETHER_STREAM_QUALITY_EXCELLENT: under 1% loss and under 100 ms round trip
 * @TETHER_STREAM_QUALITY_GOOD: under 5% loss and under 250 ms round trip
 * @TETHER_STREAM_QUALITY_POOR: under 15% loss and under 500 ms round trip
 * @TETHER_STREAM_QUALITY_BAD: more loss or a longer round trip
 *
 * The quality of a stream's network path over the last second, from the SRT link's
 * packet loss and round-trip time (see tether_stream_quality_from_network()): the
 * worse of the two decides.
 */
typedef enum
{
  TETHER_STREAM_QUALITY_UNKNOWN = 0,
  TETHER_STREAM_QUALITY_EXCELLENT = 1,
  TETHER_STREAM_QUALITY_GOOD = 2,
  TETHER_STREAM_QUALITY_POOR = 3,
  TETHER_STREAM_QUALITY_BAD = 4,
} TetherStreamQuality;

/**
 * TetherPlayerStats:
 * @width: the decoded picture's width in pixels, 0 before the first frame
 * @height: the decoded picture's height in pixels, 0 before the first frame
 * @fps: frames decoded per second over the last second
 * @bitrate: bits per second received over the last second
 * @frames_decoded: frames decoded since the player was created
 * @frames_dropped: frames the video sink dropped as too late, in the current attempt
 * @latency_ms: the delay on the receiving side, in milliseconds: half the round trip,
 *   SRT's receive (TSBPD) latency, and the pipeline's reported latency moved by the
 *   live-edge alignment; what the publisher and the media node add is not included
 * @rtt_ms: the SRT link's smoothed round-trip time, in milliseconds
 * @loss_rate: the share of packets lost over the last second, 0 to 1 (before
 *   retransmission: what the network did, not what the picture lost)
 * @packets_received: data packets received on the current link
 * @packets_lost: data packets detected lost on the current link
 * @packets_retransmitted: retransmitted packets received on the current link
 * @packets_dropped: packets SRT gave up on (too late to play) on the current link
 * @quality: the network quality derived from @loss_rate and @rtt_ms (bad when no
 *   packet came in the last second)
 *
 * A #TetherPlayer's statistics, refreshed once a second while it plays
 * (#TetherPlayer:stats). The link counters start from zero with each attempt.
 */
typedef struct
{
  int width;
  int height;
  double fps;
  double bitrate;
  guint64 frames_decoded;
  guint64 frames_dropped;
  double latency_ms;
  double rtt_ms;
  double loss_rate;
  gint64 packets_received;
  gint64 packets_lost;
  gint64 packets_retransmitted;
  gint64 packets_dropped;
  TetherStreamQuality quality;
} TetherPlayerStats;

#define TETHER_TYPE_PLAYER_STATS (tether_player_stats_get_type ())

GType               tether_player_stats_get_type          (void) G_GNUC_CONST;
TetherPlayerStats  *tether_player_stats_copy              (const TetherPlayerStats *stats);
void                tether_player_stats_free              (TetherPlayerStats       *stats);

TetherStreamQuality tether_stream_quality_from_network    (double                   loss_rate,
                                                           double                   rtt_ms);
const char         *tether_stream_quality_to_string       (TetherStreamQuality      quality);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherPlayerStats, tether_player_stats_free)

G_END_DECLS
