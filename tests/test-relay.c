/* test-relay.c: the SRT media node with real GStreamer publishers and players in-process
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <srt/access_control.h>
#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>

#include "tether-error.h"
#include "tether-relay.h"
#include "tether-relay-private.h"
#include "tether-media.h"
#include "tether-test-utils.h"
#include "tether-udp-fault-proxy.h"

/* How long a client may take to see that the node closed it: at once when libsrt's
 * SHUTDOWN packet gets through, else at its 5 s peer-idle timeout (a loaded machine
 * can delay or lose the first). */
#define PEER_GONE_MS 7000

#define LATENCY_MS 120

/* ------------------------------------------------------------------------- */
/* Stream ids and tokens */

static char *
stream_id_for (const char *stream,
               const char *mode,
               const char *token)
{
  return tether_srt_stream_id_new (stream, mode, token);
}

/* All-rooms tokens; tether_test_publish_stream_id() and tether_test_play_stream_id()
 * for a room or a stream list. */
static char *
publish_id (const char *stream,
            const char *user)
{
  return tether_test_publish_stream_id (stream, user, NULL);
}

static char *
play_id (const char *stream,
         const char *user)
{
  return tether_test_play_stream_id (stream, user, NULL, NULL);
}

/* ------------------------------------------------------------------------- */
/* GStreamer publisher: x264 in MPEG-TS over srtsink */

typedef struct
{
  GstElement *pipeline;
  guint bus_watch;
  gint errors;
  gint warnings;   /* srtsink reconnects (and warns) when its peer goes away */
} Publisher;

/* srtsink throws away buffers flagged HEADER, and mpegtsmux flags the key-frame
 * packets that way; clear the flag so the key frames reach the wire. */
static gboolean
clear_header_flag (GstBuffer **buffer,
                   guint       idx,
                   gpointer    data)
{
  *buffer = gst_buffer_make_writable (*buffer);
  GST_BUFFER_FLAG_UNSET (*buffer, GST_BUFFER_FLAG_HEADER);
  return TRUE;
}

static GstPadProbeReturn
clear_header_probe (GstPad          *pad,
                    GstPadProbeInfo *info,
                    gpointer         data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      GstBuffer *buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));

      GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_HEADER);
      GST_PAD_PROBE_INFO_DATA (info) = buffer;
    }
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));

      gst_buffer_list_foreach (list, clear_header_flag, NULL);
      GST_PAD_PROBE_INFO_DATA (info) = list;
    }
  return GST_PAD_PROBE_OK;
}

static gboolean
publisher_bus_cb (GstBus     *bus,
                  GstMessage *message,
                  gpointer    data)
{
  Publisher *pub = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      g_test_message ("publisher error from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)),
                      error->message);
      g_atomic_int_inc (&pub->errors);
    }
  else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_WARNING)
    g_atomic_int_inc (&pub->warnings);
  return G_SOURCE_CONTINUE;
}

/* One second per GOP, so players start within a second. */
#define TEST_VIDEO                                                                     \
  "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 " \
  "! x264enc tune=zerolatency key-int-max=30 speed-preset=ultrafast"

/* Parsed and watched, not yet playing. */
static Publisher *
publisher_new (const char *desc)
{
  Publisher *pub = g_new0 (Publisher, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;

  pub->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  bus = gst_element_get_bus (pub->pipeline);
  pub->bus_watch = gst_bus_add_watch (bus, publisher_bus_cb, pub);
  return pub;
}

static Publisher *
publisher_start (guint16     port,
                 const char *streamid)
{
  g_autoptr(GstElement) identity = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstPad) pad = NULL;
  g_autofree char *desc = g_strdup_printf (
    TEST_VIDEO " ! h264parse config-interval=-1 ! mpegtsmux alignment=7 ! identity name=clr "
    "! srtsink name=sink uri=srt://127.0.0.1:%u latency=%d wait-for-connection=false",
    port, LATENCY_MS);
  Publisher *pub = publisher_new (desc);

  g_autofree char *passphrase = tether_test_stream_id_passphrase (streamid);

  sink = gst_bin_get_by_name (GST_BIN (pub->pipeline), "sink");
  g_object_set (sink, "streamid", streamid, "passphrase", passphrase, NULL);

  identity = gst_bin_get_by_name (GST_BIN (pub->pipeline), "clr");
  pad = gst_element_get_static_pad (identity, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     clear_header_probe, NULL, NULL);

  gst_element_set_state (pub->pipeline, GST_STATE_PLAYING);
  return pub;
}

/* What a user types: mpegtsmux and srtsink with their defaults (one 188-byte
 * packet per message), the stream id URL-escaped in the URI and the passphrase
 * after it, as `tether-cli url` prints them. */
static Publisher *
publisher_start_plain (guint16     port,
                       const char *streamid)
{
  g_autofree char *escaped = g_uri_escape_string (streamid, NULL, FALSE);
  g_autofree char *passphrase = tether_test_stream_id_passphrase (streamid);
  g_autofree char *desc = g_strdup_printf (
    TEST_VIDEO " ! mpegtsmux ! srtsink uri=\"srt://127.0.0.1:%u?streamid=%s&passphrase=%s\"",
    port, escaped, passphrase);
  Publisher *pub = publisher_new (desc);

  gst_element_set_state (pub->pipeline, GST_STATE_PLAYING);
  return pub;
}

static void
publisher_free (Publisher *pub)
{
  if (pub == NULL)
    return;
  gst_element_set_state (pub->pipeline, GST_STATE_NULL);
  g_source_remove (pub->bus_watch);
  gst_object_unref (pub->pipeline);
  g_free (pub);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Publisher, publisher_free)

/* ------------------------------------------------------------------------- */
/* GStreamer player: srtsrc → tsdemux → h264parse → avdec_h264 → appsink */

typedef struct
{
  GstElement *pipeline;
  guint bus_watch;
  gint frames;
  gint decoder_complaints;
  gint errors;
  gint64 started_at;
  gint first_frame_ms;     /* after started_at; -1 until the streaming thread sets it */
} Player;

static GstFlowReturn
player_new_sample (GstAppSink *sink,
                   gpointer    data)
{
  Player *player = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);

  gst_sample_unref (sample);
  if (g_atomic_int_add (&player->frames, 1) == 0)
    g_atomic_int_set (&player->first_frame_ms,
                      (gint) ((g_get_monotonic_time () - player->started_at) / 1000));
  return GST_FLOW_OK;
}

static gboolean
player_bus_cb (GstBus     *bus,
               GstMessage *message,
               gpointer    data)
{
  Player *player = data;
  const char *src = GST_OBJECT_NAME (GST_MESSAGE_SRC (message));
  g_autoptr(GError) error = NULL;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (message, &error, NULL);
      g_test_message ("player error from %s: %s", src, error->message);
      g_atomic_int_inc (&player->errors);
      if (g_strcmp0 (src, "dec") == 0)
        g_atomic_int_inc (&player->decoder_complaints);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (message, &error, NULL);
      g_test_message ("player warning from %s: %s", src, error->message);
      if (g_strcmp0 (src, "dec") == 0 || g_strcmp0 (src, "parse") == 0)
        g_atomic_int_inc (&player->decoder_complaints);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static Player *
player_start (guint16     port,
              const char *streamid)
{
  Player *player = g_new0 (Player, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) src = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstBus) bus = NULL;
  GstAppSinkCallbacks callbacks = { .new_sample = player_new_sample };
  g_autofree char *passphrase = NULL;
  g_autofree char *desc = g_strdup_printf (
    "srtsrc name=src uri=srt://127.0.0.1:%u latency=%d "
    "! tsdemux latency=100 ! h264parse name=parse ! avdec_h264 name=dec "
    "! appsink name=sink sync=false",
    port, LATENCY_MS);

  player->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);

  passphrase = tether_test_stream_id_passphrase (streamid);
  src = gst_bin_get_by_name (GST_BIN (player->pipeline), "src");
  g_object_set (src, "streamid", streamid, "passphrase", passphrase, NULL);
  sink = gst_bin_get_by_name (GST_BIN (player->pipeline), "sink");
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, player, NULL);

  bus = gst_element_get_bus (player->pipeline);
  player->bus_watch = gst_bus_add_watch (bus, player_bus_cb, player);
  player->first_frame_ms = -1;
  player->started_at = g_get_monotonic_time ();
  gst_element_set_state (player->pipeline, GST_STATE_PLAYING);

  return player;
}

