/* tether-relay-core.h: the relay's core — the state the SRT thread owns (connections,
 * streams, handshake verdicts) and what the files that work on it call in each other
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <srt/srt.h>

#include "tether-relay-private.h"

G_BEGIN_DECLS

/*
 * Threads. Everything about sockets, streams and players lives in one "core" that
 * the relay's SRT thread owns alone. Two things cross threads, each under its own
 * small lock that is never held across an SRT call:
 *  - the listen callback (run by libsrt's receiver thread during the handshake)
 *    checks the stream id against its owner record and leaves its verdict for
 *    the accepting thread; the room service claims and releases stream ids from
 *    its own thread (both under access_lock);
 *  - signals for the room service are queued and emitted by one idle on the main
 *    context of tether_relay_new() (emit_lock); counters for /metrics (stats_lock);
 *  - the media cascade's locate requests go out the same way (an emission), and the
 *    locate func's answers come back from any thread (pull_lock).
 * The core is reference counted: the relay, the SRT thread and a running listen
 * callback each hold it, so none can see it freed. It lives as long as the relay,
 * so owner records and claims outlive a stop and a new listen.
 *
 * The files:
 *   tether-relay.c            the GObject: properties, signals, listen and stop,
 *                             claims, metrics; libsrt start-up
 *   tether-relay-core.c       the core's lifetime and the SRT thread: its loop, events,
 *                             closing connections
 *   tether-relay-accept.c     handshakes: the listen callback's verdict, accepting,
 *                             refusing
 *   tether-relay-stream.c     per stream: TS tracking, the GOP cache, fan-out to players,
 *                             room and key-frame checks
 *   tether-relay-publisher.c  reading a publisher and cutting what it sends into TS packets
 *   tether-relay-player.c     fan-out of a publisher read to the players, a player's
 *                             queue, its start on a key frame, slow players
 *   tether-relay-pull.c       the media cascade: a stream published on another node,
 *                             pulled once for this node's players (the locate func's
 *                             answers, the pull's connection, its retries and linger)
 *   tether-relay-access.c, -owners.c, -ts.c: see tether-relay-private.h
 */

typedef struct _RelayCore RelayCore;
typedef struct _RelayStream RelayStream;
typedef struct _RelayConn RelayConn;
typedef struct _RelayPull RelayPull;

struct _RelayConn
{
  SRTSOCKET sock;
  TetherSrtMode mode;
  char *user_id;
  char *room_id;            /* the token's room, NULL for all rooms */
  RelayStream *stream;
  const char *close_reason; /* set when the connection is due to be closed */

  /* players */
  gboolean started;         /* got PAT, PMT and a key frame; now gets live data */
  GByteArray *queue;        /* whole TS packets not yet taken by srt_sendmsg */
  gsize queue_off;
  gsize queue_limit;        /* the byte budget, widened for the burst of a join */
  gboolean want_out;
  gint64 stalled_since;
  gsize fanout_from;        /* started during this read: its share of stream->fanout */

  /* publishers: a partial TS packet left over from the last message */
  guint8 carry[TETHER_TS_PACKET_SIZE];
  gsize carry_len;
  gint32 last_msgno;        /* SRT's number of that message, 0 before the first */
  gint64 last_data_at;      /* monotonic µs of its accept or its latest bytes */

  /* the cascade */
  char *pull_origin;        /* a pull's connection (mode PUBLISH, a caller): the origin's node id */
  char *pull_node;          /* a player that is another node's pull: that node's id */
};

typedef enum
{
  RELAY_PULL_WAITING,       /* until next_at, then locate */
  RELAY_PULL_LOCATING,      /* a locate request is out (serial) */
  RELAY_PULL_CONNECTING,    /* conn is connecting to the origin */
  RELAY_PULL_CONNECTED,     /* conn is connected and is the stream's publisher */
} RelayPullState;

/* A stream this node has no publisher of, fed from its origin node for its players. */
struct _RelayPull
{
  RelayPullState state;
  RelayConn *conn;          /* CONNECTING, CONNECTED: owned by conns; also stream->publisher */
  guint64 serial;           /* of the latest locate request */
  char *origin;             /* node id of the latest answer */
  char *room_id;            /* the stream's room from the latest answer, NULL: unknown */
  guint failures;           /* attempts since data last flowed: the pause before the next */
  gint64 next_at;           /* WAITING: when to locate again */
  gint64 idle_since;        /* monotonic µs since the stream has had no player, else 0 */
  gint64 connected_at;
  gboolean got_data;        /* the connection at hand brought data */
  guint64 connects;         /* SRT connections opened for this pull */
};

