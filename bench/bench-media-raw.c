/* bench-media-raw.c: bench-media's raw libsrt players — up to hundreds of callers on
 * one thread, non-blocking sockets and one srt_epoll polled with timeout 0, that only
 * count what they receive (no decoding): the node's load, not the players'
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-media.h"
#include "bench-media.h"

/* ---- part 4: raw libsrt players ---------------------------------------------------- */

typedef struct
{
  SRTSOCKET sock;
  gboolean connected;
  gboolean dead;
  gint64 bytes;
} RawConn;

static gpointer
raw_players_thread (gpointer data)
{
  RawPlayers *rp = data;
  g_autoptr(GArray) conns = g_array_new (FALSE, TRUE, sizeof (RawConn));
  g_autoptr(GArray) per = g_array_new (FALSE, TRUE, sizeof (RawPlayerStat));
  GHashTable *by_sock = g_hash_table_new (NULL, NULL);
  int eid;
  struct sockaddr_in peer = { 0 };
  char buf[1500];
  gint64 last_report = 0;
  g_autofree char *passphrase = bench_passphrase (rp->streamid);

  tether_media_init (NULL);
  eid = srt_epoll_create ();
  peer.sin_family = AF_INET;
  peer.sin_port = htons (rp->port);
  peer.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  while (!g_atomic_int_get (&rp->stop))
    {
      SRT_EPOLL_EVENT events[256];
      int n;
      gboolean busy = FALSE;
      gint target = g_atomic_int_get (&rp->target);

      /* Open at most 5 callers per round, so the handshakes do not come all at once. */
      for (guint k = 0; k < 5 && (gint) conns->len < target; k++)
        {
          RawConn c = { 0 };
          int no = 0, yes = 1, latency = LATENCY_MS;
          int ev = SRT_EPOLL_IN | SRT_EPOLL_OUT | SRT_EPOLL_ERR;
          struct sockaddr_in local = { 0 };

          c.sock = srt_create_socket ();
          srt_setsockflag (c.sock, SRTO_RCVSYN, &no, sizeof no);
          srt_setsockflag (c.sock, SRTO_SNDSYN, &no, sizeof no);
          srt_setsockflag (c.sock, SRTO_SENDER, &no, sizeof no);
          srt_setsockflag (c.sock, SRTO_REUSEADDR, &yes, sizeof yes);
          srt_setsockflag (c.sock, SRTO_LATENCY, &latency, sizeof latency);
          srt_setsockflag (c.sock, SRTO_STREAMID, rp->streamid, (int) strlen (rp->streamid));
          if (passphrase != NULL)
            srt_setsockflag (c.sock, SRTO_PASSPHRASE, passphrase, (int) strlen (passphrase));
          /* A few UDP ports (libsrt multiplexers), RAW_CALLERS_PER_PORT callers each,
           * so that the client side stays cheap but is not one thread. */
          guint slot = MIN (conns->len / RAW_CALLERS_PER_PORT, RAW_MAX_PORTS - 1);

          local.sin_family = AF_INET;
          local.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
          local.sin_port = htons ((guint16) rp->shared_port[slot]);
          if (srt_bind (c.sock, (struct sockaddr *) &local, sizeof local) == 0 && rp->shared_port[slot] == 0)
            {
              struct sockaddr_in got = { 0 };
              int len = sizeof got;

              if (srt_getsockname (c.sock, (struct sockaddr *) &got, &len) == 0)
                rp->shared_port[slot] = ntohs (got.sin_port);
            }
          srt_epoll_add_usock (eid, c.sock, &ev);
          if (srt_connect (c.sock, (struct sockaddr *) &peer, sizeof peer) == SRT_ERROR)
            c.dead = TRUE;
          g_array_append_val (conns, c);
          g_hash_table_insert (by_sock, GINT_TO_POINTER (c.sock), GUINT_TO_POINTER (conns->len));
        }

      n = srt_epoll_uwait (eid, events, G_N_ELEMENTS (events), 0);
      for (int i = 0; i < n; i++)
        {
          guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (by_sock, GINT_TO_POINTER (events[i].fd)));
          RawConn *c;

          if (idx == 0)
            continue;
          c = &g_array_index (conns, RawConn, idx - 1);
          if (c->dead)
            continue;
          if (events[i].events & SRT_EPOLL_ERR)
            {
              c->dead = TRUE;
              srt_epoll_remove_usock (eid, c->sock);
              srt_close (c->sock);
              continue;
            }
          if (!c->connected && srt_getsockstate (c->sock) == SRTS_CONNECTED)
            {
              int ev = SRT_EPOLL_IN | SRT_EPOLL_ERR;

              c->connected = TRUE;
              srt_epoll_update_usock (eid, c->sock, &ev);
            }
          if (events[i].events & SRT_EPOLL_IN)
            for (;;)
              {
                int got = srt_recvmsg (c->sock, buf, sizeof buf);

                if (got <= 0)
                  break;
                c->bytes += got;
                busy = TRUE;
              }
        }

      /* counters, ten times a second */
      if (g_get_monotonic_time () - last_report > 100 * 1000)
        {
          guint n_connected = 0, n_receiving = 0, n_dead = 0;
          gint64 bytes = 0, lost = 0, dropped = 0;

          last_report = g_get_monotonic_time ();
          g_array_set_size (per, conns->len);
          for (guint i = 0; i < conns->len; i++)
            {
              RawConn *c = &g_array_index (conns, RawConn, i);
              RawPlayerStat *ps = &g_array_index (per, RawPlayerStat, i);
              SRT_TRACEBSTATS perf;

              n_connected += c->connected && !c->dead;
              n_receiving += c->bytes > 0 && !c->dead;
              n_dead += c->dead;
              bytes += c->bytes;
              ps->bytes = c->bytes;
              ps->dead = c->dead;
              if (!c->dead && c->connected && srt_bstats (c->sock, &perf, 0) == 0)
                {
                  ps->lost = perf.pktRcvLossTotal;
                  ps->dropped = perf.pktRcvDropTotal;
                }
              lost += ps->lost;
              dropped += ps->dropped;
            }
          g_mutex_lock (&rp->lock);
          g_array_set_size (rp->per, 0);
          g_array_append_vals (rp->per, per->data, per->len);
          rp->stamp = last_report;
          rp->n_open = conns->len;
          rp->n_connected = n_connected;
          rp->n_receiving = n_receiving;
          rp->n_dead = n_dead;
          rp->bytes = bytes;
          rp->lost = lost;
          rp->dropped = dropped;
          g_mutex_unlock (&rp->lock);
        }

      /* Never a timed wait inside libsrt (see tether-relay.c): poll, then sleep here. */
      if (!busy)
        g_usleep (1000);
    }

  for (guint i = 0; i < conns->len; i++)
    {
      RawConn *c = &g_array_index (conns, RawConn, i);

      if (!c->dead)
        srt_close (c->sock);
    }
  srt_epoll_release (eid);
  g_hash_table_unref (by_sock);
  return NULL;
}

