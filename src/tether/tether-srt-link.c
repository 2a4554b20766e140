/* tether-srt-link.c: one SRT connection attempt in a joinable thread of its own that
 * waits on a libsrt epoll (the socket plus a wake-up pipe) and reports on the
 * pipeline's bus (tether-media-private.h says why libsrt and not srtsrc/srtsink)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "tether-media-private.h"
#include "tether-srt-url-private.h"

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
  if (link->thread != NULL)
    tether_srt_link_stop (link);
  g_assert (link->sock == SRT_INVALID_SOCK);
  g_close (link->wake[0], NULL);
  g_close (link->wake[1], NULL);
  g_clear_object (&link->cancellable);
  g_free (link->host);
  g_free (link->streamid);
  tether_srt_passphrase_free (link->passphrase);
  g_clear_object (&link->poster);
  g_clear_object (&link->appsrc);
  g_mutex_clear (&link->lock);
  g_free (link);
}

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

#define TS_PACKET 188

/* link->lock held. Sends what is pending as one message; FALSE on a break. */
static gboolean
link_flush (TetherSrtLink *link,
            gboolean      *sent)
{
  int r;

  if (link->pending_len == 0)
    return TRUE;
  r = srt_sendmsg2 (link->sock, (const char *) link->pending, (int) link->pending_len, NULL);
  if (r == SRT_ERROR)
    {
      link->pending_len = 0;
      /* A full send buffer only costs this message; anything else is a break. */
      return srt_getlasterror (NULL) == SRT_EASYNCSND;
    }
  link->bytes += link->pending_len;
  link->pending_len = 0;
  *sent = TRUE;
  return TRUE;
}

/* link->lock held. Follows each PID's PES packet by its declared length (mpegtsmux
 * and ffmpeg declare it up to 64 KiB); TRUE when @packet ends one. */
static gboolean
link_pes_ends (TetherSrtLink *link,
               const guint8  *packet)
{
  guint16 pid = ((packet[1] & 0x1f) << 8) | packet[2];
  gboolean start = (packet[1] & 0x40) != 0;
  int afc = (packet[3] >> 4) & 3;
  gsize off = 4;
  guint slot = G_N_ELEMENTS (link->pes);

  if (afc & 2)
    off += 1 + packet[4];
  if (!(afc & 1) || off >= TS_PACKET)
    return FALSE;   /* no payload */
  for (guint i = 0; i < G_N_ELEMENTS (link->pes); i++)
    if (link->pes[i].left > 0 && link->pes[i].pid == pid)
      slot = i;
  if (start)
    {
      const guint8 *pes = packet + off;
      gint32 len;

      if (slot == G_N_ELEMENTS (link->pes))
        for (guint i = 0; i < G_N_ELEMENTS (link->pes) && slot == G_N_ELEMENTS (link->pes); i++)
          if (link->pes[i].left <= 0)
            slot = i;
      if (slot == G_N_ELEMENTS (link->pes))
        return FALSE;
      link->pes[slot].left = 0;
      /* a PES start code and a declared length (0: unbounded, followed no further) */
      if (TS_PACKET - off < 6 || pes[0] != 0 || pes[1] != 0 || pes[2] != 1)
        return FALSE;
      len = (pes[4] << 8) | pes[5];
      if (len == 0)
        return FALSE;
      link->pes[slot].pid = pid;
      link->pes[slot].left = len - (gint32) (TS_PACKET - off - 6);
      return link->pes[slot].left <= 0;
    }
  if (slot == G_N_ELEMENTS (link->pes))
    return FALSE;
  link->pes[slot].left -= (gint32) (TS_PACKET - off);
  return link->pes[slot].left <= 0;
}

/* Publisher side, called from the appsink's streaming thread: sends a buffer of the
 * publisher's MPEG-TS, or drops it while the link is not up (live media has no use for
 * old data). Whole TS packets are packed into messages
 * of up to 7 (1316 bytes), and a message leaves early when a packet ends a PES packet
 * (a picture, an audio frame): mpegtsmux alignment=0 hands over one packet at a time,
 * and alignment=7 held a picture's last packets until the next picture filled the 7,
 * a frame interval of latency. Anything else is cut into 1316-byte messages as it is. */
