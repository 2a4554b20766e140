/* tether-relay-pull.c: the media cascade — a stream published on another node is
 * pulled once, over one SRT connection, for every player of this node; the locate
 * func says where from, a pull that breaks asks again, and the last player's leaving
 * ends it (SRT thread, except the locate requests and their answers)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <srt/srt.h>
#include <gio/gio.h>

#include "tether-media-private.h"
#include "tether-protocol.h"
#include "tether-token.h"
#include "tether-relay-core.h"

/*
 * A player asks for a stream that has no publisher here. When the relay has a locate
 * func, the stream gets a RelayPull: the func is asked (on the relay's main context)
 * for the stream's origin, the node with its real publisher; the answer comes back
 * from any thread through the answers queue. The pull then connects to the origin as
 * an SRT caller with a play token the node mints for itself (an all-rooms token of
 * user `node:<node id>` for this stream id only, with its passphrase) and `pull=<node
 * id>` in the stream id. That connection is the stream's publisher as far as the rest
 * of the relay knows: the TS tracker, the GOP cache and the fan-out work unchanged.
 *
 * No loops: a node serves a `pull=` player only from a real publisher of its own,
 * never from its own pull, and a `pull=` player never makes a node pull. So every
 * pulled stream comes straight from its origin, one hop.
 *
 * A pull that breaks, is refused, or does not connect asks the locate func again
 * after a pause (PULL_RETRY_*), while the players stay connected and wait for the new
 * origin's key frame, as for a publisher that came back. A real publisher connecting
 * here ends the pull and takes over. The pull ends PULL_LINGER_US after its last
 * player left.
 */

/* After the last player leaves: longer than a player's own break-and-retry (100 ms,
 * then a 400 ms connect), so a viewer's blip does not cost a new pull. */
#define PULL_LINGER_US (2 * G_TIME_SPAN_SECOND)
/* Pauses before asking again: 100 ms after the first failure, doubling to 1 s. */
#define PULL_RETRY_FIRST_US (100 * G_TIME_SPAN_MILLISECOND)
#define PULL_RETRY_MAX_US (1 * G_TIME_SPAN_SECOND)
/* A locate func that never answers is asked again after this. */
#define PULL_LOCATE_TIMEOUT_US (5 * G_TIME_SPAN_SECOND)
/* Nodes of one deployment are close: an SRT handshake is two round trips. A dead
 * origin costs this much before the locate func is asked again. */
#define PULL_CONNECT_TIMEOUT_MS 500
/* A pull that brought data and then nothing for this long is broken (a live stream
 * sends every frame; libtether's players use the same 1 s); before its first data
 * the origin may wait for its publisher's key frame. */
#define PULL_STALL_US (1 * G_TIME_SPAN_SECOND)
#define PULL_FIRST_DATA_US (5 * G_TIME_SPAN_SECOND)
/* The pull's own token only has to pass the origin's handshake. */
#define PULL_TOKEN_LIFETIME_S 300

struct _TetherRelayLocate
{
  RelayCore *core;
  char *stream_id;
  guint64 serial;
};

/* An answer of the locate func, for the SRT thread. */
typedef struct
{
  char *stream_id;
  guint64 serial;
  char *node_id;            /* NULL: not found */
  char *room_id;
  struct sockaddr_storage addr;
  int addr_len;
} RelayLocated;

static void
located_free (RelayLocated *answer)
{
  g_free (answer->stream_id);
  g_free (answer->node_id);
  g_free (answer->room_id);
  g_free (answer);
}

void
relay_pull_free (RelayPull *pull)
{
  g_free (pull->origin);
  g_free (pull->room_id);
  g_free (pull);
}

void
relay_pull_answers_free (RelayCore *core)
{
  g_mutex_lock (&core->pull_lock);
  g_queue_clear_full (&core->answers, (GDestroyNotify) located_free);
  g_atomic_int_set (&core->n_answers, 0);
  g_mutex_unlock (&core->pull_lock);
}

