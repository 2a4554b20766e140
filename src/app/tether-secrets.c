/* tether-secrets.c: the token and the development app secret in the Secret Service
 * (libsecret; in Flatpak its file backend unlocked through the secret portal), one pair
 * per server URL and app id, loaded and stored asynchronously, plain values left in
 * GSettings by older versions moved over and erased; memory only when no keyring answers.
 * See docs/security.md, "Where the app keeps secrets".
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>

#include "tether-secrets.h"

/* A burst of typing is one store; a server URL being typed is one lookup. */
#define STORE_DELAY_MS 1000
#define RELOAD_DELAY_MS 500
/* How long quitting waits for a last store. */
#define FLUSH_DEADLINE_MS 3000

typedef enum
{
  SECRET_TOKEN,
  SECRET_APP_SECRET,
  N_SECRETS
} SecretKind;

/* The "kind" attribute, the GSettings key older versions used and the property name. */
static const char * const kind_names[N_SECRETS] = { "token", "app-secret" };

/* Items carry kind, server (the server-url setting, trimmed) and app-id (likewise). */
static const SecretSchema schema = {
  "io.github.tetherlive.Tether.Secret", SECRET_SCHEMA_NONE,
  {
    { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "app-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  }
};

struct _TetherSecrets
{
  GObject parent_instance;

  GSettings *settings;
  char *values[N_SECRETS];
  gboolean dirty[N_SECRETS];  /* changed from outside since the last store */
  guint edits;                /* changes from outside: a lookup never overwrites a newer one */
  char *server;               /* the key the values belong to */
  char *app_id;

  gboolean available;         /* FALSE once the keyring failed: memory only from then on */
  gboolean busy;
  guint pending;              /* lookups and stores under way */
  GCancellable *load_cancellable;
  guint store_id;
  guint reload_id;
};

enum
{
  PROP_0,
  PROP_SETTINGS,
  PROP_TOKEN,
  PROP_APP_SECRET,
  PROP_AVAILABLE,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherSecrets, tether_secrets, G_TYPE_OBJECT)

/* Wiped before it is freed, as the server does with its app secret. */
static void
forget (char **value)
{
  if (*value != NULL)
    memset (*value, 0, strlen (*value));
  g_clear_pointer (value, g_free);
}

static GParamSpec *
kind_pspec (SecretKind kind)
{
  return properties[kind == SECRET_TOKEN ? PROP_TOKEN : PROP_APP_SECRET];
}

static void
update_busy (TetherSecrets *self)
{
  gboolean busy = self->pending > 0 || self->store_id != 0 || self->reload_id != 0;

  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Said once: the secrets stay in memory for this run; GSettings keeps what it had. */
static void
set_unavailable (TetherSecrets *self,
                 const GError  *error)
{
  if (!self->available)
    return;
  g_message ("No keyring (Secret Service) answered, the token and app secret are kept in "
             "memory only: %s", error->message);
  self->available = FALSE;
  g_clear_handle_id (&self->store_id, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABLE]);
  update_busy (self);
}

/* ---- one lookup or store ------------------------------------------------------------ */

typedef struct
{
  TetherSecrets *self;
  SecretKind kind;
  guint edits;     /* a lookup: self->edits when it started */
  char *migrated;  /* a store: the GSettings value it moves, erased once stored */
  gboolean clearing;
} Op;

static Op *
op_new (TetherSecrets *self,
        SecretKind     kind,
        const char    *migrated)
{
  Op *op = g_new0 (Op, 1);

  op->self = g_object_ref (self);
  op->kind = kind;
  op->edits = self->edits;
  op->migrated = g_strdup (migrated);
  self->pending++;
  update_busy (self);
  return op;
}

static void
op_free (Op *op)
{
  op->self->pending--;
  update_busy (op->self);
  g_object_unref (op->self);
  g_free (op->migrated);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Op, op_free)

static void
set_value (TetherSecrets *self,
           SecretKind     kind,
           const char    *value,
           gboolean       from_outside);

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  g_autoptr(GError) error = NULL;
  char *value = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_unavailable (op->self, error);
      return;
    }
  /* Nothing stored for this server keeps what the fields hold. */
  if (value != NULL && op->edits == op->self->edits)
    set_value (op->self, op->kind, value, FALSE);
  secret_password_free (value);
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(Op) op = user_data;
  g_autoptr(GError) error = NULL;
  const char *key = kind_names[op->kind];

  /* Clearing nothing is FALSE without an error: only the error counts. */
  if (op->clearing)
    secret_password_clear_finish (result, &error);
  else
    secret_password_store_finish (result, &error);
  if (error != NULL)
    {
      set_unavailable (op->self, error);
      return;
    }
  if (op->migrated != NULL)
    {
      g_autofree char *plain = g_settings_get_string (op->self->settings, key);

      /* Erased only once it is in the keyring, and only if nobody changed it since. */
      if (g_strcmp0 (plain, op->migrated) == 0)
        g_settings_set_string (op->self->settings, key, "");
      g_debug ("moved the %s from GSettings into the keyring", key);
    }
}