void
tether_srt_link_send (TetherSrtLink *link,
                      GstBuffer     *buffer)
{
  GstMapInfo map;
  gboolean sent = FALSE;
  gboolean ok = TRUE;

  if (!g_atomic_int_get (&link->up) || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return;

  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    {
      gboolean packets = map.size % TS_PACKET == 0;

      for (gsize off = 0; packets && off < map.size; off += TS_PACKET)
        packets = map.data[off] == 0x47;
      for (gsize off = 0; ok && packets && off < map.size; off += TS_PACKET)
        {
          memcpy (link->pending + link->pending_len, map.data + off, TS_PACKET);
          link->pending_len += TS_PACKET;
          if (link_pes_ends (link, map.data + off) || link->pending_len == sizeof link->pending)
            ok = link_flush (link, &sent);
        }
      if (!packets)
        ok = link_flush (link, &sent);
      for (gsize off = 0; ok && !packets && off < map.size; off += TETHER_MEDIA_SRT_PAYLOAD)
        {
          int len = (int) MIN ((gsize) TETHER_MEDIA_SRT_PAYLOAD, map.size - off);

          if (srt_sendmsg2 (link->sock, (const char *) map.data + off, len, NULL) == SRT_ERROR)
            {
              ok = srt_getlasterror (NULL) == SRT_EASYNCSND;
              break;
            }
          link->bytes += len;
          sent = TRUE;
        }
    }
  g_mutex_unlock (&link->lock);
  gst_buffer_unmap (buffer, &map);

  if (!ok)
    tether_srt_link_broke (link, srt_getlasterror_str ());
  else if (sent && g_atomic_int_compare_and_exchange (&link->first_data, 0, 1))
    tether_srt_link_post (link, TETHER_SRT_LINK_FIRST_DATA, 0, NULL);
}

typedef enum
{
  LINK_WAIT_EVENT,    /* the socket has an event */
  LINK_WAIT_TIMEOUT,
  LINK_WAIT_STOP,     /* a stop request */
  LINK_WAIT_ERROR,    /* the epoll failed; srt_getlasterror_str() says why */
} LinkWait;

/* Waits for an event on the link's socket or a stop request (the wake-up pipe), at
 * most @timeout_ms (-1: no limit). */
static LinkWait
tether_srt_link_wait (TetherSrtLink *link,
                      int            eid,
                      int            timeout_ms)
{
  SRTSOCKET rfds[1], wfds[1];
  SYSSOCKET lrfds[1];
  int rn = 1, wn = 1, lrn = 1;
  int n;

  if (g_atomic_int_get (&link->stop))
    return LINK_WAIT_STOP;
  n = srt_epoll_wait (eid, rfds, &rn, wfds, &wn, timeout_ms, lrfds, &lrn, NULL, NULL);
  if (g_atomic_int_get (&link->stop))
    return LINK_WAIT_STOP;
  if (n < 0)
    return srt_getlasterror (NULL) == SRT_ETIMEOUT ? LINK_WAIT_TIMEOUT : LINK_WAIT_ERROR;
  return rn > 0 || wn > 0 ? LINK_WAIT_EVENT : LINK_WAIT_TIMEOUT;
}

/* The node's address; a stop request cancels a lookup in progress. */
static gboolean
tether_srt_link_resolve (TetherSrtLink           *link,
                         struct sockaddr_storage *addr,
                         int                     *addr_len,
                         char                   **message)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) sa = NULL;
  GList *addresses;

  addresses = g_resolver_lookup_by_name (resolver, link->host, link->cancellable, &error);
  if (addresses == NULL)
    {
      *message = g_strdup_printf ("cannot resolve %s: %s", link->host, error->message);
      return FALSE;
    }
  sa = g_inet_socket_address_new (addresses->data, link->port);
  g_resolver_free_addresses (addresses);
  *addr_len = (int) g_socket_address_get_native_size (sa);
  if (!g_socket_address_to_native (sa, addr, sizeof *addr, &error))
    {
      *message = g_strdup (error->message);
      return FALSE;
    }
  return TRUE;
}

