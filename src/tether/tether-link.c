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
#define EXPECTED_LINK "expected tether://HOST[:PORT]/ROOM[?app=APP]"

struct _TetherLink
{
  gboolean insecure;
  char *host;          /* lower case; an IPv6 address without its brackets */
  guint16 port;
  char *room_id;
  char *app_id;        /* nullable */
  char *server_url;    /* ws[s]://HOST:PORT/ws */
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
      invalid (error, "several room services in one link (“%s”) are reserved for a later "
               "version; give one host", host);
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

static TetherLink *
link_new_take (gboolean  insecure,
               char     *host,
               guint16   port,
               char     *room_id,
               char     *app_id)
{
  TetherLink *self = g_new0 (TetherLink, 1);

  self->insecure = insecure;
  self->host = host;
  self->port = port != 0 ? port : TETHER_LINK_DEFAULT_PORT;
  self->room_id = room_id;
  self->app_id = app_id;
  self->server_url = build_server_url (insecure, host, self->port, "/ws");
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
  g_autofree char *host = NULL, *room = NULL, *app = NULL, *segment = NULL;
  const char *slash, *query, *path_end;
  guint16 port = 0;

  if (strchr (rest, '#') != NULL)
    {
      invalid (error, "a room link has no “#…” part; " EXPECTED_LINK);
      return NULL;
    }
  query = strchr (rest, '?');
  path_end = query != NULL ? query : rest + strlen (rest);
  slash = memchr (rest, '/', path_end - rest);
  if (!parse_authority (rest, (slash != NULL ? slash : path_end) - rest, &host, &port, error))
    return NULL;
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
  return link_new_take (insecure, g_steal_pointer (&host), port, g_steal_pointer (&room),
                        g_steal_pointer (&app));
}

/**
 * tether_link_parse:
 * @text: a room link: `tether://HOST[:PORT]/ROOM[?app=APP]` (TLS, `wss://`) or
 *   `tether+insecure://HOST[:PORT]/ROOM[?app=APP]` (plain `ws://`, for development)
 * @error: return location for a %TETHER_ERROR: %TETHER_ERROR_INVALID_ARGUMENT with
 *   a message that says what is wrong and what was expected,
 *   %TETHER_ERROR_ROOM_ID_INVALID or %TETHER_ERROR_APP_ID_INVALID
 *
 * Reads a room link (see `docs/protocol.md`, "Room links"). The port defaults to
 * %TETHER_LINK_DEFAULT_PORT; an IPv6 address is written in brackets; the path is
 * exactly the room id. A link never carries a token or a secret: one that does
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
  g_autofree char *scheme = NULL, *host = NULL;
  const char *rest = NULL, *slash;
  gboolean insecure;
  guint16 port = 0;

  g_return_val_if_fail (server_url != NULL, NULL);
  g_return_val_if_fail (room_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_utf8 (server_url, error) || !check_utf8 (room_id, error)
      || (app_id != NULL && !check_utf8 (app_id, error)))
    return NULL;
  scheme = split_scheme (server_url, &rest);
  if (scheme == NULL || (!g_str_equal (scheme, "ws") && !g_str_equal (scheme, "wss")))
    {
      invalid (error, "“%s” is not a ws:// or wss:// URL", server_url);
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
  if (!parse_authority (rest, slash - rest, &host, &port, error)
      || !check_room_id (room_id, error) || !check_app_id (app_id, error))
    return NULL;
  if (port == 0)
    port = insecure ? 80 : 443;
  return link_new_take (insecure, g_steal_pointer (&host), port, g_strdup (room_id),
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
  g_return_val_if_fail (self != NULL, NULL);

  return link_new_take (self->insecure, g_strdup (self->host), self->port,
                        g_strdup (self->room_id), g_strdup (self->app_id));
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
  g_free (self->host);
  g_free (self->room_id);
  g_free (self->app_id);
  g_free (self->server_url);
  g_free (self);
}

/**
 * tether_link_to_string:
 * @self: a link
 *
 * The link as text, the way tether_link_parse() reads it back: the port only when it
 * is not %TETHER_LINK_DEFAULT_PORT, `?app=` only with an app id.
 *
 * Returns: (transfer full): `tether://HOST[:PORT]/ROOM[?app=APP]` or its
 *   `tether+insecure://` form
 */
char *
tether_link_to_string (const TetherLink *self)
{
  gboolean v6;
  g_autofree char *port = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  v6 = strchr (self->host, ':') != NULL;
  port = self->port != TETHER_LINK_DEFAULT_PORT ? g_strdup_printf (":%u", self->port)
                                                : g_strdup ("");
  /* Ids are made of characters a path and a query take as they are. */
  return g_strdup_printf ("%s://%s%s%s%s/%s%s%s",
                          self->insecure ? SCHEME_INSECURE : SCHEME_SECURE,
                          v6 ? "[" : "", self->host, v6 ? "]" : "", port, self->room_id,
                          self->app_id != NULL ? "?app=" : "",
                          self->app_id != NULL ? self->app_id : "");
}

/**
 * tether_link_get_server_url:
 * @self: a link
 *
 * Returns: the room service's URL: `wss://HOST:PORT/ws`, or `ws://HOST:PORT/ws` for
 *   a `tether+insecure://` link
 */
const char *
tether_link_get_server_url (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->server_url;
}

/**
 * tether_link_get_host:
 * @self: a link
 *
 * Returns: the host, lower case; an IPv6 address without brackets
 */
const char *
tether_link_get_host (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->host;
}

/**
 * tether_link_get_port:
 * @self: a link
 *
 * Returns: the port, %TETHER_LINK_DEFAULT_PORT when the link names none
 */
guint16
tether_link_get_port (const TetherLink *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->port;
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
 * - a room link (tether_link_parse()): its server, and its room and app id;
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

  if (room_id != NULL)
    *room_id = NULL;
  if (app_id != NULL)
    *app_id = NULL;
  if (!check_utf8 (text, error))
    return NULL;
  copy = g_strstrip (g_strdup (text));
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
      link = parse_link_rest (g_str_equal (scheme, SCHEME_INSECURE), rest, error);
      if (link == NULL)
        return NULL;
      if (room_id != NULL)
        *room_id = g_strdup (link->room_id);
      if (app_id != NULL)
        *app_id = g_strdup (link->app_id);
      return g_strdup (link->server_url);
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
