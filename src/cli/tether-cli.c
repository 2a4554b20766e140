/* tether-cli.c: the headless client — mint tokens, watch a room, print JSON lines
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether.h"
#include "tether-cli.h"
#include "tether-message.h"
#include "tether-protocol.h"

/* Exit codes, documented in docs/cli.md */
enum
{
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_LOGIN_FAILED = 2,
  EXIT_KICK_OUT = 3,
  EXIT_RECONNECT_FAILED = 4,
};

static gint64 start_time;
static gboolean quiet;

void
tether_cli_print (JsonBuilder *b)
{
  g_autofree char *line = tether_protocol_serialize (b);

  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/* Every line starts the same way: {"ts": seconds since start, "event": name, … */
JsonBuilder *
tether_cli_begin_event (const char *event)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "event");
  json_builder_add_string_value (b, event);
  return b;
}

/* The shape every state line shares: what changed, its new state, the error code. */
JsonBuilder *
tether_cli_begin_state (const char *event,
                        const char *id_key,
                        const char *id,
                        const char *state_key,
                        const char *state,
                        int         error_code)
{
  JsonBuilder *b = tether_cli_begin_event (event);

  json_builder_set_member_name (b, id_key);
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, state_key);
  json_builder_add_string_value (b, state);
  json_builder_set_member_name (b, "error");
  json_builder_add_int_value (b, error_code);
  return b;
}

void
tether_cli_end_event (JsonBuilder *b)
{
  g_autofree char *object = NULL;
  char ts[G_ASCII_DTOSTR_BUF_SIZE];

  json_builder_end_object (b);
  if (quiet)
    {
      g_object_unref (b);
      return;
    }
  object = tether_protocol_serialize (b);
  g_object_unref (b);

  /* json-glib prints doubles with 17 digits; milliseconds are what a reader wants. */
  g_ascii_formatd (ts, sizeof ts, "%.3f", (g_get_monotonic_time () - start_time) / 1e6);
  printf ("{\"ts\":%s,%s\n", ts, object + 1);
  fflush (stdout);
}

/* Adds @json (a serialized JSON value) as member @name, or null when unreadable. */
void
tether_cli_add_json_member (JsonBuilder *b,
                            const char  *name,
                            const char  *json)
{
  g_autoptr(JsonNode) node = json != NULL ? json_from_string (json, NULL) : NULL;

  json_builder_set_member_name (b, name);
  if (node != NULL)
    json_builder_add_value (b, g_steal_pointer (&node));
  else
    json_builder_add_null_value (b);
}

/* The options every room command takes; the array lives as long as @opts. */
GOptionEntry *
tether_cli_common_entries (TetherCliOptions *opts)
{
  const GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->servers,
      "Room service URL (default: ws://127.0.0.1:7480/ws); repeat it for the nodes of one "
      "service, tried in order", "URL" },
    { "link", 0, 0, G_OPTION_ARG_STRING, &opts->link,
      "Room link tether://HOST[:PORT][,HOST[:PORT]…]/ROOM[?app=APP]: the server(s), room "
      "and app id at once", "LINK" },
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &opts->app_id, "App id (default: demo)", "ID" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &opts->token,
      "Login token (visible in ps: prefer --token-file or TETHER_TOKEN)", "TOKEN" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &opts->token_file,
      "Read the login token from FILE (- for standard input)", "FILE" },
    { "app-secret", 0, 0, G_OPTION_ARG_STRING, &opts->app_secret,
      "Mint tokens from this app secret, development servers only (visible in ps: prefer "
      "--app-secret-file or TETHER_APP_SECRET)", "SECRET" },
    { "app-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &opts->app_secret_file,
      "Read the app secret from FILE (- for standard input)", "FILE" },
    { "token-lifetime", 0, 0, G_OPTION_ARG_DOUBLE, &opts->token_lifetime,
      "Lifetime of minted tokens in seconds (3600)", "S" },
    { "guest", 0, 0, G_OPTION_ARG_NONE, &opts->guest,
      "Join a public room as a guest: the server hands out the token (no --token, "
      "--app-secret or --user)", NULL },
    { "room", 0, 0, G_OPTION_ARG_STRING, &opts->room, "Room id", "ID" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &opts->user, "User id", "ID" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &opts->name, "Display name (default: the user id)",
      "NAME" },
    { "notify-users", 0, 0, G_OPTION_ARG_NONE, &opts->notify_users,
      "Receive user ADD/DELETE events", NULL },
    { "config", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->config,
      "Engine config, e.g. room_retry_time=1200 (repeatable)", "KEY=VALUE" },
    { "tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &opts->tls_ca,
      "Trust the certificate authorities in this PEM file instead of the system's (wss://)",
      "FILE" },
    { NULL }
  };
  static GOptionEntry copy[G_N_ELEMENTS (entries)];

  memcpy (copy, entries, sizeof entries);
  return copy;
}

