/* tether-publish-preview-private.h: read-outs tests/test-app-publish.c checks the
 * preview with
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tether-paintable-sink.h"
#include "tether-publish-preview.h"

G_BEGIN_DECLS

TetherPaintableSink *tether_publish_preview_get_sink     (TetherPublishPreview *self);
/* (transfer none) (nullable): the self-view's pipeline while it runs */
GstElement          *tether_publish_preview_get_pipeline (TetherPublishPreview *self);
guint                tether_publish_preview_get_n_sources (TetherPublishPreview *self);
AdwComboRow         *tether_publish_preview_get_source_row (TetherPublishPreview *self);

G_END_DECLS
