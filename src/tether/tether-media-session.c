/* tether-media-session.c: the media state machine that TetherPublisher and TetherPlayer
 * share — the media-node walk, the retry window, backoff, the one state change, link
 * statistics and the SRT link of each attempt
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-enum-types.h"
#include "tether-media-private.h"
#include "tether-media-session.h"
#include "tether-room-private.h"

/* Between two attempts; short, the connect timeout already paces a dead node. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define CONNECT_TIMEOUT_MS 1000
/* The one retry of the same node after a break: enough for a handshake that works, short
 * enough that a dead node does not hold the stream (and its viewers) past 2 s. */
#define BREAK_RETRY_CONNECT_TIMEOUT_MS 400
#define PEER_IDLE_MS 2000
#define STATS_TICK_MS 200

/**
 * TetherMediaSession:
 *
 * The media state machine of a publisher or a player (see docs/design.md, 'The
 * publish and play state machines'): IDLE → REQUESTING → ACTIVE, back to REQUESTING on a media break, IDLE
 * again on stop(), on a steady error, when the room is left, or when nothing worked
 * for #TetherMediaSession:av-retry-time seconds. Each change is one
 * `state-changed` emission of the subclass with an error code and extended data
 * (`{"stream_id", "node", "attempt", "reject"?, "message"?}`).
 *
 * ## The failover rule
 *
 * One attempt is one SRT connection to one media node. The nodes are tried in a
 * list built from the room's node list (tether_room_dup_media_node_ids()):
 *
 * - the *anchor* first, then every other node in the order the room gave;
 * - the anchor is the preferred node (#TetherMediaSession:node: the node the
 *   stream is on for a player, the chosen node for a publisher, else the room's
 *   first node) until an attempt succeeds, and the node of the last success after
 *   that; when the room service cascades media (login_ok's `media_edge`), a
 *   player's preferred node is that edge node instead, which pulls the stream from
 *   wherever it is published;
 * - an attempt that fails (no answer within the connect timeout, a refusal that is
 *   not final, no usable URL, no node known yet) moves to the next node of the list,
 *   wrapping around, after a jittered backoff that grows with each round of the list
 *   (100 ms up to 1 s);
 * - a break of an established session (the link broke, no data or no
 *   acknowledgement for #TetherMediaSession:stall-timeout, a damaged stream)
 *   retries the same node once, 100 ms later — most breaks are the client's own
 *   network and the node still holds the stream — and then walks on as above: the
 *   other nodes in the room's order, starting from its first;
 * - a new preferred node (tether_media_session_set_node(), a player following its
 *   stream to another node) restarts a walk in progress from that node;
 * - a final refusal (bad token, stream id taken) ends the session at once, without
 *   retries; the retry window runs from the break, across all attempts, and its end
 *   makes the session IDLE with a retry-timeout error.
 */

typedef struct
{
  GMainContext *context;
  TetherRoom *room;
  char *stream_id;
  char *node_pref;
  double av_retry_time;
  guint latency;
  double stall_timeout;

  TetherMediaSessionState state;
  int error_code;

  /* The walk (see the class comment). */
  char *anchor;
  GStrv nodes;
  guint node_index;
  char *current_node;
  guint attempt;
  gboolean break_retry;     /* the next attempt is the same node's one retry after a break */

  /* The current attempt. */
  guint generation;
  TetherSrtLink *link;
  gboolean connected;
  GSource *bus_source;

  GSource *window_source;   /* REQUESTING: the av_retry_time window */
  GSource *retry_source;    /* REQUESTING: the pause before the next attempt */
  GSource *stats_source;    /* while not IDLE */

  gint64 stats_at;
  gint64 stats_bytes;
  double bitrate;
  double rtt;
  gint64 packets_lost;
} TetherMediaSessionPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (TetherMediaSession, tether_media_session, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOM,
  PROP_STREAM_ID,
  PROP_NODE,
  PROP_AV_RETRY_TIME,
  PROP_LATENCY,
  PROP_STALL_TIMEOUT,
  PROP_ERROR_CODE,
  PROP_CURRENT_NODE,
  PROP_ATTEMPT,
  PROP_BITRATE,
  PROP_RTT,
  PROP_PACKETS_LOST,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void try_current_node (TetherMediaSession *self);

#define PRIV(self) ((TetherMediaSessionPrivate *) tether_media_session_get_instance_private (self))
#define INFO(self) ((const TetherMediaSessionInfo *) TETHER_MEDIA_SESSION_GET_CLASS (self)->info)

/* ---- helpers --------------------------------------------------------------- */

static const char *
state_name (TetherMediaSession *self,
            int                 state)
{
  GParamSpec *pspec = TETHER_MEDIA_SESSION_GET_CLASS (self)->state_pspec;
  GEnumValue *value = g_enum_get_value (G_PARAM_SPEC_ENUM (pspec)->enum_class, state);

  return value ? value->value_nick : "?";
}

static void
update_double (TetherMediaSession *self,
               double             *field,
               double              value,
               guint               prop_id)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_current_node (TetherMediaSession *self,
                  const char         *node)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  if (g_strcmp0 (priv->current_node, node) == 0)
    return;
  g_free (priv->current_node);
  priv->current_node = g_strdup (node);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT_NODE]);
}