static void
answer_push (RelayCore    *core,
             RelayLocated *answer)
{
  g_mutex_lock (&core->pull_lock);
  g_queue_push_tail (&core->answers, answer);
  g_atomic_int_inc (&core->n_answers);
  g_mutex_unlock (&core->pull_lock);
}

/* ------------------------------------------------------------------------- */
/* Locate requests: made on the relay's main context, answered from any thread */

TetherRelayLocate *
relay_locate_new (RelayCore  *core,
                  const char *stream_id,
                  guint64     serial)
{
  TetherRelayLocate *request = g_new0 (TetherRelayLocate, 1);

  request->core = relay_core_ref (core);
  request->stream_id = g_strdup (stream_id);
  request->serial = serial;
  return request;
}

static void
locate_free (TetherRelayLocate *request)
{
  relay_core_unref (request->core);
  g_free (request->stream_id);
  g_free (request);
}

/* Nobody can answer (no locate func, or the relay is gone): not found. */
void
relay_pull_locate_failed (RelayCore  *core,
                          const char *stream_id,
                          guint64     serial)
{
  RelayLocated *answer = g_new0 (RelayLocated, 1);

  answer->stream_id = g_strdup (stream_id);
  answer->serial = serial;
  answer_push (core, answer);
}

/**
 * tether_relay_locate_get_stream_id:
 * @request: a request the locate func was given
 *
 * Returns: the stream id to locate
 */
const char *
tether_relay_locate_get_stream_id (TetherRelayLocate *request)
{
  g_return_val_if_fail (request != NULL, NULL);

  return request->stream_id;
}

static gboolean
resolve_url (const char               *url,
             gboolean                  numeric_only,
             struct sockaddr_storage  *addr,
             int                      *addr_len,
             gboolean                 *needs_lookup,
             GError                  **error)
{
  g_autofree char *host = NULL;
  g_autofree char *service = NULL;
  struct addrinfo hints = { 0, };
  struct addrinfo *res = NULL;
  guint16 port;
  int rc;

  if (!tether_media_parse_srt_url (url, &host, &port, error))
    return FALSE;
  if (numeric_only && !g_hostname_is_ip_address (host))
    {
      *needs_lookup = TRUE;
      return FALSE;
    }
  service = g_strdup_printf ("%u", port);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = numeric_only ? AI_NUMERICHOST : 0;
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0 || res == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "cannot resolve %s: %s", host,
                   gai_strerror (rc));
      return FALSE;
    }
  memcpy (addr, res->ai_addr, res->ai_addrlen);
  *addr_len = (int) res->ai_addrlen;
  freeaddrinfo (res);
  return TRUE;
}

typedef struct
{
  RelayCore *core;
  RelayLocated *answer;
  char *url;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  relay_core_unref (lookup->core);
  g_clear_pointer (&lookup->answer, located_free);
  g_free (lookup->url);
  g_free (lookup);
}

/* A host name: resolved on a worker thread, never on the SRT thread. */
static void
lookup_thread (GTask        *task,
               gpointer      source,
               gpointer      data,
               GCancellable *cancellable)
{
  Lookup *lookup = data;
  g_autoptr(GError) error = NULL;
  RelayLocated *answer = lookup->answer;

  if (!resolve_url (lookup->url, FALSE, &answer->addr, &answer->addr_len, NULL, &error))
    {
      g_warning ("Relay: cannot pull stream %s from node %s: %s", answer->stream_id,
                 answer->node_id, error->message);
      g_clear_pointer (&answer->node_id, g_free);
    }
  answer_push (lookup->core, g_steal_pointer (&lookup->answer));
  g_task_return_boolean (task, TRUE);
}

/**
 * tether_relay_locate_return:
 * @request: (transfer full): the request the locate func was given
 * @node_id: (nullable): the media node the stream's publisher is connected to,
 *   %NULL when the stream is published nowhere
 * @url: (nullable): that node's SRT URL, `srt://HOST:PORT`
 * @room_id: (nullable): the stream's room, %NULL when unknown
 *
 * Answers a locate request, once, from any thread. An answer naming this node
 * (#TetherRelay:node-id) counts as not found: its publisher is awaited here. With
 * @room_id, players of another room are closed, as for a stream whose room the node
 * knows.
 */
