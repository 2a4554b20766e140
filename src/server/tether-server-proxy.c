/* tether-server-proxy.c: trusted reverse proxies (--trusted-proxy) — the client
 * address of a request that came through one, from X-Forwarded-For or Forwarded
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tether-server-private.h"

/*
 * The address the per-address limits count (login and guest-token buckets) and the
 * logs name is the TCP peer's. Behind a reverse proxy every peer is the proxy, so for
 * a peer inside a --trusted-proxy range the address comes from the headers the proxy
 * adds: X-Forwarded-For when present, else Forwarded (RFC 7239), read from the right,
 * skipping addresses that are trusted proxies themselves; the first one that is not
 * is the client (anything left of it was written by the client and proves nothing).
 * A header that cannot be read entirely (a bad address, "unknown", an obfuscated
 * name) is ignored, and so are both headers from a peer that is not trusted: the
 * address is then the peer's. See docs/security.md, "Reverse proxies".
 */

/* Headers this long are not a proxy's; a few hops of addresses fit easily. */
#define MAX_FORWARDED_HEADER 4096

/* An IPv4-mapped IPv6 address (a dual-stack socket's peer) as the IPv4 address. */
static GInetAddress *
unmapped (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
      && memcmp (bytes, prefix, sizeof prefix) == 0)
    return g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
  return g_object_ref (address);
}

static gboolean
is_trusted (TetherServer *self,
            GInetAddress *address)
{
  g_autoptr(GInetAddress) plain = unmapped (address);

  for (guint i = 0; i < self->trusted_proxies->len; i++)
    if (g_inet_address_mask_matches (self->trusted_proxies->pdata[i], plain))
      return TRUE;
  return FALSE;
}

/* One X-Forwarded-For entry ("192.0.2.1", "2001:db8::1", "[2001:db8::1]:443",
 * "192.0.2.1:443") or Forwarded "for=" value (quotes removed), or %NULL. */
static GInetAddress *
parse_node (const char *text)
{
  g_autofree char *node = g_strstrip (g_strdup (text));
  char *end;

  if (node[0] == '[')
    {
      end = strchr (node, ']');
      if (end == NULL || (end[1] != '\0' && end[1] != ':'))
        return NULL;
      *end = '\0';
      return g_inet_address_new_from_string (node + 1);
    }
  /* An IPv4 address with a port: one colon (an IPv6 address has at least two). */
  end = strchr (node, ':');
  if (end != NULL && strchr (end + 1, ':') == NULL)
    *end = '\0';
  return g_inet_address_new_from_string (node);
}

/* The "for=" value of one Forwarded element ("for=192.0.2.60;proto=https;by=…"), or
 * %NULL when it has none or the element is not well formed. */
static char *
forwarded_for (const char *element)
{
  g_auto(GStrv) pairs = g_strsplit (element, ";", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      char *pair = g_strstrip (pairs[i]);
      gsize len;

      if (g_ascii_strncasecmp (pair, "for=", 4) != 0)
        continue;
      pair += 4;
      len = strlen (pair);
      if (len >= 2 && pair[0] == '"' && pair[len - 1] == '"')
        return g_strndup (pair + 1, len - 2);
      if (strchr (pair, '"') != NULL)
        return NULL;
      return g_strdup (pair);
    }
  return NULL;
}

/* The client address in @header (a comma-separated list of hops, the nearest last),
 * or %NULL when the header says nothing usable. */
static char *
client_from_header (TetherServer *self,
                    const char   *header,
                    gboolean      forwarded)
{
  g_auto(GStrv) hops = NULL;
  g_autoptr(GInetAddress) client = NULL;
  guint n;

  if (header == NULL || strlen (header) > MAX_FORWARDED_HEADER)
    return NULL;
  hops = g_strsplit (header, ",", -1);
  n = g_strv_length (hops);
  for (guint i = n; i > 0; i--)
    {
      g_autofree char *value = forwarded ? forwarded_for (hops[i - 1]) : g_strdup (hops[i - 1]);
      g_autoptr(GInetAddress) address = value != NULL ? parse_node (value) : NULL;

      if (address == NULL)
        return NULL;
      g_set_object (&client, address);
      if (!is_trusted (self, address))
        break;
    }
  if (client == NULL)
    return NULL;
  {
    g_autoptr(GInetAddress) plain = unmapped (client);

    return g_inet_address_to_string (plain);
  }
}

/**
 * tether_server_client_address:
 * @msg: a request on the public port
 * @peer: the address of the TCP peer that sent it (its link's)
 *
 * Returns: (transfer full): the client's address: @peer, or when @peer is a trusted
 *   proxy the address its X-Forwarded-For or Forwarded header names
 */
char *
tether_server_client_address (TetherServer      *self,
                              SoupServerMessage *msg,
                              const char        *peer)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(GInetAddress) peer_address = NULL;
  char *client = NULL;

  if (self->trusted_proxies->len == 0 || peer == NULL)
    return g_strdup (peer);
  peer_address = g_inet_address_new_from_string (peer);
  if (peer_address == NULL || !is_trusted (self, peer_address))
    return g_strdup (peer);

  if (soup_message_headers_get_list (headers, "X-Forwarded-For") != NULL)
    client = client_from_header (self, soup_message_headers_get_list (headers, "X-Forwarded-For"),
                                 FALSE);
  else
    client = client_from_header (self, soup_message_headers_get_list (headers, "Forwarded"), TRUE);
  return client != NULL ? client : g_strdup (peer);
}

/* Whether the TCP peer @peer (an accepted connection's) is a trusted proxy: it
 * carries many clients, so the per-address connection cap does not count it. */
gboolean
tether_server_peer_is_trusted_proxy (TetherServer   *self,
                                     GSocketAddress *peer)
{
  return self->trusted_proxies->len > 0 && G_IS_INET_SOCKET_ADDRESS (peer)
         && is_trusted (self, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)));
}

/**
 * tether_server_add_trusted_proxy:
 * @self: a #TetherServer
 * @cidr: an address or a network, `ADDRESS/PREFIX` (`127.0.0.1`, `10.0.0.0/8`,
 *   `fd00::/8`)
 * @error: return location for an error
 *
 * Trusts the reverse proxies in @cidr to say who their clients are: a request whose
 * TCP peer is in @cidr counts against the per-address limits of the address in its
 * `X-Forwarded-For` (or `Forwarded: for=`) header. None by default.
 *
 * Returns: %FALSE with %G_OPTION_ERROR_BAD_VALUE when @cidr is not an address or a
 *   network
 */
gboolean
tether_server_add_trusted_proxy (TetherServer  *self,
                                 const char    *cidr,
                                 GError       **error)
{
  g_autoptr(GError) local = NULL;
  GInetAddressMask *mask;

  g_return_val_if_fail (TETHER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (cidr != NULL, FALSE);

  mask = g_inet_address_mask_new_from_string (cidr, &local);
  if (mask == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--trusted-proxy expects an address or a network such as 10.0.0.0/8, "
                   "got “%s”: %s", cidr, local->message);
      return FALSE;
    }
  g_ptr_array_add (self->trusted_proxies, mask);
  return TRUE;
}