static int
player_frames (Player *player)
{
  return g_atomic_int_get (&player->frames);
}

static gint64
player_first_frame_delay_ms (Player *player)
{
  return g_atomic_int_get (&player->first_frame_ms);
}

static void
player_free (Player *player)
{
  if (player == NULL)
    return;
  gst_element_set_state (player->pipeline, GST_STATE_NULL);
  g_source_remove (player->bus_watch);
  gst_object_unref (player->pipeline);
  g_free (player);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Player, player_free)

/* ------------------------------------------------------------------------- */
/* Raw libsrt callers: for reject reasons, byte-exact starts and players that stall */

/* A caller with @passphrase (NULL: none) */
static SRTSOCKET
raw_connect_with (guint16     port,
                  const char *streamid,
                  const char *passphrase,
                  gboolean    tiny_receive_buffer,
                  int        *reject_reason)
{
  SRTSOCKET sock = srt_create_socket ();
  struct sockaddr_in sa = { 0, };
  int latency = LATENCY_MS;
  int timeout_ms = 3000;

  g_assert_cmpint (sock, !=, SRT_INVALID_SOCK);
  g_assert_cmpint (srt_setsockflag (sock, SRTO_STREAMID, streamid, strlen (streamid)), ==, 0);
  srt_setsockflag (sock, SRTO_LATENCY, &latency, sizeof latency);
  srt_setsockflag (sock, SRTO_CONNTIMEO, &timeout_ms, sizeof timeout_ms);
  srt_setsockflag (sock, SRTO_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
  if (passphrase != NULL)
    g_assert_cmpint (srt_setsockflag (sock, SRTO_PASSPHRASE, passphrase, strlen (passphrase)), ==, 0);
  if (tiny_receive_buffer)
    {
      int fc = 32;
      int rcvbuf = 32 * 1456;

      srt_setsockflag (sock, SRTO_FC, &fc, sizeof fc);
      srt_setsockflag (sock, SRTO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }

  sa.sin_family = AF_INET;
  sa.sin_port = htons (port);
  inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);

  if (srt_connect (sock, (struct sockaddr *) &sa, sizeof sa) == SRT_ERROR)
    {
      if (reject_reason != NULL)
        *reject_reason = srt_getrejectreason (sock);
      srt_close (sock);
      return SRT_INVALID_SOCK;
    }
  if (reject_reason != NULL)
    *reject_reason = 0;
  return sock;
}

/* A caller with the passphrase of @streamid's token, as a media node with the test
 * secret derives it. */
static SRTSOCKET
raw_connect (guint16     port,
             const char *streamid,
             gboolean    tiny_receive_buffer,
             int        *reject_reason)
{
  g_autofree char *passphrase = tether_test_stream_id_passphrase (streamid);

  return raw_connect_with (port, streamid, passphrase, tiny_receive_buffer, reject_reason);
}

static int
raw_reject_reason (guint16     port,
                   const char *streamid)
{
  int reason = -1;
  SRTSOCKET sock = raw_connect (port, streamid, FALSE, &reason);

  if (sock != SRT_INVALID_SOCK)
    srt_close (sock);
  return reason;
}

/* Reads @want bytes (whole messages), or fewer on timeout. */
static GByteArray *
raw_read (SRTSOCKET sock,
          gsize     want)
{
  GByteArray *out = g_byte_array_new ();

  while (out->len < want)
    {
      char buf[1500];
      int n = srt_recvmsg (sock, buf, sizeof buf);

      if (n <= 0)
        break;
      g_byte_array_append (out, (const guint8 *) buf, n);
    }
  return out;
}

static guint16
ts_pid (const guint8 *p)
{
  return ((p[1] & 0x1f) << 8) | p[2];
}

/* Whether a player with @streamid is accepted and gets media. */
static gboolean
raw_plays (guint16     port,
           const char *streamid)
{
  g_autoptr(GByteArray) head = NULL;
  SRTSOCKET sock = raw_connect (port, streamid, FALSE, NULL);

  if (sock == SRT_INVALID_SOCK)
    return FALSE;
  head = raw_read (sock, TETHER_TS_PACKET_SIZE);
  srt_close (sock);
  return head->len >= TETHER_TS_PACKET_SIZE;
}

/* ------------------------------------------------------------------------- */
/* A synthetic TS for byte-exact checks: GOPs of PAT, PMT (H.264 on one PID), a
 * video packet with the random-access flag, then video packets of random bytes
 * from a fixed seed, 0x47 included as in real payloads. */

#define SYN_PMT_PID 0x1000
#define SYN_VIDEO_PID 0x100
#define SYN_GOP_PACKETS 60

static guint8 *
syn_header (GByteArray *ts,
            guint16     pid,
            gboolean    pusi,
            guint8     *cc)
{
  guint8 *p;

  g_byte_array_set_size (ts, ts->len + TETHER_TS_PACKET_SIZE);
  p = ts->data + ts->len - TETHER_TS_PACKET_SIZE;
  memset (p, 0xff, TETHER_TS_PACKET_SIZE);
  p[0] = TETHER_TS_SYNC_BYTE;
  p[1] = (pusi ? 0x40 : 0) | (pid >> 8);
  p[2] = pid & 0xff;
  p[3] = 0x10 | ((*cc)++ & 0x0f);
  return p;
}

static GByteArray *
syn_stream (guint n_gops)
{
  /* Pointer field, then the section (its CRC is not checked by the node). */
  static const guint8 pat[] = { 0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00,
                                0x00, 0x01, 0xe0 | (SYN_PMT_PID >> 8), SYN_PMT_PID & 0xff,
                                0, 0, 0, 0 };
  static const guint8 pmt[] = { 0x00, 0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00,
                                0xe0 | (SYN_VIDEO_PID >> 8), SYN_VIDEO_PID & 0xff, 0xf0, 0x00,
                                0x1b, 0xe0 | (SYN_VIDEO_PID >> 8), SYN_VIDEO_PID & 0xff, 0xf0, 0x00,
                                0, 0, 0, 0 };
  static const guint8 pes[] = { 0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x00, 0x00 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (47);
  GByteArray *ts = g_byte_array_new ();
  guint8 cc_pat = 0, cc_pmt = 0, cc_video = 0;

  for (guint gop = 0; gop < n_gops; gop++)
    {
      guint8 *p;

      memcpy (syn_header (ts, 0, TRUE, &cc_pat) + 4, pat, sizeof pat);
      memcpy (syn_header (ts, SYN_PMT_PID, TRUE, &cc_pmt) + 4, pmt, sizeof pmt);

      p = syn_header (ts, SYN_VIDEO_PID, TRUE, &cc_video);
      p[3] |= 0x20;   /* adaptation field ... */
      p[4] = 1;
      p[5] = 0x40;    /* ... with the random-access flag */
      memcpy (p + 6, pes, sizeof pes);

      for (guint i = 0; i < SYN_GOP_PACKETS; i++)
        {
          p = syn_header (ts, SYN_VIDEO_PID, FALSE, &cc_video);
          for (guint j = 4; j < TETHER_TS_PACKET_SIZE; j++)
            p[j] = g_rand_int_range (rand, 0, 256);
        }
    }
  return ts;
}

/* ------------------------------------------------------------------------- */
/* Fixture */

typedef struct
{
  TetherRelay *relay;
  guint16 port;
  GPtrArray *events;   /* "added:stream:user", "removed:stream:user:reason" */
} Fixture;

static void
on_publisher_added (TetherRelay *relay,
                    const char  *stream_id,
                    const char  *user_id,
                    Fixture     *fx)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_ptr_array_add (fx->events, g_strdup_printf ("added:%s:%s", stream_id, user_id));
}

static void
on_publisher_removed (TetherRelay *relay,
                      const char  *stream_id,
                      const char  *user_id,
                      const char  *reason,
                      Fixture     *fx)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_ptr_array_add (fx->events, g_strdup_printf ("removed:%s:%s:%s", stream_id, user_id, reason));
}

