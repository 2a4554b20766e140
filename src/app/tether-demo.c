/* tether-demo.c: the demo room — a TetherServer and its media node on ephemeral ports,
 * and hosts that publish the test picture for a while, pause, and come back, staggered
 * so that stream ADD/DELETE and autoplay are visible within a minute
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tether.h"
#include "tether-demo.h"
#include "tether-server.h"
#ifdef TETHER_HAVE_RELAY
#include "tether-relay.h"
#endif

typedef struct
{
  TetherDemo *demo;             /* not owned */
  guint index;
  char *user_id;
  const char *name;
  char *stream_id;
  TetherEngine *engine;
  TetherRoom *room;
#ifdef TETHER_HAVE_MEDIA
  TetherPublisher *publisher;
#endif
  guint timer_id;
  gboolean publish_next;
  gboolean first_round;
} Host;

struct _TetherDemo
{
  GObject parent_instance;

  double publish_time;
  double pause_time;
  guint n_hosts;

  char *secret;
  TetherServer *server;
#ifdef TETHER_HAVE_RELAY
  TetherRelay *relay;
#endif
  char *server_url;
  GPtrArray *hosts;             /* Host */
};

enum
{
  PROP_0,
  PROP_PUBLISH_TIME,
  PROP_PAUSE_TIME,
  PROP_N_HOSTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherDemo, tether_demo, G_TYPE_OBJECT)

static const char * const host_names[] = { "Ada", "Grace", "Hedy", "Katherine" };

static void host_schedule (Host *host, double seconds, gboolean publish_next);

#ifdef TETHER_HAVE_MEDIA
static void
host_stop_publishing (Host *host)
{
  if (host->publisher == NULL)
    return;
  tether_publisher_stop (host->publisher);
  g_clear_object (&host->publisher);
}

static void
host_start_publishing (Host *host)
{
  g_autoptr(GError) error = NULL;

  if (host->publisher != NULL || host->room == NULL)
    return;
  host->publisher = tether_publisher_new (host->room, host->stream_id, 1200);
  tether_publisher_set_source (host->publisher, TETHER_PUBLISHER_SOURCE_TEST);
  g_object_set (host->publisher,
                "audio", g_getenv ("TETHER_NO_AUDIO") == NULL,
                "extra", host->name,
                NULL);
  if (!tether_publisher_start (host->publisher, &error))
    {
      g_warning ("demo host %s cannot publish: %s", host->user_id, error->message);
      g_clear_object (&host->publisher);
    }
}
#endif

static gboolean
host_timer_cb (gpointer data)
{
  Host *host = data;
  gboolean publish = host->publish_next;
  double duration = publish ? host->demo->publish_time : host->demo->pause_time;

  /* A later host's first round is shorter, so that the hosts' pauses do not line up. */
  if (publish && host->first_round && host->index > 0)
    duration = host->demo->publish_time / (host->index + 1);
  if (publish)
    host->first_round = FALSE;
  host->timer_id = 0;
#ifdef TETHER_HAVE_MEDIA
  if (publish)
    host_start_publishing (host);
  else
    host_stop_publishing (host);
#endif
  host_schedule (host, duration, !publish);
  return G_SOURCE_REMOVE;
}

static void
host_schedule (Host     *host,
               double    seconds,
               gboolean  publish_next)
{
  g_clear_handle_id (&host->timer_id, g_source_remove);
  host->publish_next = publish_next;
  host->timer_id = g_timeout_add ((guint) (seconds * 1000), host_timer_cb, host);
}

static void
host_free (gpointer data)
{
  Host *host = data;

  g_clear_handle_id (&host->timer_id, g_source_remove);
#ifdef TETHER_HAVE_MEDIA
  host_stop_publishing (host);
#endif
  if (host->room != NULL && tether_room_get_state (host->room) != TETHER_ROOM_STATE_LOGOUT)
    tether_engine_logout_room (host->engine, host->room);
  g_clear_object (&host->room);
  g_clear_object (&host->engine);
  g_free (host->user_id);
  g_free (host->stream_id);
  g_free (host);
}

char *
tether_demo_mint_token (TetherDemo *self,
                        const char *user_id)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), NULL);

  return tether_token_mint (self->secret, TETHER_DEMO_APP_ID, user_id, TETHER_DEMO_ROOM_ID,
                            TETHER_PRIVILEGE_LOGIN | TETHER_PRIVILEGE_PUBLISH, NULL,
                            g_get_real_time () / G_USEC_PER_SEC, 7 * 24 * 3600);
}

gboolean
tether_demo_start (TetherDemo  *self,
                   GError     **error)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), FALSE);

  if (self->server != NULL)
    return TRUE;

  self->server = tether_server_new (TETHER_DEMO_APP_ID, self->secret);
  if (!tether_server_listen (self->server, "127.0.0.1", 0, error))
    {
      g_clear_object (&self->server);
      return FALSE;
    }
  self->server_url = tether_server_get_url (self->server);

#ifdef TETHER_HAVE_RELAY
  {
    g_autofree char *node_url = NULL;

    self->relay = tether_relay_new (TETHER_DEMO_APP_ID, self->secret);
    if (!tether_relay_listen (self->relay, "127.0.0.1", 0, error))
      {
        tether_demo_stop (self);
        return FALSE;
      }
    node_url = g_strdup_printf ("srt://127.0.0.1:%u", tether_relay_get_port (self->relay));
    tether_server_attach_relay (self->server, self->relay, "local", node_url);
  }
