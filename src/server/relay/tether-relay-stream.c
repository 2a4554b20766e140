/* tether-relay-stream.c: one stream id on the node — its publisher's TS headers, the
 * GOP cache, fan-out of every packet to its players, and the checks on its players'
 * room and its key frames (SRT thread)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-relay-core.h"

/* Video with no key frame for this long is worth a line in the log: players wait for
 * one. Longer than the longest GOP encoders use by default (x264: 250 frames). */
#define NO_KEY_FRAME_WARN_US (20 * G_TIME_SPAN_SECOND)

void
relay_stream_free (RelayStream *stream)
{
  g_free (stream->id);
  g_byte_array_unref (stream->gop);
  g_byte_array_unref (stream->fanout);
  g_ptr_array_unref (stream->players);
  g_clear_pointer (&stream->pull, relay_pull_free);
  g_free (stream);
}

/* The stream of @id, made when its first publisher or player arrives. */
RelayStream *
relay_stream_lookup_or_add (RelayCore  *core,
                            const char *id)
{
  RelayStream *stream = g_hash_table_lookup (core->streams, id);

  if (stream == NULL)
    {
      stream = g_new0 (RelayStream, 1);
      stream->id = g_strdup (id);
      stream->gop = g_byte_array_new ();
      stream->fanout = g_byte_array_new ();
      stream->players = g_ptr_array_new ();
      tether_ts_tracker_reset (&stream->ts);
      g_hash_table_insert (core->streams, stream->id, stream);
    }
  return stream;
}

/* Its publisher left or changed: what was cached and tracked is of the old one. */
void
relay_stream_forget_media (RelayStream *stream)
{
  tether_ts_tracker_reset (&stream->ts);
  g_byte_array_set_size (stream->gop, 0);
  stream->gop_valid = FALSE;
  stream->key_frame_at = g_get_monotonic_time ();
  stream->key_frame_late = FALSE;
  stream->media_started = FALSE;
  /* Players wait for the next publisher's key frame: its timestamps, continuity
   * counters and parameter sets are new. */
  for (guint i = 0; i < stream->players->len; i++)
    ((RelayConn *) g_ptr_array_index (stream->players, i))->started = FALSE;
}

void
relay_stream_remove_if_unused (RelayCore   *core,
                               RelayStream *stream)
{
  if (stream->publisher == NULL && stream->players->len == 0 && stream->pull == NULL)
    g_hash_table_remove (core->streams, stream->id);
}

static void
stream_start_waiting_players (RelayCore   *core,
                              RelayStream *stream)
{
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (!player->started)
        relay_player_start (core, player);
    }
}

/* One TS packet from the publisher: tracked, cached from each key frame on (within
 * the GOP bound), handed to every started player. */
void
relay_stream_packet (RelayCore    *core,
                     RelayStream  *stream,
                     const guint8 *packet)
{
  if (tether_ts_tracker_feed (&stream->ts, packet))
    {
      stream->key_frame_at = g_get_monotonic_time ();
      stream->key_frame_late = FALSE;
      g_byte_array_set_size (stream->gop, 0);
      stream->gop_valid = tether_ts_tracker_has_headers (&stream->ts);
      if (stream->gop_valid)
        stream_start_waiting_players (core, stream);
    }
  else if (tether_ts_tracker_is_audio_only (&stream->ts))
    stream_start_waiting_players (core, stream);

  /* Media flows from here on: the room service may show the stream (an ingest). On
   * the PMT, not on a key frame: a publisher that never sends one must still be
   * seen, and its players wait for one (docs/protocol.md, "Key frames"). */
  if (!stream->media_started && stream->publisher != NULL && stream->publisher->pull_origin == NULL
      && tether_ts_tracker_has_headers (&stream->ts))
    {
      stream->media_started = TRUE;
      relay_core_emit (core, RELAY_EVENT_MEDIA_STARTED, stream->id, stream->publisher->user_id,
                       stream->publisher->room_id, NULL);
    }

  if (stream->gop_valid)
    {
      if (stream->gop->len + TETHER_TS_PACKET_SIZE > core->gop_max)
        {
          /* Unbounded GOPs would let one publisher eat the node's memory. */
          g_byte_array_set_size (stream->gop, 0);
          stream->gop_valid = FALSE;
        }
      else
        g_byte_array_append (stream->gop, packet, TETHER_TS_PACKET_SIZE);
    }

  /* Sent to the started players once the read is done (relay_stream_fan_out()). */
  g_byte_array_append (stream->fanout, packet, TETHER_TS_PACKET_SIZE);
}

/* Players of another room than the stream's owner (or, for a pulled stream, than
 * the room the locate func named) go. A player may ask before the publisher is
 * accepted, or before the room service names the room. */
void
relay_stream_check_players (RelayCore   *core,
                            RelayStream *stream,
                            gint64       now)
{
  g_mutex_lock (&core->access_lock);
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (player->close_reason == NULL
          && (!tether_relay_owners_room_allows (core->owners, stream->id, player->room_id, now)
              || !relay_pull_room_allows (stream, player)))
        {
          g_message ("Relay: closing player %s of stream %s: the stream belongs to another room",
                     player->user_id, stream->id);
          relay_conn_doom (core, player, "forbidden");
        }
    }
  g_mutex_unlock (&core->access_lock);
}

/* Players once more when a claim named a room, and a word in the log for video
 * that never brings a key frame (its players wait for one). */
void
relay_check_streams (RelayCore *core,
                     gint64     now)
{
  GHashTableIter iter;
  RelayStream *stream;
  guint generation;

  g_mutex_lock (&core->access_lock);
  generation = tether_relay_owners_get_generation (core->owners);
  g_mutex_unlock (&core->access_lock);

  g_hash_table_iter_init (&iter, core->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream))
    {
      if (generation != core->owners_generation)
        relay_stream_check_players (core, stream, now);

      /* A pull has its own checks (relay_pull_tick()). */
      if (stream->publisher != NULL && stream->publisher->pull_origin != NULL)
        continue;

      if (stream->publisher != NULL && stream->publisher->close_reason == NULL
          && now - stream->publisher->last_data_at >= RELAY_PUBLISHER_IDLE_US)
        {
          g_message ("Relay: publisher %s of stream %s sent nothing for %d s",
                     stream->publisher->user_id, stream->id,
                     (int) (RELAY_PUBLISHER_IDLE_US / G_USEC_PER_SEC));
          relay_conn_doom (core, stream->publisher, TETHER_RELAY_REASON_IDLE);
        }

      if (stream->publisher != NULL && !stream->key_frame_late
          && now - stream->key_frame_at > NO_KEY_FRAME_WARN_US
          && tether_ts_tracker_has_headers (&stream->ts)
          && !tether_ts_tracker_is_audio_only (&stream->ts))
        {
          stream->key_frame_late = TRUE;
          g_message ("Relay: publisher %s of stream %s sent no video key frame in %d s; "
                     "its players wait for one (docs/protocol.md, SRT, \"Key frames\")",
                     stream->publisher->user_id, stream->id,
                     (int) (NO_KEY_FRAME_WARN_US / G_USEC_PER_SEC));
        }
    }
  core->owners_generation = generation;
}
