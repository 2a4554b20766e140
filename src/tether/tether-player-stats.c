/* tether-player-stats.c: TetherPlayerStats, a boxed copy of a player's measurements,
 * and the network quality rule
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-player-stats.h"

G_DEFINE_BOXED_TYPE (TetherPlayerStats, tether_player_stats,
                     tether_player_stats_copy, tether_player_stats_free)

/**
 * tether_player_stats_copy:
 * @stats: a #TetherPlayerStats
 *
 * Returns: (transfer full): a copy of @stats
 */
TetherPlayerStats *
tether_player_stats_copy (const TetherPlayerStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);

  return g_memdup2 (stats, sizeof *stats);
}

/**
 * tether_player_stats_free:
 * @stats: a #TetherPlayerStats
 *
 * Frees a copy made by tether_player_stats_copy().
 */
void
tether_player_stats_free (TetherPlayerStats *stats)
{
  g_free (stats);
}

/* Upper bounds of each grade: loss share and round trip (ms). A live picture with SRT's
 * retransmission stays clean under about 1% loss on a LAN-like round trip; at 5% and a
 * quarter second the retransmissions start to eat into the latency budget; past 15% or
 * half a second frames are lost. */
static const struct
{
  double loss;
  double rtt_ms;
} grades[] = {
  [TETHER_STREAM_QUALITY_EXCELLENT] = { 0.01, 100 },
  [TETHER_STREAM_QUALITY_GOOD] = { 0.05, 250 },
  [TETHER_STREAM_QUALITY_POOR] = { 0.15, 500 },
};

/**
 * tether_stream_quality_from_network:
 * @loss_rate: the share of packets lost, 0 to 1
 * @rtt_ms: the round-trip time in milliseconds
 *
 * The grade of #TetherStreamQuality both numbers fit in.
 *
 * Returns: %TETHER_STREAM_QUALITY_EXCELLENT to %TETHER_STREAM_QUALITY_BAD
 */
TetherStreamQuality
tether_stream_quality_from_network (double loss_rate,
                                    double rtt_ms)
{
  for (int q = TETHER_STREAM_QUALITY_EXCELLENT; q <= TETHER_STREAM_QUALITY_POOR; q++)
    if (loss_rate < grades[q].loss && rtt_ms < grades[q].rtt_ms)
      return q;
  return TETHER_STREAM_QUALITY_BAD;
}

/**
 * tether_stream_quality_to_string:
 * @quality: a #TetherStreamQuality
 *
 * Returns: "unknown", "excellent", "good", "poor" or "bad"
 */
const char *
tether_stream_quality_to_string (TetherStreamQuality quality)
{
  switch (quality)
    {
    case TETHER_STREAM_QUALITY_EXCELLENT: return "excellent";
    case TETHER_STREAM_QUALITY_GOOD: return "good";
    case TETHER_STREAM_QUALITY_POOR: return "poor";
    case TETHER_STREAM_QUALITY_BAD: return "bad";
    case TETHER_STREAM_QUALITY_UNKNOWN:
    default: return "unknown";
    }
}