static void
set_attempt (TetherMediaSession *self,
             guint               attempt)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  if (priv->attempt == attempt)
    return;
  priv->attempt = attempt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT]);
}

/* The walk starts again from @anchor at the next attempt. */
static void
reanchor (TetherMediaSession *self,
          const char         *anchor)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  char *copy = g_strdup (anchor);

  g_free (priv->anchor);
  priv->anchor = copy;
  g_clear_pointer (&priv->nodes, g_strfreev);
  priv->node_index = 0;
}

/* Ends the attempt: the link thread is stopped and joined, then the subclass takes
 * down what it built for it. */
static void
end_attempt (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);

  if (priv->link != NULL)
    {
      tether_srt_link_stop (priv->link);
      g_clear_pointer (&priv->link, tether_srt_link_unref);
    }
  priv->connected = FALSE;
  if (klass->end_attempt != NULL)
    klass->end_attempt (self);
}

/* ---- statistics ------------------------------------------------------------ */

static gboolean
stats_cb (gpointer data)
{
  TetherMediaSession *self = data;
  TetherMediaSessionPrivate *priv = PRIV (self);
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);
  gint64 now = g_get_monotonic_time ();
  gint64 bytes = priv->link ? tether_srt_link_get_bytes (priv->link) : 0;
  double seconds = (now - priv->stats_at) / (double) G_USEC_PER_SEC;
  SRT_TRACEBSTATS perf;

  if (priv->stats_at == 0 || seconds <= 0 || bytes < priv->stats_bytes)
    {
      /* A new window (a new link counts from zero). */
      priv->stats_at = now;
      priv->stats_bytes = bytes;
      if (klass->update_stats != NULL)
        klass->update_stats (self, 0);
      return G_SOURCE_CONTINUE;
    }
  if (seconds < 1.0)
    return G_SOURCE_CONTINUE;

  g_object_freeze_notify (G_OBJECT (self));
  update_double (self, &priv->bitrate, 8.0 * (bytes - priv->stats_bytes) / seconds, PROP_BITRATE);
  if (priv->link != NULL && tether_srt_link_get_stats (priv->link, &perf))
    {
      gint64 lost = INFO (self)->receiver ? perf.pktRcvLossTotal : perf.pktSndLossTotal;

      update_double (self, &priv->rtt, perf.msRTT, PROP_RTT);
      if (priv->packets_lost != lost)
        {
          priv->packets_lost = lost;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PACKETS_LOST]);
        }
    }
  if (klass->update_stats != NULL)
    klass->update_stats (self, seconds);
  g_object_thaw_notify (G_OBJECT (self));

  priv->stats_at = now;
  priv->stats_bytes = bytes;
  return G_SOURCE_CONTINUE;
}

/* ---- the state machine ----------------------------------------------------- */

static gboolean window_expired_cb (gpointer data);

/* The one place the state changes: logs, switches the timers, notifies, emits the
 * subclass's "state-changed". */
