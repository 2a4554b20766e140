/* compare-janus.h: what compare-janus's files share — one client driver (one thread,
 * epoll, non-blocking raw WebSocket clients) that speaks either Tether's room protocol
 * (docs/protocol.md) or the Janus API with the videoroom plugin, so that both servers
 * are driven by the same code (compare-janus-clients.c), and the parts that use it
 * (compare-janus.c)
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PEER_JANUS,
  PEER_TETHER,
} PeerKind;

typedef enum
{
  CLIENT_CONNECTING,
  CLIENT_UPGRADING,
  CLIENT_CREATING,     /* Janus: "create" sent */
  CLIENT_ATTACHING,    /* Janus: "attach" sent */
  CLIENT_JOINING,      /* Janus: videoroom "join" sent; Tether: "login" sent */
  CLIENT_READY,        /* Janus: "joined"; Tether: "login_ok" */
  CLIENT_LEAVING,      /* Janus: "leave" sent; Tether: "logout" sent */
  CLIENT_CLOSED,
  CLIENT_FAILED,
} ClientState;

typedef struct _Driver Driver;

typedef struct
{
  Driver *driver;
  int fd;
  ClientState state;
  char *room;            /* Tether room id, or the Janus room number */
  char *user;            /* Tether user id, or the Janus display name */
  gboolean presence;     /* Tether notify_users (Janus: the room's notify_joining) */
  GByteArray *in;        /* bytes read, not yet a complete frame */
  GByteArray *out;       /* bytes the socket did not take yet */
  GByteArray *msg;       /* the message being reassembled from fragments */
  gboolean want_out;
  guint64 session_id, handle_id, publisher_id;   /* Janus */
  double heartbeat_interval;                      /* Tether: login_ok's, seconds */
  gint64 t_connect;      /* monotonic µs: before connect() */
  gint64 t_join_sent;    /* monotonic µs: the join (Janus) or login (Tether) written */
  gint64 rt_join_sent;   /* CLOCK_REALTIME ns, the same moment */
  gint64 t_ready;        /* monotonic µs: joined / login_ok read */
  gint64 t_leave_sent, rt_leave_sent;
  gint64 next_keepalive; /* monotonic µs */
  guint keepalive_id;
  guint probe_gen;       /* the last probe this client saw */
  gint64 probe_mono;     /* monotonic µs it was parsed */
  gint64 probe_wire;     /* CLOCK_REALTIME ns: kernel receive time of its last bytes */
} Client;

struct _Driver
{
  PeerKind kind;
  guint16 port;
  int epfd;
  GPtrArray *clients;     /* Client*, every client not yet freed */
  GPtrArray *held;        /* Client*, the idle members that send keepalives */
  gint64 keepalive_us;    /* 0: none */
  guint burst;            /* clients whose keepalives go out together (1: each alone) */
  guint keepalive_next;   /* index in held of the next keepalive due */
  guint n_keepalives, n_acks, n_failed;
  guint n_no_timestamp;   /* reads without SCM_TIMESTAMPNS (their time is the read's) */
  /* the probe: a message holding both strings, seen by members of held */
  char *probe_a, *probe_b;
  guint probe_gen, probe_hits;
  char *last_error;
};

Driver   *driver_new               (PeerKind     kind,
                                    guint16      port);
void      driver_free              (Driver      *d);
Client   *driver_client_start      (Driver      *d,
                                    const char  *room,
                                    const char  *user,
                                    gboolean     presence);
guint     driver_ramp              (Driver      *d,
                                    guint        n,
                                    const char  *room,
                                    const char  *user_prefix,
                                    gboolean     presence,
                                    guint        timeout_ms);
void      driver_keepalive_start   (Driver      *d,
                                    double       interval_s);
typedef gboolean (*DriverCond) (Driver *d, gpointer data);
gboolean  driver_run_until         (Driver      *d,
                                    DriverCond   cond,
                                    gpointer     data,
                                    guint        timeout_ms);
void      driver_run_for           (Driver      *d,
                                    guint        ms);
gboolean  driver_wait_state        (Driver      *d,
                                    Client      *c,
                                    ClientState  state,
                                    guint        timeout_ms);
void      driver_probe_arm         (Driver      *d,
                                    const char  *a,
                                    const char  *b);
gboolean  driver_probe_wait        (Driver      *d,
                                    guint        n,
                                    guint        timeout_ms);
void      driver_probe_result      (Driver      *d,
                                    gint64       t_sent,
                                    gint64       rt_sent,
                                    double      *client_ms,
                                    double      *wire_ms);
void      client_leave             (Client      *c);
void      client_close             (Client      *c);
guint     driver_leave_all         (Driver      *d,
                                    guint        timeout_ms);

gint64    realtime_ns              (void);

G_END_DECLS
