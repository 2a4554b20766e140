/* bench-media.c: figures for the media path — time to first frame (GOP cache on/off,
 * srt-live-transmit), stream ADD → first frame on an autoplaying viewer, end-to-end
 * latency read from the pixels, node CPU and memory per player, failover gap
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-media [--trials N] [--add-trials N] [--failovers N] [--players N,N,…]
 *                    [--load-window S] [--srt-encryption on|off] [PART...]
 *   PART: ttff add e2e load failover (default: all)
 *
 * Prints a table and, last, one line of JSON ("bench-media-json: {...}").
 *
 * Who runs where:
 *   ttff      a TetherRelay in this process (GOP cache on, and one with gop-cache-bytes=0),
 *             and srt-live-transmit as a child process; a publisher pipeline (x264 →
 *             mpegtsmux → libsrt through the same link code as TetherPublisher) and, per
 *             trial, a fresh player pipeline (libsrt link → appsrc → tsdemux → h264parse →
 *             decoder, as TetherPlayer builds it) in this process.
 *   add, e2e  a room service (TetherServer in a thread) and a TetherRelay in this process;
 *             TetherPublisher (add) or the stamping publisher pipeline (e2e) and
 *             TetherAutoplay / TetherPlayer in this process.
 *   load      the node is the tether-server program (--media-only), a separate process;
 *             the publisher and 10 … 500 raw libsrt callers (no decoding, one thread,
 *             non-blocking sockets, one srt_epoll polled with timeout 0, 50 callers per
 *             local UDP port) in this process; --players sets the counts.
 *   failover  two --media-only node processes announced to one room service (in this
 *             process); the publisher is a `tether-cli publish` process; the player a
 *             TetherPlayer in this process. The node the stream is on gets SIGKILL.
 *
 * Everything waits with a deadline; a watchdog ends the run (and the children) if a part
 * hangs anyway.
 *
 * Diagnostics (environment): BENCH_MEDIA_TRACE=1 prints every e2e frame's latency and the
 * publisher's capture → encoder/parser delay; BENCH_MEDIA_NOSYNC=1 reads the e2e stamps
 * with sync=false (the latency up to the decoder, without the sink's wait).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <syslog.h>
#include <sys/utsname.h>

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <srt/srt.h>

#include "bench-media.h"
#include "bench-util.h"
#include "tether.h"
#include "tether-relay.h"
#include "tether-media-private.h"
#include "tether-test-process.h"
#include "tether-test-server.h"
#include "tether-test-stats.h"
#include "tether-test-utils.h"

#define TRIAL_TIMEOUT_MS 5000
#define WATCHDOG_SECONDS 420
#define LOAD_BITRATE_KBPS 2400   /* encoder rate; with TS overhead about 2.5 Mbit/s on the wire */
#define LOAD_BEHIND_FRACTION 0.95 /* a player receiving less of the stream falls behind */

static gint n_trials = 30;
static gint n_add_trials = 20;
static gint n_failovers = 3;
static gint load_window_s = 10;
static char *load_players = NULL;
static const char *server_program = TETHER_SERVER_PATH;
static char *srt_encryption = NULL;
gboolean bench_srt_plain = FALSE;

char *
bench_passphrase (const char *streamid)
{
  return bench_srt_plain ? NULL : tether_test_stream_id_passphrase (streamid);
}
static const char *cli_program = TETHER_CLI_PATH;

/* ---- results ---------------------------------------------------------------------- */

typedef struct
{
  char *key;
  char *label;
  char *unit;
  guint n;
  guint failed;
  double p50, p90, p99, max;
  char *target;      /* text, or NULL */
  int pass;          /* 1 pass, 0 fail, -1 no target */
} Row;

static GPtrArray *rows;
static GString *extra;      /* "key":value, pairs of the JSON "extra" object */

static Row *
add_row (const char *key,
         const char *label,
         const char *unit,
         GArray     *values,
         guint       failed,
         double      target_p50,      /* median must be below it; NAN = no target */
         const char *target_text)
{
  Row *r = g_new0 (Row, 1);

  r->key = g_strdup (key);
  r->label = g_strdup (label);
  r->unit = g_strdup (unit);
  r->n = values->len;
  r->failed = failed;
  r->p50 = tether_test_percentile (values, 50);
  r->p90 = tether_test_percentile (values, 90);
  r->p99 = tether_test_percentile (values, 99);
  r->max = values->len ? g_array_index (values, double, values->len - 1) : NAN;
  r->target = target_text ? g_strdup (target_text) : NULL;
  r->pass = isnan (target_p50) ? -1 : (values->len > 0 && r->p50 < target_p50 && failed == 0);
  g_ptr_array_add (rows, r);
  g_print ("  -> %-46s n=%-3u fail=%-2u p50=%8.1f p90=%8.1f p99=%8.1f max=%8.1f %s%s%s%s%s\n",
           label, r->n, failed, r->p50, r->p90, r->p99, r->max, unit,
           r->pass == 1 ? "  PASS" : r->pass == 0 ? "  FAIL" : "",
           target_text ? " (target " : "", target_text ? target_text : "",
           target_text ? ")" : "");
  return r;
}

/* A single figure (no distribution). */
static void
add_value (const char *key,
           const char *label,
           const char *unit,
           double      value,
           double      target_below,
           const char *target_text)
{
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));

  g_array_append_val (v, value);
  add_row (key, label, unit, v, 0, target_below, target_text);
}

/* A JSON number with up to 3 decimals (json-glib prints 17 digits); null for NaN. */
static void
append_number (GString *s,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value) || isinf (value))
    g_string_append (s, "null");
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.10g", round (value * 1000) / 1000));
}

static void
extra_double (const char *key,
              double      value)
{
  g_string_append_printf (extra, "%s\"%s\":", extra->len ? "," : "", key);
  append_number (extra, value);
}

static void
extra_string (const char *key,
              const char *value)
{
  g_autofree char *escaped = g_strescape (value, NULL);

  g_string_append_printf (extra, "%s\"%s\":\"%s\"", extra->len ? "," : "", key, escaped);
}

static void
print_summary (const char *parts)
{
  g_autoptr(GString) json = g_string_new (NULL);

  g_print ("\n%-46s %4s %4s %9s %9s %9s %9s  %-6s %s\n", "figure", "n", "fail", "p50", "p90",
           "p99", "max", "unit", "target");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];

      g_print ("%-46s %4u %4u %9.1f %9.1f %9.1f %9.1f  %-6s %s%s\n", r->label, r->n, r->failed,
               r->p50, r->p90, r->p99, r->max, r->unit,
               r->target ? r->target : "",
               r->pass == 1 ? "  PASS" : r->pass == 0 ? "  FAIL" : "");
    }

  g_string_append_printf (json, "{\"bench\":\"media\",\"parts\":\"%s\",\"results\":{", parts);
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];

      g_string_append_printf (json, "%s\"%s\":{\"n\":%u,\"failed\":%u", i ? "," : "", r->key,
                              r->n, r->failed);
#define NUM(name, v) g_string_append (json, ",\"" name "\":"); append_number (json, v)
      NUM ("p50", r->p50);
      NUM ("p90", r->p90);
      NUM ("p99", r->p99);
      NUM ("max", r->max);
#undef NUM
      g_string_append_printf (json, ",\"unit\":\"%s\"", r->unit);
      if (r->target)
        g_string_append_printf (json, ",\"target\":\"%s\",\"pass\":%s", r->target,
                                r->pass == 1 ? "true" : "false");
      g_string_append (json, "}");
    }
  g_string_append_printf (json, "},\"extra\":{%s}}", extra->str);
  g_print ("\nbench-media-json: %s\n", json->str);
}

/* ---- /proc ------------------------------------------------------------------------ */

