/* tether-room-private.h: what TetherEngine and TetherRoom share, and what the files
 * of TetherRoom share among themselves:
 *   tether-room.c           the object, its state, properties, signals and getters
 *   tether-room-link.c      the connection: connect, what the socket reports (its
 *                           heartbeats and dead-link timer run on the network thread,
 *                           tether-room-socket.c), backoff and the retry window
 *   tether-room-messages.c  what the server sends: login_ok, events, errors, ...
 *   tether-room-requests.c  what the application asks: streams, token, logout
 *   tether-room-store.c     the user and stream lists
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether-login-options.h"
#include "tether-net-private.h"
#include "tether-room.h"
#include "tether-room-socket-private.h"
#include "tether-room-store.h"

G_BEGIN_DECLS

/* Timing a room copies from its engine when it is created (seconds). */
typedef struct
{
  double retry_time;      /* room_retry_time: retry window, from detection */
  double login_timeout;   /* initial login gives up after this */
  double link_timeout;    /* silence meaning a dead link; 0 = 2.2 × heartbeat interval */
  double backoff_min;
  double backoff_max;
  double logout_timeout;
} TetherRoomTiming;

/* ---- for TetherEngine ------------------------------------------------------------- */

TetherRoom            *_tether_room_new             (TetherNet              *net,
                                                     const TetherRoomTiming *timing,
                                                     TetherLoginOptions     *login);
void                   _tether_room_login           (TetherRoom             *self);
void                   _tether_room_network_changed (TetherRoom             *self,
                                                     const char             *cause);

/* Test hooks for tests/fuzz/fuzz-room.c only (see tether-room-messages.c). */
void                   _tether_room_test_begin_login (TetherRoom           *self);
void                   _tether_room_test_receive    (TetherRoom             *self,
                                                     const char             *data,
                                                     gsize                   len);

TetherReconnectReport *_tether_reconnect_report_new (const char             *cause,
                                                     guint                   attempts,
                                                     gboolean                resumed,
                                                     gboolean                succeeded,
                                                     double                  downtime);

/* ---- among the files of TetherRoom ------------------------------------------------ */

struct _TetherRoom
{
  GObject parent_instance;

  GMainContext *context;   /* timers and signals live here (docs/design.md, 'Main contexts') */
  TetherNet *net;          /* the engine's, on the network thread; NULL in the fuzz harness */
  TetherRoomTiming timing;
  TetherLoginOptions *login;  /* our own copy; the token changes on renewal */

  TetherRoomState state;
  int error_code;

  /* The room service's URLs in the order to try them: what the caller gave, merged
   * with the latest login_ok's room_services (tether-room-link.c). Never empty. */
  GPtrArray *urls;
  guint url_index;         /* the URL of the attempt under way, or of the last one */
  guint round_start;       /* the URL each round of the walk starts at (tether-room-link.c) */
  guint rounds;            /* rounds of the walk started since the break or the login */
  guint refused;           /* first login: attempts in a row refused outright */

  /* The connection and the timers of the current state (tether-room-link.c); see
   * _tether_room_set_state(). The socket's own timing (attempt timeout, heartbeats,
   * dead link) is on the network thread. */
  TetherRoomSocket *socket; /* the current attempt's or connection's, or NULL */
  gboolean socket_open;     /* it reported CONNECTED */
  gboolean awaiting_login_ok;
  guint retry_id;
  guint window_id;
  gint64 login_deadline;     /* µs: the first login's window ends (LOGINING) */
  gboolean login_window_over; /* it ended while an attempt was under way */
  guint logout_id;
  guint start_id;
  double heartbeat_interval;
  double rtt;
  double retry_after_hint;  /* from a server's "reconnect" message */

  /* The server-side session, kept for resume. */
  char *session_id;
  char *resume_key;
  char *room_session_id;
  gint64 last_seq;
  gint64 token_expires_at;
  GHashTable *media_nodes;  /* id → url */
  char *media_edge;         /* login_ok's media_edge: players play from it (cascade), or NULL */
  /* What media nodes get: a token and its SRT passphrase (NULL: no encryption), from
   * the same answer — login_ok, or the token_renew_ok of the last renewal sent. */
  char *media_token;
  char *srt_passphrase;
  char *renew_token;        /* the last renewal sent, until its answer */
  gint64 renew_req;

