/* tether-server-http.c: the operators' endpoints on the admin address — /healthz
 * and /metrics (Prometheus text)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-server-private.h"
#include "tether-metrics.h"

static gboolean
is_get (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);

  if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD)
    return TRUE;
  soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
  return FALSE;
}

static void
healthz_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  static const char ok[] = "ok\n";

  if (!is_get (msg))
    return;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, ok, strlen (ok));
}

static void
metrics_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  TetherServer *self = user_data;
  char *text;

  if (!is_get (msg))
    return;
  text = tether_server_get_metrics_text (self);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE,
                                    text, strlen (text));
}

/* The room service's figures. */
static void
room_service_metrics (TetherServer *self,
                      GString      *out)
{
  tether_metrics_append (out, "tether_sessions", "gauge", "Sessions present in a room.",
                 self->present.length);
  tether_metrics_append (out, "tether_resumable_sessions", "gauge",
                 "Sessions removed from their room but still resumable, and kick-out tombstones.",
                 self->retired.length);
  tether_metrics_append (out, "tether_rooms", "gauge", "Rooms with at least one present user.",
                 self->n_active_rooms);
  tether_metrics_append (out, "tether_streams", "gauge", "Live streams.", g_hash_table_size (self->streams));
  tether_metrics_append (out, "tether_connections", "gauge", "Open WebSocket connections.",
                 self->conns.length);
  tether_metrics_append (out, "tether_tcp_connections", "gauge",
                 "Accepted TCP connections, WebSocket or not, admin port included.",
                 g_hash_table_size (self->links));
  tether_metrics_append (out, "tether_refused_connections_total", "counter",
                 "Connections closed at accept: over the per-address cap.",
                 self->stats.refused_connections);
  tether_metrics_append (out, "tether_request_timeouts_total", "counter",
                 "Connections cut for not becoming a WebSocket within the request timeout.",
                 self->stats.request_timeouts);
  tether_metrics_append (out, "tether_accept_pauses_total", "counter",
                 "Times accepting paused because the process ran out of file descriptors.",
                 self->stats.accept_pauses);
  tether_metrics_append (out, "tether_slow_consumers_total", "counter",
                 "Connections dropped because their send queue was full.",
                 self->stats.slow_consumers);
  tether_metrics_append (out, "tether_logins_total", "counter", "Successful fresh logins.",
                 self->stats.logins);
  tether_metrics_append (out, "tether_login_failures_total", "counter", "Refused logins.",
                 self->stats.login_failures);
  tether_metrics_append (out, "tether_resumes_total", "counter",
                 "Sessions resumed while still in the room (invisible to others).",
                 self->stats.resumes);
  tether_metrics_append (out, "tether_rejoins_total", "counter",
                 "Resumes that came back after the heartbeat timeout.", self->stats.rejoins);
  tether_metrics_append (out, "tether_heartbeat_timeouts_total", "counter",
                 "Users removed for silence.", self->stats.heartbeat_timeouts);
  tether_metrics_append (out, "tether_kicks_total", "counter",
                 "Sessions kicked out (duplicate login, expired token).", self->stats.kicks);
  tether_metrics_append (out, "tether_rejected_inputs_total", "counter",
                 "Connections closed for bad input.", self->stats.rejected_inputs);
  tether_metrics_append (out, "tether_events_total", "counter", "Room events published.",
                 self->stats.events);
  tether_metrics_append (out, "tether_guest_tokens_total", "counter",
                 "Guest tokens issued by POST /v1/guest-token, renewals included.",
                 self->stats.guest_tokens);
}

/**
 * tether_server_get_metrics_text:
 *
 * Returns: (transfer full): the metrics in Prometheus text format
 */
char *
tether_server_get_metrics_text (TetherServer *self)
{
  GString *out = g_string_sized_new (2048);

  g_return_val_if_fail (TETHER_IS_SERVER (self), NULL);

  /* A media-only node of a cluster (tether_server_join_cluster_media_only()) has no
   * room service: its cluster and media figures only. */
  if (!self->media_only)
    room_service_metrics (self, out);
  tether_server_cluster_metrics (self, out);
  for (guint i = 0; i < self->relays->len; i++)
    {
      g_autofree char *media = tether_relay_get_metrics_text (self->relays->pdata[i]);

      g_string_append (out, media);
    }

  return g_string_free (out, FALSE);
}

/* Installs /healthz and /metrics on @admin: the public port answers /ws and
 * /v1/guest-token only. */
void
tether_server_http_add_handlers (TetherServer *self,
                                 SoupServer   *admin)
{
  soup_server_add_handler (admin, "/healthz", healthz_cb, self, NULL);
  soup_server_add_handler (admin, "/metrics", metrics_cb, self, NULL);
}
