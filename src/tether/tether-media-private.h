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
#include "tether-room.h"

G_BEGIN_DECLS

/*
 * Why libsrt and not srtsink/srtsrc: on GStreamer 1.22 neither element tells which
 * reject reason a node sent (401 bad token vs 409 stream id taken are different
 * user-facing errors), srtsink drops buffers flagged HEADER, gives up for good when
 * the first connect fails, and cannot change its uri outside NULL/READY. A link is
 * one connection attempt: a thread connects, then (player) receives into an appsrc
 * or (publisher) watches the socket while the appsink's streaming thread sends.
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

typedef enum
{
  TETHER_SRT_LINK_CONNECTED,   /* the handshake succeeded */
  TETHER_SRT_LINK_FAILED,      /* the connect failed; "reject" holds the reason */
  TETHER_SRT_LINK_BROKEN,      /* an established connection broke */
  TETHER_SRT_LINK_FIRST_DATA,  /* the first payload went out / came in */
} TetherSrtLinkEvent;

typedef struct
{
  gatomicrefcount ref;
  guint generation;           /* the owner's attempt number, echoed in messages */
  gboolean receiver;
  char *host;
  guint16 port;
  char *streamid;
  int latency_ms;
  int connect_timeout_ms;
  int peer_idle_ms;
  int stall_ms;               /* sender: no ACK for this long is a break; 0 = off */
  GstElement *poster;         /* messages are posted from this element; owns a ref */
  GstElement *appsrc;         /* receiver: where payloads go; owns a ref, or NULL */

  GMutex lock;
  SRTSOCKET sock;             /* under lock; only the link thread creates and closes it */
  gint stop;                  /* atomic */
  gint up;                    /* atomic: connected and not broken */
  gint first_data;            /* atomic: FIRST_DATA was posted */
  gint broken;                /* atomic: BROKEN was posted */
  gint64 bytes;               /* under lock */
} TetherSrtLink;

/* `#!::r=<stream id>,m=publish|request,t=<token>`, the SRT access-control syntax. */
static inline char *
tether_media_build_stream_id (const char *stream_id,
                              const char *mode,
                              const char *token)
{
  GString *s = g_string_new ("#!::r=");

  g_string_append (s, stream_id);
  g_string_append (s, ",m=");
  g_string_append (s, mode);
  if (token != NULL && *token != '\0')
    {
      g_string_append (s, ",t=");
      g_string_append (s, token);
    }
  return g_string_free (s, FALSE);
}

/* Splits `srt://host:port[?…]` into its host and port. */
static inline gboolean
tether_media_parse_srt_url (const char  *url,
                            char       **host,
                            guint16     *port,
                            GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "srt") != 0
      || g_uri_get_host (uri) == NULL || g_uri_get_port (uri) <= 0 || g_uri_get_port (uri) > 65535)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MEDIA_NODE_UNREACHABLE,
                   "media node URL “%s” is not srt://host:port", url ? url : "");
      return FALSE;
    }
  *host = g_strdup (g_uri_get_host (uri));
  *port = (guint16) g_uri_get_port (uri);
  return TRUE;
}

/* The room's media nodes, @first (when known) leading, then the rest in order. */
static inline GStrv
tether_media_node_order (TetherRoom *room,
                         const char *first)
{
  g_auto(GStrv) ids = tether_room_dup_media_node_ids (room);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  if (first != NULL && *first != '\0' && g_strv_contains ((const char * const *) ids, first))
    g_strv_builder_add (b, first);
  for (guint i = 0; ids[i] != NULL; i++)
    if (g_strcmp0 (ids[i], first) != 0)
      g_strv_builder_add (b, ids[i]);
  return g_strv_builder_end (b);
}

static inline gboolean
tether_media_element_exists (const char *factory)
{
  g_autoptr(GstElementFactory) f = gst_element_factory_find (factory);

  return f != NULL;
}

/* The first of @factories that is installed, or NULL. */
static inline const char *
tether_media_pick_element (const char * const *factories)
{
  for (guint i = 0; factories[i] != NULL; i++)
    if (tether_media_element_exists (factories[i]))
      return factories[i];
  return NULL;
}

/* Whether an SRT reject reason is final: retrying cannot help. */
static inline gboolean
tether_media_reject_is_steady (int reject)
{
  return reject == SRT_REJX_UNAUTHORIZED || reject == SRT_REJX_FORBIDDEN
         || reject == SRT_REJX_CONFLICT || reject == SRT_REJX_BAD_REQUEST
         || reject == SRT_REJX_BAD_MODE;
}