/* Connects without blocking in libsrt: the handshake runs while the thread waits on
 * the link's epoll, which a stop request wakes at once. */
static SRTSOCKET
tether_srt_link_connect (TetherSrtLink *link,
                         int            eid,
                         int           *reject,
                         char         **message)
{
  struct sockaddr_storage addr;
  int addr_len = 0;
  SRTSOCKET sock;
  int yes = 1, no = 0;
  int events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;
  SRT_SOCKSTATUS st = SRTS_CONNECTING;

  *reject = 0;
  if (!tether_srt_link_resolve (link, &addr, &addr_len, message))
    return SRT_INVALID_SOCK;

  sock = srt_create_socket ();
  if (sock == SRT_INVALID_SOCK)
    {
      *message = g_strdup (srt_getlasterror_str ());
      return SRT_INVALID_SOCK;
    }
  g_mutex_lock (&link->lock);
  link->sock = sock;
  g_mutex_unlock (&link->lock);

  /* Live mode defaults; a short connect timeout and peer-idle timeout so that a dead
   * node is noticed and the next one tried quickly. Non-blocking both ways: receiving
   * is paced by the epoll, and a slow network must never stall the encoder. */
  srt_setsockflag (sock, SRTO_SENDER, link->receiver ? &no : &yes, sizeof (int));
  srt_setsockflag (sock, SRTO_LATENCY, &link->latency_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_CONNTIMEO, &link->connect_timeout_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_PEERIDLETIMEO, &link->peer_idle_ms, sizeof (int));
  srt_setsockflag (sock, SRTO_STREAMID, link->streamid, (int) strlen (link->streamid));
  if (link->passphrase != NULL
      && srt_setsockflag (sock, SRTO_PASSPHRASE, link->passphrase,
                          (int) strlen (link->passphrase)) == SRT_ERROR)
    {
      *message = g_strdup_printf ("cannot use the passphrase: %s", srt_getlasterror_str ());
      return SRT_INVALID_SOCK;
    }
  srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof (int));
  srt_setsockflag (sock, SRTO_SNDSYN, &no, sizeof (int));

  if (srt_epoll_add_usock (eid, sock, &events) == SRT_ERROR
      || srt_connect (sock, (struct sockaddr *) &addr, addr_len) == SRT_ERROR)
    {
      *message = g_strdup (srt_getlasterror_str ());
      return SRT_INVALID_SOCK;
    }

  /* libsrt ends a handshake that gets no answer after SRTO_CONNTIMEO itself (an
   * error event); the extra second only guards against a missed one. */
  while (st == SRTS_CONNECTING)
    {
      LinkWait w = tether_srt_link_wait (link, eid, link->connect_timeout_ms + 1000);

      if (w == LINK_WAIT_STOP)
        return SRT_INVALID_SOCK;
      st = srt_getsockstate (sock);
      if (w != LINK_WAIT_EVENT)
        break;
    }
  if (st == SRTS_CONNECTED)
    return sock;

  *reject = srt_getrejectreason (sock);
  if (*reject == SRT_REJ_BADSECRET)
    *message = g_strdup ("the media node refused the connection's encryption: the passphrase "
                         "is not the one it derives for this token (another app secret?)");
  else if (*reject == SRT_REJ_UNSECURE)
    *message = g_strdup (link->passphrase != NULL
                           ? "the media node refused the connection's encryption: it does not "
                             "encrypt (--srt-encryption=off) but the room service gave a passphrase"
                           : "the media node refused the connection's encryption: it encrypts "
                             "and the room service gave no passphrase (--srt-encryption=off)");
  else
    *message = g_strdup_printf ("connection failed (%s)", srt_rejectreason_str (*reject));
  /* A libsrt-internal reason (timeout, no listener) is not a verdict; a refused
   * encryption is. */
  if (*reject < SRT_REJC_PREDEFINED && !tether_media_reject_is_encryption (*reject))
    *reject = 0;
  return SRT_INVALID_SOCK;
}

