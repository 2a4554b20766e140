/* tether-guard-stream.c: TetherGuardStream — counts the bytes read from and written to
 * an accepted connection, and refuses to read past an input budget
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <libsoup/soup.h>

#include "tether-guard-stream.h"

/*
 * libsoup 3.2 bounds each WebSocket frame but not a message made of continuation
 * frames, nor what it queues for a peer that does not read. Both sit behind libsoup's
 * private buffers, so the room service watches the one thing it can see: the bytes
 * crossing the connection. Reads past the budget (bytes since the last renewal, which
 * the server does on every complete message) fail with a WebSocket "too big" error;
 * the count of bytes written lets the server tell how much of what it sent is still
 * queued.
 *
 * The counters live in a small shared box, so the filter streams never point at a
 * guard that is gone.
 */

/*
 * Readiness (issue 13). One GLib main context that polls every connection's fd and
 * walks every connection's GSources on each wake-up costs O(connections) per
 * heartbeat: with 1,000 sessions heartbeating once a second that was ~90 % of a core.
 * So a watched guard (tether_guard_stream_watch()) does not hand GLib its fd: the
 * sources its streams create have no fd at all and become ready when the poller's
 * single epoll set says the socket is readable or writable. And libsoup's sources
 * for the connection do not live on the server's context: they live on one of
 * up to SHARDS small contexts (one per CONNS_PER_SHARD connections), which the
 * poller iterates only when one of their connections has something to do. A
 * heartbeat therefore costs one epoll event and one iteration of a context holding
 * a few dozen connections, whatever the total; libsoup still does all the WebSocket
 * work.
 */

typedef struct _Watch Watch;

typedef struct
{
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 mark;         /* bytes_in at the last renewal */
  guint64 budget;       /* 0: unlimited */
  Watch  *watch;        /* NULL: GLib polls the base stream's own sources */
} Counters;

static void watch_detach (Watch *watch);
static void watch_free (Watch *watch);

static void
counters_clear (gpointer data)
{
  Counters *c = data;

  g_clear_pointer (&c->watch, watch_free);
}

static void
counters_release (Counters *c)
{
  g_atomic_rc_box_release_full (c, counters_clear);
}

/* The poller and its sources */

#define SHARDS 256         /* at most; one per CONNS_PER_SHARD connections */
#define CONNS_PER_SHARD 16
#define TICK_MS 1000       /* a safety net: timers libsoup may put on a shard */
#define MAX_EVENTS 256

struct _TetherGuardPoller
{
  GMainContext *home;
  int           epfd;
  GSource      *source;           /* the epoll fd, on @home */
  GSource      *tick;
  GHashTable   *watches;          /* id → Watch* */
  guint64       next_id;
  GMainContext *shards[SHARDS];   /* made as the connections come */
  guint         n_shards;
  gboolean      dirty[SHARDS];
  guint         dirty_list[SHARDS];
  guint         n_dirty;
  guint         next_shard;
};

struct _Watch
{
  TetherGuardPoller *poller;     /* a reference (rc box) */
  guint64  id;
  int      fd;
  guint    shard;
  guint32  mask;                 /* events registered with epoll */
  gboolean registered;
  GSList  *in;                   /* GuardSource*, not references */
  GSList  *out;

  /* Where libsoup is in the client's frames (see "Heartbeats" below). */
  guint8   trk_state;            /* TRK_HTTP, TRK_FRAMES or TRK_OFF */
  guint8   trk_hdr_len;
  gboolean trk_fragmented;
  guint32  trk_tail;             /* the last 4 bytes of the request head */
  guint8   trk_hdr[14];
  guint64  trk_left;             /* payload bytes of the current frame */
  TetherGuardMessageHook hook;
  gpointer hook_data;
  GByteArray *pending;           /* the rest of a direct send, before anything else */
  Counters *counters;            /* not a reference: it holds the watch */
};

enum { TRK_HTTP, TRK_FRAMES, TRK_OFF };

typedef struct
{
  GSource  source;
  GObject *stream;               /* a reference: what the callback gets */
  Watch   *watch;                /* lives as long as @stream's counters */
  gboolean output;
  gboolean ready;
} GuardSource;

