/* tether-media-private.h: what TetherPublisher and TetherPlayer share — SRT stream ids,
 * node lists, reject codes and the SRT link that runs in a thread of its own
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>
#include <netdb.h>
#include <sys/socket.h>

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <json-glib/json-glib.h>
#include <srt/srt.h>
#include <srt/access_control.h>

#include "tether-error.h"
#include "tether-media.h"
#include "tether-media-session.h"
#include "tether-room.h"
#include "tether-srt-url.h"

G_BEGIN_DECLS

/*
 * Why libsrt and not srtsink/srtsrc: on GStreamer 1.22 neither element tells which
 * reject reason a node sent (401 bad token vs 409 stream id taken are different
 * user-facing errors), srtsink drops buffers flagged HEADER, gives up for good when
 * the first connect fails, and cannot change its uri outside NULL/READY. A link is
 * one connection attempt: a thread connects, then (player) receives into an appsrc
 * or (publisher) watches the socket while the appsink's streaming thread sends; it
 * waits on a libsrt epoll that a stop request wakes, and stop joins it.
 * The thread never touches GObject state: it posts "tether-srt" application
 * messages on the pipeline's bus, which a bus watch on the owner's main context
 * turns into state changes.
 *
 * One libsrt per process: libavformat (gst-libav) links libsrt-gnutls while the
 * `srt` pkg-config of libsrt-openssl-dev gives libsrt.so; with both loaded their
 * C++ statics interpose and are destroyed twice at exit (a crash in __cxa_finalize).
 * Hence the media code prefers elements outside gst-libav; building against
 * libsrt-gnutls-dev removes the problem for good.
 */

/* Live-mode payload: 7 TS packets, what mpegtsmux alignment=7 produces. */
#define TETHER_MEDIA_SRT_PAYLOAD 1316
#define TETHER_MEDIA_MESSAGE "tether-srt"
/* PES packets of this many PIDs at once are followed to their end (video, audio, ...). */
#define TETHER_MEDIA_PES_SLOTS 8

typedef enum
{
  TETHER_SRT_LINK_CONNECTED,  /* the handshake succeeded */
  TETHER_SRT_LINK_FAILED,     /* the connect failed; "reject" holds the reason */
  TETHER_SRT_LINK_BROKEN,     /* an established connection broke */
  TETHER_SRT_LINK_FIRST_DATA, /* the first payload went out / came in */
} TetherSrtLinkEvent;

typedef struct
{
  gatomicrefcount ref;
  guint generation; /* the owner's attempt number, echoed in messages */
  gboolean receiver;
  char *host;
  guint16 port;
  char *streamid;
  char *passphrase;   /* NULL: the node does not encrypt */
  int latency_ms;
  int connect_timeout_ms;
  int peer_idle_ms;
  int stall_ms;       /* sender: no ACK for this long is a break; 0 = off */
  GstElement *poster; /* messages are posted from this element; owns a ref */
  GstElement *appsrc; /* receiver: where payloads go; owns a ref, or NULL */

  GThread *thread;           /* owner's thread: joined by tether_srt_link_stop() */
  GCancellable *cancellable; /* a stop request cancels the name lookup */
  int wake[2];               /* a pipe in the link's epoll: a stop request writes to it */

  GMutex lock;
  SRTSOCKET sock;  /* under lock; only the link thread creates and closes it */
  gint stop;       /* atomic */
  gint up;         /* atomic: connected and not broken */
  gint first_data; /* atomic: FIRST_DATA was posted */
  gint broken;     /* atomic: BROKEN was posted */
  gint64 bytes;    /* under lock */

  /* sender, under lock: TS packets waiting to fill a message (tether_srt_link_send) */
  guint8 pending[TETHER_MEDIA_SRT_PAYLOAD];
  gsize pending_len;
  struct { guint16 pid; gint32 left; } pes[TETHER_MEDIA_PES_SLOTS]; /* bytes left, 0: none */
} TetherSrtLink;

/* tether-media.c */
gboolean tether_media_parse_srt_url (const char *url, char **host, guint16 *port, GError **error);
GStrv tether_media_node_order (TetherRoom *room, const char *first);
gboolean tether_media_element_exists (const char *factory);
const char *tether_media_pick_element (const char *const *factories);
gboolean tether_media_reject_is_steady (int reject);
gboolean tether_media_reject_is_encryption (int reject);
char *tether_media_extended_data (const char *stream_id, const char *node, guint attempt,
                                  int reject, const char *message);
double tether_media_jitter (double min, double max);
GSource *tether_media_timeout_source (GMainContext *context, double seconds, GSourceFunc func,
                                      gpointer data);
void tether_media_clear_source (GSource **source);
GSource *tether_media_bus_source (GstElement *pipeline, GMainContext *context, GstBusFunc func,
                                  gpointer data);

/* tether-srt-link.c */
TetherSrtLink *tether_srt_link_ref (TetherSrtLink *link);
void tether_srt_link_unref (TetherSrtLink *link);
void tether_srt_link_post (TetherSrtLink *link, TetherSrtLinkEvent event, int reject,
                           const char *message);
gboolean tether_srt_link_parse_message (GstMessage *message, TetherSrtLinkEvent *event,
                                        guint *generation, int *reject, const char **text);
void tether_srt_link_send (TetherSrtLink *link, GstBuffer *buffer);
TetherSrtLink *tether_srt_link_start (guint generation, gboolean receiver, const char *host,
                                      guint16 port, const char *streamid,
                                      const char *passphrase, int latency_ms,
                                      int connect_timeout_ms, int peer_idle_ms, int stall_ms,
                                      GstElement *poster, GstElement *appsrc);
void tether_srt_link_stop (TetherSrtLink *link);
gint64 tether_srt_link_get_bytes (TetherSrtLink *link);
gboolean tether_srt_link_get_stats (TetherSrtLink *link, SRT_TRACEBSTATS *perf);

/* tether-media-session.c: what a subclass tells the base, once, in its class_init */
typedef struct
{
  gboolean receiver;                  /* plays ("request") rather than publishes */
  int denied_error;                   /* a steady SRT reject */
  int taken_error;                    /* SRT_REJX_CONFLICT: the stream id is someone else's */
  int retry_timeout_error;            /* av_retry_time ran out */
  const char *retry_timeout_message;
} TetherMediaSessionInfo;

void tether_media_session_class_set_info (TetherMediaSessionClass      *klass,
                                          const TetherMediaSessionInfo *info,
                                          GParamSpec                   *state_pspec,
                                          guint                         state_changed_signal);
gboolean tether_media_session_start_walk (TetherMediaSession *self);
void tether_media_session_give_up (TetherMediaSession *self, int error_code, int reject,
                                   const char *message, const char *reason);
void tether_media_session_media_break (TetherMediaSession *self, gboolean from_preferred,
                                       const char *why);
void tether_media_session_succeeded (TetherMediaSession *self);
gboolean tether_media_session_follows_edge (TetherMediaSession *self);
void tether_media_session_watch_bus (TetherMediaSession *self, GstElement *pipeline);
void tether_media_session_shutdown (TetherMediaSession *self);
guint tether_media_session_get_generation (TetherMediaSession *self);
TetherSrtLink *tether_media_session_get_link (TetherMediaSession *self);
double tether_media_session_get_stall_timeout (TetherMediaSession *self);
guint tether_media_session_get_latency (TetherMediaSession *self);

G_END_DECLS
