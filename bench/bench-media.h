/* bench-media.h: what bench-media's files share — the bench's publisher and player
 * pipelines (bench-media-pipelines.c) and its raw libsrt players (bench-media-raw.c),
 * driven by the scenarios in bench-media.c
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <srt/srt.h>

#include "tether-media-private.h"

G_BEGIN_DECLS

#define LATENCY_MS 120
#define WIDTH 640
#define HEIGHT 360
#define FPS 30
#define GOP_FRAMES 30            /* key-int-max: a 1 s GOP at 30 fps */
#define STAMP_BLOCK 16           /* the e2e time stamp: 32 blocks of 16×16 pixels, twice */

/* A publisher pipeline; its link is replaced on each bench_pub_connect(). */
typedef struct
{
  GstElement *pipeline;
  GMutex lock;
  TetherSrtLink *link;     /* under lock */
  guint generation;
  GstVideoInfo info;
  gint errors;
  GMutex trace_lock;
  GHashTable *stamped;     /* PTS → capture µs, BENCH_MEDIA_TRACE only */
} BenchPub;

/* A player pipeline and when it reached each step (monotonic µs). */
typedef struct
{
  GstElement *pipeline;
  TetherSrtLink *link;
  GMutex lock;
  gint64 t_start;
  gint64 t_connected;     /* under lock, 0 until then */
  gint64 t_first_data;
  gint64 t_first_frame;
  gboolean failed;
} BenchPlay;

/* bench-media.c: --srt-encryption=off — nodes run without encryption, and the
 * bench's publishers and players connect without a passphrase. */
extern gboolean bench_srt_plain;

/* The passphrase of @streamid's token, or NULL with bench_srt_plain. */
char       *bench_passphrase     (const char *streamid);

/* bench-media-pipelines.c */
BenchPub   *bench_pub_new        (const char *pattern,
                                  guint       bitrate_kbps,
                                  gboolean    stamp);
gboolean    bench_pub_connect    (BenchPub   *pub,
                                  guint16     port,
                                  const char *streamid);
void        bench_pub_disconnect (BenchPub   *pub);
void        bench_pub_free       (BenchPub   *pub);

const char *pick_decoder         (void);
BenchPlay  *bench_play_start     (guint16     port,
                                  const char *streamid);
gboolean    bench_play_done      (BenchPlay  *play);
void        bench_play_free      (BenchPlay  *play);

/* One raw caller's totals, as of the latest counters (RawPlayers.per). */
typedef struct
{
  gint64 bytes;
  gint64 lost;            /* pktRcvLossTotal: packets found missing, repaired or not */
  gint64 dropped;         /* pktRcvDropTotal: packets TSBPD gave up on */
  gboolean dead;
} RawPlayerStat;

/* Callers share a local UDP port (one libsrt multiplexer: one receive and one send
 * thread) by this many, so that the bench's receiving side can use both cores. */
#define RAW_CALLERS_PER_PORT 50
#define RAW_MAX_PORTS 16

/* Raw callers of one stream id on one thread; @target may change while it runs. */
typedef struct
{
  GThread *thread;
  guint16 port;
  char *streamid;
  gint target;            /* atomic: how many callers to have */
  gint stop;              /* atomic */
  GMutex lock;            /* the counters below */
  guint n_open, n_connected, n_receiving, n_dead;
  gint64 bytes;
  gint64 lost, dropped;
  GArray *per;            /* RawPlayerStat, one per caller in order of opening */
  gint64 stamp;           /* monotonic µs of the counters above */
  int shared_port[RAW_MAX_PORTS]; /* the local UDP ports the callers share */
} RawPlayers;

/* bench-media-raw.c */
RawPlayers *raw_players_new           (guint16     port,
                                       const char *streamid);
gboolean    raw_players_all_receiving (RawPlayers *rp,
                                       guint       n);
void        raw_players_snapshot      (RawPlayers *rp,
                                       gint64     *bytes,
                                       gint64     *lost,
                                       gint64     *dropped,
                                       guint      *receiving,
                                       guint      *dead);
GArray     *raw_players_per_player    (RawPlayers *rp,
                                       gint64     *stamp);
void        raw_players_free          (RawPlayers *rp);

G_END_DECLS
