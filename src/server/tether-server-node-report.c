/* tether-server-node-report.c: a separate media node (--media-only) reporting its
 * publishers to a room service, and the signature both sides compute
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "tether-protocol.h"
#include "tether-tls-private.h"
#include "tether-token.h"
#include "tether-server-node-report.h"

/* See docs/protocol.md, "Node reports". Every report is the node's whole state (the
 * publishers whose media started) plus what went since the last report the room
 * service took, so a lost report costs nothing but time: the next one, at the
 * latest one interval later, says everything again. One request at a time, in
 * order. */

/* The signed text starts with a line no token payload can hold (tokens sign
 * base64url text, without newlines): a report signature is never a token's. */
#define SIGNED_PREFIX "tether-node-report\n"

typedef struct
{
  char *user_id;
  char *room_id;
} Entry;

typedef struct
{
  char *stream_id;
  char *user_id;
  char *reason;
} Removed;

struct _TetherNodeReporter
{
  TetherRelay  *relay;
  char         *node_id;
  char         *url;
  char         *secret;
  GMainContext *context;
  SoupSession  *session;
  GCancellable *cancellable;
  GHashTable   *streams;      /* stream id → Entry: publishers whose media started */
  GPtrArray    *removed;      /* Removed, not yet taken by the room service */
  guint         removed_sent; /* how many of them the request in flight carries */
  gboolean      in_flight;
  gboolean      dirty;        /* changed while a request was in flight */
  gboolean      failing;      /* the last request failed (logged once) */
  gint64        last_seq;
  GSource      *timer;
};

/**
 * tether_node_report_sign:
 * @app_secret: the app secret both the node and the room service hold
 * @body: the report, JSON text
 *
 * Returns: (transfer full): base64url HMAC-SHA-256 of "tether-node-report\n" + @body
 */
char *
tether_node_report_sign (const char *app_secret,
                         const char *body)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) app_secret,
                                      strlen (app_secret));
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_hmac_update (hmac, (const guchar *) SIGNED_PREFIX, -1);
  g_hmac_update (hmac, (const guchar *) body, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);

  return tether_base64url_encode (digest, digest_len);
}

static void
entry_free (Entry *e)
{
  g_free (e->user_id);
  g_free (e->room_id);
  g_free (e);
}

static void
removed_free (Removed *r)
{
  g_free (r->stream_id);
  g_free (r->user_id);
  g_free (r->reason);
  g_free (r);
}

static char *
build_report (TetherNodeReporter *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  GHashTableIter iter;
  const char *id;
  Entry *e;
  gint64 seq = MAX (g_get_real_time (), self->last_seq + 1);
  gboolean encryption = TRUE;

  self->last_seq = seq;
  g_object_get (self->relay, "srt-encryption", &encryption, NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, self->node_id);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "srt_encryption");
  json_builder_add_boolean_value (b, encryption);
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &e))
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, id);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, e->user_id);
      if (e->room_id != NULL)
        {
          json_builder_set_member_name (b, "room");
          json_builder_add_string_value (b, e->room_id);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "removed");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->removed->len; i++)
    {
      Removed *r = g_ptr_array_index (self->removed, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, r->stream_id);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, r->user_id);
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, r->reason);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  return tether_protocol_serialize (b);
}

static void send_report (TetherNodeReporter *self);

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  TetherNodeReporter *self;
  SoupMessage *msg;
  guint status;

  /* Freed: the reporter cancelled its requests and is gone. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  status = msg != NULL ? soup_message_get_status (msg) : 0;
  self->in_flight = FALSE;
  if (error == NULL && SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_ptr_array_remove_range (self->removed, 0, self->removed_sent);
      if (self->failing)
        g_message ("node report: the room service at %s takes reports again", self->url);
      self->failing = FALSE;
    }
  else if (!self->failing)
    {
      /* Once per failing streak; the timer tries again. */
      g_autofree char *refusal = tether_tls_refusal_message (msg, error);

      g_warning ("node report to %s failed: %s", self->url,
                 refusal != NULL ? refusal
                 : error != NULL ? error->message : soup_status_get_phrase (status));
      self->failing = TRUE;
    }
  if (self->dirty)
    send_report (self);
}

