/* tether-protocol.c: parsing and bounds checks for room protocol messages
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"

/* json-glib parses recursively, so the depth is checked on the raw text first:
 * a frame of nested brackets must never reach the parser. */
gboolean
tether_protocol_check_depth (const char *data,
                             gsize       len,
                             guint       max_depth)
{
  char quote = 0;  /* json-glib also accepts 'single-quoted' strings */
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (quote != 0)
        {
          if (c == '\\')
            i++;
          else if (c == quote)
            quote = 0;
          continue;
        }
      switch (c)
        {
        case '"':
        case '\'':
          quote = c;
          break;
        case '{':
        case '[':
          if (++depth > max_depth)
            return FALSE;
          break;
        case '}':
        case ']':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }

  return TRUE;
}

gboolean
tether_protocol_valid_id (const char *id)
{
  gsize len;

  if (id == NULL)
    return FALSE;
  len = strlen (id);
  if (len == 0 || len > TETHER_PROTOCOL_MAX_ID_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = id[i];

      if (!g_ascii_isalnum (c) && strchr ("._~@:-", c) == NULL)
        return FALSE;
    }
  return TRUE;
}

/**
 * tether_protocol_parse:
 *
 * Parses one frame into a JSON object that has a string `type` member.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL with a
 *   %TETHER_ERROR_PROTOCOL error saying what was wrong
 */
JsonObject *
tether_protocol_parse (const char  *data,
                       gsize        len,
                       guint        max_depth,
                       GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;

  if (!g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL, "frame is not valid UTF-8");
      return NULL;
    }
  if (!tether_protocol_check_depth (data, len, max_depth))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                   "JSON nesting deeper than %u", max_depth);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL, "malformed JSON: %s",
                   local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "message is not a JSON object");
      return NULL;
    }

  object = json_node_get_object (root);
  if (tether_json_get_string (object, "type") == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "message has no string member \"type\"");
      return NULL;
    }

  return json_object_ref (object);
}

char *
tether_protocol_serialize (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

const char *
tether_json_get_string (JsonObject *object,
                        const char *name)
{
  JsonNode *n = json_object_get_member (object, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

gboolean
tether_json_get_int (JsonObject *object,
                     const char *name,
                     gint64     *out)
{
  JsonNode *n = json_object_get_member (object, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

gboolean
tether_json_get_number (JsonObject *object,
                        const char *name,
                        double     *out)
{
  JsonNode *n = json_object_get_member (object, name);
  GType t;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else
    return FALSE;
  return TRUE;
}

gboolean
tether_json_get_bool (JsonObject *object,
                      const char *name,
                      gboolean    fallback)
{
  JsonNode *n = json_object_get_member (object, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (n);
}

JsonObject *
tether_json_get_object (JsonObject *object,
                        const char *name)
{
  JsonNode *n = json_object_get_member (object, name);

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

JsonArray *
tether_json_get_array (JsonObject *object,
                       const char *name)
{
  JsonNode *n = json_object_get_member (object, name);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}