static void
set_state (TetherMediaSession      *self,
           TetherMediaSessionState  state,
           int                      error_code,
           int                      reject,
           const char              *message)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);
  g_autofree char *extended = NULL;
  TetherMediaSessionState old = priv->state;

  if (old == state && priv->error_code == error_code)
    return;

  g_debug ("%s %s: %s → %s (%d %s)%s%s", G_OBJECT_TYPE_NAME (self), priv->stream_id,
           state_name (self, old), state_name (self, state),
           error_code, tether_error_code_to_string (error_code),
           message ? ": " : "", message ? message : "");

  priv->state = state;
  switch (state)
    {
    case TETHER_MEDIA_SESSION_STATE_IDLE:
      tether_media_clear_source (&priv->window_source);
      tether_media_clear_source (&priv->retry_source);
      tether_media_clear_source (&priv->stats_source);
      break;
    case TETHER_MEDIA_SESSION_STATE_REQUESTING:
      /* The window runs from the moment the break was seen, across all attempts. */
      if (priv->window_source == NULL)
        priv->window_source = tether_media_timeout_source (priv->context, priv->av_retry_time,
                                                           window_expired_cb, self);
      if (priv->stats_source == NULL)
        priv->stats_source = tether_media_timeout_source (priv->context, STATS_TICK_MS / 1000.0,
                                                          stats_cb, self);
      break;
    case TETHER_MEDIA_SESSION_STATE_ACTIVE:
      tether_media_clear_source (&priv->window_source);
      tether_media_clear_source (&priv->retry_source);
      break;
    default:
      g_assert_not_reached ();
    }

  extended = tether_media_extended_data (priv->stream_id, priv->current_node, priv->attempt,
                                         reject, message);

  g_object_freeze_notify (G_OBJECT (self));
  if (old != state)
    g_object_notify_by_pspec (G_OBJECT (self), klass->state_pspec);
  if (priv->error_code != error_code)
    {
      priv->error_code = error_code;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_CODE]);
    }
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, klass->state_changed_signal, 0, state, error_code, extended);
}

/* Ends the session for good: steady errors, the window running out, stop(), the
 * room; @reason is what the subclass tells the room ("stopped", "media_lost"). */
void
tether_media_session_give_up (TetherMediaSession *self,
                              int                 error_code,
                              int                 reject,
                              const char         *message,
                              const char         *reason)
{
  g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self));
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);

  end_attempt (self);
  if (klass->ending != NULL)
    klass->ending (self, reason);
  set_state (self, TETHER_MEDIA_SESSION_STATE_IDLE, error_code, reject, message);
}

static gboolean
window_expired_cb (gpointer data)
{
  TetherMediaSession *self = data;
  TetherMediaSessionPrivate *priv = PRIV (self);

  g_clear_pointer (&priv->window_source, g_source_unref);
  tether_media_session_give_up (self, INFO (self)->retry_timeout_error, 0,
                                INFO (self)->retry_timeout_message, "media_lost");
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer data)
{
  TetherMediaSession *self = data;

  g_clear_pointer (&PRIV (self)->retry_source, g_source_unref);
  try_current_node (self);
  return G_SOURCE_REMOVE;
}

/* The next attempt: on the next node after a jittered backoff that grows with each
 * round of the list, or (@next_node FALSE) on the same node after a short pause. */
static void
schedule_attempt (TetherMediaSession *self,
                  gboolean            next_node)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  guint n = priv->nodes ? g_strv_length (priv->nodes) : 0;
  guint delay = BACKOFF_MIN_MS;

  end_attempt (self);
  if (next_node)
    {
      if (n > 0)
        priv->node_index = (priv->node_index + 1) % n;
      /* A round of the list is over: the next one takes the room's list as it is now
       * (it may have logged in again, on another room-service node, with other media
       * nodes than the ones this walk started with). */
      if (priv->node_index == 0)
        g_clear_pointer (&priv->nodes, g_strfreev);
      delay = MIN (BACKOFF_MAX_MS, BACKOFF_MIN_MS * (1u << MIN (priv->attempt / MAX (n, 1), 4u)));
      delay = delay / 2 + g_random_int_range (0, (gint32) delay / 2 + 1);
    }
  tether_media_clear_source (&priv->retry_source);
  priv->retry_source = tether_media_timeout_source (priv->context, delay / 1000.0, retry_cb, self);
}

