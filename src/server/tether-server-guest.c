/* tether-server-guest.c: guests — the public rooms and POST /v1/guest-token on the
 * public port, which hands anyone a short, play-only token for a public room
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-server-private.h"

/* The request body: {"room": ID} or {"room": ID, "token": CURRENT}. A token is at most
 * 8 KiB (tether_token_is_well_formed()), but a guest token is far shorter. */
#define GUEST_BODY_MAX 4096
#define GUEST_BODY_DEPTH 2
/* libsoup 3.2 has no name for it. */
#define STATUS_TOO_MANY_REQUESTS 429

/* Whether @room_id matches one of the --public-room patterns. */
gboolean
tether_server_room_is_public (TetherServer *self,
                              const char   *room_id)
{
  for (guint i = 0; i < self->public_rooms->len; i++)
    if (g_pattern_spec_match_string (self->public_rooms->pdata[i], room_id))
      return TRUE;
  return FALSE;
}

/**
 * tether_server_add_public_room:
 * @self: a #TetherServer
 * @pattern: a glob (`*` and `?`, #GPatternSpec) of room ids
 *
 * Marks the rooms whose id matches @pattern public: anyone may ask
 * `POST /v1/guest-token` for a play-only token to watch them.
 */
void
tether_server_add_public_room (TetherServer *self,
                               const char   *pattern)
{
  g_return_if_fail (TETHER_IS_SERVER (self));
  g_return_if_fail (pattern != NULL && *pattern != '\0');

  g_ptr_array_add (self->public_rooms, g_pattern_spec_new (pattern));
}

static void
respond (SoupServerMessage *msg,
         guint              status,
         JsonBuilder       *b)
{
  char *json = tether_protocol_serialize (b);

  soup_server_message_set_status (msg, status, NULL);
  /* A token is a credential: no cache keeps it. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, json,
                                    strlen (json));
}

static void
respond_error (SoupServerMessage *msg,
               guint              status,
               TetherError        code,
               const char        *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_int_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  respond (msg, status, b);
}

/* The client's address as the login rate limit knows it: the accepted connection's,
 * or the one a trusted proxy names (tether-server-proxy.c). */
static char *
client_address (TetherServer      *self,
                SoupServerMessage *msg)
{
  TetherServerLink *link = g_hash_table_lookup (self->links,
                                                soup_server_message_get_remote_address (msg));

  if (link != NULL)
    return tether_server_client_address (self, msg, link->address);
  return tether_server_client_address (self, msg, soup_server_message_get_remote_host (msg));
}

/* A renewal: @token must be a valid guest token of @room_id, which only this
 * endpoint issues (a guest- user with the login privilege alone, for that room).
 * Returns its user id. */
static char *
check_current (TetherServer  *self,
               const char    *token,
               const char    *room_id,
               GError       **error)
{
  g_autoptr(TetherTokenClaims) claims = NULL;

  claims = tether_server_auth_verify_for_room (self, token, room_id, error);
  if (claims == NULL)
    return NULL;
  if (claims->room_id == NULL || !g_str_has_prefix (claims->user_id, TETHER_SERVER_GUEST_PREFIX)
      || claims->privileges != TETHER_PRIVILEGE_LOGIN)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PERMISSION_DENIED,
                           "token is not a guest token");
      return NULL;
    }
  return g_strdup (claims->user_id);
}

static void
guest_token_cb (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  TetherServer *self = user_data;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *token = NULL;
  g_autofree char *address = NULL;
  JsonNode *token_node;
  const char *room_id;
  const char *current = NULL;
  gint64 now;

  if (!g_str_equal (path, TETHER_SERVER_GUEST_PATH))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "POST");
      respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, TETHER_ERROR_PROTOCOL,
                     "use POST");
      return;
    }
  /* Each guest token is a login to come: the same bucket as logins. */
  address = client_address (self, msg);
  if (!tether_server_auth_login_allowed (self, address))
    {
      respond_error (msg, STATUS_TOO_MANY_REQUESTS, TETHER_ERROR_RATE_LIMITED,
                     "too many requests from this address");
      return;
    }

  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (body) > GUEST_BODY_MAX)
    {
      respond_error (msg, SOUP_STATUS_BAD_REQUEST, TETHER_ERROR_PROTOCOL,
                     "the body is larger than 4096 bytes");
      return;
    }
  request = tether_json_parse_object (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                      GUEST_BODY_DEPTH, &error);
  if (request == NULL)
    {
      respond_error (msg, SOUP_STATUS_BAD_REQUEST, TETHER_ERROR_PROTOCOL, error->message);
      return;
    }
  room_id = tether_json_get_string (request, "room");
  token_node = json_object_get_member (request, "token");
  if (token_node != NULL && !JSON_NODE_HOLDS_NULL (token_node))
    {
      current = tether_json_get_string (request, "token");
      if (current == NULL)
        {
          respond_error (msg, SOUP_STATUS_BAD_REQUEST, TETHER_ERROR_PROTOCOL,
                         "\"token\" must be a string");
          return;
        }
    }
  if (room_id == NULL)
    {
      respond_error (msg, SOUP_STATUS_BAD_REQUEST, TETHER_ERROR_PROTOCOL,
                     "\"room\" must be a string");
      return;
    }
  if (!tether_protocol_valid_id (room_id))
    {
      respond_error (msg, SOUP_STATUS_BAD_REQUEST, TETHER_ERROR_ROOM_ID_INVALID,
                     "\"room\" is not a valid room id");
      return;
    }
  if (!tether_server_room_is_public (self, room_id))
    {
      respond_error (msg, SOUP_STATUS_FORBIDDEN, TETHER_ERROR_ROOM_NOT_PUBLIC,
                     "this room does not admit guests");
      return;
    }

  if (current != NULL)
    {
      user_id = check_current (self, current, room_id, &error);
      if (user_id == NULL)
        {
          respond_error (msg, SOUP_STATUS_FORBIDDEN, error->code, error->message);
          return;
        }
    }
  else
    {
      g_autofree char *random = tether_server_random_hex (8);

      user_id = g_strconcat (TETHER_SERVER_GUEST_PREFIX, random, NULL);
    }

  now = g_get_real_time () / G_USEC_PER_SEC;
  token = tether_token_mint (self->app_secret, self->app_id, user_id, room_id,
                             TETHER_PRIVILEGE_LOGIN, NULL, now, (gint64) self->guest_token_ttl);
  self->stats.guest_tokens++;
  g_debug ("guest token for %s in room %s (%s)", user_id, room_id,
           current != NULL ? "renewed" : "new");

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, user_id);
  json_builder_set_member_name (b, "app");
  json_builder_add_string_value (b, self->app_id);
  json_builder_set_member_name (b, "expires_at");
  json_builder_add_int_value (b, now + (gint64) self->guest_token_ttl);
  json_builder_end_object (b);
  respond (msg, SOUP_STATUS_OK, b);
  memset (token, 0, strlen (token));
}

/* Installs POST /v1/guest-token on the public port. */
void
tether_server_guest_add_handler (TetherServer *self,
                                 SoupServer   *soup)
{
  soup_server_add_handler (soup, TETHER_SERVER_GUEST_PATH, guest_token_cb, self, NULL);
}
