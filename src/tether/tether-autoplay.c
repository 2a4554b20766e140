/* tether-autoplay.c: stream ADD → a player, stream DELETE → none; players that end in
 * error are retried after a jittered delay, a bounded number of times
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-autoplay.h"
#include "tether-error.h"
#include "tether-media-private.h"
#include "tether-stream.h"

typedef struct
{
  TetherAutoplay *self;     /* not a reference: entries die with the autoplay */
  TetherPlayer *player;
  guint retries;
  GSource *retry_source;
} Entry;

struct _TetherAutoplay
{
  GObject parent_instance;

  GMainContext *context;
  TetherRoom *room;
  double av_retry_time;
  double retry_delay_min;
  double retry_delay_max;
  guint max_retries;
  guint max_players;
  gboolean play_own_streams;

  GHashTable *entries;      /* stream id → Entry */
  GQueue waiting;           /* TetherStream beyond max-players, oldest first */
  GListStore *players;
  GSource *adopt_source;    /* plays the streams the room had at construction */
  gboolean stopped;
};

/**
 * TetherAutoplay:
 *
 * The viewer policy of docs/design.md ('The autoplay policy'): a [class@Tether.Player] for every
 * stream of a [class@Tether.Room] while the stream exists. A stream ADD creates and
 * starts a player, a DELETE stops and drops it; a player that ends in error is retried
 * after a random delay between [property@Tether.Autoplay:retry-delay-min] and
 * [property@Tether.Autoplay:retry-delay-max], at most
 * [property@Tether.Autoplay:max-retries] times until the stream is added again.
 *
 * Connect to [signal@Tether.Autoplay::player-added] to give each player a video sink
 * before it starts, or watch [property@Tether.Autoplay:players].
 */
G_DEFINE_FINAL_TYPE (TetherAutoplay, tether_autoplay, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOM,
  PROP_AV_RETRY_TIME,
  PROP_RETRY_DELAY_MIN,
  PROP_RETRY_DELAY_MAX,
  PROP_MAX_RETRIES,
  PROP_MAX_PLAYERS,
  PROP_PLAY_OWN_STREAMS,
  PROP_PLAYERS,
  N_PROPS
};

enum
{
  PLAYER_ADDED,
  PLAYER_REMOVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  tether_media_clear_source (&entry->retry_source);
  g_signal_handlers_disconnect_by_data (entry->player, entry);
  tether_player_stop (entry->player);
  g_clear_object (&entry->player);
  g_free (entry);
}

static void
entry_start (Entry *entry)
{
  g_autoptr(GError) error = NULL;

  if (!tether_player_start (entry->player, &error) && error != NULL)
    g_warning ("Autoplay: cannot play %s: %s", tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (entry->player)),
               error->message);
}

static gboolean
retry_cb (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->retry_source, g_source_unref);
  g_debug ("Autoplay: retry %u of %s", entry->retries,
           tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (entry->player)));
  entry_start (entry);
  return G_SOURCE_REMOVE;
}

static void
on_player_state_changed (TetherPlayer      *player,
                         TetherPlayerState  state,
                         int                error_code,
                         const char        *extended,
                         gpointer           data)
{
  Entry *entry = data;
  TetherAutoplay *self = entry->self;

  if (state != TETHER_PLAYER_STATE_NO_PLAY || error_code == 0
      || error_code == TETHER_ERROR_PLAY_STREAM_DELETED || self->stopped)
    return;
  /* The stream may be gone by now; only a stream still in the room is retried. */
  if (entry->retries >= self->max_retries)
    {
      g_debug ("Autoplay: %s failed (%d), no retries left", tether_media_session_get_stream_id (TETHER_MEDIA_SESSION (player)),
               error_code);
      return;
    }
  entry->retries++;
  tether_media_clear_source (&entry->retry_source);
  entry->retry_source = tether_media_timeout_source (self->context,
                                                     tether_media_jitter (self->retry_delay_min,
                                                                          self->retry_delay_max),
                                                     retry_cb, entry);
}

