/* test-srt-url.c: the SRT stream id's one builder and one parser (docs/protocol.md,
 * "Stream id"): what the builder writes the parser reads back, and what the parser
 * refuses, with which status
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-srt-url-private.h"
#include "tether-test-utils.h"

static void
assert_round_trip (const char    *resource,
                   TetherSrtMode  mode,
                   const char    *user,
                   const char    *token)
{
  TetherSrtStreamId sid = { (char *) resource, mode, (char *) user, (char *) token };
  g_auto(TetherSrtStreamId) back = { 0, };
  g_autofree char *text = tether_srt_stream_id_to_string (&sid);
  g_autofree char *escaped = g_uri_escape_string (text, NULL, FALSE);

  g_assert_true (g_str_has_prefix (text, "#!::r="));
  g_assert_cmpint (tether_srt_stream_id_parse (text, &back), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (back.resource, ==, resource);
  g_assert_cmpint (back.mode, ==, mode);
  g_assert_cmpstr (back.user, ==, user);
  g_assert_cmpstr (back.token, ==, token);
  tether_srt_stream_id_clear (&back);

  /* The URL-escaped form (what srtsrc and srt-live-transmit pass on) reads the same. */
  g_assert_cmpint (tether_srt_stream_id_parse (escaped, &back), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (back.resource, ==, resource);
  g_assert_cmpint (back.mode, ==, mode);
  g_assert_cmpstr (back.user, ==, user);
  g_assert_cmpstr (back.token, ==, token);
}

static void
test_round_trip (void)
{
  g_autofree char *token = tether_test_token ("alice", "room1", 600);
  g_autofree char *long_id = g_strnfill (128, 'x');

  assert_round_trip ("cam", TETHER_SRT_MODE_PUBLISH, NULL, token);
  assert_round_trip ("cam", TETHER_SRT_MODE_REQUEST, NULL, token);
  assert_round_trip ("cam.1_~@:-", TETHER_SRT_MODE_PUBLISH, "alice", token);
  assert_round_trip ("cam", TETHER_SRT_MODE_REQUEST, "bob", NULL);
  assert_round_trip (long_id, TETHER_SRT_MODE_REQUEST, long_id, "a=b.c");
}

/* The wire format: what players and publishers have always sent. */
static void
test_builder (void)
{
  TetherSrtStreamId with_user = { (char *) "cam", TETHER_SRT_MODE_PUBLISH, (char *) "alice", (char *) "tok" };
  TetherSrtStreamId empty = { (char *) "cam", TETHER_SRT_MODE_REQUEST, (char *) "", (char *) "" };
  g_autofree char *publish = tether_srt_stream_id_new ("cam", "publish", "abc.def");
  g_autofree char *request = tether_srt_stream_id_new ("cam", "request", NULL);
  g_autofree char *user = tether_srt_stream_id_to_string (&with_user);
  g_autofree char *none = tether_srt_stream_id_to_string (&empty);
  g_autofree char *url = tether_srt_url_new ("srt://127.0.0.1:9000", "cam", "request", "abc.def");
  g_autofree char *url2 = tether_srt_url_new ("srt://h:1?latency=200", "cam", "publish", NULL);
  TetherSrtStreamId pulling = { (char *) "cam", TETHER_SRT_MODE_REQUEST, NULL, (char *) "tok", (char *) "edge1" };
  g_autofree char *pull = tether_srt_stream_id_to_string (&pulling);

  g_assert_cmpstr (publish, ==, "#!::r=cam,m=publish,t=abc.def");
  g_assert_cmpstr (request, ==, "#!::r=cam,m=request");
  g_assert_cmpstr (user, ==, "#!::r=cam,m=publish,u=alice,t=tok");
  g_assert_cmpstr (none, ==, "#!::r=cam,m=request");
  g_assert_cmpstr (url, ==, "srt://127.0.0.1:9000?streamid=%23%21%3A%3Ar%3Dcam%2Cm%3Drequest%2Ct%3Dabc.def");
  g_assert_cmpstr (pull, ==, "#!::r=cam,m=request,pull=edge1,t=tok");
  g_assert_cmpstr (url2, ==, "srt://h:1?latency=200&streamid=%23%21%3A%3Ar%3Dcam%2Cm%3Dpublish");
}

/* The passphrase formula of docs/protocol.md ("Media encryption"), against a value
 * Python's hmac computed, and the URL that carries it. */
static void
test_passphrase (void)
{
  g_autofree char *passphrase = tether_srt_passphrase_derive ("test-secret", "abc.def");
  g_autofree char *other = tether_srt_passphrase_derive ("test-secret", "abc.deg");
  g_autofree char *url = tether_srt_url_new_full ("srt://127.0.0.1:9000", "cam", "request",
                                                  "abc.def", passphrase);
  g_autofree char *plain = tether_srt_url_new_full ("srt://127.0.0.1:9000", "cam", "request",
                                                    "abc.def", NULL);

  g_assert_cmpstr (passphrase, ==, "l50FMajUkCQ3fADbRoNzsdGCaVHaU0lAQn8t0NjqmhY");
  g_assert_cmpuint (strlen (passphrase), ==, TETHER_SRT_PASSPHRASE_LEN);
  g_assert_cmpstr (other, !=, passphrase);
  g_assert_cmpstr (url, ==, "srt://127.0.0.1:9000?streamid=%23%21%3A%3Ar%3Dcam%2Cm%3Drequest%2Ct%3Dabc.def"
                            "&passphrase=l50FMajUkCQ3fADbRoNzsdGCaVHaU0lAQn8t0NjqmhY");
  g_assert_cmpstr (plain, ==, "srt://127.0.0.1:9000?streamid=%23%21%3A%3Ar%3Dcam%2Cm%3Drequest%2Ct%3Dabc.def");
}

