/* tether-link.c: the one parser and the one builder of room links, and turning what a
 * person types for a server (a link, a host, host:port, a URL) into a room-service URL;
 * the format is in docs/protocol.md, "Room links"
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-link.h"
#include "tether-protocol.h"

#define SCHEME_SECURE "tether"
#define SCHEME_INSECURE "tether+insecure"

/* What the error messages say a server field or a link may hold. */
#define EXPECTED_SERVER \
  "expected a host (example.org), host:port (example.org:7480), a ws:// or wss:// URL, " \
  "or a room link (tether://example.org/ROOM)"
#define EXPECTED_LINK "expected tether://HOST[:PORT][,HOST[:PORT]…]/ROOM[?app=APP]"

/* One room service of a link. */
typedef struct
{
  char *host;          /* lower case; an IPv6 address without its brackets */
  guint16 port;
} LinkHost;

struct _TetherLink
{
  gboolean insecure;
  LinkHost *hosts;     /* n_hosts ≥ 1, in the order to try them */
  guint n_hosts;
  char *room_id;
  char *app_id;        /* nullable */
  char **server_urls;  /* ws[s]://HOST:PORT/ws of each host, NULL-terminated */
};

G_DEFINE_BOXED_TYPE (TetherLink, tether_link, tether_link_copy, tether_link_free)

/* Query keys a link must never carry: a link is meant to be shared. */
static const char *const secret_keys[] = {
  "token", "secret", "app-secret", "app_secret", "passphrase", "password", "key",
};

static gboolean
invalid (GError    **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError    **error,
         const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

/* Messages quote what they refuse: it must be text. */
static gboolean
check_utf8 (const char  *text,
            GError     **error)
{
  if (!g_utf8_validate (text, -1, NULL))
    return invalid (error, "the text is not valid UTF-8");
  return TRUE;
}

static gboolean
is_ipv6 (const char *host)
{
  return strchr (host, ':') != NULL && g_hostname_is_ip_address (host);
}

static gboolean
is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0
      || g_str_has_suffix (host, ".localhost"))
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* A host name (ASCII letters, digits, '-', '.', '_'; non-ASCII names become their
 * ASCII form) or an IPv4 address; lower-cased. */
