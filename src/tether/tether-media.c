/* tether-media.c: libsrt for the process (tether_media_init), and what TetherPublisher
 * and TetherPlayer share: node lists, element choice, reject codes, extended data,
 * timers and bus watches on the owner's context
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "tether-media-private.h"
#include "tether-timeout-private.h"

static char *srt_startup_error;  /* set once, by the first tether_media_init() */

static void
media_atexit (void)
{
  srt_cleanup ();
}

/**
 * tether_media_init:
 * @error: return location for a #GError
 *
 * Makes libsrt ready for the whole process; libtether is its one owner. The first
 * call starts libsrt, later calls (from any thread) only return that call's result.
 * libsrt then stays up for the life of the process — libsrt 1.5 crashes at exit once
 * it was cleaned up and started again, which per-user startup and cleanup did for each
 * player attempt and each demo session — and an atexit() handler shuts it down once,
 * when main() returns or exit() is called (libsrt counts startups, so code that pairs
 * its own srt_startup() and srt_cleanup() stays balanced).
 *
 * Publishers and players call it themselves. Call it before using libsrt directly in
 * the same process: the app at start-up, a media node (TetherRelay) before it listens.
 *
 * Returns: %TRUE when libsrt is ready
 */
gboolean
tether_media_init (GError **error)
{
  static gsize done;

  if (g_once_init_enter (&done))
    {
      if (srt_startup () < 0)
        srt_startup_error = g_strdup (srt_getlasterror_str ());
      else
        atexit (media_atexit);
      g_once_init_leave (&done, 1);
    }
  if (srt_startup_error != NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MEDIA_PIPELINE,
                   "libsrt does not start: %s", srt_startup_error);
      return FALSE;
    }
  return TRUE;
}

/* Splits `srt://host:port[?…]` into its host and port. */
gboolean
tether_media_parse_srt_url (const char  *url,
                            char       **host,
                            guint16     *port,
                            GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "srt") != 0
      || g_uri_get_host (uri) == NULL || g_uri_get_port (uri) <= 0 || g_uri_get_port (uri) > 65535)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MEDIA_NODE_UNREACHABLE,
                   "media node URL “%s” is not srt://host:port", url ? url : "");
      return FALSE;
    }
  *host = g_strdup (g_uri_get_host (uri));
  *port = (guint16) g_uri_get_port (uri);
  return TRUE;
}

/* The room's media nodes, @first (when known) leading, then the rest in order. */
GStrv
tether_media_node_order (TetherRoom *room,
                         const char *first)
{
  g_auto(GStrv) ids = tether_room_dup_media_node_ids (room);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  if (first != NULL && *first != '\0' && g_strv_contains ((const char * const *) ids, first))
    g_strv_builder_add (b, first);
  for (guint i = 0; ids[i] != NULL; i++)
    if (g_strcmp0 (ids[i], first) != 0)
      g_strv_builder_add (b, ids[i]);
  return g_strv_builder_end (b);
}

gboolean
tether_media_element_exists (const char *factory)
{
  g_autoptr(GstElementFactory) f = gst_element_factory_find (factory);

  return f != NULL;
}

/* The first of @factories that is installed, or NULL. */
const char *
tether_media_pick_element (const char * const *factories)
{
  for (guint i = 0; factories[i] != NULL; i++)
    if (tether_media_element_exists (factories[i]))
      return factories[i];
  return NULL;
}

/* Whether an SRT reject reason is final: retrying cannot help. */
gboolean
tether_media_reject_is_steady (int reject)
{
  return reject == SRT_REJX_UNAUTHORIZED || reject == SRT_REJX_FORBIDDEN
         || reject == SRT_REJX_CONFLICT || reject == SRT_REJX_BAD_REQUEST
         || reject == SRT_REJX_BAD_MODE;
}

/* Whether libsrt refused the connection's encryption: a passphrase that is not the
 * node's (SRT_REJ_BADSECRET), or one side with a passphrase and the other without
 * (SRT_REJ_UNSECURE). Final too: the same passphrase would be refused again. */
gboolean
tether_media_reject_is_encryption (int reject)
{
  return reject == SRT_REJ_BADSECRET || reject == SRT_REJ_UNSECURE;
}

/* `{"stream_id": …, "node": …, "attempt": …, "reject": …, "message": …}` */
char *
tether_media_extended_data (const char *stream_id,
                            const char *node,
                            guint       attempt,
                            int         reject,
                            const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "stream_id");
  json_builder_add_string_value (b, stream_id);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, node ? node : "");
  json_builder_set_member_name (b, "attempt");
  json_builder_add_int_value (b, attempt);
  if (reject != 0)
    {
      json_builder_set_member_name (b, "reject");
      json_builder_add_int_value (b, reject);
    }
  if (message != NULL)
    {
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, message);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* A random delay in [min, max] seconds. */
double
tether_media_jitter (double min,
                     double max)
{
  if (max < min)
    max = min;
  return g_random_double_range (min, max + 1e-9);
}

/* Timers live on the owner's context, not the global default one: a GSource that
 * the owner keeps and destroys, since g_source_remove() only knows the default. */
GSource *
tether_media_timeout_source (GMainContext *context,
                             double        seconds,
                             GSourceFunc   func,
                             gpointer      data)
{
  GSource *source = tether_timeout_source_new (seconds);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, context);
  return source;
}

void
tether_media_clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* A watch on @pipeline's bus, dispatched on @context. */
GSource *
tether_media_bus_source (GstElement   *pipeline,
                         GMainContext *context,
                         GstBusFunc    func,
                         gpointer      data)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);
  GSource *source = gst_bus_create_watch (bus);

  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) func, data, NULL);
  g_source_attach (source, context);
  return source;
}