static void
try_current_node (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  const TetherMediaSessionInfo *info = INFO (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *streamid = NULL;
  const char *node, *url, *token;
  GstElement *element;
  guint16 port = 0;
  gboolean break_retry = priv->break_retry;

  priv->break_retry = FALSE;

  end_attempt (self);

  /* Built late: the room may have logged in again since, with another node list. */
  if (priv->nodes == NULL || priv->nodes[0] == NULL)
    {
      g_clear_pointer (&priv->nodes, g_strfreev);
      priv->nodes = tether_media_node_order (priv->room, priv->anchor);
      priv->node_index = 0;
    }
  if (priv->nodes[0] == NULL)
    {
      /* No node known (yet): keep trying within the window, the room may get some. */
      set_current_node (self, NULL);
      set_attempt (self, priv->attempt + 1);
      schedule_attempt (self, TRUE);
      return;
    }

  node = priv->nodes[priv->node_index];
  set_current_node (self, node);
  set_attempt (self, priv->attempt + 1);
  url = tether_room_get_media_node_url (priv->room, node);
  if (url == NULL || !tether_media_parse_srt_url (url, &host, &port, &error))
    {
      g_debug ("%s %s: node %s has no usable URL", G_OBJECT_TYPE_NAME (self), priv->stream_id, node);
      schedule_attempt (self, TRUE);
      return;
    }

  priv->generation++;
  element = TETHER_MEDIA_SESSION_GET_CLASS (self)->prepare_attempt (self, &error);
  if (element == NULL)
    {
      tether_media_session_give_up (self, error->code, 0, error->message, "media_lost");
      return;
    }

  /* The token and the passphrase the room service gave for it: they go together. */
  token = tether_room_get_media_token (priv->room);
  if (token == NULL)
    token = tether_room_get_token (priv->room);
  streamid = tether_srt_stream_id_new (priv->stream_id, info->receiver ? "request" : "publish",
                                       token);
  g_debug ("%s %s: attempt %u on node %s (%s:%u)%s", G_OBJECT_TYPE_NAME (self), priv->stream_id,
           priv->attempt, node, host, port, break_retry ? ", retry after a break" : "");
  priv->link = tether_srt_link_start (priv->generation, info->receiver, host, port, streamid,
                                      tether_room_get_srt_passphrase (priv->room),
                                      (int) priv->latency,
                                      break_retry ? BREAK_RETRY_CONNECT_TIMEOUT_MS
                                                        : CONNECT_TIMEOUT_MS,
                                      PEER_IDLE_MS,
                                      (int) (priv->stall_timeout * 1000), element,
                                      info->receiver ? element : NULL);
}

/* Where the walk starts before a success: a player's edge node when the room
 * service cascades media (it pulls the stream from its origin), else the preferred
 * node. */
static const char *
walk_start (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  const char *edge = INFO (self)->receiver ? _tether_room_get_media_edge (priv->room) : NULL;

  return edge != NULL ? edge : priv->node_pref;
}

/* Whether a player stays on its edge node wherever its stream goes (media cascade). */
gboolean
tether_media_session_follows_edge (TetherMediaSession *self)
{
  return INFO (self)->receiver && _tether_room_get_media_edge (PRIV (self)->room) != NULL;
}

/* A media break: back to REQUESTING, then the same node once — or, @from_preferred,
 * the walk again from the preferred node (the stream moved there). */
void
tether_media_session_media_break (TetherMediaSession *self,
                                  gboolean            from_preferred,
                                  const char         *why)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  g_debug ("%s %s: media break on node %s: %s", G_OBJECT_TYPE_NAME (self), priv->stream_id,
           priv->current_node, why);
  set_state (self, TETHER_MEDIA_SESSION_STATE_REQUESTING, TETHER_ERROR_MEDIA_NODE_UNREACHABLE,
             0, why);
  if (from_preferred)
    reanchor (self, walk_start (self));
  priv->break_retry = !from_preferred;
  schedule_attempt (self, FALSE);
}

/* Media flows: ACTIVE, and the next walk starts from this node. */
void
tether_media_session_succeeded (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  set_attempt (self, 0);
  reanchor (self, priv->current_node);
  priv->nodes = tether_media_node_order (priv->room, priv->anchor);
  set_state (self, TETHER_MEDIA_SESSION_STATE_ACTIVE, 0, 0, NULL);
}