/* A UDP port that was free a moment ago. */
static guint16
free_udp_port (void)
{
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                          G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (sock == NULL || !g_socket_bind (sock, addr, FALSE, NULL)
      || (bound = g_socket_get_local_address (sock, NULL)) == NULL)
    g_error ("cannot find a free UDP port");
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* ---- part 1: time to first frame -------------------------------------------------- */

typedef struct
{
  GArray *ttff;        /* ms, link start → first decoded frame */
  GArray *connect;     /* ms, link start → handshake done */
  GArray *first_data;  /* ms, link start → the first payload out of libsrt */
  guint failed;
} TtffSeries;

static void
ttff_series (const char *what,
             guint16     port,
             const char *streamid,
             guint       pause_min_ms,
             guint       pause_max_ms,
             TtffSeries *out)
{
  out->ttff = g_array_new (FALSE, FALSE, sizeof (double));
  out->connect = g_array_new (FALSE, FALSE, sizeof (double));
  out->first_data = g_array_new (FALSE, FALSE, sizeof (double));

  for (gint i = 0; i < n_trials; i++)
    {
      BenchPlay *play;
      gint64 start, connected, first, data;

      /* A random pause (a whole GOP wide for the series without a cache), so that the
       * trials fall on random points of the 1 s GOP. */
      tether_test_run_for ((guint) g_random_int_range ((gint32) pause_min_ms, (gint32) pause_max_ms + 1));
      play = bench_play_start (port, streamid);
      TETHER_POLL_UNTIL (bench_play_done (play), TRIAL_TIMEOUT_MS);
      g_mutex_lock (&play->lock);
      start = play->t_start;
      connected = play->t_connected;
      first = play->t_first_frame;
      data = play->t_first_data;
      g_mutex_unlock (&play->lock);
      if (first != 0)
        {
          double ms = (first - start) / 1000.0;
          double c = connected ? (connected - start) / 1000.0 : NAN;

          g_array_append_val (out->ttff, ms);
          if (!isnan (c))
            g_array_append_val (out->connect, c);
          if (data != 0)
            {
              double d = (data - start) / 1000.0;

              g_array_append_val (out->first_data, d);
            }
        }
      else
        {
          out->failed++;
          g_printerr ("[ttff %s] trial %d: no frame (%s)\n", what, i,
                      connected ? "connected" : "no connection");
        }
      bench_play_free (play);
    }
}

static GSubprocess *
spawn_slt (guint16 in_port,
           guint16 out_port)
{
  g_autofree char *in = g_strdup_printf ("srt://127.0.0.1:%u?mode=listener&latency=%d", in_port,
                                         LATENCY_MS);
  g_autofree char *out = g_strdup_printf ("srt://127.0.0.1:%u?mode=listener&latency=%d",
                                          out_port, LATENCY_MS);
  g_autoptr(GError) error = NULL;
  GSubprocess *slt = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                         | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                       &error, "srt-live-transmit", "-q", "-a:yes", in, out,
                                       NULL);

  if (slt == NULL)
    {
      g_printerr ("[ttff] cannot run srt-live-transmit: %s\n", error->message);
      return NULL;
    }
  bench_watchdog_add_pid (atoi (g_subprocess_get_identifier (slt)));
  return slt;
}

static void
part_ttff (void)
{
  g_autoptr(TetherRelay) cached = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(TetherRelay) uncached = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;
  g_autofree char *pub_id = tether_test_publish_stream_id ("ttff", "pub", NULL);
  g_autofree char *play_id = tether_test_play_stream_id ("ttff", "viewer", NULL, NULL);
  g_autoptr(GSubprocess) slt = NULL;
  TtffSeries s[3] = { { 0 } };
  TtffSeries *a = &s[0], *b = &s[1], *c = &s[2];
  guint16 slt_in = free_udp_port (), slt_out = free_udp_port ();

  while (slt_out == slt_in)
    slt_out = free_udp_port ();
  BenchPub *pub;

  g_print ("\n[ttff] %d trials each: a new player (libsrt link → appsrc → tsdemux → h264parse → "
           "%s, as TetherPlayer) on a live %ux%u@%u x264 stream, GOP %u frames, SRT latency "
           "%d ms; time from the link start (srt_connect) to the first decoded frame\n",
           n_trials, pick_decoder (), WIDTH, HEIGHT, FPS, GOP_FRAMES, LATENCY_MS);

  g_object_set (uncached, "gop-cache-bytes", 0u, NULL);
  g_object_set (cached, "latency", (guint) LATENCY_MS, NULL);
  g_object_set (uncached, "latency", (guint) LATENCY_MS, NULL);
  if (!tether_relay_listen (cached, "127.0.0.1", 0, &error)
      || !tether_relay_listen (uncached, "127.0.0.1", 0, &error))
    g_error ("relay: %s", error->message);

  pub = bench_pub_new ("ball", 1500, FALSE);

  /* (a) TetherRelay with its GOP cache */
  if (bench_pub_connect (pub, tether_relay_get_port (cached), pub_id))
    {
      tether_test_run_for (2000);
      ttff_series ("cache", tether_relay_get_port (cached), play_id, 100, 400, a);
      add_row ("ttff_relay_gop_cache_ms", "TTFF, TetherRelay with GOP cache", "ms", a->ttff,
               a->failed, 100, "p50 < 100 ms");
      add_row ("ttff_relay_gop_cache_connect_ms", "  of which SRT handshake", "ms", a->connect, 0,
               NAN, NULL);
      /* the player's socket holds the first packet for the SRT latency (TSBPD) */
      add_row ("ttff_relay_gop_cache_first_data_ms", "  of which first payload out of libsrt", "ms",
               a->first_data, 0, NAN, NULL);
    }

  /* (b) TetherRelay, gop-cache-bytes=0: the player waits for the next key frame */
  if (bench_pub_connect (pub, tether_relay_get_port (uncached), pub_id))
    {
      tether_test_run_for (2000);
      ttff_series ("no-cache", tether_relay_get_port (uncached), play_id, 300, 1300, b);
      add_row ("ttff_relay_no_cache_ms", "TTFF, TetherRelay gop-cache-bytes=0", "ms", b->ttff,
               b->failed, NAN, NULL);
    }
  tether_relay_stop (cached);
  tether_relay_stop (uncached);

  /* (c) srt-live-transmit: one caller at a time on its output listener (it re-listens
   * after a caller leaves, -a:yes), so the players come one after the other. */
  slt = spawn_slt (slt_in, slt_out);
  if (slt != NULL)
    {
      tether_test_run_for (300);
      if (bench_pub_connect (pub, slt_in, pub_id))
        {
          tether_test_run_for (2000);
          ttff_series ("slt", slt_out, play_id, 700, 1700, c);
          add_row ("ttff_srt_live_transmit_ms", "TTFF, srt-live-transmit (1.5.1)", "ms", c->ttff,
                   c->failed, NAN, NULL);
          add_row ("ttff_srt_live_transmit_connect_ms", "  of which SRT handshake", "ms",
                   c->connect, 0, NAN, NULL);
        }
      bench_pub_disconnect (pub);
      bench_watchdog_remove_pid (atoi (g_subprocess_get_identifier (slt)));
      g_subprocess_force_exit (slt);
      g_subprocess_wait (slt, NULL, NULL);
    }
  bench_pub_free (pub);

  for (guint i = 0; i < G_N_ELEMENTS (s); i++)
    {
      g_clear_pointer (&s[i].ttff, g_array_unref);
      g_clear_pointer (&s[i].connect, g_array_unref);
      g_clear_pointer (&s[i].first_data, g_array_unref);
    }
}

/* ---- room infrastructure for add / e2e -------------------------------------------- */

typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
} Client;

static Client *
client_new (const char *url,
            const char *user_id)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = NULL;

  c->engine = tether_engine_new ();
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", url,
                        "app-id", TETHER_TEST_APP_ID, "room-id", "lobby", "user-id", user_id,
                        "token", token, NULL);
  c->room = tether_engine_login_room (c->engine, login);
  if (!TETHER_POLL_UNTIL (tether_room_get_state (c->room) == TETHER_ROOM_STATE_LOGINED, 10000))
    g_error ("%s did not log in", user_id);
  return c;
}

static void
client_free (Client *c)
{
  if (c == NULL)
    return;
  tether_room_logout (c->room);
  tether_test_run_for (100);
  g_object_unref (c->room);
  g_object_unref (c->engine);
  g_free (c);
}

typedef struct
{
  const char *id;
  char *url;
} NodeSpec;

static void
add_node_in_server (TetherServer *server,
                    gpointer      data)
{
  NodeSpec *spec = data;

  tether_server_add_media_node (server, spec->id, spec->url);
}

static void
add_node (TetherTestServer *server,
          const char       *id,
          guint16           port)
{
  NodeSpec spec = { id, g_strdup_printf ("srt://127.0.0.1:%u", port) };

  tether_test_server_run_sync (server, add_node_in_server, &spec);
  g_free (spec.url);
}

static gboolean
is_playing (TetherPlayer *player)
{
  return tether_player_get_state (player) == TETHER_PLAYER_STATE_PLAYING;
}

/* ---- part 2: stream ADD → first frame on an autoplaying viewer --------------------- */

typedef struct
{
  char *stream_id;
  gint64 t_add;
  gint64 t_playing;
  gint64 first_frame_ms;  /* the player's own start() → first frame */
} AddTrial;

