/* fuzz-server.c: the room service's dispatch of client messages — a real TetherServer
 * in this process, listening on a loopback port, with up to three WebSocket clients,
 * so every frame goes through the accept path, libsoup, the server's parsing,
 * validation, rooms, sessions and fan-out, and every answer comes back.
 *
 * Input: lines, each one frame from one client:
 *   [@N ]FRAME      a text frame from client N (0, 1 or 2; default 0); $S0/$K0 ($S1, ...)
 *                   stand for the session_id/resume_key of client N's last login_ok,
 *                   so a resume can be written down
 *   [@N ]!close     client N starts a close handshake (1000)
 *   [@N ]!drop      client N's socket is cut without a close frame
 *   [@N ]!binary X  a binary frame
 * A client connects (HTTP upgrade) before its first frame and again after a close or
 * a drop. After each frame the client sends a ping and waits for the pong, so frames
 * are handled in the order written.
 *
 * Findings besides crashes and sanitizer reports: a GLib critical (libsoup refusing to
 * send invalid UTF-8, for one), a text frame from the server that is not a valid
 * protocol message, a close reason that is not UTF-8.
 *
 * The server is driven only through its public API (tether-server.h) and its socket:
 * nothing here reaches into src/server.
 * TODO: a tether_server_fuzz_dispatch ()-style hook in tether-server-client.c would let a
 * harness feed one parsed message to the dispatch without libsoup in the way (faster,
 * deterministic ordering across clients); switch the one-frame path to it when it exists.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tether-message.h"
#include "tether-server.h"
#include "fuzz-common.h"

#define N_CLIENTS 3
#define MAX_LINES 128
/* Main-context iterations without progress before we stop waiting for an answer. */
#define IDLE_LIMIT 64

typedef struct
{
  int         fd;           /* our socket, -1 when not connected */
  gboolean    upgraded;     /* the 101 came back */
  gboolean    closed;       /* a close frame or EOF came back */
  gboolean    eof;
  GByteArray *in;
  guint       ping_sent;
  guint       pong_seen;
  char       *session_id;   /* of the last login_ok */
  char       *resume_key;
} Client;

static TetherServer *server;
static Client clients[N_CLIENTS];

static void
client_disconnect (Client *c)
{
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  c->upgraded = FALSE;
  c->closed = FALSE;
  c->eof = FALSE;
  g_byte_array_set_size (c->in, 0);
}

static void
write_all (Client       *c,
           const guint8 *data,
           gsize         len);

static void
send_frame (Client       *c,
            guint8        opcode,
            const guint8 *payload,
            gsize         len)
{
  static const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  g_autoptr(GByteArray) frame = g_byte_array_sized_new (len + 14);
  guint8 head[10];
  gsize head_len = 2;

  head[0] = 0x80 | opcode;
  if (len < 126)
    head[1] = 0x80 | len;
  else if (len <= G_MAXUINT16)
    {
      head[1] = 0x80 | 126;
      head[2] = len >> 8;
      head[3] = len & 0xff;
      head_len = 4;
    }
  else
    {
      head[1] = 0x80 | 127;
      for (int i = 0; i < 8; i++)
        head[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
      head_len = 10;
    }
  g_byte_array_append (frame, head, head_len);
  g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = payload[i] ^ mask[i % 4];

      g_byte_array_append (frame, &b, 1);
    }
  write_all (c, frame->data, frame->len);
}

/* A text frame the server sent: it must be a protocol message a client is sent. */
static void
server_text (Client       *c,
             const guint8 *data,
             gsize         len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) msg = tether_protocol_parse ((const char *) data, len, 64, &error);
  TetherMessageType type;

  if (tether_fuzz_verbose ())
    g_printerr ("<- %u %.*s\n", (guint) (c - clients), (int) len, (const char *) data);
  if (msg == NULL)
    tether_fuzz_fail ("the server sent a frame no client can read: %s: %.*s", error->message,
                      (int) MIN (len, 512), (const char *) data);
  type = tether_message_get_type (msg);
  TETHER_FUZZ_CHECK (type != TETHER_MESSAGE_UNKNOWN
                     && tether_message_type_get_direction (type) == TETHER_MESSAGE_TO_CLIENT);
  if (type == TETHER_MESSAGE_LOGIN_OK)
    {
      g_auto(TetherLoginOkMessage) ok = { 0 };

      TETHER_FUZZ_CHECK (tether_message_read_login_ok (msg, &ok));
      g_free (c->session_id);
      c->session_id = g_strdup (ok.session_id);
      g_free (c->resume_key);
      c->resume_key = g_strdup (ok.resume_key);
    }
}