/* A secret from @path ("-": standard input), trimmed as tether-server trims its
 * --app-secret-file, so that one file serves both. */
static char *
read_secret_file (const char  *option,
                  const char  *path,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local = NULL;
  gsize length = 0;

  if (!g_file_get_contents (g_str_equal (path, "-") ? "/dev/stdin" : path, &contents, &length,
                            &local))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT, "--%s-file: %s", option,
                   local->message);
      return NULL;
    }
  if (length > 64 * 1024 || strlen (contents) != length)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "--%s-file: %s is not a token or secret (binary, or over 64 KiB)", option, path);
      return NULL;
    }
  g_strstrip (contents);
  if (*contents == '\0')
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT, "--%s-file: %s is empty",
                   option, path);
      return NULL;
    }
  return g_steal_pointer (&contents);
}

/* @value from --OPTION or --OPTION-file (together an error). The option itself shows in
 * ps: said on stderr. */
static gboolean
resolve_secret (const char  *option,
                char       **value,
                const char  *file,
                const char  *env_name,
                GError     **error)
{
  if (file != NULL)
    {
      if (*value != NULL)
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                       "give --%s or --%s-file, not both", option, option);
          return FALSE;
        }
      *value = read_secret_file (option, file, error);
      return *value != NULL;
    }
  if (*value != NULL)
    g_printerr ("tether-cli: warning: --%s is visible to every user of this computer (ps); "
                "use --%s-file or %s\n", option, option, env_name);
  return TRUE;
}

/* $@env_name, trimmed, or NULL when unset or empty. */
static char *
secret_from_env (const char *env_name)
{
  const char *env = g_getenv (env_name);

  return env != NULL && *env != '\0' ? g_strstrip (g_strdup (env)) : NULL;
}

/* The environment only when no option names a secret: a token given on purpose is not
 * overridden by an app secret exported for something else. */
static gboolean
secrets_from_env (TetherCliOptions  *opts,
                  GError           **error)
{
  if (opts->token == NULL && opts->app_secret == NULL)
    {
      opts->token = secret_from_env ("TETHER_TOKEN");
      opts->app_secret = secret_from_env ("TETHER_APP_SECRET");
    }
  if (opts->token == NULL && opts->app_secret == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           "give --token-file (or TETHER_TOKEN), or --app-secret-file (or "
                           "TETHER_APP_SECRET) to mint one (development only)");
      return FALSE;
    }
  return TRUE;
}

/* Every --server, each a URL, a host, host:port or a link (its servers), or several
 * of them with commas (tether_link_server_urls_from_text()); each URL once. */
static gboolean
parse_servers (TetherCliOptions  *opts,
               GError           **error)
{
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; opts->servers[i] != NULL; i++)
    {
      g_auto(GStrv) some = tether_link_server_urls_from_text (opts->servers[i], NULL, NULL,
                                                              error);

      if (some == NULL)
        return FALSE;
      for (guint k = 0; some[k] != NULL; k++)
        if (!g_ptr_array_find_with_equal_func (urls, some[k], g_str_equal, NULL))
          g_ptr_array_add (urls, g_strdup (some[k]));
    }
  g_ptr_array_add (urls, NULL);
  opts->server_urls = (char **) g_ptr_array_free (g_steal_pointer (&urls), FALSE);
  opts->server = g_strdup (opts->server_urls[0]);
  return TRUE;
}

/* --link LINK: the server(s), the room and (unless --app-id) the app id; --server
 * may be a host or host:port (tether_link_server_url_from_text()). */