static gboolean
find_player (TetherAutoplay *self,
             TetherPlayer   *player,
             guint          *position)
{
  return g_list_store_find (self->players, player, position);
}

static GList *
find_waiting (TetherAutoplay *self,
              const char     *id)
{
  for (GList *l = self->waiting.head; l != NULL; l = l->next)
    if (g_strcmp0 (tether_stream_get_id (l->data), id) == 0)
      return l;
  return NULL;
}

static void
add_stream (TetherAutoplay *self,
            TetherStream   *stream)
{
  const char *id = tether_stream_get_id (stream);
  Entry *entry;

  if (!self->play_own_streams
      && g_strcmp0 (tether_stream_get_user_id (stream), tether_room_get_user_id (self->room)) == 0)
    return;

  entry = g_hash_table_lookup (self->entries, id);
  if (entry != NULL)
    {
      /* Announced again (moved to another node, or back after an absence): a fresh chance. */
      tether_media_session_set_node (TETHER_MEDIA_SESSION (entry->player), tether_stream_get_node (stream));
      entry->retries = 0;
      if (tether_player_get_state (entry->player) == TETHER_PLAYER_STATE_NO_PLAY
          && entry->retry_source == NULL)
        entry_start (entry);
      return;
    }

  /* Full: the stream waits, unpulled, for a player to go. */
  if (self->max_players > 0 && g_hash_table_size (self->entries) >= self->max_players)
    {
      if (find_waiting (self, id) == NULL)
        g_queue_push_tail (&self->waiting, g_object_ref (stream));
      return;
    }

  entry = g_new0 (Entry, 1);
  entry->self = self;
  entry->player = tether_player_new (self->room, id, tether_stream_get_node (stream),
                                     self->av_retry_time);
  g_signal_connect (entry->player, "state-changed", G_CALLBACK (on_player_state_changed), entry);
  g_hash_table_replace (self->entries, g_strdup (id), entry);
  g_list_store_append (self->players, entry->player);

  g_signal_emit (self, signals[PLAYER_ADDED], 0, entry->player);
  entry_start (entry);
}

static void
remove_stream (TetherAutoplay *self,
               const char     *id)
{
  g_autoptr(TetherPlayer) player = NULL;
  Entry *entry = g_hash_table_lookup (self->entries, id);
  GList *waiting = find_waiting (self, id);
  guint position;

  if (waiting != NULL)
    {
      g_object_unref (waiting->data);
      g_queue_delete_link (&self->waiting, waiting);
    }
  if (entry == NULL)
    return;
  player = g_object_ref (entry->player);
  g_hash_table_remove (self->entries, id);   /* stops it, cancels a pending retry */
  if (find_player (self, player, &position))
    g_list_store_remove (self->players, position);
  g_signal_emit (self, signals[PLAYER_REMOVED], 0, player);

  /* A place is free: the longest-waiting stream gets it. */
  if (!self->stopped && !g_queue_is_empty (&self->waiting))
    {
      g_autoptr(TetherStream) next = g_queue_pop_head (&self->waiting);

      add_stream (self, next);
    }
}

static void
on_stream_update (TetherRoom       *room,
                  TetherUpdateType  update,
                  GPtrArray        *streams,
                  const char       *reason,
                  gpointer          data)
{
  TetherAutoplay *self = data;

  if (self->stopped)
    return;
  for (guint i = 0; streams != NULL && i < streams->len; i++)
    {
      TetherStream *stream = g_ptr_array_index (streams, i);

      if (update == TETHER_UPDATE_ADD)
        add_stream (self, stream);
      else if (g_strcmp0 (reason, "replaced") != 0)
        remove_stream (self, tether_stream_get_id (stream));
      /* else: a changed stream (e.g. moved to another node); its ADD follows and
       * updates the player in place. */
    }
}