static char *
check_host_name (const char  *host,
                 GError     **error)
{
  g_autofree char *ascii = NULL;

  if (*host == '\0')
    {
      invalid (error, "there is no host name; " EXPECTED_SERVER);
      return NULL;
    }
  if (strchr (host, ',') != NULL)
    {
      invalid (error, "“%s” names several hosts; give one here", host);
      return NULL;
    }
  ascii = g_hostname_to_ascii (host);
  if (ascii == NULL || *ascii == '\0')
    {
      invalid (error, "“%s” is not a host name", host);
      return NULL;
    }
  for (const char *p = ascii; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-._", *p) == NULL)
      {
        invalid (error, "“%s” is not a host name", host);
        return NULL;
      }
  return g_ascii_strdown (ascii, -1);
}

/* HOST, HOST:PORT, [IPV6] or [IPV6]:PORT (@len bytes); *port is 0 when absent. */
static gboolean
parse_authority (const char  *text,
                 gsize        len,
                 char       **host,
                 guint16     *port,
                 GError     **error)
{
  g_autofree char *authority = g_strndup (text, len);
  g_autofree char *name = NULL;
  const char *port_text = NULL;
  guint64 number = 0;

  *port = 0;
  if (strchr (authority, '@') != NULL)
    return invalid (error, "“%s” holds a user name (“…@”): a link or a server names only "
                    "a host and a port", authority);
  if (authority[0] == '[')
    {
      char *end = strchr (authority, ']');

      if (end == NULL)
        return invalid (error, "“%s” has no closing “]”; an IPv6 address is written "
                        "[::1] or [::1]:7480", authority);
      name = g_ascii_strdown (authority + 1, end - authority - 1);
      if (!is_ipv6 (name))
        return invalid (error, "“%s” is not an IPv6 address", name);
      if (end[1] == ':')
        port_text = end + 2;
      else if (end[1] != '\0')
        return invalid (error, "“%s” has something after “]” that is not “:PORT”", authority);
    }
  else
    {
      char *colon = strchr (authority, ':');

      if (colon != NULL && strchr (colon + 1, ':') != NULL)
        return invalid (error, "“%s”: write an IPv6 address in brackets, [::1] or "
                        "[::1]:7480", authority);
      if (colon != NULL)
        {
          *colon = '\0';
          port_text = colon + 1;
        }
      name = check_host_name (authority, error);
      if (name == NULL)
        return FALSE;
    }
  if (port_text != NULL)
    {
      if (!g_ascii_string_to_unsigned (port_text, 10, 1, G_MAXUINT16, &number, NULL))
        return invalid (error, "the port must be a number from 1 to 65535, not “%s”", port_text);
      *port = (guint16) number;
    }
  *host = g_steal_pointer (&name);
  return TRUE;
}

static char *
build_server_url (gboolean    insecure,
                  const char *host,
                  guint16     port,
                  const char *path)
{
  gboolean v6 = strchr (host, ':') != NULL;
  g_autofree char *port_text = port != 0 ? g_strdup_printf (":%u", port) : g_strdup ("");

  return g_strdup_printf ("%s://%s%s%s%s%s", insecure ? "ws" : "wss", v6 ? "[" : "", host,
                          v6 ? "]" : "", port_text, path);
}

static void
link_host_clear (gpointer data)
{
  g_free (((LinkHost *) data)->host);
}

/* A link's hosts as they are parsed: each once, at most TETHER_LINK_MAX_HOSTS. */
static GArray *
hosts_new (void)
{
  GArray *hosts = g_array_new (FALSE, TRUE, sizeof (LinkHost));

  g_array_set_clear_func (hosts, link_host_clear);
  return hosts;
}

static gboolean
hosts_add (GArray      *hosts,
           char        *host,
           guint16      port,
           GError     **error)
{
  LinkHost entry = { host, port != 0 ? port : TETHER_LINK_DEFAULT_PORT };

  for (guint i = 0; i < hosts->len; i++)
    {
      LinkHost *other = &g_array_index (hosts, LinkHost, i);

      /* Named twice: tried once. */
      if (other->port == entry.port && g_str_equal (other->host, entry.host))
        {
          g_free (host);
          return TRUE;
        }
    }
  if (hosts->len == TETHER_LINK_MAX_HOSTS)
    {
      g_free (host);
      return invalid (error, "a link names at most %d room services", TETHER_LINK_MAX_HOSTS);
    }
  g_array_append_val (hosts, entry);
  return TRUE;
}

static TetherLink *
link_new_take (gboolean  insecure,
               GArray   *hosts,
               char     *room_id,
               char     *app_id)
{
  TetherLink *self = g_new0 (TetherLink, 1);

  g_assert (hosts->len > 0);
  self->insecure = insecure;
  self->n_hosts = hosts->len;
  g_array_set_clear_func (hosts, NULL);
  self->hosts = (LinkHost *) g_array_free (hosts, FALSE);
  self->room_id = room_id;
  self->app_id = app_id;
  self->server_urls = g_new0 (char *, self->n_hosts + 1);
  for (guint i = 0; i < self->n_hosts; i++)
    self->server_urls[i] = build_server_url (insecure, self->hosts[i].host, self->hosts[i].port,
                                             "/ws");
  return self;
}

static gboolean
check_room_id (const char  *room_id,
               GError     **error)
{
  if (room_id == NULL || *room_id == '\0')
    return invalid (error, "the link names no room; " EXPECTED_LINK);
  if (!tether_protocol_valid_id (room_id))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ROOM_ID_INVALID,
                   "“%s” is not a room id: a room id is 1–128 characters of "
                   "A–Z a–z 0–9 . _ ~ @ : -", room_id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_app_id (const char  *app_id,
              GError     **error)
{
  if (app_id != NULL && !tether_protocol_valid_id (app_id))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_APP_ID_INVALID,
                   "“%s” is not an app id: an app id is 1–128 characters of "
                   "A–Z a–z 0–9 . _ ~ @ : -", app_id);
      return FALSE;
    }
  return TRUE;
}

/* Splits SCHEME://REST; the scheme lower-cased, NULL when there is no "://". */
static char *
split_scheme (const char  *text,
              const char **rest)
{
  const char *sep = strstr (text, "://");

  if (sep == NULL)
    return NULL;
  for (const char *p = text; p < sep; p++)
    if (!g_ascii_isalnum (*p) && strchr ("+-.", *p) == NULL)
      return NULL;
  *rest = sep + 3;
  return g_ascii_strdown (text, sep - text);
}

/* %-escapes read as bytes that must still be text (messages quote the result); NULL
 * for a bad escape, a NUL or bytes that are not UTF-8. */
