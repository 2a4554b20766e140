/* test-link.c: room links (docs/protocol.md, "Room links") and the server a person
 * types: good links read back as built, bad ones are refused with a message that says
 * what was expected, and no link ever carries a secret
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether.h"

typedef struct
{
  const char *text;
  const char *server_url;
  const char *room;
  const char *app;       /* NULL: none */
  const char *canonical; /* tether_link_to_string() */
} GoodLink;

static const GoodLink good_links[] = {
  { "tether://example.org/lobby", "wss://example.org:7480/ws", "lobby", NULL,
    "tether://example.org/lobby" },
  { "tether://example.org:443/lobby", "wss://example.org:443/ws", "lobby", NULL,
    "tether://example.org:443/lobby" },
  { "tether://Example.ORG:7480/lobby/", "wss://example.org:7480/ws", "lobby", NULL,
    "tether://example.org/lobby" },
  { "TETHER://example.org/lobby?app=demo", "wss://example.org:7480/ws", "lobby", "demo",
    "tether://example.org/lobby?app=demo" },
  { "  tether+insecure://127.0.0.1:9000/room.1_~@:-?app=a.b  \n",
    "ws://127.0.0.1:9000/ws", "room.1_~@:-", "a.b",
    "tether+insecure://127.0.0.1:9000/room.1_~@:-?app=a.b" },
  { "tether+insecure://[::1]:7480/lobby", "ws://[::1]:7480/ws", "lobby", NULL,
    "tether+insecure://[::1]/lobby" },
  { "tether://[2001:DB8::1]/x", "wss://[2001:db8::1]:7480/ws", "x", NULL,
    "tether://[2001:db8::1]/x" },
  /* %-escapes read as the characters; unknown keys are for later versions. */
  { "tether://h/%6Cobby?future=1&app=demo&", "wss://h:7480/ws", "lobby", "demo",
    "tether://h/lobby?app=demo" },
  { "tether://h.example:65535/a:b@c", "wss://h.example:65535/ws", "a:b@c", NULL,
    "tether://h.example:65535/a:b@c" },
};

static void
test_good (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good_links); i++)
    {
      const GoodLink *c = &good_links[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherLink) link = tether_link_parse (c->text, &error);
      g_autoptr(TetherLink) again = NULL, copy = NULL;
      g_autofree char *text = NULL, *text_again = NULL;

      g_test_message ("%s", c->text);
      g_assert_no_error (error);
      g_assert_nonnull (link);
      g_assert_cmpstr (tether_link_get_server_url (link), ==, c->server_url);
      g_assert_cmpstr (tether_link_get_room_id (link), ==, c->room);
      g_assert_cmpstr (tether_link_get_app_id (link), ==, c->app);
      g_assert_cmpint (tether_link_is_insecure (link), ==,
                       g_str_has_prefix (c->server_url, "ws://"));
      text = tether_link_to_string (link);
      g_assert_cmpstr (text, ==, c->canonical);

      /* What the builder writes the parser reads back, and a copy is the same. */
      again = tether_link_parse (text, &error);
      g_assert_no_error (error);
      copy = tether_link_copy (again);
      text_again = tether_link_to_string (copy);
      g_assert_cmpstr (text_again, ==, text);
      g_assert_cmpstr (tether_link_get_host (copy), ==, tether_link_get_host (link));
      g_assert_cmpuint (tether_link_get_port (copy), ==, tether_link_get_port (link));
    }
}

typedef struct
{
  const char *text;
  int code;
  const char *says;    /* a piece of the message */
} BadLink;

