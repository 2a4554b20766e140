/* tether-test-ws.c: the bytes of a hand-made WebSocket client
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether-test-ws.h"

/**
 * tether_test_ws_upgrade_request:
 * @port: the server's port on 127.0.0.1
 *
 * Returns: (transfer full): the HTTP request that upgrades a connection to /ws;
 *   the answer to wait for begins with `HTTP/1.1 101` and ends with a blank line
 */
char *
tether_test_ws_upgrade_request (guint16 port)
{
  return g_strdup_printf (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", port);
}

/**
 * tether_test_ws_client_frame:
 * @fin: %FALSE starts or continues a fragmented message
 * @opcode: 0x1 text, 0x0 continuation, 0x8 close, ...
 * @payload: (array length=len): the payload
 * @len: its length
 *
 * Returns: (transfer full): one masked client frame (RFC 6455, 5.2)
 */
GByteArray *
tether_test_ws_client_frame (gboolean      fin,
                             guint8        opcode,
                             const guint8 *payload,
                             gsize         len)
{
  static const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  GByteArray *frame = g_byte_array_sized_new (14 + len);
  guint8 head[10];
  gsize head_len;

  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126)
    {
      head[1] = 0x80 | (guint8) len;
      head_len = 2;
    }
  else if (len <= G_MAXUINT16)
    {
      head[1] = 0x80 | 126;
      head[2] = (guint8) (len >> 8);
      head[3] = (guint8) len;
      head_len = 4;
    }
  else
    {
      head[1] = 0x80 | 127;
      for (guint i = 0; i < 8; i++)
        head[2 + i] = (guint8) ((guint64) len >> (56 - 8 * i));
      head_len = 10;
    }
  g_byte_array_append (frame, head, head_len);
  g_byte_array_append (frame, mask, 4);
  g_byte_array_set_size (frame, head_len + 4 + len);
  for (gsize i = 0; i < len; i++)
    frame->data[head_len + 4 + i] = payload[i] ^ mask[i % 4];
  return frame;
}