static char *
unescape (const char *start,
          const char *end)
{
  char *text = g_uri_unescape_segment (start, end, NULL);

  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    g_clear_pointer (&text, g_free);
  return text;
}

/* The query of a link: app=APP; a secret is refused, anything else is left for later
 * versions. */
static gboolean
parse_query (const char  *query,
             char       **app_id,
             GError     **error)
{
  g_auto(GStrv) pairs = g_strsplit (query, "&", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL, *value = NULL;

      if (*pairs[i] == '\0')
        continue;
      key = unescape (pairs[i], eq);
      value = eq != NULL ? unescape (eq + 1, NULL) : g_strdup ("");
      if (key == NULL || value == NULL)
        return invalid (error, "the link's “?%s” is not correctly %%-escaped", query);
      for (guint k = 0; k < G_N_ELEMENTS (secret_keys); k++)
        if (g_ascii_strcasecmp (key, secret_keys[k]) == 0)
          return invalid (error, "a room link never carries a token or a secret (“%s=”): "
                          "anyone who sees a link could use it", key);
      if (g_str_equal (key, "app"))
        {
          if (!check_app_id (value, error))
            return FALSE;
          g_free (*app_id);
          *app_id = g_steal_pointer (&value);
        }
    }
  return TRUE;
}

/* REST of SCHEME://REST for a tether link. */
static TetherLink *
parse_link_rest (gboolean     insecure,
                 const char  *rest,
                 GError     **error)
{
  g_autofree char *room = NULL, *app = NULL, *segment = NULL;
  g_autoptr(GArray) hosts = hosts_new ();
  const char *slash, *query, *path_end, *authority_end, *start;

  if (strchr (rest, '#') != NULL)
    {
      invalid (error, "a room link has no “#…” part; " EXPECTED_LINK);
      return NULL;
    }
  query = strchr (rest, '?');
  path_end = query != NULL ? query : rest + strlen (rest);
  slash = memchr (rest, '/', path_end - rest);
  authority_end = slash != NULL ? slash : path_end;
  /* HOST[:PORT] or several of them, separated by commas: one room service's nodes. */
  for (start = rest; start <= authority_end; )
    {
      const char *comma = memchr (start, ',', authority_end - start);
      const char *end = comma != NULL ? comma : authority_end;
      char *host = NULL;
      guint16 port = 0;

      if (end == start && (comma != NULL || hosts->len > 0))
        {
          invalid (error, "the link's list of hosts has an empty entry; " EXPECTED_LINK);
          return NULL;
        }
      if (!parse_authority (start, end - start, &host, &port, error)
          || !hosts_add (hosts, host, port, error))
        return NULL;
      start = end + 1;
    }
  if (slash == NULL)
    {
      invalid (error, "the link names no room; " EXPECTED_LINK);
      return NULL;
    }
  segment = g_strndup (slash + 1, path_end - slash - 1);
  /* One trailing slash is forgiven: links get pasted with one. */
  if (g_str_has_suffix (segment, "/"))
    segment[strlen (segment) - 1] = '\0';
  if (strchr (segment, '/') != NULL)
    {
      invalid (error, "“/%s” has more than one path segment: the path of a link is just "
               "the room id; " EXPECTED_LINK, segment);
      return NULL;
    }
  room = unescape (segment, NULL);
  if (room == NULL)
    {
      invalid (error, "the room in the link, “%s”, is not correctly %%-escaped", segment);
      return NULL;
    }
  if (!check_room_id (room, error))
    return NULL;
  if (query != NULL && !parse_query (query + 1, &app, error))
    return NULL;
  return link_new_take (insecure, g_steal_pointer (&hosts), g_steal_pointer (&room),
                        g_steal_pointer (&app));
}

