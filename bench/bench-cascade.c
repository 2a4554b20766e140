/* bench-cascade.c: figures for the media cascade (docs/design.md, "Media cascade") —
 * first frame through an edge against the origin, origin egress and CPU with P players
 * on an edge against the same P on the origin, the edge's memory and CPU per pulled
 * stream, and the gap an edge's player sees when the origin is killed
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-cascade [--server PATH] [--bitrate KBPS] [--duration S] [--players N]
 *                      [--cold N] [--levels P,P,…] [--streams K] [--failovers N]
 *                      [--publisher member|ingest] [--land spare|edge]
 *                      [--publisher-delay MS] [--node-timeout S] [--heartbeat-timeout S]
 *                      [PART...]
 *   PART: ttff load streams failover (default: all)
 *
 * Who runs where, all on this machine: a private redis-server (tests/support/
 * tether-test-redis.c), and three `tether-server --redis … --media-cascade` processes,
 * each with its embedded media node: n0 the origin, the edge, and a third node. The
 * publisher is bench-media's publisher pipeline (videotestsrc snow -> x264 at --bitrate
 * -> mpegtsmux -> libsrt, as TetherPublisher builds it) publishing stream "cam" of room
 * "show" to n0's media node as an ingest, so Redis says `stream:cam` → n0; in the
 * failover part it is `tether-cli publish` (a room member, failing over by itself)
 * unless --publisher ingest. Players are bench-media's decoding player (first frame:
 * libsrt → tsdemux → h264parse → decoder) and its raw libsrt callers (load), in this
 * process; the failover's player is a blocking libsrt caller of this file that
 * time-stamps every packet. A player on the edge makes it pull "cam" from n0 once.
 *
 * Figures only, never assertions; every wait has a deadline, and a watchdog ends a
 * hung run and its children.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gst/gst.h>
#include <srt/srt.h>

#include "bench-media.h"
#include "bench-util.h"
#include "tether-test-process.h"
#include "tether-test-redis.h"
#include "tether-test-server.h"
#include "tether-test-stats.h"
#include "tether-test-utils.h"

#define WATCHDOG_SECONDS 900
#define N_NODES 3
#define KEY_PREFIX "tether:" TETHER_TEST_APP_ID ":"
#define ROOM "show"
#define STREAM "cam"
#define PLAY_TIMEOUT_MS 8000
#define GAP_MIN_US 200000   /* a silence at the player shorter than this is jitter */

static char *server_program;
static char *command_line;
static gint bitrate_kbps = 1500;     /* --bitrate: TetherPublisher's default */
static gint duration_s = 10;         /* --duration: each load window */
static gint n_players = 20;          /* --players: first-frame trials on each node */
static gint n_cold = 8;              /* --cold: first frames that start the pull */
static char *levels_text;            /* --levels: 1,10,50,100 */
static gint n_streams = 4;           /* --streams */
static gint n_failovers = 5;         /* --failovers */
static gint publisher_delay_ms = 0;  /* --publisher-delay */
static char *node_timeout_text;      /* --node-timeout: the server's default (3 s) */
static char *heartbeat_timeout_text; /* --heartbeat-timeout: the server's default (90 s) */
static char *publisher_kind;         /* --publisher: member (default) or ingest */
static const char *cli_program = TETHER_CLI_PATH;
static char *land;                   /* --land: spare (default) or edge */
gboolean bench_srt_plain = FALSE;

char *
bench_passphrase (const char *streamid)
{
  return bench_srt_plain ? NULL : tether_test_stream_id_passphrase (streamid);
}

/* ---- printing ----------------------------------------------------------------------- */

static void
print_ms (const char *label,
          GArray     *ms,
          guint       failed)
{
  g_autofree char *l = bench_loadavg ();

  if (ms->len == 0)
    g_print ("  %-44s no samples (%u failed)  [loadavg %s]\n", label, failed, l);
  else
    g_print ("  %-44s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (n=%u, %u failed)  [loadavg %s]\n",
             label, tether_test_percentile (ms, 50), tether_test_percentile (ms, 99),
             tether_test_percentile (ms, 100), ms->len, failed, l);
}

/* ---- the cluster: one redis-server, three nodes with --media-cascade ---------------- */

typedef struct
{
  TetherTestServerProcess *server;
  char *id;
  int pid;
  guint16 media_port;
} Node;

typedef struct
{
  TetherTestRedis *redis;
  Node nodes[N_NODES];
} Cluster;

static int
redis_pid (TetherTestRedis *redis)
{
  return (int) g_ascii_strtoll (tether_test_redis_get_pid (redis), NULL, 10);
}

