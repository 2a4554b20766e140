/* tether-start-page.c: server, room and user (remembered in GSettings), the token and
 * app secret (in the keyring, through TetherSecrets), the demo-room button, the last
 * room offered again, and the reason the last session ended (scrolled into view); the
 * server field takes a link, a host or host:port and says inline what it expected; Join
 * stays in view below the fields
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include <string.h>

#include "tether.h"
#include "tether-start-page-private.h"

struct _TetherStartPage
{
  GtkWidget parent_instance;

  GSettings *settings;
  GBindingGroup *secret_bindings;  /* the password rows ⇄ TetherSecrets */
  gboolean busy;
  char *error_title;
  char *error_message;
  char *error_details;

  /* template children */
  GtkScrolledWindow *scroller;
  GtkListBox *rejoin_list;
  AdwActionRow *rejoin_row;
  GtkLabel *description;
  GtkBox *error_box;
  GtkLabel *error_title_label;
  GtkLabel *error_label;
  GtkLabel *error_details_label;
  GtkButton *retry_button;
  GtkButton *demo_button;
  GtkButton *join_button;
  AdwEntryRow *server_row;
  GtkLabel *server_error_label;
  AdwEntryRow *room_row;
  AdwEntryRow *user_row;
  AdwEntryRow *name_row;
  AdwPasswordEntryRow *token_row;
  AdwEntryRow *app_id_row;
  AdwPasswordEntryRow *secret_row;
  GtkLabel *secrets_notice;
  GtkSpinner *spinner;
};

enum
{
  SIGNAL_JOIN,
  SIGNAL_DEMO,
  SIGNAL_RETRY,
  SIGNAL_OPEN_LINK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TetherStartPage, tether_start_page, GTK_TYPE_WIDGET)

static gboolean
has_text (AdwEntryRow *row)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));

  for (; text != NULL && *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return TRUE;
  return FALSE;
}

/* A link names the room itself: the room field may stay empty. */
static gboolean
server_is_link (TetherStartPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->server_row));

  while (g_ascii_isspace (*text))
    text++;
  return g_ascii_strncasecmp (text, "tether", 6) == 0 && strstr (text, "://") != NULL;
}

static void
update_actions (TetherStartPage *self)
{
  gboolean can_join = !self->busy && has_text (self->server_row)
                      && (has_text (self->room_row) || server_is_link (self));
  gboolean configured = has_text (self->server_row);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "start.join", can_join);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "start.demo", !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "start.retry", !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "start.rejoin", !self->busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), self->busy);
  gtk_spinner_set_spinning (self->spinner, self->busy);

  /* With no server configured yet, the demo room is the obvious first step. */
  if (configured)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->demo_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->join_button), "suggested-action");
      gtk_label_set_text (self->description, _("Join a room to watch its live streams."));
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->demo_button), "suggested-action");
      gtk_widget_remove_css_class (GTK_WIDGET (self->join_button), "suggested-action");
      gtk_label_set_text (self->description, _("No server is set up yet. Try the demo room: it runs on this computer, with two hosts that come and go."));
    }
}

static void
set_server_error (TetherStartPage *self,
                  const char      *detail)
{
  g_autofree char *text = NULL;

  if (detail == NULL)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->server_row), "error");
      gtk_widget_set_visible (GTK_WIDGET (self->server_error_label), FALSE);
      return;
    }
  /* Translators: %s says what is wrong, in English, e.g. “the port must be a number
   * from 1 to 65535, not “99999”” */
  text = g_strdup_printf (_("Expected a host name (example.org), host:port (localhost:7480), a wss:// URL or a tether:// room link: %s."),
                          detail);
  gtk_label_set_text (self->server_error_label, text);
  gtk_widget_add_css_class (GTK_WIDGET (self->server_row), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->server_error_label), TRUE);
}

/* Reads the server field as tether_link_server_urls_from_text() does. With @rewrite, a
 * valid field is replaced by the server URLs it means, comma-separated (a link also
 * fills in the room and the app id); an invalid one gets the inline error. */
static gboolean
check_server (TetherStartPage *self,
              gboolean         rewrite)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->server_row));
  g_autofree char *room = NULL, *app = NULL, *url = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) urls = tether_link_server_urls_from_text (text, &room, &app, &error);

  if (urls != NULL)
    url = g_strjoinv (", ", urls);
  if (url == NULL)
    {
      set_server_error (self, error->message);
      return FALSE;
    }
  set_server_error (self, NULL);
  if (!rewrite)
    return TRUE;
  if (!g_str_equal (url, text))
    gtk_editable_set_text (GTK_EDITABLE (self->server_row), url);
  if (room != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->room_row), room);
  if (app != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->app_id_row), app);
  return TRUE;
}