/**
 * tether_link_parse:
 * @text: a room link: `tether://HOST[:PORT]/ROOM[?app=APP]` (TLS, `wss://`) or
 *   `tether+insecure://HOST[:PORT]/ROOM[?app=APP]` (plain `ws://`, for development);
 *   a room service with several nodes is `tether://HOST[:PORT],HOST[:PORT]/ROOM`
 * @error: return location for a %TETHER_ERROR: %TETHER_ERROR_INVALID_ARGUMENT with
 *   a message that says what is wrong and what was expected,
 *   %TETHER_ERROR_ROOM_ID_INVALID or %TETHER_ERROR_APP_ID_INVALID
 *
 * Reads a room link (see `docs/protocol.md`, "Room links"). The port defaults to
 * %TETHER_LINK_DEFAULT_PORT; an IPv6 address is written in brackets; the path is
 * exactly the room id. Several hosts, separated by commas, each with its own
 * optional port, are the nodes of one room service, in the order to try them (at
 * most %TETHER_LINK_MAX_HOSTS; one named twice counts once). A link never carries a
 * token or a secret: one that does
 * (`token=`, `secret=`, ...) is refused. Unknown query keys are ignored, for links
 * of later versions. Space around @text is ignored.
 *
 * Returns: (transfer full) (nullable): the link, or %NULL with @error set
 */
TetherLink *
tether_link_parse (const char  *text,
                   GError     **error)
{
  g_autofree char *copy = NULL, *scheme = NULL;
  const char *rest = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_utf8 (text, error))
    return NULL;
  copy = g_strstrip (g_strdup (text));
  scheme = split_scheme (copy, &rest);
  if (scheme == NULL
      || (!g_str_equal (scheme, SCHEME_SECURE) && !g_str_equal (scheme, SCHEME_INSECURE)))
    {
      invalid (error, "“%s” is not a room link; " EXPECTED_LINK
               " (tether+insecure:// for a server without TLS)", copy);
      return NULL;
    }
  return parse_link_rest (g_str_equal (scheme, SCHEME_INSECURE), rest, error);
}

/**
 * tether_link_new:
 * @server_url: the room service's URL, `wss://HOST[:PORT]/ws` or
 *   `ws://HOST[:PORT]/ws`, as in #TetherLoginOptions:server-url
 * @room_id: the room
 * @app_id: (nullable): the app id to put in the link, or %NULL
 * @error: return location for a %TETHER_ERROR: %TETHER_ERROR_INVALID_ARGUMENT when
 *   a link cannot say @server_url (another path than `/ws`, a query, user info),
 *   %TETHER_ERROR_ROOM_ID_INVALID or %TETHER_ERROR_APP_ID_INVALID
 *
 * Builds the link of a room, for example to share the room one is in. A `wss://`
 * server gives a `tether://` link, a `ws://` one a `tether+insecure://` link; a URL
 * without a port means the scheme's own (443 for `wss://`, 80 for `ws://`), which the
 * link then names.
 *
 * Returns: (transfer full) (nullable): the link, or %NULL with @error set
 */
TetherLink *
tether_link_new (const char  *server_url,
                 const char  *room_id,
                 const char  *app_id,
                 GError     **error)
{
  const char *urls[] = { server_url, NULL };

  g_return_val_if_fail (server_url != NULL, NULL);

  return tether_link_new_for_servers (urls, room_id, app_id, error);
}

/**
 * tether_link_new_for_servers:
 * @server_urls: (array zero-terminated=1): the URLs of the room service's nodes, in
 *   the order to try them, each as tether_link_new() takes it; at least one, all
 *   `wss://` or all `ws://`
 * @room_id: the room
 * @app_id: (nullable): the app id to put in the link, or %NULL
 * @error: return location for a %TETHER_ERROR, as for tether_link_new(); also
 *   %TETHER_ERROR_INVALID_ARGUMENT for URLs that mix `ws://` and `wss://`
 *
 * Builds the link of a room whose service has several nodes:
 * `tether://HOST[:PORT],HOST[:PORT]/ROOM`.
 *
 * Returns: (transfer full) (nullable): the link, or %NULL with @error set
 */