static void
watch_update (Watch *w)
{
  guint32 mask = (w->in != NULL ? EPOLLIN | EPOLLRDHUP : 0)
                 | (w->out != NULL || w->pending != NULL ? EPOLLOUT : 0);
  struct epoll_event ev = { .events = mask, .data.u64 = w->id };

  if (w->poller == NULL || (mask == w->mask && (mask != 0) == w->registered))
    return;
  if (mask == 0)
    {
      /* Hang-ups are reported whatever the mask: leave the set instead. */
      if (w->registered)
        epoll_ctl (w->poller->epfd, EPOLL_CTL_DEL, w->fd, NULL);
      w->registered = FALSE;
    }
  else if (epoll_ctl (w->poller->epfd, w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) == 0)
    w->registered = TRUE;
  else
    g_debug ("guard: epoll_ctl on fd %d: %s", w->fd, g_strerror (errno));
  w->mask = mask;
}

static void poller_unref (TetherGuardPoller *poller);

/* Before the fd is closed: epoll keys on the fd number, which the next accept reuses. */
static void
watch_detach (Watch *w)
{
  if (w->poller == NULL)
    return;
  if (w->registered)
    epoll_ctl (w->poller->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->registered = FALSE;
  g_hash_table_remove (w->poller->watches, &w->id);
  g_clear_pointer (&w->poller, poller_unref);
}

static void
watch_free (Watch *w)
{
  watch_detach (w);
  g_clear_pointer (&w->pending, g_byte_array_unref);
  /* Sources still alive hold the stream, hence the counters: none are left here. */
  g_free (w);
}

static gboolean
guard_source_prepare (GSource *source,
                      gint    *timeout)
{
  *timeout = -1;
  return ((GuardSource *) source)->ready;
}

static gboolean
guard_source_check (GSource *source)
{
  return ((GuardSource *) source)->ready;
}

static gboolean
guard_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  GuardSource *gs = (GuardSource *) source;

  gs->ready = FALSE;
  if (callback == NULL)
    return G_SOURCE_CONTINUE;
  return ((GPollableSourceFunc) (void (*) (void)) callback) (gs->stream, user_data);
}

static void
guard_source_finalize (GSource *source)
{
  GuardSource *gs = (GuardSource *) source;
  Watch *w = gs->watch;

  if (gs->output)
    w->out = g_slist_remove (w->out, gs);
  else
    w->in = g_slist_remove (w->in, gs);
  /* Dropping the last interest leaves the epoll set lazily (on the next event),
   * so the usual stop-and-restart of libsoup's input source costs no syscall. */
  g_clear_object (&gs->stream);
}

/* For g_source_set_closure() and g_source_set_dummy_callback(), which libsoup uses on
 * a child source: as GIO's own pollable sources do. */
static gboolean
guard_source_closure_callback (GObject  *stream,
                               gpointer  data)
{
  GClosure *closure = data;
  GValue param = G_VALUE_INIT;
  GValue result_value = G_VALUE_INIT;
  gboolean result;

  g_value_init (&result_value, G_TYPE_BOOLEAN);
  g_value_init (&param, G_TYPE_OBJECT);
  g_value_set_object (&param, stream);
  g_closure_invoke (closure, &result_value, 1, &param, NULL);
  result = g_value_get_boolean (&result_value);
  g_value_unset (&result_value);
  g_value_unset (&param);
  return result;
}

static GSourceFuncs guard_source_funcs = {
  .prepare = guard_source_prepare,
  .check = guard_source_check,
  .dispatch = guard_source_dispatch,
  .finalize = guard_source_finalize,
  .closure_callback = (GSourceFunc) (void (*) (void)) guard_source_closure_callback,
  .closure_marshal = (GSourceDummyMarshal) g_cclosure_marshal_generic,
};

static GSource *
guard_source_new (GObject      *stream,
                  Watch        *w,
                  gboolean      output,
                  GCancellable *cancellable)
{
  GSource *source = g_source_new (&guard_source_funcs, sizeof (GuardSource));
  GuardSource *gs = (GuardSource *) source;

  g_source_set_static_name (source, output ? "[tether] guard output" : "[tether] guard input");
  gs->stream = g_object_ref (stream);
  gs->watch = w;
  gs->output = output;
  if (output)
    w->out = g_slist_prepend (w->out, gs);
  else
    w->in = g_slist_prepend (w->in, gs);
  watch_update (w);
  if (cancellable != NULL)
    {
      GSource *cancel = g_cancellable_source_new (cancellable);

      g_source_set_dummy_callback (cancel);
      g_source_add_child_source (source, cancel);
      g_source_unref (cancel);
    }
  return source;
}