RawPlayers *
raw_players_new (guint16     port,
                 const char *streamid)
{
  RawPlayers *rp = g_new0 (RawPlayers, 1);

  g_mutex_init (&rp->lock);
  rp->per = g_array_new (FALSE, TRUE, sizeof (RawPlayerStat));
  rp->port = port;
  rp->streamid = g_strdup (streamid);
  rp->thread = g_thread_new ("raw-players", raw_players_thread, rp);
  return rp;
}

void
raw_players_free (RawPlayers *rp)
{
  g_atomic_int_set (&rp->stop, 1);
  g_thread_join (rp->thread);
  g_mutex_clear (&rp->lock);
  g_array_unref (rp->per);
  g_free (rp->streamid);
  g_free (rp);
}

/* A copy of every caller's totals; @stamp: when they were read (monotonic µs). */
GArray *
raw_players_per_player (RawPlayers *rp,
                        gint64     *stamp)
{
  GArray *copy = g_array_new (FALSE, TRUE, sizeof (RawPlayerStat));

  g_mutex_lock (&rp->lock);
  g_array_append_vals (copy, rp->per->data, rp->per->len);
  *stamp = rp->stamp;
  g_mutex_unlock (&rp->lock);
  return copy;
}

gboolean
raw_players_all_receiving (RawPlayers *rp,
                           guint       n)
{
  gboolean ok;

  g_mutex_lock (&rp->lock);
  ok = rp->n_receiving >= n;
  g_mutex_unlock (&rp->lock);
  return ok;
}

void
raw_players_snapshot (RawPlayers *rp,
                      gint64     *bytes,
                      gint64     *lost,
                      gint64     *dropped,
                      guint      *receiving,
                      guint      *dead)
{
  g_mutex_lock (&rp->lock);
  *bytes = rp->bytes;
  *lost = rp->lost;
  *dropped = rp->dropped;
  *receiving = rp->n_receiving;
  *dead = rp->n_dead;
  g_mutex_unlock (&rp->lock);
}