static gboolean
parse_link (TetherCliOptions  *opts,
            GError           **error)
{
  g_autoptr(TetherLink) link = NULL;

  if (opts->link == NULL)
    return opts->servers == NULL || parse_servers (opts, error);
  if (opts->servers != NULL || opts->room != NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           "--link names the server and the room: no --server or --room");
      return FALSE;
    }
  link = tether_link_parse (opts->link, error);
  if (link == NULL)
    return FALSE;
  opts->server = g_strdup (tether_link_get_server_url (link));
  opts->server_urls = g_strdupv ((char **) tether_link_get_server_urls (link));
  opts->room = g_strdup (tether_link_get_room_id (link));
  if (opts->app_id == NULL)
    opts->app_id = g_strdup (tether_link_get_app_id (link));
  return TRUE;
}

/* What g_option_context_parse() left: at most one room link, as `--link` gives it. */
static gboolean
take_link_argument (TetherCliOptions  *opts,
                    int                argc,
                    char             **argv,
                    GError           **error)
{
  if (argc > 2 || (argc == 2 && opts->link != NULL))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "unexpected argument “%s” (one room link at most, or --link)",
                   argv[argc - 1]);
      return FALSE;
    }
  if (argc == 2)
    opts->link = g_strdup (argv[1]);
  return TRUE;
}

/* @argc and @argv: what g_option_context_parse() left (a room link may be one). */
gboolean
tether_cli_parse_common (TetherCliOptions  *opts,
                         int                argc,
                         char             **argv,
                         GError           **error)
{
  if (!take_link_argument (opts, argc, argv, error))
    return FALSE;
  if (opts->token_file != NULL && opts->app_secret_file != NULL
      && g_str_equal (opts->token_file, "-") && g_str_equal (opts->app_secret_file, "-"))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           "only one of --token-file and --app-secret-file can be - (stdin)");
      return FALSE;
    }
  if (!parse_link (opts, error))
    return FALSE;
  if (opts->guest)
    {
      /* TETHER_TOKEN and TETHER_APP_SECRET in the environment do not matter here. */
      if (opts->token != NULL || opts->app_secret != NULL || opts->user != NULL
          || opts->token_file != NULL || opts->app_secret_file != NULL)
        {
          g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                               "--guest takes no --token, --app-secret or --user: the server "
                               "names the guest and hands out its token");
          return FALSE;
        }
      if (opts->room == NULL)
        {
          g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                               "--room (or --link) is required");
          return FALSE;
        }
    }
  else if (opts->room == NULL || opts->user == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                           "--room (or --link) and --user are required");
      return FALSE;
    }
  else if (!resolve_secret ("token", &opts->token, opts->token_file, "TETHER_TOKEN", error)
           || !resolve_secret ("app-secret", &opts->app_secret, opts->app_secret_file,
                               "TETHER_APP_SECRET", error)
           || !secrets_from_env (opts, error))
    return FALSE;
  if (opts->server == NULL)
    opts->server = g_strdup ("ws://127.0.0.1:7480/ws");
  /* A guest takes the app id the guest-token answer names. */
  if (opts->app_id == NULL && !opts->guest)
    opts->app_id = g_strdup ("demo");
  return TRUE;
}

char *
tether_cli_current_token (TetherCliOptions *opts)
{
  if (opts->app_secret == NULL)
    return g_strdup (opts->token);
  return tether_token_mint (opts->app_secret, opts->app_id, opts->user, opts->room,
                            TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                            g_get_real_time () / G_USEC_PER_SEC,
                            opts->token_lifetime > 0 ? opts->token_lifetime : 3600);
}

/* The user-update and stream-update lines carry the lists as the room protocol's
 * events do (tether-message.h), plus the client's own reasons ("resync",
 * "replaced"). */
static void
add_streams (JsonBuilder *b,
             GPtrArray   *streams)
{
  json_builder_set_member_name (b, TETHER_FIELD_STREAMS);
  json_builder_begin_array (b);
  for (guint i = 0; i < streams->len; i++)
    {
      TetherStream *s = g_ptr_array_index (streams, i);
      TetherMessageStream item = {
        tether_stream_get_id (s), tether_stream_get_user_id (s), tether_stream_get_user_name (s),
        tether_stream_get_node (s), tether_stream_get_extra (s),
      };

      tether_message_add_stream (b, &item);
    }
  json_builder_end_array (b);
}