  TetherRoomStore *users;
  TetherRoomStore *streams;
  GHashTable *local_streams;  /* id → LocalStream (tether-room-requests.c) */
  gint64 next_req;

  /* The current reconnect episode. */
  gint64 broken_at;
  guint attempt;
  char *cause;
  TetherReconnectReport *last_report;
};

/* The most room service URLs a room keeps from one login_ok. */
#define TETHER_ROOM_MAX_SERVICES 32

/* What broke a link: a reconnect episode's cause (TetherReconnectReport:cause). */
#define TETHER_ROOM_CAUSE_CLOSED "closed"                 /* the connection closed or failed */
#define TETHER_ROOM_CAUSE_LINK_TIMEOUT "link-timeout"     /* no answer to heartbeats */
#define TETHER_ROOM_CAUSE_SERVER_RESTART "server-restart" /* the server asked to reconnect */
#define TETHER_ROOM_CAUSE_NETWORK_CHANGE "network-change" /* a probe after these failed */
#define TETHER_ROOM_CAUSE_RESUME_FROM_SLEEP "resume-from-sleep"
#define TETHER_ROOM_CAUSE_RECONNECT_NOW "reconnect-now"

/* Whether there is an open WebSocket to send on. */
static inline gboolean
_tether_room_link_is_open (TetherRoom *self)
{
  return self->socket != NULL && self->socket_open;
}

static inline gboolean
_tether_room_state_is_connected (TetherRoomState state)
{
  return state == TETHER_ROOM_STATE_LOGINED || state == TETHER_ROOM_STATE_RECONNECTED;
}

/* tether-room.c: the state, and the properties and signals other files change */
void     _tether_room_set_state           (TetherRoom       *self,
                                           TetherRoomState   state,
                                           int               error_code,
                                           const char       *message);
void     _tether_room_give_up             (TetherRoom       *self,
                                           TetherRoomState   state,
                                           int               error_code,
                                           const char       *message);
void     _tether_room_set_attempt         (TetherRoom       *self,
                                           guint             attempt);
void     _tether_room_set_urls            (TetherRoom       *self,
                                           GPtrArray        *urls,
                                           guint             index);
void     _tether_room_set_rtt             (TetherRoom       *self,
                                           double            rtt);
void     _tether_room_set_media_credentials (TetherRoom     *self,
                                             const char     *token,
                                             const char     *srt_passphrase);
const char *_tether_room_get_media_edge   (TetherRoom       *self);
void     _tether_room_set_room_session_id (TetherRoom       *self,
                                           const char       *room_session_id);
void     _tether_room_finish_episode      (TetherRoom       *self,
                                           gboolean          resumed,
                                           gboolean          succeeded);
void     _tether_room_emit_users          (TetherRoom       *self,
                                           TetherUpdateType  update,
                                           GPtrArray        *users);
void     _tether_room_emit_streams        (TetherRoom       *self,
                                           TetherUpdateType  update,
                                           GPtrArray        *streams,
                                           const char       *reason);
void     _tether_room_emit_token_will_expire (TetherRoom    *self,
                                           int               remaining);

/* tether-room-link.c: the connection */
guint    _tether_room_add_timeout         (TetherRoom       *self,
                                           double            seconds,
                                           GSourceFunc       func);
void     _tether_room_clear_source        (TetherRoom       *self,
                                           guint            *id);
void     _tether_room_send                (TetherRoom       *self,
                                           const char       *text);
void     _tether_room_drop_connection     (TetherRoom       *self);
void     _tether_room_connection_broken   (TetherRoom       *self,
                                           const char       *cause);
void     _tether_room_start_ticking       (TetherRoom       *self);
void     _tether_room_take_room_services  (TetherRoom       *self,
                                           const char      **services,
                                           guint             n_services);
void     _tether_room_stop_ticking        (TetherRoom       *self);

/* tether-room-messages.c: what the server sends */
void     _tether_room_receive_text        (TetherRoom       *self,
                                           const char       *data,
                                           gsize             len);

/* tether-room-requests.c: what the application asks */
GHashTable *_tether_room_local_streams_new (void);
void     _tether_room_send_login          (TetherRoom       *self);
void     _tether_room_send_local_streams  (TetherRoom       *self,
                                           gboolean          all);
void     _tether_room_request_done        (TetherRoom       *self,
                                           gint64            req,
                                           const GError     *error);

G_END_DECLS