TetherLink *
tether_link_new_for_servers (const char * const  *server_urls,
                             const char          *room_id,
                             const char          *app_id,
                             GError             **error)
{
  g_autoptr(GArray) hosts = hosts_new ();
  gboolean insecure = FALSE;

  g_return_val_if_fail (server_urls != NULL && server_urls[0] != NULL, NULL);
  g_return_val_if_fail (room_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_utf8 (room_id, error) || (app_id != NULL && !check_utf8 (app_id, error))
      || !check_room_id (room_id, error) || !check_app_id (app_id, error))
    return NULL;
  for (guint i = 0; server_urls[i] != NULL; i++)
    {
      const char *server_url = server_urls[i];
      g_autofree char *scheme = NULL;
      const char *rest = NULL, *slash;
      char *host = NULL;
      guint16 port = 0;

      if (!check_utf8 (server_url, error))
        return NULL;
      scheme = split_scheme (server_url, &rest);
      if (scheme == NULL || (!g_str_equal (scheme, "ws") && !g_str_equal (scheme, "wss")))
        {
          invalid (error, "“%s” is not a ws:// or wss:// URL", server_url);
          return NULL;
        }
      if (i > 0 && insecure != g_str_equal (scheme, "ws"))
        {
          invalid (error, "one link cannot name both ws:// and wss:// room services (“%s”)",
                   server_url);
          return NULL;
        }
      insecure = g_str_equal (scheme, "ws");
      slash = strchr (rest, '/');
      if (slash == NULL || !g_str_equal (slash, "/ws"))
        {
          invalid (error, "a room link cannot name “%s”: its path must be /ws, with no query",
                   server_url);
          return NULL;
        }
      if (!parse_authority (rest, slash - rest, &host, &port, error))
        return NULL;
      if (!hosts_add (hosts, host, port != 0 ? port : (insecure ? 80 : 443), error))
        return NULL;
    }
  return link_new_take (insecure, g_steal_pointer (&hosts), g_strdup (room_id),
                        g_strdup (app_id));
}

/**
 * tether_link_copy:
 * @self: a link
 *
 * Returns: (transfer full): a copy of @self
 */
TetherLink *
tether_link_copy (const TetherLink *self)
{
  GArray *hosts;

  g_return_val_if_fail (self != NULL, NULL);

  hosts = hosts_new ();
  for (guint i = 0; i < self->n_hosts; i++)
    hosts_add (hosts, g_strdup (self->hosts[i].host), self->hosts[i].port, NULL);
  return link_new_take (self->insecure, hosts, g_strdup (self->room_id),
                        g_strdup (self->app_id));
}

/**
 * tether_link_free:
 * @self: (nullable): a link
 *
 * Frees @self.
 */
void
tether_link_free (TetherLink *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->n_hosts; i++)
    g_free (self->hosts[i].host);
  g_free (self->hosts);
  g_free (self->room_id);
  g_free (self->app_id);
  g_strfreev (self->server_urls);
  g_free (self);
}

/**
 * tether_link_to_string:
 * @self: a link
 *
 * The link as text, the way tether_link_parse() reads it back: each host's port only
 * when it is not %TETHER_LINK_DEFAULT_PORT, `?app=` only with an app id.
 *
 * Returns: (transfer full): `tether://HOST[:PORT][,HOST[:PORT]…]/ROOM[?app=APP]` or
 *   its `tether+insecure://` form
 */
char *
tether_link_to_string (const TetherLink *self)
{
  GString *text;

  g_return_val_if_fail (self != NULL, NULL);

  text = g_string_new (self->insecure ? SCHEME_INSECURE "://" : SCHEME_SECURE "://");
  for (guint i = 0; i < self->n_hosts; i++)
    {
      const LinkHost *h = &self->hosts[i];
      gboolean v6 = strchr (h->host, ':') != NULL;

      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append_printf (text, v6 ? "[%s]" : "%s", h->host);
      if (h->port != TETHER_LINK_DEFAULT_PORT)
        g_string_append_printf (text, ":%u", h->port);
    }
  /* Ids are made of characters a path and a query take as they are. */
  g_string_append_printf (text, "/%s", self->room_id);
  if (self->app_id != NULL)
    g_string_append_printf (text, "?app=%s", self->app_id);
  return g_string_free (text, FALSE);
}

/**
 * tether_link_get_server_url:
 * @self: a link
 *
 * Returns: the (first) room service's URL: `wss://HOST:PORT/ws`, or
 *   `ws://HOST:PORT/ws` for a `tether+insecure://` link
 */
const char *
tether_link_get_server_url (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->server_urls[0];
}

/**
 * tether_link_get_server_urls:
 * @self: a link
 *
 * Gets the URL of every room service the link names, in its order: one for most
 * links, one per host for `tether://HOST1,HOST2/ROOM`. Give them to
 * #TetherLoginOptions:server-urls.
 *
 * Returns: (transfer none) (array zero-terminated=1): the room service URLs, the
 *   first being tether_link_get_server_url()
 */
const char * const *
tether_link_get_server_urls (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->server_urls;
}

/**
 * tether_link_get_host:
 * @self: a link
 *
 * Returns: the (first) host, lower case; an IPv6 address without brackets
 */
const char *
tether_link_get_host (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->hosts[0].host;
}