/* Takes the complete frames out of c->in. */
static void
parse_frames (Client *c)
{
  while (c->upgraded && c->in->len >= 2)
    {
      const guint8 *p = c->in->data;
      guint8 opcode = p[0] & 0x0f;
      guint64 len = p[1] & 0x7f;
      gsize head = 2;

      /* A server never masks its frames (RFC 6455 5.1). */
      TETHER_FUZZ_CHECK ((p[1] & 0x80) == 0);
      if (len == 126)
        {
          if (c->in->len < 4)
            return;
          len = (p[2] << 8) | p[3];
          head = 4;
        }
      else if (len == 127)
        {
          if (c->in->len < 10)
            return;
          len = 0;
          for (int i = 0; i < 8; i++)
            len = (len << 8) | p[2 + i];
          head = 10;
        }
      if (c->in->len - head < len)
        return;

      switch (opcode)
        {
        case 0x1:
          server_text (c, p + head, len);
          break;
        case 0x8:
          if (tether_fuzz_verbose ())
            g_printerr ("<- %u close %u\n", (guint) (c - clients), len >= 2 ? (p[head] << 8) | p[head + 1] : 0);
          /* A close reason goes to the peer as UTF-8 (RFC 6455 5.5.1). */
          TETHER_FUZZ_CHECK (len < 2 || g_utf8_validate_len ((const char *) p + head + 2, len - 2, NULL));
          if (!c->closed)
            {
              c->closed = TRUE;
              send_frame (c, 0x8, p + head, MIN (len, 2));
            }
          break;
        case 0x9:
          send_frame (c, 0xa, p + head, len);
          break;
        case 0xa:
          if (len == sizeof (guint))
            memcpy (&c->pong_seen, p + head, sizeof (guint));
          break;
        default:
          break;
        }
      g_byte_array_remove_range (c->in, 0, head + len);
    }
}

static gboolean
drain (Client *c)
{
  gboolean progress = FALSE;
  guint8 buf[16384];
  ssize_t n;

  if (c->fd < 0)
    return FALSE;
  while ((n = read (c->fd, buf, sizeof buf)) > 0)
    {
      g_byte_array_append (c->in, buf, n);
      progress = TRUE;
    }
  if (n == 0 && !c->eof)
    {
      c->eof = c->closed = TRUE;
      progress = TRUE;
    }

  if (!c->upgraded)
    {
      const char *end = g_strstr_len ((const char *) c->in->data, c->in->len, "\r\n\r\n");

      if (end != NULL)
        {
          /* The upgrade must succeed: the harness sends a valid handshake. */
          TETHER_FUZZ_CHECK (c->in->len >= 12 && memcmp (c->in->data, "HTTP/1.1 101", 12) == 0);
          g_byte_array_remove_range (c->in, 0, end + 4 - (const char *) c->in->data);
          c->upgraded = TRUE;
        }
    }
  parse_frames (c);
  return progress;
}

/* Runs the server until @done says so or nothing moves any more. */
static void
pump (gboolean (*done) (Client *c),
      Client   *c)
{
  guint idle = 0;

  while ((done == NULL || !done (c)) && idle < IDLE_LIMIT)
    {
      gboolean progress = g_main_context_iteration (NULL, FALSE);

      for (guint i = 0; i < N_CLIENTS; i++)
        progress |= drain (&clients[i]);
      idle = progress ? 0 : idle + 1;
    }
}

static void
write_all (Client       *c,
           const guint8 *data,
           gsize         len)
{
  while (len > 0 && c->fd >= 0)
    {
      ssize_t n = send (c->fd, data, len, MSG_NOSIGNAL);

      if (n > 0)
        {
          data += n;
          len -= n;
        }
      else if (n < 0 && (errno == EAGAIN || errno == EINTR))
        {
          /* The server reads only from its main loop. */
          guint idle = 0;

          while (idle++ < IDLE_LIMIT && !g_main_context_iteration (NULL, FALSE))
            for (guint i = 0; i < N_CLIENTS; i++)
              if (&clients[i] != c)
                drain (&clients[i]);
          drain (c);
        }
      else
        {
          /* The server went away (EPIPE): the rest of this client's input is moot. */
          c->closed = TRUE;
          return;
        }
    }
}

static gboolean
is_upgraded (Client *c)
{
  return c->upgraded || c->closed;
}

static gboolean
got_pong (Client *c)
{
  return c->closed || c->pong_seen == c->ping_sent;
}

static gboolean
no_connections (Client *c)
{
  return tether_server_get_connection_count (server) == 0;
}