static void
add_stream_update_cb (TetherRoom       *room,
                      TetherUpdateType  update,
                      GPtrArray        *streams,
                      const char       *reason,
                      AddTrial         *trial)
{
  if (update != TETHER_UPDATE_ADD || trial->stream_id == NULL)
    return;
  for (guint i = 0; i < streams->len; i++)
    if (g_str_equal (tether_stream_get_id (streams->pdata[i]), trial->stream_id)
        && trial->t_add == 0)
      trial->t_add = g_get_monotonic_time ();
}

static void
add_player_state_cb (TetherPlayer      *player,
                     TetherPlayerState  state,
                     int                error_code,
                     const char        *extended,
                     AddTrial          *trial)
{
  if (state == TETHER_PLAYER_STATE_PLAYING && trial->t_playing == 0
      && g_strcmp0 (tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (player)), trial->stream_id) == 0)
    {
      trial->t_playing = g_get_monotonic_time ();
      trial->first_frame_ms = tether_player_get_first_frame_ms (player);
    }
}

static void
add_player_added_cb (TetherAutoplay *autoplay,
                     TetherPlayer   *player,
                     AddTrial       *trial)
{
  g_signal_connect (player, "state-changed", G_CALLBACK (add_player_state_cb), trial);
}

static void
part_add (Client *alice,
          Client *bob)
{
  g_autoptr(TetherAutoplay) autoplay = NULL;
  g_autoptr(GArray) add_to_frame = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) start_to_frame = g_array_new (FALSE, FALSE, sizeof (double));
  AddTrial trial = { 0 };
  guint failed = 0;
  gulong handler;

  g_print ("\n[add] %d trials: TetherPublisher (test pattern %ux%u@%u, audio, key-int-max %u) "
           "starts a new stream; the viewer's TetherAutoplay plays it; time from the viewer's "
           "stream-update ADD to its player's PLAYING (= first decoded frame)\n",
           n_add_trials, WIDTH, HEIGHT, FPS, FPS);

  handler = g_signal_connect (bob->room, "stream-update", G_CALLBACK (add_stream_update_cb),
                              &trial);
  autoplay = tether_autoplay_new (bob->room, 30);
  g_signal_connect (autoplay, "player-added", G_CALLBACK (add_player_added_cb), &trial);

  for (gint i = 0; i < n_add_trials; i++)
    {
      g_autofree char *id = g_strdup_printf ("add-%02d", i);
      g_autoptr(TetherPublisher) pub = tether_publisher_new (alice->room, id, 30);
      g_autoptr(GError) error = NULL;

      g_free (trial.stream_id);
      memset (&trial, 0, sizeof trial);
      trial.stream_id = g_strdup (id);
      g_object_set (pub, "width", WIDTH, "height", HEIGHT, NULL);
      if (!tether_publisher_start (pub, &error))
        g_error ("publisher: %s", error->message);
      TETHER_POLL_UNTIL (trial.t_playing != 0, 10000);
      if (trial.t_add != 0 && trial.t_playing != 0)
        {
          double ms = (trial.t_playing - trial.t_add) / 1000.0;
          double ff = (double) trial.first_frame_ms;

          g_array_append_val (add_to_frame, ms);
          g_array_append_val (start_to_frame, ff);
        }
      else
        {
          failed++;
          g_printerr ("[add] trial %d: ADD %s, PLAYING %s\n", i, trial.t_add ? "yes" : "no",
                      trial.t_playing ? "yes" : "no");
        }
      tether_publisher_stop (pub);
      TETHER_POLL_UNTIL (tether_autoplay_lookup (autoplay, id) == NULL, 5000);
      tether_test_run_for ((guint) g_random_int_range (100, 400));
    }

  add_row ("add_to_first_frame_ms", "ADD -> first frame (TetherAutoplay)", "ms", add_to_frame,
           failed, 400, "p50 < 400 ms");
  add_row ("add_player_start_to_first_frame_ms", "  of which player start() -> frame", "ms",
           start_to_frame, 0, NAN, NULL);

  tether_autoplay_stop (autoplay);
  g_signal_handler_disconnect (bob->room, handler);
  g_clear_pointer (&trial.stream_id, g_free);
}

/* ---- part 3: end-to-end latency, read from the pixels ------------------------------ */

typedef struct
{
  GMutex lock;
  GArray *latency;    /* ms */
  guint invalid;
  gboolean collect;
  GHashTable *stages; /* BENCH_MEDIA_TRACE: player PTS → E2eStages */
} E2eSink;

/* BENCH_MEDIA_TRACE: when a frame of the player's pipeline passed each stage
 * (monotonic µs): tsdemux's output, h264parse's output, the decoder's output. */
enum { E2E_DEMUXED, E2E_PARSED, E2E_DECODED, E2E_N_STAGES };
static const char * const e2e_stage_names[E2E_N_STAGES] = { "demuxed", "parsed", "decoded" };

typedef struct
{
  gint64 at[E2E_N_STAGES];
} E2eStages;

typedef struct
{
  E2eSink *sink;
  guint stage;
} E2eProbe;

static GstPadProbeReturn
e2e_stage_probe (GstPad          *pad,
                 GstPadProbeInfo *info,
                 gpointer         data)
{
  E2eProbe *probe = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  E2eStages *stages;

  if (!GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&probe->sink->lock);
  stages = g_hash_table_lookup (probe->sink->stages, GSIZE_TO_POINTER (GST_BUFFER_PTS (buffer)));
  if (stages == NULL)
    {
      stages = g_new0 (E2eStages, 1);
      g_hash_table_insert (probe->sink->stages, GSIZE_TO_POINTER (GST_BUFFER_PTS (buffer)), stages);
    }
  if (stages->at[probe->stage] == 0)
    stages->at[probe->stage] = g_get_monotonic_time ();
  g_mutex_unlock (&probe->sink->lock);
  return GST_PAD_PROBE_OK;
}

static void
e2e_add_stage_probe (GstPad  *pad,
                     E2eSink *e,
                     guint    stage)
{
  E2eProbe *probe = g_new0 (E2eProbe, 1);

  probe->sink = e;
  probe->stage = stage;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, e2e_stage_probe, probe, g_free);
}

/* The player's pipeline (the sink's parent): tsdemux → vqueue → h264parse → decodebin →
 * convert, as tether-player.c builds it. */
static void
e2e_trace_stages (GstElement *sink,
                  E2eSink    *e)
{
  g_autoptr(GstObject) pipeline = gst_object_get_parent (GST_OBJECT (sink));
  g_autoptr(GstElement) queue = NULL;
  g_autoptr(GstElement) convert = NULL;
  g_autoptr(GstPad) qsink = NULL, qsrc = NULL, parse_sink = NULL, csink = NULL;
  g_autoptr(GstElement) parse = NULL;
  g_autoptr(GstPad) parse_src = NULL;

  if (pipeline == NULL)
    return;
  queue = gst_bin_get_by_name (GST_BIN (pipeline), "vqueue");
  convert = gst_bin_get_by_name (GST_BIN (pipeline), "convert");
  if (queue == NULL || convert == NULL)
    return;
  qsink = gst_element_get_static_pad (queue, "sink");
  qsrc = gst_element_get_static_pad (queue, "src");
  parse_sink = gst_pad_get_peer (qsrc);
  parse = parse_sink != NULL ? gst_pad_get_parent_element (parse_sink) : NULL;
  parse_src = parse != NULL ? gst_element_get_static_pad (parse, "src") : NULL;
  csink = gst_element_get_static_pad (convert, "sink");
  e2e_add_stage_probe (qsink, e, E2E_DEMUXED);
  if (parse_src != NULL)
    e2e_add_stage_probe (parse_src, e, E2E_PARSED);
  e2e_add_stage_probe (csink, e, E2E_DECODED);
}