static void
remove_all (TetherAutoplay *self)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) ids = NULL;
  GHashTableIter iter;
  const char *id;

  /* Nothing waiting may take the places this frees. */
  g_queue_clear_full (&self->waiting, g_object_unref);
  /* Copied: removing frees the keys. */
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_strv_builder_add (b, id);
  ids = g_strv_builder_end (b);
  for (guint i = 0; ids[i] != NULL; i++)
    remove_stream (self, ids[i]);
}

static void
on_room_state_changed (TetherRoom      *room,
                       TetherRoomState  state,
                       int              error_code,
                       const char      *extended,
                       gpointer         data)
{
  TetherAutoplay *self = data;

  if (tether_room_state_is_final (state))
    remove_all (self);
}

/**
 * tether_autoplay_new:
 * @room: the room to watch; the streams it has start playing from the next main loop
 *   iteration (connect to #TetherAutoplay::player-added before), later ones as they come
 * @av_retry_time: seconds each player retries after a media break
 *   ([property@Tether.Autoplay:av-retry-time])
 *
 * Creates the autoplay of @room. It lives on the thread-default main context of the
 * caller.
 *
 * Returns: (transfer full): a new #TetherAutoplay
 */
TetherAutoplay *
tether_autoplay_new (TetherRoom *room,
                     double      av_retry_time)
{
  g_return_val_if_fail (TETHER_IS_ROOM (room), NULL);

  return g_object_new (TETHER_TYPE_AUTOPLAY, "room", room, "av-retry-time", av_retry_time, NULL);
}

/**
 * tether_autoplay_get_room:
 * @self: an autoplay
 *
 * Gets the room whose streams @self plays.
 *
 * Returns: (transfer none): the room whose streams @self plays
 */
TetherRoom *
tether_autoplay_get_room (TetherAutoplay *self)
{
  g_return_val_if_fail (TETHER_IS_AUTOPLAY (self), NULL);
  return self->room;
}

/**
 * tether_autoplay_get_players:
 * @self: an autoplay
 *
 * Gets the players of the streams being played.
 *
 * Returns: (transfer none): a #GListModel of #TetherPlayer, in the order the streams
 *   came
 */
GListModel *
tether_autoplay_get_players (TetherAutoplay *self)
{
  g_return_val_if_fail (TETHER_IS_AUTOPLAY (self), NULL);
  return G_LIST_MODEL (self->players);
}

/**
 * tether_autoplay_lookup:
 * @self: an autoplay
 * @stream_id: a stream id of the room
 *
 * Finds the player of one stream.
 *
 * Returns: (nullable) (transfer none): the player of @stream_id, or %NULL if it has
 *   none (no such stream, or it waits beyond [property@Tether.Autoplay:max-players])
 */
TetherPlayer *
tether_autoplay_lookup (TetherAutoplay *self,
                        const char     *stream_id)
{
  Entry *entry;

  g_return_val_if_fail (TETHER_IS_AUTOPLAY (self), NULL);
  entry = g_hash_table_lookup (self->entries, stream_id);
  return entry ? entry->player : NULL;
}

/**
 * tether_autoplay_get_retries:
 * @self: an autoplay
 * @stream_id: a stream id of the room
 *
 * Counts the retries of one stream's player after errors; at
 * [property@Tether.Autoplay:max-retries] the stream is not retried any more.
 *
 * Returns: how many times the player of @stream_id was retried since its last ADD
 */
guint
tether_autoplay_get_retries (TetherAutoplay *self,
                             const char     *stream_id)
{
  Entry *entry;

  g_return_val_if_fail (TETHER_IS_AUTOPLAY (self), 0);
  entry = g_hash_table_lookup (self->entries, stream_id);
  return entry ? entry->retries : 0;
}

/**
 * tether_autoplay_stop:
 * @self: an autoplay
 *
 * Stops and drops every player; the room's events are ignored from now on.
 */
void
tether_autoplay_stop (TetherAutoplay *self)
{
  g_return_if_fail (TETHER_IS_AUTOPLAY (self));

  remove_all (self);
  self->stopped = TRUE;
}