static void
client_connect (Client *c,
                guint   index)
{
  static const char request[] =
    "GET /ws HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";
  /* Closing resets the connection: no TIME_WAIT left behind by thousands of runs. */
  const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
  struct sockaddr_in addr = {
    .sin_family = AF_INET,
    .sin_port = htons (tether_server_get_port (server)),
    .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
  };

  struct pollfd pfd;
  int err = 0;
  socklen_t err_len = sizeof err;

  client_disconnect (c);
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    tether_fuzz_fail ("socket: %s", g_strerror (errno));
  setsockopt (c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  /* On loopback the kernel completes the handshake before the server accepts.
   * Non-blocking, because libFuzzer's timer signal interrupts blocking calls. */
  if (connect (c->fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      if (errno != EINPROGRESS && errno != EINTR)
        tether_fuzz_fail ("connect: %s", g_strerror (errno));
      pfd.fd = c->fd;
      pfd.events = POLLOUT;
      while (poll (&pfd, 1, 5000) < 0 && errno == EINTR)
        ;
      if (getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 || err != 0)
        tether_fuzz_fail ("connect: %s", g_strerror (err != 0 ? err : errno));
    }

  write_all (c, (const guint8 *) request, sizeof request - 1);
  pump (is_upgraded, c);
}

/* "$S0" → client 0's session id, "$K1" → client 1's resume key, ... */
static GString *
substitute (const char *line,
            gsize       len)
{
  GString *text = g_string_new_len (line, len);

  if (memchr (line, '$', len) == NULL)
    return text;
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      char s[] = { '$', 'S', '0' + i, 0 };
      char k[] = { '$', 'K', '0' + i, 0 };

      if (clients[i].session_id != NULL)
        g_string_replace (text, s, clients[i].session_id, 0);
      if (clients[i].resume_key != NULL)
        g_string_replace (text, k, clients[i].resume_key, 0);
    }
  return text;
}

static void
run_line (const char *line,
          gsize       len)
{
  guint index = 0;
  Client *c;

  if (len >= 3 && line[0] == '@' && line[1] >= '0' && line[1] < '0' + N_CLIENTS && line[2] == ' ')
    {
      index = line[1] - '0';
      line += 3;
      len -= 3;
    }
  c = &clients[index];
  if (len == 5 && memcmp (line, "!drop", 5) == 0)
    {
      client_disconnect (c);
      pump (NULL, NULL);
      return;
    }

  if (c->fd < 0 || c->closed)
    client_connect (c, index);
  if (c->closed)
    return;

  if (len == 6 && memcmp (line, "!close", 6) == 0)
    {
      static const guint8 normal[] = { 0x03, 0xe8 };

      send_frame (c, 0x8, normal, sizeof normal);
      c->closed = TRUE;
      pump (NULL, NULL);
      return;
    }
  if (len >= 8 && memcmp (line, "!binary ", 8) == 0)
    send_frame (c, 0x2, (const guint8 *) line + 8, len - 8);
  else
    {
      g_autoptr(GString) text = substitute (line, len);

      if (tether_fuzz_verbose ())
        g_printerr ("-> %u %s\n", index, text->str);
      send_frame (c, 0x1, (const guint8 *) text->str, text->len);
    }

  c->ping_sent++;
  send_frame (c, 0x9, (const guint8 *) &c->ping_sent, sizeof c->ping_sent);
  pump (got_pong, c);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *p = (const char *) data;
  const char *end = p + size;
  guint lines = 0;

  g_autoptr(GError) error = NULL;

  tether_fuzz_init (TETHER_FUZZ_NONE);

  server = tether_server_new (TETHER_FUZZ_APP_ID, TETHER_FUZZ_SECRET);
  tether_server_add_media_node (server, "local", "srt://127.0.0.1:7481");
  if (!tether_server_listen (server, "127.0.0.1", 0, &error))
    tether_fuzz_fail ("tether_server_listen: %s", error->message);
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      memset (&clients[i], 0, sizeof clients[i]);
      clients[i].fd = -1;
      clients[i].in = g_byte_array_new ();
    }

  while (p < end && lines++ < MAX_LINES)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize len = (nl != NULL ? nl : end) - p;

      if (len > 0)
        run_line (p, len);
      p += len + 1;
    }

  /* Every client goes away; the server must let go of every connection. */
  for (guint i = 0; i < N_CLIENTS; i++)
    client_disconnect (&clients[i]);
  pump (no_connections, NULL);
  g_free (tether_server_get_metrics_text (server));
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_byte_array_unref (clients[i].in);
      g_free (clients[i].session_id);
      g_free (clients[i].resume_key);
    }
  return 0;
}