/* `{"stream_id": …, "node": …, "attempt": …, "reject": …, "message": …}` */
static inline char *
tether_media_extended_data (const char *stream_id,
                            const char *node,
                            guint       attempt,
                            int         reject,
                            const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "stream_id");
  json_builder_add_string_value (b, stream_id);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, node ? node : "");
  json_builder_set_member_name (b, "attempt");
  json_builder_add_int_value (b, attempt);
  if (reject != 0)
    {
      json_builder_set_member_name (b, "reject");
      json_builder_add_int_value (b, reject);
    }
  if (message != NULL)
    {
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, message);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* A random delay in [min, max] seconds, as milliseconds. */
static inline guint
tether_media_jitter_ms (double min,
                        double max)
{
  if (max < min)
    max = min;
  return (guint) (1000.0 * g_random_double_range (min, max + 1e-9));
}

/* Timers live on the owner's context, not the global default one: a GSource that
 * the owner keeps and destroys, since g_source_remove() only knows the default. */
static inline GSource *
tether_media_timeout_source (GMainContext *context,
                             guint         ms,
                             GSourceFunc   func,
                             gpointer      data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, context);
  return source;
}

static inline void
tether_media_clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* A watch on @pipeline's bus, dispatched on @context. */
static inline GSource *
tether_media_bus_source (GstElement   *pipeline,
                         GMainContext *context,
                         GstBusFunc    func,
                         gpointer      data)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);
  GSource *source = gst_bus_create_watch (bus);

  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) func, data, NULL);
  g_source_attach (source, context);
  return source;
}

/* ---- the link ------------------------------------------------------------ */

static inline TetherSrtLink *
tether_srt_link_ref (TetherSrtLink *link)
{
  g_atomic_ref_count_inc (&link->ref);
  return link;
}

static inline void
tether_srt_link_unref (TetherSrtLink *link)
{
  if (!g_atomic_ref_count_dec (&link->ref))
    return;
  g_assert (link->sock == SRT_INVALID_SOCK);
  g_free (link->host);
  g_free (link->streamid);
  g_clear_object (&link->poster);
  g_clear_object (&link->appsrc);
  g_mutex_clear (&link->lock);
  g_free (link);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherSrtLink, tether_srt_link_unref)

static inline void
tether_srt_link_post (TetherSrtLink      *link,
                      TetherSrtLinkEvent  event,
                      int                 reject,
                      const char         *message)
{
  GstStructure *s = gst_structure_new (TETHER_MEDIA_MESSAGE,
                                       "event", G_TYPE_INT, (int) event,
                                       "generation", G_TYPE_UINT, link->generation,
                                       "reject", G_TYPE_INT, reject,
                                       "message", G_TYPE_STRING, message ? message : "",
                                       NULL);

  gst_element_post_message (link->poster,
                            gst_message_new_application (GST_OBJECT (link->poster), s));
}

/* Reads a TETHER_MEDIA_MESSAGE; FALSE for any other message. */
static inline gboolean
tether_srt_link_parse_message (GstMessage         *message,
                               TetherSrtLinkEvent *event,
                               guint              *generation,
                               int                *reject,
                               const char        **text)
{
  const GstStructure *s;
  int ev = 0;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_APPLICATION)
    return FALSE;
  s = gst_message_get_structure (message);
  if (s == NULL || !gst_structure_has_name (s, TETHER_MEDIA_MESSAGE))
    return FALSE;
  gst_structure_get_int (s, "event", &ev);
  gst_structure_get_uint (s, "generation", generation);
  gst_structure_get_int (s, "reject", reject);
  *text = gst_structure_get_string (s, "message");
  *event = (TetherSrtLinkEvent) ev;
  return TRUE;
}

static inline void
tether_srt_link_broke (TetherSrtLink *link,
                       const char    *why)
{
  g_atomic_int_set (&link->up, 0);
  if (!g_atomic_int_get (&link->stop) && g_atomic_int_compare_and_exchange (&link->broken, 0, 1))
    tether_srt_link_post (link, TETHER_SRT_LINK_BROKEN, 0, why);
}

/* Publisher side, called from the appsink's streaming thread: sends one buffer, or
 * drops it while the link is not up (live media has no use for old data). */
