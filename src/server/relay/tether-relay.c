/* tether-relay.c: the SRT media node — listener, epoll thread, publishers, players, GOP cache
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <srt/access_control.h>
#include <gio/gio.h>

#include "tether-error.h"
#include "tether-relay-private.h"

/*
 * Threads. Everything about sockets, streams and players lives in one "core" that
 * the relay's SRT thread owns alone. Two things cross threads, each under its own
 * small lock that is never held across an SRT call:
 *  - the listen callback (run by libsrt's receiver thread during the handshake)
 *    checks the stream id against its owner record and leaves its verdict for
 *    the accepting thread; the room service claims and releases stream ids from
 *    its own thread (both under access_lock);
 *  - signals for the room service are queued and emitted by one idle on the main
 *    context of tether_relay_new() (emit_lock); counters for /metrics (stats_lock).
 * The core is reference counted: the relay, the SRT thread and a running listen
 * callback each hold it, so none can see it freed. It lives as long as the relay,
 * so owner records and claims outlive a stop and a new listen.
 */

#define DEFAULT_LATENCY_MS 120
#define DEFAULT_MAX_PLAYER_QUEUE (2 * 1024 * 1024)
#define DEFAULT_GOP_CACHE (4 * 1024 * 1024)
#define DEFAULT_CLAIM_TTL 1200.0 /* s, the room service's session-ttl */

#define LIVE_PAYLOAD_SIZE (7 * TETHER_TS_PACKET_SIZE) /* 1316, SRT's live-mode message */
#define RECV_BUFFER_SIZE 1500
/* libsrt numbers messages from 1 to 2^26 - 1, then starts again. */
#define MSGNO_MAX 0x03ffffff
/* The thread polls libsrt's epoll without a timeout and sleeps on its own between
 * polls. A timed srt_epoll_uwait() sleeps on libsrt's one process-wide condition
 * variable, which every SRT thread signals for every packet; with several timed
 * waiters that trips glibc's condvar bug (sourceware BZ 25847, not fixed in
 * Debian 12's glibc 2.36) and hangs all SRT traffic in the process. 1 ms is
 * nothing against SRT's latency. */
#define IDLE_SLEEP_US 1000
#define EMPTY_SLEEP_US (10 * 1000) /* with no connection, only a handshake can wait */
#define TICK_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)
#define PENDING_TTL_US (30 * G_TIME_SPAN_SECOND)
/* libsrt does not tell the peer of a close in the first milliseconds after the
 * handshake: it would wait out its idle timeout (5 s) to learn it was refused. */
#define REFUSED_CLOSE_DELAY_US (50 * G_TIME_SPAN_MILLISECOND)
/* A player whose receive window stays shut this long after the latency is not reading. */
#define STALL_GRACE_US (1 * G_TIME_SPAN_SECOND)
/* Video with no key frame for this long is worth a line in the log: players wait for
 * one. Longer than the longest GOP encoders use by default (x264: 250 frames). */
#define NO_KEY_FRAME_WARN_US (20 * G_TIME_SPAN_SECOND)

typedef struct _RelayCore RelayCore;
typedef struct _RelayStream RelayStream;
typedef struct _RelayConn RelayConn;

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

  /* publishers: a partial TS packet left over from the last message */
  guint8 carry[TETHER_TS_PACKET_SIZE];
  gsize carry_len;
  gint32 last_msgno;        /* SRT's number of that message, 0 before the first */
};

struct _RelayStream
{
  char *id;
  RelayConn *publisher;
  TetherTsTracker ts;
  GByteArray *gop;          /* TS packets from the latest key frame on */
  gboolean gop_valid;
  GPtrArray *players;       /* RelayConn, owned by the core's conns table */
  gint64 key_frame_at;      /* the publisher's start or its latest key frame */
  gboolean key_frame_late;  /* NO_KEY_FRAME_WARN_US passed and was logged */
};

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

typedef struct
{
  guint signal_id;
  char *stream_id;
  char *user_id;
  const char *reason;
} Emission;

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

  /* SRT thread only (and the listening thread before it starts) */
  SRTSOCKET listener;
  int eid;
  GHashTable *conns;        /* SRTSOCKET → RelayConn (owned) */
  GHashTable *streams;      /* id → RelayStream (owned) */
  GPtrArray *doomed;        /* RelayConn with a close_reason, closed after each event */
  GArray *refused;          /* Refused: accepted, then refused; closed a little later */
  guint owners_generation;  /* of the owner table when players were last checked */
  gint stopping;
};

struct _TetherRelay
{
  GObject parent_instance;

  char *app_id;
  char *app_secret;
  GMainContext *context;

  guint latency;
  guint max_player_queue_bytes;
  guint gop_cache_bytes;
  int token_skew;
  double claim_ttl;

  RelayCore *core;
  GThread *thread;
  guint16 port;
};