typedef struct
{
  Cluster *cl;
  Node *node;
} NodeWait;

static gboolean
media_registered (gpointer data)
{
  NodeWait *w = data;
  g_autofree char *url = tether_test_redis_command (w->cl->redis, "HGET " KEY_PREFIX
                                                    "medianode:%s url", w->node->id);
  const char *colon = url != NULL ? strrchr (url, ':') : NULL;

  if (url == NULL || !g_str_has_prefix (url, "srt://") || colon == NULL)
    return FALSE;
  w->node->media_port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
  return w->node->media_port != 0;
}

static void
node_start (Cluster    *cl,
            guint       i,
            const char *id)
{
  Node *n = &cl->nodes[i];
  NodeWait w = { cl, n };
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  n->id = g_strdup (id);
  g_ptr_array_add (args, (char *) "--app-id");
  g_ptr_array_add (args, (char *) TETHER_TEST_APP_ID);
  g_ptr_array_add (args, (char *) "--app-secret");
  g_ptr_array_add (args, (char *) TETHER_TEST_SECRET);
  g_ptr_array_add (args, (char *) "--redis");
  g_ptr_array_add (args, (char *) tether_test_redis_get_url (cl->redis));
  g_ptr_array_add (args, (char *) "--node-id");
  g_ptr_array_add (args, n->id);
  g_ptr_array_add (args, (char *) "--media-listen");
  g_ptr_array_add (args, (char *) "127.0.0.1:0");
  g_ptr_array_add (args, (char *) "--media-cascade");
  g_ptr_array_add (args, (char *) "--admin-listen");
  g_ptr_array_add (args, (char *) "127.0.0.1:0");
  if (node_timeout_text != NULL)
    {
      g_ptr_array_add (args, (char *) "--node-timeout");
      g_ptr_array_add (args, node_timeout_text);
    }
  if (heartbeat_timeout_text != NULL)
    {
      g_ptr_array_add (args, (char *) "--heartbeat-timeout");
      g_ptr_array_add (args, heartbeat_timeout_text);
    }
  g_ptr_array_add (args, NULL);

  n->server = tether_test_server_process_newv ((const char * const *) args->pdata);
  n->pid = bench_process_pid (tether_test_server_process_get_process (n->server));
  bench_watchdog_add_pid (n->pid);
  if (!tether_test_poll_until (media_registered, &w, 10000))
    g_error ("node %s: its media node did not register in Redis within 10 s", n->id);
}

/* Nodes @run n0 (the origin), n1 (the edge) and n2, or with @edge_last the edge n2 and
 * the third n1: libtether's publisher walks the live media nodes in the order of their
 * ids, so a member publisher failing over from n0 lands on n1. */
static Cluster *
cluster_start (const char *run,
               gboolean    edge_last)
{
  Cluster *cl = g_new0 (Cluster, 1);
  g_autoptr(GError) error = NULL;

  cl->redis = tether_test_redis_start (&error);
  if (cl->redis == NULL)
    g_error ("%s", error->message);
  bench_watchdog_add_pid (redis_pid (cl->redis));
  for (guint i = 0; i < N_NODES; i++)
    {
      g_autofree char *id = g_strdup_printf ("%sn%u", run, edge_last && i > 0 ? 3 - i : i);

      node_start (cl, i, id);
    }
  return cl;
}

static void
cluster_free (Cluster *cl)
{
  for (guint i = 0; i < N_NODES; i++)
    {
      Node *n = &cl->nodes[i];

      if (n->server == NULL)
        continue;
      bench_watchdog_remove_pid (n->pid);
      tether_test_server_process_free (n->server);
      g_free (n->id);
    }
  bench_watchdog_remove_pid (redis_pid (cl->redis));
  tether_test_redis_free (cl->redis);
  g_free (cl);
}

/* The gauge or counter @name of @n's /metrics, G_MAXUINT64 when unread. */
static guint64
node_metric (Node       *n,
             const char *name)
{
  TetherTestProcess *process = tether_test_server_process_get_process (n->server);
  g_autofree char *text = tether_test_server_admin_get (process, "metrics", NULL);
  guint64 value = G_MAXUINT64;

  if (text != NULL)
    tether_test_metric (text, name, &value);
  return value;
}

/* The node Redis names for @stream, or NULL. */
static char *
stream_node (Cluster    *cl,
             const char *stream)
{
  return tether_test_redis_command (cl->redis, "HGET " KEY_PREFIX "stream:%s node", stream);
}

typedef struct
{
  Cluster *cl;
  const char *stream;
  const char *node;
} StreamWait;