static GstFlowReturn
e2e_new_sample (GstAppSink *sink,
                gpointer    data)
{
  E2eSink *e = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  guint32 now = (guint32) (g_get_monotonic_time () / 1000);
  GstVideoInfo info;
  GstVideoFrame frame;
  guint32 value = 0;
  gboolean valid = TRUE;

  if (sample == NULL)
    return GST_FLOW_EOS;
  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample))
      || !gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ))
    {
      gst_sample_unref (sample);
      return GST_FLOW_OK;
    }
  {
    const guint8 *y = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (guint bit = 0; bit < 32 && valid; bit++)
      {
        guint sum[2] = { 0, 0 };

        /* the inner 8×8 of each block, away from the edges the codec smears */
        for (guint half = 0; half < 2; half++)
          for (guint row = 4; row < 12; row++)
            for (guint col = 4; col < 12; col++)
              sum[half] += y[(half * STAMP_BLOCK + row) * stride + bit * STAMP_BLOCK + col];
        sum[0] /= 64;
        sum[1] /= 64;
        if ((sum[0] > 170 && sum[1] < 80) || (sum[0] < 80 && sum[1] > 170))
          value = (value << 1) | (sum[0] > 170);
        else
          valid = FALSE;
      }
  }
  gst_video_frame_unmap (&frame);

  g_mutex_lock (&e->lock);
  if (e->collect)
    {
      double ms = (double) (guint32) (now - value);

      if (valid && ms < 10000)
        {
          g_array_append_val (e->latency, ms);
          if (e->stages != NULL)
            {
              GstClockTime pts = GST_BUFFER_PTS (gst_sample_get_buffer (sample));
              E2eStages *stages = g_hash_table_lookup (e->stages, GSIZE_TO_POINTER (pts));
              gint64 captured = g_get_monotonic_time () - (gint64) (ms * 1000);

              g_printerr ("e2e frame %u: %.0f ms pts %" GST_TIME_FORMAT, e->latency->len, ms,
                          GST_TIME_ARGS (pts));
              for (guint i = 0; stages != NULL && i < E2E_N_STAGES; i++)
                if (stages->at[i] != 0)
                  g_printerr (" %s %.1f", e2e_stage_names[i], (stages->at[i] - captured) / 1000.0);
              g_printerr ("\n");
              g_hash_table_remove (e->stages, GSIZE_TO_POINTER (pts));
            }
        }
      else
        e->invalid++;
    }
  g_mutex_unlock (&e->lock);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* BENCH_MEDIA_TRACE: what the player's pipeline reports as its latency (what a sync=true
 * sink waits beyond the running time) and the offset its live-edge alignment set. */
static void
e2e_trace_pipeline (GstElement *sink)
{
  g_autoptr(GstObject) pipeline = gst_object_get_parent (GST_OBJECT (sink));
  g_autoptr(GstQuery) query = gst_query_new_latency ();
  GstClockTime min = 0, max = 0;
  gboolean live = FALSE;
  gint64 offset = 0;

  if (pipeline == NULL || !gst_element_query (GST_ELEMENT (pipeline), query))
    return;
  gst_query_parse_latency (query, &live, &min, &max);
  g_object_get (sink, "ts-offset", &offset, NULL);
  g_printerr ("trace player: pipeline latency live=%d min %.1f ms, sink ts-offset %.1f ms\n", live,
              min / 1e6, offset / 1e6);
}

/* Plays the stamped stream from @node @joins times, a fresh TetherPlayer each time;
 * appends every frame's latency to @all and prints each join's median. */
static guint
e2e_joins (Client     *bob,
           const char *node,
           guint       joins,
           GArray     *all,
           GArray     *join_medians)
{
  GstAppSinkCallbacks callbacks = { .new_sample = e2e_new_sample };
  g_autoptr(GstCaps) caps = gst_caps_from_string ("video/x-raw,format=I420");
  guint failed = 0;

  for (guint j = 0; j < joins; j++)
    {
      g_autoptr(TetherPlayer) player = NULL;
      g_autoptr(GError) error = NULL;
      E2eSink e = { 0 };
      GstElement *sink;
      double first, median;

      g_mutex_init (&e.lock);
      e.latency = g_array_new (FALSE, FALSE, sizeof (double));
      e.collect = TRUE;
      if (g_getenv ("BENCH_MEDIA_TRACE") != NULL)
        e.stages = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      sink = gst_element_factory_make ("appsink", NULL);
      g_object_set (sink, "sync", g_getenv ("BENCH_MEDIA_NOSYNC") == NULL, "async", FALSE,
                    "caps", caps, "max-buffers", 2, "drop", TRUE, "enable-last-sample", FALSE,
                    NULL);
      gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, &e, NULL);
      player = tether_player_new (bob->room, "e2e", node, 30);
      tether_player_set_video_sink (player, sink);
      /* a random point of the 1 s GOP */
      tether_test_run_for ((guint) g_random_int_range (0, 1000));
      if (!tether_player_start (player, &error))
        g_error ("player: %s", error->message);
      if (e.stages != NULL)
        TETHER_POLL_UNTIL (GST_OBJECT_PARENT (sink) != NULL, 10000);
      if (e.stages != NULL && GST_OBJECT_PARENT (sink) != NULL)
        e2e_trace_stages (sink, &e);
      if (!TETHER_POLL_UNTIL (is_playing (player), 10000))
        {
          g_printerr ("[e2e] join %u on %s: the player did not play\n", j, node);
          tether_player_stop (player);
          failed++;
          continue;
        }
      tether_test_run_for (3000);
      if (g_getenv ("BENCH_MEDIA_TRACE") != NULL)
        e2e_trace_pipeline (sink);
      tether_player_stop (player);
      g_mutex_lock (&e.lock);
      e.collect = FALSE;
      g_mutex_unlock (&e.lock);
      /* the first second (30 frames) is left out below */
      if (e.latency->len < 40)
        {
          g_printerr ("[e2e] join %u on %s: %u frames read, %u unreadable\n", j, node,
                      e.latency->len, e.invalid);
          failed++;
        }
      else
        {
          first = g_array_index (e.latency, double, 0);
          /* the first second is the start; the rest is the steady state of this join */
          g_array_append_vals (all, &g_array_index (e.latency, double, 30), e.latency->len - 30);
          g_array_remove_range (e.latency, 0, 30);
          median = tether_test_percentile (e.latency, 50);
          g_array_append_val (join_medians, median);
          g_print ("  join %u on %s: first frame rendered %.0f ms after its capture, then median "
                   "%.0f ms (%u frames, %u unreadable)\n", j, node, first, median,
                   e.latency->len, e.invalid);
        }
      g_array_unref (e.latency);
      g_clear_pointer (&e.stages, g_hash_table_unref);
      g_mutex_clear (&e.lock);
    }
  return failed;
}

static void
part_e2e (Client  *bob,
          guint16  cached_port,
          guint16  uncached_port)
{
  g_autofree char *pub_id = tether_test_publish_stream_id ("e2e", "stamper", NULL);
  g_autoptr(GArray) cached = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cached_joins = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) uncached = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) uncached_joins = g_array_new (FALSE, FALSE, sizeof (double));
  guint failed;
  BenchPub *pub;

  g_print ("\n[e2e] the publisher writes the capture time (ms) as 32 black/white 16x16 "
           "blocks into each frame before x264; a TetherPlayer decodes into an appsink with "
           "sync=true, which reads the blocks when the frame is rendered; fresh players join "
           "at random points of the GOP, 3 s each, the first second of each left out\n");

  pub = bench_pub_new ("ball", 1500, TRUE);
  if (bench_pub_connect (pub, cached_port, pub_id))
    {
      tether_test_run_for (1500);
      failed = e2e_joins (bob, "node-a", 5, cached, cached_joins);
      add_row ("e2e_latency_ms", "e2e latency, sync=true (node with GOP cache)", "ms", cached,
               failed, 200, "p50 < 200 ms");
      add_row ("e2e_latency_join_median_ms", "  median of each join", "ms", cached_joins, 0, NAN,
               NULL);
    }
  if (bench_pub_connect (pub, uncached_port, pub_id))
    {
      tether_test_run_for (1500);
      failed = e2e_joins (bob, "node-u", 3, uncached, uncached_joins);
      add_row ("e2e_latency_no_cache_ms", "e2e latency, sync=true (gop-cache-bytes=0)", "ms",
               uncached, failed, NAN, NULL);
    }
  bench_pub_free (pub);
}

/* ---- node processes ---------------------------------------------------------------- */

typedef struct
{
  TetherTestProcess *process;
  guint16 port;
  int pid;
} Node;

static Node *
node_spawn (guint16 port)
{
  Node *node = g_new0 (Node, 1);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *p;

  node->process = tether_test_process_spawn (&error, server_program, "--media-only",
                                             "--listen", listen, "--app-id", TETHER_TEST_APP_ID,
                                             "--app-secret", TETHER_TEST_SECRET,
                                             "--srt-encryption", bench_srt_plain ? "off" : "on",
                                             NULL);
  if (node->process == NULL)
    g_error ("cannot run %s: %s", server_program, error->message);
  node->pid = bench_process_pid (node->process);
  bench_watchdog_add_pid (node->pid);
  if (!tether_test_process_wait_for_line (node->process, "listening on srt://", 5000, &line)
      || (p = strrchr (line, ':')) == NULL)
    g_error ("the media node did not start listening on %s", listen);
  node->port = (guint16) g_ascii_strtoull (p + 1, NULL, 10);
  return node;
}