/* ": the reason" from a state's extended data, or "" (e.g. the certificate message,
 * which the person at the terminal has to act on). */
static char *
extended_message (const char *extended_data)
{
  g_autoptr(JsonNode) node = extended_data != NULL ? json_from_string (extended_data, NULL) : NULL;
  const char *message = NULL;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    message = json_object_get_string_member_with_default (json_node_get_object (node),
                                                          TETHER_ROOM_EXTENDED_MESSAGE, NULL);
  return message != NULL ? g_strconcat (": ", message, NULL) : g_strdup ("");
}

static void
state_changed_cb (TetherRoom      *room,
                  TetherRoomState  state,
                  int              error_code,
                  const char      *extended_data,
                  TetherCliRun    *run)
{
  JsonBuilder *b = tether_cli_begin_state ("room-state", "room", tether_room_get_id (room),
                                           "reason", tether_room_state_to_string (state),
                                           error_code);
  g_autofree char *why = extended_message (extended_data);

  tether_cli_add_json_member (b, "extended", extended_data);
  /* The room service node in use: it changes when a room fails over. */
  json_builder_set_member_name (b, "server");
  json_builder_add_string_value (b, tether_room_get_server_url (room));
  tether_cli_end_event (b);

  switch (state)
    {
    case TETHER_ROOM_STATE_LOGIN_FAILED:
      g_printerr ("tether-cli: login failed: %s (%d)%s\n",
                  tether_error_code_to_string (error_code), error_code, why);
      run->exit_code = EXIT_LOGIN_FAILED;
      g_main_loop_quit (run->loop);
      break;
    case TETHER_ROOM_STATE_KICK_OUT:
      g_printerr ("tether-cli: kicked out of the room: %s (%d)\n",
                  tether_error_code_to_string (error_code), error_code);
      run->exit_code = EXIT_KICK_OUT;
      g_main_loop_quit (run->loop);
      break;
    case TETHER_ROOM_STATE_RECONNECT_FAILED:
      g_printerr ("tether-cli: could not reconnect: %s (%d)%s\n",
                  tether_error_code_to_string (error_code), error_code, why);
      run->exit_code = EXIT_RECONNECT_FAILED;
      g_main_loop_quit (run->loop);
      break;
    case TETHER_ROOM_STATE_LOGOUT:
    case TETHER_ROOM_STATE_LOGOUT_FAILED:
      g_main_loop_quit (run->loop);
      break;
    case TETHER_ROOM_STATE_LOGINED:
    case TETHER_ROOM_STATE_RECONNECTED:
    case TETHER_ROOM_STATE_LOGINING:
    case TETHER_ROOM_STATE_RECONNECTING:
    default:
      break;
    }
}

static void
user_update_cb (TetherRoom       *room,
                TetherUpdateType  update,
                GPtrArray        *users,
                gpointer          user_data)
{
  JsonBuilder *b = tether_cli_begin_event ("user-update");

  json_builder_set_member_name (b, TETHER_FIELD_UPDATE);
  json_builder_add_string_value (b, tether_update_type_to_string (update));
  json_builder_set_member_name (b, TETHER_FIELD_USERS);
  json_builder_begin_array (b);
  for (guint i = 0; i < users->len; i++)
    {
      TetherUser *u = g_ptr_array_index (users, i);
      TetherMessageUser item = { tether_user_get_id (u), tether_user_get_name (u) };

      tether_message_add_user (b, &item);
    }
  json_builder_end_array (b);
  tether_cli_end_event (b);
}

static void
stream_update_cb (TetherRoom       *room,
                  TetherUpdateType  update,
                  GPtrArray        *streams,
                  const char       *reason,
                  gpointer          user_data)
{
  JsonBuilder *b = tether_cli_begin_event ("stream-update");

  json_builder_set_member_name (b, TETHER_FIELD_UPDATE);
  json_builder_add_string_value (b, tether_update_type_to_string (update));
  add_streams (b, streams);
  if (reason != NULL)
    {
      json_builder_set_member_name (b, TETHER_FIELD_REASON);
      json_builder_add_string_value (b, reason);
    }
  tether_cli_end_event (b);
}