static gboolean
adopt_room_streams (gpointer data)
{
  TetherAutoplay *self = data;
  GListModel *streams = tether_room_get_streams (self->room);

  g_clear_pointer (&self->adopt_source, g_source_unref);
  for (guint i = 0; !self->stopped && i < g_list_model_get_n_items (streams); i++)
    {
      g_autoptr(TetherStream) stream = g_list_model_get_item (streams, i);
      const char *id = tether_stream_get_id (stream);

      /* An ADD since construction has placed it already. */
      if (!g_hash_table_contains (self->entries, id) && find_waiting (self, id) == NULL)
        add_stream (self, stream);
    }
  return G_SOURCE_REMOVE;
}

static void
tether_autoplay_constructed (GObject *object)
{
  TetherAutoplay *self = TETHER_AUTOPLAY (object);
  G_OBJECT_CLASS (tether_autoplay_parent_class)->constructed (object);

  g_signal_connect_object (self->room, "stream-update", G_CALLBACK (on_stream_update), self, 0);
  g_signal_connect_object (self->room, "state-changed", G_CALLBACK (on_room_state_changed), self, 0);

  /* The streams the room has already are played from the next main loop iteration,
   * so that whoever created the autoplay has connected to "player-added" (to give
   * each player its video sink before it starts) and set the other properties. */
  self->adopt_source = g_idle_source_new ();
  g_source_set_priority (self->adopt_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->adopt_source, adopt_room_streams, self, NULL);
  g_source_set_static_name (self->adopt_source, "[tether] autoplay adopts streams");
  g_source_attach (self->adopt_source, self->context);
}

static void
tether_autoplay_dispose (GObject *object)
{
  TetherAutoplay *self = TETHER_AUTOPLAY (object);

  self->stopped = TRUE;
  if (self->adopt_source != NULL)
    {
      g_source_destroy (self->adopt_source);
      g_clear_pointer (&self->adopt_source, g_source_unref);
    }
  if (self->entries != NULL)
    g_hash_table_remove_all (self->entries);
  if (self->players != NULL)
    g_list_store_remove_all (self->players);
  g_clear_object (&self->room);

  G_OBJECT_CLASS (tether_autoplay_parent_class)->dispose (object);
}

static void
tether_autoplay_finalize (GObject *object)
{
  TetherAutoplay *self = TETHER_AUTOPLAY (object);

  g_hash_table_unref (self->entries);
  g_queue_clear_full (&self->waiting, g_object_unref);
  g_object_unref (self->players);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tether_autoplay_parent_class)->finalize (object);
}

static void
set_double (TetherAutoplay *self,
            double         *field,
            double          value,
            guint           prop_id)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