void
tether_relay_locate_return (TetherRelayLocate *request,
                            const char        *node_id,
                            const char        *url,
                            const char        *room_id)
{
  RelayLocated *answer;
  g_autoptr(GError) error = NULL;
  gboolean needs_lookup = FALSE;

  g_return_if_fail (request != NULL);

  answer = g_new0 (RelayLocated, 1);
  answer->stream_id = g_strdup (request->stream_id);
  answer->serial = request->serial;
  if (node_id != NULL && url != NULL && tether_protocol_valid_id (node_id))
    {
      answer->node_id = g_strdup (node_id);
      answer->room_id = g_strdup (room_id);
      if (!resolve_url (url, TRUE, &answer->addr, &answer->addr_len, &needs_lookup, &error)
          && needs_lookup)
        {
          Lookup *lookup = g_new0 (Lookup, 1);
          g_autoptr(GTask) task = g_task_new (NULL, NULL, NULL, NULL);

          lookup->core = relay_core_ref (request->core);
          lookup->answer = answer;
          lookup->url = g_strdup (url);
          g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
          g_task_run_in_thread (task, lookup_thread);
          locate_free (request);
          return;
        }
      if (error != NULL)
        {
          g_warning ("Relay: cannot pull stream %s from node %s: %s", answer->stream_id, node_id,
                     error->message);
          g_clear_pointer (&answer->node_id, g_free);
        }
    }
  answer_push (request->core, answer);
  locate_free (request);
}

/* ------------------------------------------------------------------------- */
/* SRT thread */

static void
pull_locate (RelayCore   *core,
             RelayStream *stream)
{
  RelayPull *pull = stream->pull;

  pull->state = RELAY_PULL_LOCATING;
  pull->serial = ++core->locate_serial;
  pull->next_at = g_get_monotonic_time () + PULL_LOCATE_TIMEOUT_US;
  relay_core_emit_locate (core, stream->id, pull->serial);
}

/* Asks again after a pause that doubles with each failure in a row. */
static void
pull_wait (RelayPull *pull)
{
  gint64 delay = PULL_RETRY_FIRST_US << MIN (pull->failures, 4);

  pull->failures++;
  pull->state = RELAY_PULL_WAITING;
  pull->next_at = g_get_monotonic_time () + MIN (delay, PULL_RETRY_MAX_US);
}

static gboolean
has_own_player (RelayStream *stream)
{
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (player->pull_node == NULL && player->close_reason == NULL)
        return TRUE;
    }
  return FALSE;
}

/* A stream without a publisher that players of this node want: pull it, once. */
void
relay_pull_maybe_start (RelayCore   *core,
                        RelayStream *stream)
{
  if (!g_atomic_int_get (&core->can_locate) || core->node_id == NULL
      || g_atomic_int_get (&core->stopping) || stream->publisher != NULL || stream->pull != NULL
      || !has_own_player (stream))
    return;

  stream->pull = g_new0 (RelayPull, 1);
  g_mutex_lock (&core->stats_lock);
  core->n_pulls++;
  core->pulls_started++;
  g_mutex_unlock (&core->stats_lock);
  g_message ("Relay: stream %s has players and no publisher here: locating its origin", stream->id);
  pull_locate (core, stream);
}

/* The pull goes (a publisher of this node took over, no player is left); its
 * connection is closed after the event at hand. Returns whether it had one: its
 * close removes the stream if unused, else the caller may. */
gboolean
relay_pull_end (RelayCore   *core,
                RelayStream *stream,
                const char  *why)
{
  RelayPull *pull = g_steal_pointer (&stream->pull);
  gboolean had_conn;

  if (pull == NULL)
    return FALSE;
  had_conn = pull->conn != NULL;
  if (had_conn)
    {
      if (stream->publisher == pull->conn)
        stream->publisher = NULL;
      relay_conn_doom (core, pull->conn, why);
    }
  g_message ("Relay: pull of stream %s ended (%s)", stream->id, why);
  STATS_ADD (core, n_pulls, -1);
  relay_pull_free (pull);
  return had_conn;
}

