/* tether-relay-accept.c: handshakes — the listen callback's verdict on a stream id
 * and its owner record, then accepting the connection as a publisher or a player,
 * or refusing it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <srt/srt.h>
#include <srt/access_control.h>
#include <gio/gio.h>

#include "tether-error.h"
#include "tether-relay-core.h"

/* libsrt does not tell the peer of a close in the first milliseconds after the
 * handshake: it would wait out its idle timeout (5 s) to learn it was refused. */
#define REFUSED_CLOSE_DELAY_US (50 * G_TIME_SPAN_MILLISECOND)

/* ------------------------------------------------------------------------- */
/* The listen callback: libsrt's receiver thread, during the handshake */

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

/* The listen callback (srt_listen_callback()), @opaque the core: checks the stream id
 * and its owner record, and leaves the verdict for relay_accept_next(). */
int
relay_on_listen (void                  *opaque,
                 SRTSOCKET              ns,
                 int                    hsversion,
                 const struct sockaddr *peer,
                 const char            *streamid)
{
  RelayCore *core = relay_registry_lookup (opaque);
  g_autoptr(GError) error = NULL;
  g_auto(TetherRelayAccess) access = { 0, };
  int no_tsbpd = 0;
  int code;

  if (core == NULL || g_atomic_int_get (&core->stopping))
    {
      srt_setrejectreason (ns, SRT_REJX_DOWN);
      g_clear_pointer (&core, relay_core_unref);
      return -1;
    }

  /* Tokens ride in the stream id: log neither. */
  code = tether_relay_access_check (streamid, core->app_id, core->app_secret,
                                    g_get_real_time () / G_USEC_PER_SEC, core->token_skew,
                                    &access, &error);

  /* Before the key material of the handshake is read: libsrt checks the caller's
   * against this passphrase, and with SRTO_ENFORCEDENCRYPTION (the default) refuses
   * a wrong one (SRT_REJ_BADSECRET) or none (SRT_REJ_UNSECURE). Without
   * encryption the socket keeps no passphrase, and a caller that brings one is
   * refused (SRT_REJ_UNSECURE) too. */
  if (code == 0 && core->encryption
      && srt_setsockflag (ns, SRTO_PASSPHRASE, access.passphrase,
                          (int) strlen (access.passphrase)) == SRT_ERROR)
    {
      g_set_error (&error, TETHER_ERROR, TETHER_ERROR_MEDIA_ENCRYPTION,
                   "cannot set the passphrase: %s", srt_getlasterror_str ());
      code = SRT_REJX_ISE;
    }
  /* A publisher's packets are handed to the node as they arrive, not after SRT's
   * latency: the node forwards at once and only each player's socket holds the
   * latency (one buffer on the path, not two; docs/design.md, "Media latency").
   * libsrt reads the option when it answers the handshake, after this callback. */
  if (code == 0 && access.mode == TETHER_SRT_MODE_PUBLISH
      && srt_setsockflag (ns, SRTO_TSBPDMODE, &no_tsbpd, sizeof no_tsbpd) == SRT_ERROR)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot turn off the publisher's TSBPD: %s", srt_getlasterror_str ());
      code = SRT_REJX_ISE;
    }
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
      relay_core_unref (core);
      return -1;
    }

  relay_core_unref (core);
  return 0;
}

/* ------------------------------------------------------------------------- */
/* SRT thread: accepting and refusing */

