/* tether-server-status.c: `tether-server --status --redis URL [--app-id ID]`, a
 * snapshot of the nodes, media nodes and rooms of a cluster, read from Redis
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <hiredis/hiredis.h>

#include "tether-redis.h"
#include "tether-server-status.h"

/*
 * A one-shot synchronous reader of the keys of the cluster mode (docs/design.md,
 * "Several nodes"): it never writes, and it reads what any node would, so it
 * can run on any host that reaches Redis, while the nodes run or after they
 * all died. Rooms are found with SCAN (no KEYS: a big Redis is not blocked),
 * and every per-key read of a listing is pipelined.
 */

#define DEFAULT_APP_ID "demo"
#define CONNECT_TIMEOUT_SEC 3
#define SCAN_COUNT "1000"

typedef struct
{
  char *redis;
  char *app_id;
  char *config;
  gboolean status;
} StatusOptions;

static void
status_options_clear (StatusOptions *o)
{
  g_free (o->redis);
  g_free (o->app_id);
  g_free (o->config);
}

/* Whether the command line asks for --status (before any other parsing: the
 * status mode has options of its own and starts nothing). */
gboolean
tether_server_status_requested (int    argc,
                                char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        break;
      if (strcmp (argv[i], "--status") == 0)
        return TRUE;
    }
  return FALSE;
}

/* --redis and --app-id from the [server] group of --config when not given. */
static gboolean
load_config (StatusOptions  *o,
             GError        **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  if (o->config == NULL)
    return TRUE;
  if (!g_key_file_load_from_file (kf, o->config, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", o->config);
      return FALSE;
    }
  if (o->redis == NULL)
    o->redis = g_key_file_get_string (kf, "server", "redis", NULL);
  if (o->app_id == NULL)
    o->app_id = g_key_file_get_string (kf, "server", "app-id", NULL);
  return TRUE;
}

static char *
redis_url_without_password (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, NULL);

  return uri != NULL ? g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD) : g_strdup ("?");
}

static redisReply *
command (redisContext  *c,
         GError       **error,
         const char    *format,
         ...)
{
  va_list ap;
  redisReply *reply;

  va_start (ap, format);
  reply = redisvCommand (c, format, ap);
  va_end (ap);
  if (reply == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s", c->errstr);
  else if (reply->type == REDIS_REPLY_ERROR)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", reply->str);
      g_clear_pointer (&reply, freeReplyObject);
    }
  return reply;
}

static redisContext *
connect_redis (const char  *url,
               GError     **error)
{
  g_autofree char *host = NULL;
  g_autofree char *password = NULL;
  struct timeval timeout = { CONNECT_TIMEOUT_SEC, 0 };
  redisContext *c;
  redisReply *reply;
  guint16 port;
  guint db;

  if (!tether_redis_parse_url (url, &host, &port, &db, &password, error))
    {
      g_prefix_error (error, "--redis: ");
      return NULL;
    }
  c = redisConnectWithTimeout (host, port, timeout);
  if (c == NULL || c->err != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                   "cannot reach Redis at %s:%d: %s", host, port,
                   c != NULL ? c->errstr : "out of memory");
      g_clear_pointer (&c, redisFree);
      return NULL;
    }
  redisSetTimeout (c, timeout);
  /* the password never reaches a message */
  if (password != NULL && (reply = command (c, error, "AUTH %s", password)) == NULL)
    {
      g_prefix_error (error, "Redis at %s:%d refused the password: ", host, port);
      redisFree (c);
      return NULL;
    }
  if (password != NULL)
    freeReplyObject (reply);
  if ((reply = command (c, error, "SELECT %u", db)) == NULL)
    {
      g_prefix_error (error, "Redis at %s:%d does not answer: ", host, port);
      redisFree (c);
      return NULL;
    }
  freeReplyObject (reply);
  return c;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The elements of an array reply as strings, sorted. */