/**
 * tether_link_get_port:
 * @self: a link
 *
 * Returns: the (first) host's port, %TETHER_LINK_DEFAULT_PORT when the link names
 *   none
 */
guint16
tether_link_get_port (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->hosts[0].port;
}

/**
 * tether_link_get_room_id:
 * @self: a link
 *
 * Returns: the room
 */
const char *
tether_link_get_room_id (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->room_id;
}

/**
 * tether_link_get_app_id:
 * @self: a link
 *
 * Returns: (nullable): the app id of `?app=`, or %NULL
 */
const char *
tether_link_get_app_id (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->app_id;
}

/**
 * tether_link_is_insecure:
 * @self: a link
 *
 * Returns: %TRUE for a `tether+insecure://` link (plain `ws://`, no TLS)
 */
gboolean
tether_link_is_insecure (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->insecure;
}

/* ws://, wss://, http:// or https:// as the person wrote it, checked: http becomes ws,
 * https wss, an empty path /ws; the port stays as written (none: the scheme's). */
static char *
server_url_from_url (const char  *scheme,
                     const char  *rest,
                     GError     **error)
{
  g_autofree char *host = NULL, *path = NULL;
  gboolean insecure = g_str_equal (scheme, "ws") || g_str_equal (scheme, "http");
  gsize authority_len = strcspn (rest, "/?#");
  guint16 port = 0;

  if (strchr (rest, '#') != NULL)
    {
      invalid (error, "a server URL has no “#…” part; " EXPECTED_SERVER);
      return NULL;
    }
  if (!parse_authority (rest, authority_len, &host, &port, error))
    return NULL;
  path = g_strdup (rest + authority_len);
  if (path[0] == '\0' || path[0] == '?' || g_str_equal (path, "/"))
    {
      char *with_ws = g_strconcat ("/ws", path[0] == '?' ? path : "", NULL);

      g_free (path);
      path = with_ws;
    }
  return build_server_url (insecure, host, port, path);
}

/* The start of reading what a person typed: the outs cleared, the text checked and
 * stripped; NULL (with @error set) for text that is not UTF-8. */
static char *
begin_typed_text (const char  *text,
                  char       **room_id,
                  char       **app_id,
                  GError     **error)
{
  if (room_id != NULL)
    *room_id = NULL;
  if (app_id != NULL)
    *app_id = NULL;
  if (!check_utf8 (text, error))
    return NULL;
  return g_strstrip (g_strdup (text));
}

/* A typed room link (REST of SCHEME://REST): the link, its room and app id in the
 * outs. */
static TetherLink *
typed_link (const char  *scheme,
            const char  *rest,
            char       **room_id,
            char       **app_id,
            GError     **error)
{
  TetherLink *link = parse_link_rest (g_str_equal (scheme, SCHEME_INSECURE), rest, error);

  if (link == NULL)
    return NULL;
  if (room_id != NULL)
    *room_id = g_strdup (link->room_id);
  if (app_id != NULL)
    *app_id = g_strdup (link->app_id);
  return link;
}

/**
 * tether_link_server_url_from_text:
 * @text: what a person typed for a server
 * @room_id: (out) (optional) (nullable) (transfer full): the room, when @text is a
 *   room link; %NULL otherwise
 * @app_id: (out) (optional) (nullable) (transfer full): the link's app id, when @text
 *   is a room link with `?app=`; %NULL otherwise
 * @error: return location for a %TETHER_ERROR, whose message says what was wrong
 *   and what was expected
 *
 * Turns what a person types into a server field into the room service's URL:
 *
 * - a room link (tether_link_parse()): its (first) server, and its room and app id;
 * - `ws://…` or `wss://…`: that URL, with `/ws` when it has no path; `http://` and
 *   `https://` mean `ws://` and `wss://`;
 * - a bare `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or IPv6 address: port
 *   %TETHER_LINK_DEFAULT_PORT unless given, path `/ws`, and `ws://` for a loopback
 *   host (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`), `wss://` for any other.
 *
 * So `localhost:7480` gives `ws://localhost:7480/ws` and `example.org` gives
 * `wss://example.org:7480/ws`. Space around @text is ignored.
 *
 * Returns: (transfer full) (nullable): the server URL, or %NULL with @error set
 */
