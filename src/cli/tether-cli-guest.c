/* tether-cli-guest.c: --guest — a guest token from the room service instead of a token
 * or an app secret, renewed through the same endpoint before it expires
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-cli.h"
#include "tether-tls-private.h"

typedef struct
{
  gboolean done;
  char    *token;
  char    *user;
  char    *app_id;
  gint64   expires_at;
  GError  *error;
} GuestAnswer;

static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GuestAnswer *a = user_data;

  a->token = tether_guest_token_request_finish (result, &a->user, &a->app_id, &a->expires_at,
                                                &a->error);
  a->done = TRUE;
}

/* One line per answer: {"event":"guest-token","user":…,"expires_at":…,"renewed":…}, or
 * with "error" when the server said no. The token itself is never printed. */
static void
print_answer (const GuestAnswer *a,
              gboolean           renewal)
{
  JsonBuilder *b = tether_cli_begin_event ("guest-token");

  json_builder_set_member_name (b, "renewed");
  json_builder_add_boolean_value (b, renewal);
  if (a->error != NULL)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_int_value (b, a->error->domain == TETHER_ERROR ? a->error->code
                                                                      : TETHER_ERROR_NETWORK);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, a->error->message);
    }
  else
    {
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, a->user);
      json_builder_set_member_name (b, "expires_at");
      json_builder_add_int_value (b, a->expires_at);
    }
  tether_cli_end_event (b);
}

static void
answer_clear (GuestAnswer *a)
{
  g_free (a->token);
  g_free (a->user);
  g_free (a->app_id);
  g_clear_error (&a->error);
}

/* The authorities of --tls-ca for the guest-token requests (the engine checked the
 * file already), or NULL for the system's, as the room's login uses. */
static GTlsDatabase *
guest_tls_database (TetherCliOptions *opts)
{
  static GTlsDatabase *database;
  g_autoptr(GError) error = NULL;

  if (database == NULL && opts->tls_ca != NULL)
    {
      database = tether_tls_file_database_new (opts->tls_ca, &error);
      if (database == NULL)
        g_printerr ("tether-cli: --tls-ca: %s\n", error->message);
    }
  return database;
}

/* Asks for the first guest token and fills in the token, the user and (unless
 * --app-id said otherwise) the app id to log in with. */
gboolean
tether_cli_guest_fetch (TetherCliOptions  *opts,
                        GError           **error)
{
  GuestAnswer a = { 0, };
  const char * const one[] = { opts->server, NULL };
  const char * const *servers = opts->server_urls != NULL
                                ? (const char * const *) opts->server_urls : one;

  for (guint i = 0; servers[i] != NULL; i++)
    {
      answer_clear (&a);
      a = (GuestAnswer) { 0, };
      tether_guest_token_request_async (servers[i], opts->room, NULL, guest_tls_database (opts),
                                        NULL, answer_cb, &a);
      while (!a.done)
        g_main_context_iteration (NULL, TRUE);
      /* A node that cannot be reached hands over to the next one, as the room does. */
      if (a.token != NULL || !g_error_matches (a.error, TETHER_ERROR, TETHER_ERROR_NETWORK))
        break;
    }
  print_answer (&a, FALSE);
  if (a.token == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&a.error));
      answer_clear (&a);
      return FALSE;
    }

  g_free (opts->token);
  opts->token = g_steal_pointer (&a.token);
  g_free (opts->user);
  opts->user = g_steal_pointer (&a.user);
  if (opts->app_id == NULL)
    opts->app_id = a.app_id != NULL ? g_steal_pointer (&a.app_id) : g_strdup ("demo");
  answer_clear (&a);
  return TRUE;
}

typedef struct
{
  GuestAnswer  answer;
  TetherRoom  *room;
} Renewal;

static void
renewed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Renewal *r = user_data;

  answer_cb (source, result, &r->answer);
  print_answer (&r->answer, TRUE);
  /* A refused renewal leaves the token to expire: the room ends in KICK_OUT (1005). */
  if (r->answer.token != NULL)
    tether_room_renew_token (r->room, r->answer.token);
  answer_clear (&r->answer);
  g_object_unref (r->room);
  g_free (r);
}

/* On token-will-expire: the current token buys the next one, for the same guest. */
void
tether_cli_guest_renew (TetherCliRun *run)
{
  Renewal *r = g_new0 (Renewal, 1);

  r->room = g_object_ref (run->room);
  /* The node the room is on now: it answers. */
  tether_guest_token_request_async (tether_room_get_server_url (run->room), run->opts->room,
                                    tether_room_get_token (run->room),
                                    guest_tls_database (run->opts), NULL, renewed_cb, r);
}