static void
pull_connect (RelayCore    *core,
              RelayStream  *stream,
              RelayLocated *answer)
{
  RelayPull *pull = stream->pull;
  const char *streams[] = { stream->id, NULL };
  g_autofree char *user = g_strdup_printf ("node:%s", core->node_id);
  g_autofree char *token = tether_token_mint (core->app_secret, core->app_id, user, NULL,
                                              TETHER_PRIVILEGE_LOGIN, streams,
                                              g_get_real_time () / G_USEC_PER_SEC,
                                              PULL_TOKEN_LIFETIME_S);
  TetherSrtStreamId sid = { stream->id, TETHER_SRT_MODE_REQUEST, NULL, token, core->node_id };
  g_autofree char *streamid = tether_srt_stream_id_to_string (&sid);
  SRTSOCKET sock = srt_create_socket ();
  int latency = (int) core->latency_ms;
  int conn_timeout = PULL_CONNECT_TIMEOUT_MS;
  int events = SRT_EPOLL_IN | SRT_EPOLL_OUT | SRT_EPOLL_ERR;
  gboolean no = FALSE;
  int no_tsbpd = 0;
  RelayConn *conn;

  /* Forwarded at once, like a publisher's packets: only this node's players' sockets
   * hold the latency. */
  if (sock == SRT_INVALID_SOCK
      || srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (sock, SRTO_SNDSYN, &no, sizeof no) == SRT_ERROR
      || srt_setsockflag (sock, SRTO_LATENCY, &latency, sizeof latency) == SRT_ERROR
      || srt_setsockflag (sock, SRTO_CONNTIMEO, &conn_timeout, sizeof conn_timeout) == SRT_ERROR
      || srt_setsockflag (sock, SRTO_TSBPDMODE, &no_tsbpd, sizeof no_tsbpd) == SRT_ERROR
      || srt_setsockflag (sock, SRTO_STREAMID, streamid, (int) strlen (streamid)) == SRT_ERROR)
    goto failed;
  if (core->encryption)
    {
      char *passphrase = tether_srt_passphrase_derive (core->app_secret, token);
      int rc = srt_setsockflag (sock, SRTO_PASSPHRASE, passphrase, (int) strlen (passphrase));

      tether_srt_passphrase_free (passphrase);
      if (rc == SRT_ERROR)
        goto failed;
    }
  if (srt_connect (sock, (struct sockaddr *) &answer->addr, answer->addr_len) == SRT_ERROR)
    goto failed;

  conn = g_new0 (RelayConn, 1);
  conn->sock = sock;
  conn->mode = TETHER_SRT_MODE_PUBLISH;
  conn->user_id = g_steal_pointer (&user);
  conn->pull_origin = g_strdup (answer->node_id);
  conn->stream = stream;
  conn->last_data_at = g_get_monotonic_time ();
  g_hash_table_insert (core->conns, GINT_TO_POINTER (sock), conn);
  srt_epoll_add_usock (core->eid, sock, &events);

  stream->publisher = conn;
  relay_stream_forget_media (stream);
  pull->conn = conn;
  pull->connected_at = conn->last_data_at;
  pull->got_data = FALSE;
  pull->state = RELAY_PULL_CONNECTING;
  if (pull->connects++ > 0)
    STATS_ADD (core, pull_restarts, 1);
  g_info ("Relay: pulling stream %s from node %s", stream->id, answer->node_id);
  return;

failed:
  g_warning ("Relay: cannot pull stream %s from node %s: %s", stream->id, answer->node_id,
             srt_getlasterror_str ());
  if (sock != SRT_INVALID_SOCK)
    srt_close (sock);
  pull_wait (pull);
}

/* Players of another room than the one the locate func named go, as for a stream
 * whose owner's room this node knows. */