static void
node_free (Node *node)
{
  if (node == NULL)
    return;
  bench_watchdog_remove_pid (node->pid);
  tether_test_process_terminate (node->process);
  tether_test_process_wait (node->process, 3000);
  tether_test_process_free (node->process);
  g_free (node);
}

typedef struct
{
  double node_cpu;        /* fraction of one core */
  double self_cpu;
  gint64 rss_kib;
  double mbit_per_player;
  guint receiving, dead;
  gint64 lost, dropped;
  /* each player's own figures over the window */
  double mbit_min, mbit_p1, mbit_median;
  guint behind;           /* players that received < LOAD_BEHIND_FRACTION of the stream */
  guint with_loss;        /* players that found packets missing (repaired or not) */
  guint with_drop;        /* players whose TSBPD gave up on packets */
  gint64 lost_max, dropped_max;
  double loadavg;
  double idle;            /* of the whole machine, fraction of all CPUs */
  gint64 udp_rcvbuf_errors; /* datagrams the kernel dropped on full receive buffers */
  char *node_threads;     /* the node's CPU by thread name */
} LoadWindow;

/* The machine's idle and total jiffies (/proc/stat "cpu" line). */
static void
read_machine_jiffies (guint64 *idle,
                      guint64 *total)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) f = NULL;

  *idle = *total = 0;
  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return;
  f = g_strsplit_set (text, " \n", 12);
  /* "cpu", "", user nice system idle iowait irq softirq steal … */
  for (guint i = 2; f[i] != NULL && i < 10; i++)
    {
      guint64 v = g_ascii_strtoull (f[i], NULL, 10);

      *total += v;
      if (i == 5 || i == 6)
        *idle += v;
    }
}

/* CPU seconds of @pid's threads, summed by thread name (SRT:SndQ…, tether-relay). */
static GHashTable *
read_thread_cpu (int pid)
{
  GHashTable *by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", pid);
  GDir *dir = g_dir_open (dir_path, 0, NULL);
  const char *tid;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm_path = g_strdup_printf ("%s/%s/comm", dir_path, tid);
      g_autofree char *stat_path = g_strdup_printf ("%s/%s/stat", dir_path, tid);
      g_autofree char *comm = NULL;
      double seconds = bench_stat_cpu_seconds (stat_path);
      double *sum;

      if (isnan (seconds) || !g_file_get_contents (comm_path, &comm, NULL, NULL))
        continue;
      g_strstrip (comm);
      if ((sum = g_hash_table_lookup (by_name, comm)) == NULL)
        g_hash_table_insert (by_name, g_strdup (comm), (sum = g_new0 (double, 1)));
      *sum += seconds;
    }
  if (dir != NULL)
    g_dir_close (dir);
  return by_name;
}

typedef struct
{
  const char *name;
  double share;
} ThreadShare;

static int
compare_thread_shares (gconstpointer a,
                       gconstpointer b)
{
  double x = ((const ThreadShare *) a)->share, y = ((const ThreadShare *) b)->share;

  return (x < y) - (x > y);
}

/* "name 12.3%, …" of the threads over a window, busiest first. */
static char *
thread_cpu_text (GHashTable *before,
                 GHashTable *after,
                 double      seconds)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) shares = g_array_new (FALSE, FALSE, sizeof (ThreadShare));
  GHashTableIter iter;
  gpointer name, value;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      double *then = g_hash_table_lookup (before, name);
      ThreadShare t = { name, (*(double *) value - (then ? *then : 0)) / seconds };

      g_array_append_val (shares, t);
    }
  g_array_sort (shares, compare_thread_shares);
  for (guint i = 0; i < shares->len; i++)
    {
      ThreadShare *t = &g_array_index (shares, ThreadShare, i);

      if (t->share >= 0.005)
        g_string_append_printf (text, "%s%s %.1f%%", text->len ? ", " : "", t->name, t->share * 100);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* UDP RcvbufErrors from /proc/net/snmp: loopback, so the node's and the players'. */
static gint64
read_udp_rcvbuf_errors (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/snmp", &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Udp: ") && g_str_has_prefix (lines[i + 1], "Udp: "))
      {
        g_auto(GStrv) names = g_strsplit (lines[i], " ", -1);
        g_auto(GStrv) values = g_strsplit (lines[i + 1], " ", -1);

        for (guint k = 0; names[k] != NULL && values[k] != NULL; k++)
          if (g_str_equal (names[k], "RcvbufErrors"))
            return g_ascii_strtoll (values[k], NULL, 10);
      }
  return 0;
}

/* Per-player figures from two snapshots of the callers' totals. */
static void
window_per_player (GArray     *before,
                   gint64      t_before,
                   GArray     *after,
                   gint64      t_after,
                   double      stream_mbit,
                   LoadWindow *w)
{
  g_autoptr(GArray) rates = g_array_new (FALSE, FALSE, sizeof (double));
  double seconds = (t_after - t_before) / 1e6;

  for (guint i = 0; i < MIN (before->len, after->len); i++)
    {
      RawPlayerStat *a = &g_array_index (before, RawPlayerStat, i);
      RawPlayerStat *b = &g_array_index (after, RawPlayerStat, i);
      double mbit = seconds > 0 ? (b->bytes - a->bytes) * 8.0 / seconds / 1e6 : 0;

      if (b->dead)
        continue;
      g_array_append_val (rates, mbit);
      w->behind += mbit < LOAD_BEHIND_FRACTION * stream_mbit;
      w->with_loss += b->lost > a->lost;
      w->with_drop += b->dropped > a->dropped;
      w->lost_max = MAX (w->lost_max, b->lost - a->lost);
      w->dropped_max = MAX (w->dropped_max, b->dropped - a->dropped);
    }
  w->mbit_min = tether_test_percentile (rates, 0);
  w->mbit_p1 = tether_test_percentile (rates, 1);
  w->mbit_median = tether_test_percentile (rates, 50);
}

static double
read_loadavg (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return NAN;
  return g_ascii_strtod (text, NULL);
}

static void
measure_window (Node       *node,
                RawPlayers *rp,
                guint       n_players,
                guint       seconds,
                double      stream_mbit,
                LoadWindow *w)
{
  double cpu0 = bench_proc_cpu_seconds (node->pid), self0 = bench_proc_cpu_seconds ((int) getpid ());
  gint64 b0, l0, d0, b1, l1, d1;
  guint r, dead;
  gint64 t0 = g_get_monotonic_time (), t1, s0 = 0, s1 = 0;
  g_autoptr(GArray) per0 = NULL;
  g_autoptr(GArray) per1 = NULL;

  guint64 idle0, total0, idle1, total1;
  gint64 rcvbuf0 = read_udp_rcvbuf_errors ();
  g_autoptr(GHashTable) threads0 = read_thread_cpu (node->pid);
  g_autoptr(GHashTable) threads1 = NULL;

  read_machine_jiffies (&idle0, &total0);
  b0 = l0 = d0 = b1 = l1 = d1 = 0;
  if (rp != NULL)
    {
      raw_players_snapshot (rp, &b0, &l0, &d0, &r, &dead);
      per0 = raw_players_per_player (rp, &s0);
    }
  tether_test_run_for (seconds * 1000);
  t1 = g_get_monotonic_time ();
  if (rp != NULL)
    {
      raw_players_snapshot (rp, &b1, &l1, &d1, &w->receiving, &w->dead);
      per1 = raw_players_per_player (rp, &s1);
      window_per_player (per0, s0, per1, s1, stream_mbit, w);
    }
  w->node_cpu = (bench_proc_cpu_seconds (node->pid) - cpu0) / ((t1 - t0) / 1e6);
  w->self_cpu = (bench_proc_cpu_seconds ((int) getpid ()) - self0) / ((t1 - t0) / 1e6);
  w->rss_kib = bench_proc_rss_kib (node->pid);
  w->mbit_per_player = n_players ? (b1 - b0) * 8.0 / ((t1 - t0) / 1e6) / 1e6 / n_players : 0;
  w->lost = l1 - l0;
  w->dropped = d1 - d0;
  w->loadavg = read_loadavg ();
  read_machine_jiffies (&idle1, &total1);
  w->idle = total1 > total0 ? (double) (idle1 - idle0) / (total1 - total0) : NAN;
  w->udp_rcvbuf_errors = read_udp_rcvbuf_errors () - rcvbuf0;
  threads1 = read_thread_cpu (node->pid);
  w->node_threads = thread_cpu_text (threads0, threads1, (t1 - t0) / 1e6);
}

