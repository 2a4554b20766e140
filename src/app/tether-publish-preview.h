/* tether-publish-preview.h: the self-view before going live — the source (test picture
 * or a camera) and the microphone chosen, the picture playing, Go Live or Cancel
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tether-session.h"

G_BEGIN_DECLS

#define TETHER_TYPE_PUBLISH_PREVIEW (tether_publish_preview_get_type ())
G_DECLARE_FINAL_TYPE (TetherPublishPreview, tether_publish_preview, TETHER, PUBLISH_PREVIEW, AdwWindow)

TetherPublishPreview *tether_publish_preview_new (GtkWindow     *parent,
                                                  TetherSession *session);

G_END_DECLS