static gboolean
stream_on (gpointer data)
{
  StreamWait *w = data;
  g_autofree char *node = stream_node (w->cl, w->stream);

  return g_strcmp0 (node, w->node) == 0;
}

/* Publishes @stream to @n's media node as an ingest; TRUE once Redis places it there. */
static BenchPub *
publish_on (Cluster    *cl,
            Node       *n,
            const char *stream)
{
  g_autofree char *pub_id = tether_test_publish_stream_id (stream, "host", ROOM);
  BenchPub *pub = bench_pub_new ("snow", (guint) bitrate_kbps, FALSE);
  StreamWait w = { cl, stream, n->id };

  if (!bench_pub_connect (pub, n->media_port, pub_id)
      || !tether_test_poll_until (stream_on, &w, 10000))
    g_printerr ("publisher of %s: not shown on %s in Redis within 10 s\n", stream, n->id);
  return pub;
}

static char *
play_id (const char *stream,
         guint       i)
{
  g_autofree char *user = g_strdup_printf ("viewer%u", i);

  return tether_test_play_stream_id (stream, user, ROOM, NULL);
}

/* ---- part 1: first frame on the edge against the origin ----------------------------- */

/* One decoding player on @port from its start to its first decoded frame. */
static gboolean
first_frame (guint16 port,
             guint   i,
             GArray *ms)
{
  g_autofree char *id = play_id (STREAM, i);
  BenchPlay *play = bench_play_start (port, id);
  gboolean ok;

  ok = TETHER_POLL_UNTIL (bench_play_done (play), PLAY_TIMEOUT_MS) && play->t_first_frame != 0;
  if (ok)
    {
      double v = (play->t_first_frame - play->t_start) / 1000.0;

      g_array_append_val (ms, v);
    }
  bench_play_free (play);
  return ok;
}

static gboolean
no_pull (gpointer data)
{
  return node_metric (data, "tether_media_pulls") == 0;
}

static void
part_ttff (void)
{
  Cluster *cl = cluster_start ("", FALSE);
  Node *origin = &cl->nodes[0], *edge = &cl->nodes[1];
  BenchPub *pub = publish_on (cl, origin, STREAM);
  g_autoptr(GArray) on_origin = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) warm = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cold = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *holder_id = play_id (STREAM, 999);
  RawPlayers *holder;
  guint failed = 0;

  g_print ("\n[ttff] start of a decoding player -> its first decoded frame; %d players one at a "
           "time on each node (decoder %s); stream %d kbit/s, 1 s GOP\n",
           n_players, pick_decoder (), bitrate_kbps);
  tether_test_run_for (2000);
  for (gint i = 0; i < n_players; i++)
    failed += !first_frame (origin->media_port, (guint) i, on_origin);
  print_ms ("on the origin (n0, its publisher there)", on_origin, failed);

  /* A raw player holds n1's pull: each new player joins a pull already running. */
  holder = raw_players_new (edge->media_port, holder_id);
  g_atomic_int_set (&holder->target, 1);
  if (!TETHER_POLL_UNTIL (raw_players_all_receiving (holder, 1), PLAY_TIMEOUT_MS))
    g_printerr ("[ttff] the edge's holding player receives nothing\n");
  tether_test_run_for (1000);
  failed = 0;
  for (gint i = 0; i < n_players; i++)
    failed += !first_frame (edge->media_port, (guint) (100 + i), warm);
  print_ms ("on the edge (n1), its pull running", warm, failed);
  raw_players_free (holder);

  /* Each player alone on n1, after the previous pull lingered out (2 s): its join
   * makes n1 locate the stream in Redis and pull it from n0. */
  failed = 0;
  for (gint i = 0; i < n_cold; i++)
    {
      if (!TETHER_POLL_UNTIL (no_pull (edge), 10000))
        g_printerr ("[ttff] n1's pull did not end within 10 s of its last player\n");
      failed += !first_frame (edge->media_port, (guint) (200 + i), cold);
    }
  print_ms ("on the edge (n1), its join starting the pull", cold, failed);
  g_print ("  edge: %" G_GUINT64_FORMAT " pulls started, %" G_GUINT64_FORMAT " restarted\n",
           node_metric (edge, "tether_media_pulls_started_total"),
           node_metric (edge, "tether_media_pull_restarts_total"));
  bench_pub_free (pub);
  cluster_free (cl);
}

/* ---- part 2: origin egress and CPU, P players on the edge or on the origin ---------- */

typedef struct
{
  double origin_mbit;     /* tether_media_bytes_out_total of the origin over the window */
  double origin_cpu;      /* fraction of one core */
  double edge_cpu;
  double edge_mbit;
  gint64 origin_rss, edge_rss;
  guint receiving, dead;
  double player_mbit;     /* each player's average */
  char *load;
} Window;

