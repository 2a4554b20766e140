/* tether-room-requests.c: what the application asks of a room — the login message,
 * our streams, token renewal and logout — and the server's replies to it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-message.h"
#include "tether-login-options-private.h"
#include "tether-room-private.h"
#include "tether-token.h"

/* A stream this client announced; it is announced again after a rejoin. A stream
 * withdrawn stays here, @deleting, until the server confirmed the `stream_delete`: a
 * withdrawal made while the link was down, or lost with it, is sent again when the
 * session resumes (a fresh session has none of the old streams to withdraw). */
typedef struct
{
  char *id;
  char *node;
  char *extra;
  char *reason;    /* why it is withdrawn, when @deleting */
  GTask *task;     /* the caller waiting for the first acknowledgement, or NULL */
  gint64 req;      /* request id in flight, 0 when none */
  gboolean deleting;
} LocalStream;

static void
local_stream_free (gpointer data)
{
  LocalStream *ls = data;

  g_free (ls->id);
  g_free (ls->node);
  g_free (ls->extra);
  g_free (ls->reason);
  if (ls->task != NULL)
    {
      g_task_return_new_error (ls->task, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                               "left the room before the stream was announced");
      g_object_unref (ls->task);
    }
  g_free (ls);
}

GHashTable *
_tether_room_local_streams_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, local_stream_free);
}

static LocalStream *
find_local_by_req (TetherRoom *self,
                   gint64      req)
{
  GHashTableIter iter;
  LocalStream *ls;

  g_hash_table_iter_init (&iter, self->local_streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ls))
    if (ls->req == req)
      return ls;
  return NULL;
}

/* The server answered request @req: with @error, it refused. A stream it refused
 * is no longer ours to announce. */
void
_tether_room_request_done (TetherRoom   *self,
                           gint64        req,
                           const GError *error)
{
  LocalStream *ls = find_local_by_req (self, req);

  if (ls == NULL)
    return;

  ls->req = 0;
  /* Withdrawn, or not ours to withdraw (2004): either way the server has no such
   * stream of ours any more. */
  if (ls->deleting)
    {
      g_hash_table_remove (self->local_streams, ls->id);
      return;
    }
  if (error == NULL)
    {
      if (ls->task != NULL)
        {
          g_task_return_boolean (ls->task, TRUE);
          g_clear_object (&ls->task);
        }
    }
  else
    {
      GTask *task = g_steal_pointer (&ls->task);

      g_hash_table_remove (self->local_streams, ls->id);
      if (task != NULL)
        {
          g_task_return_error (task, g_error_copy (error));
          g_object_unref (task);
        }
    }
}

/* ---- login ------------------------------------------------------------------------ */

/* The first message on every connection: a fresh login, or a resume of the session
 * the room had. */
void
_tether_room_send_login (TetherRoom *self)
{
  const TetherLoginMessage m = {
    .app_id = self->login->app_id,
    .room_id = self->login->room_id,
    .user = { .id = self->login->user_id, .name = self->login->user_name },
    .token = self->login->token,
    .notify_users = self->login->notify_users,
    .session_id = self->session_id,
    .resume_key = self->resume_key,
    .last_seq = self->last_seq,
  };
  g_autofree char *text = tether_message_build_login (&m);

  _tether_room_send (self, text);
}

/* ---- logout and token ------------------------------------------------------------- */

static gboolean
logout_timeout_cb (gpointer user_data)
{
  TetherRoom *self = user_data;

  self->logout_id = 0;
  _tether_room_set_state (self, TETHER_ROOM_STATE_LOGOUT_FAILED, TETHER_ERROR_LOGOUT_TIMEOUT,
                          "the server did not confirm the logout");
  return G_SOURCE_REMOVE;
}

/**
 * tether_room_logout:
 * @self: a room
 *
 * Leaves the room. The state becomes LOGOUT once the server confirmed, or
 * LOGOUT_FAILED when it could not be told (the server then removes the user when
 * its heartbeat timeout runs out). Either way the room retries nothing after this.
 */
void
tether_room_logout (TetherRoom *self)
{
  g_autofree char *text = NULL;

  g_return_if_fail (TETHER_IS_ROOM (self));

  if (self->logout_id != 0)
    return;
  if (self->start_id != 0)
    {
      _tether_room_clear_source (self, &self->start_id);
      return;
    }
  if (self->state == TETHER_ROOM_STATE_LOGOUT)
    return;
  if (tether_room_state_is_final (self->state) || self->state == TETHER_ROOM_STATE_LOGINING)
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGOUT, 0, NULL);
      return;
    }
  if (!_tether_room_state_is_connected (self->state) || !_tether_room_link_is_open (self))
    {
      _tether_room_set_state (self, TETHER_ROOM_STATE_LOGOUT_FAILED, TETHER_ERROR_NETWORK,
                              "not connected: the server will drop the session after its "
                              "heartbeat timeout");
      return;
    }

  _tether_room_stop_ticking (self);
  text = tether_message_build_logout ();
  _tether_room_send (self, text);
  self->logout_id = _tether_room_add_timeout (self, self->timing.logout_timeout,
                                              logout_timeout_cb);
}

/**
 * tether_room_renew_token:
 * @self: a room
 * @token: the new token
 *
 * Gives the session a new token before the old one expires (see
 * [signal@Tether.Room::token-will-expire]); the room also logs in with it after a
 * break. A malformed token is ignored.
 */
