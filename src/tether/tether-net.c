/* tether-net.c: libtether's network thread, and each engine's SoupSession on it
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-net-private.h"

/*
 * One thread per process ("tether-net") iterates a GMainContext of its own for
 * good, started by the first engine. Nothing but the rooms' sockets runs there
 * (tether-room-socket.c): connecting, reading frames, heartbeats and the dead-link
 * timer. Work crosses between that thread and an owner's context only as
 * _tether_net_post() callbacks, in the order they were posted.
 */

struct _TetherNet
{
  int ref_count;            /* atomic; g_atomic_int_*() so ThreadSanitizer sees them */

  /* network thread only */
  SoupSession *session;
  GTlsDatabase *tls_database;  /* NULL: the system's */
};

static gpointer
net_thread (gpointer data)
{
  GMainContext *context = data;

  g_main_context_push_thread_default (context);
  for (;;)
    g_main_context_iteration (context, TRUE);
  return NULL;
}

/* The network thread's context, started at the first call. */
GMainContext *
_tether_net_get_context (void)
{
  static GMainContext *context;

  if (g_once_init_enter (&context))
    {
      GMainContext *c = g_main_context_new ();

      g_thread_unref (g_thread_new ("tether-net", net_thread, g_main_context_ref (c)));
      g_once_init_leave (&context, c);
    }
  return context;
}

/* Runs @func (@data) once on @context's thread, after what was posted there before.
 * Unlike g_main_context_invoke() it never runs @func in the caller's thread. */
void
_tether_net_post (GMainContext   *context,
                  GSourceFunc     func,
                  gpointer        data,
                  GDestroyNotify  destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_attach (source, context);
  g_source_unref (source);
}

TetherNet *
_tether_net_new (void)
{
  TetherNet *net = g_new0 (TetherNet, 1);

  net->ref_count = 1;
  _tether_net_get_context ();
  return net;
}

TetherNet *
_tether_net_ref (TetherNet *net)
{
  g_atomic_int_inc (&net->ref_count);
  return net;
}

static gboolean
free_cb (gpointer data)
{
  TetherNet *net = data;

  g_clear_object (&net->session);
  g_clear_object (&net->tls_database);
  g_free (net);
  return G_SOURCE_REMOVE;
}

/* From any thread; the session is let go on the network thread. */
void
_tether_net_unref (TetherNet *net)
{
  if (g_atomic_int_dec_and_test (&net->ref_count))
    _tether_net_post (_tether_net_get_context (), free_cb, net, NULL);
}

typedef struct
{
  TetherNet *net;
  GTlsDatabase *database;
} SetDatabase;

static void
set_database_free (gpointer data)
{
  SetDatabase *s = data;

  _tether_net_unref (s->net);
  g_clear_object (&s->database);
  g_free (s);
}

static gboolean
set_database_cb (gpointer data)
{
  SetDatabase *s = data;

  g_set_object (&s->net->tls_database, s->database);
  if (s->net->session != NULL)
    soup_session_set_tls_database (s->net->session, s->database);
  return G_SOURCE_REMOVE;
}

/* From the engine's thread: connections started after this verify servers against
 * @database (connects posted later run after it). */
void
_tether_net_set_tls_database (TetherNet    *net,
                              GTlsDatabase *database)
{
  SetDatabase *s = g_new0 (SetDatabase, 1);

  s->net = _tether_net_ref (net);
  s->database = database != NULL ? g_object_ref (database) : NULL;
  _tether_net_post (_tether_net_get_context (), set_database_cb, s, set_database_free);
}

/* On the network thread: the session, made there at the first connection so that
 * its own context is the network thread's. */
SoupSession *
_tether_net_get_session (TetherNet *net)
{
  g_assert (g_main_context_is_owner (_tether_net_get_context ()));

  if (net->session == NULL)
    {
      /* Many rooms (or a benchmark's many clients) must not queue behind libsoup's
       * per-host connection limit: each WebSocket holds its connection for good. */
      net->session = g_object_new (SOUP_TYPE_SESSION,
                                   "max-conns", 65536,
                                   "max-conns-per-host", 65536,
                                   "user-agent", "Tether/" PACKAGE_VERSION,
                                   NULL);
      if (net->tls_database != NULL)
        soup_session_set_tls_database (net->session, net->tls_database);
    }
  return net->session;
}