static gboolean
has_event (Fixture    *fx,
           const char *event)
{
  for (guint i = 0; i < fx->events->len; i++)
    if (g_strcmp0 (g_ptr_array_index (fx->events, i), event) == 0)
      return TRUE;
  return FALSE;
}

static guint64
relay_metric (TetherRelay *relay,
              const char  *name)
{
  g_autofree char *text = tether_relay_get_metrics_text (relay);
  guint64 value = 0;

  g_assert_true (tether_test_metric (text, name, &value));
  return value;
}

static guint64
metric (Fixture    *fx,
        const char *name)
{
  return relay_metric (fx->relay, name);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->events = g_ptr_array_new_with_free_func (g_free);
  fx->relay = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_object_set (fx->relay, "latency", LATENCY_MS, NULL);
  if (data != NULL)
    g_object_set (fx->relay, "max-player-queue-bytes", GPOINTER_TO_UINT (data), NULL);
  g_signal_connect (fx->relay, "publisher-added", G_CALLBACK (on_publisher_added), fx);
  g_signal_connect (fx->relay, "publisher-removed", G_CALLBACK (on_publisher_removed), fx);

  g_assert_true (tether_relay_listen (fx->relay, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  fx->port = tether_relay_get_port (fx->relay);
  g_assert_cmpuint (fx->port, >, 0);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  tether_relay_stop (fx->relay);
  g_object_unref (fx->relay);
  g_ptr_array_unref (fx->events);
}

/* A claim TTL the tests can wait out. */
#define CLAIM_TTL_S 1.5

/* The TTL is itself the condition: wait it out on the monotonic clock the node
 * uses. @since was read after the node let go (after its signal arrived), so
 * the record has expired when this returns. */
static void
wait_claim_ttl (gint64 since)
{
  g_assert_true (TETHER_WAIT_UNTIL (g_get_monotonic_time () - since >= CLAIM_TTL_S * G_USEC_PER_SEC,
                                    (guint) (CLAIM_TTL_S * 1000) + 3000));
}

/* ------------------------------------------------------------------------- */
/* Tests */

/* The stream id's syntax is tests/test-srt-url.c's; here, what its token allows. */
static void
test_stream_id_access (void)
{
  g_auto(TetherRelayAccess) access = { 0, };
  g_autoptr(GError) error = NULL;
  g_autofree char *token = tether_test_token ("alice", NULL, 600);
  g_autofree char *login_only = tether_test_token_full ("bob", NULL, TETHER_PRIVILEGE_LOGIN, NULL, 600);
  g_autofree char *expired = tether_test_token_full ("alice", NULL, TETHER_PRIVILEGE_PUBLISH, NULL, -3600);
  const char *const cam_only[] = { "cam", NULL };
  g_autofree char *cam_token = tether_test_token_full ("alice", NULL, TETHER_PRIVILEGE_PUBLISH, cam_only, 600);
  TetherSrtStreamId mallory = { (char *) "cam", TETHER_SRT_MODE_PUBLISH, (char *) "mallory", token };
  TetherSrtStreamId pulling = { (char *) "cam", TETHER_SRT_MODE_REQUEST, NULL, NULL, (char *) "edge1" };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  text = stream_id_for ("cam", "publish", token);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpstr (access.user_id, ==, "alice");
  g_assert_cmpstr (access.stream_id, ==, "cam");
  tether_relay_access_clear (&access);
  g_free (text);

  text = stream_id_for ("cam", "publish", login_only);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_FORBIDDEN);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_PUBLISH_DENIED);
  g_clear_error (&error);
  g_free (text);

  text = stream_id_for ("other", "publish", cam_token);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_FORBIDDEN);
  g_clear_error (&error);
  g_free (text);

  text = stream_id_for ("cam", "request", cam_token);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_FORBIDDEN);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_PLAY_DENIED);
  g_clear_error (&error);
  g_free (text);

  text = stream_id_for ("cam", "publish", expired);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_UNAUTHORIZED);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_TOKEN_EXPIRED);
  g_clear_error (&error);
  g_free (text);

  text = tether_srt_stream_id_to_string (&mallory);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_FORBIDDEN);
  g_clear_error (&error);

  g_clear_pointer (&text, g_free);
  text = stream_id_for ("cam", "request", NULL);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, SRT_REJX_UNAUTHORIZED);
  g_clear_error (&error);

  /* pull= names the node pulling for its players; a publisher's means nothing. */
  g_clear_pointer (&text, g_free);
  pulling.token = login_only;
  text = tether_srt_stream_id_to_string (&pulling);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, 0);
  g_assert_cmpstr (access.pull_node, ==, "edge1");
  tether_relay_access_clear (&access);
  g_clear_pointer (&text, g_free);
  pulling.mode = TETHER_SRT_MODE_PUBLISH;
  pulling.token = token;
  text = tether_srt_stream_id_to_string (&pulling);
  g_assert_cmpint (tether_relay_access_check (text, TETHER_TEST_APP_ID, TETHER_TEST_SECRET, now, 30, &access, &error), ==, 0);
  g_assert_null (access.pull_node);
}

/* Publisher first: a player joining later starts on PAT, PMT and a key frame
 * from the cache, decodes at once and keeps going. */
static void
test_play (Fixture       *fx,
           gconstpointer  data)
{
  g_autofree char *pid = publish_id ("cam", "alice");
  g_autofree char *vid = play_id ("cam", "bob");
  g_autoptr(Publisher) pub = publisher_start (fx->port, pid);
  g_autoptr(Player) player = NULL;
  g_autoptr(GByteArray) head = NULL;
  TetherTsTracker ts;
  SRTSOCKET raw;
  int frames;

  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:cam:alice"), 5000));
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 1);
  /* Let the publisher get past its first key frame, so the cache is what serves
   * the players below. */
  g_assert_true (TETHER_WAIT_UNTIL (metric (fx, "tether_media_bytes_in_total") > 60000, 5000));
  tether_test_run_for (500);

  /* Byte-exact: PAT, PMT, then the video PES that opens a key frame. */
  raw = raw_connect (fx->port, vid, FALSE, NULL);
  g_assert_cmpint (raw, !=, SRT_INVALID_SOCK);
  head = raw_read (raw, 3 * TETHER_TS_PACKET_SIZE);
  g_assert_cmpuint (head->len, >=, 3 * TETHER_TS_PACKET_SIZE);
  tether_ts_tracker_reset (&ts);
  g_assert_cmpuint (ts_pid (head->data), ==, 0);
  g_assert_false (tether_ts_tracker_feed (&ts, head->data));
  g_assert_false (tether_ts_tracker_feed (&ts, head->data + TETHER_TS_PACKET_SIZE));
  g_assert_true (tether_ts_tracker_has_headers (&ts));
  g_assert_cmpuint (ts.video_pid, !=, TETHER_TS_NO_PID);
  g_assert_true (tether_ts_tracker_feed (&ts, head->data + 2 * TETHER_TS_PACKET_SIZE));
  srt_close (raw);

  player = player_start (fx->port, vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 0, 3000));
  g_test_message ("first frame %" G_GINT64_FORMAT " ms after the player started",
                  player_first_frame_delay_ms (player));
  g_assert_cmpint (player_first_frame_delay_ms (player), <, 1000 * tether_test_scale ());

  frames = player_frames (player);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > frames + 30, 5000));
  g_assert_cmpint (g_atomic_int_get (&player->decoder_complaints), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&pub->errors), ==, 0);
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_media_bytes_out_total"), >, 0);
  g_assert_cmpuint (metric (fx, "tether_media_streams"), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_media_players"), ==, 1);
  g_assert_cmpuint (metric (fx, "tether_media_player_drops_total"), ==, 0);
  g_assert_cmpuint (metric (fx, "tether_media_rejects_total"), ==, 0);
}

/* A player that asks before anyone publishes is held, then starts with the publisher. */
static void
test_player_before_publisher (Fixture       *fx,
                              gconstpointer  data)
{
  g_autofree char *pid = publish_id ("early", "alice");
  g_autofree char *vid = play_id ("early", "bob");
  g_autoptr(Player) player = player_start (fx->port, vid);
  g_autoptr(Publisher) pub = NULL;

  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 1, 3000));
  tether_test_run_for (300);
  g_assert_cmpint (player_frames (player), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
  g_assert_cmpuint (metric (fx, "tether_media_rejects_total"), ==, 0);

  pub = publisher_start (fx->port, pid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 30, 8000));
  g_assert_cmpint (g_atomic_int_get (&player->decoder_complaints), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
}

