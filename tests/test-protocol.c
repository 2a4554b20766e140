/* test-protocol.c: parsing room protocol frames, bounds, ids and JSON helpers
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-protocol.h"
#include "tether-timeout-private.h"

#define DEPTH TETHER_PROTOCOL_DEFAULT_MAX_DEPTH

static JsonObject *
parse (const char  *text,
       guint        max_depth,
       GError     **error)
{
  return tether_protocol_parse (text, strlen (text), max_depth, error);
}

static void
assert_parse_fails (const char *text,
                    gsize       len,
                    guint       max_depth)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = tether_protocol_parse (text, len, max_depth, &error);

  g_assert_null (object);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL);
  g_assert_nonnull (error->message);
}

/* "{"type":"t","a":" + (depth - 1) arrays around 1 + "}" : depth levels in all */
static char *
nested (guint depth)
{
  GString *s = g_string_new ("{\"type\":\"t\",\"a\":");

  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, '[');
  g_string_append_c (s, '1');
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');

  return g_string_free (s, FALSE);
}

static void
test_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse ("{\"type\":\"login\",\"room\":\"r1\",\"n\":3}", DEPTH, &error);
  gint64 n = 0;

  g_assert_no_error (error);
  g_assert_nonnull (object);
  g_assert_cmpstr (tether_json_get_string (object, "type"), ==, "login");
  g_assert_cmpstr (tether_json_get_string (object, "room"), ==, "r1");
  g_assert_true (tether_json_get_int (object, "n", &n));
  g_assert_cmpint (n, ==, 3);
}

