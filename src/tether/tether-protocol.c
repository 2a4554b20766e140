/* tether-protocol.c: parsing and bounds checks for room protocol messages
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"

/* What the raw text of a JSON document may not hold, checked before json-glib sees
 * it: json-glib parses recursively (so nesting must be bounded first), decodes
 * `\u0000` into a C string that silently ends there (so "al\u0000ice" would become
 * "al"), and turns an integer literal beyond 64 bits into garbage (so 2^70 would
 * be -1). Every one of those is refused here, for the whole message. */
typedef enum
{
  SCAN_OK,
  SCAN_TOO_DEEP,
  SCAN_NUL,
  SCAN_NUMBER_RANGE,
  SCAN_NOT_ONE_OBJECT,
} ScanResult;

static gboolean
is_zero_escape (const char *data,
                gsize       len,
                gsize       i)
{
  /* data[i] is the 'u' of a \uXXXX escape */
  return i + 4 < len && data[i + 1] == '0' && data[i + 2] == '0' && data[i + 3] == '0'
         && data[i + 4] == '0';
}

/* Returns the index just past an integer literal starting at @i, after checking
 * that its magnitude is at most TETHER_PROTOCOL_MAX_INTEGER (2^53 - 1, the largest
 * integer every JSON implementation reads exactly). Fractions and exponents make a
 * double, which is checked for being finite after parsing. */
static gsize
scan_number (const char *data,
             gsize       len,
             gsize       i,
             gboolean   *in_range)
{
  guint64 value = 0;
  gboolean integer = TRUE;
  gboolean overflow = FALSE;

  if (data[i] == '-')
    i++;
  for (; i < len && g_ascii_isdigit (data[i]); i++)
    {
      if (value > (TETHER_PROTOCOL_MAX_INTEGER - (guint64) (data[i] - '0')) / 10)
        overflow = TRUE;
      else
        value = value * 10 + (guint64) (data[i] - '0');
    }
  for (; i < len && (g_ascii_isdigit (data[i]) || strchr (".eE+-", data[i]) != NULL); i++)
    integer = FALSE;

  *in_range = !(integer && overflow);
  return i;
}

/* With @one_object, the text must also be exactly one JSON object with nothing but
 * whitespace around it: json-glib 1.6 keeps the first top-level value and drops,
 * without freeing, every object or array after it ("3{...}", "{...}{...}" leaked
 * their second half), and a comment could hide structure from this scan, so no '/'
 * outside strings either. */
static ScanResult
scan_text (const char *data,
           gsize       len,
           guint       max_depth,
           gboolean    one_object)
{
  char quote = 0;  /* json-glib also accepts 'single-quoted' strings */
  guint depth = 0;
  gboolean seen_value = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];
      gboolean in_range;

      if (quote != 0)
        {
          if (c == '\\')
            {
              if (++i < len && data[i] == 'u' && is_zero_escape (data, len, i))
                return SCAN_NUL;
            }
          else if (c == quote)
            quote = 0;
          continue;
        }
      if (one_object && (c == '/' || (depth == 0 && !g_ascii_isspace (c)
                                      && (c != '{' || seen_value))))
        return SCAN_NOT_ONE_OBJECT;
      if (depth == 0 && c == '{')
        seen_value = TRUE;
      switch (c)
        {
        case '"':
        case '\'':
          quote = c;
          break;
        case '{':
        case '[':
          if (++depth > max_depth)
            return SCAN_TOO_DEEP;
          break;
        case '}':
        case ']':
          if (depth > 0)
            depth--;
          break;
        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
          i = scan_number (data, len, i, &in_range) - 1;
          if (!in_range)
            return SCAN_NUMBER_RANGE;
          break;
        default:
          break;
        }
    }

  return one_object && !seen_value ? SCAN_NOT_ONE_OBJECT : SCAN_OK;
}