/* One publisher per stream id: another user is refused with 409, the same user
 * takes over at once. */
static void
test_publish_conflict (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *alice = publish_id ("cam", "alice");
  g_autofree char *bob = publish_id ("cam", "bob");
  g_autofree char *alice_again = publish_id ("cam", "alice");
  g_autofree char *vid = play_id ("cam", "carol");
  g_autoptr(Publisher) pub = publisher_start (fx->port, alice);
  g_autoptr(Player) player = NULL;
  SRTSOCKET takeover;
  int reason = -1;
  gint64 left;

  g_object_set (fx->relay, "claim-ttl", CLAIM_TTL_S, NULL);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:cam:alice"), 5000));

  g_assert_cmpint (raw_reject_reason (fx->port, bob), ==, SRT_REJX_CONFLICT);
  g_assert_cmpuint (metric (fx, "tether_media_rejects_total"), ==, 1);

  /* The same user from a second connection (a reconnect after a network switch). */
  takeover = raw_connect (fx->port, alice_again, FALSE, &reason);
  g_assert_cmpint (takeover, !=, SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, 0);
  g_assert_true (TETHER_WAIT_UNTIL (fx->events->len == 3, 3000));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 1), ==, "removed:cam:alice:replaced");
  g_assert_cmpstr (g_ptr_array_index (fx->events, 2), ==, "added:cam:alice");
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 1);

  /* The old publisher was closed (srtsink would come back and take over in
   * turn, so it goes); the new owner still blocks other users. */
  g_assert_true (TETHER_WAIT_UNTIL (g_atomic_int_get (&pub->errors) + g_atomic_int_get (&pub->warnings) > 0, 3000));
  g_clear_pointer (&pub, publisher_free);
  g_assert_cmpint (raw_reject_reason (fx->port, bob), ==, SRT_REJX_CONFLICT);
  g_assert_cmpuint (fx->events->len, ==, 3);

  /* Once the owner leaves, the stream id waits claim-ttl for it, then is free. */
  srt_close (takeover);
  g_assert_true (TETHER_WAIT_UNTIL (fx->events->len == 4, 3000));
  left = g_get_monotonic_time ();
  g_assert_cmpstr (g_ptr_array_index (fx->events, 3), ==, "removed:cam:alice:disconnected");
  g_assert_cmpint (raw_reject_reason (fx->port, bob), ==, SRT_REJX_CONFLICT);
  wait_claim_ttl (left);
  pub = publisher_start (fx->port, bob);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:cam:bob"), 5000));
  player = player_start (fx->port, vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 10, 5000));
}

/* A player plays only streams of its token's room, and of its stream list when the
 * token has one; the stream's room is its publisher's. A player may ask before the
 * publisher: it waits, and goes the moment a publisher of another room arrives. */
static void
test_cross_room_play (Fixture       *fx,
                      gconstpointer  data)
{
  const char *const listed[] = { "adacam", NULL };
  const char *const unlisted[] = { "othercam", NULL };
  g_autofree char *pid = tether_test_publish_stream_id ("adacam", "ada", "A");
  g_autofree char *other_room = tether_test_play_stream_id ("adacam", "bob", "OTHER", NULL);
  g_autofree char *same_room = tether_test_play_stream_id ("adacam", "carol", "A", NULL);
  g_autofree char *all_rooms = tether_test_play_stream_id ("adacam", "dave", NULL, NULL);
  g_autofree char *in_list = tether_test_play_stream_id ("adacam", "erin", "A", listed);
  g_autofree char *not_in_list = tether_test_play_stream_id ("adacam", "frank", "A", unlisted);
  g_autoptr(Player) player = NULL;
  g_autoptr(Publisher) pub = NULL;
  SRTSOCKET early;

  early = raw_connect (fx->port, other_room, FALSE, NULL);
  g_assert_cmpint (early, !=, SRT_INVALID_SOCK);
  player = player_start (fx->port, same_room);
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 2, 3000));

  pub = publisher_start (fx->port, pid);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:adacam:ada"), 5000));
  /* Closed as the publisher was accepted, before any media went out. */
  g_assert_true (TETHER_WAIT_UNTIL (srt_getsockstate (early) > SRTS_CONNECTED, PEER_GONE_MS));
  srt_close (early);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 10, 8000));
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 1);

  g_assert_cmpint (raw_reject_reason (fx->port, other_room), ==, SRT_REJX_FORBIDDEN);
  g_assert_cmpint (raw_reject_reason (fx->port, not_in_list), ==, SRT_REJX_FORBIDDEN);
  g_assert_true (raw_plays (fx->port, all_rooms));
  g_assert_true (raw_plays (fx->port, in_list));
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
}

/* Issue 8's hijack at a node on its own: Ada's stream id stays hers while her
 * publisher is away, for claim-ttl; Mallory, with a publish token for room B,
 * cannot take it, and the room decides who plays. */
static void
test_hijack (Fixture       *fx,
             gconstpointer  data)
{
  g_autofree char *ada = tether_test_publish_stream_id ("adacam2", "ada", "A");
  g_autofree char *ada_in_b = tether_test_publish_stream_id ("adacam2", "ada", "B");
  g_autofree char *mallory = tether_test_publish_stream_id ("adacam2", "mallory", "B");
  g_autofree char *mallory_all_rooms = tether_test_publish_stream_id ("adacam2", "mallory", NULL);
  g_autofree char *viewer_a = tether_test_play_stream_id ("adacam2", "bob", "A", NULL);
  g_autofree char *viewer_other = tether_test_play_stream_id ("adacam2", "eve", "OTHER", NULL);
  g_autoptr(Publisher) pub = publisher_start (fx->port, ada);
  g_autoptr(Player) player = NULL;

  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:adacam2:ada"), 5000));
  g_clear_pointer (&pub, publisher_free);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "removed:adacam2:ada:disconnected"), 3000));

  g_assert_cmpint (raw_reject_reason (fx->port, mallory), ==, SRT_REJX_CONFLICT);
  g_assert_cmpint (raw_reject_reason (fx->port, mallory_all_rooms), ==, SRT_REJX_CONFLICT);
  /* Ada's own token for another room is no key to room A's stream either. */
  g_assert_cmpint (raw_reject_reason (fx->port, ada_in_b), ==, SRT_REJX_CONFLICT);
  g_assert_cmpint (raw_reject_reason (fx->port, viewer_other), ==, SRT_REJX_FORBIDDEN);
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 0);

  pub = publisher_start (fx->port, ada);
  g_assert_true (TETHER_WAIT_UNTIL (fx->events->len == 3, 5000));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 2), ==, "added:adacam2:ada");
  player = player_start (fx->port, viewer_a);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 10, 8000));
  g_assert_cmpint (raw_reject_reason (fx->port, viewer_other), ==, SRT_REJX_FORBIDDEN);
  g_assert_cmpint (raw_reject_reason (fx->port, mallory), ==, SRT_REJX_CONFLICT);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
}

/* Embedded in tether-server, the room service claims a stream id when it is added,
 * before its publisher connects, and releases it when it is deleted. */