G_DEFINE_FINAL_TYPE (TetherRelay, tether_relay, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_LATENCY,
  PROP_MAX_PLAYER_QUEUE_BYTES,
  PROP_GOP_CACHE_BYTES,
  PROP_TOKEN_SKEW,
  PROP_CLAIM_TTL,
  PROP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_PUBLISHER_ADDED,
  SIGNAL_PUBLISHER_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* libsrt is started once per process for all relays; it counts srt_startup()
 * itself too, so GStreamer's srt elements in the same process stay balanced. */
static GMutex registry_lock;
static GHashTable *live_cores;  /* RelayCore set, for the listen callback */
static guint srt_users;

/* ------------------------------------------------------------------------- */
/* Core lifetime */

static void
core_clear (RelayCore *core)
{
  g_free (core->app_id);
  g_free (core->app_secret);
  g_main_context_unref (core->context);
  g_weak_ref_clear (&core->relay);
  g_mutex_clear (&core->access_lock);
  tether_relay_owners_free (core->owners);
  g_hash_table_unref (core->pending);
  g_mutex_clear (&core->emit_lock);
  g_queue_clear_full (&core->emissions, NULL);
  g_mutex_clear (&core->stats_lock);
  g_hash_table_unref (core->conns);
  g_hash_table_unref (core->streams);
  g_ptr_array_unref (core->doomed);
  g_array_unref (core->refused);
}

static RelayCore *
core_ref (RelayCore *core)
{
  return g_atomic_rc_box_acquire (core);
}

static void
core_unref (RelayCore *core)
{
  g_atomic_rc_box_release_full (core, (GDestroyNotify) core_clear);
}

static void
pending_free (Pending *pending)
{
  tether_relay_access_clear (&pending->access);
  g_free (pending);
}

static void
conn_free (RelayConn *conn)
{
  g_free (conn->user_id);
  g_free (conn->room_id);
  g_clear_pointer (&conn->queue, g_byte_array_unref);
  g_free (conn);
}

static void
stream_free (RelayStream *stream)
{
  g_free (stream->id);
  g_byte_array_unref (stream->gop);
  g_ptr_array_unref (stream->players);
  g_free (stream);
}

static void
emission_free (Emission *e)
{
  g_free (e->stream_id);
  g_free (e->user_id);
  g_free (e);
}

static RelayCore *
core_new (TetherRelay *relay)
{
  RelayCore *core = g_atomic_rc_box_new0 (RelayCore);

  core->app_id = g_strdup (relay->app_id);
  core->app_secret = g_strdup (relay->app_secret);
  core->context = g_main_context_ref (relay->context);
  g_weak_ref_init (&core->relay, relay);

  g_mutex_init (&core->access_lock);
  core->owners = tether_relay_owners_new ();
  tether_relay_owners_set_ttl (core->owners, (gint64) (relay->claim_ttl * G_USEC_PER_SEC));
  core->pending = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) pending_free);
  g_mutex_init (&core->emit_lock);
  g_queue_init (&core->emissions);
  g_mutex_init (&core->stats_lock);

  core->listener = SRT_INVALID_SOCK;
  core->eid = -1;
  core->conns = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) conn_free);
  core->streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) stream_free);
  core->doomed = g_ptr_array_new ();
  core->refused = g_array_new (FALSE, FALSE, sizeof (Refused));

  return core;
}

/* ------------------------------------------------------------------------- */
/* Handing events to the main context */

static gboolean
emissions_dispatch (gpointer data)
{
  RelayCore *core = data;
  g_autoptr(TetherRelay) relay = g_weak_ref_get (&core->relay);
  GQueue batch = G_QUEUE_INIT;
  Emission *e;

  g_mutex_lock (&core->emit_lock);
  batch = core->emissions;
  g_queue_init (&core->emissions);
  core->emit_scheduled = FALSE;
  g_mutex_unlock (&core->emit_lock);

  while ((e = g_queue_pop_head (&batch)) != NULL)
    {
      if (relay != NULL && e->signal_id == signals[SIGNAL_PUBLISHER_ADDED])
        g_signal_emit (relay, e->signal_id, 0, e->stream_id, e->user_id);
      else if (relay != NULL)
        g_signal_emit (relay, e->signal_id, 0, e->stream_id, e->user_id, e->reason);
      emission_free (e);
    }

  return G_SOURCE_REMOVE;
}

/* SRT thread: queue a signal; one idle at a time carries the queue over, in order. */
static void
core_emit (RelayCore  *core,
           guint       signal_id,
           const char *stream_id,
           const char *user_id,
           const char *reason)
{
  Emission *e = g_new0 (Emission, 1);
  gboolean schedule;

  e->signal_id = signal_id;
  e->stream_id = g_strdup (stream_id);
  e->user_id = g_strdup (user_id);
  e->reason = reason;

  g_mutex_lock (&core->emit_lock);
  g_queue_push_tail (&core->emissions, e);
  schedule = !core->emit_scheduled;
  core->emit_scheduled = TRUE;
  g_mutex_unlock (&core->emit_lock);

  /* An idle source, not g_main_context_invoke(): that would run the handler right
   * here on the SRT thread whenever nobody happens to own the context. */
  if (schedule)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, emissions_dispatch, core_ref (core), (GDestroyNotify) core_unref);
      g_source_set_static_name (source, "[tether] relay events");
      g_source_attach (source, core->context);
    }
}

/* ------------------------------------------------------------------------- */
/* Stats */

/* Counts change before the matching signal is queued, so a handler sees them. */
#define STATS_ADD(core, field, n)                \
  G_STMT_START {                                 \
    g_mutex_lock (&(core)->stats_lock);          \
    (core)->field += (n);                        \
    g_mutex_unlock (&(core)->stats_lock);        \
  } G_STMT_END

/* ------------------------------------------------------------------------- */
/* The listen callback: libsrt's receiver thread, during the handshake */

static RelayCore *
registry_lookup (gpointer opaque)
{
  RelayCore *core = NULL;

  g_mutex_lock (&registry_lock);
  if (live_cores != NULL && g_hash_table_contains (live_cores, opaque))
    core = core_ref (opaque);
  g_mutex_unlock (&registry_lock);

  return core;
}

/* access_lock held. A publisher needs the stream id to be its own, or free (then it
 * becomes its own, held by @hold); a player needs it to be of its room. */