static void
start_store (TetherSecrets *self,
             SecretKind     kind,
             const char    *migrated)
{
  const char *value = migrated != NULL ? migrated : self->values[kind];
  g_autofree char *label = NULL;

  if (*value == '\0')
    {
      Op *op = op_new (self, kind, NULL);

      op->clearing = TRUE;
      secret_password_clear (&schema, NULL, store_cb, op,
                             "kind", kind_names[kind], "server", self->server,
                             "app-id", self->app_id, NULL);
      return;
    }
  if (kind == SECRET_TOKEN)
    /* Translators: the keyring item that holds the token; %s is the server URL */
    label = g_strdup_printf (_("Tether token for %s"), self->server);
  else
    /* Translators: the keyring item that holds the app secret; server URL, app id */
    label = g_strdup_printf (_("Tether app secret for %s (%s)"), self->server, self->app_id);
  secret_password_store (&schema, SECRET_COLLECTION_DEFAULT, label, value, NULL, store_cb,
                         op_new (self, kind, migrated),
                         "kind", kind_names[kind], "server", self->server,
                         "app-id", self->app_id, NULL);
}

/* ---- storing and loading ------------------------------------------------------------ */

static void
store_now (TetherSecrets *self)
{
  g_clear_handle_id (&self->store_id, g_source_remove);
  for (SecretKind kind = 0; kind < N_SECRETS; kind++)
    if (self->dirty[kind])
      {
        self->dirty[kind] = FALSE;
        if (self->available)
          start_store (self, kind, NULL);
      }
  update_busy (self);
}

static gboolean
store_timeout_cb (gpointer user_data)
{
  TetherSecrets *self = user_data;

  self->store_id = 0;
  store_now (self);
  return G_SOURCE_REMOVE;
}

static void
set_value (TetherSecrets *self,
           SecretKind     kind,
           const char    *value,
           gboolean       from_outside)
{
  if (value == NULL)
    value = "";
  if (g_strcmp0 (self->values[kind], value) == 0)
    return;
  forget (&self->values[kind]);
  self->values[kind] = g_strdup (value);
  if (from_outside)
    {
      self->edits++;
      self->dirty[kind] = TRUE;
      if (self->available)
        {
          g_clear_handle_id (&self->store_id, g_source_remove);
          self->store_id = g_timeout_add (STORE_DELAY_MS, store_timeout_cb, self);
          update_busy (self);
        }
    }
  g_object_notify_by_pspec (G_OBJECT (self), kind_pspec (kind));
}

static char *
get_trimmed (GSettings  *settings,
             const char *key)
{
  return g_strstrip (g_settings_get_string (settings, key));
}

/* Reads the key (server, app id) from the settings and what is stored under it; plain
 * values in GSettings win (an older version wrote them) and move into the keyring. */