static void
test_claim (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *ada = tether_test_publish_stream_id ("adacam2", "ada", "A");
  g_autofree char *mallory = tether_test_publish_stream_id ("adacam2", "mallory", "B");
  g_autofree char *viewer_a = tether_test_play_stream_id ("adacam2", "bob", "A", NULL);
  g_autofree char *viewer_other = tether_test_play_stream_id ("adacam2", "eve", "OTHER", NULL);
  g_autofree char *host = publish_id ("lobbycam", "host");
  g_autofree char *lobby_a = tether_test_play_stream_id ("lobbycam", "carol", "A", NULL);
  g_autofree char *lobby_other = tether_test_play_stream_id ("lobbycam", "eve", "OTHER", NULL);
  g_autoptr(Publisher) pub = NULL;
  g_autoptr(Player) player = NULL;
  SRTSOCKET host_sock, early;
  gint64 left;

  g_object_set (fx->relay, "claim-ttl", CLAIM_TTL_S, NULL);

  g_assert_true (tether_relay_claim_stream (fx->relay, "adacam2", "ada", "A"));
  g_assert_true (tether_relay_claim_stream (fx->relay, "adacam2", "ada", "A"));
  g_assert_false (tether_relay_claim_stream (fx->relay, "adacam2", "mallory", "B"));
  g_assert_false (tether_relay_claim_stream (fx->relay, "adacam2", "mallory", "A"));
  g_assert_false (tether_relay_claim_stream (fx->relay, "adacam2", "ada", "B"));

  /* Mallory is on the node before Ada (the order). */
  g_assert_cmpint (raw_reject_reason (fx->port, mallory), ==, SRT_REJX_CONFLICT);
  g_assert_cmpint (raw_reject_reason (fx->port, viewer_other), ==, SRT_REJX_FORBIDDEN);

  pub = publisher_start (fx->port, ada);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:adacam2:ada"), 5000));
  player = player_start (fx->port, viewer_a);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 10, 8000));

  /* Deleted in the room while Ada still publishes: hers while she does, and
   * claim-ttl more. A release by anyone else is no release. */
  tether_relay_release_stream (fx->relay, "adacam2", "mallory");
  tether_relay_release_stream (fx->relay, "adacam2", "ada");
  g_assert_cmpint (raw_reject_reason (fx->port, mallory), ==, SRT_REJX_CONFLICT);
  g_clear_pointer (&pub, publisher_free);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "removed:adacam2:ada:disconnected"), 3000));
  left = g_get_monotonic_time ();
  g_assert_false (tether_relay_claim_stream (fx->relay, "adacam2", "mallory", "B"));
  g_assert_cmpint (raw_reject_reason (fx->port, mallory), ==, SRT_REJX_CONFLICT);

  /* Then it is free; Bob, of room A, still waits on it and goes when room B has it. */
  wait_claim_ttl (left);
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 1);
  g_assert_true (tether_relay_claim_stream (fx->relay, "adacam2", "mallory", "B"));
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 0, 3000));
  g_clear_pointer (&player, player_free);  /* srtsrc would keep knocking */

  /* A stream published with an all-rooms token has no room until a claim names it. */
  host_sock = raw_connect (fx->port, host, FALSE, NULL);
  g_assert_cmpint (host_sock, !=, SRT_INVALID_SOCK);
  early = raw_connect (fx->port, lobby_other, FALSE, NULL);
  g_assert_cmpint (early, !=, SRT_INVALID_SOCK);
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 1, 3000));
  g_assert_true (tether_relay_claim_stream (fx->relay, "lobbycam", "host", "A"));
  g_assert_true (TETHER_WAIT_UNTIL (srt_getsockstate (early) > SRTS_CONNECTED, PEER_GONE_MS));
  g_assert_cmpint (raw_reject_reason (fx->port, lobby_other), ==, SRT_REJX_FORBIDDEN);
  g_assert_cmpint (raw_reject_reason (fx->port, lobby_a), ==, 0);
  srt_close (early);
  srt_close (host_sock);
}

/* `gst-launch-1.0 … ! mpegtsmux ! srtsink uri=srt://…?streamid=…`, every setting at
 * its default: one 188-byte TS packet per SRT message. */
static void
test_plain_gst_publisher (Fixture       *fx,
                          gconstpointer  data)
{
  g_autofree char *pid = publish_id ("plain", "alice");
  g_autofree char *vid = play_id ("plain", "bob");
  g_autoptr(Publisher) pub = publisher_start_plain (fx->port, pid);
  g_autoptr(Player) player = NULL;

  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:plain:alice"), 5000));
  player = player_start (fx->port, vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 30, 8000));
  g_assert_cmpint (g_atomic_int_get (&player->decoder_complaints), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&pub->errors), ==, 0);
}

/* Every 188-byte packet of @ts. */
static GHashTable *
ts_packet_set (GByteArray *ts)
{
  GHashTable *set = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                           (GDestroyNotify) g_bytes_unref, NULL);

  for (gsize i = 0; i + TETHER_TS_PACKET_SIZE <= ts->len; i += TETHER_TS_PACKET_SIZE)
    g_hash_table_add (set, g_bytes_new (ts->data + i, TETHER_TS_PACKET_SIZE));
  return set;
}

/* Reads what @player gets until the last packet of @ts arrives (or a read times
 * out). Returns how many packets it got; @foreign: how many of them @ts does not hold. */
static guint
read_until_last (SRTSOCKET   player,
                 GByteArray *ts,
                 guint      *foreign)
{
  g_autoptr(GHashTable) sent = ts_packet_set (ts);
  const guint8 *last = ts->data + ts->len - TETHER_TS_PACKET_SIZE;
  gboolean got_last = FALSE;
  guint received = 0;

  *foreign = 0;
  while (!got_last)
    {
      g_autoptr(GByteArray) got = raw_read (player, 1);

      if (got->len == 0)
        break;
      g_assert_cmpuint (got->len % TETHER_TS_PACKET_SIZE, ==, 0);
      for (gsize i = 0; i < got->len; i += TETHER_TS_PACKET_SIZE)
        {
          g_autoptr(GBytes) packet = g_bytes_new (got->data + i, TETHER_TS_PACKET_SIZE);

          received++;
          if (!g_hash_table_contains (sent, packet))
            (*foreign)++;
          got_last |= memcmp (got->data + i, last, TETHER_TS_PACKET_SIZE) == 0;
        }
    }
  g_assert_true (got_last);
  return received;
}

/* The player asks first and starts on the first complete GOP, so it sees the
 * whole stream from there on. */
static SRTSOCKET
connect_waiting_player (Fixture    *fx,
                        const char *stream)
{
  g_autofree char *vid = play_id (stream, "bob");
  SRTSOCKET player = raw_connect (fx->port, vid, FALSE, NULL);

  g_assert_cmpint (player, !=, SRT_INVALID_SOCK);
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 1, 3000));
  return player;
}

/* A publisher whose byte stream has a packet cut short (a truncated recording
 * followed by the next, a pipe that lost bytes) and whose messages split packets
 * anywhere: players get exactly the packets it sent whole, nothing torn and
 * nothing found at a 0x47 inside a payload. Byte-exact, on a synthetic stream. */
static void
test_unaligned_publisher (Fixture       *fx,
                          gconstpointer  data)
{
  static const guint sizes[] = { 1000, 1, 187, 1316, 189, 93, 500, 376, 1315, 7 };
  g_autofree char *pid = publish_id ("cut", "alice");
  g_autoptr(GByteArray) ts = syn_stream (30);
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  gsize cut = (10 * (SYN_GOP_PACKETS + 3) + 30) * TETHER_TS_PACKET_SIZE;
  SRTSOCKET player = connect_waiting_player (fx, "cut");
  SRTSOCKET publisher = raw_connect (fx->port, pid, FALSE, NULL);
  guint received, foreign;
  gsize off = 0;

  g_assert_cmpint (publisher, !=, SRT_INVALID_SOCK);
  /* One packet in the middle of a GOP keeps only its first 100 bytes. */
  g_byte_array_append (wire, ts->data, cut + 100);
  g_byte_array_append (wire, ts->data + cut + TETHER_TS_PACKET_SIZE, ts->len - cut - TETHER_TS_PACKET_SIZE);
  for (guint n = 0; off < wire->len; n++)
    {
      gsize len = MIN (sizes[n % G_N_ELEMENTS (sizes)], wire->len - off);

      g_assert_cmpint (srt_sendmsg2 (publisher, (const char *) wire->data + off, (int) len, NULL), ==, len);
      off += len;
    }

  received = read_until_last (player, ts, &foreign);
  g_test_message ("%u packets sent, %u received, %u not sent", ts->len / TETHER_TS_PACKET_SIZE,
                  received, foreign);
  g_assert_cmpuint (foreign, ==, 0);
  /* All but the short packet, and the next one if its head went to complete the
   * short one before the next sync byte showed; the cached PAT and PMT make up
   * for the first GOP's own, which came before the player started. */
  g_assert_cmpuint (received, >=, ts->len / TETHER_TS_PACKET_SIZE - 2);
  g_assert_cmpuint (received, <, ts->len / TETHER_TS_PACKET_SIZE);
  srt_close (publisher);
  srt_close (player);
}