static void
emit_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TetherStartPage *self = TETHER_START_PAGE (widget);

  if (g_str_equal (action_name, "start.join"))
    {
      if (check_server (self, TRUE))
        g_signal_emit (self, signals[SIGNAL_JOIN], 0);
    }
  else if (g_str_equal (action_name, "start.demo"))
    g_signal_emit (self, signals[SIGNAL_DEMO], 0);
  else if (g_str_equal (action_name, "start.retry"))
    g_signal_emit (self, signals[SIGNAL_RETRY], 0);
  else if (g_str_equal (action_name, "start.rejoin") && self->settings != NULL)
    {
      g_autofree char *link = g_settings_get_string (self->settings, "last-room");

      if (*link != '\0')
        g_signal_emit (self, signals[SIGNAL_OPEN_LINK], 0, link);
    }
}

/* The last room joined, offered again at the top: "Rejoin lobby", "on example.org". */
static void
update_rejoin (TetherStartPage *self)
{
  g_autofree char *text = g_settings_get_string (self->settings, "last-room");
  g_autoptr(TetherLink) link = *text != '\0' ? tether_link_parse (text, NULL) : NULL;
  g_autofree char *title = NULL, *subtitle = NULL, *server = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->rejoin_list), link != NULL);
  if (link == NULL)
    return;
  /* Translators: %s is a room ID */
  title = g_strdup_printf (_("Rejoin %s"), tether_link_get_room_id (link));
  server = tether_link_get_port (link) != 0 && tether_link_get_port (link) != 443
           ? g_strdup_printf ("%s:%u", tether_link_get_host (link), tether_link_get_port (link))
           : g_strdup (tether_link_get_host (link));
  /* Translators: %s is a server, e.g. "on example.org" or "on example.org:7480" */
  subtitle = g_strdup_printf (_("on %s"), server);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->rejoin_row), title);
  adw_action_row_set_subtitle (self->rejoin_row, subtitle);
}

/* The last join's error is about what the fields said then: once they change it would
 * only mislead (and Try Again would repeat the old attempt), so it goes. */
static void
entry_changed_cb (TetherStartPage *self)
{
  if (self->error_title != NULL)
    tether_start_page_clear_error (self);
  update_actions (self);
}

/* While the server field shows what it expected, each change checks it again: the
 * message goes as soon as the field is right. */
static void
server_changed_cb (TetherStartPage *self)
{
  if (gtk_widget_get_visible (GTK_WIDGET (self->server_error_label)))
    check_server (self, FALSE);
  entry_changed_cb (self);
}

/* Enter in any field joins, when the fields allow it. */
static void
entry_activated_cb (TetherStartPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "start.join", NULL);
}

void
tether_start_page_set_settings (TetherStartPage *self,
                                GSettings       *settings)
{
  static const struct { const char *key; gsize offset; } bindings[] = {
    { "server-url", G_STRUCT_OFFSET (TetherStartPage, server_row) },
    { "room-id", G_STRUCT_OFFSET (TetherStartPage, room_row) },
    { "user-id", G_STRUCT_OFFSET (TetherStartPage, user_row) },
    { "user-name", G_STRUCT_OFFSET (TetherStartPage, name_row) },
    { "app-id", G_STRUCT_OFFSET (TetherStartPage, app_id_row) },
  };

  g_return_if_fail (TETHER_IS_START_PAGE (self));

  if (!g_set_object (&self->settings, settings) || settings == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    {
      GObject *row = G_STRUCT_MEMBER (GObject *, self, bindings[i].offset);

      g_settings_bind (settings, bindings[i].key, row, "text", G_SETTINGS_BIND_DEFAULT);
    }
  g_signal_connect_object (settings, "changed::last-room", G_CALLBACK (update_rejoin), self,
                           G_CONNECT_SWAPPED);
  update_rejoin (self);
  update_actions (self);
}

/* The token and app secret rows edit @secrets; a notice says when no keyring keeps them. */
void
tether_start_page_set_secrets (TetherStartPage *self,
                               TetherSecrets   *secrets)
{
  g_return_if_fail (TETHER_IS_START_PAGE (self));
  g_return_if_fail (secrets == NULL || TETHER_IS_SECRETS (secrets));

  g_binding_group_set_source (self->secret_bindings, secrets);
}

void
tether_start_page_show_error (TetherStartPage *self,
                              const char      *title,
                              const char      *message,
                              gboolean         can_retry)
{
  g_return_if_fail (TETHER_IS_START_PAGE (self));

  g_free (self->error_title);
  g_free (self->error_message);
  self->error_title = g_strdup (title);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_title_label, title);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), can_retry);
  gtk_widget_set_visible (GTK_WIDGET (self->error_box), TRUE);
  tether_start_page_set_error_details (self, NULL);
  /* The card is near the top: in view whatever the page was scrolled to before. */
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scroller), 0);
}

/**
 * tether_start_page_set_error_details:
 * @self: the start page
 * @details: (nullable): what only helps someone who looks into it (an error code, an
 *   address, the system's own message), in a smaller line under the error
 */
