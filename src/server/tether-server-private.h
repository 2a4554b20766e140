/* tether-server-private.h: the room service's in-memory model and what crosses its
 * files: tether-server.c (the object), -accept.c (sockets), -client.c (a WebSocket
 * and the protocol), -auth.c (tokens, rate limits), -session.c (sessions, the
 * sweep), -room.c (rooms, streams, events), -ingest.c (publishers without a room
 * session), -http.c (admin endpoints), -tls.c (TLS on the public port), -guest.c
 * (public rooms, guest tokens)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "tether-guard-stream.h"
#include "tether-message.h"
#include "tether-server.h"
#include "tether-token.h"

#define TETHER_SERVER_USEC(seconds) ((gint64) ((seconds) * G_USEC_PER_SEC))
/* The close code of a login refused while the cluster's Redis is unreachable (1021):
 * 4503, like HTTP 503. Not 1013 (Try Again Later): libsoup 3.2's client takes any
 * code of 1012–1014 for a protocol error and reports 1002. */
#define TETHER_SERVER_CLOSE_TRY_AGAIN_LATER 4503

G_BEGIN_DECLS

typedef struct _TetherServerCluster TetherServerCluster;
typedef struct _TetherServerConn    TetherServerConn;
typedef struct _TetherServerLink    TetherServerLink;
typedef struct _TetherServerListener TetherServerListener;
typedef struct _TetherServerRoom    TetherServerRoom;
typedef struct _TetherServerSession TetherServerSession;
typedef struct _TetherServerStream  TetherServerStream;

typedef enum
{
  TETHER_SERVER_CONN_PENDING,   /* connected, no login yet */
  TETHER_SERVER_CONN_ACTIVE,    /* logged in, attached to a session */
  TETHER_SERVER_CONN_CLOSING,   /* we asked it to close; input is ignored */
} TetherServerConnState;

/* One accepted TCP connection (tether-server-accept.c), from accept until libsoup
 * lets go of it. */
struct _TetherServerLink
{
  TetherServer      *server;
  GSocket           *socket;
  GSocketAddress    *remote;        /* key in server->links: the message's remote address */
  TetherGuardStream *guard;         /* not a reference: the link dies with it */
  char              *address;       /* peer IP, key in server->per_address */
  gint64             accepted_at;   /* monotonic µs */
  gboolean           on_deadline;   /* in server->handshakes: not a WebSocket yet */
  GList              handshake_link;
};

/* One WebSocket connection. Freed when libsoup reports it closed. */
struct _TetherServerConn
{
  TetherServer            *server;
  SoupWebsocketConnection *ws;
  GSocket                 *socket;        /* to cut a dead peer off without a handshake */
  TetherGuardStream       *guard;         /* counts its bytes (input budget, send queue) */
  guint64                  queued_out;    /* bytes handed to libsoup to send, frame headers included */
  guint64                  written_base;  /* the guard's bytes_out when it became a WebSocket */
  char                    *address;       /* client address, for the login rate limit */
  TetherServerSession     *session;       /* NULL unless ACTIVE */
  TetherServerConnState    state;
  gint64                   connected_at;  /* monotonic µs */
  GList                    link;          /* in server->conns */
  GList                    pending_link;  /* in server->pending while PENDING */
  gint64                   close_deadline; /* monotonic µs while in server->closing, else 0 */
  GList                    closing_link;
  gpointer                 cluster_login; /* cluster mode: its login, while Redis answers */
  GQueue                   early;         /* JsonObject sent meanwhile, handled after login_ok */
  gsize                    early_bytes;
};

/* An event serialised once, kept for replay on resume. */
typedef struct
{
  guint64  seq;
  char    *json;
  gsize    size;        /* strlen (json) */
  guint64  subject;     /* serial of the session a user event is about, else 0 */
  gboolean user_event;
} TetherServerEvent;

struct _TetherServerRoom
{
  char              *id;
  char              *room_session_id;
  guint64            seq;
  guint              refs;       /* sessions (present or resumable) pointing here */
  GQueue             members;    /* present sessions, join order */
  GHashTable        *by_user;    /* user id → present session */
  GQueue             streams;    /* TetherServerStream, add order */
  GQueue             backlog;    /* TetherServerEvent, consecutive seqs, oldest first */
  gsize              backlog_size; /* bytes of JSON in it */
  /* Cluster mode (tether-server-cluster.c): seq is the last event delivered here,
   * members and streams are this node's only. */
  gboolean           synced;      /* seq is known (from a login, resume or restore) */
  gboolean           catching_up; /* an XRANGE of the room's log is in flight */
  guint64            pending_max; /* the highest seq seen but not delivered */
};