/* --players: the cost curve's levels, "10,50,100,250,500" by default. */
static GArray *
load_levels (void)
{
  GArray *levels = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) items = g_strsplit (load_players ? load_players : "10,50,100,250,500", ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      guint64 n = g_ascii_strtoull (items[i], NULL, 10);

      if (n > 0 && n <= RAW_CALLERS_PER_PORT * RAW_MAX_PORTS)
        g_array_append_vals (levels, &(guint) { (guint) n }, 1);
    }
  return levels;
}

static void
part_load (void)
{
  g_autoptr(GArray) levels = load_levels ();
  g_autofree char *pub_id = tether_test_publish_stream_id ("load", "pub", NULL);
  g_autofree char *play_id = tether_test_play_stream_id ("load", "viewer", NULL, NULL);
  Node *node = node_spawn (0);
  RawPlayers *rp = NULL;
  LoadWindow base = { 0 };
  g_autofree LoadWindow *w = g_new0 (LoadWindow, levels->len);
  guint done = 0;
  BenchPub *pub;
  double pub_mbit = 0;
  gint64 b0, b1, x;
  guint ux, dx;

  g_print ("\n[load] node = `%s --media-only` (pid %d, encryption %s); publisher: snow %ux%u@%u "
           "at %u kbit/s (x264); players: raw libsrt callers in one thread of this process, "
           "%u per local UDP port, reading and discarding; node CPU over %d s windows from "
           "/proc/PID/stat, VmRSS after each\n",
           server_program, node->pid, bench_srt_plain ? "off" : "on", WIDTH, HEIGHT, FPS,
           LOAD_BITRATE_KBPS, RAW_CALLERS_PER_PORT, load_window_s);

  pub = bench_pub_new ("snow", LOAD_BITRATE_KBPS, FALSE);
  if (!bench_pub_connect (pub, node->port, pub_id))
    goto out;
  tether_test_run_for (2000);

  /* the stream rate, as one player sees it */
  rp = raw_players_new (node->port, play_id);
  g_atomic_int_set (&rp->target, 1);
  if (!TETHER_POLL_UNTIL (raw_players_all_receiving (rp, 1), 10000))
    g_printerr ("[load] the first player receives nothing\n");
  tether_test_run_for (1000);
  raw_players_snapshot (rp, &b0, &x, &x, &ux, &dx);
  tether_test_run_for (3000);
  raw_players_snapshot (rp, &b1, &x, &x, &ux, &dx);
  pub_mbit = (b1 - b0) * 8.0 / 3.0 / 1e6;
  g_print ("  stream as received: %.2f Mbit/s\n", pub_mbit);
  extra_double ("load_stream_mbit_s", pub_mbit);
  raw_players_free (rp);
  rp = NULL;
  tether_test_run_for (1500);

  measure_window (node, NULL, 0, 5, pub_mbit, &base);
  g_print ("  publisher only: node %.1f%% of a core, VmRSS %" G_GINT64_FORMAT " KiB\n",
           base.node_cpu * 100, base.rss_kib);
  extra_double ("load_node_cpu_0_players", base.node_cpu);
  extra_double ("load_node_rss_kib_0_players", (double) base.rss_kib);

  rp = raw_players_new (node->port, play_id);
  for (guint i = 0; i < levels->len; i++, done++)
    {
      guint n = g_array_index (levels, guint, i);

      g_atomic_int_set (&rp->target, (gint) n);
      if (!TETHER_POLL_UNTIL (raw_players_all_receiving (rp, n), 30000))
        g_printerr ("[load] only %u of %u players receive\n", rp->n_receiving, n);
      tether_test_run_for (2000);
      measure_window (node, rp, n, load_window_s, pub_mbit, &w[i]);
      g_print ("  %3u players: node %5.1f%% of a core (%.3f%% per player above the publisher-only "
               "%.1f%%), VmRSS %" G_GINT64_FORMAT " KiB (%.0f KiB per player); %u receiving "
               "%.2f Mbit/s on average, %u dropped out, %" G_GINT64_FORMAT " packets lost "
               "(recovered or not), %" G_GINT64_FORMAT " dropped by TSBPD; this process %.0f%% of "
               "a core; load average %.2f\n",
               n, w[i].node_cpu * 100, (w[i].node_cpu - base.node_cpu) * 100 / n,
               base.node_cpu * 100, w[i].rss_kib,
               (double) (w[i].rss_kib - base.rss_kib) / n, w[i].receiving,
               w[i].mbit_per_player, w[i].dead, w[i].lost, w[i].dropped, w[i].self_cpu * 100,
               w[i].loadavg);
      g_print ("       each player: min %.2f / p1 %.2f / median %.2f Mbit/s; %u behind (< %.0f%% "
               "of the stream); %u with loss (max %" G_GINT64_FORMAT " packets), %u with TSBPD "
               "drops (max %" G_GINT64_FORMAT "); machine idle %.0f%%, UDP receive-buffer "
               "drops %" G_GINT64_FORMAT "\n",
               w[i].mbit_min, w[i].mbit_p1, w[i].mbit_median, w[i].behind,
               LOAD_BEHIND_FRACTION * 100, w[i].with_loss, w[i].lost_max, w[i].with_drop,
               w[i].dropped_max, w[i].idle * 100, w[i].udp_rcvbuf_errors);
      g_print ("       node threads: %s\n", w[i].node_threads);
      {
        g_autofree char *k1 = g_strdup_printf ("node_cpu_%u_players_pct", n);
        g_autofree char *l1 = g_strdup_printf ("node CPU, %u players (%% of a core)", n);
        g_autofree char *k2 = g_strdup_printf ("node_cpu_per_player_%u_pct", n);
        g_autofree char *k3 = g_strdup_printf ("node_rss_%u_players_mib", n);
        g_autofree char *l3 = g_strdup_printf ("node VmRSS, %u players", n);
        g_autofree char *k4 = g_strdup_printf ("node_rss_per_player_%u_kib", n);
        g_autofree char *k5 = g_strdup_printf ("load_%u_mbit_per_player", n);
        g_autofree char *k6 = g_strdup_printf ("load_%u_players_receiving", n);
        g_autofree char *k7 = g_strdup_printf ("load_%u_bench_process_cpu", n);
        g_autofree char *k8 = g_strdup_printf ("load_%u_packets_dropped", n);
        g_autofree char *k9 = g_strdup_printf ("load_%u_min_mbit_per_player", n);
        g_autofree char *k10 = g_strdup_printf ("load_%u_players_behind", n);
        g_autofree char *k11 = g_strdup_printf ("load_%u_players_with_drops", n);
        g_autofree char *k12 = g_strdup_printf ("load_%u_loadavg", n);
        g_autofree char *k13 = g_strdup_printf ("load_%u_machine_idle", n);
        g_autofree char *k14 = g_strdup_printf ("load_%u_udp_rcvbuf_errors", n);

        /* the targets: 100 players < 50 % (issue 7), 500 players < 1 core (issue 13) */
        g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));
        double cpu = w[i].node_cpu * 100;

        /* the targets: 100 players < 50 % (issue 7), 500 players < 1 core with
         * none behind (issue 13): players behind, dropped out or missing fail it */
        g_array_append_val (v, cpu);
        add_row (k1, l1, "%", v, n == 500 ? w[i].behind + w[i].with_drop + (n - MIN (n, w[i].receiving)) : 0,
                 n == 100 ? 50 : n == 500 ? 100 : NAN,
                 n == 100 ? "< 50 % of a core" : n == 500 ? "< 1 core, none behind" : NULL);
        add_value (k3, l3, "MiB", w[i].rss_kib / 1024.0, NAN, NULL);
        extra_double (k2, (w[i].node_cpu - base.node_cpu) * 100 / n);
        extra_double (k4, (double) (w[i].rss_kib - base.rss_kib) / n);
        extra_double (k5, w[i].mbit_per_player);
        extra_double (k6, w[i].receiving);
        extra_double (k7, w[i].self_cpu);
        extra_double (k8, (double) w[i].dropped);
        extra_double (k9, w[i].mbit_min);
        extra_double (k10, w[i].behind);
        extra_double (k11, w[i].with_drop);
        extra_double (k12, w[i].loadavg);
        extra_double (k13, w[i].idle);
        extra_double (k14, (double) w[i].udp_rcvbuf_errors);
      }
    }

