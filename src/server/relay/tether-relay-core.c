/* tether-relay-core.c: the relay's core — its lifetime, and the SRT thread that owns
 * it: the epoll loop, events on connections, the periodic checks, closing
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <srt/srt.h>

#include "tether-relay-core.h"

/* The thread polls libsrt's epoll without a timeout and sleeps on its own between
 * polls. A timed srt_epoll_uwait() sleeps on libsrt's one process-wide condition
 * variable, which every SRT thread signals for every packet; with several timed
 * waiters that trips glibc's condvar bug (sourceware BZ 25847, not fixed in
 * Debian 12's glibc 2.36) and hangs all SRT traffic in the process. 1 ms is
 * nothing against SRT's latency. */
#define IDLE_SLEEP_US 1000
#define EMPTY_SLEEP_US (10 * 1000) /* with no connection, only a handshake can wait */
#define TICK_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)
#define PENDING_TTL_US (30 * G_TIME_SPAN_SECOND)

/* ------------------------------------------------------------------------- */
/* Core lifetime */

static void
core_clear (RelayCore *core)
{
  g_free (core->app_id);
  g_free (core->app_secret);
  g_main_context_unref (core->context);
  g_weak_ref_clear (&core->relay);
  g_mutex_clear (&core->access_lock);
  tether_relay_owners_free (core->owners);
  g_hash_table_unref (core->pending);
  g_mutex_clear (&core->emit_lock);
  g_queue_clear_full (&core->emissions, NULL);
  g_mutex_clear (&core->stats_lock);
  g_free (core->pull_lines);
  relay_pull_answers_free (core);
  g_mutex_clear (&core->pull_lock);
  g_free (core->node_id);
  g_hash_table_unref (core->conns);
  g_hash_table_unref (core->streams);
  g_ptr_array_unref (core->doomed);
  g_array_unref (core->refused);
}

RelayCore *
relay_core_ref (RelayCore *core)
{
  return g_atomic_rc_box_acquire (core);
}

void
relay_core_unref (RelayCore *core)
{
  g_atomic_rc_box_release_full (core, (GDestroyNotify) core_clear);
}

static void
conn_free (RelayConn *conn)
{
  g_free (conn->user_id);
  g_free (conn->room_id);
  g_free (conn->pull_origin);
  g_free (conn->pull_node);
  g_clear_pointer (&conn->queue, g_byte_array_unref);
  g_free (conn);
}

/* @relay: held weakly, for the signals; @context: where they are emitted */
RelayCore *
relay_core_new (TetherRelay  *relay,
                const char   *app_id,
                const char   *app_secret,
                GMainContext *context,
                double        claim_ttl)
{
  RelayCore *core = g_atomic_rc_box_new0 (RelayCore);

  core->app_id = g_strdup (app_id);
  core->app_secret = g_strdup (app_secret);
  core->context = g_main_context_ref (context);
  g_weak_ref_init (&core->relay, relay);

  g_mutex_init (&core->access_lock);
  core->owners = tether_relay_owners_new ();
  tether_relay_owners_set_ttl (core->owners, (gint64) (claim_ttl * G_USEC_PER_SEC));
  core->pending = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) relay_pending_free);
  g_mutex_init (&core->emit_lock);
  g_queue_init (&core->emissions);
  g_mutex_init (&core->stats_lock);
  g_mutex_init (&core->pull_lock);
  g_queue_init (&core->answers);

  core->listener = SRT_INVALID_SOCK;
  core->eid = -1;
  core->conns = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) conn_free);
  core->streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) relay_stream_free);
  core->doomed = g_ptr_array_new ();
  core->refused = g_array_new (FALSE, FALSE, sizeof (Refused));

  return core;
}

/* ------------------------------------------------------------------------- */
/* SRT thread: closing connections */

/* Marks @conn to be closed with @reason after the event at hand (the first reason
 * stays). */
void
relay_conn_doom (RelayCore  *core,
                 RelayConn  *conn,
                 const char *reason)
{
  if (conn->close_reason != NULL)
    return;
  conn->close_reason = reason;
  g_ptr_array_add (core->doomed, conn);
}

/* Closes at once (SRT tells the peer) and forgets the connection. */
static void
conn_close (RelayCore  *core,
            RelayConn  *conn,
            const char *reason)
{
  RelayStream *stream = conn->stream;

  srt_epoll_remove_usock (core->eid, conn->sock);
  srt_close (conn->sock);

  /* A link that broke after a silence died with its publisher's network or
   * process; one that broke while data flowed was closed by the publisher. */
  if (conn->mode == TETHER_SRT_MODE_PUBLISH && g_strcmp0 (reason, TETHER_RELAY_REASON_DISCONNECTED) == 0
      && g_get_monotonic_time () - conn->last_data_at >= RELAY_PUBLISHER_SILENT_BREAK_US)
    reason = TETHER_RELAY_REASON_IDLE;

  if (conn->pull_origin != NULL)
    relay_pull_conn_closed (core, conn, reason);
  else if (conn->mode == TETHER_SRT_MODE_PUBLISH)
    {
      g_message ("Relay: publisher %s of stream %s left (%s)", conn->user_id, stream->id, reason);
      if (stream->publisher == conn)
        {
          STATS_ADD (core, n_streams, -1);
          stream->publisher = NULL;
          relay_stream_forget_media (stream);
          /* The record stays for the claim TTL: the stream id waits for its owner. */
          g_mutex_lock (&core->access_lock);
          tether_relay_owners_let_go (core->owners, stream->id, conn->user_id,
                                      TETHER_RELAY_HOLD_PUBLISHER, g_get_monotonic_time ());
          g_mutex_unlock (&core->access_lock);
          /* Other nodes' pulls go at once and ask where it went; this node's own
           * players may now pull it from there. Not for a replacement: its
           * successor is being accepted. */
          if (g_strcmp0 (reason, TETHER_RELAY_REASON_REPLACED) != 0)
            {
              relay_pull_drop_served (core, stream, "origin-gone");
              relay_pull_maybe_start (core, stream);
            }
        }
      relay_core_emit (core, RELAY_EVENT_PUBLISHER_REMOVED, stream->id, conn->user_id,
                       conn->room_id, reason);
    }
  else
    {
      g_debug ("Relay: player %s of stream %s left (%s)", conn->user_id, stream->id, reason);
      g_ptr_array_remove (stream->players, conn);
      STATS_ADD (core, n_players, -1);
      if (conn->pull_node != NULL)
        STATS_ADD (core, n_pulls_served, -1);
    }

  g_hash_table_remove (core->conns, GINT_TO_POINTER (conn->sock));
  relay_stream_remove_if_unused (core, stream);
}