struct _TetherServerSession
{
  guint64             serial;
  char               *id;
  char               *resume_key;
  TetherServerRoom   *room;          /* holds a room ref */
  char               *user_id;
  char               *user_name;
  gboolean            notify_users;
  gboolean            present;
  gboolean            kicked;        /* tombstone: a resume gets kick_out */
  TetherServerConn   *conn;          /* NULL while disconnected */
  gint64              last_activity; /* monotonic µs */
  gint64              forget_at;     /* monotonic µs, once not present */
  TetherTokenClaims  *claims;
  char               *srt_passphrase; /* of the token of claims; NULL without encryption */
  gint64              token_expiry;  /* monotonic µs */
  gint64              token_deadline; /* next token action: warning, then expiry */
  gboolean            token_warned;
  GSequenceIter      *token_iter;    /* in server->token_deadlines while present */
  GList               member_link;   /* in room->members */
  GList               lru_link;      /* in server->present (by activity) or server->retired */
  GQueue             *lru_queue;     /* which of the two, or NULL */
  GQueue              streams;       /* TetherServerStream via session_link */
  guint64             seq_from;      /* cluster mode: its login_ok's seq; older events are not for it */
  guint               requests;      /* cluster mode: stream requests Redis has not answered */
  GQueue              held;          /* events for it meanwhile (JSON): sent after the answer */
  gsize               held_bytes;    /* their size, bounded by max-send-queue */
};

struct _TetherServerStream
{
  char                *id;
  TetherServerSession *session;
  char                *node;
  char                *extra;
  GList                room_link;
  GList                session_link;
};

typedef struct
{
  guint64 logins;
  guint64 login_failures;
  guint64 resumes;
  guint64 rejoins;
  guint64 heartbeat_timeouts;
  guint64 kicks;
  guint64 rejected_inputs;
  guint64 events;
  guint64 refused_connections;   /* over the per-address cap */
  guint64 request_timeouts;      /* no WebSocket in time */
  guint64 accept_pauses;         /* out of file descriptors */
  guint64 slow_consumers;        /* dropped for a full send queue */
  guint64 guest_tokens;          /* issued by POST /v1/guest-token, renewals included */
} TetherServerStats;

struct _TetherServer
{
  GObject            parent_instance;

  GMainContext      *context;
  TetherGuardPoller *poller;          /* the connections' readiness (tether-guard-stream.c) */
  SoupServer        *soup;            /* the public port: /ws, /v1/guest-token */
  SoupServer        *admin_soup;      /* the admin port: /healthz, /metrics */
  GPtrArray         *listeners;       /* TetherServerListener */

  /* configuration */
  char              *app_id;
  char              *app_secret;
  double             heartbeat_timeout;
  double             heartbeat_interval;
  double             session_ttl;
  double             token_skew;
  double             token_warning;
  guint              max_frame_size;
  guint              max_depth;
  double             login_rate;
  double             login_burst;
  guint              event_backlog;
  guint              event_backlog_bytes;
  double             login_grace;
  double             request_timeout;
  guint              max_connections_per_address;
  guint              max_send_queue;
  guint              max_streams_per_session;
  double             guest_token_ttl;
  gboolean           srt_encryption;  /* hand out each token's SRT passphrase */
  GPtrArray         *public_rooms;    /* GPatternSpec: rooms that admit guests */
  GPtrArray         *trusted_proxies; /* GInetAddressMask: --trusted-proxy */
  char             **room_service_urls; /* login_ok's room_services; NULL: none */
  GPtrArray         *media_nodes;     /* TetherServerMediaNode */
  GPtrArray         *relays;          /* TetherRelay embedded in this process */
  char              *media_edge;      /* login_ok's media_edge (tether-server-cascade.c), or NULL */
  char              *redis_url;       /* cluster mode (tether-server-cluster.c) when set */
  char              *node_id;
  char              *public_url;
  double             node_beat;
  double             node_timeout;
  TetherServerCluster *cluster;
  gboolean           media_only;      /* tether_server_join_cluster_media_only(): no room service */