out:
  if (done > 0)
    {
      g_print ("\n  cost curve (encryption %s, stream %.2f Mbit/s, %d s windows):\n"
               "  %7s %9s %10s %10s %6s %11s %7s %8s %8s %7s  %s\n", bench_srt_plain ? "off" : "on",
               pub_mbit, load_window_s, "players", "node CPU", "per player", "bench CPU", "idle",
               "min Mbit/s", "behind", "w/ loss", "w/ drops", "loadavg", "target");
      for (guint i = 0; i < done; i++)
        {
          guint n = g_array_index (levels, guint, i);
          gboolean met = w[i].node_cpu < 1.0 && w[i].behind == 0 && w[i].with_drop == 0
                         && w[i].receiving >= n;

          g_print ("  %7u %8.1f%% %9.3f%% %9.1f%% %5.0f%% %11.2f %7u %8u %8u %7.2f  %s\n", n,
                   w[i].node_cpu * 100, (w[i].node_cpu - base.node_cpu) * 100 / n,
                   w[i].self_cpu * 100, w[i].idle * 100, w[i].mbit_min, w[i].behind, w[i].with_loss,
                   w[i].with_drop, w[i].loadavg,
                   n == 500 ? (met ? "< 1 core, none behind: MET" : "< 1 core, none behind: NOT MET") : "");
        }
    }
  for (guint i = 0; i < done; i++)
    g_free (w[i].node_threads);
  g_free (base.node_threads);
  if (rp != NULL)
    {
      g_print ("  (callers shared local UDP ports");
      for (guint i = 0; i < RAW_MAX_PORTS && rp->shared_port[i] != 0; i++)
        g_print (" %d", rp->shared_port[i]);
      g_print (")\n");
      raw_players_free (rp);
    }
  bench_pub_free (pub);
  node_free (node);
}

/* ---- part 5: failover gap ---------------------------------------------------------- */

typedef struct
{
  GMutex lock;
  GArray *frames;    /* gint64 µs, arrival at the appsink */
} FrameLog;

static GstFlowReturn
frame_log_new_sample (GstAppSink *sink,
                      gpointer    data)
{
  FrameLog *log = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  gint64 now = g_get_monotonic_time ();

  if (sample == NULL)
    return GST_FLOW_EOS;
  gst_sample_unref (sample);
  g_mutex_lock (&log->lock);
  g_array_append_val (log->frames, now);
  g_mutex_unlock (&log->lock);
  return GST_FLOW_OK;
}

/* The longest pause between two consecutive frames of which the later came after @t
 * (frames already in flight keep arriving for a while after a kill). */
static void
frame_longest_gap (FrameLog *log,
                   gint64    t,
                   gint64   *before,
                   gint64   *after,
                   gint64   *last)
{
  g_mutex_lock (&log->lock);
  *before = *after = *last = 0;
  for (guint i = 1; i < log->frames->len; i++)
    {
      gint64 a = g_array_index (log->frames, gint64, i - 1);
      gint64 b = g_array_index (log->frames, gint64, i);

      if (b > t && b - a > *after - *before)
        {
          *before = a;
          *after = b;
        }
    }
  if (log->frames->len > 0)
    *last = g_array_index (log->frames, gint64, log->frames->len - 1);
  g_mutex_unlock (&log->lock);
}

/* A pause of more than 200 ms after @t, and frames flowing again for a second since. */
static gboolean
frame_recovered (FrameLog *log,
                 gint64    t)
{
  gint64 before, after, last;

  frame_longest_gap (log, t, &before, &after, &last);
  return after - before > 200 * 1000 && g_get_monotonic_time () - after > G_USEC_PER_SEC
         && g_get_monotonic_time () - last < 200 * 1000;
}

typedef struct
{
  gint64 t_requesting;
  gint64 t_playing;
  gint64 t_add;           /* the room announced the stream on the other node */
  char *add_node;
} FailoverMarks;

static void
failover_player_state_cb (TetherPlayer      *player,
                          TetherPlayerState  state,
                          int                error_code,
                          const char        *extended,
                          FailoverMarks     *m)
{
  if (state == TETHER_PLAYER_STATE_PLAY_REQUESTING && m->t_requesting == 0)
    m->t_requesting = g_get_monotonic_time ();
  else if (state == TETHER_PLAYER_STATE_PLAYING && m->t_requesting != 0 && m->t_playing == 0)
    m->t_playing = g_get_monotonic_time ();
}

static void
failover_stream_cb (TetherRoom       *room,
                    TetherUpdateType  update,
                    GPtrArray        *streams,
                    const char       *reason,
                    FailoverMarks    *m)
{
  for (guint i = 0; i < streams->len; i++)
    if (update == TETHER_UPDATE_ADD && g_str_equal (tether_stream_get_id (streams->pdata[i]), "cam"))
      {
        g_free (m->add_node);
        m->add_node = g_strdup (tether_stream_get_node (streams->pdata[i]));
        if (m->t_add == 0)
          m->t_add = g_get_monotonic_time ();
      }
}

static gboolean
room_has_stream (TetherRoom *room,
                 const char *id)
{
  GListModel *streams = tether_room_get_streams (room);

  for (guint i = 0; i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) s = g_list_model_get_item (streams, i);

      if (g_str_equal (tether_stream_get_id (s), id))
        return TRUE;
    }
  return FALSE;
}

static void
part_failover (void)
{
  static const char * const ids[] = { "node-a", "node-b" };
  guint16 ports[2] = { free_udp_port (), 0 };
  Node *nodes[2] = { NULL, NULL };
  g_autoptr(TetherTestServer) server = NULL;
  g_autoptr(TetherTestProcess) cli = NULL;
  g_autoptr(TetherPlayer) player = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) gaps = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) detect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) announce = g_array_new (FALSE, FALSE, sizeof (double));
  GstAppSinkCallbacks callbacks = { .new_sample = frame_log_new_sample };
  FrameLog log;
  FailoverMarks marks = { 0 };
  Client *bob = NULL;
  GstElement *sink;
  guint failed = 0;

  g_print ("\n[failover] %d kills: two `tether-server --media-only` nodes announced to one "
           "room service; publisher `tether-cli publish` (its own process), player a "
           "TetherPlayer here (decoded frames timed at an appsink, sync=false); SIGKILL the node "
           "the stream is on, gap = last frame before → first frame after; the killed node is "
           "restarted before the next kill\n", n_failovers);

  while (ports[1] == 0 || ports[1] == ports[0])
    ports[1] = free_udp_port ();
  g_mutex_init (&log.lock);
  log.frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < 2; i++)
    {
      nodes[i] = node_spawn (ports[i]);
      ports[i] = nodes[i]->port;
    }
  server = tether_test_server_new (NULL);
  for (guint i = 0; i < 2; i++)
    add_node (server, ids[i], ports[i]);
  bob = client_new (tether_test_server_get_url (server), "bob");
  g_signal_connect (bob->room, "stream-update", G_CALLBACK (failover_stream_cb), &marks);

  cli = tether_test_process_spawn (&error, cli_program, "publish",
                                   "--server", tether_test_server_get_url (server),
                                   "--app-id", TETHER_TEST_APP_ID,
                                   "--app-secret", TETHER_TEST_SECRET,
                                   "--room", "lobby", "--user", "alice", "--stream", "cam",
                                   "--node", "node-a", NULL);
  if (cli == NULL)
    {
      g_printerr ("[failover] cannot run %s: %s\n", cli_program, error->message);
      goto out;
    }
  bench_watchdog_add_pid (bench_process_pid (cli));
  if (!TETHER_POLL_UNTIL (room_has_stream (bob->room, "cam"), 15000))
    {
      g_printerr ("[failover] the stream never appeared\n");
      goto out;
    }

  sink = gst_element_factory_make ("appsink", "framelog");
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 2, "drop", TRUE,
                "enable-last-sample", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, &log, NULL);
  player = tether_player_new (bob->room, "cam", marks.add_node ? marks.add_node : "node-a", 60);
  tether_player_set_video_sink (player, sink);
  g_signal_connect (player, "state-changed", G_CALLBACK (failover_player_state_cb), &marks);
  if (!tether_player_start (player, &error))
    g_error ("player: %s", error->message);
  if (!TETHER_POLL_UNTIL (is_playing (player), 10000))
    {
      g_printerr ("[failover] the player did not play\n");
      goto out;
    }

  for (gint k = 0; k < n_failovers; k++)
    {
      const char *victim_id = tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player));
      guint v = g_strcmp0 (victim_id, "node-b") == 0 ? 1 : 0;
      gint64 t_kill, before, after, last;

      tether_test_run_for (2000);
      memset (&marks, 0, sizeof marks);
      t_kill = g_get_monotonic_time ();
      tether_test_process_kill (nodes[v]->process);
      g_print ("  kill %d: SIGKILL %s (pid %d)\n", k, ids[v], nodes[v]->pid);

      /* back when frames flow again for a second */
      TETHER_POLL_UNTIL (frame_recovered (&log, t_kill), 15000);
      frame_longest_gap (&log, t_kill, &before, &after, &last);
      if (after != 0 && g_get_monotonic_time () - last < 500 * 1000)
        {
          double gap = (after - before) / 1000.0;
          double d = marks.t_requesting ? (marks.t_requesting - t_kill) / 1000.0 : NAN;
          double a = marks.t_add ? (marks.t_add - t_kill) / 1000.0 : NAN;

          g_array_append_val (gaps, gap);
          if (!isnan (d))
            g_array_append_val (detect, d);
          if (!isnan (a))
            g_array_append_val (announce, a);
          g_print ("    gap %.0f ms: last frame +%.0f ms, player REQUESTING +%.0f ms, room ADD on "
                   "%s +%.0f ms, player PLAYING +%.0f ms, next frame +%.0f ms (now on %s)\n",
                   gap, (before - t_kill) / 1000.0, d, marks.add_node ? marks.add_node : "?", a,
                   marks.t_playing ? (marks.t_playing - t_kill) / 1000.0 : NAN,
                   (after - t_kill) / 1000.0, tether_media_session_get_current_node (TETHER_MEDIA_SESSION (player)));
        }
      else
        {
          failed++;
          g_printerr ("[failover] kill %d: playback did not resume within 15 s\n", k);
        }
      g_clear_pointer (&marks.add_node, g_free);

      /* the killed node comes back, so that two nodes exist for the next kill */
      bench_watchdog_remove_pid (bench_process_pid (nodes[v]->process));
      tether_test_process_free (nodes[v]->process);
      g_free (nodes[v]);
      nodes[v] = node_spawn (ports[v]);
      if (failed)
        break;
    }

  add_row ("failover_gap_ms", "failover gap, node SIGKILLed", "ms", gaps, failed, 2000,
           "p50 < 2000 ms");
  add_row ("failover_player_requesting_ms", "  kill -> player REQUESTING", "ms", detect, 0, NAN,
           NULL);
  add_row ("failover_room_add_ms", "  kill -> room ADD on the other node", "ms", announce, 0,
           NAN, NULL);