void
relay_close_doomed (RelayCore *core)
{
  if (core->doomed->len == 0)
    return;

  for (guint i = 0; i < core->doomed->len; i++)
    {
      RelayConn *conn = g_ptr_array_index (core->doomed, i);

      conn_close (core, conn, conn->close_reason);
    }
  g_ptr_array_set_size (core->doomed, 0);
}

/* ------------------------------------------------------------------------- */
/* SRT thread: the loop */

static void
purge_expired (RelayCore *core,
               gint64     now)
{
  GHashTableIter iter;
  Pending *pending;

  g_mutex_lock (&core->access_lock);
  g_hash_table_iter_init (&iter, core->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    if (now - pending->created > PENDING_TTL_US)
      g_hash_table_iter_remove (&iter);
  tether_relay_owners_purge (core->owners, now);
  g_mutex_unlock (&core->access_lock);
}

static void
handle_event (RelayCore       *core,
              SRT_EPOLL_EVENT *ev)
{
  RelayConn *conn;

  if (ev->fd == core->listener)
    {
      relay_accept_next (core);
      return;
    }

  conn = g_hash_table_lookup (core->conns, GINT_TO_POINTER (ev->fd));
  if (conn == NULL || conn->close_reason != NULL)
    return;

  if (conn->pull_origin != NULL)
    relay_pull_conn_event (core, conn, ev->events);
  else if (conn->mode == TETHER_SRT_MODE_PUBLISH && (ev->events & SRT_EPOLL_IN))
    relay_publisher_read (core, conn);
  else if (conn->mode == TETHER_SRT_MODE_REQUEST && (ev->events & SRT_EPOLL_OUT))
    relay_player_flush (core, conn);

  if ((ev->events & SRT_EPOLL_ERR) || srt_getsockstate (conn->sock) > SRTS_CONNECTED)
    relay_conn_doom (core, conn, TETHER_RELAY_REASON_DISCONNECTED);
}

static void
close_everything (RelayCore *core)
{
  GHashTableIter iter;
  RelayConn *conn;

  g_ptr_array_set_size (core->doomed, 0);
  g_hash_table_iter_init (&iter, core->conns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    {
      conn->close_reason = TETHER_RELAY_REASON_SHUTDOWN;
      g_ptr_array_add (core->doomed, conn);
    }
  relay_close_doomed (core);
  relay_close_refused (core, 0, TRUE);
  /* Nothing is connected now; what is left are pulls between attempts. */
  g_hash_table_remove_all (core->streams);
  relay_pull_answers_free (core);
  g_mutex_lock (&core->stats_lock);
  g_clear_pointer (&core->pull_lines, g_free);
  g_mutex_unlock (&core->stats_lock);
  core->n_pulled_streams = 0;

  srt_close (core->listener);
  core->listener = SRT_INVALID_SOCK;
  srt_epoll_release (core->eid);
  core->eid = -1;
}

/* The relay's SRT thread, until the core is stopping; it owns a reference to the
 * core, @data, and closes every socket before it ends. */
gpointer
relay_core_thread (gpointer data)
{
  RelayCore *core = data;
  SRT_EPOLL_EVENT events[64];
  gint64 last_tick = g_get_monotonic_time ();

  while (!g_atomic_int_get (&core->stopping))
    {
      int n = srt_epoll_uwait (core->eid, events, G_N_ELEMENTS (events), 0);
      gint64 now;

      if (n <= 0)
        g_usleep (g_hash_table_size (core->conns) > 0 ? IDLE_SLEEP_US : EMPTY_SLEEP_US);

      for (int i = 0; i < n; i++)
        {
          handle_event (core, &events[i]);
          relay_close_doomed (core);
        }
      relay_pull_take_answers (core);
      relay_close_doomed (core);

      now = g_get_monotonic_time ();
      if (now - last_tick >= TICK_INTERVAL_US)
        {
          last_tick = now;
          relay_check_stalled_players (core, now);
          relay_check_streams (core, now);
          relay_pull_tick (core, now);
          relay_close_doomed (core);
          relay_close_refused (core, now, FALSE);
          purge_expired (core, now);
        }
    }

  close_everything (core);
  relay_core_unref (core);
  return NULL;
}