static GPtrArray *
sorted_strings (redisReply *reply)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);

  for (size_t i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
    if (reply->element[i]->type == REDIS_REPLY_STRING)
      g_ptr_array_add (strings, g_strndup (reply->element[i]->str, reply->element[i]->len));
  g_ptr_array_sort (strings, compare_strings);
  return strings;
}

static const char *
element_str (redisReply *reply,
             size_t      i)
{
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements
      || reply->element[i]->type != REDIS_REPLY_STRING || reply->element[i]->len == 0)
    return "-";
  return reply->element[i]->str;
}

static void
free_replies (guint        n,
              redisReply **replies)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&replies[i], freeReplyObject);
}

/* Reads the next @n replies of a pipeline into @out; on failure none is kept. */
static gboolean
read_replies (redisContext  *c,
              guint          n,
              redisReply   **out,
              GError       **error)
{
  for (guint i = 0; i < n; i++)
    {
      out[i] = NULL;
      if (redisGetReply (c, (void **) &out[i]) != REDIS_OK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s", c->errstr);
          free_replies (i, out);
          return FALSE;
        }
    }
  return TRUE;
}

static long long
integer_of (redisReply *reply)
{
  return reply != NULL && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

/* Rows of cells printed in columns as wide as their widest cell. */
static void
print_table (GPtrArray *rows)
{
  g_autoptr(GArray) widths = g_array_new (FALSE, TRUE, sizeof (guint));

  for (guint r = 0; r < rows->len; r++)
    {
      GStrv row = rows->pdata[r];

      for (guint c = 0; row[c] != NULL; c++)
        {
          guint len = (guint) g_utf8_strlen (row[c], -1);

          if (c >= widths->len)
            g_array_set_size (widths, c + 1);
          g_array_index (widths, guint, c) = MAX (g_array_index (widths, guint, c), len);
        }
    }
  for (guint r = 0; r < rows->len; r++)
    {
      GStrv row = rows->pdata[r];
      g_autoptr(GString) line = g_string_new (NULL);

      for (guint c = 0; row[c] != NULL; c++)
        {
          g_string_append (line, row[c]);
          if (row[c + 1] != NULL)
            for (guint pad = (guint) g_utf8_strlen (row[c], -1); pad < g_array_index (widths, guint, c) + 2; pad++)
              g_string_append_c (line, ' ');
        }
      printf ("%s\n", line->str);
    }
}

static char *
seen_ago (const char *seen_ms,
          gint64      now_ms)
{
  guint64 seen;

  if (!g_ascii_string_to_unsigned (seen_ms, 10, 0, G_MAXUINT64, &seen, NULL))
    return g_strdup ("-");
  return g_strdup_printf ("%.1fs", MAX (now_ms - (gint64) seen, 0) / 1000.0);
}

/* The nodes (room service and embedded media node) of the `nodes` set. */
static gboolean
print_nodes (redisContext  *c,
             const char    *prefix,
             gint64         now_ms,
             GError       **error)
{
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  redisReply *reply;
  guint alive = 0;

  if ((reply = command (c, error, "SMEMBERS %snodes", prefix)) == NULL)
    return FALSE;
  ids = sorted_strings (reply);
  freeReplyObject (reply);

  for (guint i = 0; i < ids->len; i++)
    {
      redisAppendCommand (c, "HMGET %snode:%s ws_url media_id media_url seen_ms", prefix, (char *) ids->pdata[i]);
      redisAppendCommand (c, "PTTL %snode:%s:alive", prefix, (char *) ids->pdata[i]);
      redisAppendCommand (c, "SCARD %snode:%s:sessions", prefix, (char *) ids->pdata[i]);
    }
  g_ptr_array_add (rows, g_strsplit ("NODE STATE SEEN SESSIONS PUBLIC-URL MEDIA-ID MEDIA-URL", " ", -1));
  for (guint i = 0; i < ids->len; i++)
    {
      redisReply *r[3];  /* node, ttl, sessions */
      char **row;

      if (!read_replies (c, G_N_ELEMENTS (r), r, error))
        return FALSE;
      /* PTTL: -2 when the key is gone (the node missed its beats) */
      alive += integer_of (r[1]) > 0 || integer_of (r[1]) == -1;
      row = g_new0 (char *, 8);
      row[0] = g_strdup (ids->pdata[i]);
      row[1] = g_strdup (integer_of (r[1]) > 0 || integer_of (r[1]) == -1 ? "alive" : "dead");
      row[2] = seen_ago (element_str (r[0], 3), now_ms);
      row[3] = g_strdup_printf ("%lld", integer_of (r[2]));
      row[4] = g_strdup (element_str (r[0], 0));
      row[5] = g_strdup (element_str (r[0], 1));
      row[6] = g_strdup (element_str (r[0], 2));
      g_ptr_array_add (rows, row);
      free_replies (G_N_ELEMENTS (r), r);
    }
  printf ("nodes: %u (%u alive)\n", ids->len, alive);
  if (ids->len > 0)
    print_table (rows);
  return TRUE;
}

/* The media nodes of the `medianodes` set (cascade: registered by every node's media node). */
static gboolean
print_media_nodes (redisContext  *c,
                   const char    *prefix,
                   gint64         now_ms,
                   GError       **error)
{
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  redisReply *reply;

  if ((reply = command (c, error, "SMEMBERS %smedianodes", prefix)) == NULL)
    return FALSE;
  ids = sorted_strings (reply);
  freeReplyObject (reply);
  if (ids->len == 0)
    return TRUE;

  for (guint i = 0; i < ids->len; i++)
    {
      redisAppendCommand (c, "HMGET %smedianode:%s url load seen_ms", prefix, (char *) ids->pdata[i]);
      redisAppendCommand (c, "PTTL %smedianode:%s:alive", prefix, (char *) ids->pdata[i]);
    }
  g_ptr_array_add (rows, g_strsplit ("MEDIA-NODE STATE SEEN LOAD URL", " ", -1));
  for (guint i = 0; i < ids->len; i++)
    {
      redisReply *r[2];  /* node, ttl */
      char **row;

      if (!read_replies (c, G_N_ELEMENTS (r), r, error))
        return FALSE;
      row = g_new0 (char *, 6);
      row[0] = g_strdup (ids->pdata[i]);
      row[1] = g_strdup (integer_of (r[1]) > 0 || integer_of (r[1]) == -1 ? "alive" : "dead");
      row[2] = seen_ago (element_str (r[0], 2), now_ms);
      row[3] = g_strdup (element_str (r[0], 1));
      row[4] = g_strdup (element_str (r[0], 0));
      g_ptr_array_add (rows, row);
      free_replies (G_N_ELEMENTS (r), r);
    }
  printf ("media nodes: %u\n", ids->len);
  print_table (rows);
  return TRUE;
}

/* The room ids: the hashes `P room:{<rid>}` (a room's other keys add `:<part>`
 * after the brace). */
static GPtrArray *
scan_rooms (redisContext  *c,
            const char    *prefix,
            GError       **error)
{
  g_autofree char *pattern = g_strdup_printf ("%sroom:{*}", prefix);
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) rooms = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cursor = g_strdup ("0");
  size_t prefix_len = strlen (prefix) + strlen ("room:{");
  GHashTableIter iter;
  gpointer key;

  do
    {
      redisReply *reply = command (c, error, "SCAN %s MATCH %s COUNT " SCAN_COUNT " TYPE hash", cursor, pattern);

      if (reply == NULL)
        return NULL;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unexpected reply to SCAN");
          freeReplyObject (reply);
          return NULL;
        }
      g_free (cursor);
      cursor = g_strdup (reply->element[0]->str);
      for (size_t i = 0; i < reply->element[1]->elements; i++)
        g_hash_table_add (keys, g_strdup (reply->element[1]->element[i]->str));
      freeReplyObject (reply);
    }
  while (strcmp (cursor, "0") != 0);

  g_hash_table_iter_init (&iter, keys);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const char *k = key;

      g_ptr_array_add (rooms, g_strndup (k + prefix_len, strlen (k) - prefix_len - 1));
    }
  g_ptr_array_sort (rooms, compare_strings);
  return g_steal_pointer (&rooms);
}