static const BadLink bad_links[] = {
  { "", TETHER_ERROR_INVALID_ARGUMENT, "tether://HOST" },
  { "example.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not a room link" },
  { "wss://example.org/ws", TETHER_ERROR_INVALID_ARGUMENT, "not a room link" },
  { "https://example.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not a room link" },
  { "tether:/example.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not a room link" },
  { "tether://example.org", TETHER_ERROR_INVALID_ARGUMENT, "names no room" },
  { "tether://example.org/", TETHER_ERROR_INVALID_ARGUMENT, "names no room" },
  { "tether://example.org//", TETHER_ERROR_INVALID_ARGUMENT, "names no room" },
  { "tether:///lobby", TETHER_ERROR_INVALID_ARGUMENT, "no host" },
  { "tether://example.org/a/b", TETHER_ERROR_INVALID_ARGUMENT, "more than one path segment" },
  { "tether://example.org/tether/ws/lobby", TETHER_ERROR_INVALID_ARGUMENT, "path segment" },
  { "tether://example.org:0/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://example.org:65536/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://example.org:-1/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://example.org:/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://example.org:http/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://::1/lobby", TETHER_ERROR_INVALID_ARGUMENT, "brackets" },
  { "tether://[::1/lobby", TETHER_ERROR_INVALID_ARGUMENT, "no closing" },
  { "tether://[example.org]/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not an IPv6" },
  { "tether://[::1]x/lobby", TETHER_ERROR_INVALID_ARGUMENT, "after" },
  { "tether://user@example.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "user name" },
  { "tether://user:pw@example.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "user name" },
  { "tether://example.org/lobby#top", TETHER_ERROR_INVALID_ARGUMENT, "#" },
  { "tether://exa mple.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not a host name" },
  /* Several hosts: each a host as above, none empty, at most TETHER_LINK_MAX_HOSTS. */
  { "tether://h1,/lobby", TETHER_ERROR_INVALID_ARGUMENT, "empty entry" },
  { "tether://,h1/lobby", TETHER_ERROR_INVALID_ARGUMENT, "empty entry" },
  { "tether://h1,,h2/lobby", TETHER_ERROR_INVALID_ARGUMENT, "empty entry" },
  { "tether://,/lobby", TETHER_ERROR_INVALID_ARGUMENT, "empty entry" },
  { "tether://h1,user@h2/lobby", TETHER_ERROR_INVALID_ARGUMENT, "user name" },
  { "tether://h1,h2:0/lobby", TETHER_ERROR_INVALID_ARGUMENT, "1 to 65535" },
  { "tether://h1,::1/lobby", TETHER_ERROR_INVALID_ARGUMENT, "brackets" },
  { "tether://h1,exa mple.org/lobby", TETHER_ERROR_INVALID_ARGUMENT, "not a host name" },
  { "tether://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/lobby", TETHER_ERROR_INVALID_ARGUMENT, "at most 16" },
  { "tether://example.org/lob%2Fby", TETHER_ERROR_ROOM_ID_INVALID, "not a room id" },
  { "tether://example.org/lob%by", TETHER_ERROR_INVALID_ARGUMENT, "escaped" },
  { "tether://example.org/lob%00by", TETHER_ERROR_INVALID_ARGUMENT, "escaped" },
  { "tether://h/6%C2bby", TETHER_ERROR_INVALID_ARGUMENT, "escaped" },
  { "tether://h/lobby?app=%FF", TETHER_ERROR_INVALID_ARGUMENT, "escaped" },
  { "tether://h/lobby?%FF=1", TETHER_ERROR_INVALID_ARGUMENT, "escaped" },
  { "tether://example.org/l%C3%B6bby", TETHER_ERROR_ROOM_ID_INVALID, "not a room id" },
  { "tether://example.org/lob by", TETHER_ERROR_ROOM_ID_INVALID, "A–Z a–z 0–9" },
  { "tether://example.org/lobby?app=", TETHER_ERROR_APP_ID_INVALID, "not an app id" },
  { "tether://example.org/lobby?app=a/b", TETHER_ERROR_APP_ID_INVALID, "not an app id" },
  /* Never a secret in a link. */
  { "tether://example.org/lobby?token=abc.def", TETHER_ERROR_INVALID_ARGUMENT, "never" },
  { "tether://example.org/lobby?app=demo&Secret=x", TETHER_ERROR_INVALID_ARGUMENT, "never" },
  { "tether://example.org/lobby?app-secret=x", TETHER_ERROR_INVALID_ARGUMENT, "never" },
  { "tether://example.org/lobby?passphrase=x", TETHER_ERROR_INVALID_ARGUMENT, "never" },
  { "tether://example.org/lob\xff", TETHER_ERROR_INVALID_ARGUMENT, "UTF-8" },
  { "tether://\xc3(/lobby", TETHER_ERROR_INVALID_ARGUMENT, "UTF-8" },
};

static void
test_bad (void)
{
  g_autofree char *long_room = g_strnfill (129, 'r');
  g_autofree char *long_link = g_strconcat ("tether://h/", long_room, NULL);
  g_autoptr(GError) long_error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_links); i++)
    {
      const BadLink *c = &bad_links[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherLink) link = tether_link_parse (c->text, &error);

      g_autofree char *shown = g_utf8_make_valid (c->text, -1);

      g_test_message ("%s → %s", shown, error ? error->message : "(accepted)");
      g_assert_null (link);
      g_assert_error (error, TETHER_ERROR, c->code);
      g_assert_nonnull (strstr (error->message, c->says));
      /* A secret in a refused link does not reach the message. */
      g_assert_null (strstr (error->message, "abc.def"));
    }

  g_assert_null (tether_link_parse (long_link, &long_error));
  g_assert_error (long_error, TETHER_ERROR, TETHER_ERROR_ROOM_ID_INVALID);
}