/* What other SRT tools write: keys in any order, `s=` behind an SRT type, unknown keys. */
static void
test_parse (void)
{
  g_auto(TetherSrtStreamId) sid = { 0, };

  g_assert_cmpint (tether_srt_stream_id_parse ("#!::r=cam,m=publish,t=abc.def,u=alice", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (sid.resource, ==, "cam");
  g_assert_cmpint (sid.mode, ==, TETHER_SRT_MODE_PUBLISH);
  g_assert_cmpstr (sid.token, ==, "abc.def");
  g_assert_cmpstr (sid.user, ==, "alice");
  tether_srt_stream_id_clear (&sid);

  g_assert_cmpint (tether_srt_stream_id_parse ("#!::r=cam,t=stream,s=tok.sig", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpint (sid.mode, ==, TETHER_SRT_MODE_REQUEST);
  g_assert_cmpstr (sid.token, ==, "tok.sig");
  tether_srt_stream_id_clear (&sid);

  g_assert_cmpint (tether_srt_stream_id_parse ("#!::s=tok.sig,h=host.example,r=cam", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (sid.resource, ==, "cam");
  g_assert_cmpstr (sid.token, ==, "tok.sig");
  g_assert_null (sid.user);
  tether_srt_stream_id_clear (&sid);

  g_assert_cmpint (tether_srt_stream_id_parse ("#!::r=cam,m=request", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_null (sid.token);
  tether_srt_stream_id_clear (&sid);

  /* A media node pulling for its players (the media cascade). */
  g_assert_cmpint (tether_srt_stream_id_parse ("#!::r=cam,m=request,pull=edge1,t=tok", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (sid.pull, ==, "edge1");
  g_assert_cmpstr (sid.token, ==, "tok");
  tether_srt_stream_id_clear (&sid);
  g_assert_null (sid.pull);

  g_assert_cmpint (tether_srt_stream_id_parse ("%23%21%3A%3Ar%3Dcam%2Cm%3Dpublish%2Ct%3Dabc.def", &sid), ==, TETHER_SRT_STREAM_ID_OK);
  g_assert_cmpstr (sid.resource, ==, "cam");
  g_assert_cmpint (sid.mode, ==, TETHER_SRT_MODE_PUBLISH);
  g_assert_cmpstr (sid.token, ==, "abc.def");
}

static void
assert_refused (const char              *text,
                TetherSrtStreamIdStatus  status)
{
  TetherSrtStreamId sid = { 0, };

  g_test_message ("refused: %s", text != NULL ? text : "(null)");
  g_assert_cmpint (tether_srt_stream_id_parse (text, &sid), ==, status);
  g_assert_null (sid.resource);
  g_assert_null (sid.user);
  g_assert_null (sid.token);
}

static void
test_refused (void)
{
  g_autofree char *too_long = g_strdup_printf ("#!::r=cam,t=%0*d", TETHER_SRT_STREAM_ID_MAX_LEN, 0);
  g_autofree char *long_id = g_strnfill (129, 'x');
  g_autofree char *id_too_long = g_strconcat ("#!::r=", long_id, NULL);

  assert_refused (NULL, TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("cam", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!:r=cam", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused (too_long, TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused (id_too_long, TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::m=publish", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,r=cam2", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,t=a,t=b", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=c a m", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,junk", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,=x", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,u=", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,u=a/b", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,pull=", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,pull=a b", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("#!::r=cam,pull=a,pull=b", TETHER_SRT_STREAM_ID_MALFORMED);
  assert_refused ("%23%21%3A%3Ar%3Dc%2Fm", TETHER_SRT_STREAM_ID_MALFORMED);
  /* The mode is the last rule: a malformed id with a bad mode is malformed. */
  assert_refused ("#!::r=cam,m=bidirectional", TETHER_SRT_STREAM_ID_BAD_MODE);
  assert_refused ("#!::r=cam,m=watch,t=x", TETHER_SRT_STREAM_ID_BAD_MODE);
  assert_refused ("#!::r=c/m,m=watch", TETHER_SRT_STREAM_ID_MALFORMED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/srt-url/round-trip", test_round_trip);
  g_test_add_func ("/srt-url/builder", test_builder);
  g_test_add_func ("/srt-url/passphrase", test_passphrase);
  g_test_add_func ("/srt-url/parse", test_parse);
  g_test_add_func ("/srt-url/refused", test_refused);

  return g_test_run ();
}