/* REQUESTING now, a first attempt on the preferred node (or the room's first). */
gboolean
tether_media_session_start_walk (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  set_attempt (self, 0);
  g_clear_pointer (&priv->current_node, g_free);
  reanchor (self, walk_start (self));
  priv->nodes = tether_media_node_order (priv->room, priv->anchor);
  priv->stats_at = 0;
  set_state (self, TETHER_MEDIA_SESSION_STATE_REQUESTING, 0, 0, NULL);
  try_current_node (self);
  return priv->state != TETHER_MEDIA_SESSION_STATE_IDLE;
}

/* ---- the bus: where the streaming and link threads reach the main context -- */

static void
on_link_event (TetherMediaSession *self,
               TetherSrtLinkEvent  event,
               int                 reject,
               const char         *text)
{
  TetherMediaSessionPrivate *priv = PRIV (self);
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);

  switch (event)
    {
    case TETHER_SRT_LINK_CONNECTED:
      priv->connected = TRUE;
      if (klass->link_connected != NULL)
        klass->link_connected (self);
      break;

    case TETHER_SRT_LINK_FIRST_DATA:
      if (klass->link_first_data != NULL)
        klass->link_first_data (self);
      break;

    case TETHER_SRT_LINK_FAILED:
      if (reject == SRT_REJX_CONFLICT)
        tether_media_session_give_up (self, INFO (self)->taken_error, reject, text, "media_lost");
      else if (tether_media_reject_is_encryption (reject))
        tether_media_session_give_up (self, TETHER_ERROR_MEDIA_ENCRYPTION, reject, text, "media_lost");
      else if (tether_media_reject_is_steady (reject))
        tether_media_session_give_up (self, INFO (self)->denied_error, reject, text, "media_lost");
      else
        {
          g_debug ("%s %s: node %s failed: %s", G_OBJECT_TYPE_NAME (self), priv->stream_id,
                   priv->current_node, text);
          schedule_attempt (self, TRUE);
        }
      break;

    case TETHER_SRT_LINK_BROKEN:
      tether_media_session_media_break (self, FALSE, text);
      break;

    default:
      break;
    }
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    data)
{
  TetherMediaSession *self = data;
  TetherMediaSessionPrivate *priv = PRIV (self);
  TetherMediaSessionClass *klass = TETHER_MEDIA_SESSION_GET_CLASS (self);
  TetherSrtLinkEvent event;
  guint generation = 0;
  int reject = 0;
  const char *text = NULL;

  if (tether_srt_link_parse_message (message, &event, &generation, &reject, &text))
    {
      if (priv->link != NULL && generation == priv->generation)
        on_link_event (self, event, reject, text);
    }
  else if (klass->bus_message != NULL)
    klass->bus_message (self, message);
  return G_SOURCE_CONTINUE;
}

/* Watches @pipeline's bus on the session's context (NULL: no more). */
void
tether_media_session_watch_bus (TetherMediaSession *self,
                                GstElement         *pipeline)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  tether_media_clear_source (&priv->bus_source);
  if (pipeline != NULL)
    priv->bus_source = tether_media_bus_source (pipeline, priv->context, bus_cb, self);
}

/* For the subclasses' dispose: no timer, no link, no watch left; no signal. */
void
tether_media_session_shutdown (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  tether_media_clear_source (&priv->window_source);
  tether_media_clear_source (&priv->retry_source);
  tether_media_clear_source (&priv->stats_source);
  end_attempt (self);
  tether_media_clear_source (&priv->bus_source);
}

/* ---- the room -------------------------------------------------------------- */

static void
on_room_state_changed (TetherRoom      *room,
                       TetherRoomState  room_state,
                       int              error_code,
                       const char      *extended,
                       gpointer         data)
{
  TetherMediaSession *self = data;

  if (PRIV (self)->state == TETHER_MEDIA_SESSION_STATE_IDLE)
    return;
  if (tether_room_state_is_final (room_state))
    {
      /* Logging out is the user's own doing, confirmed or not: no error. */
      if (room_state == TETHER_ROOM_STATE_LOGOUT || room_state == TETHER_ROOM_STATE_LOGOUT_FAILED)
        error_code = 0;
      else if (error_code == 0)
        error_code = TETHER_ERROR_NOT_LOGGED_IN;
      tether_media_session_give_up (self, error_code, 0, "left the room", "stopped");
    }
}