static int
check_owner (RelayCore                *core,
             const TetherRelayAccess  *access,
             TetherRelayHold           hold,
             gint64                    now,
             GError                  **error)
{
  if (access->mode == TETHER_SRT_MODE_PUBLISH
      && !tether_relay_owners_take (core->owners, access->stream_id, access->user_id,
                                    access->room_id, hold, now))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_STREAM_ID_TAKEN,
                           "stream id belongs to another user or room");
      return SRT_REJX_CONFLICT;
    }
  if (access->mode == TETHER_SRT_MODE_REQUEST
      && !tether_relay_owners_room_allows (core->owners, access->stream_id, access->room_id, now))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PLAY_DENIED,
                           "stream belongs to another room");
      return SRT_REJX_FORBIDDEN;
    }
  return 0;
}

static int
on_listen (void                  *opaque,
           SRTSOCKET              ns,
           int                    hsversion,
           const struct sockaddr *peer,
           const char            *streamid)
{
  RelayCore *core = registry_lookup (opaque);
  g_autoptr(GError) error = NULL;
  g_auto(TetherRelayAccess) access = { 0, };
  int code;

  if (core == NULL || g_atomic_int_get (&core->stopping))
    {
      srt_setrejectreason (ns, SRT_REJX_DOWN);
      g_clear_pointer (&core, core_unref);
      return -1;
    }

  /* Tokens ride in the stream id: log neither. */
  code = tether_relay_access_check (streamid, core->app_id, core->app_secret,
                                    g_get_real_time () / G_USEC_PER_SEC, core->token_skew,
                                    &access, &error);

  g_mutex_lock (&core->access_lock);
  /* A publisher's handshake already takes a free stream id: two users racing for
   * it cannot both pass before either is accepted. */
  if (code == 0)
    code = check_owner (core, &access, TETHER_RELAY_HOLD_NONE, g_get_monotonic_time (), &error);
  if (code == 0)
    {
      Pending *pending = g_new0 (Pending, 1);

      pending->access = access;
      memset (&access, 0, sizeof access);
      pending->created = g_get_monotonic_time ();
      g_hash_table_replace (core->pending, GINT_TO_POINTER (ns), pending);
    }
  g_mutex_unlock (&core->access_lock);

  if (code != 0)
    {
      g_info ("Relay: rejected a connection (%d %s): %s", code, srt_rejectreason_str (code),
              error != NULL ? error->message : "");
      srt_setrejectreason (ns, code);
      STATS_ADD (core, rejects, 1);
      core_unref (core);
      return -1;
    }

  core_unref (core);
  return 0;
}

/* ------------------------------------------------------------------------- */
/* SRT thread: streams and connections */

static RelayStream *
stream_lookup_or_add (RelayCore  *core,
                      const char *id)
{
  RelayStream *stream = g_hash_table_lookup (core->streams, id);

  if (stream == NULL)
    {
      stream = g_new0 (RelayStream, 1);
      stream->id = g_strdup (id);
      stream->gop = g_byte_array_new ();
      stream->players = g_ptr_array_new ();
      tether_ts_tracker_reset (&stream->ts);
      g_hash_table_insert (core->streams, stream->id, stream);
    }
  return stream;
}

static void
stream_forget_media (RelayStream *stream)
{
  tether_ts_tracker_reset (&stream->ts);
  g_byte_array_set_size (stream->gop, 0);
  stream->gop_valid = FALSE;
  stream->key_frame_at = g_get_monotonic_time ();
  stream->key_frame_late = FALSE;
  /* Players wait for the next publisher's key frame: its timestamps, continuity
   * counters and parameter sets are new. */
  for (guint i = 0; i < stream->players->len; i++)
    ((RelayConn *) g_ptr_array_index (stream->players, i))->started = FALSE;
}

static void
stream_remove_if_unused (RelayCore   *core,
                         RelayStream *stream)
{
  if (stream->publisher == NULL && stream->players->len == 0)
    g_hash_table_remove (core->streams, stream->id);
}

static void
conn_doom (RelayCore  *core,
           RelayConn  *conn,
           const char *reason)
{
  if (conn->close_reason != NULL)
    return;
  conn->close_reason = reason;
  g_ptr_array_add (core->doomed, conn);
}

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

static void
player_enqueue (RelayCore    *core,
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
      conn_doom (core, conn, "slow");
      return;
    }
  g_byte_array_append (conn->queue, data, len);
}

/* Hands queued data to libsrt without blocking; the rest waits for SRT_EPOLL_OUT. */
static void
player_flush (RelayCore *core,
              RelayConn *conn)
{
  gsize sent = 0;

  if (conn->close_reason != NULL)
    return;

  while (player_queued (conn) > 0)
    {
      gsize chunk = MIN (player_queued (conn), LIVE_PAYLOAD_SIZE);
      int r = srt_sendmsg2 (conn->sock, (const char *) conn->queue->data + conn->queue_off, (int) chunk, NULL);

      if (r == SRT_ERROR)
        {
          if (srt_getlasterror (NULL) == SRT_EASYNCSND)
            break;
          conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
          return;
        }
      conn->queue_off += chunk;
      sent += chunk;
    }

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

  if (sent > 0)
    STATS_ADD (core, bytes_out, sent);
  player_update_events (core, conn);
}

/* The player gets the headers, then the cached GOP from its key frame, then live data. */
static void
player_start (RelayCore *core,
              RelayConn *conn)
{
  RelayStream *stream = conn->stream;
  gsize burst = 2 * TETHER_TS_PACKET_SIZE + (stream->gop_valid ? stream->gop->len : 0);

  conn->started = TRUE;
  conn->queue_limit = MAX (conn->queue_limit, player_queued (conn) + burst + core->max_queue);
  player_enqueue (core, conn, stream->ts.pat, TETHER_TS_PACKET_SIZE);
  player_enqueue (core, conn, stream->ts.pmt, TETHER_TS_PACKET_SIZE);
  if (stream->gop_valid)
    player_enqueue (core, conn, stream->gop->data, stream->gop->len);
}

