/* tether-srt-link.c: one SRT connection attempt in a thread of its own, reporting on
 * the pipeline's bus (tether-media-private.h says why libsrt and not srtsrc/srtsink)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-media-private.h"

/* ---- the link ------------------------------------------------------------ */

TetherSrtLink *
tether_srt_link_ref (TetherSrtLink *link)
{
  g_atomic_ref_count_inc (&link->ref);
  return link;
}

void
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

void
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
gboolean
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

static void
tether_srt_link_broke (TetherSrtLink *link,
                       const char    *why)
{
  g_atomic_int_set (&link->up, 0);
  if (!g_atomic_int_get (&link->stop) && g_atomic_int_compare_and_exchange (&link->broken, 0, 1))
    tether_srt_link_post (link, TETHER_SRT_LINK_BROKEN, 0, why);
}

/* Publisher side, called from the appsink's streaming thread: sends one buffer, or
 * drops it while the link is not up (live media has no use for old data). */
void
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

static SRTSOCKET
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

static gpointer
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

              last_ack_at = g_get_monotonic_time ();

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
          else if (link->stall_ms > 0
                   && g_get_monotonic_time () - last_ack_at > (gint64) link->stall_ms * 1000)
            {
              /* libsrt calls a silent peer dead only after seconds. */
              tether_srt_link_broke (link, "no data from the media node");
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
TetherSrtLink *
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
void
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

gint64
tether_srt_link_get_bytes (TetherSrtLink *link)
{
  gint64 bytes;

  g_mutex_lock (&link->lock);
  bytes = link->bytes;
  g_mutex_unlock (&link->lock);
  return bytes;
}

/* Fills @perf from the live socket; FALSE when there is none. */
gboolean
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