static void
load (TetherSecrets *self)
{
  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  g_free (self->server);
  g_free (self->app_id);
  self->server = get_trimmed (self->settings, "server-url");
  self->app_id = get_trimmed (self->settings, "app-id");

  for (SecretKind kind = 0; kind < N_SECRETS; kind++)
    {
      g_autofree char *plain = g_settings_get_string (self->settings, kind_names[kind]);

      if (*plain != '\0')
        {
          set_value (self, kind, plain, FALSE);
          if (self->available)
            start_store (self, kind, plain);
        }
      else if (self->available)
        secret_password_lookup (&schema, self->load_cancellable, lookup_cb,
                                op_new (self, kind, NULL),
                                "kind", kind_names[kind], "server", self->server,
                                "app-id", self->app_id, NULL);
    }
  update_busy (self);
}

static gboolean
reload_timeout_cb (gpointer user_data)
{
  TetherSecrets *self = user_data;

  self->reload_id = 0;
  load (self);
  return G_SOURCE_REMOVE;
}

static void
settings_changed_cb (TetherSecrets *self,
                     const char    *key)
{
  g_autofree char *value = get_trimmed (self->settings, key);

  if (g_str_equal (key, "server-url") || g_str_equal (key, "app-id"))
    {
      if (g_strcmp0 (value, g_str_equal (key, "server-url") ? self->server : self->app_id) == 0)
        return;
      /* What was typed belongs to the old server: stored under it first. */
      if (self->store_id != 0)
        store_now (self);
    }
  else if (*value == '\0')
    return;  /* our own erasing, or a reset */
  g_clear_handle_id (&self->reload_id, g_source_remove);
  self->reload_id = g_timeout_add (RELOAD_DELAY_MS, reload_timeout_cb, self);
  update_busy (self);
}

/* ---- public API ----------------------------------------------------------------------- */

/**
 * tether_secrets_new:
 * @settings: the app's settings: "server-url" and "app-id" name the stored pair, the
 *   deprecated "token" and "app-secret" are migrated
 *
 * Starts loading at once, without waiting for the keyring.
 *
 * Returns: (transfer full): the secrets, empty until the keyring answers
 */
TetherSecrets *
tether_secrets_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (TETHER_TYPE_SECRETS, "settings", settings, NULL);
}

/**
 * tether_secrets_get_token:
 * @self: the secrets
 *
 * Returns: the login token for the current server, "" when none
 */
const char *
tether_secrets_get_token (TetherSecrets *self)
{
  g_return_val_if_fail (TETHER_IS_SECRETS (self), NULL);

  return self->values[SECRET_TOKEN];
}

/**
 * tether_secrets_get_app_secret:
 * @self: the secrets
 *
 * Returns: the development app secret for the current server and app id, "" when none
 */
const char *
tether_secrets_get_app_secret (TetherSecrets *self)
{
  g_return_val_if_fail (TETHER_IS_SECRETS (self), NULL);

  return self->values[SECRET_APP_SECRET];
}

/**
 * tether_secrets_get_available:
 * @self: the secrets
 *
 * Returns: FALSE once the keyring failed to answer: the values live in memory only
 */
gboolean
tether_secrets_get_available (TetherSecrets *self)
{
  g_return_val_if_fail (TETHER_IS_SECRETS (self), FALSE);

  return self->available;
}

/**
 * tether_secrets_get_busy:
 * @self: the secrets
 *
 * Returns: whether a lookup, a store or a migration is under way or due
 */
gboolean
tether_secrets_get_busy (TetherSecrets *self)
{
  g_return_val_if_fail (TETHER_IS_SECRETS (self), FALSE);

  return self->busy;
}

/**
 * tether_secrets_remember:
 * @self: the secrets
 *
 * Stores both values under the current server and app id now (a join used them), also
 * when they were carried over from another server.
 */
void
tether_secrets_remember (TetherSecrets *self)
{
  g_return_if_fail (TETHER_IS_SECRETS (self));

  for (SecretKind kind = 0; kind < N_SECRETS; kind++)
    self->dirty[kind] = TRUE;
  store_now (self);
}

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * tether_secrets_flush:
 * @self: the secrets
 *
 * Stores what is due now and runs the default main context until the keyring has
 * answered, for at most a few seconds: the app is quitting.
 */