static void
stream_start_waiting_players (RelayCore   *core,
                              RelayStream *stream)
{
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (!player->started)
        player_start (core, player);
    }
}

static void
stream_packet (RelayCore    *core,
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

  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (player->started)
        player_enqueue (core, player, packet, TETHER_TS_PACKET_SIZE);
    }
}

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
          stream_packet (core, conn->stream, data);
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
                stream_packet (core, conn->stream, conn->carry);
              conn->carry_len = 0;
            }
        }
    }
}

static void
publisher_read (RelayCore *core,
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
            conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
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
    STATS_ADD (core, bytes_in, received);
  for (guint i = 0; i < stream->players->len; i++)
    player_flush (core, g_ptr_array_index (stream->players, i));
}

/* Closes at once (SRT tells the peer) and forgets the connection. */
static void
conn_close (RelayCore  *core,
            RelayConn  *conn,
            const char *reason)
{
  RelayStream *stream = conn->stream;

  srt_epoll_remove_usock (core->eid, conn->sock);
  srt_close (conn->sock);

  if (conn->mode == TETHER_SRT_MODE_PUBLISH)
    {
      g_message ("Relay: publisher %s of stream %s left (%s)", conn->user_id, stream->id, reason);
      if (stream->publisher == conn)
        {
          STATS_ADD (core, n_streams, -1);
          stream->publisher = NULL;
          stream_forget_media (stream);
          /* The record stays for the claim TTL: the stream id waits for its owner. */
          g_mutex_lock (&core->access_lock);
          tether_relay_owners_let_go (core->owners, stream->id, conn->user_id,
                                      TETHER_RELAY_HOLD_PUBLISHER, g_get_monotonic_time ());
          g_mutex_unlock (&core->access_lock);
        }
      core_emit (core, signals[SIGNAL_PUBLISHER_REMOVED], stream->id, conn->user_id, reason);
    }
  else
    {
      g_debug ("Relay: player %s of stream %s left (%s)", conn->user_id, stream->id, reason);
      g_ptr_array_remove (stream->players, conn);
      STATS_ADD (core, n_players, -1);
    }

  g_hash_table_remove (core->conns, GINT_TO_POINTER (conn->sock));
  stream_remove_if_unused (core, stream);
}

static void
close_doomed (RelayCore *core)
{
  if (core->doomed->len == 0)
    return;

  for (guint i = 0; i < core->doomed->len; i++)
    {
      RelayConn *conn = g_ptr_array_index (core->doomed, i);

      conn_close (core, conn, conn->close_reason);
    }
  g_ptr_array_set_size (core->doomed, 0);
}

static void
refuse_accepted (RelayCore *core,
                 SRTSOCKET  sock)
{
  Refused refused = { sock, g_get_monotonic_time () };

  STATS_ADD (core, rejects, 1);
  g_array_append_val (core->refused, refused);
}

/* @all: at shutdown, whatever their age */
static void
close_refused (RelayCore *core,
               gint64     now,
               gboolean   all)
{
  guint kept = 0;

  for (guint i = 0; i < core->refused->len; i++)
    {
      Refused *refused = &g_array_index (core->refused, Refused, i);

      if (all || now - refused->accepted_at >= REFUSED_CLOSE_DELAY_US)
        srt_close (refused->sock);
      else
        g_array_index (core->refused, Refused, kept++) = *refused;
    }
  g_array_set_size (core->refused, kept);
}

/* The listen callback's verdict. A socket without one (it expired) is refused,
 * never let in on a check with less to go on. */
static Pending *
take_pending (RelayCore *core,
              SRTSOCKET  sock)
{
  Pending *pending = NULL;

  g_mutex_lock (&core->access_lock);
  g_hash_table_steal_extended (core->pending, GINT_TO_POINTER (sock), NULL, (gpointer *) &pending);
  g_mutex_unlock (&core->access_lock);
  return pending;
}

/* Players of another room than the stream's owner go. A player may ask before the
 * publisher is accepted, or before the room service names the room. */
static void
stream_check_players (RelayCore   *core,
                      RelayStream *stream,
                      gint64       now)
{
  g_mutex_lock (&core->access_lock);
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (player->close_reason == NULL
          && !tether_relay_owners_room_allows (core->owners, stream->id, player->room_id, now))
        {
          g_message ("Relay: closing player %s of stream %s: the stream belongs to another room",
                     player->user_id, stream->id);
          conn_doom (core, player, "forbidden");
        }
    }
  g_mutex_unlock (&core->access_lock);
}