tether_autoplay_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TetherAutoplay *self = TETHER_AUTOPLAY (object);

  switch (prop_id)
    {
    case PROP_ROOM: g_value_set_object (value, self->room); break;
    case PROP_AV_RETRY_TIME: g_value_set_double (value, self->av_retry_time); break;
    case PROP_RETRY_DELAY_MIN: g_value_set_double (value, self->retry_delay_min); break;
    case PROP_RETRY_DELAY_MAX: g_value_set_double (value, self->retry_delay_max); break;
    case PROP_MAX_RETRIES: g_value_set_uint (value, self->max_retries); break;
    case PROP_MAX_PLAYERS: g_value_set_uint (value, self->max_players); break;
    case PROP_PLAY_OWN_STREAMS: g_value_set_boolean (value, self->play_own_streams); break;
    case PROP_PLAYERS: g_value_set_object (value, self->players); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_autoplay_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TetherAutoplay *self = TETHER_AUTOPLAY (object);

  switch (prop_id)
    {
    case PROP_ROOM: self->room = g_value_dup_object (value); break;
    case PROP_AV_RETRY_TIME: set_double (self, &self->av_retry_time, g_value_get_double (value), prop_id); break;
    case PROP_RETRY_DELAY_MIN: set_double (self, &self->retry_delay_min, g_value_get_double (value), prop_id); break;
    case PROP_RETRY_DELAY_MAX: set_double (self, &self->retry_delay_max, g_value_get_double (value), prop_id); break;
    case PROP_MAX_RETRIES:
      if (self->max_retries != g_value_get_uint (value))
        {
          self->max_retries = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_MAX_PLAYERS:
      if (self->max_players != g_value_get_uint (value))
        {
          self->max_players = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_PLAY_OWN_STREAMS:
      if (self->play_own_streams != g_value_get_boolean (value))
        {
          self->play_own_streams = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_autoplay_class_init (TetherAutoplayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_autoplay_constructed;
  object_class->dispose = tether_autoplay_dispose;
  object_class->finalize = tether_autoplay_finalize;
  object_class->get_property = tether_autoplay_get_property;
  object_class->set_property = tether_autoplay_set_property;

  /**
   * TetherAutoplay:room:
   *
   * The room whose streams are played.
   */
  properties[PROP_ROOM] =
    g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherAutoplay:av-retry-time:
   *
   * Seconds each player retries after a media break; given to every new player.
   */
  properties[PROP_AV_RETRY_TIME] =
    g_param_spec_double ("av-retry-time", NULL, NULL, 0, G_MAXDOUBLE, 1200, rw);
  /**
   * TetherAutoplay:retry-delay-min:
   *
   * Seconds, at least, before a player that ended in error is retried.
   */
  properties[PROP_RETRY_DELAY_MIN] =
    g_param_spec_double ("retry-delay-min", NULL, NULL, 0, 3600, 3, rw);
  /**
   * TetherAutoplay:retry-delay-max:
   *
   * Seconds, at most, before a player that ended in error is retried; the delay is
   * uniform between the minimum and this.
   */
  properties[PROP_RETRY_DELAY_MAX] =
    g_param_spec_double ("retry-delay-max", NULL, NULL, 0, 3600, 5, rw);
  /**
   * TetherAutoplay:max-retries:
   *
   * Retries per stream after errors; a new ADD of the stream resets the count.
   */
  properties[PROP_MAX_RETRIES] = g_param_spec_uint ("max-retries", NULL, NULL, 0, G_MAXUINT, 3, rw);
  /**
   * TetherAutoplay:max-players:
   *
   * At most this many streams are played (0: no limit); later ones wait, unpulled,
   * and get a player when one goes.
   */
  properties[PROP_MAX_PLAYERS] = g_param_spec_uint ("max-players", NULL, NULL, 0, G_MAXUINT, 0,
                                                    rw | G_PARAM_CONSTRUCT);
  /**
   * TetherAutoplay:play-own-streams:
   *
   * Whether the streams this user publishes are played too.
   */
  properties[PROP_PLAY_OWN_STREAMS] =
    g_param_spec_boolean ("play-own-streams", NULL, NULL, FALSE, rw);
  /**
   * TetherAutoplay:players: (type GListModel)
   *
   * The players, a #GListModel of #TetherPlayer in the order the streams came.
   */
  properties[PROP_PLAYERS] =
    g_param_spec_object ("players", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherAutoplay::player-added:
   * @self: the autoplay
   * @player: the new player, not started yet: give it a video sink here
   *
   * Emitted when a stream gets a player, before the player starts.
   */
  signals[PLAYER_ADDED] =
    g_signal_new ("player-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_PLAYER);
  /**
   * TetherAutoplay::player-removed:
   * @self: the autoplay
   * @player: the stopped player of a deleted stream
   *
   * Emitted after a player stopped because its stream was deleted (or the autoplay
   * stopped).
   */
  signals[PLAYER_REMOVED] =
    g_signal_new ("player-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, TETHER_TYPE_PLAYER);
}

static void
tether_autoplay_init (TetherAutoplay *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->av_retry_time = 1200;
  self->retry_delay_min = 3;
  self->retry_delay_max = 5;
  self->max_retries = 3;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  self->players = g_list_store_new (TETHER_TYPE_PLAYER);
}