  GTlsCertificate   *tls_certificate; /* the public port speaks TLS with it (-tls.c) */
  char              *url_host;
  guint16            port;
  guint16            admin_port;
  gboolean           listening;
  gboolean           shut_down;

  /* state */
  GHashTable        *rooms;           /* id → TetherServerRoom */
  GHashTable        *sessions;        /* id → TetherServerSession */
  GHashTable        *streams;         /* id → TetherServerStream, unique per app */
  GHashTable        *ingests;         /* stream id → its ingest holder (tether-server-ingest.c) */
  GHashTable        *node_reports;    /* media node id → when it last reported (-ingest.c) */
  GSource           *node_sweep;      /* deletes the streams of nodes that went silent */
  GHashTable        *login_buckets;   /* address → token bucket */
  GHashTable        *links;           /* GSocketAddress → TetherServerLink */
  GHashTable        *per_address;     /* peer IP → open TCP connections */
  GQueue             handshakes;      /* TetherServerLink not a WebSocket yet, oldest first */
  GQueue             conns;
  GQueue             pending;         /* connections awaiting login, oldest first */
  GQueue             closing;         /* connections in a close handshake, oldest first */
  GQueue             present;         /* present sessions, least recently active first */
  GQueue             retired;         /* resumable sessions and tombstones, by forget_at */
  GSequence         *token_deadlines; /* present sessions by next token deadline */
  GSource           *sweep_source;
  gint64             last_bucket_prune;
  gint64             last_trim;
  guint64            next_serial;
  guint              n_active_rooms;
  TetherServerStats  stats;
};

typedef struct
{
  char *id;
  char *url;
} TetherServerMediaNode;

/* tether-server-accept.c */
gboolean             tether_server_listen_on        (TetherServer        *self,
                                                     SoupServer          *soup,
                                                     const char          *host,
                                                     guint16              port,
                                                     char               **out_url_host,
                                                     guint16             *out_port,
                                                     GError             **error);
void                 tether_server_listener_free    (TetherServerListener *listener);
SoupServer          *tether_server_listener_get_soup (TetherServerListener *listener);
TetherServerLink    *tether_server_link_upgrade     (TetherServer        *self,
                                                     SoupServerMessage   *msg);
gint64               tether_server_links_sweep      (TetherServer        *self,
                                                     gint64               now);
void                 tether_server_links_clear      (TetherServer        *self);

/* tether-server-tls.c */
GIOStream           *tether_server_tls_wrap         (TetherServer        *self,
                                                     GIOStream           *connection,
                                                     GError             **error);
void                 tether_server_tls_accept       (TetherServer        *self,
                                                     SoupServer          *soup,
                                                     TetherGuardStream   *guard,
                                                     GSocketAddress      *local,
                                                     GSocketAddress      *remote,
                                                     const char          *address);

/* tether-server.c */
void                 tether_server_media_node_free  (gpointer             data);
const char * const  *tether_server_get_room_services (TetherServer       *self);
void                 tether_server_log              (GLogLevelFlags       level,
                                                     TetherServerSession *session,
                                                     const char          *format,
                                                     ...) G_GNUC_PRINTF (3, 4);

/* tether-server-client.c */
void                 tether_server_client_accept    (SoupServer          *server,
                                                     SoupServerMessage   *msg,
                                                     const char          *path,
                                                     SoupWebsocketConnection *ws,
                                                     gpointer             user_data);
void                 tether_server_conn_send        (TetherServerConn    *conn,
                                                     const char          *json);
guint8              *tether_server_frame_new        (const char          *json,
                                                     gsize               *out_size);
void                 tether_server_conn_send_frame  (TetherServerConn    *conn,
                                                     const char          *json,
                                                     const guint8        *frame,
                                                     gsize                frame_size);
void                 tether_server_conn_send_message (TetherServerConn   *conn,
                                                     char                *json);
void                 tether_server_conn_close       (TetherServerConn    *conn,
                                                     gushort              code,
                                                     const char          *reason);
void                 tether_server_conn_kill        (TetherServerConn    *conn);
void                 tether_server_conn_kick        (TetherServerConn    *conn,
                                                     int                  code,
                                                     const char          *message);
