/* tether-relay-ts.c: just enough MPEG-TS parsing to keep stream headers and spot key frames
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-relay-private.h"

#define STREAM_TYPE_H264 0x1b
#define STREAM_TYPE_H265 0x24

void
tether_ts_tracker_reset (TetherTsTracker *self)
{
  memset (self, 0, sizeof *self);
  self->pmt_pid = TETHER_TS_NO_PID;
  self->video_pid = TETHER_TS_NO_PID;
}

gboolean
tether_ts_tracker_has_headers (const TetherTsTracker *self)
{
  return self->have_pat && self->have_pmt && self->pmt_parsed;
}

/* A PMT without H.264/H.265 video: players start at once, there is no key frame to wait for. */
gboolean
tether_ts_tracker_is_audio_only (const TetherTsTracker *self)
{
  return tether_ts_tracker_has_headers (self) && self->video_pid == TETHER_TS_NO_PID;
}

/* Where the section of a PSI packet starts, or -1. @off is the payload offset. */
static int
section_start (const guint8 *p,
               int           off)
{
  int pointer;

  if (off >= TETHER_TS_PACKET_SIZE)
    return -1;
  pointer = p[off];
  off += 1 + pointer;
  return off + 3 <= TETHER_TS_PACKET_SIZE ? off : -1;
}

/* Section length clipped to what this packet holds; multi-packet sections are
 * read as far as the first packet goes, which is enough for the muxers we meet. */
static int
section_end (const guint8 *p,
             int           sec)
{
  int len = ((p[sec + 1] & 0x0f) << 8) | p[sec + 2];

  return MIN (sec + 3 + len - 4 /* CRC */, TETHER_TS_PACKET_SIZE);
}

static void
parse_pat (TetherTsTracker *self,
           const guint8    *p,
           int              off)
{
  int sec = section_start (p, off);
  int end;

  if (sec < 0 || p[sec] != 0x00)
    return;
  end = section_end (p, sec);
  for (int i = sec + 8; i + 4 <= end; i += 4)
    {
      guint16 program = (p[i] << 8) | p[i + 1];
      guint16 pid = ((p[i + 2] & 0x1f) << 8) | p[i + 3];

      if (program == 0)
        continue; /* network PID */
      if (pid == 0 || pid == TETHER_TS_NO_PID)
        return;   /* not a PID a PMT can have: the PAT is broken */
      if (pid != self->pmt_pid)
        {
          self->pmt_pid = pid;
          self->video_pid = TETHER_TS_NO_PID;
          self->pmt_parsed = FALSE;
          self->have_pmt = FALSE;
        }
      return;
    }
}

static void
parse_pmt (TetherTsTracker *self,
           const guint8    *p,
           int              off)
{
  int sec = section_start (p, off);
  int end, i, program_info_len;

  if (sec < 0 || p[sec] != 0x02 || sec + 12 > TETHER_TS_PACKET_SIZE)
    return;
  end = section_end (p, sec);
  program_info_len = ((p[sec + 10] & 0x0f) << 8) | p[sec + 11];
  self->video_pid = TETHER_TS_NO_PID;
  for (i = sec + 12 + program_info_len; i + 5 <= end;)
    {
      guint8 type = p[i];
      guint16 pid = ((p[i + 1] & 0x1f) << 8) | p[i + 2];
      int es_info_len = ((p[i + 3] & 0x0f) << 8) | p[i + 4];

      if (self->video_pid == TETHER_TS_NO_PID && pid != 0 && pid != self->pmt_pid
          && (type == STREAM_TYPE_H264 || type == STREAM_TYPE_H265))
        {
          self->video_pid = pid;
          self->video_type = type;
        }
      i += 5 + es_info_len;
    }
  self->pmt_parsed = TRUE;
}

/* Whether the start of this video PES carries an IDR picture or a parameter set,
 * which encoders put only in front of key frames. */
static gboolean
pes_starts_key_frame (const TetherTsTracker *self,
                      const guint8          *p,
                      int                    off)
{
  int es;

  if (off + 9 > TETHER_TS_PACKET_SIZE || p[off] != 0 || p[off + 1] != 0 || p[off + 2] != 1)
    return FALSE;
  es = off + 9 + p[off + 8];

  for (int i = es; i + 3 < TETHER_TS_PACKET_SIZE; i++)
    {
      guint8 nal;

      if (p[i] != 0 || p[i + 1] != 0 || p[i + 2] != 1)
        continue;
      nal = p[i + 3];
      if (self->video_type == STREAM_TYPE_H265)
        {
          guint8 type = (nal >> 1) & 0x3f;

          if ((type >= 16 && type <= 21) || type == 32 || type == 33)
            return TRUE;
        }
      else
        {
          guint8 type = nal & 0x1f;

          if (type == 5 || type == 7)
            return TRUE;
        }
      i += 2;
    }
  return FALSE;
}

/**
 * tether_ts_tracker_feed:
 * @packet: one 188-byte TS packet starting with the sync byte
 *
 * Returns: whether @packet is the first packet of a video key frame
 */
gboolean
tether_ts_tracker_feed (TetherTsTracker *self,
                        const guint8    *packet)
{
  const guint8 *p = packet;
  guint16 pid = ((p[1] & 0x1f) << 8) | p[2];
  gboolean pusi = (p[1] & 0x40) != 0;
  guint8 afc = (p[3] >> 4) & 0x3;
  gboolean random_access = FALSE;
  int off = 4;

  /* Null packets (PID 0x1fff, the "no PID" of the fields above) carry nothing: one
   * must never pass for the PMT before a PAT named it. */
  if (p[0] != TETHER_TS_SYNC_BYTE || (p[1] & 0x80) /* transport error */
      || pid == TETHER_TS_NO_PID)
    return FALSE;

  if (afc & 0x2)
    {
      guint8 af_len = p[4];

      if (af_len > 0)
        random_access = (p[5] & 0x40) != 0;
      off = 5 + af_len;
    }
  if (!(afc & 0x1) || off >= TETHER_TS_PACKET_SIZE)
    return FALSE;

  if (pid == 0)
    {
      memcpy (self->pat, p, TETHER_TS_PACKET_SIZE);
      self->have_pat = TRUE;
      if (pusi)
        parse_pat (self, p, off);
      return FALSE;
    }
  if (pid == self->pmt_pid)
    {
      if (pusi)
        {
          memcpy (self->pmt, p, TETHER_TS_PACKET_SIZE);
          self->have_pmt = TRUE;
          parse_pmt (self, p, off);
        }
      return FALSE;
    }
  if (pid == self->video_pid && pusi)
    return random_access || pes_starts_key_frame (self, p, off);

  return FALSE;
}