gboolean
relay_pull_room_allows (RelayStream *stream,
                        RelayConn   *player)
{
  RelayPull *pull = stream->pull;

  return pull == NULL || pull->room_id == NULL || player->room_id == NULL
         || strcmp (pull->room_id, player->room_id) == 0;
}

static void
pull_answered (RelayCore    *core,
               RelayLocated *answer)
{
  RelayStream *stream = g_hash_table_lookup (core->streams, answer->stream_id);
  RelayPull *pull = stream != NULL ? stream->pull : NULL;

  if (pull == NULL || pull->state != RELAY_PULL_LOCATING || pull->serial != answer->serial)
    return;

  if (answer->node_id == NULL || g_strcmp0 (answer->node_id, core->node_id) == 0)
    {
      g_debug ("Relay: stream %s is published on no other node (yet)", stream->id);
      pull_wait (pull);
      return;
    }

  g_free (pull->origin);
  pull->origin = g_strdup (answer->node_id);
  if (g_strcmp0 (pull->room_id, answer->room_id) != 0)
    {
      g_free (pull->room_id);
      pull->room_id = g_strdup (answer->room_id);
      relay_stream_check_players (core, stream, g_get_monotonic_time ());
    }
  pull_connect (core, stream, answer);
}

/* What the locate func answered since the last pass of the loop. */
void
relay_pull_take_answers (RelayCore *core)
{
  GQueue batch;
  RelayLocated *answer;

  if (g_atomic_int_get (&core->n_answers) == 0)
    return;

  g_mutex_lock (&core->pull_lock);
  batch = core->answers;
  g_queue_init (&core->answers);
  g_atomic_int_set (&core->n_answers, 0);
  g_mutex_unlock (&core->pull_lock);

  while ((answer = g_queue_pop_head (&batch)) != NULL)
    {
      pull_answered (core, answer);
      located_free (answer);
    }
}

/* An event on a pull's connection: connected (SRT_EPOLL_OUT of a caller), data. */
void
relay_pull_conn_event (RelayCore *core,
                       RelayConn *conn,
                       int        events)
{
  RelayPull *pull = conn->stream->pull;

  if (pull == NULL || pull->conn != conn)
    return;

  if (pull->state == RELAY_PULL_CONNECTING && (events & SRT_EPOLL_OUT)
      && srt_getsockstate (conn->sock) == SRTS_CONNECTED)
    {
      int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;

      pull->state = RELAY_PULL_CONNECTED;
      srt_epoll_update_usock (core->eid, conn->sock, &in);
      g_message ("Relay: pulling stream %s from node %s", conn->stream->id, conn->pull_origin);
    }
  /* A refused handshake: say why (another app secret or --srt-encryption on the
   * origin, a token it does not take). */
  if (pull->state == RELAY_PULL_CONNECTING && (events & SRT_EPOLL_ERR))
    {
      int reason = srt_getrejectreason (conn->sock);

      if (reason != SRT_REJ_UNKNOWN && reason != SRT_REJ_TIMEOUT)
        g_warning ("Relay: node %s refused the pull of stream %s: %d %s", conn->pull_origin,
                   conn->stream->id, reason, srt_rejectreason_str (reason));
    }
  if ((events & SRT_EPOLL_IN) && relay_publisher_read (core, conn) > 0)
    {
      pull->got_data = TRUE;
      pull->failures = 0;
    }
}

/* A pull's connection closed. Unless the pull itself ended, it broke (the origin
 * died or dropped it, it never connected, it stalled): ask the locate func again. */
void
relay_pull_conn_closed (RelayCore  *core,
                        RelayConn  *conn,
                        const char *reason)
{
  RelayStream *stream = conn->stream;
  RelayPull *pull = stream->pull;

  if (stream->publisher == conn)
    {
      stream->publisher = NULL;
      relay_stream_forget_media (stream);
    }
  if (pull == NULL || pull->conn != conn)
    return;

  pull->conn = NULL;
  if (g_atomic_int_get (&core->stopping))
    return;
  g_message ("Relay: pull of stream %s from node %s broke (%s): locating it again", stream->id,
             conn->pull_origin, reason);
  pull_wait (pull);
}