typedef struct
{
  SRTSOCKET sock;
  GByteArray *wire;
  gsize off;
  TetherUdpFaultProxy *proxy;
  gint64 cut_at;
  gint64 restore_at;
  guint source;
} PacedSender;

/* A live source: one 1316-byte message every 5 ms, the link cut in between. */
static gboolean
paced_send_cb (gpointer data)
{
  PacedSender *ps = data;
  gint64 now = g_get_monotonic_time ();
  gsize len = MIN (7 * TETHER_TS_PACKET_SIZE, ps->wire->len - ps->off);

  if (ps->cut_at != 0 && now >= ps->cut_at)
    {
      tether_udp_fault_proxy_cut (ps->proxy);
      ps->cut_at = 0;
    }
  else if (ps->cut_at == 0 && ps->restore_at != 0 && now >= ps->restore_at)
    {
      tether_udp_fault_proxy_restore (ps->proxy);
      ps->restore_at = 0;
    }

  g_assert_cmpint (srt_sendmsg2 (ps->sock, (const char *) ps->wire->data + ps->off, (int) len, NULL), ==, len);
  ps->off += len;
  if (ps->off < ps->wire->len)
    return G_SOURCE_CONTINUE;
  ps->source = 0;
  return G_SOURCE_REMOVE;
}

/* 1316-byte messages that each start 100 bytes into a packet (what srt-live-transmit
 * makes of a byte stream joined mid-packet), over a link that dies for longer than
 * SRT repairs: SRT gives up on whole messages, so the packet they tear looks whole
 * by its sync bytes. Players must not get it. */
static void
test_lossy_publisher (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(TetherUdpFaultProxy) proxy = tether_udp_fault_proxy_new ("127.0.0.1", fx->port);
  g_autofree char *pid = publish_id ("lossy", "alice");
  g_autoptr(GByteArray) ts = syn_stream (60);
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  SRTSOCKET player = connect_waiting_player (fx, "lossy");
  PacedSender ps = { 0, };
  guint received, foreign;

  ps.sock = raw_connect (tether_udp_fault_proxy_get_port (proxy), pid, FALSE, NULL);
  g_assert_cmpint (ps.sock, !=, SRT_INVALID_SOCK);
  g_byte_array_append (wire, ts->data + 100, ts->len - 100);
  ps.wire = wire;
  ps.proxy = proxy;
  /* libsrt's sender gives up on a message after at least 1 s. */
  ps.cut_at = g_get_monotonic_time () + 400 * G_TIME_SPAN_MILLISECOND;
  ps.restore_at = ps.cut_at + 1600 * G_TIME_SPAN_MILLISECOND;
  ps.source = g_timeout_add (5, paced_send_cb, &ps);
  g_assert_true (TETHER_WAIT_UNTIL (ps.source == 0, 15000));

  received = read_until_last (player, ts, &foreign);
  g_test_message ("%u packets sent, %u received, %u not sent", ts->len / TETHER_TS_PACKET_SIZE,
                  received, foreign);
  g_assert_cmpuint (foreign, ==, 0);
  /* Something was lost for good, or this tested nothing. */
  g_assert_cmpuint (received + 2 * (SYN_GOP_PACKETS + 3), <, ts->len / TETHER_TS_PACKET_SIZE);
  g_clear_handle_id (&ps.source, g_source_remove);
  srt_close (ps.sock);
  srt_close (player);
}

static void
test_rejects (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *expired_token = tether_test_token_full ("alice", NULL,
                                                           TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH,
                                                           NULL, -3600);
  g_autofree char *other_app = tether_token_mint ("other-secret", TETHER_TEST_APP_ID, "alice", NULL,
                                                  TETHER_PRIVILEGE_LOGIN, NULL,
                                                  g_get_real_time () / G_USEC_PER_SEC, 600);
  g_autofree char *login_only = tether_test_token_full ("alice", NULL, TETHER_PRIVILEGE_LOGIN, NULL, 600);
  g_autofree char *bad = stream_id_for ("cam", "request", "not-a-token");
  g_autofree char *forged = stream_id_for ("cam", "request", other_app);
  g_autofree char *expired = stream_id_for ("cam", "publish", expired_token);
  g_autofree char *expired_play = stream_id_for ("cam", "request", expired_token);
  g_autofree char *no_publish = stream_id_for ("cam", "publish", login_only);
  g_autoptr(Player) player = NULL;

  g_assert_cmpint (raw_reject_reason (fx->port, bad), ==, SRT_REJX_UNAUTHORIZED);
  g_assert_cmpint (raw_reject_reason (fx->port, forged), ==, SRT_REJX_UNAUTHORIZED);
  g_assert_cmpint (raw_reject_reason (fx->port, expired), ==, SRT_REJX_UNAUTHORIZED);
  g_assert_cmpint (raw_reject_reason (fx->port, expired_play), ==, SRT_REJX_UNAUTHORIZED);
  g_assert_cmpint (raw_reject_reason (fx->port, no_publish), ==, SRT_REJX_FORBIDDEN);
  g_assert_cmpint (raw_reject_reason (fx->port, "cam"), ==, SRT_REJX_BAD_REQUEST);
  g_assert_cmpint (raw_reject_reason (fx->port, "#!::r=cam,m=watch,t=x"), ==, SRT_REJX_BAD_MODE);
  g_assert_cmpuint (metric (fx, "tether_media_rejects_total"), ==, 7);
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 0);

  /* srtsrc with a bad token never plays. */
  player = player_start (fx->port, expired_play);
  g_assert_true (TETHER_WAIT_UNTIL (metric (fx, "tether_media_rejects_total") > 7, 5000));
  tether_test_run_for (300);
  g_assert_cmpint (player_frames (player), ==, 0);
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 0);
}

/* Encryption (docs/protocol.md, "Media encryption"): an encrypting node takes only
 * callers with their token's passphrase: none is SRT_REJ_UNSECURE, another one
 * SRT_REJ_BADSECRET, even with a valid token. A node with "srt-encryption" off takes
 * only callers without one. The token check still comes first. */