/* Only @len bytes are read: the frame need not be NUL-terminated. */
static void
test_length_respected (void)
{
  const char *text = "{\"type\":\"a\"}GARBAGE";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = tether_protocol_parse (text, strlen ("{\"type\":\"a\"}"), DEPTH, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (tether_json_get_string (object, "type"), ==, "a");

  assert_parse_fails (text, strlen (text), DEPTH);
}

static void
test_deep_nesting (void)
{
  g_autofree char *brackets = g_strnfill (10000, '[');
  g_autofree char *braces = NULL;
  GString *s = g_string_new (NULL);

  assert_parse_fails (brackets, strlen (brackets), DEPTH);
  /* even a generous limit stops it well before json-glib's recursion */
  assert_parse_fails (brackets, strlen (brackets), 1000);

  for (guint i = 0; i < 10000; i++)
    g_string_append (s, "{\"a\":");
  braces = g_string_free (s, FALSE);
  assert_parse_fails (braces, strlen (braces), DEPTH);

  g_assert_false (tether_protocol_check_depth (brackets, strlen (brackets), DEPTH));
}

static void
test_depth_at_limit (void)
{
  g_autofree char *at_limit = nested (DEPTH);
  g_autofree char *over = nested (DEPTH + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse (at_limit, DEPTH, &error);

  g_assert_no_error (error);
  g_assert_nonnull (object);
  assert_parse_fails (over, strlen (over), DEPTH);

  /* depth is nesting, not the number of brackets */
  g_assert_true (tether_protocol_check_depth ("[][][][][][][][][][][]", 22, 1));
  g_assert_true (tether_protocol_check_depth ("[[]]", 4, 2));
  g_assert_false (tether_protocol_check_depth ("[[]]", 4, 1));
  /* stray closers do not buy depth */
  g_assert_false (tether_protocol_check_depth ("]]]][[[", 7, 2));
}

static void
test_brackets_in_strings (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object =
    parse ("{\"type\":\"[[[[[[[[[[[[[[[[[[[[\",\"x\":\"{{{{{{{{{{{{{{{{\"}", 1, &error);
  g_autoptr(JsonObject) escaped =
    parse ("{\"type\":\"a\\\"[[[[[[[[[[[[[[[[\"}", 1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (object);
  g_assert_nonnull (escaped);
  g_assert_cmpstr (tether_json_get_string (escaped, "type"), ==, "a\"[[[[[[[[[[[[[[[[");

  /* an escaped backslash ends before the quote: what follows is outside the
   * string and counts */
  g_assert_false (tether_protocol_check_depth ("{\"t\":\"a\\\\\",\"b\":[[[[]]]]}",
                                               strlen ("{\"t\":\"a\\\\\",\"b\":[[[[]]]]}"), 3));
  g_assert_true (tether_protocol_check_depth ("{\"t\":\"a\\\\\",\"b\":[[[[]]]]}",
                                              strlen ("{\"t\":\"a\\\\\",\"b\":[[[[]]]]}"), 5));
}

/* json-glib also accepts 'single-quoted' strings. A '"' inside one must not
 * make the raw depth check believe the rest of the frame is a string, or a
 * frame of deep nesting reaches json-glib's recursive parser after all. */
static void
test_single_quotes_hide_no_depth (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;
  GString *s = g_string_new ("{'a':'\"','b':");

  for (guint i = 0; i < 1000; i++)
    g_string_append_c (s, '[');
  for (guint i = 0; i < 1000; i++)
    g_string_append_c (s, ']');
  g_string_append (s, ",\"type\":\"x\"}");

  object = tether_protocol_parse (s->str, s->len, DEPTH, &error);
  g_string_free (s, TRUE);
  g_assert_null (object);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_PROTOCOL);
}

static void
test_invalid_utf8 (void)
{
  const char *frames[] = {
    "{\"type\":\"\xff\"}",
    "{\"type\":\"a\",\"name\":\"\xc3\x28\"}",
    "{\"type\":\"\xed\xa0\x80\"}",   /* a UTF-16 surrogate encoded */
    "\xef\xbb\xbf\xc0\xaf",
  };

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    assert_parse_fails (frames[i], strlen (frames[i]), DEPTH);

  /* an embedded NUL is not valid text either */
  assert_parse_fails ("{\"type\":\"a\0b\"}", 14, DEPTH);
}

static void
test_not_object (void)
{
  const char *frames[] = {
    "[1,2]", "1", "\"type\"", "null", "true", "[{\"type\":\"x\"}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    assert_parse_fails (frames[i], strlen (frames[i]), DEPTH);
}

static void
test_malformed (void)
{
  const char *frames[] = {
    "", " ", "{", "}", "{\"type\":", "{\"type\":\"a\",}", "{type:\"a\"}",
    "{\"type\":\"a\"", "\"unterminated",
  };

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    assert_parse_fails (frames[i], strlen (frames[i]), DEPTH);
}

static void
test_missing_type (void)
{
  const char *frames[] = {
    "{}", "{\"kind\":\"login\"}", "{\"type\":1}", "{\"type\":null}", "{\"type\":[\"a\"]}",
    "{\"type\":{\"a\":1}}", "{\"type\":true}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    assert_parse_fails (frames[i], strlen (frames[i]), DEPTH);
}

static void
test_valid_id (void)
{
  g_autofree char *longest = g_strnfill (TETHER_PROTOCOL_MAX_ID_LEN, 'a');
  g_autofree char *too_long = g_strnfill (TETHER_PROTOCOL_MAX_ID_LEN + 1, 'a');
  const char *good[] = { "alice", "a", "0", "a.b_c~d@e:f-g", "room-42", "user@example.com" };
  const char *bad[] = {
    "", "a b", "a/b", "a\\b", "a\"b", "caf\xc3\xa9", "a\nb", "a\tb", "#!::r=x", "a,b", "a%20b",
    "<script>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (tether_protocol_valid_id (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (tether_protocol_valid_id (bad[i]));

  g_assert_true (tether_protocol_valid_id (longest));
  g_assert_false (tether_protocol_valid_id (too_long));
  g_assert_false (tether_protocol_valid_id (NULL));
}

static void
test_json_helpers (void)
{
  g_autoptr(JsonObject) object =
    parse ("{\"type\":\"t\",\"i\":7,\"d\":2.5,\"b\":true,\"s\":\"x\",\"o\":{},\"a\":[1],\"n\":null}",
           DEPTH, NULL);
  gint64 i = 0;
  double d = 0;

  g_assert_nonnull (object);

  g_assert_true (tether_json_get_int (object, "i", &i));
  g_assert_cmpint (i, ==, 7);
  g_assert_false (tether_json_get_int (object, "d", &i));
  g_assert_false (tether_json_get_int (object, "s", &i));
  g_assert_false (tether_json_get_int (object, "missing", &i));

  g_assert_true (tether_json_get_number (object, "d", &d));
  g_assert_cmpfloat (d, ==, 2.5);
  g_assert_true (tether_json_get_number (object, "i", &d));
  g_assert_cmpfloat (d, ==, 7.0);
  g_assert_false (tether_json_get_number (object, "b", &d));

  g_assert_true (tether_json_get_bool (object, "b", FALSE));
  g_assert_true (tether_json_get_bool (object, "s", TRUE));
  g_assert_false (tether_json_get_bool (object, "missing", FALSE));

  g_assert_null (tether_json_get_string (object, "i"));
  g_assert_null (tether_json_get_string (object, "n"));
  g_assert_nonnull (tether_json_get_object (object, "o"));
  g_assert_null (tether_json_get_object (object, "a"));
  g_assert_nonnull (tether_json_get_array (object, "a"));
  g_assert_null (tether_json_get_array (object, "o"));
}

static void
test_serialize_round_trip (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "hello \"world\" [{");
  json_builder_set_member_name (builder, "v");
  json_builder_add_int_value (builder, TETHER_PROTOCOL_VERSION);
  json_builder_end_object (builder);

  text = tether_protocol_serialize (builder);
  object = parse (text, DEPTH, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tether_json_get_string (object, "type"), ==, "hello \"world\" [{");
}

/* What json-glib would decode into something else, or not into UTF-8, is refused
 * for the whole message (issue 8, items 3, 4 and 9). */
static void
test_decoded_strings (void)
{
  const char *bad[] = {
    "{\"type\":\"t\",\"u\":\"al\\u0000ice\"}",
    "{\"type\":\"t\",\"u\":\"x\\u0000\"}",
    "{\"type\":\"t\",\"a\\u0000b\":1}",
    "{\"type\":\"t\",\"u\":\"\\ud800x\"}",
    "{\"type\":\"t\",\"u\":\"\\udfff\"}",
    "{\"type\":\"t\",\"\\ud800\":1}",
    "{\"type\":\"t\",\"n\":[\"\\udbff\"]}",
    "{\"type\":\"t\",\"n\":1180591620717411303424}",
    "{\"type\":\"t\",\"n\":-9007199254740992}",
    "{\"type\":\"t\",\"n\":1e999}",
    /* One object and nothing else: json-glib leaks whatever follows the first value. */
    "3{\"type\":\"t\"}",
    "{\"type\":\"t\"}{\"x\":1}",
    "{\"type\":\"t\"}[1]",
    "{\"type\":\"t\"} 1",
    "{\"type\":\"t\"} /* c */",
    "{\"type\":\"t\",/* c */\"a\":1}",
    "  ",
  };
  const char *good[] = {
    "{\"type\":\"t\",\"u\":\"\\\\u0000\"}",        /* an escaped backslash, then text */
    "{\"type\":\"t\",\"u\":\"\\ud83d\\ude00\"}",  /* a surrogate pair */
    "{\"type\":\"t\",\"n\":9007199254740991,\"m\":-9007199254740991}",
    "{\"type\":\"t\",\"n\":1.5e300,\"s\":\"99999999999999999999\"}",
    " \n{\"type\":\"t\",\"s\":\"a/b {} [] //\"}\r\n ",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("bad: %s", bad[i]);
      assert_parse_fails (bad[i], strlen (bad[i]), DEPTH);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) o = parse (good[i], DEPTH, &error);

      g_test_message ("good: %s", good[i]);
      g_assert_no_error (error);
      g_assert_nonnull (o);
    }
}

static void
test_valid_name (void)
{
  g_autofree char *longest = g_strnfill (TETHER_PROTOCOL_MAX_NAME_LEN, 'a');
  g_autofree char *too_long = g_strnfill (TETHER_PROTOCOL_MAX_NAME_LEN + 1, 'a');

  g_assert_true (tether_protocol_valid_name ("Ada Lovelace"));
  g_assert_true (tether_protocol_valid_name ("\xe5\xbc\xa0\xe4\xb8\x89"));
  g_assert_true (tether_protocol_valid_name (longest));
  g_assert_false (tether_protocol_valid_name (too_long));
  g_assert_false (tether_protocol_valid_name ("line\nbreak"));
  g_assert_false (tether_protocol_valid_name ("\x1b[31mred"));
  g_assert_false (tether_protocol_valid_name ("\xc2\x85"));   /* C1 NEL */
  g_assert_false (tether_protocol_valid_name (NULL));
}

/* A timer of the longest allowed setting (365 days) must not wrap around. */
static void
test_long_timeout (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  GSource *source = tether_timeout_source_new (365.0 * 24 * 3600);
  GSource *short_source = tether_timeout_source_new (0.25);
  gint64 now = g_get_monotonic_time ();
  gint64 ready;

  g_source_attach (source, context);
  g_source_attach (short_source, context);
  ready = g_source_get_ready_time (source);
  g_assert_cmpint (ready, >=, now + (gint64) 365 * 24 * 3600 * G_USEC_PER_SEC - G_USEC_PER_SEC);
  g_assert_cmpint (ready, <=, now + (gint64) 365 * 24 * 3600 * G_USEC_PER_SEC + 2 * G_USEC_PER_SEC);
  ready = g_source_get_ready_time (short_source);
  g_assert_cmpint (ready, >=, now + 240 * 1000);
  g_assert_cmpint (ready, <=, now + 260 * 1000);
  g_source_destroy (source);
  g_source_unref (source);
  g_source_destroy (short_source);
  g_source_unref (short_source);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/protocol/parse/valid", test_valid);
  g_test_add_func ("/protocol/parse/length-respected", test_length_respected);
  g_test_add_func ("/protocol/parse/deep-nesting", test_deep_nesting);
  g_test_add_func ("/protocol/parse/depth-at-limit", test_depth_at_limit);
  g_test_add_func ("/protocol/parse/brackets-in-strings", test_brackets_in_strings);
  g_test_add_func ("/protocol/parse/single-quotes-hide-no-depth", test_single_quotes_hide_no_depth);
  g_test_add_func ("/protocol/parse/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/protocol/parse/not-object", test_not_object);
  g_test_add_func ("/protocol/parse/malformed", test_malformed);
  g_test_add_func ("/protocol/parse/missing-type", test_missing_type);
  g_test_add_func ("/protocol/valid-id", test_valid_id);
  g_test_add_func ("/protocol/valid-name", test_valid_name);
  g_test_add_func ("/protocol/parse/decoded-strings", test_decoded_strings);
  g_test_add_func ("/protocol/long-timeout", test_long_timeout);
  g_test_add_func ("/protocol/json-helpers", test_json_helpers);
  g_test_add_func ("/protocol/serialize-round-trip", test_serialize_round_trip);

  return g_test_run ();
}