static void
accept_one (RelayCore *core,
            SRTSOCKET  sock)
{
  Pending *pending = take_pending (core, sock);
  g_autoptr(GError) error = NULL;
  RelayStream *stream;
  RelayConn *conn;
  gboolean no = FALSE;
  int events = SRT_EPOLL_ERR;
  int code;

  if (pending == NULL)
    {
      refuse_accepted (core, sock);
      return;
    }

  /* Again, now that it counts: the record may have changed since the handshake
   * (a publisher of another room was accepted meanwhile). A publisher holds it
   * from here on. */
  g_mutex_lock (&core->access_lock);
  code = check_owner (core, &pending->access, TETHER_RELAY_HOLD_PUBLISHER, g_get_monotonic_time (), &error);
  g_mutex_unlock (&core->access_lock);
  if (code != 0)
    {
      g_message ("Relay: refused %s on stream %s after its handshake: %s",
                 pending->access.user_id, pending->access.stream_id, error->message);
      refuse_accepted (core, sock);
      pending_free (pending);
      return;
    }

  srt_setsockflag (sock, SRTO_SNDSYN, &no, sizeof no);
  srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof no);

  stream = stream_lookup_or_add (core, pending->access.stream_id);

  /* Only the owner's publishers get here: this is the same user back (a
   * reconnect), and it takes its stream over at once. */
  if (pending->access.mode == TETHER_SRT_MODE_PUBLISH && stream->publisher != NULL)
    {
      conn_doom (core, stream->publisher, TETHER_RELAY_REASON_REPLACED);
      close_doomed (core);
      stream = stream_lookup_or_add (core, pending->access.stream_id);
    }

  conn = g_new0 (RelayConn, 1);
  conn->sock = sock;
  conn->mode = pending->access.mode;
  conn->user_id = g_steal_pointer (&pending->access.user_id);
  conn->room_id = g_steal_pointer (&pending->access.room_id);
  conn->stream = stream;
  g_hash_table_insert (core->conns, GINT_TO_POINTER (sock), conn);
  pending_free (pending);

  if (conn->mode == TETHER_SRT_MODE_PUBLISH)
    {
      g_message ("Relay: %s publishes stream %s", conn->user_id, stream->id);
      stream->publisher = conn;
      STATS_ADD (core, n_streams, 1);
      stream_forget_media (stream);
      stream_check_players (core, stream, g_get_monotonic_time ());
      events |= SRT_EPOLL_IN;
      srt_epoll_add_usock (core->eid, sock, &events);
      core_emit (core, signals[SIGNAL_PUBLISHER_ADDED], stream->id, conn->user_id, NULL);
    }
  else
    {
      g_debug ("Relay: %s plays stream %s", conn->user_id, stream->id);
      conn->queue = g_byte_array_new ();
      conn->queue_limit = core->max_queue;
      g_ptr_array_add (stream->players, conn);
      STATS_ADD (core, n_players, 1);
      srt_epoll_add_usock (core->eid, sock, &events);
      /* Held until it can start on a key frame: now if one is cached, else later. */
      if (stream->publisher != NULL && (stream->gop_valid || tether_ts_tracker_is_audio_only (&stream->ts)))
        {
          player_start (core, conn);
          player_flush (core, conn);
        }
    }
}

/* One per readiness report: the listener stays readable while more wait (epoll
 * is level-triggered), and libsrt logs an error for every srt_accept() that
 * finds nothing. */
static void
accept_next (RelayCore *core)
{
  struct sockaddr_storage addr;
  int addr_len = sizeof addr;
  SRTSOCKET sock = srt_accept (core->listener, (struct sockaddr *) &addr, &addr_len);

  if (sock != SRT_INVALID_SOCK)
    accept_one (core, sock);
}

/* A player that does not read fills its receive buffer and shuts its window;
 * libsrt then drops what it cannot send (live mode) instead of reporting a full
 * send buffer, so the window is what tells. */
static void
check_stalled_players (RelayCore *core,
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
          conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
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
          conn_doom (core, conn, "slow");
        }
    }
}

/* Players once more when a claim named a room, and a word in the log for video
 * that never brings a key frame (its players wait for one). */
