/* tether-relay-private.h: the relay's self-contained pieces, which the tests and the
 * fuzzers use alone — the token check behind a stream id (tether-relay-access.c), the
 * stream-id owner table (-owners.c) and the MPEG-TS tracker that finds stream headers
 * and key frames (-ts.c). The core that uses them is in tether-relay-core.h.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tether-relay.h"
#include "tether-srt-url-private.h"

G_BEGIN_DECLS

/* What a connection may do once its stream id and token were accepted. */
typedef struct
{
  TetherSrtMode mode;
  char *stream_id;
  char *user_id;
  char *room_id;           /* the token's room, NULL for an all-rooms token */
  char *passphrase;        /* the token's SRT passphrase (tether_srt_passphrase_derive()) */
  char *pull_node;         /* a player's pull=: the media node pulling for its players, or NULL */
} TetherRelayAccess;

int       tether_relay_access_check     (const char          *stream_id,
                                         const char          *app_id,
                                         const char          *app_secret,
                                         gint64               now,
                                         gint64               skew,
                                         TetherRelayAccess   *out,
                                         GError             **error);
void      tether_relay_access_clear     (TetherRelayAccess   *access);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TetherRelayAccess, tether_relay_access_clear)

/* Who holds a stream id's owner record. A record with no holder lasts the TTL more. */
typedef enum
{
  TETHER_RELAY_HOLD_NONE,       /* a publisher's handshake: starts the TTL afresh */
  TETHER_RELAY_HOLD_PUBLISHER,  /* a connected publisher, counted */
  TETHER_RELAY_HOLD_CLAIM,      /* the room service (tether_relay_claim_stream()) */
} TetherRelayHold;

/* Stream id → {user, room} of its owner. Not locked: the relay keeps it under its
 * access_lock. @now is monotonic time in µs. */
typedef struct _TetherRelayOwners TetherRelayOwners;

TetherRelayOwners *tether_relay_owners_new          (void);
void               tether_relay_owners_free         (TetherRelayOwners *self);
void               tether_relay_owners_set_ttl      (TetherRelayOwners *self,
                                                     gint64             ttl_us);
gboolean           tether_relay_owners_take         (TetherRelayOwners *self,
                                                     const char        *stream_id,
                                                     const char        *user_id,
                                                     const char        *room_id,
                                                     TetherRelayHold    hold,
                                                     gint64             now);
void               tether_relay_owners_let_go       (TetherRelayOwners *self,
                                                     const char        *stream_id,
                                                     const char        *user_id,
                                                     TetherRelayHold    hold,
                                                     gint64             now);
gboolean           tether_relay_owners_room_allows  (TetherRelayOwners *self,
                                                     const char        *stream_id,
                                                     const char        *room_id,
                                                     gint64             now);
guint              tether_relay_owners_get_generation (TetherRelayOwners *self);
void               tether_relay_owners_purge        (TetherRelayOwners *self,
                                                     gint64             now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherRelayOwners, tether_relay_owners_free)

#define TETHER_TS_PACKET_SIZE 188
#define TETHER_TS_SYNC_BYTE 0x47
#define TETHER_TS_NO_PID 0x1fff

/* Follows PAT → PMT → video PID and keeps the latest PAT and PMT packets. */
typedef struct
{
  guint16 pmt_pid;          /* TETHER_TS_NO_PID until a PAT names one */
  guint16 video_pid;        /* TETHER_TS_NO_PID until a PMT names one */
  guint8 video_type;        /* 0x1b H.264, 0x24 H.265 */
  gboolean pmt_parsed;
  gboolean have_pat;
  gboolean have_pmt;
  guint8 pat[TETHER_TS_PACKET_SIZE];
  guint8 pmt[TETHER_TS_PACKET_SIZE];
} TetherTsTracker;

void      tether_ts_tracker_reset       (TetherTsTracker     *self);
gboolean  tether_ts_tracker_feed        (TetherTsTracker     *self,
                                         const guint8        *packet);
gboolean  tether_ts_tracker_has_headers (const TetherTsTracker *self);
gboolean  tether_ts_tracker_is_audio_only (const TetherTsTracker *self);

G_END_DECLS
