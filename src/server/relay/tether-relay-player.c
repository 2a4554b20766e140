/* tether-relay-player.c: players — the fan-out of each publisher read to them, a
 * player's queue of TS packets handed to libsrt without blocking, its start on
 * headers and a key frame, and dropping it when it falls behind or stops reading
 * (SRT thread)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <srt/srt.h>

#include "tether-relay-core.h"

#define LIVE_PAYLOAD_SIZE (7 * TETHER_TS_PACKET_SIZE) /* 1316, SRT's live-mode message */
/* A player whose receive window stays shut this long after the latency is not reading. */
#define STALL_GRACE_US (1 * G_TIME_SPAN_SECOND)

static gsize
player_queued (RelayConn *conn)
{
  return conn->queue->len - conn->queue_off;
}

static void
player_update_events (RelayCore *core,
                      RelayConn *conn)
{
  gboolean want_out = player_queued (conn) > 0;
  int events = SRT_EPOLL_ERR | (want_out ? SRT_EPOLL_OUT : 0);

  if (want_out == conn->want_out)
    return;
  conn->want_out = want_out;
  srt_epoll_update_usock (core->eid, conn->sock, &events);
}

/* Queues whole TS packets; a player past its byte budget is dropped as slow. */
void
relay_player_enqueue (RelayCore    *core,
                      RelayConn    *conn,
                      const guint8 *data,
                      gsize         len)
{
  if (conn->close_reason != NULL || len == 0)
    return;
  if (player_queued (conn) + len > conn->queue_limit)
    {
      g_message ("Relay: dropping player %s of stream %s: %zu bytes behind",
                 conn->user_id, conn->stream->id, player_queued (conn));
      STATS_ADD (core, player_drops, 1);
      relay_conn_doom (core, conn, "slow");
      return;
    }
  g_byte_array_append (conn->queue, data, len);
}

/* Hands @data to libsrt in live-mode messages without blocking; returns how much it
 * took (less than @len when its send buffer is full), or -1 for a broken link. */
static gssize
player_send (RelayCore    *core,
             RelayConn    *conn,
             const guint8 *data,
             gsize         len)
{
  gsize sent = 0;

  while (sent < len)
    {
      gsize chunk = MIN (len - sent, LIVE_PAYLOAD_SIZE);

      if (srt_sendmsg2 (conn->sock, (const char *) data + sent, (int) chunk, NULL) == SRT_ERROR)
        {
          if (srt_getlasterror (NULL) == SRT_EASYNCSND)
            break;
          relay_conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
          return -1;
        }
      sent += chunk;
    }
  return (gssize) sent;
}

/* Sends what is queued; the rest waits for SRT_EPOLL_OUT. Returns the bytes sent. */
static gsize
player_flush (RelayCore *core,
              RelayConn *conn)
{
  gssize sent;

  if (conn->close_reason != NULL || player_queued (conn) == 0)
    return 0;

  sent = player_send (core, conn, conn->queue->data + conn->queue_off, player_queued (conn));
  if (sent < 0)
    return 0;
  conn->queue_off += sent;

  if (conn->queue_off == conn->queue->len)
    {
      g_byte_array_set_size (conn->queue, 0);
      conn->queue_off = 0;
    }
  else if (conn->queue_off > 256 * 1024)
    {
      g_byte_array_remove_range (conn->queue, 0, conn->queue_off);
      conn->queue_off = 0;
    }
  if (player_queued (conn) <= core->max_queue)
    conn->queue_limit = core->max_queue;

  player_update_events (core, conn);
  return sent;
}

void
relay_player_flush (RelayCore *core,
                    RelayConn *conn)
{
  gsize sent = player_flush (core, conn);

  if (sent > 0)
    STATS_ADD (core, bytes_out, sent);
}

/* Sends the packets of one publisher read to every started player. A player that
 * keeps up has nothing queued: it gets them straight from the stream's buffer, with
 * no copy of its own; only what libsrt does not take at once is queued. */
void
relay_stream_fan_out (RelayCore   *core,
                      RelayStream *stream)
{
  GByteArray *fanout = stream->fanout;
  gsize sent = 0;

  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *conn = g_ptr_array_index (stream->players, i);
      gsize from = MIN (conn->fanout_from, fanout->len);

      conn->fanout_from = 0;
      if (conn->close_reason != NULL)
        continue;
      if (conn->started && from < fanout->len && player_queued (conn) == 0)
        {
          gssize n = player_send (core, conn, fanout->data + from, fanout->len - from);

          if (n < 0)
            continue;
          sent += n;
          from += n;
          if (from < fanout->len)
            {
              relay_player_enqueue (core, conn, fanout->data + from, fanout->len - from);
              player_update_events (core, conn);
            }
          continue;
        }
      if (conn->started && from < fanout->len)
        relay_player_enqueue (core, conn, fanout->data + from, fanout->len - from);
      sent += player_flush (core, conn);
    }
  g_byte_array_set_size (fanout, 0);

  if (sent > 0)
    STATS_ADD (core, bytes_out, sent);
}

/* The player gets the headers, then the cached GOP from its key frame, then live data. */
void
relay_player_start (RelayCore *core,
                    RelayConn *conn)
{
  RelayStream *stream = conn->stream;
  gsize burst = 2 * TETHER_TS_PACKET_SIZE + (stream->gop_valid ? stream->gop->len : 0);

  conn->started = TRUE;
  /* What this publisher read brought before the start is not for it. */
  conn->fanout_from = stream->fanout->len;
  conn->queue_limit = MAX (conn->queue_limit, player_queued (conn) + burst + core->max_queue);
  relay_player_enqueue (core, conn, stream->ts.pat, TETHER_TS_PACKET_SIZE);
  relay_player_enqueue (core, conn, stream->ts.pmt, TETHER_TS_PACKET_SIZE);
  if (stream->gop_valid)
    relay_player_enqueue (core, conn, stream->gop->data, stream->gop->len);
}

/* A player that does not read fills its receive buffer and shuts its window;
 * libsrt then drops what it cannot send (live mode) instead of reporting a full
 * send buffer, so the window is what tells. */
void
relay_check_stalled_players (RelayCore *core,
                             gint64     now)
{
  GHashTableIter iter;
  RelayConn *conn;
  gint64 limit = core->latency_ms * G_TIME_SPAN_MILLISECOND + STALL_GRACE_US;

  g_hash_table_iter_init (&iter, core->conns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    {
      SRT_TRACEBSTATS st;

      if (conn->close_reason != NULL)
        continue;
      if (srt_getsockstate (conn->sock) > SRTS_CONNECTED)
        {
          relay_conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
          continue;
        }
      if (conn->mode != TETHER_SRT_MODE_REQUEST)
        continue;
      if (srt_bstats (conn->sock, &st, 0) == SRT_ERROR)
        continue;
      /* The receiver advertises its free buffer; libsrt never reports less than 2. */
      if (st.pktFlowWindow > 2)
        {
          conn->stalled_since = 0;
          continue;
        }
      if (conn->stalled_since == 0)
        conn->stalled_since = now;
      else if (now - conn->stalled_since > limit)
        {
          g_message ("Relay: dropping player %s of stream %s: it stopped reading",
                     conn->user_id, conn->stream->id);
          STATS_ADD (core, player_drops, 1);
          relay_conn_doom (core, conn, "slow");
        }
    }
}