void
tether_room_renew_token (TetherRoom *self,
                         const char *token)
{
  g_autofree char *text = NULL;

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (token != NULL);

  /* Not a token at all: the server would refuse it, and the session keeps the one
   * it has (until it expires, as after any refused renewal). */
  if (!tether_token_is_well_formed (token))
    {
      g_info ("room %s: not renewing with a malformed token", self->login->room_id);
      return;
    }

  tether_login_options_set_token (self->login, token);

  g_free (self->renew_token);
  self->renew_token = g_strdup (token);
  self->renew_req = ++self->next_req;
  text = tether_message_build_token_renew (self->renew_req, token);
  _tether_room_send (self, text);
}

/**
 * tether_room_get_token:
 * @self: a room
 *
 * Gets the token the room logs in with.
 *
 * Returns: the token the room logs in with: the one it was given at login or the
 *   last renewal
 */
const char *
tether_room_get_token (TetherRoom *self)
{
  g_return_val_if_fail (TETHER_IS_ROOM (self), NULL);
  return self->login->token;
}

/* ---- our streams ------------------------------------------------------------------ */

static void
send_stream_add (TetherRoom  *self,
                 LocalStream *ls)
{
  const TetherMessageStream stream = { .id = ls->id, .node = ls->node, .extra = ls->extra };
  g_autofree char *text = NULL;

  ls->req = ++self->next_req;
  text = tether_message_build_stream_add (ls->req, &stream);
  _tether_room_send (self, text);
}

static void
send_stream_delete (TetherRoom  *self,
                    LocalStream *ls)
{
  g_autofree char *text = NULL;

  ls->req = ++self->next_req;
  text = tether_message_build_stream_delete (ls->req, ls->id, ls->reason);
  _tether_room_send (self, text);
}

/* After a login: every stream (@all, when the old session is gone, and with it the
 * streams being withdrawn) or, on a resume, only the announcements and withdrawals
 * not yet acknowledged. */
void
_tether_room_send_local_streams (TetherRoom *self,
                                 gboolean    all)
{
  GHashTableIter iter;
  LocalStream *ls;

  g_hash_table_iter_init (&iter, self->local_streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ls))
    {
      if (ls->deleting && all)
        g_hash_table_iter_remove (&iter);
      else if (ls->deleting)
        send_stream_delete (self, ls);
      else if (all || ls->req != 0 || ls->task != NULL)
        send_stream_add (self, ls);
    }
}

/**
 * tether_room_add_stream_async:
 * @self: a room
 * @stream_id: the stream's id, 1–128 characters of `A–Z a–z 0–9 . _ ~ @ : -`
 * @node: (nullable): the media node id the stream is published on
 * @extra: (nullable): application data shown to viewers
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called when the server accepted or refused the stream
 * @user_data: data for @callback
 *
 * Announces a stream of this user. The room announces it again by itself after a
 * rejoin. Completes when the server accepted it (it waits through a reconnect).
 */
void
tether_room_add_stream_async (TetherRoom          *self,
                              const char          *stream_id,
                              const char          *node,
                              const char          *extra,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LocalStream *ls;

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (stream_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_room_add_stream_async);

  if (!tether_protocol_valid_id (stream_id))
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_STREAM_ID_INVALID,
                               "stream ids are 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -");
      return;
    }
  if (tether_room_state_is_final (self->state))
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                               "not in the room");
      return;
    }

  ls = g_new0 (LocalStream, 1);
  ls->id = g_strdup (stream_id);
  ls->node = g_strdup (node ? node : "");
  ls->extra = g_strdup (extra ? extra : "");
  ls->task = g_steal_pointer (&task);
  g_hash_table_replace (self->local_streams, ls->id, ls);

  if (_tether_room_state_is_connected (self->state))
    send_stream_add (self, ls);
}

/**
 * tether_room_add_stream_finish:
 * @self: a room
 * @result: the result given to the callback
 * @error: the refusal, or %TETHER_ERROR_NOT_LOGGED_IN when the room left first
 *
 * Finishes an announcement started with [method@Tether.Room.add_stream_async].
 *
 * Returns: whether the server accepted the stream
 */
gboolean
tether_room_add_stream_finish (TetherRoom    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tether_room_delete_stream:
 * @self: a room
 * @stream_id: a stream this user announced with [method@Tether.Room.add_stream_async]
 * @reason: (nullable): why, e.g. "stopped" (the default) or "media_lost"
 *
 * Withdraws a stream this user announced. While the room is reconnecting the
 * withdrawal waits, and it is sent again after a resume until the server confirmed
 * it, so the others never keep seeing a stream that was stopped during a cut.
 */
void
tether_room_delete_stream (TetherRoom *self,
                           const char *stream_id,
                           const char *reason)
{
  LocalStream *ls;

  g_return_if_fail (TETHER_IS_ROOM (self));
  g_return_if_fail (stream_id != NULL);

  ls = g_hash_table_lookup (self->local_streams, stream_id);
  if (ls == NULL || ls->deleting)
    return;

  if (ls->task != NULL)
    {
      g_task_return_new_error (ls->task, TETHER_ERROR, TETHER_ERROR_NOT_LOGGED_IN,
                               "the stream was withdrawn before it was announced");
      g_clear_object (&ls->task);
    }
  ls->deleting = TRUE;
  ls->reason = g_strdup (reason);
  ls->req = 0;
  if (_tether_room_state_is_connected (self->state))
    send_stream_delete (self, ls);
}
