/* tether-guard-stream.c: TetherGuardStream — counts the bytes read from and written to
 * an accepted connection, and refuses to read past an input budget
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

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

typedef struct
{
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 mark;         /* bytes_in at the last renewal */
  guint64 budget;       /* 0: unlimited */
} Counters;

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

  return input_account (GUARD_INPUT (stream), n, error);
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
  g_autoptr(GSource) base_source =
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

  return input_account (GUARD_INPUT (stream), n, error);
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
  g_atomic_rc_box_release (GUARD_INPUT (object)->counters);
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
  g_autoptr(GSource) base_source =
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
  g_atomic_rc_box_release (GUARD_OUTPUT (object)->counters);
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
  g_clear_object (&self->base);
  g_atomic_rc_box_release (self->counters);

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
