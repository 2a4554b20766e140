/* tether-guest.c: asking a room service for a guest token (POST /v1/guest-token)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether-error.h"
#include "tether-guest.h"
#include "tether-protocol.h"
#include "tether-tls-private.h"
#include "tether-token.h"

/* A guest-token answer is a few hundred bytes; more is not a room service. */
#define MAX_RESPONSE (16 * 1024)
#define REQUEST_TIMEOUT_S 30

typedef struct
{
  SoupSession *session;
  SoupMessage *message;
  guint8      *buffer;      /* MAX_RESPONSE + 1 bytes, so a full buffer means too much */
} Request;

static void
request_free (gpointer data)
{
  Request *r = data;

  g_clear_object (&r->session);
  g_clear_object (&r->message);
  if (r->buffer != NULL)
    memset (r->buffer, 0, MAX_RESPONSE + 1);
  g_free (r->buffer);
  g_free (r);
}

typedef struct
{
  char   *token;
  char   *user_id;
  char   *app_id;
  gint64  expires_at;
} Answer;

static void
answer_free (gpointer data)
{
  Answer *a = data;

  if (a->token != NULL)
    memset (a->token, 0, strlen (a->token));
  g_free (a->token);
  g_free (a->user_id);
  g_free (a->app_id);
  g_free (a);
}

/**
 * tether_guest_token_url:
 * @server_url: the room service's WebSocket URL, `ws://` or `wss://`
 *
 * Where the room service at @server_url hands out guest tokens: the same host and
 * port over `http://` (for `ws://`) or `https://` (for `wss://`), with the last path
 * segment (normally `ws`) replaced by `v1/guest-token`. So `wss://example.org/ws`
 * gives `https://example.org/v1/guest-token`, and a service behind a reverse proxy at
 * `wss://example.org/tether/ws` gives `https://example.org/tether/v1/guest-token`.
 *
 * Returns: (transfer full) (nullable): the URL, or %NULL if @server_url is not a
 *   `ws://` or `wss://` URL with a host
 */
char *
tether_guest_token_url (const char *server_url)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GUri) http = NULL;
  g_autoptr(GUri) resolved = NULL;
  const char *scheme;

  g_return_val_if_fail (server_url != NULL, NULL);

  uri = g_uri_parse (server_url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return NULL;
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") == 0)
    scheme = "http";
  else if (g_ascii_strcasecmp (scheme, "wss") == 0)
    scheme = "https";
  else
    return NULL;

  http = g_uri_build (G_URI_FLAGS_NONE, scheme, NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                      *g_uri_get_path (uri) != '\0' ? g_uri_get_path (uri) : "/", NULL, NULL);
  resolved = g_uri_parse_relative (http, "v1/guest-token", G_URI_FLAGS_NONE, NULL);
  return resolved != NULL ? g_uri_to_string (resolved) : NULL;
}

static void
fail_literal (GTask      *task,
              TetherError code,
              const char *message)
{
  g_task_return_new_error (task, TETHER_ERROR, code, "%s", message);
}

/* Reads the server's answer: {"token", "user", "app", "expires_at"}, or
 * {"error": CODE, "message": ...} with a 4xx status. */
static void
complete (GTask      *task,
          Request    *r,
          gsize       len)
{
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GError) error = NULL;
  guint status = soup_message_get_status (r->message);
  Answer *a;
  gint64 code = 0;
  const char *token, *user, *app;

  if (len > MAX_RESPONSE)
    {
      fail_literal (task, TETHER_ERROR_PROTOCOL, "the guest-token answer is too large");
      return;
    }
  o = tether_json_parse_object ((const char *) r->buffer, len, 4, &error);
  if (o == NULL)
    {
      g_task_return_new_error (task, TETHER_ERROR,
                               status == SOUP_STATUS_OK ? TETHER_ERROR_PROTOCOL
                                                        : TETHER_ERROR_NETWORK,
                               "the server answered %u %s without a guest token", status,
                               soup_message_get_reason_phrase (r->message));
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      const char *message = tether_json_get_string (o, "message");

      if (!tether_json_get_int (o, "error", &code) || code <= 0 || code > G_MAXINT)
        code = TETHER_ERROR_PROTOCOL;
      g_task_return_new_error (task, TETHER_ERROR, (int) code, "%s",
                               message != NULL ? message : "the server refused a guest token");
      return;
    }

  token = tether_json_get_string (o, "token");
  user = tether_json_get_string (o, "user");
  app = tether_json_get_string (o, "app");
  a = g_new0 (Answer, 1);
  if (token == NULL || !tether_token_is_well_formed (token) || user == NULL
      || !tether_protocol_valid_id (user) || (app != NULL && !tether_protocol_valid_id (app))
      || !tether_json_get_int (o, "expires_at", &a->expires_at))
    {
      answer_free (a);
      fail_literal (task, TETHER_ERROR_PROTOCOL, "the guest-token answer is malformed");
      return;
    }
  a->token = g_strdup (token);
  a->user_id = g_strdup (user);
  a->app_id = g_strdup (app);
  g_task_return_pointer (task, a, answer_free);
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  Request *r = g_task_get_task_data (task);
  gsize len = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &len, &error))
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_NETWORK,
                               "reading the guest-token answer failed: %s", error->message);
      return;
    }
  complete (task, r, len);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  Request *r = g_task_get_task_data (task);

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (stream == NULL)
    {
      g_autofree char *refusal = tether_tls_refusal_message (r->message, error);
      g_autofree char *failure = tether_connect_failure_message (error);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (refusal != NULL)
        fail_literal (task, TETHER_ERROR_TLS_CERTIFICATE, refusal);
      else if (failure != NULL)
        fail_literal (task, TETHER_ERROR_NETWORK, failure);
      else
        g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_NETWORK,
                                 "cannot reach the room service for a guest token: %s",
                                 error->message);
      return;
    }
  r->buffer = g_malloc (MAX_RESPONSE + 1);
  g_input_stream_read_all_async (stream, r->buffer, MAX_RESPONSE + 1, G_PRIORITY_DEFAULT,
                                 g_task_get_cancellable (task), read_cb, g_object_ref (task));
}