static void
measure (Cluster    *cl,
         RawPlayers *rp,
         guint       n,
         Window     *w)
{
  Node *origin = &cl->nodes[0], *edge = &cl->nodes[1];
  guint64 o0 = node_metric (origin, "tether_media_bytes_out_total");
  guint64 e0 = node_metric (edge, "tether_media_bytes_out_total");
  double oc0 = bench_proc_cpu_seconds (origin->pid), ec0 = bench_proc_cpu_seconds (edge->pid);
  gint64 t0 = g_get_monotonic_time (), b0 = 0, b1 = 0, x;
  guint ux, dx;
  double s;

  if (rp != NULL)
    raw_players_snapshot (rp, &b0, &x, &x, &ux, &dx);
  tether_test_run_for ((guint) duration_s * 1000);
  s = (g_get_monotonic_time () - t0) / 1e6;
  w->origin_cpu = (bench_proc_cpu_seconds (origin->pid) - oc0) / s;
  w->edge_cpu = (bench_proc_cpu_seconds (edge->pid) - ec0) / s;
  w->origin_mbit = (node_metric (origin, "tether_media_bytes_out_total") - o0) * 8.0 / s / 1e6;
  w->edge_mbit = (node_metric (edge, "tether_media_bytes_out_total") - e0) * 8.0 / s / 1e6;
  w->origin_rss = bench_proc_rss_kib (origin->pid);
  w->edge_rss = bench_proc_rss_kib (edge->pid);
  if (rp != NULL)
    {
      raw_players_snapshot (rp, &b1, &x, &x, &w->receiving, &w->dead);
      w->player_mbit = n > 0 ? (b1 - b0) * 8.0 / s / 1e6 / n : 0;
    }
  w->load = bench_loadavg ();
}

static GArray *
levels (void)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) items = g_strsplit (levels_text != NULL ? levels_text : "1,10,50,100", ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      guint64 v = g_ascii_strtoull (items[i], NULL, 10);

      if (v > 0 && v <= RAW_CALLERS_PER_PORT * RAW_MAX_PORTS)
        g_array_append_vals (a, &(guint) { (guint) v }, 1);
    }
  return a;
}

static void
print_window (const char *where,
              guint       n,
              Window     *w)
{
  g_print ("  %4u %-7s origin out %7.2f Mbit/s  origin CPU %5.1f%%  edge out %7.2f Mbit/s  "
           "edge CPU %5.1f%%  RSS origin %" G_GINT64_FORMAT " / edge %" G_GINT64_FORMAT " KiB  "
           "%u receiving %.2f Mbit/s each, %u dropped out  [loadavg %s]\n",
           n, where, w->origin_mbit, w->origin_cpu * 100, w->edge_mbit, w->edge_cpu * 100,
           w->origin_rss, w->edge_rss, w->receiving, w->player_mbit, w->dead, w->load);
}

static void
part_load (void)
{
  Cluster *cl = cluster_start ("", FALSE);
  g_autoptr(GArray) p = levels ();
  BenchPub *pub = publish_on (cl, &cl->nodes[0], STREAM);
  g_autofree char *id = play_id (STREAM, 1);
  Window base = { 0 };

  g_print ("\n[load] P raw libsrt players (reading, discarding) of one stream at %d kbit/s, on "
           "the edge n1 (which pulls it from n0) or directly on the origin n0; %d s windows; "
           "out = tether_media_bytes_out_total, CPU from /proc/PID/stat\n",
           bitrate_kbps, duration_s);
  tether_test_run_for (2000);
  measure (cl, NULL, 0, &base);
  print_window ("none", 0, &base);
  g_free (base.load);
  for (guint i = 0; i < p->len; i++)
    {
      guint n = g_array_index (p, guint, i);

      for (guint k = 0; k < 2; k++)
        {
          gboolean on_edge = k == 0;
          Node *node = &cl->nodes[on_edge ? 1 : 0];
          RawPlayers *rp = raw_players_new (node->media_port, id);
          Window w = { 0 };

          g_atomic_int_set (&rp->target, (gint) n);
          if (!TETHER_POLL_UNTIL (raw_players_all_receiving (rp, n), 30000))
            g_printerr ("[load] only %u of %u players receive on %s\n", rp->n_receiving, n,
                        node->id);
          tether_test_run_for (2000);
          measure (cl, rp, n, &w);
          print_window (on_edge ? "on edge" : "on orig", n, &w);
          g_free (w.load);
          raw_players_free (rp);
          /* the edge's pull lingers 2 s after its last player */
          if (on_edge && !TETHER_POLL_UNTIL (no_pull (&cl->nodes[1]), 10000))
            g_printerr ("[load] n1's pull did not end\n");
        }
    }
  bench_pub_free (pub);
  cluster_free (cl);
}