/* A room service with several nodes: tether://h1,h2:7481/ROOM. */
static void
test_several_hosts (void)
{
  static const struct { const char *text, *urls, *canonical; } good[] = {
    { "tether://h1,h2:7481/lobby", "wss://h1:7480/ws wss://h2:7481/ws",
      "tether://h1,h2:7481/lobby" },
    { "tether+insecure://127.0.0.1:9000,[::1]:9001,LOCALHOST/r?app=a",
      "ws://127.0.0.1:9000/ws ws://[::1]:9001/ws ws://localhost:7480/ws",
      "tether+insecure://127.0.0.1:9000,[::1]:9001,localhost/r?app=a" },
    /* Named twice, tried once. */
    { "tether://h1,H1:7480,h2,h1/r", "wss://h1:7480/ws wss://h2:7480/ws", "tether://h1,h2/r" },
    { "tether://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p/r",
      "wss://a:7480/ws wss://b:7480/ws wss://c:7480/ws wss://d:7480/ws wss://e:7480/ws "
      "wss://f:7480/ws wss://g:7480/ws wss://h:7480/ws wss://i:7480/ws wss://j:7480/ws "
      "wss://k:7480/ws wss://l:7480/ws wss://m:7480/ws wss://n:7480/ws wss://o:7480/ws "
      "wss://p:7480/ws", "tether://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p/r" },
  };
  const char *for_servers[] = { "wss://a.example/ws", "wss://b.example:7481/ws", NULL };
  const char *mixed[] = { "wss://a.example/ws", "ws://b.example:7481/ws", NULL };
  g_autoptr(TetherLink) built = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *built_text = NULL;
  g_auto(GStrv) typed = NULL;
  g_autofree char *room = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(TetherLink) link = tether_link_parse (good[i].text, &error);
      g_autoptr(TetherLink) copy = NULL;
      g_autofree char *urls = NULL, *text = NULL, *copy_text = NULL;

      g_test_message ("%s", good[i].text);
      g_assert_no_error (error);
      urls = g_strjoinv (" ", (char **) tether_link_get_server_urls (link));
      g_assert_cmpstr (urls, ==, good[i].urls);
      g_assert_cmpstr (tether_link_get_server_url (link), ==,
                       tether_link_get_server_urls (link)[0]);
      text = tether_link_to_string (link);
      g_assert_cmpstr (text, ==, good[i].canonical);
      copy = tether_link_copy (link);
      copy_text = tether_link_to_string (copy);
      g_assert_cmpstr (copy_text, ==, text);
    }

  built = tether_link_new_for_servers (for_servers, "lobby", NULL, &error);
  g_assert_no_error (error);
  built_text = tether_link_to_string (built);
  g_assert_cmpstr (built_text, ==, "tether://a.example:443,b.example:7481/lobby");
  g_assert_null (tether_link_new_for_servers (mixed, "lobby", NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "both"));
  g_clear_error (&error);

  /* What a person types: a link with several hosts, or several servers. */
  typed = tether_link_server_urls_from_text ("tether://h1,h2:7481/show", &room, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (room, ==, "show");
  g_assert_cmpuint (g_strv_length (typed), ==, 2);
  g_assert_cmpstr (typed[1], ==, "wss://h2:7481/ws");
  g_clear_pointer (&typed, g_strfreev);
  typed = tether_link_server_urls_from_text (" a.example.org, localhost:7481 ,wss://c/ws ", NULL,
                                             NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (typed), ==, 3);
  g_assert_cmpstr (typed[0], ==, "wss://a.example.org:7480/ws");
  g_assert_cmpstr (typed[1], ==, "ws://localhost:7481/ws");
  g_assert_cmpstr (typed[2], ==, "wss://c/ws");
  g_clear_pointer (&typed, g_strfreev);
  typed = tether_link_server_urls_from_text ("localhost", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (typed), ==, 1);
  g_clear_pointer (&typed, g_strfreev);
  g_assert_null (tether_link_server_urls_from_text ("a,,b", NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "empty entry"));
  g_clear_error (&error);
  g_assert_null (tether_link_server_urls_from_text ("a, tether://h/r", NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "host part"));
  g_clear_error (&error);
  g_assert_null (tether_link_server_urls_from_text ("a, b:0", NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "1 to 65535"));
}