/* Heartbeats.
 *
 * Even on a small shard, libsoup's way through one heartbeat (stop and remake its
 * source, two reads, a frame, a signal through a generic marshaller) was most of an
 * idle session's cost. So the poller answers the common case itself: when the socket
 * holds exactly one small, masked, final text frame, libsoup holds no partial frame,
 * and the server's hook takes the payload (a heartbeat), the frame is read and
 * answered without waking libsoup. Anything else (another message, two frames, a
 * partial one, a control frame) goes to libsoup untouched.
 *
 * "libsoup holds no partial frame" is known by following the client's bytes as
 * libsoup reads them: the request head up to its blank line, then frame headers and
 * payload lengths. A header that is not a valid client frame (RSV bits, which every
 * HTTP method's first letter has; no mask; a bad opcode or fragment) switches the
 * following off for good, and libsoup deals with the connection as before. */

static void
trk_header_done (Watch *w)
{
  guint8 b0 = w->trk_hdr[0], b1 = w->trk_hdr[1];
  guint op = b0 & 0x0f, len7 = b1 & 0x7f;
  gboolean fin = (b0 & 0x80) != 0;
  guint64 len = len7;

  if (len7 == 126)
    len = ((guint64) w->trk_hdr[2] << 8) | w->trk_hdr[3];
  else if (len7 == 127)
    {
      len = 0;
      for (guint i = 0; i < 8; i++)
        len = (len << 8) | w->trk_hdr[2 + i];
    }
  w->trk_hdr_len = 0;
  w->trk_left = len;
  if (op >= 8)
    {
      if (!fin || len > 125 || (op != 8 && op != 9 && op != 10))
        w->trk_state = TRK_OFF;
      return;
    }
  if (op > 2 || (op == 0) != w->trk_fragmented)
    {
      w->trk_state = TRK_OFF;
      return;
    }
  w->trk_fragmented = !fin;
}

