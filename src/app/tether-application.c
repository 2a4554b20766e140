/* tether-application.c: the application owns the session (engine, room, players,
 * publisher, demo room) that its windows show; app.quit, app.preferences, app.about and
 * their shortcuts; `--demo` goes straight into the demo room, `tether LINK` (and the
 * desktop's tether: scheme handler, through GApplication's open) into a link's room,
 * in the running instance when there is one
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-application.h"
#include "tether-paintable-sink.h"
#include "tether-preferences.h"
#include "tether-window.h"

struct _TetherApplication
{
  AdwApplication parent_instance;

  TetherSession *session;
  gboolean demo;
  char *link;     /* `tether LINK`: opened by the next activation */
};

G_DEFINE_FINAL_TYPE (TetherApplication, tether_application, ADW_TYPE_APPLICATION)

static TetherWindow *
get_window (TetherApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (tether_window_new (GTK_APPLICATION (self), self->session));
  return TETHER_WINDOW (window);
}

static void
tether_application_activate (GApplication *app)
{
  TetherApplication *self = TETHER_APPLICATION (app);
  TetherWindow *window = get_window (self);

  gtk_window_present (GTK_WINDOW (window));
  if (self->link != NULL)
    {
      g_autofree char *link = g_steal_pointer (&self->link);

      /* `tether --demo LINK`: the link wins, and no later activation starts the demo. */
      self->demo = FALSE;
      tether_window_open_link (window, link);
    }
  else if (self->demo)
    {
      self->demo = FALSE;
      tether_window_start_demo (window);
    }
}

/* g_application_open(): the desktop's scheme handler over D-Bus, or `tether LINK`. A
 * link's GFile keeps its URI as it was given (GIO knows no tether: scheme). Only the
 * first link counts: there is one room at a time. */
static void
tether_application_open (GApplication  *app,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  TetherApplication *self = TETHER_APPLICATION (app);

  if (n_files < 1)
    return;
  g_free (self->link);
  self->link = g_file_get_uri (files[0]);
  tether_application_activate (app);
}

static int
tether_application_handle_local_options (GApplication *app,
                                         GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("tether %s\n", PACKAGE_VERSION);
      return 0;
    }
  return -1;
}

static int
tether_application_command_line (GApplication            *app,
                                 GApplicationCommandLine *command_line)
{
  TetherApplication *self = TETHER_APPLICATION (app);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree const char **links = NULL;

  self->demo = g_variant_dict_contains (options, "demo");
  /* A link is passed on as it was typed: the start page says what is wrong with it. */
  if (g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&s", &links) && links[0] != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_uri (links[0]);

      g_application_open (app, &file, 1, "");
      return 0;
    }
  g_application_activate (app);
  return 0;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       data)
{
  GtkApplication *app = data;
  GList *windows = gtk_application_get_windows (app);

  /* close-request lets each window save its size; shutdown leaves the room. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_application_quit (G_APPLICATION (app));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (data));

  gtk_window_present (GTK_WINDOW (tether_preferences_new (parent)));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       data)
{
  static const char *developers[] = { "The Tether developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (data));
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-icon", TETHER_APP_ID,
                        "application-name", _("Tether"),
                        "developer-name", _("The Tether developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Watch live streams that survive network cuts."),
                        "website", "https://github.com/tetherlive/tether",
                        "issue-url", "https://github.com/tetherlive/tether/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_action, NULL, NULL, NULL, { 0 } },
  { "about", about_action, NULL, NULL, NULL, { 0 } },
};

static void
tether_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };
  static const char *leave_accels[] = { "<Control>w", NULL };
  static const char *copy_link_accels[] = { "<Control><Shift>c", NULL };

  G_APPLICATION_CLASS (tether_application_parent_class)->startup (app);
  if (gdk_display_get_default () != NULL)
    tether_paintable_sink_choose_renderer (gdk_display_get_default ());

  TETHER_APPLICATION (app)->session = tether_session_new ();

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.leave", leave_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.copy-link", copy_link_accels);
}

static void
tether_application_shutdown (GApplication *app)
{
  TetherApplication *self = TETHER_APPLICATION (app);

  if (self->session != NULL)
    tether_session_shutdown (self->session);
  g_clear_object (&self->session);

  G_APPLICATION_CLASS (tether_application_parent_class)->shutdown (app);
}

static void
tether_application_dispose (GObject *object)
{
  TetherApplication *self = TETHER_APPLICATION (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->link, g_free);

  G_OBJECT_CLASS (tether_application_parent_class)->dispose (object);
}

static void
tether_application_class_init (TetherApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = tether_application_dispose;
  app_class->shutdown = tether_application_shutdown;
  app_class->activate = tether_application_activate;
  app_class->startup = tether_application_startup;
  app_class->command_line = tether_application_command_line;
  app_class->open = tether_application_open;
  app_class->handle_local_options = tether_application_handle_local_options;
}

static void
tether_application_init (TetherApplication *self)
{
  static const GOptionEntry options[] = {
    { "demo", 'd', 0, G_OPTION_ARG_NONE, NULL, N_("Go straight into the local demo room"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, NULL, NULL, N_("[LINK]") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Watch the live streams of a room."));
}

/**
 * tether_application_get_session:
 * @self: the application
 *
 * Returns: (transfer none) (nullable): the session its windows show; NULL before
 *   startup and after shutdown
 */
TetherSession *
tether_application_get_session (TetherApplication *self)
{
  g_return_val_if_fail (TETHER_IS_APPLICATION (self), NULL);

  return self->session;
}

TetherApplication *
tether_application_new (void)
{
  return g_object_new (TETHER_TYPE_APPLICATION,
                       "application-id", TETHER_APP_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE
                                | G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/tetherlive/Tether",
                       NULL);
}