/* ---- for the subclasses ---------------------------------------------------- */

/* Called once from a subclass's class_init: its constants, its "state" property
 * and its "state-changed" signal, which the base notifies and emits. */
void
tether_media_session_class_set_info (TetherMediaSessionClass      *klass,
                                     const TetherMediaSessionInfo *info,
                                     GParamSpec                   *state_pspec,
                                     guint                         state_changed_signal)
{
  klass->info = info;
  klass->state_pspec = state_pspec;
  klass->state_changed_signal = state_changed_signal;
}

guint
tether_media_session_get_generation (TetherMediaSession *self)
{
  return PRIV (self)->generation;
}

TetherSrtLink *
tether_media_session_get_link (TetherMediaSession *self)
{
  return PRIV (self)->link;
}

double
tether_media_session_get_stall_timeout (TetherMediaSession *self)
{
  return PRIV (self)->stall_timeout;
}

guint
tether_media_session_get_latency (TetherMediaSession *self)
{
  return PRIV (self)->latency;
}

/* ---- public API ------------------------------------------------------------ */

/**
 * tether_media_session_get_room:
 * @self: a #TetherMediaSession
 *
 * Returns: (transfer none): the room the stream belongs to
 */
TetherRoom *
tether_media_session_get_room (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), NULL);
  return PRIV (self)->room;
}

/**
 * tether_media_session_get_stream_id:
 * @self: a #TetherMediaSession
 *
 * Returns: the stream id
 */
const char *
tether_media_session_get_stream_id (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), NULL);
  return PRIV (self)->stream_id;
}

/**
 * tether_media_session_get_state:
 * @self: a #TetherMediaSession
 *
 * Returns: the state, with the numeric value of the subclass's own state enum
 */
TetherMediaSessionState
tether_media_session_get_state (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), TETHER_MEDIA_SESSION_STATE_IDLE);
  return PRIV (self)->state;
}

/**
 * tether_media_session_get_error_code:
 * @self: a #TetherMediaSession
 *
 * Returns: the #TetherError code of the last state change, 0 when none
 */
int
tether_media_session_get_error_code (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->error_code;
}

/**
 * tether_media_session_get_node:
 * @self: a #TetherMediaSession
 *
 * Returns: (nullable): the preferred media node
 */
const char *
tether_media_session_get_node (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), NULL);
  return PRIV (self)->node_pref;
}

/**
 * tether_media_session_set_node:
 * @self: a #TetherMediaSession
 * @node: (nullable): the media node to try first; %NULL or "" for the room's first
 *
 * Sets the preferred node. A walk in progress (REQUESTING) starts again from it;
 * otherwise it applies from the next start.
 */
void
tether_media_session_set_node (TetherMediaSession *self,
                               const char         *node)
{
  TetherMediaSessionPrivate *priv;

  g_return_if_fail (TETHER_IS_MEDIA_SESSION (self));
  priv = PRIV (self);

  if (node != NULL && *node == '\0')
    node = NULL;
  if (g_strcmp0 (priv->node_pref, node) == 0)
    return;
  g_free (priv->node_pref);
  priv->node_pref = g_strdup (node);
  if (priv->state == TETHER_MEDIA_SESSION_STATE_REQUESTING)
    reanchor (self, walk_start (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NODE]);
}

/**
 * tether_media_session_get_current_node:
 * @self: a #TetherMediaSession
 *
 * Returns: (nullable): the media node in use or being tried
 */
const char *
tether_media_session_get_current_node (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), NULL);
  return PRIV (self)->current_node;
}

/**
 * tether_media_session_get_attempt:
 * @self: a #TetherMediaSession
 *
 * Returns: the number of attempts since the last success (0 while media flows)
 */
guint
tether_media_session_get_attempt (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->attempt;
}

/**
 * tether_media_session_get_av_retry_time:
 * @self: a #TetherMediaSession
 *
 * Returns: the retry window in seconds
 */
double
tether_media_session_get_av_retry_time (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->av_retry_time;
}