/* The header's size once its second byte is known. */
static guint
trk_header_size (const guint8 *hdr)
{
  guint len7 = hdr[1] & 0x7f;

  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

static void
trk_feed (Watch        *w,
          const guint8 *data,
          gsize         n)
{
  gsize i = 0;

  while (i < n && w->trk_state != TRK_OFF)
    {
      if (w->trk_state == TRK_HTTP)
        {
          w->trk_tail = (w->trk_tail << 8) | data[i++];
          if (w->trk_tail == 0x0d0a0d0a)
            w->trk_state = TRK_FRAMES;
          continue;
        }
      if (w->trk_left > 0)
        {
          gsize take = (gsize) MIN ((guint64) (n - i), w->trk_left);

          w->trk_left -= take;
          i += take;
          continue;
        }
      w->trk_hdr[w->trk_hdr_len++] = data[i++];
      if (w->trk_hdr_len == 1 && (w->trk_hdr[0] & 0x70) != 0)
        w->trk_state = TRK_OFF;
      else if (w->trk_hdr_len == 2 && (w->trk_hdr[1] & 0x80) == 0)
        w->trk_state = TRK_OFF;
      else if (w->trk_hdr_len >= 2 && w->trk_hdr_len == trk_header_size (w->trk_hdr))
        trk_header_done (w);
    }
}

static gboolean
trk_at_boundary (Watch *w)
{
  return w->trk_state == TRK_FRAMES && w->trk_hdr_len == 0 && w->trk_left == 0
         && !w->trk_fragmented;
}

/* TRUE when the one frame waiting was a heartbeat the hook answered. */
static gboolean
poller_try_hook (Watch *w)
{
  guint8 buf[6 + 125];
  char payload[126];
  gssize n;
  guint len;

  if (w->hook == NULL || w->in == NULL || !trk_at_boundary (w))
    return FALSE;
  n = recv (w->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n < 6 || buf[0] != 0x81 || (buf[1] & 0x80) == 0)
    return FALSE;
  len = buf[1] & 0x7f;
  if (len >= 126 || (gsize) n != 6 + len)
    return FALSE;
  for (guint i = 0; i < len; i++)
    payload[i] = (char) (buf[6 + i] ^ buf[2 + (i & 3)]);
  payload[len] = '\0';
  if (!w->hook (payload, len, w->hook_data))
    return FALSE;
  /* The hook answered: take the frame off the socket. */
  if (recv (w->fd, buf, (gsize) n, MSG_DONTWAIT) != n)
    w->trk_state = TRK_OFF;     /* cannot happen; libsoup reads from here on */
  if (w->counters != NULL)
    w->counters->bytes_in += (guint64) n;
  return TRUE;
}

/* Writes what is left of a direct send. Returns whether nothing is left; an error
 * drops the rest (libsoup meets the error on its own next read or write). */
static gboolean
watch_flush (Watch *w)
{
  gssize n;

  if (w->pending == NULL)
    return TRUE;
  n = send (w->fd, w->pending->data, w->pending->len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return FALSE;
  if (n > 0 && w->counters != NULL)
    w->counters->bytes_out += (guint64) n;
  if (n > 0 && (guint) n < w->pending->len)
    {
      g_byte_array_remove_range (w->pending, 0, (guint) n);
      return FALSE;
    }
  g_clear_pointer (&w->pending, g_byte_array_unref);
  return TRUE;
}

static void
poller_mark (TetherGuardPoller *poller,
             Watch             *w,
             GSList            *sources)
{
  for (GSList *l = sources; l != NULL; l = l->next)
    {
      GuardSource *gs = l->data;
      GMainContext *context = g_source_get_context (&gs->source);

      gs->ready = TRUE;
      if (context == poller->shards[w->shard] && !poller->dirty[w->shard])
        {
          poller->dirty[w->shard] = TRUE;
          poller->dirty_list[poller->n_dirty++] = w->shard;
        }
      /* On @home (a handshake in progress, a blocked send from the server's code)
       * GLib sees the flag in the iteration that follows this one. */
    }
}

/* libsoup works on the shard with the shard as the thread-default context, so the
 * sources it makes again after each read stay there. The shard has no fd worth a
 * poll() (its sources have none; its wakeup is never needed, nobody blocks on it),
 * so it runs prepare, check and dispatch without one. A second round lets what the
 * first started (an idle, a zero timeout) run at once. */
static void
poller_run_shard (TetherGuardPoller *poller,
                  guint              shard)
{
  GMainContext *context = poller->shards[shard];
  GPollFD fds[8];

  g_main_context_push_thread_default (context);
  for (guint round = 0; round < 2; round++)
    {
      gint priority, timeout, n;
      gboolean ready;

      g_main_context_prepare (context, &priority);
      n = g_main_context_query (context, priority, &timeout, fds, G_N_ELEMENTS (fds));
      for (gint i = 0; i < MIN (n, (gint) G_N_ELEMENTS (fds)); i++)
        fds[i].revents = 0;
      ready = g_main_context_check (context, priority, fds, MIN (n, (gint) G_N_ELEMENTS (fds)));
      if (!ready)
        break;
      g_main_context_dispatch (context);
    }
  g_main_context_pop_thread_default (context);
}

static gboolean
poller_dispatch_cb (gint         fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  TetherGuardPoller *poller = user_data;
  struct epoll_event events[MAX_EVENTS];
  int n;

  /* One batch per dispatch: level-triggered events stay reported until their shard
   * has run, and more than MAX_EVENTS make GLib dispatch us again at once. */
  n = epoll_wait (poller->epfd, events, MAX_EVENTS, 0);
  for (int i = 0; i < n; i++)
    {
      Watch *w = g_hash_table_lookup (poller->watches, &events[i].data.u64);
      guint32 ev = events[i].events;

      if (w == NULL)
        continue;
      if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0
          && !((ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0 && poller_try_hook (w)))
        poller_mark (poller, w, w->in);
      if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && watch_flush (w))
        poller_mark (poller, w, w->out);
      /* An event nobody waits for: stop asking for it. */
      watch_update (w);
    }

  for (guint i = 0; i < poller->n_dirty; i++)
    {
      guint shard = poller->dirty_list[i];

      poller->dirty[shard] = FALSE;
      poller_run_shard (poller, shard);
    }
  poller->n_dirty = 0;
  return G_SOURCE_CONTINUE;
}

static gboolean
poller_tick_cb (gpointer user_data)
{
  TetherGuardPoller *poller = user_data;

  for (guint i = 0; i < poller->n_shards; i++)
    poller_run_shard (poller, i);
  return G_SOURCE_CONTINUE;
}

static void
poller_clear (gpointer data)
{
  TetherGuardPoller *poller = data;

  for (guint i = 0; i < poller->n_shards; i++)
    g_main_context_unref (poller->shards[i]);
  g_hash_table_unref (poller->watches);
  close (poller->epfd);
}

static void
poller_unref (TetherGuardPoller *poller)
{
  g_atomic_rc_box_release_full (poller, poller_clear);
}

/**
 * tether_guard_poller_new:
 * @home: the context the server runs on
 *
 * Returns: (transfer full): a poller for the guards of one server, or %NULL when
 *   epoll is not available
 */
TetherGuardPoller *
tether_guard_poller_new (GMainContext *home)
{
  TetherGuardPoller *poller;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (epfd < 0)
    return NULL;
  poller = g_atomic_rc_box_new0 (TetherGuardPoller);
  poller->home = home;
  poller->epfd = epfd;
  poller->watches = g_hash_table_new (g_int64_hash, g_int64_equal);
  poller->source = g_unix_fd_source_new (epfd, G_IO_IN);
  g_source_set_static_name (poller->source, "[tether] guard poller");
  g_source_set_callback (poller->source, G_SOURCE_FUNC (poller_dispatch_cb), poller, NULL);
  /* A source that may not recurse has its fd taken out of the poll set and put back
   * around every dispatch, which writes to the context's wakeup fd twice. */
  g_source_set_can_recurse (poller->source, TRUE);
  g_source_attach (poller->source, home);
  poller->tick = g_timeout_source_new (TICK_MS);
  g_source_set_static_name (poller->tick, "[tether] guard poller tick");
  g_source_set_callback (poller->tick, poller_tick_cb, poller, NULL);
  g_source_attach (poller->tick, home);
  return poller;
}

/**
 * tether_guard_poller_free:
 *
 * Stops polling; guards still alive keep what they need until they go.
 */
void
tether_guard_poller_free (TetherGuardPoller *poller)
{
  if (poller == NULL)
    return;
  g_source_destroy (poller->source);
  g_clear_pointer (&poller->source, g_source_unref);
  g_source_destroy (poller->tick);
  g_clear_pointer (&poller->tick, g_source_unref);
  /* Dropping the shards destroys libsoup's sources on them: with nothing left to run
   * them, they would only keep their streams (and the watches holding the poller)
   * alive. */
  for (guint i = 0; i < poller->n_shards; i++)
    g_clear_pointer (&poller->shards[i], g_main_context_unref);
  poller->n_shards = 0;
  poller_unref (poller);
}

struct _TetherGuardStream
{
  GIOStream     parent_instance;

  GIOStream    *base;
  GInputStream *input;
  GOutputStream *output;
  Counters     *counters;
};

G_DEFINE_FINAL_TYPE (TetherGuardStream, tether_guard_stream, G_TYPE_IO_STREAM)

/* Input */

#define GUARD_TYPE_INPUT (guard_input_get_type ())
G_DECLARE_FINAL_TYPE (GuardInput, guard_input, GUARD, INPUT, GFilterInputStream)

struct _GuardInput
{
  GFilterInputStream parent_instance;
  Counters *counters;
};

static void guard_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GuardInput, guard_input, G_TYPE_FILTER_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      guard_input_pollable_init))