struct _RelayStream
{
  char *id;
  RelayConn *publisher;
  TetherTsTracker ts;
  GByteArray *gop;          /* TS packets from the latest key frame on */
  gboolean gop_valid;
  GByteArray *fanout;       /* TS packets of the publisher read at hand, for all players */
  GPtrArray *players;       /* RelayConn, owned by the core's conns table */
  gint64 key_frame_at;      /* the publisher's start or its latest key frame */
  gboolean key_frame_late;  /* NO_KEY_FRAME_WARN_US passed and was logged */
  gboolean media_started;   /* its publisher's PAT and PMT came: media-started was queued */
  RelayPull *pull;          /* no publisher here: pulled from its origin (the cascade) */
};

/* The listen callback's verdict on a handshake, for srt_accept() to pick up. */
typedef struct
{
  TetherRelayAccess access;
  gint64 created;
} Pending;

typedef struct
{
  SRTSOCKET sock;
  gint64 accepted_at;
} Refused;

struct _RelayCore
{
  char *app_id;
  char *app_secret;
  GMainContext *context;
  GWeakRef relay;

  /* Fixed when listening starts. */
  gint64 latency_ms;
  gsize max_queue;
  gsize gop_max;
  gint64 token_skew;
  gboolean encryption;      /* each connection gets its token's passphrase */

  GMutex access_lock;
  TetherRelayOwners *owners;
  GHashTable *pending;      /* SRTSOCKET → Pending, verdicts awaiting srt_accept */

  GMutex emit_lock;
  GQueue emissions;
  gboolean emit_scheduled;

  GMutex stats_lock;
  guint n_streams;
  guint n_players;
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 player_drops;
  guint64 rejects;
  guint64 encrypted_conns;
  guint64 plain_conns;
  guint n_pulls;            /* streams pulled from another node */
  guint n_pulls_served;     /* other nodes' pulls connected here */
  guint64 pulls_started;
  guint64 pull_restarts;
  char *pull_lines;         /* per-stream pull metrics, rebuilt by the SRT thread */

  /* The locate func's answers for the SRT thread (tether-relay-pull.c). */
  gint can_locate;          /* atomic: a locate func is set */
  GMutex pull_lock;
  GQueue answers;           /* RelayLocated */
  gint n_answers;           /* atomic: answers queued */
  char *node_id;            /* fixed when listening starts; NULL: cannot pull */

  /* SRT thread only (and the listening thread before it starts) */
  SRTSOCKET listener;
  int eid;
  GHashTable *conns;        /* SRTSOCKET → RelayConn (owned) */
  GHashTable *streams;      /* id → RelayStream (owned) */
  GPtrArray *doomed;        /* RelayConn with a close_reason, closed after each event */
  GArray *refused;          /* Refused: accepted, then refused; closed a little later */
  guint owners_generation;  /* of the owner table when players were last checked */
  guint64 locate_serial;    /* of the latest locate request */
  guint n_pulled_streams;   /* in the last pull metrics */
  gint stopping;
};

/* Counts change before the matching signal is queued, so a handler sees them. */
#define STATS_ADD(core, field, n)                \
  G_STMT_START {                                 \
    g_mutex_lock (&(core)->stats_lock);          \
    (core)->field += (n);                        \
    g_mutex_unlock (&(core)->stats_lock);        \
  } G_STMT_END

/* What the SRT thread tells the relay's main context (tether-relay.c). */
typedef enum
{
  RELAY_EVENT_PUBLISHER_ADDED,
  RELAY_EVENT_PUBLISHER_REMOVED,
  RELAY_EVENT_MEDIA_STARTED,
  RELAY_EVENT_LOCATE,       /* ask the locate func where a stream is published */
} RelayEvent;

/* A publisher that sends nothing for this long is closed ("idle"), and one whose link
 * breaks after this much silence left "idle" too, not "disconnected": SRT's own peer
 * idle timeout (SRTO_PEERIDLETIMEO, 5 s) is what usually ends a vanished publisher. */