static void
send_report (TetherNodeReporter *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *json = NULL;
  g_autofree char *signature = NULL;
  gsize len;

  if (self->in_flight)
    {
      self->dirty = TRUE;
      return;
    }
  self->dirty = FALSE;
  json = build_report (self);
  signature = tether_node_report_sign (self->secret, json);
  msg = soup_message_new ("POST", self->url);
  tether_tls_watch_certificate (msg);
  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                TETHER_NODE_REPORT_SIGNATURE, signature);
  /* The public port closes a connection that is not a WebSocket after request-timeout
   * and bounds what one reads: a fresh connection per report, never a stale one. */
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Connection", "close");
  len = strlen (json);
  body = g_bytes_new_take (g_steal_pointer (&json), len);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  self->removed_sent = self->removed->len;
  self->in_flight = TRUE;
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    sent_cb, self);
}

static gboolean
timer_cb (gpointer data)
{
  send_report (data);
  return G_SOURCE_CONTINUE;
}

static void
media_started_cb (TetherRelay        *relay,
                  const char         *stream_id,
                  const char         *user_id,
                  const char         *room_id,
                  TetherNodeReporter *self)
{
  Entry *e = g_new0 (Entry, 1);

  e->user_id = g_strdup (user_id);
  e->room_id = g_strdup (room_id);
  g_hash_table_replace (self->streams, g_strdup (stream_id), e);
  send_report (self);
}

static void
publisher_removed_cb (TetherRelay        *relay,
                      const char         *stream_id,
                      const char         *user_id,
                      const char         *reason,
                      TetherNodeReporter *self)
{
  Entry *e = g_hash_table_lookup (self->streams, stream_id);
  Removed *r;

  if (e == NULL || g_strcmp0 (e->user_id, user_id) != 0)
    return;
  g_hash_table_remove (self->streams, stream_id);
  r = g_new0 (Removed, 1);
  r->stream_id = g_strdup (stream_id);
  r->user_id = g_strdup (user_id);
  r->reason = g_strdup (reason);
  g_ptr_array_add (self->removed, r);
  send_report (self);
}

/**
 * tether_node_reporter_new:
 * @relay: the media node
 * @node_id: its id in the room service's media-node directory
 * @room_service_url: the room service, `http://HOST:PORT` or `https://HOST:PORT`
 *   (a trailing `/ws` is ignored)
 * @app_secret: the app secret, which signs the reports (never sent)
 * @tls_database: (nullable): the authorities an `https://` room service's certificate
 *   is verified against (`--room-service-ca`); %NULL for the system's
 *
 * Reports @relay's publishers to the room service at once on every change and every
 * %TETHER_NODE_REPORT_INTERVAL_S seconds, on the thread-default main context.
 *
 * Returns: (transfer full): the reporter
 */
TetherNodeReporter *
tether_node_reporter_new (TetherRelay  *relay,
                          const char   *node_id,
                          const char   *room_service_url,
                          const char   *app_secret,
                          GTlsDatabase *tls_database)
{
  TetherNodeReporter *self = g_new0 (TetherNodeReporter, 1);
  g_autofree char *base = g_strdup (room_service_url);

  if (g_str_has_suffix (base, "/ws"))
    base[strlen (base) - 3] = '\0';
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';

  self->relay = g_object_ref (relay);
  self->node_id = g_strdup (node_id);
  self->url = g_strconcat (base, TETHER_NODE_REPORT_PATH, NULL);
  self->secret = g_strdup (app_secret);
  self->context = g_main_context_ref_thread_default ();
  self->session = soup_session_new_with_options ("timeout", TETHER_NODE_REPORT_INTERVAL_S, NULL);
  if (tls_database != NULL)
    soup_session_set_tls_database (self->session, tls_database);
  self->cancellable = g_cancellable_new ();
  self->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  self->removed = g_ptr_array_new_with_free_func ((GDestroyNotify) removed_free);

  g_signal_connect (relay, "media-started", G_CALLBACK (media_started_cb), self);
  g_signal_connect (relay, "publisher-removed", G_CALLBACK (publisher_removed_cb), self);

  self->timer = g_timeout_source_new_seconds (TETHER_NODE_REPORT_INTERVAL_S);
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_static_name (self->timer, "[tether] node report");
  g_source_attach (self->timer, self->context);
  send_report (self);

  return self;
}

void
tether_node_reporter_free (TetherNodeReporter *self)
{
  g_signal_handlers_disconnect_by_data (self->relay, self);
  g_source_destroy (self->timer);
  g_source_unref (self->timer);
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  g_object_unref (self->session);
  g_object_unref (self->relay);
  g_main_context_unref (self->context);
  g_hash_table_unref (self->streams);
  g_ptr_array_unref (self->removed);
  if (self->secret != NULL)
    memset (self->secret, 0, strlen (self->secret));
  g_free (self->secret);
  g_free (self->url);
  g_free (self->node_id);
  g_free (self);
}
