/* test-netns.c: a client in its own network namespace behind a veth pair whose link is
 * taken down and brought up again — a real interface, not a proxy
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <unistd.h>

#include "tether.h"
#include "tether-test-process.h"
#include "tether-test-server.h"
#include "tether-test-utils.h"

#define WAIT_MS 15000

typedef struct
{
  char *ns;
  char *host_if;
  char *ns_if;
  char *host_ip;
  char *ns_ip;
} Net;

static gboolean
run (GError **error,
     const char *first,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  int status = 0;
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                     &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "%s %s: %s: ", first, (char *) argv->pdata[1], err ? err : "");
      return FALSE;
    }
  return TRUE;
}

static void
net_free (Net *net)
{
  run (NULL, "ip", "link", "del", net->host_if, NULL);
  run (NULL, "ip", "netns", "del", net->ns, NULL);
  g_free (net->ns);
  g_free (net->host_if);
  g_free (net->ns_if);
  g_free (net->host_ip);
  g_free (net->ns_ip);
  g_free (net);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Net, net_free)

/* A namespace joined to this one by a veth pair on a /30 of its own. */
static Net *
net_new (GError **error)
{
  g_autoptr(Net) net = g_new0 (Net, 1);
  guint id = (guint) getpid () % 250 + 1;
  g_autofree char *host_cidr = NULL, *ns_cidr = NULL;

  net->ns = g_strdup_printf ("tether-test-%u", (guint) getpid ());
  net->host_if = g_strdup_printf ("tth%u", (guint) getpid ());
  net->ns_if = g_strdup_printf ("ttn%u", (guint) getpid ());
  net->host_ip = g_strdup_printf ("10.231.%u.1", id);
  net->ns_ip = g_strdup_printf ("10.231.%u.2", id);
  host_cidr = g_strdup_printf ("%s/30", net->host_ip);
  ns_cidr = g_strdup_printf ("%s/30", net->ns_ip);

  if (!run (error, "ip", "netns", "add", net->ns, NULL)
      || !run (error, "ip", "link", "add", net->host_if, "type", "veth", "peer", "name",
               net->ns_if, NULL)
      || !run (error, "ip", "link", "set", net->ns_if, "netns", net->ns, NULL)
      || !run (error, "ip", "addr", "add", host_cidr, "dev", net->host_if, NULL)
      || !run (error, "ip", "link", "set", net->host_if, "up", NULL)
      || !run (error, "ip", "-n", net->ns, "addr", "add", ns_cidr, "dev", net->ns_if, NULL)
      || !run (error, "ip", "-n", net->ns, "link", "set", "lo", "up", NULL)
      || !run (error, "ip", "-n", net->ns, "link", "set", net->ns_if, "up", NULL))
    return NULL;

  return g_steal_pointer (&net);
}

/* The client's side of the link goes down and comes back: the client notices, and is
 * back in the room — resumed, unseen by others — once the link is up. */
static void
test_link_down_up (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Net) net = NULL;
  g_autoptr(TetherTestProcess) server = NULL;
  g_autoptr(TetherTestProcess) client = NULL;
  g_autofree char *server_bin = tether_test_server_program ();
  g_autofree char *cli = tether_test_cli_program ();
  g_autofree char *listen = NULL, *line = NULL, *url = NULL;
  const char *port;

  if (getuid () != 0)
    {
      g_test_skip ("needs root to create a network namespace");
      return;
    }
  net = net_new (&error);
  if (net == NULL)
    {
      g_autofree char *why = g_strdup_printf ("cannot create a network namespace: %s",
                                              error->message);
      g_test_skip (why);
      return;
    }

  listen = g_strdup_printf ("%s:0", net->host_ip);
  server = tether_test_process_spawn (&error, server_bin, "--listen", listen,
                                      "--app-id", TETHER_TEST_APP_ID,
                                      "--app-secret", TETHER_TEST_SECRET,
                                      "--heartbeat-timeout", "6", "--heartbeat-interval", "0.3",
                                      NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (server, "listening on", WAIT_MS, &line));
  port = strrchr (line, ':') + 1;
  url = g_strdup_printf ("ws://%s:%d/ws", net->host_ip, atoi (port));

  client = tether_test_process_spawn (&error, "ip", "netns", "exec", net->ns, cli, "watch",
                                      "--server", url, "--app-id", TETHER_TEST_APP_ID,
                                      "--app-secret", TETHER_TEST_SECRET, "--room", "lobby",
                                      "--user", "roamer", NULL);
  g_assert_no_error (error);
  g_assert_true (tether_test_process_wait_for_line (client, "\"reason\":\"LOGINED\"", WAIT_MS,
                                                    NULL));

  g_assert_true (run (&error, "ip", "-n", net->ns, "link", "set", net->ns_if, "down", NULL));
  g_assert_true (tether_test_process_wait_for_line (client, "\"reason\":\"RECONNECTING\"",
                                                    WAIT_MS, NULL));
  g_assert_true (run (&error, "ip", "-n", net->ns, "link", "set", net->ns_if, "up", NULL));
  g_assert_true (tether_test_process_wait_for_line (client, "\"reason\":\"RECONNECTED\"",
                                                    WAIT_MS, NULL));
  g_assert_true (tether_test_process_wait_for_line (client, "\"resumed\":true", WAIT_MS, NULL));
  g_assert_false (tether_test_process_has_exited (client));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TETHER_NO_SYSTEM_BUS", "1", TRUE);

  g_test_add_func ("/netns/link-down-up", test_link_down_up);

  return g_test_run ();
}