static inline void
tether_srt_link_send (TetherSrtLink *link,
                      GstBuffer     *buffer)
{
  GstMapInfo map;
  gboolean sent = FALSE;
  gboolean failed = FALSE;

  if (!g_atomic_int_get (&link->up) || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return;

  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    {
      for (gsize off = 0; off < map.size; off += TETHER_MEDIA_SRT_PAYLOAD)
        {
          int len = (int) MIN ((gsize) TETHER_MEDIA_SRT_PAYLOAD, map.size - off);

          if (srt_sendmsg2 (link->sock, (const char *) map.data + off, len, NULL) == SRT_ERROR)
            {
              /* A full send buffer only costs this packet; anything else is a break. */
              failed = srt_getlasterror (NULL) != SRT_EASYNCSND;
              break;
            }
          link->bytes += len;
          sent = TRUE;
        }
    }
  g_mutex_unlock (&link->lock);
  gst_buffer_unmap (buffer, &map);

  if (failed)
    tether_srt_link_broke (link, srt_getlasterror_str ());
  else if (sent && g_atomic_int_compare_and_exchange (&link->first_data, 0, 1))
    tether_srt_link_post (link, TETHER_SRT_LINK_FIRST_DATA, 0, NULL);
}

static inline SRTSOCKET
tether_srt_link_connect (TetherSrtLink *link,
                         int           *reject,
                         char         **message)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *res = NULL;
  g_autofree char *port = g_strdup_printf ("%u", link->port);
  SRTSOCKET sock;
  int yes = 1, no = 0;
  int rc;

  *reject = 0;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  rc = getaddrinfo (link->host, port, &hints, &res);
  if (rc != 0 || res == NULL)
    {
      *message = g_strdup_printf ("cannot resolve %s: %s", link->host, gai_strerror (rc));
      return SRT_INVALID_SOCK;
    }

  sock = srt_create_socket ();
  if (sock == SRT_INVALID_SOCK)
    {
      freeaddrinfo (res);
      *message = g_strdup (srt_getlasterror_str ());
      return SRT_INVALID_SOCK;
    }
  /* Published at once so that tether_srt_link_stop() can interrupt the connect. */
  g_mutex_lock (&link->lock);
  link->sock = sock;
  if (g_atomic_int_get (&link->stop))
    {
      srt_close (sock);
      link->sock = SRT_INVALID_SOCK;
    }
  g_mutex_unlock (&link->lock);

  /* Live mode defaults; a short connect timeout and peer-idle timeout so that a dead
   * node is noticed and the next one tried quickly. */
  srt_setsockflag (sock, SRTO_SENDER, link->receiver ? &no : &yes, sizeof (int));
  srt_setsockflag (sock, SRTO_LATENCY, &link->latency_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_CONNTIMEO, &link->connect_timeout_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_PEERIDLETIMEO, &link->peer_idle_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_STREAMID, link->streamid, (int) strlen (link->streamid));
  if (link->receiver)
    {
      int rcvtimeo = 100;  /* so the thread sees a stop request soon */

      srt_setsockflag (sock, SRTO_RCVTIMEO, &rcvtimeo, sizeof (int));
    }
  else
    {
      int sndsyn = 0;  /* a slow network must never stall the encoder */

      srt_setsockflag (sock, SRTO_SNDSYN, &sndsyn, sizeof (int));
    }

  if (srt_connect (sock, res->ai_addr, (int) res->ai_addrlen) == SRT_ERROR)
    {
      *reject = srt_getrejectreason (sock);
      if (*reject < SRT_REJC_PREDEFINED)
        *reject = 0;   /* a libsrt-internal reason (timeout, no listener): not a verdict */
      *message = g_strdup_printf ("%s (%s)", srt_getlasterror_str (),
                                  srt_rejectreason_str (srt_getrejectreason (sock)));
      g_mutex_lock (&link->lock);
      if (link->sock == sock)
        {
          srt_close (sock);
          link->sock = SRT_INVALID_SOCK;
        }
      g_mutex_unlock (&link->lock);
      freeaddrinfo (res);
      return SRT_INVALID_SOCK;
    }
  freeaddrinfo (res);
  return sock;
}

