/* test-protocol.c: parsing room protocol frames, bounds, ids and JSON helpers
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-error.h"
#include "tether-message.h"
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

/* ---- tether-message.c: the message table, builders and readers ------------------ */

/* Every type of docs/protocol.md, spelled here independently of the module. */
static const struct
{
  const char             *name;
  TetherMessageDirection  direction;
} protocol_types[] = {
  { "login", TETHER_MESSAGE_TO_SERVER },
  { "heartbeat", TETHER_MESSAGE_TO_SERVER },
  { "logout", TETHER_MESSAGE_TO_SERVER },
  { "stream_add", TETHER_MESSAGE_TO_SERVER },
  { "stream_delete", TETHER_MESSAGE_TO_SERVER },
  { "token_renew", TETHER_MESSAGE_TO_SERVER },
  { "login_ok", TETHER_MESSAGE_TO_CLIENT },
  { "heartbeat_ack", TETHER_MESSAGE_TO_CLIENT },
  { "logout_ok", TETHER_MESSAGE_TO_CLIENT },
  { "stream_add_ok", TETHER_MESSAGE_TO_CLIENT },
  { "stream_delete_ok", TETHER_MESSAGE_TO_CLIENT },
  { "token_renew_ok", TETHER_MESSAGE_TO_CLIENT },
  { "event", TETHER_MESSAGE_TO_CLIENT },
  { "kick_out", TETHER_MESSAGE_TO_CLIENT },
  { "token_will_expire", TETHER_MESSAGE_TO_CLIENT },
  { "reconnect", TETHER_MESSAGE_TO_CLIENT },
  { "error", TETHER_MESSAGE_TO_CLIENT },
  { "request_error", TETHER_MESSAGE_TO_CLIENT },
};

static void
test_message_table (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);

  g_assert_cmpuint (G_N_ELEMENTS (protocol_types), ==, TETHER_MESSAGE_N_TYPES - 1);
  for (guint i = 0; i < G_N_ELEMENTS (protocol_types); i++)
    {
      TetherMessageType type = tether_message_type_from_string (protocol_types[i].name);

      g_assert_cmpint (type, !=, TETHER_MESSAGE_UNKNOWN);
      g_assert_false (g_hash_table_contains (seen, GINT_TO_POINTER (type)));
      g_hash_table_add (seen, GINT_TO_POINTER (type));
      g_assert_cmpstr (tether_message_type_to_string (type), ==, protocol_types[i].name);
      g_assert_cmpint (tether_message_type_get_direction (type), ==, protocol_types[i].direction);
    }
  for (TetherMessageType t = TETHER_MESSAGE_UNKNOWN + 1; t < TETHER_MESSAGE_N_TYPES; t++)
    g_assert_cmpint (tether_message_type_from_string (tether_message_type_to_string (t)), ==, t);

  g_assert_cmpint (tether_message_type_from_string ("nope"), ==, TETHER_MESSAGE_UNKNOWN);
  g_assert_cmpint (tether_message_type_from_string ("LOGIN"), ==, TETHER_MESSAGE_UNKNOWN);
  g_assert_cmpint (tether_message_type_from_string ("login "), ==, TETHER_MESSAGE_UNKNOWN);
  g_assert_cmpint (tether_message_type_from_string (""), ==, TETHER_MESSAGE_UNKNOWN);
  g_assert_cmpint (tether_message_type_from_string (NULL), ==, TETHER_MESSAGE_UNKNOWN);
  g_assert_null (tether_message_type_to_string (TETHER_MESSAGE_UNKNOWN));
  g_assert_null (tether_message_type_to_string (TETHER_MESSAGE_N_TYPES));
}