void                 tether_server_conn_detach      (TetherServerConn    *conn);
void                 tether_server_conn_handle_early (TetherServerConn   *conn);
void                 tether_server_conn_fail        (TetherServerConn    *conn,
                                                     int                  code,
                                                     const char          *message,
                                                     gushort              close_code);
void                 tether_server_send_login_ok    (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     gboolean             resumed,
                                                     gboolean             resync,
                                                     guint64              seq,
                                                     const TetherMessageUser *users,
                                                     guint                n_users,
                                                     const TetherMessageStream *streams,
                                                     guint                n_streams);
void                 tether_server_send_request_error (TetherServerConn  *conn,
                                                       gint64             req,
                                                       int                code,
                                                       const char        *message);
void                 tether_server_release_on_relays (TetherServer       *self,
                                                      TetherServerSession *session,
                                                      const char         *stream_id);
void                 tether_server_conns_sweep_logins (TetherServer      *self,
                                                       gint64             now);
void                 tether_server_conns_sweep_closing (TetherServer     *self,
                                                        gint64            now);
void                 tether_server_conns_clear      (TetherServer        *self);

/* tether-server-auth.c */
TetherTokenClaims   *tether_server_auth_check_token (TetherServer        *self,
                                                     const char          *token,
                                                     const char          *room_id,
                                                     const char          *user_id,
                                                     GError             **error);
TetherTokenClaims   *tether_server_auth_verify_for_room (TetherServer    *self,
                                                         const char      *token,
                                                         const char      *room_id,
                                                         GError         **error);
gboolean             tether_server_auth_login_allowed (TetherServer      *self,
                                                       const char        *address);
void                 tether_server_auth_sweep       (TetherServer        *self,
                                                     gint64               now);

/* tether-server-ingest.c */
void                 tether_server_ingest_init      (TetherServer        *self);
void                 tether_server_ingest_watch     (TetherServer        *self,
                                                     TetherRelay         *relay,
                                                     const char          *node_id);
void                 tether_server_ingest_adopt     (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     const char          *stream_id);
void                 tether_server_ingest_clear     (TetherServer        *self);

/* tether-server-http.c */
void                 tether_server_http_add_handlers (TetherServer       *self,
                                                      SoupServer         *admin);

/* tether-server-guest.c */
#define TETHER_SERVER_GUEST_PATH "/v1/guest-token"
#define TETHER_SERVER_GUEST_PREFIX "guest-"
gboolean             tether_server_room_is_public   (TetherServer        *self,
                                                     const char          *room_id);
void                 tether_server_guest_add_handler (TetherServer       *self,
                                                      SoupServer         *soup);

/* tether-server-proxy.c */
char                *tether_server_client_address  (TetherServer        *self,
                                                    SoupServerMessage   *msg,
                                                    const char          *peer);
gboolean             tether_server_peer_is_trusted_proxy (TetherServer   *self,
                                                          GSocketAddress *peer);

/* tether-server-room.c */
TetherServerRoom    *tether_server_room_acquire     (TetherServer        *self,
                                                     const char          *room_id);
void                 tether_server_room_release     (TetherServer        *self,
                                                     TetherServerRoom    *room);
void                 tether_server_room_reset       (TetherServerRoom    *room);
void                 tether_server_room_publish     (TetherServer        *self,
                                                     TetherServerRoom    *room,
                                                     guint64              seq,
                                                     char                *json,
                                                     gboolean             user_event,
                                                     guint64              subject);
void                 tether_server_room_emit_user   (TetherServer        *self,
                                                     TetherServerRoom    *room,
                                                     TetherUpdateType     update,
                                                     TetherServerSession *subject);
void                 tether_server_room_emit_streams (TetherServer       *self,
                                                     TetherServerRoom    *room,
                                                     TetherUpdateType     update,
                                                     const char          *reason,
                                                     GPtrArray           *streams);
gboolean             tether_server_room_can_replay  (TetherServerRoom    *room,
                                                     guint64              last_seq);
void                 tether_server_room_replay      (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     guint64              last_seq);
TetherMessageUser    tether_server_session_to_message (TetherServerSession *session);
TetherMessageStream  tether_server_stream_to_message  (TetherServerStream  *stream);
void                 tether_server_session_delete_streams (TetherServer  *self,
                                                           TetherServerSession *session,
                                                           const char    *reason);