/* ---- part 3: memory and CPU per pulled stream on the edge --------------------------- */

static void
part_streams (void)
{
  Cluster *cl = cluster_start ("", FALSE);
  Node *edge = &cl->nodes[1];
  g_autoptr(GPtrArray) pubs = g_ptr_array_new_with_free_func ((GDestroyNotify) bench_pub_free);
  g_autoptr(GPtrArray) players = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_players_free);
  Window base = { 0 };

  g_print ("\n[streams] K streams at %d kbit/s published on n0, one raw player of each on the "
           "edge n1 (K pulls); the edge's CPU and VmRSS against K, %d s windows\n",
           bitrate_kbps, duration_s);
  for (gint k = 0; k < n_streams; k++)
    {
      g_autofree char *stream = g_strdup_printf ("cam%d", k);

      g_ptr_array_add (pubs, publish_on (cl, &cl->nodes[0], stream));
    }
  tether_test_run_for (2000);
  measure (cl, NULL, 0, &base);
  g_print ("  %2d streams on n0, no pull: edge CPU %5.2f%%, VmRSS %" G_GINT64_FORMAT " KiB  "
           "[loadavg %s]\n", n_streams, base.edge_cpu * 100, base.edge_rss, base.load);
  for (gint k = 0; k < n_streams; k++)
    {
      g_autofree char *stream = g_strdup_printf ("cam%d", k);
      g_autofree char *id = play_id (stream, 1);
      RawPlayers *rp = raw_players_new (edge->media_port, id);
      Window w = { 0 };

      g_ptr_array_add (players, rp);
      g_atomic_int_set (&rp->target, 1);
      if (!TETHER_POLL_UNTIL (raw_players_all_receiving (rp, 1), PLAY_TIMEOUT_MS))
        g_printerr ("[streams] the player of %s on n1 receives nothing\n", stream);
      tether_test_run_for (2000);
      measure (cl, NULL, 0, &w);
      g_print ("  %2d pulled: edge CPU %5.2f%% (%.2f%% per stream), VmRSS %" G_GINT64_FORMAT
               " KiB (%+.0f KiB per stream), pulls %" G_GUINT64_FORMAT ", origin serves %"
               G_GUINT64_FORMAT "  [loadavg %s]\n",
               k + 1, w.edge_cpu * 100, (w.edge_cpu - base.edge_cpu) * 100 / (k + 1), w.edge_rss,
               (double) (w.edge_rss - base.edge_rss) / (k + 1),
               node_metric (edge, "tether_media_pulls"),
               node_metric (&cl->nodes[0], "tether_media_pulls_served"), w.load);
      g_free (w.load);
    }
  g_free (base.load);
  g_ptr_array_set_size (players, 0);
  g_ptr_array_set_size (pubs, 0);
  cluster_free (cl);
}

/* ---- part 4: the gap an edge's player sees when the origin dies -------------------- */

/* A blocking libsrt caller on a thread of its own, time-stamping every packet. */
typedef struct
{
  GThread *thread;
  guint16 port;
  char *streamid;
  gint stop;
  GMutex lock;
  gint64 last;          /* µs of the latest packet */
  gint64 mark;          /* gap_* count from packets after this */
  gint64 gap_from, gap_to; /* the longest silence (≥ GAP_MIN_US) after mark */
  gint64 first_after;   /* the first packet after the first such silence */
  gboolean broken;      /* the connection ended */
  gint64 packets;
} GapPlayer;