char *
tether_link_server_url_from_text (const char  *text,
                                  char       **room_id,
                                  char       **app_id,
                                  GError     **error)
{
  g_autofree char *copy = NULL, *scheme = NULL, *host = NULL;
  const char *rest = NULL;
  guint16 port = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = begin_typed_text (text, room_id, app_id, error);
  if (copy == NULL)
    return NULL;
  if (*copy == '\0')
    {
      invalid (error, "no server; " EXPECTED_SERVER);
      return NULL;
    }

  scheme = split_scheme (copy, &rest);
  if (scheme != NULL)
    {
      g_autoptr(TetherLink) link = NULL;

      if (g_str_equal (scheme, "ws") || g_str_equal (scheme, "wss")
          || g_str_equal (scheme, "http") || g_str_equal (scheme, "https"))
        return server_url_from_url (scheme, rest, error);
      if (!g_str_equal (scheme, SCHEME_SECURE) && !g_str_equal (scheme, SCHEME_INSECURE))
        {
          invalid (error, "“%s://” is not a scheme Tether speaks; " EXPECTED_SERVER, scheme);
          return NULL;
        }
      link = typed_link (scheme, rest, room_id, app_id, error);
      return link != NULL ? g_strdup (link->server_urls[0]) : NULL;
    }

  if (strpbrk (copy, "/?#") != NULL)
    {
      invalid (error, "“%s” is not a server; " EXPECTED_SERVER, copy);
      return NULL;
    }
  /* An IPv6 address without brackets cannot have a port: it is all host. */
  if (is_ipv6 (copy))
    host = g_ascii_strdown (copy, -1);
  else if (!parse_authority (copy, strlen (copy), &host, &port, error))
    return NULL;
  return build_server_url (is_loopback (host), host,
                           port != 0 ? port : TETHER_LINK_DEFAULT_PORT, "/ws");
}

/**
 * tether_link_server_urls_from_text:
 * @text: what a person typed for one or more servers
 * @room_id: (out) (optional) (nullable) (transfer full): the room, when @text is a
 *   room link; %NULL otherwise
 * @app_id: (out) (optional) (nullable) (transfer full): the link's app id, when @text
 *   is a room link with `?app=`; %NULL otherwise
 * @error: return location for a %TETHER_ERROR, as for
 *   tether_link_server_url_from_text()
 *
 * Like tether_link_server_url_from_text(), for a room service with several nodes:
 * a room link gives the URL of each of its hosts; anything else may be several
 * servers separated by commas (`a.example.org, b.example.org:7481`), each read as
 * tether_link_server_url_from_text() reads one (and none of them a room link).
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the server URLs,
 *   each once, or %NULL with @error set
 */
char **
tether_link_server_urls_from_text (const char  *text,
                                   char       **room_id,
                                   char       **app_id,
                                   GError     **error)
{
  g_autofree char *copy = NULL, *scheme = NULL;
  g_autoptr(GStrvBuilder) urls = g_strv_builder_new ();
  g_auto(GStrv) parts = NULL;
  const char *rest = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = begin_typed_text (text, room_id, app_id, error);
  if (copy == NULL)
    return NULL;
  scheme = split_scheme (copy, &rest);
  if (scheme != NULL
      && (g_str_equal (scheme, SCHEME_SECURE) || g_str_equal (scheme, SCHEME_INSECURE)))
    {
      g_autoptr(TetherLink) link = typed_link (scheme, rest, room_id, app_id, error);

      return link != NULL ? g_strdupv (link->server_urls) : NULL;
    }

  parts = g_strsplit (copy, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *url = NULL;

      if (g_strv_length (parts) > 1 && *g_strstrip (parts[i]) == '\0')
        {
          invalid (error, "“%s” has an empty entry in its list of servers", copy);
          return NULL;
        }
      if (g_strv_length (parts) > 1 && strstr (parts[i], "://") != NULL
          && (g_str_has_prefix (parts[i], SCHEME_SECURE ":") || g_str_has_prefix (parts[i], SCHEME_INSECURE ":")))
        {
          invalid (error, "a room link names all its servers in its host part "
                   "(tether://a.example.org,b.example.org/ROOM), not in a list of servers");
          return NULL;
        }
      url = tether_link_server_url_from_text (parts[i], NULL, NULL, error);
      if (url == NULL)
        return NULL;
      if (i >= TETHER_LINK_MAX_HOSTS)
        {
          invalid (error, "at most %d servers", TETHER_LINK_MAX_HOSTS);
          return NULL;
        }
      g_strv_builder_add (urls, url);
    }
  return g_strv_builder_end (urls);
}
