/* tether-paintable-sink.h: a GdkPaintable fed by an appsink — the video sink of a tile
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define TETHER_TYPE_PAINTABLE_SINK (tether_paintable_sink_get_type ())
G_DECLARE_FINAL_TYPE (TetherPaintableSink, tether_paintable_sink, TETHER, PAINTABLE_SINK, GObject)

TetherPaintableSink *tether_paintable_sink_new             (void);
GstElement          *tether_paintable_sink_get_element     (TetherPaintableSink *self);
GdkPaintable        *tether_paintable_sink_get_paintable   (TetherPaintableSink *self);
guint64              tether_paintable_sink_get_frame_count (TetherPaintableSink *self);
void                 tether_paintable_sink_clear           (TetherPaintableSink *self);

gboolean             tether_paintable_sink_choose_renderer (GdkDisplay          *display);

G_END_DECLS