static void
test_encryption (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(TetherRelay) plain = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;
  g_autofree char *vid = play_id ("cam", "bob");
  g_autofree char *other = play_id ("cam", "carol");
  g_autofree char *other_pass = tether_test_stream_id_passphrase (other);
  g_autofree char *bad = stream_id_for ("cam", "request", "not-a-token");
  int reason = -1;
  SRTSOCKET sock;

  g_assert_cmpint (raw_connect_with (fx->port, vid, NULL, FALSE, &reason), ==, SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, SRT_REJ_UNSECURE);
  g_assert_cmpint (raw_connect_with (fx->port, vid, "not-the-passphrase", FALSE, &reason), ==,
                   SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, SRT_REJ_BADSECRET);
  /* Another token's passphrase is another passphrase. */
  g_assert_cmpint (raw_connect_with (fx->port, vid, other_pass, FALSE, &reason), ==, SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, SRT_REJ_BADSECRET);
  g_assert_cmpint (raw_connect_with (fx->port, bad, NULL, FALSE, &reason), ==, SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, SRT_REJX_UNAUTHORIZED);
  g_assert_cmpuint (relay_metric (fx->relay, "tether_media_encrypted_connections_total"), ==, 0);

  sock = raw_connect (fx->port, vid, FALSE, &reason);
  g_assert_cmpint (sock, !=, SRT_INVALID_SOCK);
  srt_close (sock);
  g_assert_true (TETHER_WAIT_UNTIL (relay_metric (fx->relay, "tether_media_encrypted_connections_total") == 1,
                                    5000));
  g_assert_cmpuint (relay_metric (fx->relay, "tether_media_plain_connections_total"), ==, 0);

  g_object_set (plain, "srt-encryption", FALSE, NULL);
  g_assert_true (tether_relay_listen (plain, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (raw_connect (tether_relay_get_port (plain), vid, FALSE, &reason), ==, SRT_INVALID_SOCK);
  g_assert_cmpint (reason, ==, SRT_REJ_UNSECURE);
  sock = raw_connect_with (tether_relay_get_port (plain), vid, NULL, FALSE, &reason);
  g_assert_cmpint (sock, !=, SRT_INVALID_SOCK);
  srt_close (sock);
  g_assert_true (TETHER_WAIT_UNTIL (relay_metric (plain, "tether_media_plain_connections_total") == 1, 5000));
  g_assert_cmpuint (relay_metric (plain, "tether_media_encrypted_connections_total"), ==, 0);
  tether_relay_stop (plain);
}

/* A player that stops reading is dropped; the publisher and the other players go on. */
static void
test_slow_player (Fixture       *fx,
                  gconstpointer  data)
{
  g_autofree char *pid = publish_id ("cam", "alice");
  g_autofree char *vid = play_id ("cam", "bob");
  g_autofree char *slow_id = play_id ("cam", "sloth");
  g_autoptr(Publisher) pub = publisher_start (fx->port, pid);
  g_autoptr(Player) player = NULL;
  SRTSOCKET slow;
  int frames;

  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:cam:alice"), 5000));
  player = player_start (fx->port, vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > 0, 5000));

  slow = raw_connect (fx->port, slow_id, TRUE, NULL);
  g_assert_cmpint (slow, !=, SRT_INVALID_SOCK);
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 2, 3000));

  g_assert_true (TETHER_WAIT_UNTIL (metric (fx, "tether_media_player_drops_total") == 1, 10000));
  g_assert_true (TETHER_WAIT_UNTIL (tether_relay_get_player_count (fx->relay) == 1, 3000));
  g_assert_true (TETHER_WAIT_UNTIL (srt_getsockstate (slow) > SRTS_CONNECTED, PEER_GONE_MS));
  srt_close (slow);

  frames = player_frames (player);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (player) > frames + 30, 5000));
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&pub->errors), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&player->errors), ==, 0);
}

/* Signals, and peers noticing a shutdown at once. */
static void
test_signals_and_stop (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *pid = publish_id ("cam", "alice");
  g_autofree char *pid2 = publish_id ("desk", "dave");
  g_autofree char *vid = play_id ("cam", "bob");
  g_autoptr(Publisher) pub = publisher_start (fx->port, pid);
  g_autoptr(Publisher) pub2 = publisher_start (fx->port, pid2);
  g_autoptr(GByteArray) head = NULL;
  SRTSOCKET raw;

  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "added:cam:alice") && has_event (fx, "added:desk:dave"), 5000));
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 2);

  g_clear_pointer (&pub2, publisher_free);
  g_assert_true (TETHER_WAIT_UNTIL (has_event (fx, "removed:desk:dave:disconnected"), 3000));
  g_assert_cmpuint (tether_relay_get_stream_count (fx->relay), ==, 1);

  raw = raw_connect (fx->port, vid, FALSE, NULL);
  g_assert_cmpint (raw, !=, SRT_INVALID_SOCK);
  head = raw_read (raw, TETHER_TS_PACKET_SIZE);
  g_assert_cmpuint (head->len, >=, TETHER_TS_PACKET_SIZE);
  g_assert_cmpuint (tether_relay_get_player_count (fx->relay), ==, 1);

  tether_relay_stop (fx->relay);
  g_assert_true (has_event (fx, "removed:cam:alice:shutdown"));
  g_assert_cmpuint (tether_relay_get_port (fx->relay), ==, 0);
  /* Peers hear of it at once, not after SRT's peer-idle timeout (5 s). */
  g_assert_true (TETHER_WAIT_UNTIL (srt_getsockstate (raw) > SRTS_CONNECTED, PEER_GONE_MS));
  g_assert_true (TETHER_WAIT_UNTIL (g_atomic_int_get (&pub->errors) + g_atomic_int_get (&pub->warnings) > 0, 3000));
  srt_close (raw);

  /* Stopping twice is harmless; metrics still answer. */
  tether_relay_stop (fx->relay);
  g_assert_cmpuint (metric (fx, "tether_media_streams"), ==, 0);
}

static void
test_two_relays (void)
{
  g_autoptr(TetherRelay) a = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(TetherRelay) b = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
  g_autoptr(GError) error = NULL;
  g_autofree char *vid = play_id ("cam", "bob");
  SRTSOCKET raw;

  g_assert_true (tether_relay_listen (a, "127.0.0.1", 0, &error));
  g_assert_true (tether_relay_listen (b, "127.0.0.1", 0, &error));
  g_assert_false (tether_relay_listen (b, "127.0.0.1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  /* Stopping one leaves libsrt running for the other. */
  tether_relay_stop (a);
  raw = raw_connect (tether_relay_get_port (b), vid, FALSE, NULL);
  g_assert_cmpint (raw, !=, SRT_INVALID_SOCK);
  srt_close (raw);

  /* And a relay listens again after a stop. */
  g_assert_true (tether_relay_listen (a, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  tether_relay_stop (b);
  tether_relay_stop (a);
}

/* ------------------------------------------------------------------------- */
/* The media cascade: three relays, "a", "b" and "c", in-process, over real SRT. The
 * locate func answers what the test says is the origin, as a room service does from
 * its model (tether-server-cascade.c) or from Redis. */

typedef struct
{
  TetherRelay *relays[3];
  const char *origin;      /* the node id the locate func names; NULL: not found */
  gboolean answer_other;   /* a answers "b" and b answers "a": a loop if nodes allowed it */
  const char *room;        /* the stream's room in the answers */
  guint locates;
  TetherUdpFaultProxy *to_a; /* when set, the way to a in the answers */
} Cascade;

static guint16
cascade_port (Cascade    *cx,
              const char *node)
{
  return tether_relay_get_port (cx->relays[node[0] - 'a']);
}

static void
cascade_locate (TetherRelay       *relay,
                TetherRelayLocate *request,
                gpointer           data)
{
  Cascade *cx = data;
  const char *origin = cx->origin;
  g_autofree char *url = NULL;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_assert_nonnull (tether_relay_locate_get_stream_id (request));
  cx->locates++;
  if (cx->answer_other)
    origin = relay == cx->relays[0] ? "b" : "a";
  if (origin != NULL)
    url = g_strdup_printf ("srt://127.0.0.1:%u",
                           cx->to_a != NULL && origin[0] == 'a' ? tether_udp_fault_proxy_get_port (cx->to_a)
                                                                : cascade_port (cx, origin));
  tether_relay_locate_return (request, origin, url, cx->room);
}

static void
cascade_setup (Cascade       *cx,
               gconstpointer  data)
{
  static const char *ids[] = { "a", "b", "c" };

  for (guint i = 0; i < G_N_ELEMENTS (cx->relays); i++)
    {
      g_autoptr(GError) error = NULL;

      cx->relays[i] = tether_relay_new (TETHER_TEST_APP_ID, TETHER_TEST_SECRET);
      g_object_set (cx->relays[i], "latency", LATENCY_MS, "node-id", ids[i], NULL);
      tether_relay_set_locate_func (cx->relays[i], cascade_locate, cx, NULL);
      g_assert_true (tether_relay_listen (cx->relays[i], "127.0.0.1", 0, &error));
      g_assert_no_error (error);
    }
}

static void
cascade_teardown (Cascade       *cx,
                  gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (cx->relays); i++)
    {
      tether_relay_stop (cx->relays[i]);
      g_object_unref (cx->relays[i]);
    }
  g_clear_object (&cx->to_a);
}

static guint64
node_metric (Cascade    *cx,
             const char *node,
             const char *name)
{
  return relay_metric (cx->relays[node[0] - 'a'], name);
}

static gboolean
node_has_metric (Cascade    *cx,
                 const char *node,
                 const char *name)
{
  g_autofree char *text = tether_relay_get_metrics_text (cx->relays[node[0] - 'a']);

  return tether_test_metric (text, name, NULL);
}

#define PULL_LINE "tether_media_stream_pull_connections{stream=\"cam\"}"

/* A player on b of a stream published on a: b pulls it once, however many players,
 * keeps players of other rooms out, and drops the pull after its last player. */
static void
test_cascade_pull (Cascade       *cx,
                   gconstpointer  data)
{
  g_autofree char *pid = publish_id ("cam", "alice");
  g_autofree char *vid = play_id ("cam", "bob");
  g_autofree char *other_room = tether_test_play_stream_id ("cam", "carol", "other", NULL);
  g_autoptr(Publisher) pub = publisher_start (cascade_port (cx, "a"), pid);
  Player *first, *second;

  cx->origin = "a";
  cx->room = "show";
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "a", "tether_media_bytes_in_total") > 20000, 5000));

  first = player_start (cascade_port (cx, "b"), vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (first) > 10, 8000));
  g_test_message ("first frame through the edge %" G_GINT64_FORMAT " ms after the player started",
                  player_first_frame_delay_ms (first));
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_started_total"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", PULL_LINE), ==, 1);
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_pulls_served"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_players"), ==, 1);
  /* The edge's stream is no publisher of its own: no ingest, no stream count. */
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_streams"), ==, 0);

  /* The second player starts on b's GOP cache: no second pull, a sees one player. */
  second = player_start (cascade_port (cx, "b"), vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (second) > 10, 8000));
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_players"), ==, 2);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_started_total"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", PULL_LINE), ==, 1);
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_players"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pull_restarts_total"), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&first->errors), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&second->errors), ==, 0);

  /* The locate func named the stream's room: a token of another room gets nothing. */
  g_assert_false (raw_plays (cascade_port (cx, "b"), other_room));

  /* The last player leaves: the pull goes after its linger, and a sees nobody. */
  player_free (first);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls"), ==, 1);
  player_free (second);
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "b", "tether_media_pulls") == 0, 6000));
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "a", "tether_media_players") == 0, PEER_GONE_MS));
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_pulls_served"), ==, 0);
  g_assert_true (TETHER_WAIT_UNTIL (!node_has_metric (cx, "b", PULL_LINE), 1000));
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_started_total"), ==, 1);
}