static void
reconnect_report_cb (TetherRoom            *room,
                     TetherReconnectReport *report,
                     gpointer               user_data)
{
  g_autofree char *json = tether_reconnect_report_to_json (report);
  JsonBuilder *b = tether_cli_begin_event ("reconnect-report");

  tether_cli_add_json_member (b, "report", json);
  tether_cli_end_event (b);
}

static void
token_will_expire_cb (TetherRoom   *room,
                      int           remaining,
                      TetherCliRun *run)
{
  JsonBuilder *b = tether_cli_begin_event ("token-will-expire");

  json_builder_set_member_name (b, "remaining");
  json_builder_add_int_value (b, remaining);
  json_builder_set_member_name (b, "renewing");
  json_builder_add_boolean_value (b, run->opts->app_secret != NULL || run->opts->guest);
  tether_cli_end_event (b);

  if (run->opts->guest)
    tether_cli_guest_renew (run);

  /* With the app secret at hand the CLI renews by itself, as an app's backend would. */
  if (run->opts->app_secret != NULL)
    {
      g_autofree char *token = tether_cli_current_token (run->opts);

      tether_room_renew_token (room, token);
    }
}

static gboolean
quit_signal_cb (gpointer user_data)
{
  TetherCliRun *run = user_data;

  if (run->stopping)
    {
      g_main_loop_quit (run->loop);
      return G_SOURCE_REMOVE;
    }
  run->stopping = TRUE;
  if (run->on_stop != NULL)
    run->on_stop (run);
  else
    tether_room_logout (run->room);
  return G_SOURCE_CONTINUE;
}

int
tether_cli_run_room (TetherCliOptions *opts,
                     TetherCliSetup    setup,
                     gpointer          setup_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherEngine) engine = tether_engine_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *token = NULL;
  g_autoptr(TetherLoginOptions) login = NULL;
  TetherCliRun run = { 0, };
  guint sigint, sigterm;

  for (guint i = 0; opts->config != NULL && opts->config[i] != NULL; i++)
    if (!tether_engine_set_config (engine, opts->config[i], &error))
      {
        g_printerr ("tether-cli: %s\n", error->message);
        return EXIT_USAGE;
      }
  if (opts->tls_ca != NULL && !tether_engine_set_tls_ca_file (engine, opts->tls_ca, &error))
    {
      g_printerr ("tether-cli: --tls-ca: %s\n", error->message);
      return EXIT_USAGE;
    }

  quiet = opts->quiet;
  if (opts->guest && !tether_cli_guest_fetch (opts, &error))
    {
      g_printerr ("tether-cli: no guest token: %s\n", error->message);
      return EXIT_LOGIN_FAILED;
    }
  token = tether_cli_current_token (opts);
  run.opts = opts;
  run.loop = loop;
  run.engine = engine;
  login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", opts->server,
                        "server-urls", opts->server_urls,
                        "app-id", opts->app_id, "room-id", opts->room, "user-id", opts->user,
                        "user-name", opts->name, "token", token,
                        "notify-users", opts->notify_users, NULL);
  run.room = tether_engine_login_room (engine, login);
  g_signal_connect (run.room, "state-changed", G_CALLBACK (state_changed_cb), &run);
  g_signal_connect (run.room, "user-update", G_CALLBACK (user_update_cb), &run);
  g_signal_connect (run.room, "stream-update", G_CALLBACK (stream_update_cb), &run);
  g_signal_connect (run.room, "reconnect-report", G_CALLBACK (reconnect_report_cb), &run);
  g_signal_connect (run.room, "token-will-expire", G_CALLBACK (token_will_expire_cb), &run);

  if (setup != NULL)
    setup (&run, setup_data);

  sigint = g_unix_signal_add (SIGINT, quit_signal_cb, &run);
  sigterm = g_unix_signal_add (SIGTERM, quit_signal_cb, &run);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);

  if (run.teardown != NULL)
    run.teardown (&run);
  g_signal_handlers_disconnect_by_data (run.room, &run);
  g_clear_object (&run.room);

  return run.exit_code;
}