void
tether_secrets_flush (TetherSecrets *self)
{
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_return_if_fail (TETHER_IS_SECRETS (self));

  g_clear_handle_id (&self->reload_id, g_source_remove);
  if (self->store_id != 0)
    store_now (self);
  if (self->pending == 0)
    return;
  timeout_id = g_timeout_add (FLUSH_DEADLINE_MS, flag_cb, &timed_out);
  while (self->pending > 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
}

/* ---- GObject ------------------------------------------------------------------------- */

static void
tether_secrets_constructed (GObject *object)
{
  TetherSecrets *self = TETHER_SECRETS (object);

  G_OBJECT_CLASS (tether_secrets_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));
  for (guint i = 0; i < 4; i++)
    {
      static const char * const keys[] = { "server-url", "app-id", "token", "app-secret" };
      g_autofree char *signal = g_strconcat ("changed::", keys[i], NULL);

      g_signal_connect_object (self->settings, signal, G_CALLBACK (settings_changed_cb), self,
                               G_CONNECT_SWAPPED);
    }
  load (self);
}

static void
tether_secrets_dispose (GObject *object)
{
  TetherSecrets *self = TETHER_SECRETS (object);

  /* Lookups and stores hold a reference: none is under way by now. */
  g_clear_handle_id (&self->store_id, g_source_remove);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tether_secrets_parent_class)->dispose (object);
}

static void
tether_secrets_finalize (GObject *object)
{
  TetherSecrets *self = TETHER_SECRETS (object);

  for (SecretKind kind = 0; kind < N_SECRETS; kind++)
    forget (&self->values[kind]);
  g_free (self->server);
  g_free (self->app_id);

  G_OBJECT_CLASS (tether_secrets_parent_class)->finalize (object);
}

static void
tether_secrets_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TetherSecrets *self = TETHER_SECRETS (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->settings); break;
    case PROP_TOKEN: g_value_set_string (value, self->values[SECRET_TOKEN]); break;
    case PROP_APP_SECRET: g_value_set_string (value, self->values[SECRET_APP_SECRET]); break;
    case PROP_AVAILABLE: g_value_set_boolean (value, self->available); break;
    case PROP_BUSY: g_value_set_boolean (value, self->busy); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_secrets_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TetherSecrets *self = TETHER_SECRETS (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_TOKEN:
      set_value (self, SECRET_TOKEN, g_value_get_string (value), TRUE);
      break;
    case PROP_APP_SECRET:
      set_value (self, SECRET_APP_SECRET, g_value_get_string (value), TRUE);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_secrets_class_init (TetherSecretsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = tether_secrets_constructed;
  object_class->dispose = tether_secrets_dispose;
  object_class->finalize = tether_secrets_finalize;
  object_class->get_property = tether_secrets_get_property;
  object_class->set_property = tether_secrets_set_property;

  /**
   * TetherSecrets:settings:
   *
   * The app's settings: "server-url" and "app-id" say which stored pair the values are;
   * the deprecated "token" and "app-secret" keys are moved into the keyring.
   */
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherSecrets:token:
   *
   * The login token for the current server and app id; setting it stores it (a second
   * after the last change). Never NULL.
   */
  properties[PROP_TOKEN] = g_param_spec_string ("token", NULL, NULL, "", rw);
  /**
   * TetherSecrets:app-secret:
   *
   * The development app secret for the current server and app id, stored like the token.
   */
  properties[PROP_APP_SECRET] = g_param_spec_string ("app-secret", NULL, NULL, "", rw);
  /**
   * TetherSecrets:available:
   *
   * TRUE until the keyring fails to answer; then the values are kept in memory only and
   * the deprecated GSettings keys keep what they hold.
   */
  properties[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, TRUE, ro);
  /**
   * TetherSecrets:busy:
   *
   * Whether a lookup, store or migration is under way or due.
   */
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_secrets_init (TetherSecrets *self)
{
  /* Tests other than test-keyring keep off the user's keyring (tests/meson.build). */
  self->available = g_getenv ("TETHER_NO_KEYRING") == NULL;
  for (SecretKind kind = 0; kind < N_SECRETS; kind++)
    self->values[kind] = g_strdup ("");
}