static gpointer
gap_player_thread (gpointer data)
{
  GapPlayer *g = data;
  SRTSOCKET s = srt_create_socket ();
  struct sockaddr_in peer = { 0 };
  int latency = LATENCY_MS, timeout = 100, no = 0;
  g_autofree char *passphrase = bench_passphrase (g->streamid);
  char buf[1500];

  srt_setsockflag (s, SRTO_SENDER, &no, sizeof no);
  srt_setsockflag (s, SRTO_LATENCY, &latency, sizeof latency);
  srt_setsockflag (s, SRTO_RCVTIMEO, &timeout, sizeof timeout);
  srt_setsockflag (s, SRTO_STREAMID, g->streamid, (int) strlen (g->streamid));
  if (passphrase != NULL)
    srt_setsockflag (s, SRTO_PASSPHRASE, passphrase, (int) strlen (passphrase));
  peer.sin_family = AF_INET;
  peer.sin_port = htons (g->port);
  peer.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (srt_connect (s, (struct sockaddr *) &peer, sizeof peer) == SRT_ERROR)
    {
      g_printerr ("gap player: %s\n", srt_getlasterror_str ());
      g_mutex_lock (&g->lock);
      g->broken = TRUE;
      g_mutex_unlock (&g->lock);
      srt_close (s);
      return NULL;
    }
  while (!g_atomic_int_get (&g->stop))
    {
      int n = srt_recvmsg (s, buf, sizeof buf);
      gint64 now = g_get_monotonic_time ();

      /* a timeout, or libsrt 1.5's "nothing to read" on a live connection */
      if (n <= 0 && srt_getsockstate (s) == SRTS_CONNECTED)
        continue;
      if (n <= 0)
        {
          g_mutex_lock (&g->lock);
          g->broken = TRUE;
          g_mutex_unlock (&g->lock);
          break;
        }
      g_mutex_lock (&g->lock);
      if (g->mark != 0 && g->last != 0 && now - g->last > g->gap_to - g->gap_from
          && now - g->last >= GAP_MIN_US && now > g->mark)
        {
          g->gap_from = g->last;
          g->gap_to = now;
        }
      if (g->mark != 0 && g->first_after == 0 && g->gap_to != 0)
        g->first_after = now;
      g->last = now;
      g->packets++;
      g_mutex_unlock (&g->lock);
    }
  srt_close (s);
  return NULL;
}

static GapPlayer *
gap_player_new (guint16     port,
                const char *streamid)
{
  GapPlayer *g = g_new0 (GapPlayer, 1);

  g_mutex_init (&g->lock);
  g->port = port;
  g->streamid = g_strdup (streamid);
  g->thread = g_thread_new ("gap-player", gap_player_thread, g);
  return g;
}

static void
gap_player_free (GapPlayer *g)
{
  g_atomic_int_set (&g->stop, 1);
  g_thread_join (g->thread);
  g_mutex_clear (&g->lock);
  g_free (g->streamid);
  g_free (g);
}

static gboolean
gap_player_packets_after (GapPlayer *g,
                          gint64     n)
{
  gboolean ok;

  g_mutex_lock (&g->lock);
  ok = g->packets > n;
  g_mutex_unlock (&g->lock);
  return ok;
}

/* Data again after a silence (the gap is over once packets flow 1 s on). */
static gboolean
gap_player_back (GapPlayer *g)
{
  gboolean back;

  g_mutex_lock (&g->lock);
  back = g->broken || (g->first_after != 0 && g->last - g->gap_to > G_USEC_PER_SEC);
  g_mutex_unlock (&g->lock);
  return back;
}

/* Polled while the failover runs: when Redis first shows the stream on another node. */
typedef struct
{
  Cluster *cl;
  GapPlayer *g;
  const char *origin;
  gint64 moved;          /* µs, 0 until then */
  char *moved_to;
} FailoverWait;

static gboolean
failover_over (gpointer data)
{
  FailoverWait *f = data;

  if (f->moved == 0)
    {
      g_autofree char *node = stream_node (f->cl, STREAM);

      if (node != NULL && *node != '\0' && g_strcmp0 (node, f->origin) != 0)
        {
          f->moved = g_get_monotonic_time ();
          f->moved_to = g_steal_pointer (&node);
        }
    }
  return gap_player_back (f->g);
}

/* `tether-cli publish` of cam in ROOM as "host", on n0 first, n2 as its other server. */
static TetherTestProcess *
member_publisher (Cluster *cl)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = {
    cli_program, "publish", "--server", tether_test_server_process_get_url (cl->nodes[0].server),
    "--server", tether_test_server_process_get_url (cl->nodes[2].server), "--app-id",
    TETHER_TEST_APP_ID, "--room", ROOM, "--user", "host", "--stream", STREAM, "--node",
    cl->nodes[0].id, NULL
  };
  TetherTestProcess *p = tether_test_process_spawnv (argv, &error);
  StreamWait w = { cl, STREAM, cl->nodes[0].id };

  if (p == NULL)
    g_error ("cannot run %s: %s", cli_program, error->message);
  bench_watchdog_add_pid (bench_process_pid (p));
  if (!tether_test_poll_until (stream_on, &w, 15000))
    g_printerr ("member publisher: cam not shown on %s in Redis within 15 s\n", cl->nodes[0].id);
  return p;
}

