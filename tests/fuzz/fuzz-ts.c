/* fuzz-ts.c: the media node's MPEG-TS tracker (PAT → PMT → video PID, key frames).
 *
 * Input: a stream of 188-byte TS packets, fed in order to one tracker, as the relay
 * does with what a publisher sends; a short last packet is padded with 0xff.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-relay-private.h"
#include "fuzz-common.h"

#define MAX_PACKETS 512

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  TetherTsTracker tracker;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  tether_ts_tracker_reset (&tracker);
  for (size_t off = 0, n = 0; off < size && n < MAX_PACKETS; off += TETHER_TS_PACKET_SIZE, n++)
    {
      size_t chunk = MIN ((size_t) TETHER_TS_PACKET_SIZE, size - off);
      /* Each packet on the heap, exactly 188 bytes: ASan sees any read past it. */
      g_autofree guint8 *packet = g_malloc (TETHER_TS_PACKET_SIZE);
      gboolean key;

      memset (packet, 0xff, TETHER_TS_PACKET_SIZE);
      memcpy (packet, data + off, chunk);
      key = tether_ts_tracker_feed (&tracker, packet);

      /* Key frames are video packets: the PMT must have named the PID. */
      if (key)
        TETHER_FUZZ_CHECK (tracker.video_pid != TETHER_TS_NO_PID);
      /* Headers are known once a PAT named the PMT's PID and that PID carried a PMT:
       * never from null packets (PID 0x1fff), whatever they hold. */
      TETHER_FUZZ_CHECK (!tether_ts_tracker_has_headers (&tracker) || tracker.pmt_pid != TETHER_TS_NO_PID);
      TETHER_FUZZ_CHECK (!tracker.have_pat || tracker.pat[0] == TETHER_TS_SYNC_BYTE);
      TETHER_FUZZ_CHECK (!tracker.have_pmt || tracker.pmt[0] == TETHER_TS_SYNC_BYTE);
      TETHER_FUZZ_CHECK (tracker.video_pid == TETHER_TS_NO_PID || tracker.video_pid < TETHER_TS_NO_PID);
      TETHER_FUZZ_CHECK (tracker.video_pid == TETHER_TS_NO_PID
                         || tracker.video_type == 0x1b || tracker.video_type == 0x24);
      (void) tether_ts_tracker_has_headers (&tracker);
      (void) tether_ts_tracker_is_audio_only (&tracker);
    }
  return 0;
}