static GInputStream *
input_base (gpointer stream)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
}

/* Counts @n fresh bytes; refuses them when they go past the budget. */
static gssize
input_account (GuardInput  *self,
               const void  *buffer,
               gssize       n,
               GError     **error)
{
  Counters *c = self->counters;

  if (n <= 0)
    return n;
  c->bytes_in += (guint64) n;
  if (c->budget != 0 && c->bytes_in - c->mark > c->budget)
    {
      g_set_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                   "more than %" G_GUINT64_FORMAT " bytes without a complete message", c->budget);
      return -1;
    }
  if (c->watch != NULL && c->watch->trk_state != TRK_OFF)
    trk_feed (c->watch, buffer, (gsize) n);
  return n;
}

static gssize
guard_input_read (GInputStream  *stream,
                  void          *buffer,
                  gsize          count,
                  GCancellable  *cancellable,
                  GError       **error)
{
  gssize n = g_input_stream_read (input_base (stream), buffer, count, cancellable, error);

  return input_account (GUARD_INPUT (stream), buffer, n, error);
}

static gboolean
guard_input_can_poll (GPollableInputStream *stream)
{
  GInputStream *base = input_base (stream);

  return G_IS_POLLABLE_INPUT_STREAM (base)
         && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (base));
}

static gboolean
guard_input_is_readable (GPollableInputStream *stream)
{
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (input_base (stream)));
}

static GSource *
guard_input_create_source (GPollableInputStream *stream,
                           GCancellable         *cancellable)
{
  Watch *w = GUARD_INPUT (stream)->counters->watch;
  g_autoptr(GSource) base_source = NULL;

  if (w != NULL && w->poller != NULL)
    return guard_source_new (G_OBJECT (stream), w, FALSE, cancellable);
  base_source =
    g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input_base (stream)), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
guard_input_read_nonblocking (GPollableInputStream  *stream,
                              void                  *buffer,
                              gsize                  count,
                              GError               **error)
{
  gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (input_base (stream)),
                                                       buffer, count, NULL, error);

  return input_account (GUARD_INPUT (stream), buffer, n, error);
}

