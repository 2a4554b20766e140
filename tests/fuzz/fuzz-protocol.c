/* fuzz-protocol.c: one room-protocol frame through tether_protocol_parse(), as the
 * server (depth 8) and the room client (depth 64) parse it.
 *
 * Besides not crashing, a frame that is accepted must keep the promises of
 * docs/protocol.md and issue 8: a string "type", every string and member name valid
 * UTF-8, every double finite, and the object must survive a round trip — what the
 * server echoes back (an `extra`, a name) is parsed again by every client.
 *
 * Input: the frame, as is.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include <json-glib/json-glib.h>

#include "tether-protocol.h"
#include "fuzz-common.h"

static void
check_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            TETHER_FUZZ_CHECK (g_utf8_validate (name, -1, NULL));
            check_node (member);
          }
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          check_node (json_array_get_element (array, i));
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        TETHER_FUZZ_CHECK (g_utf8_validate (json_node_get_string (node), -1, NULL));
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        TETHER_FUZZ_CHECK (isfinite (json_node_get_double (node)));
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

static void
parse_at_depth (const uint8_t *data,
                size_t         size,
                guint          depth)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = tether_protocol_parse ((const char *) data, size, depth, &error);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (object == NULL)
    {
      /* The reason goes back to the peer in an error message: it must be sendable. */
      TETHER_FUZZ_CHECK (error != NULL && error->message != NULL);
      TETHER_FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
      return;
    }
  TETHER_FUZZ_CHECK (error == NULL);
  TETHER_FUZZ_CHECK (tether_json_get_string (object, "type") != NULL);

  root = json_node_init_object (json_node_alloc (), object);
  check_node (root);

  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  again = tether_protocol_parse (text, len, depth, &again_error);
  if (again == NULL)
    tether_fuzz_fail ("an accepted frame does not parse again after serialising: %s\n%s",
                      again_error->message, text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  tether_fuzz_init (TETHER_FUZZ_FATAL_WARNINGS);

  parse_at_depth (data, size, TETHER_PROTOCOL_DEFAULT_MAX_DEPTH);
  parse_at_depth (data, size, 64);
  return 0;
}