static void
part_failover (void)
{
  g_autoptr(GArray) gaps = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) after_move = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) moved = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ingest = g_strcmp0 (publisher_kind, "ingest") == 0;
  guint broken = 0, never = 0;
  /* a dead node's streams stay in Redis until it is reaped, heartbeat-timeout on */
  guint wait_ms = 20000;

  if (heartbeat_timeout_text != NULL)
    wait_ms += 1000 * (guint) g_ascii_strtod (heartbeat_timeout_text, NULL);

  if (ingest)
    g_print ("\n[failover] publisher: ingest (the bench's pipeline at %d kbit/s, no room "
             "session), connecting to the third node %d ms after the kill (--publisher-delay)\n",
             bitrate_kbps, publisher_delay_ms);
  else
    g_print ("\n[failover] publisher: member (`tether-cli publish --server n0 --server <the "
             "third node> --node n0`: a room session; TetherPublisher's own 1500 kbit/s, "
             "--bitrate does not apply), failing over by itself\n");
  g_print ("  a raw libsrt player on the edge (%s) plays cam, published on n0; n0 gets SIGKILL; "
           "gap = the longest silence (>= %d ms) at the player after the kill; moved = Redis "
           "shows cam on another node; %d runs, each on a fresh Redis and nodes; node timeout "
           "%s s, heartbeat timeout %s s\n",
           g_strcmp0 (land, "edge") != 0 ? "n2; the publisher's walk takes n1 next"
                                         : "n1; the publisher's walk lands on it",
           GAP_MIN_US / 1000, n_failovers,
           node_timeout_text != NULL ? node_timeout_text : "3 (default)",
           heartbeat_timeout_text != NULL ? heartbeat_timeout_text : "90 (default)");
  for (gint r = 0; r < n_failovers; r++)
    {
      g_autofree char *run = g_strdup_printf ("r%d", r);
      Cluster *cl = cluster_start (run, g_strcmp0 (land, "edge") != 0);
      Node *origin = &cl->nodes[0], *edge = &cl->nodes[1], *spare = &cl->nodes[2];
      g_autofree char *pub_id = tether_test_publish_stream_id (STREAM, "host", ROOM);
      g_autofree char *id = play_id (STREAM, 1);
      BenchPub *pub = ingest ? publish_on (cl, origin, STREAM) : NULL;
      TetherTestProcess *member = ingest ? NULL : member_publisher (cl);
      GapPlayer *g = gap_player_new (edge->media_port, id);
      FailoverWait f = { cl, g, origin->id, 0, NULL };
      gint64 killed;
      g_autofree char *l = NULL;

      if (!TETHER_POLL_UNTIL (gap_player_packets_after (g, 200), PLAY_TIMEOUT_MS))
        g_printerr ("[failover] run %d: the edge's player receives nothing\n", r);
      tether_test_run_for (1500);
      g_mutex_lock (&g->lock);
      killed = g->mark = g_get_monotonic_time ();
      g_mutex_unlock (&g->lock);
      tether_test_server_process_kill (origin->server);
      bench_watchdog_remove_pid (origin->pid);
      if (ingest)
        {
          if (publisher_delay_ms > 0)
            tether_test_run_for ((guint) publisher_delay_ms);
          bench_pub_connect (pub, spare->media_port, pub_id);
        }
      tether_test_poll_until (failover_over, &f, wait_ms);
      l = bench_loadavg ();
      g_mutex_lock (&g->lock);
      if (g->broken)
        broken++;
      if (g->first_after == 0 || g->gap_to == 0)
        {
          never++;
          g_print ("  run %d: no data at the player within %u s of the kill (connection %s; "
                   "Redis: cam moved to %s)  [loadavg %s]\n", r, wait_ms / 1000,
                   g->broken ? "broken" : "open", f.moved_to != NULL ? f.moved_to : "no node", l);
        }
      else
        {
          double gap = (g->gap_to - g->gap_from) / 1000.0;
          double since = f.moved != 0 ? (g->gap_to - f.moved) / 1000.0 : NAN;
          double move_ms = f.moved != 0 ? (f.moved - killed) / 1000.0 : NAN;

          g_array_append_val (gaps, gap);
          if (f.moved != 0)
            {
              g_array_append_val (after_move, since);
              g_array_append_val (moved, move_ms);
            }
          g_print ("  run %d: gap %.0f ms; cam moved to %s %.0f ms after the kill, the player's "
                   "data %.0f ms after that; connection %s  [loadavg %s]\n", r, gap,
                   f.moved_to != NULL ? f.moved_to : "?", move_ms, since,
                   g->broken ? "BROKEN" : "kept", l);
        }
      g_mutex_unlock (&g->lock);
      g_print ("         edge: %" G_GUINT64_FORMAT " pull restarts\n",
               node_metric (edge, "tether_media_pull_restarts_total"));
      gap_player_free (g);
      bench_pub_free (pub);
      if (member != NULL)
        {
          bench_watchdog_remove_pid (bench_process_pid (member));
          tether_test_process_free (member);
        }
      g_free (f.moved_to);
      cluster_free (cl);
    }
  print_ms ("gap at the edge's player", gaps, never);
  print_ms ("cam moved in Redis, after the kill", moved, 0);
  print_ms ("player's data, after the move", after_move, 0);
  g_print ("  connections broken: %u of %d\n", broken, n_failovers);
}