void
tether_start_page_set_error_details (TetherStartPage *self,
                                     const char      *details)
{
  g_autofree char *text = NULL;

  g_return_if_fail (TETHER_IS_START_PAGE (self));

  g_free (self->error_details);
  self->error_details = details != NULL && *details != '\0' ? g_strdup (details) : NULL;
  if (self->error_details != NULL)
    /* Translators: %s is technical detail under an error, e.g. "connection refused (…)" */
    text = g_strdup_printf (_("Details: %s"), self->error_details);
  gtk_label_set_text (self->error_details_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_details_label), text != NULL);
}

void
tether_start_page_clear_error (TetherStartPage *self)
{
  g_return_if_fail (TETHER_IS_START_PAGE (self));

  g_clear_pointer (&self->error_title, g_free);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->error_details, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->error_box), FALSE);
}

/**
 * tether_start_page_get_server_error:
 * @self: the start page
 *
 * Returns: (nullable): what the server field's inline error says, NULL when it shows
 *   none
 */
const char *
tether_start_page_get_server_error (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->server_error_label)))
    return NULL;
  return gtk_label_get_text (self->server_error_label);
}

gboolean
tether_start_page_has_error (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), FALSE);

  return self->error_title != NULL;
}

const char *
tether_start_page_get_error_title (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  return self->error_title;
}

const char *
tether_start_page_get_error_message (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  return self->error_message;
}

const char *
tether_start_page_get_error_details (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  return self->error_details;
}

/* For the tests: NULL when no room is offered again. */
const char *
tether_start_page_get_rejoin_title (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->rejoin_list)))
    return NULL;
  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (self->rejoin_row));
}

GtkWidget *
tether_start_page_get_join_button (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), NULL);

  return GTK_WIDGET (self->join_button);
}

double
tether_start_page_get_scroll (TetherStartPage *self)
{
  g_return_val_if_fail (TETHER_IS_START_PAGE (self), 0);

  return gtk_adjustment_get_value (gtk_scrolled_window_get_vadjustment (self->scroller));
}

void
tether_start_page_set_scroll (TetherStartPage *self,
                              double           value)
{
  g_return_if_fail (TETHER_IS_START_PAGE (self));

  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scroller), value);
}

void
tether_start_page_set_busy (TetherStartPage *self,
                            gboolean         busy)
{
  g_return_if_fail (TETHER_IS_START_PAGE (self));

  self->busy = !!busy;
  update_actions (self);
}

GtkWidget *
tether_start_page_new (GSettings *settings)
{
  TetherStartPage *self = g_object_new (TETHER_TYPE_START_PAGE, NULL);

  tether_start_page_set_settings (self, settings);
  return GTK_WIDGET (self);
}

static void
tether_start_page_dispose (GObject *object)
{
  TetherStartPage *self = TETHER_START_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_START_PAGE);
  /* The template's root is not a bound child; it goes with its parent. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->settings);
  g_clear_object (&self->secret_bindings);

  G_OBJECT_CLASS (tether_start_page_parent_class)->dispose (object);
}

static void
tether_start_page_finalize (GObject *object)
{
  TetherStartPage *self = TETHER_START_PAGE (object);

  g_free (self->error_title);
  g_free (self->error_message);
  g_free (self->error_details);

  G_OBJECT_CLASS (tether_start_page_parent_class)->finalize (object);
}

static void
tether_start_page_class_init (TetherStartPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_start_page_dispose;
  object_class->finalize = tether_start_page_finalize;

  /**
   * TetherStartPage::join:
   *
   * The user asks to join the room the fields name (start.join).
   */
  signals[SIGNAL_JOIN] = g_signal_new ("join", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * TetherStartPage::demo:
   *
   * The user asks for the demo room (start.demo).
   */
  signals[SIGNAL_DEMO] = g_signal_new ("demo", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * TetherStartPage::retry:
   *
   * The user asks to try the last room again (start.retry, on the error).
   */
  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * TetherStartPage::open-link:
   * @link: a room link
   *
   * The user asks to join the last room again (start.rejoin, the "Rejoin" row).
   */
  signals[SIGNAL_OPEN_LINK] = g_signal_new ("open-link", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "start.join", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "start.demo", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "start.retry", NULL, emit_action);
  gtk_widget_class_install_action (widget_class, "start.rejoin", NULL, emit_action);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-start-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, rejoin_list);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, rejoin_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, description);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, error_box);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, error_title_label);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, error_details_label);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, retry_button);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, demo_button);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, join_button);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, server_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, server_error_label);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, room_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, user_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, token_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, app_id_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, secret_row);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, secrets_notice);
  gtk_widget_class_bind_template_child (widget_class, TetherStartPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, entry_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, server_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
tether_start_page_init (TetherStartPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->secret_bindings = g_binding_group_new ();
  g_binding_group_bind (self->secret_bindings, "token", self->token_row, "text",
                        G_BINDING_BIDIRECTIONAL);
  g_binding_group_bind (self->secret_bindings, "app-secret", self->secret_row, "text",
                        G_BINDING_BIDIRECTIONAL);
  g_binding_group_bind (self->secret_bindings, "available", self->secrets_notice, "visible",
                        G_BINDING_INVERT_BOOLEAN);
  update_actions (self);
}