#endif

  for (guint i = 0; i < self->n_hosts; i++)
    {
      Host *host = g_new0 (Host, 1);
      g_autofree char *token = NULL;
      g_autoptr(TetherLoginOptions) login = NULL;

      host->demo = self;
      host->index = i;
      host->name = host_names[i % G_N_ELEMENTS (host_names)];
      host->user_id = g_ascii_strdown (host->name, -1);
      host->stream_id = g_strdup_printf ("%s-camera", host->user_id);
      host->engine = tether_engine_new ();
      token = tether_demo_mint_token (self, host->user_id);
      login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS, "server-url", self->server_url,
                            "app-id", TETHER_DEMO_APP_ID, "room-id", TETHER_DEMO_ROOM_ID,
                            "user-id", host->user_id, "user-name", host->name, "token", token,
                            NULL);
      host->room = tether_engine_login_room (host->engine, login);
      host->first_round = TRUE;
      g_ptr_array_add (self->hosts, host);

      /* Staggered: the first host goes live at once, the next ones a moment later. */
      host_schedule (host, i == 0 ? 0.2 : 2.0 * i, TRUE);
    }
  return TRUE;
}

void
tether_demo_stop (TetherDemo *self)
{
  g_return_if_fail (TETHER_IS_DEMO (self));

  g_ptr_array_set_size (self->hosts, 0);
#ifdef TETHER_HAVE_RELAY
  if (self->relay != NULL)
    tether_relay_stop (self->relay);
  g_clear_object (&self->relay);
#endif
  if (self->server != NULL)
    tether_server_shutdown (self->server, 0);
  g_clear_object (&self->server);
  g_clear_pointer (&self->server_url, g_free);
}

const char *
tether_demo_get_server_url (TetherDemo *self)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), NULL);

  return self->server_url;
}

gboolean
tether_demo_has_media (TetherDemo *self)
{
  g_return_val_if_fail (TETHER_IS_DEMO (self), FALSE);

#if defined(TETHER_HAVE_RELAY) && defined(TETHER_HAVE_MEDIA)
  return self->relay != NULL;
#else
  return FALSE;
#endif
}

guint
tether_demo_get_n_publishing (TetherDemo *self)
{
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_DEMO (self), 0);

#ifdef TETHER_HAVE_MEDIA
  for (guint i = 0; i < self->hosts->len; i++)
    {
      Host *host = g_ptr_array_index (self->hosts, i);

      if (host->publisher != NULL
          && tether_publisher_get_state (host->publisher) == TETHER_PUBLISHER_STATE_PUBLISHING)
        n++;
    }
#endif
  return n;
}

TetherDemo *
tether_demo_new (void)
{
  return g_object_new (TETHER_TYPE_DEMO, NULL);
}

static void
tether_demo_dispose (GObject *object)
{
  TetherDemo *self = TETHER_DEMO (object);

  tether_demo_stop (self);

  G_OBJECT_CLASS (tether_demo_parent_class)->dispose (object);
}

static void
tether_demo_finalize (GObject *object)
{
  TetherDemo *self = TETHER_DEMO (object);

  g_ptr_array_unref (self->hosts);
  g_free (self->secret);

  G_OBJECT_CLASS (tether_demo_parent_class)->finalize (object);
}

static void
tether_demo_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TetherDemo *self = TETHER_DEMO (object);

  switch (prop_id)
    {
    case PROP_PUBLISH_TIME: g_value_set_double (value, self->publish_time); break;
    case PROP_PAUSE_TIME: g_value_set_double (value, self->pause_time); break;
    case PROP_N_HOSTS: g_value_set_uint (value, self->n_hosts); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_demo_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TetherDemo *self = TETHER_DEMO (object);

  switch (prop_id)
    {
    case PROP_PUBLISH_TIME: self->publish_time = g_value_get_double (value); break;
    case PROP_PAUSE_TIME: self->pause_time = g_value_get_double (value); break;
    case PROP_N_HOSTS: self->n_hosts = g_value_get_uint (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_demo_class_init (TetherDemoClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->dispose = tether_demo_dispose;
  object_class->finalize = tether_demo_finalize;
  object_class->get_property = tether_demo_get_property;
  object_class->set_property = tether_demo_set_property;

  properties[PROP_PUBLISH_TIME] = g_param_spec_double ("publish-time", NULL, NULL, 1, 3600, 40, flags);
  properties[PROP_PAUSE_TIME] = g_param_spec_double ("pause-time", NULL, NULL, 1, 3600, 10, flags);
  properties[PROP_N_HOSTS] = g_param_spec_uint ("n-hosts", NULL, NULL, 0, 4, 2, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_demo_init (TetherDemo *self)
{
  g_autofree guint8 *raw = g_malloc (24);

  self->publish_time = 40;
  self->pause_time = 10;
  self->n_hosts = 2;
  self->hosts = g_ptr_array_new_with_free_func (host_free);
  for (guint i = 0; i < 24; i++)
    raw[i] = (guint8) g_random_int_range (0, 256);
  /* A fresh secret per run: nothing outside this process can log into the demo room. */
  self->secret = tether_base64url_encode (raw, 24);
}