/**
 * tether_media_session_set_av_retry_time:
 * @self: a #TetherMediaSession
 * @seconds: how long to retry after a break
 *
 * Applies from the next break on.
 */
void
tether_media_session_set_av_retry_time (TetherMediaSession *self,
                                        double              seconds)
{
  g_return_if_fail (TETHER_IS_MEDIA_SESSION (self));
  update_double (self, &PRIV (self)->av_retry_time, seconds, PROP_AV_RETRY_TIME);
}

/**
 * tether_media_session_get_bitrate:
 * @self: a #TetherMediaSession
 *
 * Returns: bits per second over the link, averaged over about a second
 */
double
tether_media_session_get_bitrate (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->bitrate;
}

/**
 * tether_media_session_get_rtt:
 * @self: a #TetherMediaSession
 *
 * Returns: the SRT round-trip time in milliseconds
 */
double
tether_media_session_get_rtt (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->rtt;
}

/**
 * tether_media_session_get_packets_lost:
 * @self: a #TetherMediaSession
 *
 * Returns: packets lost on the current link (received for a player, sent for a
 *   publisher)
 */
gint64
tether_media_session_get_packets_lost (TetherMediaSession *self)
{
  g_return_val_if_fail (TETHER_IS_MEDIA_SESSION (self), 0);
  return PRIV (self)->packets_lost;
}

/* ---- GObject --------------------------------------------------------------- */

static void
tether_media_session_constructed (GObject *object)
{
  TetherMediaSession *self = TETHER_MEDIA_SESSION (object);
  TetherMediaSessionPrivate *priv = PRIV (self);

  G_OBJECT_CLASS (tether_media_session_parent_class)->constructed (object);

  g_assert (priv->room != NULL && priv->stream_id != NULL);
  g_assert (TETHER_MEDIA_SESSION_GET_CLASS (self)->info != NULL);
  g_signal_connect_object (priv->room, "state-changed", G_CALLBACK (on_room_state_changed),
                           self, 0);
}

static void
tether_media_session_dispose (GObject *object)
{
  TetherMediaSession *self = TETHER_MEDIA_SESSION (object);

  tether_media_session_shutdown (self);
  g_clear_object (&PRIV (self)->room);

  G_OBJECT_CLASS (tether_media_session_parent_class)->dispose (object);
}

static void
tether_media_session_finalize (GObject *object)
{
  TetherMediaSessionPrivate *priv = PRIV (TETHER_MEDIA_SESSION (object));

  g_free (priv->stream_id);
  g_free (priv->node_pref);
  g_free (priv->anchor);
  g_free (priv->current_node);
  g_strfreev (priv->nodes);
  g_main_context_unref (priv->context);

  G_OBJECT_CLASS (tether_media_session_parent_class)->finalize (object);
}