static void
check_streams (RelayCore *core,
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
        stream_check_players (core, stream, now);

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

static void
purge_expired (RelayCore *core,
               gint64     now)
{
  GHashTableIter iter;
  Pending *pending;

  g_mutex_lock (&core->access_lock);
  g_hash_table_iter_init (&iter, core->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    if (now - pending->created > PENDING_TTL_US)
      g_hash_table_iter_remove (&iter);
  tether_relay_owners_purge (core->owners, now);
  g_mutex_unlock (&core->access_lock);
}

static void
handle_event (RelayCore       *core,
              SRT_EPOLL_EVENT *ev)
{
  RelayConn *conn;

  if (ev->fd == core->listener)
    {
      accept_next (core);
      return;
    }

  conn = g_hash_table_lookup (core->conns, GINT_TO_POINTER (ev->fd));
  if (conn == NULL || conn->close_reason != NULL)
    return;

  if (conn->mode == TETHER_SRT_MODE_PUBLISH && (ev->events & SRT_EPOLL_IN))
    publisher_read (core, conn);
  else if (conn->mode == TETHER_SRT_MODE_REQUEST && (ev->events & SRT_EPOLL_OUT))
    player_flush (core, conn);

  if ((ev->events & SRT_EPOLL_ERR) || srt_getsockstate (conn->sock) > SRTS_CONNECTED)
    conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
}

static void
close_everything (RelayCore *core)
{
  GHashTableIter iter;
  RelayConn *conn;

  g_ptr_array_set_size (core->doomed, 0);
  g_hash_table_iter_init (&iter, core->conns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    {
      conn->close_reason = TETHER_RELAY_REASON_SHUTDOWN;
      g_ptr_array_add (core->doomed, conn);
    }
  close_doomed (core);
  close_refused (core, 0, TRUE);

  srt_close (core->listener);
  core->listener = SRT_INVALID_SOCK;
  srt_epoll_release (core->eid);
  core->eid = -1;
}

static gpointer
relay_thread (gpointer data)
{
  RelayCore *core = data;
  SRT_EPOLL_EVENT events[64];
  gint64 last_tick = g_get_monotonic_time ();

  while (!g_atomic_int_get (&core->stopping))
    {
      int n = srt_epoll_uwait (core->eid, events, G_N_ELEMENTS (events), 0);
      gint64 now;

      if (n <= 0)
        g_usleep (g_hash_table_size (core->conns) > 0 ? IDLE_SLEEP_US : EMPTY_SLEEP_US);

      for (int i = 0; i < n; i++)
        {
          handle_event (core, &events[i]);
          close_doomed (core);
        }

      now = g_get_monotonic_time ();
      if (now - last_tick >= TICK_INTERVAL_US)
        {
          last_tick = now;
          check_stalled_players (core, now);
          check_streams (core, now);
          close_doomed (core);
          close_refused (core, now, FALSE);
          purge_expired (core, now);
        }
    }

  close_everything (core);
  core_unref (core);
  return NULL;
}

/* ------------------------------------------------------------------------- */
/* GObject */

static void
tether_relay_dispose (GObject *object)
{
  TetherRelay *self = TETHER_RELAY (object);

  tether_relay_stop (self);

  G_OBJECT_CLASS (tether_relay_parent_class)->dispose (object);
}

static void
tether_relay_finalize (GObject *object)
{
  TetherRelay *self = TETHER_RELAY (object);

  g_clear_pointer (&self->core, core_unref);
  g_free (self->app_id);
  g_free (self->app_secret);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_relay_parent_class)->finalize (object);
}

static void
set_uint_prop (TetherRelay *self,
               guint       *field,
               guint        value,
               GParamSpec  *pspec)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
tether_relay_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TetherRelay *self = TETHER_RELAY (object);

  switch (prop_id)
    {
    case PROP_LATENCY:
      g_value_set_uint (value, self->latency);
      break;
    case PROP_MAX_PLAYER_QUEUE_BYTES:
      g_value_set_uint (value, self->max_player_queue_bytes);
      break;
    case PROP_GOP_CACHE_BYTES:
      g_value_set_uint (value, self->gop_cache_bytes);
      break;
    case PROP_TOKEN_SKEW:
      g_value_set_int (value, self->token_skew);
      break;
    case PROP_CLAIM_TTL:
      g_value_set_double (value, self->claim_ttl);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_relay_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TetherRelay *self = TETHER_RELAY (object);

  switch (prop_id)
    {
    case PROP_LATENCY:
      set_uint_prop (self, &self->latency, g_value_get_uint (value), pspec);
      break;
    case PROP_MAX_PLAYER_QUEUE_BYTES:
      set_uint_prop (self, &self->max_player_queue_bytes, g_value_get_uint (value), pspec);
      break;
    case PROP_GOP_CACHE_BYTES:
      set_uint_prop (self, &self->gop_cache_bytes, g_value_get_uint (value), pspec);
      break;
    case PROP_TOKEN_SKEW:
      if (self->token_skew != g_value_get_int (value))
        {
          self->token_skew = g_value_get_int (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_CLAIM_TTL:
      if (self->claim_ttl != g_value_get_double (value))
        {
          self->claim_ttl = g_value_get_double (value);
          /* At once, for every record: only the room service's session TTL
           * decides how long a stream id waits for its owner. */
          if (self->core != NULL)
            {
              g_mutex_lock (&self->core->access_lock);
              tether_relay_owners_set_ttl (self->core->owners, (gint64) (self->claim_ttl * G_USEC_PER_SEC));
              g_mutex_unlock (&self->core->access_lock);
            }
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_relay_class_init (TetherRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_relay_dispose;
  object_class->finalize = tether_relay_finalize;
  object_class->get_property = tether_relay_get_property;
  object_class->set_property = tether_relay_set_property;

  properties[PROP_LATENCY] =
    g_param_spec_uint ("latency", NULL, "SRT latency in milliseconds",
                       0, 60000, DEFAULT_LATENCY_MS, flags);
  properties[PROP_MAX_PLAYER_QUEUE_BYTES] =
    g_param_spec_uint ("max-player-queue-bytes", NULL,
                       "Bytes a player may fall behind before it is dropped",
                       16 * 1024, G_MAXUINT, DEFAULT_MAX_PLAYER_QUEUE, flags);
  properties[PROP_GOP_CACHE_BYTES] =
    g_param_spec_uint ("gop-cache-bytes", NULL,
                       "Bound of the cached group of pictures per stream",
                       0, G_MAXUINT, DEFAULT_GOP_CACHE, flags);
  properties[PROP_TOKEN_SKEW] =
    g_param_spec_int ("token-skew", NULL, "Clock-skew tolerance for tokens, seconds",
                      0, G_MAXINT, 30, flags);
  properties[PROP_CLAIM_TTL] =
    g_param_spec_double ("claim-ttl", NULL,
                         "Seconds a stream id stays its owner's after its publisher left",
                         0.0, 1e9, DEFAULT_CLAIM_TTL, flags);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, "The bound SRT port, 0 when not listening",
                       0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherRelay::publisher-added:
   * @stream_id: the stream id now published
   * @user_id: who publishes it
   */
  signals[SIGNAL_PUBLISHER_ADDED] =
    g_signal_new ("publisher-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * TetherRelay::publisher-removed:
   * @stream_id: the stream id no longer published
   * @user_id: who published it
   * @reason: "disconnected", "replaced" or "shutdown"
   */
  signals[SIGNAL_PUBLISHER_REMOVED] =
    g_signal_new ("publisher-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
tether_relay_init (TetherRelay *self)
{
  self->latency = DEFAULT_LATENCY_MS;
  self->max_player_queue_bytes = DEFAULT_MAX_PLAYER_QUEUE;
  self->gop_cache_bytes = DEFAULT_GOP_CACHE;
  self->token_skew = 30;
  self->claim_ttl = DEFAULT_CLAIM_TTL;
}

/**
 * tether_relay_new:
 * @app_id: the app id tokens must be for
 * @app_secret: the secret tokens are signed with (never logged)
 *
 * Signals will be emitted on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a relay, not yet listening
 */
TetherRelay *
tether_relay_new (const char *app_id,
                  const char *app_secret)
{
  TetherRelay *self;

  g_return_val_if_fail (app_id != NULL, NULL);
  g_return_val_if_fail (app_secret != NULL, NULL);

  self = g_object_new (TETHER_TYPE_RELAY, NULL);
  self->app_id = g_strdup (app_id);
  self->app_secret = g_strdup (app_secret);
  self->context = g_main_context_ref_thread_default ();
  /* Now, not at listen: the room service may claim stream ids before that. */
  self->core = core_new (self);

  return self;
}

static gboolean
resolve (const char              *host,
         guint16                  port,
         struct sockaddr_storage *addr,
         int                     *addr_len,
         GError                 **error)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *res = NULL;
  g_autofree char *service = g_strdup_printf ("%u", port);
  int rc;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0 || res == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot resolve %s: %s", host != NULL ? host : "(any)", gai_strerror (rc));
      return FALSE;
    }
  memcpy (addr, res->ai_addr, res->ai_addrlen);
  *addr_len = res->ai_addrlen;
  freeaddrinfo (res);
  return TRUE;
}

static gboolean
srt_failed (GError    **error,
            const char *what)
{
  int code = srt_getlasterror (NULL);

  g_set_error (error, G_IO_ERROR,
               code == SRT_EDUPLISTEN || code == SRT_EBINDCONFLICT ? G_IO_ERROR_ADDRESS_IN_USE : G_IO_ERROR_FAILED,
               "SRT %s failed: %s", what, srt_getlasterror_str ());
  return FALSE;
}

static void
srt_users_release (void)
{
  g_mutex_lock (&registry_lock);
  if (--srt_users == 0)
    srt_cleanup ();
  g_mutex_unlock (&registry_lock);
}

/**
 * tether_relay_listen:
 * @host: (nullable): address to bind, %NULL for all
 * @port: UDP port, 0 for an ephemeral one (see tether_relay_get_port())
 *
 * Opens the SRT listener and starts the relay's thread.
 *
 * Returns: %TRUE on success
 */
gboolean
tether_relay_listen (TetherRelay  *self,
                     const char   *host,
                     guint16       port,
                     GError      **error)
{
  struct sockaddr_storage addr;
  int addr_len = 0;
  RelayCore *core;
  gboolean no = FALSE;
  int latency, events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

  g_return_val_if_fail (TETHER_IS_RELAY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->thread != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "The relay is already listening");
      return FALSE;
    }
  if (!resolve (host, port, &addr, &addr_len, error))
    return FALSE;

  g_mutex_lock (&registry_lock);
  if (srt_users++ == 0 && srt_startup () < 0)
    {
      srt_users--;
      g_mutex_unlock (&registry_lock);
      return srt_failed (error, "startup");
    }
  g_mutex_unlock (&registry_lock);

  core = self->core;
  core->latency_ms = self->latency;
  core->max_queue = self->max_player_queue_bytes;
  core->gop_max = self->gop_cache_bytes;
  core->token_skew = self->token_skew;
  g_atomic_int_set (&core->stopping, 0);
  latency = (int) core->latency_ms;
  core->listener = srt_create_socket ();
  if (core->listener == SRT_INVALID_SOCK
      || srt_setsockflag (core->listener, SRTO_RCVSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (core->listener, SRTO_SNDSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (core->listener, SRTO_LATENCY, &latency, sizeof latency) == SRT_ERROR
      || srt_bind (core->listener, (struct sockaddr *) &addr, addr_len) == SRT_ERROR
      || srt_listen_callback (core->listener, on_listen, core) == SRT_ERROR
      || srt_listen (core->listener, 64) == SRT_ERROR)
    goto failed;

  addr_len = sizeof addr;
  if (srt_getsockname (core->listener, (struct sockaddr *) &addr, &addr_len) == SRT_ERROR)
    goto failed;
  self->port = addr.ss_family == AF_INET6 ? g_ntohs (((struct sockaddr_in6 *) &addr)->sin6_port)
                                          : g_ntohs (((struct sockaddr_in *) &addr)->sin_port);

  core->eid = srt_epoll_create ();
  if (core->eid < 0 || srt_epoll_add_usock (core->eid, core->listener, &events) == SRT_ERROR)
    goto failed;
  srt_epoll_set (core->eid, SRT_EPOLL_ENABLE_EMPTY);

  g_mutex_lock (&registry_lock);
  if (live_cores == NULL)
    live_cores = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_hash_table_add (live_cores, core);
  g_mutex_unlock (&registry_lock);

  self->thread = g_thread_new ("tether-relay", relay_thread, core_ref (core));

  g_message ("Relay: listening for SRT on %s:%u", host != NULL ? host : "*", self->port);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
  return TRUE;

failed:
  srt_failed (error, "listen");
  if (core->eid >= 0)
    srt_epoll_release (core->eid);
  core->eid = -1;
  if (core->listener != SRT_INVALID_SOCK)
    srt_close (core->listener);
  core->listener = SRT_INVALID_SOCK;
  self->port = 0;
  srt_users_release ();
  return FALSE;
}

/**
 * tether_relay_get_port:
 *
 * Returns: the bound UDP port, 0 when not listening
 */
guint16
tether_relay_get_port (TetherRelay *self)
{
  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  return self->port;
}

/**
 * tether_relay_claim_stream:
 * @stream_id: a stream id the room service accepted (`stream_add`)
 * @user_id: the user who added it
 * @room_id: (nullable): the room it was added in; %NULL leaves the room to the
 *   publisher's token
 *
 * Makes @stream_id @user_id's in @room_id on this node before (or while) their
 * publisher connects: no other user, and no token of another room, may publish
 * it, and players of other rooms are refused (players of other rooms that
 * already play it are closed). Claiming again refreshes the claim. The claim
 * holds until tether_relay_release_stream().
 *
 * Safe to call from any thread, listening or not.
 *
 * Returns: %FALSE if another user or another room owns @stream_id: its publisher
 *   is connected, or it left less than #TetherRelay:claim-ttl ago, or the room
 *   service claimed it for them
 */
gboolean
tether_relay_claim_stream (TetherRelay *self,
                           const char  *stream_id,
                           const char  *user_id,
                           const char  *room_id)
{
  gboolean ok;

  g_return_val_if_fail (TETHER_IS_RELAY (self), FALSE);
  g_return_val_if_fail (stream_id != NULL, FALSE);
  g_return_val_if_fail (user_id != NULL, FALSE);

  g_mutex_lock (&self->core->access_lock);
  ok = tether_relay_owners_take (self->core->owners, stream_id, user_id, room_id,
                                 TETHER_RELAY_HOLD_CLAIM, g_get_monotonic_time ());
  g_mutex_unlock (&self->core->access_lock);

  return ok;
}

/**
 * tether_relay_release_stream:
 * @stream_id: a stream id claimed with tether_relay_claim_stream()
 * @user_id: the user who claimed it; a release by anyone else is ignored
 *
 * The room service deleted the stream. A connected publisher keeps it; the stream
 * id stays @user_id's for #TetherRelay:claim-ttl after the publisher leaves (at
 * once, if none is connected), as for any stream id, so a host coming back after a
 * crash gets it back.
 *
 * Safe to call from any thread, listening or not.
 */
void
tether_relay_release_stream (TetherRelay *self,
                             const char  *stream_id,
                             const char  *user_id)
{
  g_return_if_fail (TETHER_IS_RELAY (self));
  g_return_if_fail (stream_id != NULL);
  g_return_if_fail (user_id != NULL);

  g_mutex_lock (&self->core->access_lock);
  tether_relay_owners_let_go (self->core->owners, stream_id, user_id,
                              TETHER_RELAY_HOLD_CLAIM, g_get_monotonic_time ());
  g_mutex_unlock (&self->core->access_lock);
}

/**
 * tether_relay_stop:
 *
 * Closes every connection (peers are told at once), the listener and the thread.
 * "publisher-removed" with reason "shutdown" is emitted for each publisher before
 * this returns when called on the relay's main context. Safe to call twice.
 */
void
tether_relay_stop (TetherRelay *self)
{
  RelayCore *core;

  g_return_if_fail (TETHER_IS_RELAY (self));

  if (self->thread == NULL)
    return;

  core = self->core;
  g_atomic_int_set (&core->stopping, 1);
  g_thread_join (g_steal_pointer (&self->thread));

  g_mutex_lock (&registry_lock);
  g_hash_table_remove (live_cores, core);
  g_mutex_unlock (&registry_lock);
  srt_users_release ();

  /* Verdicts on handshakes that no listener will accept now; owner records stay. */
  g_mutex_lock (&core->access_lock);
  g_hash_table_remove_all (core->pending);
  g_mutex_unlock (&core->access_lock);

  g_mutex_lock (&core->stats_lock);
  core->n_streams = 0;
  core->n_players = 0;
  g_mutex_unlock (&core->stats_lock);

  /* Deliver what is still queued now, while the caller can see it happen. */
  if (g_main_context_acquire (core->context))
    {
      emissions_dispatch (core);
      g_main_context_release (core->context);
    }

  g_message ("Relay: stopped listening on port %u", self->port);
  self->port = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}

static void
append_metric (GString    *out,
               const char *name,
               const char *type,
               const char *help,
               guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n",
                          name, help, name, type, name, value);
}

/**
 * tether_relay_get_metrics_text:
 *
 * Returns: (transfer full): Prometheus text-format lines for /metrics
 */
char *
tether_relay_get_metrics_text (TetherRelay *self)
{
  GString *out = g_string_new (NULL);
  guint64 streams = 0, players = 0, in = 0, out_bytes = 0, drops = 0, rejects = 0;

  g_return_val_if_fail (TETHER_IS_RELAY (self), NULL);

  if (self->core != NULL)
    {
      RelayCore *core = self->core;

      g_mutex_lock (&core->stats_lock);
      streams = core->n_streams;
      players = core->n_players;
      in = core->bytes_in;
      out_bytes = core->bytes_out;
      drops = core->player_drops;
      rejects = core->rejects;
      g_mutex_unlock (&core->stats_lock);
    }

  append_metric (out, "tether_media_streams", "gauge", "Streams with a publisher on this media node.", streams);
  append_metric (out, "tether_media_players", "gauge", "Players connected to this media node.", players);
  append_metric (out, "tether_media_bytes_in_total", "counter", "Bytes received from publishers.", in);
  append_metric (out, "tether_media_bytes_out_total", "counter", "Bytes sent to players.", out_bytes);
  append_metric (out, "tether_media_player_drops_total", "counter", "Players dropped for falling behind.", drops);
  append_metric (out, "tether_media_rejects_total", "counter", "Connections refused at the handshake.", rejects);

  return g_string_free (out, FALSE);
}

/**
 * tether_relay_get_stream_count:
 *
 * Returns: the number of stream ids with a publisher
 */
guint
tether_relay_get_stream_count (TetherRelay *self)
{
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  if (self->core != NULL)
    {
      g_mutex_lock (&self->core->stats_lock);
      n = self->core->n_streams;
      g_mutex_unlock (&self->core->stats_lock);
    }
  return n;
}

/**
 * tether_relay_get_player_count:
 *
 * Returns: the number of connected players
 */
guint
tether_relay_get_player_count (TetherRelay *self)
{
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_RELAY (self), 0);

  if (self->core != NULL)
    {
      g_mutex_lock (&self->core->stats_lock);
      n = self->core->n_players;
      g_mutex_unlock (&self->core->stats_lock);
    }
  return n;
}