out:
  if (player != NULL)
    tether_player_stop (player);
  if (cli != NULL)
    {
      bench_watchdog_remove_pid (bench_process_pid (cli));
      tether_test_process_terminate (cli);
      tether_test_process_wait (cli, 3000);
    }
  g_clear_pointer (&cli, tether_test_process_free);
  client_free (bob);
  for (guint i = 0; i < 2; i++)
    node_free (nodes[i]);
  g_clear_pointer (&server, tether_test_server_free);
  g_clear_pointer (&marks.add_node, g_free);
  g_mutex_lock (&log.lock);
  g_array_unref (log.frames);
  g_mutex_unlock (&log.lock);
  g_mutex_clear (&log.lock);
}

/* ---- main -------------------------------------------------------------------------- */

static gboolean
want (GPtrArray  *parts,
      const char *name)
{
  if (parts->len == 0)
    return TRUE;
  for (guint i = 0; i < parts->len; i++)
    if (g_str_equal (parts->pdata[i], name))
      return TRUE;
  return FALSE;
}

static void
print_machine (void)
{
  struct utsname u;
  g_autofree char *model = bench_cpu_model ();
  g_autoptr(GDateTime) dt = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (dt);

  uname (&u);
  g_print ("bench-media: %ld CPUs (%s), %s %s, %s, GStreamer %s, libsrt %s\n",
           sysconf (_SC_NPROCESSORS_ONLN), model, u.sysname, u.release, date,
           gst_version_string (), SRT_VERSION_STRING);
  extra_string ("date", date);
  extra_string ("cpu", model);
  extra_string ("kernel", u.release);
  extra_double ("nproc", (double) sysconf (_SC_NPROCESSORS_ONLN));
}

int
main (int    argc,
      char **argv)
{
  GOptionEntry entries[] = {
    { "trials", 0, 0, G_OPTION_ARG_INT, &n_trials, "Players per TTFF series (30)", "N" },
    { "add-trials", 0, 0, G_OPTION_ARG_INT, &n_add_trials, "Streams for the ADD part (20)", "N" },
    { "failovers", 0, 0, G_OPTION_ARG_INT, &n_failovers, "Node kills (3)", "N" },
    { "players", 0, 0, G_OPTION_ARG_STRING, &load_players,
      "The load part's player counts (10,50,100,250,500)", "N,N,…" },
    { "load-window", 0, 0, G_OPTION_ARG_INT, &load_window_s, "Seconds of each load window (10)", "S" },
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &server_program, "tether-server program", "PATH" },
    { "cli", 0, 0, G_OPTION_ARG_FILENAME, &cli_program, "tether-cli program", "PATH" },
    { "srt-encryption", 0, 0, G_OPTION_ARG_STRING, &srt_encryption, "on (default) or off: the nodes' --srt-encryption, for the load part's cost of AES", "on|off" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[PART…] — ttff add e2e load failover");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autofree char *parts_text = NULL;
  static const char * const known[] = { "ttff", "add", "e2e", "load", "failover", NULL };
  gint64 t0 = g_get_monotonic_time ();

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-media: %s\n", error->message);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    {
      if (!g_strv_contains (known, argv[i]))
        {
          g_printerr ("bench-media: unknown part “%s” (ttff add e2e load failover)\n", argv[i]);
          return 2;
        }
      g_ptr_array_add (parts, argv[i]);
    }
  g_ptr_array_add (parts, NULL);
  parts_text = parts->len > 1 ? g_strjoinv (" ", (char **) parts->pdata) : g_strdup ("all");
  g_ptr_array_set_size (parts, parts->len - 1);
  bench_srt_plain = g_strcmp0 (srt_encryption, "off") == 0;
  if (bench_srt_plain && !(parts->len == 1 && g_str_equal (parts->pdata[0], "load")))
    {
      /* The other parts start room services, which would hand out passphrases. */
      g_printerr ("bench-media: --srt-encryption=off is for the load part alone\n");
      return 2;
    }

  /* No audio device here; the players must never wait on one. */
  g_setenv ("TETHER_NO_AUDIO", "1", TRUE);
  g_setenv ("TETHER_SERVER", server_program, TRUE);
  gst_init (&argc, &argv);
  g_log_writer_default_set_use_stderr (TRUE);
  setvbuf (stdout, NULL, _IOLBF, 0);
  bench_watchdog_start ("bench-media", WATCHDOG_SECONDS);
  tether_media_init (NULL);
  /* libsrt 1.5.1 warns about every receive timeout of the player links */
  srt_setloglevel (LOG_ERR);

  rows = g_ptr_array_new ();
  extra = g_string_new (NULL);
  print_machine ();

  if (want (parts, "ttff"))
    part_ttff ();

  if (want (parts, "add") || want (parts, "e2e"))
    {
      g_autoptr(TetherRelay) relay = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
      g_autoptr(TetherRelay) uncached = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
      g_autoptr(TetherTestServer) server = NULL;
      Client *alice, *bob;

      g_object_set (uncached, "gop-cache-bytes", 0u, NULL);
      if (!tether_relay_listen (relay, "127.0.0.1", 0, &error)
          || !tether_relay_listen (uncached, "127.0.0.1", 0, &error))
        g_error ("relay: %s", error->message);
      server = tether_test_server_new (NULL);
      add_node (server, "node-a", tether_relay_get_port (relay));
      add_node (server, "node-u", tether_relay_get_port (uncached));
      alice = client_new (tether_test_server_get_url (server), "alice");
      bob = client_new (tether_test_server_get_url (server), "bob");
      if (want (parts, "add"))
        part_add (alice, bob);
      if (want (parts, "e2e"))
        part_e2e (bob, tether_relay_get_port (relay), tether_relay_get_port (uncached));
      client_free (alice);
      client_free (bob);
      tether_relay_stop (relay);
      tether_relay_stop (uncached);
    }

  if (want (parts, "load"))
    part_load ();

  if (want (parts, "failover"))
    part_failover ();

  g_print ("\nbench-media: run took %.0f s\n", (g_get_monotonic_time () - t0) / 1e6);
  extra_double ("run_seconds", (g_get_monotonic_time () - t0) / 1e6);
  print_summary (parts_text);
  fflush (stdout);
  /* libsrt and GStreamer threads may still be winding down; the figures are out. */
  _exit (0);
}