static gboolean
print_rooms (redisContext  *c,
             const char    *prefix,
             GError       **error)
{
  g_autoptr(GPtrArray) rooms = scan_rooms (c, prefix, error);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  if (rooms == NULL)
    return FALSE;
  for (guint i = 0; i < rooms->len; i++)
    {
      redisAppendCommand (c, "HMGET %sroom:{%s} seq rsid", prefix, (char *) rooms->pdata[i]);
      redisAppendCommand (c, "ZCARD %sroom:{%s}:members", prefix, (char *) rooms->pdata[i]);
      redisAppendCommand (c, "ZCARD %sroom:{%s}:streams", prefix, (char *) rooms->pdata[i]);
    }
  g_ptr_array_add (rows, g_strsplit ("ROOM MEMBERS STREAMS SEQ ROOM-SESSION", " ", -1));
  for (guint i = 0; i < rooms->len; i++)
    {
      redisReply *r[3];  /* room, members, streams */
      char **row;

      if (!read_replies (c, G_N_ELEMENTS (r), r, error))
        return FALSE;
      row = g_new0 (char *, 6);
      row[0] = g_strdup (rooms->pdata[i]);
      row[1] = g_strdup_printf ("%lld", integer_of (r[1]));
      row[2] = g_strdup_printf ("%lld", integer_of (r[2]));
      row[3] = g_strdup (element_str (r[0], 0));
      row[4] = g_strdup (element_str (r[0], 1));
      g_ptr_array_add (rows, row);
      free_replies (G_N_ELEMENTS (r), r);
    }
  printf ("rooms: %u\n", rooms->len);
  if (rooms->len > 0)
    print_table (rows);
  return TRUE;
}