int
main (int argc, char **argv)
{
  g_autofree char *server_option = NULL;
  g_autofree char *cpu = bench_cpu_model ();
  g_autoptr(GOptionContext) context = g_option_context_new ("[ttff load streams failover] - "
                                                            "bench-cascade");
  g_autoptr(GError) error = NULL;
  g_autofree char *l = NULL;
  gboolean all;
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &server_option, "The tether-server program", "PATH" },
    { "bitrate", 0, 0, G_OPTION_ARG_INT, &bitrate_kbps, "The publisher's encoder rate (1500)",
      "KBPS" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration_s, "Each load and streams window (10)", "S" },
    { "players", 0, 0, G_OPTION_ARG_INT, &n_players, "First-frame trials on each node (20)", "N" },
    { "cold", 0, 0, G_OPTION_ARG_INT, &n_cold, "First frames that start the edge's pull (8)", "N" },
    { "levels", 0, 0, G_OPTION_ARG_STRING, &levels_text, "Players in the load part (1,10,50,100)",
      "P,P,..." },
    { "streams", 0, 0, G_OPTION_ARG_INT, &n_streams,
      "Streams the edge pulls in the streams part (4)", "K" },
    { "failovers", 0, 0, G_OPTION_ARG_INT, &n_failovers, "Origin kills (5)", "N" },
    { "publisher-delay", 0, 0, G_OPTION_ARG_INT, &publisher_delay_ms,
      "An ingest publisher's pause between the kill and its new node (0)", "MS" },
    { "node-timeout", 0, 0, G_OPTION_ARG_STRING, &node_timeout_text,
      "The nodes' --node-timeout (their default, 3)", "S" },
    { "land", 0, 0, G_OPTION_ARG_STRING, &land,
      "Where the member publisher fails over to: spare (a third node; default) or edge", "NODE" },
    { "publisher", 0, 0, G_OPTION_ARG_STRING, &publisher_kind,
      "The failover's publisher: member (tether-cli publish) or ingest (the bench's, no session)",
      "KIND" },
    { "heartbeat-timeout", 0, 0, G_OPTION_ARG_STRING, &heartbeat_timeout_text,
      "The nodes' --heartbeat-timeout (their default, 90)", "S" },
    { NULL }
  };

  command_line = g_strjoinv (" ", argv);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-cascade: %s\n", error->message);
      return 2;
    }
  bitrate_kbps = MAX (bitrate_kbps, 100);
  duration_s = MAX (duration_s, 1);
  server_program = bench_server_program ("bench-cascade", server_option, TETHER_SERVER_PATH);
  if (server_program == NULL)
    return 2;
  g_setenv ("TETHER_SERVER", server_program, TRUE);
  /* tether-cli publish mints its token from it */
  g_setenv ("TETHER_APP_SECRET", TETHER_TEST_SECRET, TRUE);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  gst_init (&argc, &argv);
  tether_media_init (NULL);
  bench_raise_nofile ();
  bench_watchdog_start ("bench-cascade", WATCHDOG_SECONDS);

  l = bench_loadavg ();
  g_print ("# %s\n# server %s\n# machine: %u CPUs, %s\n# loadavg at start: %s\n", command_line,
           server_program, g_get_num_processors (), cpu, l);
  all = argc < 2;
  for (int i = 1; i < argc || all; i++)
    {
      const char *part = all ? NULL : argv[i];

      if (all || strcmp (part, "ttff") == 0)
        part_ttff ();
      if (all || strcmp (part, "load") == 0)
        part_load ();
      if (all || strcmp (part, "streams") == 0)
        part_streams ();
      if (all || strcmp (part, "failover") == 0)
        part_failover ();
      if (!all && strcmp (part, "ttff") != 0 && strcmp (part, "load") != 0
          && strcmp (part, "streams") != 0 && strcmp (part, "failover") != 0)
        g_printerr ("bench-cascade: unknown part %s\n", part);
      if (all)
        break;
    }
  bench_watchdog_stop ();
  g_free (command_line);
  g_free (server_program);
  return 0;
}
