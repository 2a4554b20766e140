/* fuzz-link.c: a room link or what a person types for a server, through the one link
 * parser, tether_link_parse(), and tether_link_server_url_from_text(): what they accept
 * names valid ids and a ws:// or wss:// server, and a parsed link written back by the
 * builder reads back the same.
 *
 * Input: the text, e.g. `tether://example.org:7480/lobby?app=demo`, `localhost:7480`,
 * `wss://example.org/ws` (a NUL ends it).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether.h"
#include "tether-protocol.h"
#include "fuzz-common.h"

static void
check_server_url (const char *url)
{
  TETHER_FUZZ_CHECK (g_str_has_prefix (url, "ws://") || g_str_has_prefix (url, "wss://"));
  TETHER_FUZZ_CHECK (g_utf8_validate (url, -1, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) server_error = NULL;
  g_autoptr(TetherLink) link = NULL;
  g_autofree char *url = NULL, *room = NULL, *app = NULL;

  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  text = tether_fuzz_strndup (data, size);
  link = tether_link_parse (text, &error);
  if (link == NULL)
    {
      /* Refused: it says why, in UTF-8, and never quotes a token it carried. */
      TETHER_FUZZ_CHECK (error != NULL && error->domain == TETHER_ERROR);
      TETHER_FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
    }
  else
    {
      g_autofree char *built = NULL;
      g_autoptr(TetherLink) again = NULL;
      g_autoptr(GError) again_error = NULL;

      TETHER_FUZZ_CHECK (tether_protocol_valid_id (tether_link_get_room_id (link)));
      TETHER_FUZZ_CHECK (tether_link_get_app_id (link) == NULL
                         || tether_protocol_valid_id (tether_link_get_app_id (link)));
      TETHER_FUZZ_CHECK (tether_link_get_port (link) != 0);
      check_server_url (tether_link_get_server_url (link));

      /* The builder writes what the parser read, and it reads back the same. */
      built = tether_link_to_string (link);
      again = tether_link_parse (built, &again_error);
      TETHER_FUZZ_CHECK (again != NULL);
      TETHER_FUZZ_CHECK (strcmp (tether_link_get_server_url (again),
                                 tether_link_get_server_url (link)) == 0);
      TETHER_FUZZ_CHECK (strcmp (tether_link_get_room_id (again),
                                 tether_link_get_room_id (link)) == 0);
      TETHER_FUZZ_CHECK (g_strcmp0 (tether_link_get_app_id (again),
                                    tether_link_get_app_id (link)) == 0);
    }

  url = tether_link_server_url_from_text (text, &room, &app, &server_error);
  if (url == NULL)
    {
      TETHER_FUZZ_CHECK (server_error != NULL && room == NULL && app == NULL);
      TETHER_FUZZ_CHECK (g_utf8_validate (server_error->message, -1, NULL));
      return 0;
    }
  check_server_url (url);
  TETHER_FUZZ_CHECK (room == NULL || tether_protocol_valid_id (room));
  /* A link reads the same both ways. */
  TETHER_FUZZ_CHECK (link == NULL || strcmp (url, tether_link_get_server_url (link)) == 0);
  return 0;
}