/**
 * tether_guest_token_request_async:
 * @server_url: the room service's WebSocket URL (`ws://` or `wss://`), as in
 *   #TetherLoginOptions:server-url
 * @room_id: the public room to watch
 * @current_token: (nullable): a guest token of @room_id that has not expired yet, to
 *   renew it for the same guest user; %NULL for a new guest
 * @tls_database: (nullable): the certificate authorities to trust for `wss://`; %NULL
 *   for the system's
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the answer is in
 * @user_data: data for @callback
 *
 * Asks the room service for a play-only guest token of a public room
 * (`POST /v1/guest-token`, see tether_guest_token_url() and `docs/protocol.md`): with
 * it, a viewer logs in with no app secret and no token of its own. The token lasts a
 * few minutes (the server's `--guest-token-ttl`); renew it before it expires, for
 * example on #TetherRoom::token-will-expire, by passing the room's current token as
 * @current_token and handing the new one to tether_room_renew_token().
 * A `wss://` server whose certificate @tls_database does not trust fails with
 * %TETHER_ERROR_TLS_CERTIFICATE and a message saying why, as a room's login does.
 */
void
tether_guest_token_request_async (const char          *server_url,
                                  const char          *room_id,
                                  const char          *current_token,
                                  GTlsDatabase        *tls_database,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree char *url = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GBytes) request_body = NULL;
  gsize body_len;
  Request *r;

  g_return_if_fail (server_url != NULL);
  g_return_if_fail (room_id != NULL);
  g_return_if_fail (tls_database == NULL || G_IS_TLS_DATABASE (tls_database));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_guest_token_request_async);

  url = tether_guest_token_url (server_url);
  if (url == NULL)
    {
      g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                               "“%s” is not a ws:// or wss:// URL", server_url);
      return;
    }
  if (!tether_protocol_valid_id (room_id))
    {
      fail_literal (task, TETHER_ERROR_ROOM_ID_INVALID,
                    "the room id must be 1–128 characters of A–Z a–z 0–9 . _ ~ @ : -");
      return;
    }

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "room");
  json_builder_add_string_value (b, room_id);
  if (current_token != NULL)
    {
      json_builder_set_member_name (b, "token");
      json_builder_add_string_value (b, current_token);
    }
  json_builder_end_object (b);
  body = tether_protocol_serialize (b);
  body_len = strlen (body);

  r = g_new0 (Request, 1);
  g_task_set_task_data (task, r, request_free);
  r->session = soup_session_new_with_options ("timeout", REQUEST_TIMEOUT_S,
                                              "idle-timeout", REQUEST_TIMEOUT_S, NULL);
  if (tls_database != NULL)
    soup_session_set_tls_database (r->session, tls_database);
  r->message = soup_message_new (SOUP_METHOD_POST, url);
  tether_tls_watch_certificate (r->message);
  request_body = g_bytes_new_take (g_steal_pointer (&body), body_len);
  soup_message_set_request_body_from_bytes (r->message, "application/json", request_body);
  soup_session_send_async (r->session, r->message, G_PRIORITY_DEFAULT, cancellable, send_cb,
                           g_steal_pointer (&task));
}

/**
 * tether_guest_token_request_finish:
 * @result: the #GAsyncResult passed to the callback
 * @user_id: (out) (optional) (transfer full): the guest's user id (`guest-…`), to log
 *   in with
 * @app_id: (out) (optional) (transfer full) (nullable): the room service's app id, to
 *   log in with
 * @expires_at: (out) (optional): when the token expires, Unix seconds
 * @error: return location for a #TETHER_ERROR: %TETHER_ERROR_ROOM_NOT_PUBLIC for a
 *   room that admits no guests, %TETHER_ERROR_RATE_LIMITED, %TETHER_ERROR_NETWORK,
 *   %TETHER_ERROR_TLS_CERTIFICATE for a `wss://` server whose certificate is not
 *   trusted, or the code the server sent
 *
 * Finishes tether_guest_token_request_async().
 *
 * Returns: (transfer full) (nullable): the guest token, or %NULL with @error set
 */
char *
tether_guest_token_request_finish (GAsyncResult  *result,
                                   char         **user_id,
                                   char         **app_id,
                                   gint64        *expires_at,
                                   GError       **error)
{
  Answer *a;
  char *token;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_guest_token_request_async,
                        NULL);

  a = g_task_propagate_pointer (G_TASK (result), error);
  if (a == NULL)
    return NULL;
  token = g_steal_pointer (&a->token);
  if (user_id != NULL)
    *user_id = g_steal_pointer (&a->user_id);
  if (app_id != NULL)
    *app_id = g_steal_pointer (&a->app_id);
  if (expires_at != NULL)
    *expires_at = a->expires_at;
  answer_free (a);
  return token;
}