static void
guard_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = guard_input_can_poll;
  iface->is_readable = guard_input_is_readable;
  iface->create_source = guard_input_create_source;
  iface->read_nonblocking = guard_input_read_nonblocking;
}

static void
guard_input_finalize (GObject *object)
{
  counters_release (GUARD_INPUT (object)->counters);
  G_OBJECT_CLASS (guard_input_parent_class)->finalize (object);
}

static void
guard_input_class_init (GuardInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = guard_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = guard_input_read;
}

static void
guard_input_init (GuardInput *self)
{
}

/* Output */

#define GUARD_TYPE_OUTPUT (guard_output_get_type ())
G_DECLARE_FINAL_TYPE (GuardOutput, guard_output, GUARD, OUTPUT, GFilterOutputStream)

struct _GuardOutput
{
  GFilterOutputStream parent_instance;
  Counters *counters;
};

static void guard_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GuardOutput, guard_output, G_TYPE_FILTER_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      guard_output_pollable_init))

static GOutputStream *
output_base (gpointer stream)
{
  return g_filter_output_stream_get_base_stream (G_FILTER_OUTPUT_STREAM (stream));
}

static gssize
output_account (GuardOutput *self,
                gssize       n)
{
  if (n > 0)
    self->counters->bytes_out += (guint64) n;
  return n;
}

static gssize
guard_output_write (GOutputStream  *stream,
                    const void     *buffer,
                    gsize           count,
                    GCancellable   *cancellable,
                    GError        **error)
{
  Watch *w = GUARD_OUTPUT (stream)->counters->watch;

  /* Blocking: the rest of a direct send goes first, whatever it takes. */
  if (w != NULL && w->pending != NULL)
    {
      g_autoptr(GByteArray) rest = g_steal_pointer (&w->pending);
      gsize written = 0;

      if (!g_output_stream_write_all (output_base (stream), rest->data, rest->len, &written,
                                      cancellable, error))
        return -1;
      output_account (GUARD_OUTPUT (stream), (gssize) written);
    }
  return output_account (GUARD_OUTPUT (stream),
                         g_output_stream_write (output_base (stream), buffer, count, cancellable, error));
}

static gboolean
guard_output_flush (GOutputStream  *stream,
                    GCancellable   *cancellable,
                    GError        **error)
{
  return g_output_stream_flush (output_base (stream), cancellable, error);
}

static gboolean
guard_output_can_poll (GPollableOutputStream *stream)
{
  GOutputStream *base = output_base (stream);

  return G_IS_POLLABLE_OUTPUT_STREAM (base)
         && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (base));
}

static gboolean
guard_output_is_writable (GPollableOutputStream *stream)
{
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (output_base (stream)));
}

static GSource *
guard_output_create_source (GPollableOutputStream *stream,
                            GCancellable          *cancellable)
{
  Watch *w = GUARD_OUTPUT (stream)->counters->watch;
  g_autoptr(GSource) base_source = NULL;

  if (w != NULL && w->poller != NULL)
    return guard_source_new (G_OBJECT (stream), w, TRUE, cancellable);
  base_source =
    g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (output_base (stream)), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
guard_output_write_nonblocking (GPollableOutputStream  *stream,
                                const void             *buffer,
                                gsize                   count,
                                GError                **error)
{
  GPollableOutputStream *base = G_POLLABLE_OUTPUT_STREAM (output_base (stream));
  Watch *w = GUARD_OUTPUT (stream)->counters->watch;

  if (w != NULL && !watch_flush (w))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "a direct send is still queued");
      return -1;
    }
  return output_account (GUARD_OUTPUT (stream),
                         g_pollable_output_stream_write_nonblocking (base, buffer, count, NULL, error));
}

static void
guard_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = guard_output_can_poll;
  iface->is_writable = guard_output_is_writable;
  iface->create_source = guard_output_create_source;
  iface->write_nonblocking = guard_output_write_nonblocking;
}

static void
guard_output_finalize (GObject *object)
{
  counters_release (GUARD_OUTPUT (object)->counters);
  G_OBJECT_CLASS (guard_output_parent_class)->finalize (object);
}

static void
guard_output_class_init (GuardOutputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = guard_output_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = guard_output_write;
  G_OUTPUT_STREAM_CLASS (klass)->flush = guard_output_flush;
}

static void
guard_output_init (GuardOutput *self)
{
}

/* The stream */