#define RELAY_PUBLISHER_IDLE_US (5 * G_TIME_SPAN_SECOND)
/* A break after this much silence is a link that died, not a publisher that
 * closed while sending: "idle" rather than "disconnected". */
#define RELAY_PUBLISHER_SILENT_BREAK_US (2 * G_TIME_SPAN_SECOND)

/* tether-relay.c */
RelayCore   *relay_registry_lookup          (gpointer      opaque);
void         relay_core_emit                (RelayCore    *core,
                                             RelayEvent    event,
                                             const char   *stream_id,
                                             const char   *user_id,
                                             const char   *room_id,
                                             const char   *reason);
void         relay_core_emit_locate         (RelayCore    *core,
                                             const char   *stream_id,
                                             guint64       serial);

/* tether-relay-core.c */
RelayCore   *relay_core_new                 (TetherRelay  *relay,
                                             const char   *app_id,
                                             const char   *app_secret,
                                             GMainContext *context,
                                             double        claim_ttl);
RelayCore   *relay_core_ref                 (RelayCore    *core);
void         relay_core_unref               (RelayCore    *core);
gpointer     relay_core_thread              (gpointer      data);
void         relay_conn_doom                (RelayCore    *core,
                                             RelayConn    *conn,
                                             const char   *reason);
void         relay_close_doomed             (RelayCore    *core);

/* tether-relay-accept.c */
int          relay_on_listen                (void                  *opaque,
                                             SRTSOCKET              ns,
                                             int                    hsversion,
                                             const struct sockaddr *peer,
                                             const char            *streamid);
void         relay_pending_free             (Pending      *pending);
void         relay_accept_next              (RelayCore    *core);
void         relay_close_refused            (RelayCore    *core,
                                             gint64        now,
                                             gboolean      all);

/* tether-relay-stream.c */
RelayStream *relay_stream_lookup_or_add     (RelayCore    *core,
                                             const char   *id);
void         relay_stream_free              (RelayStream  *stream);
void         relay_stream_forget_media      (RelayStream  *stream);
void         relay_stream_remove_if_unused  (RelayCore    *core,
                                             RelayStream  *stream);
void         relay_stream_packet            (RelayCore    *core,
                                             RelayStream  *stream,
                                             const guint8 *packet);
void         relay_stream_check_players     (RelayCore    *core,
                                             RelayStream  *stream,
                                             gint64        now);
void         relay_check_streams            (RelayCore    *core,
                                             gint64        now);

/* tether-relay-publisher.c */
gsize        relay_publisher_read           (RelayCore    *core,
                                             RelayConn    *conn);

/* tether-relay-player.c */
void         relay_player_enqueue           (RelayCore    *core,
                                             RelayConn    *conn,
                                             const guint8 *data,
                                             gsize         len);
void         relay_player_flush             (RelayCore    *core,
                                             RelayConn    *conn);
void         relay_player_start             (RelayCore    *core,
                                             RelayConn    *conn);
void         relay_stream_fan_out           (RelayCore    *core,
                                             RelayStream  *stream);
void         relay_check_stalled_players    (RelayCore    *core,
                                             gint64        now);

/* tether-relay-pull.c */
TetherRelayLocate *relay_locate_new         (RelayCore    *core,
                                             const char   *stream_id,
                                             guint64       serial);
void         relay_pull_free                (RelayPull    *pull);
void         relay_pull_answers_free        (RelayCore    *core);
void         relay_pull_locate_failed       (RelayCore    *core,
                                             const char   *stream_id,
                                             guint64       serial);
void         relay_pull_take_answers        (RelayCore    *core);
void         relay_pull_maybe_start         (RelayCore    *core,
                                             RelayStream  *stream);
gboolean     relay_pull_end                 (RelayCore    *core,
                                             RelayStream  *stream,
                                             const char   *why);
void         relay_pull_conn_event          (RelayCore    *core,
                                             RelayConn    *conn,
                                             int           events);
void         relay_pull_conn_closed         (RelayCore    *core,
                                             RelayConn    *conn,
                                             const char   *reason);
gboolean     relay_pull_room_allows         (RelayStream  *stream,
                                             RelayConn    *player);
void         relay_pull_drop_served         (RelayCore    *core,
                                             RelayStream  *stream,
                                             const char   *why);
void         relay_pull_tick                (RelayCore    *core,
                                             gint64        now);

G_END_DECLS