static int
cmd_watch (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("[LINK] - watch a room and print JSON lines");
  g_autoptr(GError) error = NULL;
  TetherCliOptions opts = { 0, };

  /* --autoplay makes watch a viewer: the media command takes over. */
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--autoplay"))
      {
        for (int k = i; k < argc; k++)
          argv[k] = argv[k + 1];
        return tether_cli_cmd_autoplay (argc - 1, argv);
      }

  g_option_context_add_main_entries (ctx, tether_cli_common_entries (&opts), NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !tether_cli_parse_common (&opts, argc, argv, &error))
    {
      g_printerr ("tether-cli watch: %s\n", error->message);
      return EXIT_USAGE;
    }

  return tether_cli_run_room (&opts, NULL, NULL);
}

static int
cmd_token (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- mint a token from an app secret");
  g_autoptr(GError) error = NULL;
  g_autofree char *app_id = NULL, *secret = NULL, *secret_file = NULL, *user = NULL;
  g_autofree char *room = NULL;
  g_auto(GStrv) streams = NULL;
  g_autofree char *token = NULL;
  gboolean publish = FALSE;
  double lifetime = 3600;
  gint64 issued_at = 0;
  const GOptionEntry entries[] = {
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &app_id, "App id (default: demo)", "ID" },
    { "app-secret", 0, 0, G_OPTION_ARG_STRING, &secret,
      "App secret (visible in ps: prefer --app-secret-file or TETHER_APP_SECRET)", "SECRET" },
    { "app-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_file,
      "Read the app secret from FILE (- for standard input)", "FILE" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "User id", "ID" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &room, "Only this room (default: any)", "ID" },
    { "publish", 0, 0, G_OPTION_ARG_NONE, &publish, "Allow publishing", NULL },
    { "stream", 0, 0, G_OPTION_ARG_STRING_ARRAY, &streams, "Only these stream ids", "ID" },
    { "lifetime", 0, 0, G_OPTION_ARG_DOUBLE, &lifetime, "Seconds until expiry (3600)", "S" },
    { "issued-at", 0, 0, G_OPTION_ARG_INT64, &issued_at, "Unix time of issue (now)", "T" },
    { NULL }
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !resolve_secret ("app-secret", &secret, secret_file, "TETHER_APP_SECRET", &error))
    {
      g_printerr ("tether-cli token: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (secret == NULL)
    secret = secret_from_env ("TETHER_APP_SECRET");
  if (secret == NULL || user == NULL)
    {
      g_printerr ("tether-cli token: --app-secret-file (or TETHER_APP_SECRET) and --user "
                  "are required\n");
      return EXIT_USAGE;
    }
  if (issued_at == 0)
    issued_at = g_get_real_time () / G_USEC_PER_SEC;

  token = tether_token_mint (secret, app_id ? app_id : "demo", user, room,
                             TETHER_PRIVILEGE_LOGIN | (publish ? TETHER_PRIVILEGE_PUBLISH : 0),
                             (const char * const *) streams, issued_at, (gint64) lifetime);
  g_print ("%s\n", token);
  return EXIT_OK;
}

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "watch", cmd_watch, "log into a room and print its events as JSON lines" },
  { "token", cmd_token, "mint a token from an app secret" },
  { "publish", tether_cli_cmd_publish, "publish a stream (test pattern or camera) into a room" },
  { "play", tether_cli_cmd_play, "play one stream of a room (watch --autoplay plays them all)" },
  { "url", tether_cli_cmd_url, "print an srt:// URL any SRT player can open" },
};

static void
usage (void)
{
  g_printerr ("Usage: tether-cli COMMAND [OPTIONS]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_printerr ("  %-8s %s\n", commands[i].name, commands[i].summary);
  g_printerr ("\nRun tether-cli COMMAND --help for its options.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  start_time = g_get_monotonic_time ();
  g_set_prgname ("tether-cli");

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      usage ();
      return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("tether-cli %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("tether-cli: unknown command “%s”\n\n", argv[1]);
  usage ();
  return EXIT_USAGE;
}