/* Receiver: payloads into the appsrc until the link breaks, stalls or is stopped. */
static void
tether_srt_link_receive (TetherSrtLink *link,
                         int            eid,
                         SRTSOCKET      sock)
{
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  gint64 last_data_at = g_get_monotonic_time ();

  srt_epoll_update_usock (eid, sock, &events);
  while (!g_atomic_int_get (&link->stop))
    {
      gint64 left_ms = -1;

      if (link->stall_ms > 0)
        left_ms = MAX (1, link->stall_ms - (g_get_monotonic_time () - last_data_at) / 1000);
      switch (tether_srt_link_wait (link, eid, (int) left_ms))
        {
        case LINK_WAIT_STOP:
          return;
        case LINK_WAIT_ERROR:
          tether_srt_link_broke (link, srt_getlasterror_str ());
          return;
        case LINK_WAIT_TIMEOUT:
          /* libsrt calls a silent peer dead only after seconds. */
          if (link->stall_ms > 0
              && g_get_monotonic_time () - last_data_at >= (gint64) link->stall_ms * 1000)
            {
              tether_srt_link_broke (link, "no data from the media node");
              return;
            }
          continue;
        case LINK_WAIT_EVENT:
        default:
          break;
        }

      for (;;)
        {
          char buf[1500];
          int n = srt_recvmsg (sock, buf, sizeof buf);

          if (n > 0)
            {
              GstBuffer *buffer = gst_buffer_new_memdup (buf, n);

              last_data_at = g_get_monotonic_time ();
              g_mutex_lock (&link->lock);
              link->bytes += n;
              g_mutex_unlock (&link->lock);
              if (g_atomic_int_compare_and_exchange (&link->first_data, 0, 1))
                tether_srt_link_post (link, TETHER_SRT_LINK_FIRST_DATA, 0, NULL);
              gst_app_src_push_buffer (GST_APP_SRC (link->appsrc), buffer);
            }
          else if (n == SRT_ERROR && srt_getlasterror (NULL) != SRT_EASYNCRCV)
            {
              tether_srt_link_broke (link, srt_getlasterror_str ());
              return;
            }
          else
            break;  /* drained */
        }
    }
}

/* Sender: the appsink's streaming thread sends; this thread watches the socket for
 * errors and the peer's acknowledgements for a stall. */
static void
tether_srt_link_watch (TetherSrtLink *link,
                       int            eid,
                       SRTSOCKET      sock)
{
  int events = SRT_EPOLL_ERR;
  int interval_ms = link->stall_ms > 0 ? CLAMP (link->stall_ms / 10, 20, 100) : 100;
  int last_acks = -1;
  gint64 last_ack_at = g_get_monotonic_time ();

  srt_epoll_update_usock (eid, sock, &events);
  while (!g_atomic_int_get (&link->stop))
    {
      SRT_TRACEBSTATS perf;
      gint64 now;
      LinkWait w;

      w = tether_srt_link_wait (link, eid, interval_ms);
      if (w == LINK_WAIT_STOP)
        return;
      now = g_get_monotonic_time ();
      if (w == LINK_WAIT_ERROR || srt_getsockstate (sock) != SRTS_CONNECTED)
        {
          tether_srt_link_broke (link, "connection lost");
          return;
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
          return;
        }
    }
}