gboolean
tether_protocol_check_depth (const char *data,
                             gsize       len,
                             guint       max_depth)
{
  return scan_text (data, len, max_depth, FALSE) != SCAN_TOO_DEEP;
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
 * tether_protocol_valid_name:
 * @name: (nullable): a display name
 *
 * A display name is at most %TETHER_PROTOCOL_MAX_NAME_LEN bytes of UTF-8 (counted
 * on the decoded string) with no control characters: it is shown to everyone in
 * the room, in lists and logs, where a newline or an escape sequence has no place.
 *
 * Returns: whether @name may be shown to others
 */
gboolean
tether_protocol_valid_name (const char *name)
{
  if (name == NULL || strlen (name) > TETHER_PROTOCOL_MAX_NAME_LEN
      || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* Every string json-glib decoded, member names included, must be valid UTF-8: an
 * escaped lone surrogate ("\ud800") decodes into bytes that are not, and one such
 * string in a room event would make every later send of that event fail. Doubles
 * must be finite ("1e999"). */
static gboolean
node_is_valid (JsonNode *node)
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
          if (!g_utf8_validate (name, -1, NULL) || !node_is_valid (member))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!node_is_valid (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        return g_utf8_validate (json_node_get_string (node), -1, NULL);
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        return isfinite (json_node_get_double (node));
      return TRUE;
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

/**
 * tether_json_parse_object:
 * @data: the text, not necessarily nul-terminated
 * @len: its length in bytes
 * @max_depth: the deepest nesting allowed
 * @error: return location for a %TETHER_ERROR_PROTOCOL error
 *
 * Parses untrusted JSON into an object whose every string is valid UTF-8 without
 * a NUL, whose integers fit in ±(2^53 - 1) and whose doubles are finite: the one
 * door through which protocol messages and token payloads come in.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL with @error set to
 *   a message that is itself valid UTF-8
 */
JsonObject *
tether_json_parse_object (const char  *data,
                          gsize        len,
                          guint        max_depth,
                          GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL, "text is not valid UTF-8");
      return NULL;
    }
  switch (scan_text (data, len, max_depth, TRUE))
    {
    case SCAN_TOO_DEEP:
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                   "JSON nesting deeper than %u", max_depth);
      return NULL;
    case SCAN_NUL:
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "strings must not contain \\u0000");
      return NULL;
    case SCAN_NUMBER_RANGE:
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "integer out of range (more than 2^53 - 1)");
      return NULL;
    case SCAN_NOT_ONE_OBJECT:
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "the text must be exactly one JSON object (no comments)");
      return NULL;
    case SCAN_OK:
    default:
      break;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      /* json-glib may quote the offending bytes: only valid UTF-8 goes back out. */
      g_autofree char *reason = g_utf8_make_valid (local_error->message, -1);

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL, "malformed JSON: %s", reason);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL, "not a JSON object");
      return NULL;
    }
  if (!node_is_valid (root))
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "a string is not valid UTF-8 (a lone surrogate escape?) or a number is not finite");
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}

/**
 * tether_protocol_parse:
 *
 * Parses one frame (tether_json_parse_object()) into a JSON object that has a
 * string `type` member.
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
  g_autoptr(JsonObject) object = tether_json_parse_object (data, len, max_depth, error);

  if (object == NULL)
    return NULL;
  if (tether_json_get_string (object, "type") == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL,
                           "message has no string member \"type\"");
      return NULL;
    }

  return g_steal_pointer (&object);
}

char *
tether_protocol_serialize (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *json = NULL;

  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, NULL);
  /* Every string that goes in was validated on its way in; should one slip
   * through, a repaired message beats libsoup refusing to send it to anyone. */
  if (G_UNLIKELY (!g_utf8_validate (json, -1, NULL)))
    {
      g_critical ("tether_protocol_serialize: refusing to send invalid UTF-8");
      return g_utf8_make_valid (json, -1);
    }
  return g_steal_pointer (&json);
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