static inline gpointer
tether_srt_link_thread (gpointer data)
{
  g_autoptr(TetherSrtLink) link = data;
  g_autofree char *message = NULL;
  int reject = 0;
  SRTSOCKET sock;
  int last_acks = -1;
  gint64 last_ack_at = g_get_monotonic_time ();

  sock = tether_srt_link_connect (link, &reject, &message);
  if (sock == SRT_INVALID_SOCK)
    {
      if (!g_atomic_int_get (&link->stop))
        tether_srt_link_post (link, TETHER_SRT_LINK_FAILED, reject, message);
      srt_cleanup ();
      return NULL;
    }
  if (g_atomic_int_get (&link->stop))
    goto out;

  g_atomic_int_set (&link->up, 1);
  last_ack_at = g_get_monotonic_time ();
  if (!g_atomic_int_get (&link->stop))
    tether_srt_link_post (link, TETHER_SRT_LINK_CONNECTED, 0, NULL);

  while (!g_atomic_int_get (&link->stop))
    {
      if (link->receiver)
        {
          char buf[1500];
          int n = srt_recvmsg (sock, buf, sizeof buf);

          if (n > 0)
            {
              GstBuffer *buffer = gst_buffer_new_memdup (buf, n);

              g_mutex_lock (&link->lock);
              link->bytes += n;
              g_mutex_unlock (&link->lock);
              if (g_atomic_int_compare_and_exchange (&link->first_data, 0, 1))
                tether_srt_link_post (link, TETHER_SRT_LINK_FIRST_DATA, 0, NULL);
              gst_app_src_push_buffer (GST_APP_SRC (link->appsrc), buffer);
            }
          else if (n == SRT_ERROR && srt_getlasterror (NULL) != SRT_EASYNCRCV
                   && srt_getlasterror (NULL) != SRT_ETIMEOUT)
            {
              /* SRTO_RCVTIMEO expiring is ETIMEOUT: only a chance to look at `stop`. */
              tether_srt_link_broke (link, srt_getlasterror_str ());
              break;
            }
        }
      else
        {
          SRT_SOCKSTATUS st = srt_getsockstate (sock);
          SRT_TRACEBSTATS perf;
          gint64 now = g_get_monotonic_time ();

          if (st != SRTS_CONNECTED)
            {
              tether_srt_link_broke (link, "connection lost");
              break;
            }
          /* libsrt calls a silent peer dead only after ~5 s; a receiver acknowledges
           * every 10 ms, so a second without any acknowledgement is a break. */
          if (srt_bstats (sock, &perf, 0) == 0 && perf.pktRecvACKTotal != last_acks)
            {
              last_acks = perf.pktRecvACKTotal;
              last_ack_at = now;
            }
          else if (link->stall_ms > 0 && now - last_ack_at > (gint64) link->stall_ms * 1000)
            {
              tether_srt_link_broke (link, "no acknowledgement from the media node");
              break;
            }
          g_usleep (20 * 1000);
        }
    }

out:
  g_atomic_int_set (&link->up, 0);
  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    srt_close (link->sock);
  link->sock = SRT_INVALID_SOCK;
  g_mutex_unlock (&link->lock);
  /* Balances the srt_startup() of tether_srt_link_start(): libsrt counts its users
   * and shuts its own threads down with the last one, before the process exits. */
  srt_cleanup ();
  return NULL;
}

/* Starts an attempt: a detached thread owns a reference until it is done. */
static inline TetherSrtLink *
tether_srt_link_start (guint        generation,
                       gboolean     receiver,
                       const char  *host,
                       guint16      port,
                       const char  *streamid,
                       int          latency_ms,
                       int          connect_timeout_ms,
                       int          peer_idle_ms,
                       int          stall_ms,
                       GstElement  *poster,
                       GstElement  *appsrc)
{
  TetherSrtLink *link = g_new0 (TetherSrtLink, 1);

  srt_startup ();
  g_atomic_ref_count_init (&link->ref);
  g_mutex_init (&link->lock);
  link->generation = generation;
  link->receiver = receiver;
  link->host = g_strdup (host);
  link->port = port;
  link->streamid = g_strdup (streamid);
  link->latency_ms = latency_ms;
  link->connect_timeout_ms = connect_timeout_ms;
  link->peer_idle_ms = peer_idle_ms;
  link->stall_ms = stall_ms;
  link->poster = gst_object_ref (poster);
  link->appsrc = appsrc ? gst_object_ref (appsrc) : NULL;
  link->sock = SRT_INVALID_SOCK;

  g_thread_unref (g_thread_new (receiver ? "tether-srt-rx" : "tether-srt-tx",
                                tether_srt_link_thread, tether_srt_link_ref (link)));
  return link;
}

/* Ends the attempt: the socket is closed at once and the thread, woken, exits.
 * Safe to call more than once. */
static inline void
tether_srt_link_stop (TetherSrtLink *link)
{
  g_atomic_int_set (&link->stop, 1);
  g_atomic_int_set (&link->up, 0);
  /* Closing wakes a thread blocked in srt_connect() or srt_recvmsg() now. */
  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    srt_close (link->sock);
  link->sock = SRT_INVALID_SOCK;
  g_mutex_unlock (&link->lock);
}

static inline gint64
tether_srt_link_get_bytes (TetherSrtLink *link)
{
  gint64 bytes;

  g_mutex_lock (&link->lock);
  bytes = link->bytes;
  g_mutex_unlock (&link->lock);
  return bytes;
}

/* Fills @perf from the live socket; FALSE when there is none. */
static inline gboolean
tether_srt_link_get_stats (TetherSrtLink      *link,
                           SRT_TRACEBSTATS    *perf)
{
  gboolean ok = FALSE;

  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    ok = srt_bstats (link->sock, perf, 0) == 0;
  g_mutex_unlock (&link->lock);
  return ok;
}

G_END_DECLS