/* Closes the other nodes' pulls of @stream: its publisher here left. */
void
relay_pull_drop_served (RelayCore   *core,
                        RelayStream *stream,
                        const char  *why)
{
  for (guint i = 0; i < stream->players->len; i++)
    {
      RelayConn *player = g_ptr_array_index (stream->players, i);

      if (player->pull_node != NULL)
        relay_conn_doom (core, player, why);
    }
}

static void
pull_check (RelayCore   *core,
            RelayStream *stream,
            gint64       now,
            GPtrArray   *ended)
{
  RelayPull *pull = stream->pull;
  RelayConn *conn = pull->conn;

  if (stream->players->len > 0)
    pull->idle_since = 0;
  else if (pull->idle_since == 0)
    pull->idle_since = now;
  else if (now - pull->idle_since >= PULL_LINGER_US)
    {
      g_ptr_array_add (ended, stream);
      return;
    }

  switch (pull->state)
    {
    case RELAY_PULL_WAITING:
      if (now >= pull->next_at && has_own_player (stream))
        pull_locate (core, stream);
      break;
    case RELAY_PULL_LOCATING:
      if (now >= pull->next_at)
        {
          g_warning ("Relay: the locate func did not answer for stream %s in %d s", stream->id,
                     (int) (PULL_LOCATE_TIMEOUT_US / G_USEC_PER_SEC));
          pull_wait (pull);
        }
      break;
    case RELAY_PULL_CONNECTING:
      if (conn->close_reason == NULL
          && now - pull->connected_at > (PULL_CONNECT_TIMEOUT_MS + 500) * G_TIME_SPAN_MILLISECOND)
        relay_conn_doom (core, conn, "connect-timeout");
      break;
    case RELAY_PULL_CONNECTED:
      if (conn->close_reason == NULL
          && now - conn->last_data_at > (pull->got_data ? PULL_STALL_US : PULL_FIRST_DATA_US))
        relay_conn_doom (core, conn, "stalled");
      break;
    }
}

static void
pull_metrics (RelayCore *core)
{
  GString *lines = g_string_new (NULL);
  GHashTableIter iter;
  RelayStream *stream;
  gboolean header = FALSE;
  guint n = 0;

  g_hash_table_iter_init (&iter, core->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream))
    {
      if (stream->pull == NULL)
        continue;
      if (!header)
        g_string_append (lines,
                         "# HELP tether_media_stream_pull_connections SRT connections this node "
                         "opened to pull the stream from its origin (1, plus one per re-pull).\n"
                         "# TYPE tether_media_stream_pull_connections counter\n");
      header = TRUE;
      g_string_append_printf (lines, "tether_media_stream_pull_connections{stream=\"%s\"} %"
                              G_GUINT64_FORMAT "\n", stream->id, stream->pull->connects);
      n++;
    }
  core->n_pulled_streams = n;

  g_mutex_lock (&core->stats_lock);
  g_free (core->pull_lines);
  core->pull_lines = g_string_free (lines, FALSE);
  g_mutex_unlock (&core->stats_lock);
}

/* Every tick: retries, timeouts, the linger after the last player, the metrics. */
void
relay_pull_tick (RelayCore *core,
                 gint64     now)
{
  g_autoptr(GPtrArray) ended = g_ptr_array_new ();
  GHashTableIter iter;
  RelayStream *stream;
  guint pulled = 0;

  g_hash_table_iter_init (&iter, core->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream))
    if (stream->pull != NULL)
      {
        pull_check (core, stream, now, ended);
        pulled++;
      }

  for (guint i = 0; i < ended->len; i++)
    {
      stream = g_ptr_array_index (ended, i);
      /* With a connection, its close removes the stream. */
      if (!relay_pull_end (core, stream, "no-players"))
        relay_stream_remove_if_unused (core, stream);
    }

  /* Rebuilt while there are pulls, and once more when the last one went. */
  if (pulled > 0 || core->n_pulled_streams > 0)
    pull_metrics (core);
}