TetherServerStream  *tether_server_stream_add       (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     const char          *stream_id,
                                                     const char          *node,
                                                     const char          *extra);
TetherServerStream  *tether_server_stream_put       (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     const char          *stream_id,
                                                     const char          *node,
                                                     const char          *extra,
                                                     gboolean            *changed);
void                 tether_server_stream_drop      (TetherServer        *self,
                                                     TetherServerStream  *stream);
void                 tether_server_stream_remove    (TetherServer        *self,
                                                     TetherServerStream  *stream,
                                                     const char          *reason);
void                 tether_server_model_clear      (TetherServer        *self);

/* tether-server-session.c */
char                *tether_server_random_hex       (gsize                n_bytes);
TetherServerSession *tether_server_session_new      (TetherServer        *self,
                                                     TetherServerRoom    *room,
                                                     const char          *user_id,
                                                     const char          *user_name,
                                                     gboolean             notify_users,
                                                     TetherTokenClaims   *claims,
                                                     const char          *token);
void                 tether_server_session_join     (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     TetherServerSession *replaces);
TetherServerSession *tether_server_session_new_with_id (TetherServer     *self,
                                                        TetherServerRoom *room,
                                                        const char       *id,
                                                        const char       *resume_key,
                                                        const char       *user_id,
                                                        const char       *user_name,
                                                        gboolean          notify_users,
                                                        TetherTokenClaims *claims,
                                                        const char       *token);
void                 tether_server_session_drop     (TetherServer        *self,
                                                     TetherServerSession *session);
void                 tether_server_session_leave    (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     const char          *stream_reason);
void                 tether_server_session_retire   (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     gint64               forget_at);
void                 tether_server_session_forget   (TetherServer        *self,
                                                     TetherServerSession *session);
void                 tether_server_session_free     (TetherServerSession *session);
void                 tether_server_session_release_held (TetherServerSession *session);
void                 tether_server_session_hold         (TetherServerSession *session,
                                                         const char          *json);
void                 tether_server_session_attach   (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     TetherServerConn    *conn);
void                 tether_server_session_touch    (TetherServer        *self,
                                                     TetherServerSession *session);
void                 tether_server_session_schedule_token (TetherServer  *self,
                                                           TetherServerSession *session);
void                 tether_server_session_set_claims (TetherServer      *self,
                                                       TetherServerSession *session,
                                                       TetherTokenClaims *claims,
                                                       const char        *token);
gboolean             tether_server_sweep            (gpointer             user_data);

/* tether-server-cluster.c: several nodes sharing rooms through Redis */
gboolean             tether_server_cluster_start    (TetherServer        *self,
                                                     gboolean             media_only,
                                                     GError             **error);
void                 tether_server_cluster_free     (TetherServer        *self);
void                 tether_server_cluster_login    (TetherServer        *self,
                                                     TetherServerConn    *conn,
                                                     const TetherLoginMessage *login,
                                                     TetherTokenClaims   *claims);
void                 tether_server_cluster_conn_gone (TetherServerConn   *conn);
void                 tether_server_cluster_leave    (TetherServer        *self,
                                                     TetherServerSession *session,
                                                     const char          *reason,
                                                     gint64               keep_us);
void                 tether_server_cluster_stream_add (TetherServer      *self,
                                                       TetherServerSession *session,
                                                       gint64             req,
                                                       const TetherMessageStream *stream);
void                 tether_server_cluster_stream_delete (TetherServer   *self,
                                                          TetherServerSession *session,
                                                          gint64          req,
                                                          const char     *stream_id,
                                                          const char     *reason);
void                 tether_server_cluster_ingest   (TetherServer        *self,
                                                     gboolean             add,
                                                     const char          *stream_id,
                                                     const char          *user_id,
                                                     const char          *room_id,
                                                     const char          *node_id,
                                                     const char          *reason);
void                 tether_server_cluster_room_new  (TetherServer       *self,
                                                      TetherServerRoom   *room);
void                 tether_server_cluster_room_gone (TetherServer       *self,
                                                      TetherServerRoom   *room);
GPtrArray           *tether_server_cluster_media_nodes (TetherServer     *self);
GStrv                tether_server_cluster_room_services (TetherServer   *self);
void                 tether_server_cluster_metrics  (TetherServer        *self,
                                                     GString             *out);

G_END_DECLS