/* `tether-server --status`: prints the cluster, exits 0; 1 when Redis cannot be read. */
int
tether_server_status_main (int    argc,
                           char **argv)
{
  StatusOptions o = { 0 };
  GOptionEntry entries[] = {
    { "status", 0, 0, G_OPTION_ARG_NONE, &o.status, "Print the nodes and rooms of the cluster from Redis, and exit", NULL },
    { "redis", 0, 0, G_OPTION_ARG_STRING, &o.redis, "The cluster's Redis", "redis://HOST:PORT[/DB]" },
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &o.app_id, "The app id (default " DEFAULT_APP_ID ")", "ID" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Read redis and app-id from the [server] group of FILE", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the nodes and rooms of a Tether cluster");
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *shown_url = NULL;
  redisContext *c = NULL;
  redisReply *time;
  gint64 now_ms;
  int status = EXIT_FAILURE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || !load_config (&o, &error))
    goto out;
  if (o.redis == NULL)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "--status needs --redis redis://HOST:PORT (or redis= in the [server] group of --config)");
      goto out;
    }
  if ((c = connect_redis (o.redis, &error)) == NULL)
    goto out;

  /* "seen … ago" by Redis's clock, which every node shares, rather than this host's */
  if ((time = command (c, &error, "TIME")) == NULL)
    goto out;
  now_ms = g_ascii_strtoll (element_str (time, 0), NULL, 10) * 1000
           + g_ascii_strtoll (element_str (time, 1), NULL, 10) / 1000;
  freeReplyObject (time);

  prefix = g_strdup_printf ("tether:%s:", o.app_id != NULL ? o.app_id : DEFAULT_APP_ID);
  shown_url = redis_url_without_password (o.redis);
  printf ("app %s, keys %s* on %s\n", o.app_id != NULL ? o.app_id : DEFAULT_APP_ID, prefix, shown_url);
  if (!print_nodes (c, prefix, now_ms, &error) || !print_media_nodes (c, prefix, now_ms, &error)
      || !print_rooms (c, prefix, &error))
    goto out;
  status = EXIT_SUCCESS;

out:
  if (error != NULL)
    g_printerr ("tether-server: --status: %s\n", error->message);
  g_clear_pointer (&c, redisFree);
  status_options_clear (&o);
  return status;
}