static gpointer
tether_srt_link_thread (gpointer data)
{
  TetherSrtLink *link = data;  /* the owner's reference lasts until the join */
  g_autofree char *message = NULL;
  int reject = 0;
  int wake_events = SRT_EPOLL_IN;
  int eid;
  SRTSOCKET sock = SRT_INVALID_SOCK;

  eid = srt_epoll_create ();
  if (eid < 0 || srt_epoll_add_ssock (eid, link->wake[0], &wake_events) == SRT_ERROR)
    message = g_strdup (srt_getlasterror_str ());
  else
    sock = tether_srt_link_connect (link, eid, &reject, &message);
  if (sock == SRT_INVALID_SOCK)
    {
      if (!g_atomic_int_get (&link->stop))
        tether_srt_link_post (link, TETHER_SRT_LINK_FAILED, reject, message);
      goto out;
    }

  g_atomic_int_set (&link->up, 1);
  if (!g_atomic_int_get (&link->stop))
    tether_srt_link_post (link, TETHER_SRT_LINK_CONNECTED, 0, NULL);
  if (link->receiver)
    tether_srt_link_receive (link, eid, sock);
  else
    tether_srt_link_watch (link, eid, sock);

out:
  g_atomic_int_set (&link->up, 0);
  g_mutex_lock (&link->lock);
  if (link->sock != SRT_INVALID_SOCK)
    srt_close (link->sock);
  link->sock = SRT_INVALID_SOCK;
  g_mutex_unlock (&link->lock);
  if (eid >= 0)
    srt_epoll_release (eid);
  return NULL;
}

/* Starts an attempt in a thread of its own, which tether_srt_link_stop() joins. */
TetherSrtLink *
tether_srt_link_start (guint        generation,
                       gboolean     receiver,
                       const char  *host,
                       guint16      port,
                       const char  *streamid,
                       const char  *passphrase,
                       int          latency_ms,
                       int          connect_timeout_ms,
                       int          peer_idle_ms,
                       int          stall_ms,
                       GstElement  *poster,
                       GstElement  *appsrc)
{
  TetherSrtLink *link = g_new0 (TetherSrtLink, 1);
  g_autoptr(GError) error = NULL;

  if (!tether_media_init (&error))
    g_warning ("%s", error->message);  /* the connect fails and says so on the bus */
  g_atomic_ref_count_init (&link->ref);
  g_mutex_init (&link->lock);
  link->generation = generation;
  link->receiver = receiver;
  link->host = g_strdup (host);
  link->port = port;
  link->streamid = g_strdup (streamid);
  link->passphrase = g_strdup (passphrase);
  link->latency_ms = latency_ms;
  link->connect_timeout_ms = connect_timeout_ms;
  link->peer_idle_ms = peer_idle_ms;
  link->stall_ms = stall_ms;
  link->poster = gst_object_ref (poster);
  link->appsrc = appsrc ? gst_object_ref (appsrc) : NULL;
  link->sock = SRT_INVALID_SOCK;
  link->cancellable = g_cancellable_new ();
  if (!g_unix_open_pipe (link->wake, FD_CLOEXEC, &error)
      || !g_unix_set_fd_nonblocking (link->wake[0], TRUE, &error)
      || !g_unix_set_fd_nonblocking (link->wake[1], TRUE, &error))
    g_error ("tether-srt-link: no wake-up pipe: %s", error->message);

  link->thread = g_thread_new (receiver ? "tether-srt-rx" : "tether-srt-tx",
                               tether_srt_link_thread, link);
  return link;
}

/* Ends the attempt: wakes the thread (whatever it waits on: a name lookup, the
 * handshake, data) and joins it, so no thread outlives the attempt. The thread
 * closes the socket. Owner's thread only; safe to call more than once. */
void
tether_srt_link_stop (TetherSrtLink *link)
{
  GThread *thread;

  g_atomic_int_set (&link->stop, 1);
  g_atomic_int_set (&link->up, 0);
  g_cancellable_cancel (link->cancellable);
  if (write (link->wake[1], "x", 1) < 0 && errno != EAGAIN)
    g_warning ("tether-srt-link: cannot wake the link thread: %s", g_strerror (errno));
  thread = g_steal_pointer (&link->thread);
  if (thread != NULL)
    g_thread_join (thread);
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