static GInputStream *
tether_guard_stream_get_input_stream (GIOStream *stream)
{
  return TETHER_GUARD_STREAM (stream)->input;
}

static GOutputStream *
tether_guard_stream_get_output_stream (GIOStream *stream)
{
  return TETHER_GUARD_STREAM (stream)->output;
}

/* Closing the guard closes the connection under it (GSocketConnection's own close
 * is synchronous and never blocks on a socket). */
static gboolean
tether_guard_stream_close_fn (GIOStream     *stream,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TetherGuardStream *self = TETHER_GUARD_STREAM (stream);

  if (self->counters->watch != NULL)
    watch_detach (self->counters->watch);
  return g_io_stream_close (self->base, cancellable, error);
}

/* GIOStream's default would run close_fn in a worker thread: never needed here. */
static void
tether_guard_stream_close_async (GIOStream           *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, tether_guard_stream_close_async);
  if (tether_guard_stream_close_fn (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
tether_guard_stream_close_finish (GIOStream     *stream,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
tether_guard_stream_finalize (GObject *object)
{
  TetherGuardStream *self = TETHER_GUARD_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  if (self->counters->watch != NULL)
    watch_detach (self->counters->watch);
  g_clear_object (&self->base);
  counters_release (self->counters);

  G_OBJECT_CLASS (tether_guard_stream_parent_class)->finalize (object);
}

static void
tether_guard_stream_class_init (TetherGuardStreamClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = tether_guard_stream_finalize;
  io_class->get_input_stream = tether_guard_stream_get_input_stream;
  io_class->get_output_stream = tether_guard_stream_get_output_stream;
  io_class->close_fn = tether_guard_stream_close_fn;
  io_class->close_async = tether_guard_stream_close_async;
  io_class->close_finish = tether_guard_stream_close_finish;
}

static void
tether_guard_stream_init (TetherGuardStream *self)
{
  self->counters = g_atomic_rc_box_new0 (Counters);
}

/**
 * tether_guard_stream_new:
 * @base: the accepted connection
 *
 * Returns: (transfer full): a stream reading and writing through @base
 */
TetherGuardStream *
tether_guard_stream_new (GIOStream *base)
{
  TetherGuardStream *self;
  GuardInput *input;
  GuardOutput *output;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  self = g_object_new (TETHER_TYPE_GUARD_STREAM, NULL);
  self->base = g_object_ref (base);

  input = g_object_new (GUARD_TYPE_INPUT,
                        "base-stream", g_io_stream_get_input_stream (base),
                        "close-base-stream", FALSE,
                        NULL);
  input->counters = g_atomic_rc_box_acquire (self->counters);
  self->input = G_INPUT_STREAM (input);

  output = g_object_new (GUARD_TYPE_OUTPUT,
                         "base-stream", g_io_stream_get_output_stream (base),
                         "close-base-stream", FALSE,
                         NULL);
  output->counters = g_atomic_rc_box_acquire (self->counters);
  self->output = G_OUTPUT_STREAM (output);

  return self;
}

GIOStream *
tether_guard_stream_get_base (TetherGuardStream *self)
{
  g_return_val_if_fail (TETHER_IS_GUARD_STREAM (self), NULL);

  return self->base;
}

guint64
tether_guard_stream_get_bytes_in (TetherGuardStream *self)
{
  g_return_val_if_fail (TETHER_IS_GUARD_STREAM (self), 0);

  return self->counters->bytes_in;
}

guint64
tether_guard_stream_get_bytes_out (TetherGuardStream *self)
{
  g_return_val_if_fail (TETHER_IS_GUARD_STREAM (self), 0);

  return self->counters->bytes_out;
}

/**
 * tether_guard_stream_set_input_budget:
 * @budget: bytes that may be read after the next renewal, 0 for no limit
 *
 * Sets the budget and renews it at once.
 */
void
tether_guard_stream_set_input_budget (TetherGuardStream *self,
                                      guint64            budget)
{
  g_return_if_fail (TETHER_IS_GUARD_STREAM (self));

  self->counters->budget = budget;
  tether_guard_stream_renew_input_budget (self);
}

/**
 * tether_guard_stream_renew_input_budget:
 *
 * Starts counting the budget again from the bytes read so far.
 */
void
tether_guard_stream_renew_input_budget (TetherGuardStream *self)
{
  g_return_if_fail (TETHER_IS_GUARD_STREAM (self));

  self->counters->mark = self->counters->bytes_in;
}

/**
 * tether_guard_stream_watch:
 * @poller: the server's poller
 * @fd: the socket under @self
 *
 * From now on @self's sources wait on @poller's epoll set instead of GLib's poll.
 * Push the returned context as the thread-default while handing @self to libsoup:
 * that is where libsoup's sources for the connection go.
 *
 * Returns: (transfer none): the connection's shard context
 */
/* A new shard while there are more than CONNS_PER_SHARD connections per shard. A
 * context needs an eventfd for its wakeup and GLib aborts when it cannot make one, so
 * a probe checks first: out of descriptors, the connection shares a shard. */
static gint
poller_pick_shard (TetherGuardPoller *poller)
{
  guint wanted = CLAMP (g_hash_table_size (poller->watches) / CONNS_PER_SHARD + 1, 1, SHARDS);

  if (poller->n_shards < wanted)
    {
      int probe = eventfd (0, EFD_CLOEXEC);

      if (probe >= 0)
        {
          close (probe);
          poller->shards[poller->n_shards] = g_main_context_new ();
          return (gint) poller->n_shards++;
        }
    }
  if (poller->n_shards == 0)
    return -1;
  return (gint) (poller->next_shard++ % poller->n_shards);
}

/**
 * tether_guard_stream_watch:
 * @poller: the server's poller
 * @fd: the socket under @self
 *
 * From now on @self's sources wait on @poller's epoll set instead of GLib's poll.
 * Push the returned context as the thread-default while handing @self to libsoup:
 * that is where libsoup's sources for the connection go.
 *
 * Returns: (transfer none) (nullable): the connection's shard context, or %NULL when
 *   none could be made (out of descriptors): then @self is not watched
 */
GMainContext *
tether_guard_stream_watch (TetherGuardStream *self,
                           TetherGuardPoller *poller,
                           int                fd)
{
  Watch *w;
  gint shard;

  g_return_val_if_fail (TETHER_IS_GUARD_STREAM (self), NULL);
  g_return_val_if_fail (poller != NULL, NULL);
  g_return_val_if_fail (self->counters->watch == NULL, NULL);

  shard = poller_pick_shard (poller);
  if (shard < 0)
    return NULL;
  w = g_new0 (Watch, 1);
  w->poller = g_atomic_rc_box_acquire (poller);
  w->id = ++poller->next_id;
  w->fd = fd;
  w->shard = (guint) shard;
  w->counters = self->counters;
  g_hash_table_insert (poller->watches, &w->id, w);
  self->counters->watch = w;
  return poller->shards[w->shard];
}

/**
 * tether_guard_stream_set_message_hook:
 * @hook: (nullable): called with a lone small text message the poller read itself
 *   (with its own context as the thread-default); it returns %TRUE when it handled
 *   the message, %FALSE to leave it to libsoup
 *
 * Only a watched guard (tether_guard_stream_watch()) whose client has spoken
 * nothing but a request head without a body and valid client frames calls @hook.
 */
void
tether_guard_stream_set_message_hook (TetherGuardStream      *self,
                                      TetherGuardMessageHook  hook,
                                      gpointer                user_data)
{
  Watch *w;

  g_return_if_fail (TETHER_IS_GUARD_STREAM (self));

  w = self->counters->watch;
  if (w == NULL)
    return;
  w->hook = hook;
  w->hook_data = user_data;
}

/**
 * tether_guard_stream_send_direct:
 * @data: whole WebSocket frames
 *
 * Writes @data straight to the socket of a watched guard, past libsoup: for the
 * fan-out, which frames an event once for all members. Only when libsoup has nothing
 * waiting to be written (no output source), so frames never interleave; what the
 * socket does not take at once is written before anything libsoup writes next.
 * Call it only when libsoup's own queue is empty.
 *
 * Returns: %TRUE when @data is on its way; %FALSE when nothing was written (not
 *   watched, libsoup busy, or the socket full): send through libsoup then
 */
gboolean
tether_guard_stream_send_direct (TetherGuardStream *self,
                                 const guint8      *data,
                                 gsize              len)
{
  Watch *w = self->counters->watch;
  gssize n;

  if (w == NULL || w->poller == NULL || w->out != NULL || w->pending != NULL || len == 0)
    return FALSE;
  n = send (w->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0)
    return FALSE;
  self->counters->bytes_out += (guint64) n;
  if ((gsize) n < len)
    {
      w->pending = g_byte_array_sized_new ((guint) (len - (gsize) n));
      g_byte_array_append (w->pending, data + n, (guint) (len - (gsize) n));
      watch_update (w);
    }
  return TRUE;
}