/* The link of the room one is in: from its server URL. */
static void
test_new (void)
{
  static const struct { const char *url, *room, *app, *link; } good[] = {
    { "wss://example.org:7480/ws", "lobby", NULL, "tether://example.org/lobby" },
    { "wss://example.org/ws", "lobby", "demo", "tether://example.org:443/lobby?app=demo" },
    { "ws://127.0.0.1:40123/ws", "demo", "tether-demo",
      "tether+insecure://127.0.0.1:40123/demo?app=tether-demo" },
    { "ws://[::1]:7480/ws", "r", NULL, "tether+insecure://[::1]/r" },
    { "WSS://Example.org:8443/ws", "r", NULL, "tether://example.org:8443/r" },
  };
  static const struct { const char *url, *room, *app; int code; } bad[] = {
    { "wss://example.org/tether/ws", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "wss://example.org/ws?x=1", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "wss://example.org", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "https://example.org/ws", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "wss://u@example.org/ws", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "wss://example.org/ws", "", NULL, TETHER_ERROR_INVALID_ARGUMENT },
    { "wss://example.org/ws", "a b", NULL, TETHER_ERROR_ROOM_ID_INVALID },
    { "wss://example.org/ws", "lobby", "a&b", TETHER_ERROR_APP_ID_INVALID },
    { "wss://ex\xff" "ample.org/ws", "lobby", NULL, TETHER_ERROR_INVALID_ARGUMENT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherLink) link = tether_link_new (good[i].url, good[i].room, good[i].app,
                                                    &error);
      g_autofree char *text = NULL;

      g_assert_no_error (error);
      text = tether_link_to_string (link);
      g_assert_cmpstr (text, ==, good[i].link);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherLink) link = tether_link_new (bad[i].url, bad[i].room, bad[i].app, &error);

      g_autofree char *shown_url = g_utf8_make_valid (bad[i].url, -1);
      g_autofree char *shown_room = g_utf8_make_valid (bad[i].room, -1);

      g_test_message ("%s %s → %s", shown_url, shown_room, error ? error->message : "(built)");
      g_assert_null (link);
      g_assert_error (error, TETHER_ERROR, bad[i].code);
    }
}

