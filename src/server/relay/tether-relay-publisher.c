/* tether-relay-publisher.c: reading a publisher, and cutting what it sends into the
 * TS packets its stream takes (SRT thread)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <srt/srt.h>

#include "tether-relay-core.h"

#define RECV_BUFFER_SIZE 1500
/* libsrt numbers messages from 1 to 2^26 - 1, then starts again. */
#define MSGNO_MAX 0x03ffffff

/* Where the next TS packet starts: a sync byte confirmed by the next packet's,
 * as far as the message reaches. Payloads are full of 0x47 bytes. */
static const guint8 *
find_sync (const guint8 *data,
           gsize         len)
{
  const guint8 *end = data + len;

  for (const guint8 *p = data; (p = memchr (p, TETHER_TS_SYNC_BYTE, end - p)) != NULL; p++)
    if (end - p <= TETHER_TS_PACKET_SIZE || p[TETHER_TS_PACKET_SIZE] == TETHER_TS_SYNC_BYTE)
      return p;
  return NULL;
}

/* Whether message @next comes right after @prev; unknown numbers and the wrap pass. */
static gboolean
msgno_follows (gint32 prev,
               gint32 next)
{
  return prev <= 0 || next <= 0 || prev == MSGNO_MAX || next == prev + 1;
}

/* Splits what a publisher sent into TS packets. Senders cut messages anywhere
 * (mpegtsmux without alignment, 188-byte messages, a byte stream cut by size),
 * and a lost message leaves a torn packet: the packets are found again by their
 * sync bytes, and a torn one is dropped rather than passed to players. */
static void
publisher_feed (RelayCore    *core,
                RelayConn    *conn,
                const guint8 *data,
                gsize         len)
{
  while (len > 0)
    {
      if (conn->carry_len == 0)
        {
          const guint8 *sync = find_sync (data, len);

          if (sync == NULL)
            return;
          len -= sync - data;
          data = sync;
        }
      if (conn->carry_len == 0 && len >= TETHER_TS_PACKET_SIZE)
        {
          relay_stream_packet (core, conn->stream, data);
          data += TETHER_TS_PACKET_SIZE;
          len -= TETHER_TS_PACKET_SIZE;
        }
      else
        {
          gsize n = MIN (len, TETHER_TS_PACKET_SIZE - conn->carry_len);

          memcpy (conn->carry + conn->carry_len, data, n);
          conn->carry_len += n;
          data += n;
          len -= n;
          if (conn->carry_len == TETHER_TS_PACKET_SIZE)
            {
              /* Torn if what follows is no packet: a message went missing. */
              if (len == 0 || data[0] == TETHER_TS_SYNC_BYTE)
                relay_stream_packet (core, conn->stream, conn->carry);
              conn->carry_len = 0;
            }
        }
    }
}

/* Reads what the publisher (or a pull) sent until libsrt has no more, then sends it to
 * the players. Returns the bytes read. */
gsize
relay_publisher_read (RelayCore *core,
                      RelayConn *conn)
{
  RelayStream *stream = conn->stream;
  guint8 buf[RECV_BUFFER_SIZE];
  gsize received = 0;

  for (;;)
    {
      SRT_MSGCTRL mc = srt_msgctrl_default;
      int r = srt_recvmsg2 (conn->sock, (char *) buf, sizeof buf, &mc);

      if (r == SRT_ERROR)
        {
          if (srt_getlasterror (NULL) != SRT_EASYNCRCV)
            relay_conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
          break;
        }
      if (r <= 0)
        break;
      received += r;
      /* A gap in the numbers: SRT gave up on messages it could not repair in time.
       * The packet they tore is dropped; sync bytes alone cannot tell when whole
       * packets' worth went missing. */
      if (!msgno_follows (conn->last_msgno, mc.msgno))
        conn->carry_len = 0;
      conn->last_msgno = mc.msgno;
      publisher_feed (core, conn, buf, r);
    }

  if (received > 0)
    {
      conn->last_data_at = g_get_monotonic_time ();
      STATS_ADD (core, bytes_in, received);
    }
  relay_stream_fan_out (core, stream);
  return received;
}
