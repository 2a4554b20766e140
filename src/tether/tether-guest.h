/* tether-guest.h: guest tokens — watching a public room without any secret
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void                tether_guest_token_request_async  (const char           *server_url,
                                                       const char           *room_id,
                                                       const char           *current_token,
                                                       GTlsDatabase         *tls_database,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char               *tether_guest_token_request_finish (GAsyncResult         *result,
                                                       char                **user_id,
                                                       char                **app_id,
                                                       gint64               *expires_at,
                                                       GError              **error);
char               *tether_guest_token_url            (const char           *server_url);

G_END_DECLS