static void
tether_media_session_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TetherMediaSessionPrivate *priv = PRIV (TETHER_MEDIA_SESSION (object));

  switch (prop_id)
    {
    case PROP_ROOM: g_value_set_object (value, priv->room); break;
    case PROP_STREAM_ID: g_value_set_string (value, priv->stream_id); break;
    case PROP_NODE: g_value_set_string (value, priv->node_pref); break;
    case PROP_AV_RETRY_TIME: g_value_set_double (value, priv->av_retry_time); break;
    case PROP_LATENCY: g_value_set_uint (value, priv->latency); break;
    case PROP_STALL_TIMEOUT: g_value_set_double (value, priv->stall_timeout); break;
    case PROP_ERROR_CODE: g_value_set_int (value, priv->error_code); break;
    case PROP_CURRENT_NODE: g_value_set_string (value, priv->current_node); break;
    case PROP_ATTEMPT: g_value_set_uint (value, priv->attempt); break;
    case PROP_BITRATE: g_value_set_double (value, priv->bitrate); break;
    case PROP_RTT: g_value_set_double (value, priv->rtt); break;
    case PROP_PACKETS_LOST: g_value_set_int64 (value, priv->packets_lost); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_media_session_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  TetherMediaSession *self = TETHER_MEDIA_SESSION (object);
  TetherMediaSessionPrivate *priv = PRIV (self);

  switch (prop_id)
    {
    case PROP_ROOM: priv->room = g_value_dup_object (value); break;
    case PROP_STREAM_ID: priv->stream_id = g_value_dup_string (value); break;
    case PROP_NODE: tether_media_session_set_node (self, g_value_get_string (value)); break;
    case PROP_AV_RETRY_TIME:
      tether_media_session_set_av_retry_time (self, g_value_get_double (value));
      break;
    case PROP_LATENCY:
      if (priv->latency != g_value_get_uint (value))
        {
          priv->latency = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_STALL_TIMEOUT:
      update_double (self, &priv->stall_timeout, g_value_get_double (value), prop_id);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_media_session_class_init (TetherMediaSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_media_session_constructed;
  object_class->dispose = tether_media_session_dispose;
  object_class->finalize = tether_media_session_finalize;
  object_class->get_property = tether_media_session_get_property;
  object_class->set_property = tether_media_session_set_property;

  /**
   * TetherMediaSession:room:
   *
   * The room the stream belongs to; leaving it ends the session.
   */
  properties[PROP_ROOM] = g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM, co);
  /**
   * TetherMediaSession:stream-id:
   *
   * The stream id.
   */
  properties[PROP_STREAM_ID] = g_param_spec_string ("stream-id", NULL, NULL, NULL, co);
  /**
   * TetherMediaSession:node:
   *
   * The preferred media node: the first one tried (for a player, the node the stream
   * is on, TetherStream:node). %NULL: the room's first node.
   */
  properties[PROP_NODE] = g_param_spec_string ("node", NULL, NULL, NULL, rw);
  /**
   * TetherMediaSession:av-retry-time:
   *
   * Seconds of retrying after a media break before giving up.
   */
  properties[PROP_AV_RETRY_TIME] =
    g_param_spec_double ("av-retry-time", NULL, NULL, 0, G_MAXDOUBLE, 1200, rw);
  /**
   * TetherMediaSession:latency:
   *
   * The SRT latency in milliseconds, from the next attempt on.
   */
  properties[PROP_LATENCY] = g_param_spec_uint ("latency", NULL, NULL, 20, 8000, 120, rw);
  /**
   * TetherMediaSession:stall-timeout:
   *
   * Seconds without data (a player) or without acknowledgements (a publisher) on an
   * established link that count as a media break; libsrt alone would take seconds.
   */
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_double ("stall-timeout", NULL, NULL, 0.1, 60, 1.0, rw);
  /**
   * TetherMediaSession:error-code:
   *
   * The #TetherError code of the last state change, 0 when none.
   */
  properties[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, 0, G_MAXINT, 0, ro);
  /**
   * TetherMediaSession:current-node:
   *
   * The media node in use or being tried.
   */
  properties[PROP_CURRENT_NODE] = g_param_spec_string ("current-node", NULL, NULL, NULL, ro);
  /**
   * TetherMediaSession:attempt:
   *
   * Attempts since the last success; each new attempt notifies, after
   * #TetherMediaSession:current-node names its node. 0 while media flows.
   */
  properties[PROP_ATTEMPT] = g_param_spec_uint ("attempt", NULL, NULL, 0, G_MAXUINT, 0, ro);
  /**
   * TetherMediaSession:bitrate:
   *
   * Bits per second over the link (received or sent), updated once a second.
   */
  properties[PROP_BITRATE] = g_param_spec_double ("bitrate", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  /**
   * TetherMediaSession:rtt:
   *
   * The SRT round-trip time in milliseconds, updated once a second.
   */
  properties[PROP_RTT] = g_param_spec_double ("rtt", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  /**
   * TetherMediaSession:packets-lost:
   *
   * SRT losses on the current link (receive losses for a player, send losses for a
   * publisher), updated once a second.
   */
  properties[PROP_PACKETS_LOST] =
    g_param_spec_int64 ("packets-lost", NULL, NULL, 0, G_MAXINT64, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_media_session_init (TetherMediaSession *self)
{
  TetherMediaSessionPrivate *priv = PRIV (self);

  priv->context = g_main_context_ref_thread_default ();
  priv->av_retry_time = 1200;
  priv->latency = 120;
  priv->stall_timeout = 1.0;
  priv->state = TETHER_MEDIA_SESSION_STATE_IDLE;
}