/* Parses a built message back through the door and checks its type. */
static JsonObject *
reparse (const char *text,
         const char *type)
{
  g_autoptr(GError) error = NULL;
  JsonObject *msg = parse (text, DEPTH, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (tether_json_get_string (msg, "type"), ==, type);
  g_assert_cmpint (tether_message_get_type (msg), ==, tether_message_type_from_string (type));
  return msg;
}

static gint64
get_int (JsonObject *o,
         const char *name)
{
  gint64 v = -1;

  g_assert_true (tether_json_get_int (o, name, &v));
  return v;
}

static double
get_number (JsonObject *o,
            const char *name)
{
  double v = -1;

  g_assert_true (tether_json_get_number (o, name, &v));
  return v;
}

static void
test_message_build_login (void)
{
  TetherLoginMessage m = {
    .app_id = "demo", .room_id = "lobby", .user = { "alice", "Alice" }, .token = "tok",
    .notify_users = TRUE,
  };
  g_autofree char *plain = tether_message_build_login (&m);
  g_autofree char *resuming = NULL;
  g_autoptr(JsonObject) msg = reparse (plain, "login");
  g_autoptr(JsonObject) msg2 = NULL;
  g_autoptr(GError) error = NULL;
  TetherLoginMessage read;
  JsonObject *user, *resume;

  g_assert_cmpint (get_int (msg, "v"), ==, 1);
  g_assert_cmpstr (tether_json_get_string (msg, "app_id"), ==, "demo");
  g_assert_cmpstr (tether_json_get_string (msg, "room_id"), ==, "lobby");
  user = tether_json_get_object (msg, "user");
  g_assert_cmpstr (tether_json_get_string (user, "id"), ==, "alice");
  g_assert_cmpstr (tether_json_get_string (user, "name"), ==, "Alice");
  g_assert_cmpstr (tether_json_get_string (msg, "token"), ==, "tok");
  g_assert_true (tether_json_get_bool (msg, "notify_users", FALSE));
  g_assert_false (json_object_has_member (msg, "resume"));

  g_assert_true (tether_message_read_login (msg, &read, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (read.app_id, ==, "demo");
  g_assert_cmpstr (read.room_id, ==, "lobby");
  g_assert_cmpstr (read.user.id, ==, "alice");
  g_assert_cmpstr (read.user.name, ==, "Alice");
  g_assert_cmpstr (read.token, ==, "tok");
  g_assert_true (read.notify_users);
  g_assert_null (read.session_id);

  m.session_id = "s1";
  m.resume_key = "k1";
  m.last_seq = 17;
  resuming = tether_message_build_login (&m);
  msg2 = reparse (resuming, "login");
  resume = tether_json_get_object (msg2, "resume");
  g_assert_nonnull (resume);
  g_assert_cmpstr (tether_json_get_string (resume, "session_id"), ==, "s1");
  g_assert_cmpstr (tether_json_get_string (resume, "resume_key"), ==, "k1");
  g_assert_cmpint (get_int (resume, "last_seq"), ==, 17);
  g_assert_true (tether_message_read_login (msg2, &read, &error));
  g_assert_cmpstr (read.session_id, ==, "s1");
  g_assert_cmpstr (read.resume_key, ==, "k1");
  g_assert_cmpint (read.last_seq, ==, 17);
}

/* Each bad login fails with its field's code; what came before the fault is kept. */
static void
test_message_read_login_errors (void)
{
  static const struct
  {
    const char *json;
    int         code;
    gboolean    has_app_id;
  } cases[] = {
    { "{\"type\":\"login\"}", TETHER_ERROR_PROTOCOL, FALSE },
    { "{\"type\":\"login\",\"v\":2}", TETHER_ERROR_PROTOCOL, FALSE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"a b\"}", TETHER_ERROR_APP_ID_INVALID, FALSE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"other\",\"room_id\":\"\"}", TETHER_ERROR_ROOM_ID_INVALID, TRUE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"a\",\"room_id\":\"r\",\"user\":{}}", TETHER_ERROR_USER_ID_INVALID, TRUE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"a\",\"room_id\":\"r\",\"user\":{\"id\":\"u\",\"name\":3}}", TETHER_ERROR_USER_ID_INVALID, TRUE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"a\",\"room_id\":\"r\",\"user\":{\"id\":\"u\"},\"notify_users\":1}", TETHER_ERROR_PROTOCOL, TRUE },
    { "{\"type\":\"login\",\"v\":1,\"app_id\":\"a\",\"room_id\":\"r\",\"user\":{\"id\":\"u\"},\"resume\":{\"session_id\":\"s\",\"resume_key\":\"k\",\"last_seq\":-1}}", TETHER_ERROR_PROTOCOL, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) msg = reparse (cases[i].json, "login");
      g_autoptr(GError) error = NULL;
      TetherLoginMessage read;

      g_assert_false (tether_message_read_login (msg, &read, &error));
      g_assert_error (error, TETHER_ERROR, cases[i].code);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpint (read.app_id != NULL, ==, cases[i].has_app_id);
    }

  {
    /* No name: the user is named by its id; null optional fields count as absent. */
    g_autoptr(JsonObject) msg = reparse ("{\"type\":\"login\",\"v\":1,\"app_id\":\"a\",\"room_id\":\"r\","
                                         "\"user\":{\"id\":\"u\",\"name\":null},\"notify_users\":null,"
                                         "\"resume\":null}", "login");
    g_autoptr(GError) error = NULL;
    TetherLoginMessage read;

    g_assert_true (tether_message_read_login (msg, &read, &error));
    g_assert_cmpstr (read.user.name, ==, "u");
    g_assert_false (read.notify_users);
    g_assert_null (read.session_id);
    g_assert_null (read.token);
  }
}

static void
test_message_build_client (void)
{
  TetherMessageStream stream = { "cam1", "bob", "Bob", "node-a", "x" };
  g_autofree char *hb = tether_message_build_heartbeat (5);
  g_autofree char *logout = tether_message_build_logout ();
  g_autofree char *add = tether_message_build_stream_add (3, &stream);
  g_autofree char *del = tether_message_build_stream_delete (4, "cam1", NULL);
  g_autofree char *lost = tether_message_build_stream_delete (4, "cam1", "media_lost");
  g_autofree char *renew = tether_message_build_token_renew (5, "tok2");
  g_autoptr(JsonObject) m_hb = reparse (hb, "heartbeat");
  g_autoptr(JsonObject) m_logout = reparse (logout, "logout");
  g_autoptr(JsonObject) m_add = reparse (add, "stream_add");
  g_autoptr(JsonObject) m_del = reparse (del, "stream_delete");
  g_autoptr(JsonObject) m_lost = reparse (lost, "stream_delete");
  g_autoptr(JsonObject) m_renew = reparse (renew, "token_renew");
  g_autoptr(GError) error = NULL;
  TetherStreamAddMessage add_read;
  TetherStreamDeleteMessage del_read;
  TetherTokenRenewMessage renew_read;
  JsonObject *s;
  JsonNode *id;

  g_assert_cmpint (get_int (m_hb, "id"), ==, 5);
  g_assert_true (tether_message_read_heartbeat (m_hb, &id, &error));
  g_assert_cmpint (json_node_get_int (id), ==, 5);
  g_assert_cmpuint (json_object_get_size (m_logout), ==, 1);

  g_assert_cmpint (get_int (m_add, "req"), ==, 3);
  s = tether_json_get_object (m_add, "stream");
  g_assert_cmpstr (tether_json_get_string (s, "id"), ==, "cam1");
  g_assert_cmpstr (tether_json_get_string (s, "node"), ==, "node-a");
  g_assert_cmpstr (tether_json_get_string (s, "extra"), ==, "x");
  g_assert_false (json_object_has_member (s, "user_id"));
  g_assert_true (tether_message_read_stream_add (m_add, &add_read, &error));
  g_assert_cmpint (add_read.req, ==, 3);
  g_assert_cmpstr (add_read.stream.id, ==, "cam1");
  g_assert_cmpstr (add_read.stream.node, ==, "node-a");
  g_assert_cmpstr (add_read.stream.extra, ==, "x");

  g_assert_cmpint (get_int (m_del, "req"), ==, 4);
  g_assert_cmpstr (tether_json_get_string (m_del, "stream_id"), ==, "cam1");
  g_assert_cmpstr (tether_json_get_string (m_del, "reason"), ==, "stopped");
  g_assert_true (tether_message_read_stream_delete (m_lost, &del_read, &error));
  g_assert_cmpstr (del_read.stream_id, ==, "cam1");
  g_assert_cmpstr (del_read.reason, ==, "media_lost");

  g_assert_cmpint (get_int (m_renew, "req"), ==, 5);
  g_assert_cmpstr (tether_json_get_string (m_renew, "token"), ==, "tok2");
  g_assert_true (tether_message_read_token_renew (m_renew, &renew_read, &error));
  g_assert_cmpint (renew_read.req, ==, 5);
  g_assert_cmpstr (renew_read.token, ==, "tok2");
  g_assert_no_error (error);
}

static void
test_message_read_client_errors (void)
{
  static const struct
  {
    const char *json;
    int         code;
  } cases[] = {
    { "{\"type\":\"heartbeat\",\"id\":-1}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"heartbeat\",\"id\":1.5}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"heartbeat\",\"id\":[]}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"heartbeat\",\"id\":\"01234567890123456789012345678901234567890123456789012345678901234\"}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"stream_add\",\"stream\":{\"id\":\"c\"}}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c d\"}}", TETHER_ERROR_STREAM_ID_INVALID },
    { "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c\",\"extra\":1}}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c\",\"node\":\"a b\"}}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"stream_delete\",\"req\":1}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"stream_delete\",\"req\":\"1\",\"stream_id\":\"c\"}", TETHER_ERROR_PROTOCOL },
    { "{\"type\":\"token_renew\",\"req\":1}", TETHER_ERROR_PROTOCOL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) msg = parse (cases[i].json, DEPTH, &error);
      gboolean ok = FALSE;

      g_assert_no_error (error);
      switch (tether_message_get_type (msg))
        {
        case TETHER_MESSAGE_HEARTBEAT:
          {
            JsonNode *id;

            ok = tether_message_read_heartbeat (msg, &id, &error);
          }
          break;
        case TETHER_MESSAGE_STREAM_ADD:
          {
            TetherStreamAddMessage m;

            ok = tether_message_read_stream_add (msg, &m, &error);
          }
          break;
        case TETHER_MESSAGE_STREAM_DELETE:
          {
            TetherStreamDeleteMessage m;

            ok = tether_message_read_stream_delete (msg, &m, &error);
          }
          break;
        case TETHER_MESSAGE_TOKEN_RENEW:
          {
            TetherTokenRenewMessage m;

            ok = tether_message_read_token_renew (msg, &m, &error);
          }
          break;
        default:
          g_assert_not_reached ();
        }
      g_assert_false (ok);
      g_assert_error (error, TETHER_ERROR, cases[i].code);
    }

  {
    /* A reason a client may not give reads as "stopped"; absent node and extra as "". */
    g_autoptr(JsonObject) del = reparse ("{\"type\":\"stream_delete\",\"req\":1,\"stream_id\":\"c\","
                                         "\"reason\":\"kicked\"}", "stream_delete");
    g_autoptr(JsonObject) add = reparse ("{\"type\":\"stream_add\",\"req\":1,\"stream\":{\"id\":\"c\"}}",
                                         "stream_add");
    g_autoptr(JsonObject) hb = reparse ("{\"type\":\"heartbeat\"}", "heartbeat");
    TetherStreamDeleteMessage d;
    TetherStreamAddMessage a;
    JsonNode *id = (JsonNode *) 1;

    g_assert_true (tether_message_read_stream_delete (del, &d, NULL));
    g_assert_cmpstr (d.reason, ==, "stopped");
    g_assert_true (tether_message_read_stream_add (add, &a, NULL));
    g_assert_cmpstr (a.stream.node, ==, "");
    g_assert_cmpstr (a.stream.extra, ==, "");
    g_assert_true (tether_message_read_heartbeat (hb, &id, NULL));
    g_assert_null (id);
  }
}

static void
test_message_build_login_ok (void)
{
  TetherMessageUser users[] = { { "bob", "Bob" } };
  TetherMessageStream streams[] = { { "cam1", "bob", "Bob", "node-a", "" } };
  TetherMessageMediaNode nodes[] = { { "node-a", "srt://127.0.0.1:9000" } };
  TetherLoginOkMessage m = {
    .room_session_id = "rs", .session_id = "s", .resume_key = "k", .resumed = TRUE,
    .resync = TRUE, .seq = 42, .users = users, .n_users = 1, .streams = streams,
    .n_streams = 1, .heartbeat_interval = 1.0, .heartbeat_timeout = 90.0,
    .session_ttl = 1200.0, .token_expires_at = 1760000000, .media_nodes = nodes,
    .n_media_nodes = 1,
  };
  g_autofree char *text = tether_message_build_login_ok (&m);
  g_autoptr(JsonObject) msg = reparse (text, "login_ok");
  g_auto(TetherLoginOkMessage) read = { 0 };
  JsonObject *o;

  g_assert_cmpint (get_int (msg, "v"), ==, 1);
  g_assert_cmpstr (tether_json_get_string (msg, "room_session_id"), ==, "rs");
  g_assert_cmpstr (tether_json_get_string (msg, "session_id"), ==, "s");
  g_assert_cmpstr (tether_json_get_string (msg, "resume_key"), ==, "k");
  g_assert_true (tether_json_get_bool (msg, "resumed", FALSE));
  g_assert_true (tether_json_get_bool (msg, "resync", FALSE));
  g_assert_cmpint (get_int (msg, "seq"), ==, 42);
  o = json_array_get_object_element (tether_json_get_array (msg, "users"), 0);
  g_assert_cmpstr (tether_json_get_string (o, "id"), ==, "bob");
  g_assert_cmpstr (tether_json_get_string (o, "name"), ==, "Bob");
  o = json_array_get_object_element (tether_json_get_array (msg, "streams"), 0);
  g_assert_cmpstr (tether_json_get_string (o, "id"), ==, "cam1");
  g_assert_cmpstr (tether_json_get_string (o, "user_id"), ==, "bob");
  g_assert_cmpstr (tether_json_get_string (o, "user_name"), ==, "Bob");
  g_assert_cmpstr (tether_json_get_string (o, "node"), ==, "node-a");
  g_assert_cmpstr (tether_json_get_string (o, "extra"), ==, "");
  g_assert_cmpfloat (get_number (msg, "heartbeat_interval"), ==, 1.0);
  g_assert_cmpfloat (get_number (msg, "heartbeat_timeout"), ==, 90.0);
  g_assert_cmpfloat (get_number (msg, "session_ttl"), ==, 1200.0);
  g_assert_cmpint (get_int (msg, "token_expires_at"), ==, 1760000000);
  o = json_array_get_object_element (tether_json_get_array (msg, "media_nodes"), 0);
  g_assert_cmpstr (tether_json_get_string (o, "id"), ==, "node-a");
  g_assert_cmpstr (tether_json_get_string (o, "url"), ==, "srt://127.0.0.1:9000");

  g_assert_true (tether_message_read_login_ok (msg, &read));
  g_assert_cmpstr (read.session_id, ==, "s");
  g_assert_true (read.resumed && read.resync);
  g_assert_cmpint (read.seq, ==, 42);
  g_assert_cmpuint (read.n_users, ==, 1);
  g_assert_cmpstr (read.users[0].name, ==, "Bob");
  g_assert_cmpuint (read.n_streams, ==, 1);
  g_assert_cmpstr (read.streams[0].user_id, ==, "bob");
  g_assert_cmpfloat (read.heartbeat_interval, ==, 1.0);
  g_assert_true (read.has_token_expires_at);
  g_assert_cmpint (read.token_expires_at, ==, 1760000000);
  g_assert_cmpuint (read.n_media_nodes, ==, 1);
  g_assert_cmpstr (read.media_nodes[0].url, ==, "srt://127.0.0.1:9000");

  /* resync is sent only when set; a login_ok without ids is not one */
  {
    g_autofree char *plain = NULL;
    g_autoptr(JsonObject) plain_msg = NULL;
    g_autoptr(JsonObject) bad = reparse ("{\"type\":\"login_ok\",\"session_id\":\"s\","
                                         "\"users\":[1,{\"name\":\"x\"},{\"id\":\"a\"}]}", "login_ok");
    g_auto(TetherLoginOkMessage) bad_read = { 0 };

    m.resync = FALSE;
    plain = tether_message_build_login_ok (&m);
    plain_msg = reparse (plain, "login_ok");
    g_assert_false (json_object_has_member (plain_msg, "resync"));
    g_assert_false (tether_message_read_login_ok (bad, &bad_read));
    g_assert_cmpuint (bad_read.n_users, ==, 1);
    g_assert_cmpstr (bad_read.users[0].id, ==, "a");
    g_assert_null (bad_read.users[0].name);
  }
}

static void
test_message_build_event (void)
{
  TetherMessageUser users[] = { { "carol", "Carol" } };
  TetherMessageStream streams[] = { { "cam1", "bob", "Bob", "node-a", "" },
                                    { "cam2", "bob", "Bob", "", "e" } };
  TetherEventMessage user_ev = {
    .seq = 43, .kind = TETHER_MESSAGE_KIND_USER, .update = TETHER_UPDATE_ADD,
    .users = users, .n_users = 1,
  };
  TetherEventMessage stream_ev = {
    .seq = 44, .kind = TETHER_MESSAGE_KIND_STREAM, .update = TETHER_UPDATE_DELETE,
    .reason = "heartbeat_timeout", .streams = streams, .n_streams = 2,
  };
  g_autofree char *t1 = tether_message_build_event (&user_ev);
  g_autofree char *t2 = tether_message_build_event (&stream_ev);
  g_autoptr(JsonObject) m1 = reparse (t1, "event");
  g_autoptr(JsonObject) m2 = reparse (t2, "event");
  g_auto(TetherEventMessage) r1 = { 0 };
  g_auto(TetherEventMessage) r2 = { 0 };
  JsonObject *o;

  g_assert_cmpint (get_int (m1, "seq"), ==, 43);
  g_assert_cmpstr (tether_json_get_string (m1, "kind"), ==, "user");
  g_assert_cmpstr (tether_json_get_string (m1, "update"), ==, "ADD");
  g_assert_false (json_object_has_member (m1, "streams"));
  g_assert_false (json_object_has_member (m1, "reason"));
  o = json_array_get_object_element (tether_json_get_array (m1, "users"), 0);
  g_assert_cmpstr (tether_json_get_string (o, "id"), ==, "carol");
  g_assert_cmpstr (tether_json_get_string (o, "name"), ==, "Carol");

  g_assert_cmpint (get_int (m2, "seq"), ==, 44);
  g_assert_cmpstr (tether_json_get_string (m2, "kind"), ==, "stream");
  g_assert_cmpstr (tether_json_get_string (m2, "update"), ==, "DELETE");
  g_assert_cmpstr (tether_json_get_string (m2, "reason"), ==, "heartbeat_timeout");
  g_assert_cmpuint (json_array_get_length (tether_json_get_array (m2, "streams")), ==, 2);
  g_assert_false (json_object_has_member (m2, "users"));

  g_assert_true (tether_message_read_event (m1, &r1));
  g_assert_cmpint (r1.seq, ==, 43);
  g_assert_cmpint (r1.kind, ==, TETHER_MESSAGE_KIND_USER);
  g_assert_cmpint (r1.update, ==, TETHER_UPDATE_ADD);
  g_assert_cmpuint (r1.n_users, ==, 1);
  g_assert_cmpstr (r1.users[0].name, ==, "Carol");
  g_assert_true (tether_message_read_event (m2, &r2));
  g_assert_cmpint (r2.kind, ==, TETHER_MESSAGE_KIND_STREAM);
  g_assert_cmpint (r2.update, ==, TETHER_UPDATE_DELETE);
  g_assert_cmpstr (r2.reason, ==, "heartbeat_timeout");
  g_assert_cmpuint (r2.n_streams, ==, 2);
  g_assert_cmpstr (r2.streams[1].id, ==, "cam2");
  g_assert_cmpstr (r2.streams[1].extra, ==, "e");

  {
    g_autoptr(JsonObject) no_seq = reparse ("{\"type\":\"event\",\"kind\":\"user\",\"update\":\"ADD\"}", "event");
    g_auto(TetherEventMessage) r = { 0 };

    g_assert_false (tether_message_read_event (no_seq, &r));
  }
}

static void
test_message_build_server (void)
{
  g_autoptr(JsonNode) str_id = json_node_new (JSON_NODE_VALUE);
  g_autofree char *ack = NULL;
  g_autofree char *ack_null = tether_message_build_heartbeat_ack (NULL, 7);
  g_autofree char *logout_ok = tether_message_build_logout_ok ();
  g_autofree char *add_ok = tether_message_build_request_ok (TETHER_MESSAGE_STREAM_ADD_OK, 3);
  g_autofree char *del_ok = tether_message_build_request_ok (TETHER_MESSAGE_STREAM_DELETE_OK, 4);
  g_autofree char *renew_ok = tether_message_build_token_renew_ok (5, 1760000000, NULL);
  g_autofree char *renew_ok_pass = tether_message_build_token_renew_ok (6, 1760000000,
                                                                        "0123456789abcdef");
  g_autofree char *renew_ok_short = tether_message_build_token_renew_ok (7, 1760000000, "short");
  g_autofree char *kick = tether_message_build_kick_out (1010, "logged in elsewhere");
  g_autofree char *warn = tether_message_build_token_will_expire (1760000000, 30.0);
  g_autofree char *reconnect = tether_message_build_reconnect (0.8);
  g_autofree char *error = tether_message_build_error (1013, "nesting too deep");
  g_autofree char *auth_error = tether_message_build_error (1004, "bad token");
  g_autofree char *req_error = tether_message_build_request_error (3, 2003, "stream id in use");
  g_autoptr(JsonObject) m_ack = NULL;
  g_autoptr(JsonObject) m_ack_null = reparse (ack_null, "heartbeat_ack");
  g_autoptr(JsonObject) m_logout_ok = reparse (logout_ok, "logout_ok");
  g_autoptr(JsonObject) m_add_ok = reparse (add_ok, "stream_add_ok");
  g_autoptr(JsonObject) m_del_ok = reparse (del_ok, "stream_delete_ok");
  g_autoptr(JsonObject) m_renew_ok = reparse (renew_ok, "token_renew_ok");
  const char *passphrase = NULL;
  g_autoptr(JsonObject) m_kick = reparse (kick, "kick_out");
  g_autoptr(JsonObject) m_warn = reparse (warn, "token_will_expire");
  g_autoptr(JsonObject) m_reconnect = reparse (reconnect, "reconnect");
  g_autoptr(JsonObject) m_error = reparse (error, "error");
  g_autoptr(JsonObject) m_auth_error = reparse (auth_error, "error");
  g_autoptr(JsonObject) m_req_error = reparse (req_error, "request_error");
  TetherTokenWillExpireMessage w;
  TetherErrorMessage e;
  gint64 v = 0;
  double d = 0;

  json_node_set_string (str_id, "hb-1");
  ack = tether_message_build_heartbeat_ack (str_id, 42);
  m_ack = reparse (ack, "heartbeat_ack");
  g_assert_cmpstr (tether_json_get_string (m_ack, "id"), ==, "hb-1");
  g_assert_cmpint (get_int (m_ack, "seq"), ==, 42);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (m_ack_null, "id")));
  g_assert_false (tether_message_read_heartbeat_ack (m_ack_null, &v));

  g_assert_cmpuint (json_object_get_size (m_logout_ok), ==, 1);
  g_assert_true (tether_message_read_request_ok (m_add_ok, &v));
  g_assert_cmpint (v, ==, 3);
  g_assert_true (tether_message_read_request_ok (m_del_ok, &v));
  g_assert_cmpint (v, ==, 4);

  g_assert_cmpint (get_int (m_renew_ok, "req"), ==, 5);
  g_assert_true (tether_message_read_token_renew_ok (m_renew_ok, &v, &passphrase));
  g_assert_cmpint (v, ==, 1760000000);
  g_assert_null (passphrase);
  {
    g_autoptr(JsonObject) with = reparse (renew_ok_pass, "token_renew_ok");
    g_autoptr(JsonObject) too_short = reparse (renew_ok_short, "token_renew_ok");

    g_assert_true (tether_message_read_token_renew_ok (with, &v, &passphrase));
    g_assert_cmpstr (passphrase, ==, "0123456789abcdef");
    /* libsrt takes 10 to 79 characters: anything else is not a passphrase. */
    g_assert_true (tether_message_read_token_renew_ok (too_short, &v, &passphrase));
    g_assert_null (passphrase);
  }

  g_assert_cmpint (get_int (m_kick, "code"), ==, 1010);
  g_assert_cmpstr (tether_json_get_string (m_kick, "message"), ==, "logged in elsewhere");
  g_assert_false (tether_message_read_error (m_kick, 1011, &e));
  g_assert_cmpint (e.code, ==, 1010);

  tether_message_read_token_will_expire (m_warn, &w);
  g_assert_cmpint (w.expires_at, ==, 1760000000);
  g_assert_cmpfloat (w.remaining, ==, 30.0);

  g_assert_true (tether_message_read_reconnect (m_reconnect, &d));
  g_assert_cmpfloat (d, ==, 0.8);

  /* A protocol error says which version the server speaks; others do not. */
  g_assert_cmpint (get_int (m_error, "code"), ==, 1013);
  g_assert_cmpstr (tether_json_get_string (m_error, "message"), ==, "nesting too deep");
  g_assert_cmpint (get_int (m_error, "v"), ==, 1);
  g_assert_false (json_object_has_member (m_auth_error, "v"));

  g_assert_cmpint (get_int (m_req_error, "req"), ==, 3);
  g_assert_cmpint (get_int (m_req_error, "code"), ==, 2003);
  g_assert_true (tether_message_read_error (m_req_error, 1013, &e));
  g_assert_cmpint (e.req, ==, 3);
  g_assert_cmpint (e.code, ==, 2003);
  g_assert_cmpstr (e.message, ==, "stream id in use");

  {
    g_autoptr(JsonObject) bare = reparse ("{\"type\":\"error\"}", "error");

    g_assert_false (tether_message_read_error (bare, 1013, &e));
    g_assert_cmpint (e.code, ==, 1013);
    g_assert_null (e.message);
  }
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
  g_test_add_func ("/protocol/message/table", test_message_table);
  g_test_add_func ("/protocol/message/login", test_message_build_login);
  g_test_add_func ("/protocol/message/login-errors", test_message_read_login_errors);
  g_test_add_func ("/protocol/message/client", test_message_build_client);
  g_test_add_func ("/protocol/message/client-errors", test_message_read_client_errors);
  g_test_add_func ("/protocol/message/login-ok", test_message_build_login_ok);
  g_test_add_func ("/protocol/message/event", test_message_build_event);
  g_test_add_func ("/protocol/message/server", test_message_build_server);

  return g_test_run ();
}