/* What a person types into the app's server field (or --server). */
static void
test_server_text (void)
{
  static const struct { const char *text, *url, *room, *app; } good[] = {
    { "localhost:7480", "ws://localhost:7480/ws", NULL, NULL },
    { "localhost", "ws://localhost:7480/ws", NULL, NULL },
    { "tether.localhost:9", "ws://tether.localhost:9/ws", NULL, NULL },
    { "127.0.0.1:8000", "ws://127.0.0.1:8000/ws", NULL, NULL },
    { "127.1.2.3", "ws://127.1.2.3:7480/ws", NULL, NULL },
    { "[::1]:7480", "ws://[::1]:7480/ws", NULL, NULL },
    { "::1", "ws://[::1]:7480/ws", NULL, NULL },
    { "example.org", "wss://example.org:7480/ws", NULL, NULL },
    { " Example.org:443 ", "wss://example.org:443/ws", NULL, NULL },
    { "192.0.2.7:7480", "wss://192.0.2.7:7480/ws", NULL, NULL },
    { "[2001:db8::1]", "wss://[2001:db8::1]:7480/ws", NULL, NULL },
    { "ws://127.0.0.1:7480/ws", "ws://127.0.0.1:7480/ws", NULL, NULL },
    { "ws://127.0.0.1:7480", "ws://127.0.0.1:7480/ws", NULL, NULL },
    { "wss://example.org/", "wss://example.org/ws", NULL, NULL },
    { "wss://example.org/tether/ws", "wss://example.org/tether/ws", NULL, NULL },
    { "https://example.org", "wss://example.org/ws", NULL, NULL },
    { "http://example.org:8080/ws", "ws://example.org:8080/ws", NULL, NULL },
    { "tether://example.org/lobby?app=demo", "wss://example.org:7480/ws", "lobby", "demo" },
    { "tether+insecure://localhost:7481/r1", "ws://localhost:7481/ws", "r1", NULL },
  };
  static const struct { const char *text, *says; } bad[] = {
    { "", "no server" },
    { "   ", "no server" },
    { "localhost:99999", "1 to 65535" },
    { "localhost:0", "1 to 65535" },
    { "localhost:", "1 to 65535" },
    { "localhost:port", "1 to 65535" },
    { "example.org/ws", "expected a host" },
    { "example.org:7480/lobby", "expected a host" },
    { "ftp://example.org", "not a scheme" },
    { "srt://example.org:9000", "not a scheme" },
    { "wss://user@example.org/ws", "user name" },
    { "wss://example.org/ws#x", "#" },
    { "wss:///ws", "no host" },
    { "[::1", "no closing" },
    { "[::1]:70000", "1 to 65535" },
    { "exa mple.org", "not a host name" },
    { "a,b", "several hosts" },
    { "tether://example.org", "names no room" },
    { "tether://example.org/lobby?token=x", "never" },
    { "exa\xffmple.org", "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *room = NULL, *app = NULL;
      g_autofree char *url = tether_link_server_url_from_text (good[i].text, &room, &app, &error);
      g_autofree char *guest_url = url != NULL ? tether_guest_token_url (url) : NULL;

      g_test_message ("“%s” → %s", good[i].text, url);
      g_assert_no_error (error);
      g_assert_cmpstr (url, ==, good[i].url);
      g_assert_cmpstr (room, ==, good[i].room);
      g_assert_cmpstr (app, ==, good[i].app);
      /* Whatever it gives is a URL the guest-token request understands. */
      g_assert_nonnull (guest_url);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      /* Not owned: the function sets it to NULL without freeing it (an out value). */
      char *room = (char *) "stale";
      g_autofree char *url = tether_link_server_url_from_text (bad[i].text, &room, NULL, &error);

      g_autofree char *shown = g_utf8_make_valid (bad[i].text, -1);

      g_test_message ("“%s” → %s", shown, error ? error->message : url);
      g_assert_null (url);
      g_assert_null (room);
      g_assert_nonnull (error);
      g_assert_true (error->domain == TETHER_ERROR);
      g_assert_nonnull (strstr (error->message, bad[i].says));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/link/good", test_good);
  g_test_add_func ("/link/bad", test_bad);
  g_test_add_func ("/link/new", test_new);
  g_test_add_func ("/link/several-hosts", test_several_hosts);
  g_test_add_func ("/link/server-text", test_server_text);

  return g_test_run ();
}