void
relay_pending_free (Pending *pending)
{
  tether_relay_access_clear (&pending->access);
  g_free (pending);
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
void
relay_close_refused (RelayCore *core,
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
      relay_pending_free (pending);
      return;
    }

  /* Another node's pull is served from a publisher of this node only, never from
   * this node's own pull: every pull comes from the origin, so none can loop. */
  stream = g_hash_table_lookup (core->streams, pending->access.stream_id);
  if (pending->access.pull_node != NULL
      && (stream == NULL || stream->publisher == NULL || stream->publisher->pull_origin != NULL))
    {
      g_message ("Relay: refused the pull of node %s for stream %s: not published here",
                 pending->access.pull_node, pending->access.stream_id);
      refuse_accepted (core, sock);
      relay_pending_free (pending);
      return;
    }

  srt_setsockflag (sock, SRTO_SNDSYN, &no, sizeof no);
  srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof no);

  stream = relay_stream_lookup_or_add (core, pending->access.stream_id);

  /* A publisher here ends the pull of its stream and takes its players over. */
  if (pending->access.mode == TETHER_SRT_MODE_PUBLISH)
    relay_pull_end (core, stream, TETHER_RELAY_REASON_REPLACED);

  /* Only the owner's publishers get here: this is the same user back (a
   * reconnect), and it takes its stream over at once. */
  if (pending->access.mode == TETHER_SRT_MODE_PUBLISH && stream->publisher != NULL)
    {
      relay_conn_doom (core, stream->publisher, TETHER_RELAY_REASON_REPLACED);
      relay_close_doomed (core);
      stream = relay_stream_lookup_or_add (core, pending->access.stream_id);
    }

  conn = g_new0 (RelayConn, 1);
  conn->sock = sock;
  conn->mode = pending->access.mode;
  conn->user_id = g_steal_pointer (&pending->access.user_id);
  conn->room_id = g_steal_pointer (&pending->access.room_id);
  conn->pull_node = g_steal_pointer (&pending->access.pull_node);
  conn->stream = stream;
  conn->last_data_at = g_get_monotonic_time ();
  g_hash_table_insert (core->conns, GINT_TO_POINTER (sock), conn);
  if (core->encryption)
    STATS_ADD (core, encrypted_conns, 1);
  else
    STATS_ADD (core, plain_conns, 1);
  relay_pending_free (pending);

  if (conn->mode == TETHER_SRT_MODE_PUBLISH)
    {
      g_message ("Relay: %s publishes stream %s", conn->user_id, stream->id);
      stream->publisher = conn;
      STATS_ADD (core, n_streams, 1);
      relay_stream_forget_media (stream);
      relay_stream_check_players (core, stream, g_get_monotonic_time ());
      events |= SRT_EPOLL_IN;
      srt_epoll_add_usock (core->eid, sock, &events);
      relay_core_emit (core, RELAY_EVENT_PUBLISHER_ADDED, stream->id, conn->user_id, conn->room_id,
                       NULL);
    }
  else
    {
      g_debug ("Relay: %s plays stream %s", conn->user_id, stream->id);
      conn->queue = g_byte_array_new ();
      conn->queue_limit = core->max_queue;
      g_ptr_array_add (stream->players, conn);
      STATS_ADD (core, n_players, 1);
      if (conn->pull_node != NULL)
        {
          g_message ("Relay: node %s pulls stream %s", conn->pull_node, stream->id);
          STATS_ADD (core, n_pulls_served, 1);
        }
      srt_epoll_add_usock (core->eid, sock, &events);
      if (!relay_pull_room_allows (stream, conn))
        {
          g_message ("Relay: closing player %s of stream %s: the stream belongs to another room",
                     conn->user_id, stream->id);
          relay_conn_doom (core, conn, "forbidden");
          return;
        }
      relay_pull_maybe_start (core, stream);
      /* Held until it can start on a key frame: now if one is cached, else later. */
      if (stream->publisher != NULL && (stream->gop_valid || tether_ts_tracker_is_audio_only (&stream->ts)))
        {
          relay_player_start (core, conn);
          relay_player_flush (core, conn);
        }
    }
}

/* One per readiness report: the listener stays readable while more wait (epoll
 * is level-triggered), and libsrt logs an error for every srt_accept() that
 * finds nothing. */
void
relay_accept_next (RelayCore *core)
{
  struct sockaddr_storage addr;
  int addr_len = sizeof addr;
  SRTSOCKET sock = srt_accept (core->listener, (struct sockaddr *) &addr, &addr_len);

  if (sock != SRT_INVALID_SOCK)
    accept_one (core, sock);
}