/* The origin dies under the stream; the publisher comes back on c and the locate
 * func names c: b pulls from c, and its players see the stream again on the
 * connections they have. @data: the origin is stopped (its connections closed),
 * or, "silent", cut off like a node killed with SIGKILL: nothing arrives any more,
 * and only the pull's own silence check can tell. */
static void
test_cascade_failover (Cascade       *cx,
                       gconstpointer  data)
{
  gboolean silent = g_strcmp0 (data, "silent") == 0;
  g_autofree char *pid = publish_id ("cam", "alice");
  g_autofree char *vid = play_id ("cam", "bob");
  g_autoptr(Publisher) on_a = publisher_start (cascade_port (cx, "a"), pid);
  g_autoptr(Publisher) on_c = NULL;
  g_autoptr(Player) first = NULL;
  g_autoptr(Player) second = NULL;
  guint64 accepted;
  gint64 killed_at;
  int frames_first, frames_second;

  cx->origin = "a";
  if (silent)
    cx->to_a = tether_udp_fault_proxy_new ("127.0.0.1", cascade_port (cx, "a"));
  first = player_start (cascade_port (cx, "b"), vid);
  second = player_start (cascade_port (cx, "b"), vid);
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (first) > 10 && player_frames (second) > 10, 8000));
  accepted = node_metric (cx, "b", "tether_media_encrypted_connections_total");
  g_assert_cmpuint (accepted, ==, 2);

  /* The publisher moves first, as libtether's does when its node dies; then the
   * origin goes, every connection with it. */
  cx->origin = "c";
  on_c = publisher_start (cascade_port (cx, "c"), pid);
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "c", "tether_media_bytes_in_total") > 20000, 5000));
  killed_at = g_get_monotonic_time ();
  if (silent)
    tether_udp_fault_proxy_cut (cx->to_a);
  else
    {
      tether_relay_stop (cx->relays[0]);
      g_clear_pointer (&on_a, publisher_free);
    }
  frames_first = player_frames (first);
  frames_second = player_frames (second);

  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "c", "tether_media_pulls_served") == 1, 10000));
  g_test_message ("b pulls from c %" G_GINT64_FORMAT " ms after a went",
                  (g_get_monotonic_time () - killed_at) / 1000);
  /* Two seconds of video more than was buffered when a went. */
  g_assert_true (TETHER_WAIT_UNTIL (player_frames (first) > frames_first + 60
                                    && player_frames (second) > frames_second + 60, 15000));
  g_test_message ("the players on b had 60 new frames %" G_GINT64_FORMAT " ms after a went",
                  (g_get_monotonic_time () - killed_at) / 1000);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_started_total"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pull_restarts_total"), >=, 1);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "c", "tether_media_pulls_served"), ==, 1);
  /* The same connections: b accepted no new player. */
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_encrypted_connections_total"), ==, accepted);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_players"), ==, 2);
}

/* a's player wants a stream published nowhere, and the locate funcs point a at b and
 * b at a: b refuses a's pull (it has no publisher of its own) and never pulls for it. */
static void
test_cascade_no_loop (Cascade       *cx,
                      gconstpointer  data)
{
  g_autofree char *vid = play_id ("ghost", "bob");
  SRTSOCKET raw;

  cx->answer_other = TRUE;
  raw = raw_connect (cascade_port (cx, "a"), vid, FALSE, NULL);
  g_assert_cmpint (raw, !=, SRT_INVALID_SOCK);
  g_assert_true (TETHER_WAIT_UNTIL (node_metric (cx, "a", "tether_media_pull_restarts_total") >= 2, 8000));
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_pulls"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "a", "tether_media_pulls_started_total"), ==, 1);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_started_total"), ==, 0);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_pulls_served"), ==, 0);
  g_assert_cmpuint (node_metric (cx, "b", "tether_media_rejects_total"), >=, 2);
  srt_close (raw);
}

int
main (int   argc,
      char *argv[])
{

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  tether_media_init (NULL);

  g_test_add_func ("/relay/stream-id", test_stream_id_access);
  g_test_add ("/relay/play", Fixture, NULL, fixture_setup, test_play, fixture_teardown);
  g_test_add ("/relay/player-before-publisher", Fixture, NULL, fixture_setup,
              test_player_before_publisher, fixture_teardown);
  g_test_add ("/relay/publish-conflict", Fixture, NULL, fixture_setup, test_publish_conflict, fixture_teardown);
  g_test_add ("/relay/cross-room-play", Fixture, NULL, fixture_setup, test_cross_room_play, fixture_teardown);
  g_test_add ("/relay/hijack", Fixture, NULL, fixture_setup, test_hijack, fixture_teardown);
  g_test_add ("/relay/claim", Fixture, NULL, fixture_setup, test_claim, fixture_teardown);
  g_test_add ("/relay/plain-gst-publisher", Fixture, NULL, fixture_setup, test_plain_gst_publisher,
              fixture_teardown);
  g_test_add ("/relay/unaligned-publisher", Fixture, NULL, fixture_setup, test_unaligned_publisher,
              fixture_teardown);
  g_test_add ("/relay/lossy-publisher", Fixture, NULL, fixture_setup, test_lossy_publisher,
              fixture_teardown);
  g_test_add ("/relay/rejects", Fixture, NULL, fixture_setup, test_rejects, fixture_teardown);
  g_test_add ("/relay/encryption", Fixture, NULL, fixture_setup, test_encryption, fixture_teardown);
  g_test_add ("/relay/slow-player", Fixture, NULL, fixture_setup, test_slow_player, fixture_teardown);
  g_test_add ("/relay/signals-and-stop", Fixture, NULL, fixture_setup, test_signals_and_stop, fixture_teardown);
  g_test_add_func ("/relay/two-relays", test_two_relays);
  g_test_add ("/relay/cascade/pull", Cascade, NULL, cascade_setup, test_cascade_pull, cascade_teardown);
  g_test_add ("/relay/cascade/failover", Cascade, NULL, cascade_setup, test_cascade_failover,
              cascade_teardown);
  g_test_add ("/relay/cascade/failover-silent", Cascade, "silent", cascade_setup,
              test_cascade_failover, cascade_teardown);
  g_test_add ("/relay/cascade/no-loop", Cascade, NULL, cascade_setup, test_cascade_no_loop,
              cascade_teardown);

  return g_test_run ();
}
