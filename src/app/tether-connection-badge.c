/* tether-connection-badge.c: colour, icon and words for every room state; a live
 * countdown while reconnecting; a popover with the connection's details
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tether-connection-badge-private.h"

struct _TetherConnectionBadge
{
  GtkWidget parent_instance;

  TetherRoom *room;
  GSignalGroup *room_signals;
  TetherRoomState state;
  guint tick_id;
  char *text;

  /* template children */
  GtkMenuButton *button;
  GtkImage *icon;
  GtkLabel *label;
  GtkLabel *short_label;    /* the state without details, for a narrow header */
  GtkLabel *state_value;
  GtkLabel *server_value;
  GtkLabel *session_value;
  GtkLabel *rtt_value;
  GtkLabel *cause_value;
  GtkLabel *attempts_value;
  GtkLabel *outcome_value;
  GtkLabel *downtime_value;

  gint64 state_since;  /* monotonic µs: when the room entered its current state */
};

/* How long "Reconnected" stays before the badge calms down to "Connected". */
#define RECONNECTED_SHOWN_USEC (5 * G_USEC_PER_SEC)

enum
{
  PROP_0,
  PROP_ROOM,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TetherConnectionBadge, tether_connection_badge, GTK_TYPE_WIDGET)

static const char * const state_classes[] = { "success", "warning", "error", "accent", "dim-label", NULL };

const char *
tether_room_state_get_label (TetherRoomState state)
{
  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINING: return _("Connecting…");
    case TETHER_ROOM_STATE_LOGINED: return _("Connected");
    case TETHER_ROOM_STATE_LOGIN_FAILED: return _("Login failed");
    case TETHER_ROOM_STATE_RECONNECTING: return _("Reconnecting…");
    case TETHER_ROOM_STATE_RECONNECTED: return _("Reconnected");
    case TETHER_ROOM_STATE_RECONNECT_FAILED: return _("Connection lost");
    case TETHER_ROOM_STATE_KICK_OUT: return _("Signed out");
    case TETHER_ROOM_STATE_LOGOUT: return _("Offline");
    case TETHER_ROOM_STATE_LOGOUT_FAILED: return _("Logout failed");
    default: return _("Unknown");
    }
}

const char *
tether_room_state_get_icon_name (TetherRoomState state)
{
  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINING: return "network-transmit-receive-symbolic";
    case TETHER_ROOM_STATE_LOGINED: return "emblem-ok-symbolic";
    case TETHER_ROOM_STATE_LOGIN_FAILED: return "dialog-error-symbolic";
    case TETHER_ROOM_STATE_RECONNECTING: return "view-refresh-symbolic";
    case TETHER_ROOM_STATE_RECONNECTED: return "emblem-ok-symbolic";
    case TETHER_ROOM_STATE_RECONNECT_FAILED: return "network-error-symbolic";
    case TETHER_ROOM_STATE_KICK_OUT: return "system-log-out-symbolic";
    case TETHER_ROOM_STATE_LOGOUT: return "network-offline-symbolic";
    case TETHER_ROOM_STATE_LOGOUT_FAILED: return "dialog-warning-symbolic";
    default: return "dialog-question-symbolic";
    }
}

const char *
tether_room_state_get_style_class (TetherRoomState state)
{
  switch (state)
    {
    case TETHER_ROOM_STATE_LOGINING: return "accent";
    case TETHER_ROOM_STATE_LOGINED:
    case TETHER_ROOM_STATE_RECONNECTED: return "success";
    case TETHER_ROOM_STATE_RECONNECTING:
    case TETHER_ROOM_STATE_LOGOUT_FAILED: return "warning";
    case TETHER_ROOM_STATE_LOGIN_FAILED:
    case TETHER_ROOM_STATE_RECONNECT_FAILED:
    case TETHER_ROOM_STATE_KICK_OUT: return "error";
    case TETHER_ROOM_STATE_LOGOUT:
    default: return "dim-label";
    }
}

char *
tether_describe_error (int code)
{
  switch (code)
    {
    case TETHER_ERROR_NONE: return g_strdup ("");
    case TETHER_ERROR_NETWORK: return g_strdup (_("The server could not be reached."));
    case TETHER_ERROR_LOGIN_TIMEOUT: return g_strdup (_("The server did not answer in time."));
    case TETHER_ERROR_APP_ID_INVALID: return g_strdup (_("The server does not know this application ID."));
    case TETHER_ERROR_TOKEN_INVALID: return g_strdup (_("The token is not valid for this server, room or user."));
    case TETHER_ERROR_TOKEN_EXPIRED: return g_strdup (_("The token has expired."));
    case TETHER_ERROR_PERMISSION_DENIED: return g_strdup (_("You are not allowed to do that."));
    case TETHER_ERROR_ROOM_ID_INVALID: return g_strdup (_("The room ID is not valid."));
    case TETHER_ERROR_USER_ID_INVALID: return g_strdup (_("The user ID is not valid."));
    case TETHER_ERROR_RATE_LIMITED: return g_strdup (_("Too many attempts; wait a moment."));
    case TETHER_ERROR_LOGGED_IN_ELSEWHERE: return g_strdup (_("The same user logged in somewhere else."));
    case TETHER_ERROR_KICKED: return g_strdup (_("The server removed you from the room."));
    case TETHER_ERROR_RECONNECT_TIMEOUT: return g_strdup (_("The connection could not be restored in time."));
    case TETHER_ERROR_PROTOCOL: return g_strdup (_("The server sent something this app does not understand."));
    case TETHER_ERROR_SERVER_SHUTDOWN: return g_strdup (_("The server is shutting down."));
    case TETHER_ERROR_INVALID_ARGUMENT: return g_strdup (_("The server address or the room is not valid."));
    case TETHER_ERROR_TLS_CERTIFICATE: return g_strdup (_("The server's certificate is not trusted: this may not be the server you meant, or it is set up wrongly."));
    case TETHER_ERROR_ROOM_NOT_PUBLIC: return g_strdup (_("This room is not public: you need a token (an invitation) to join it."));
    case TETHER_ERROR_STREAM_ID_TAKEN: return g_strdup (_("Someone else already publishes a stream with this ID."));
    case TETHER_ERROR_PUBLISH_DENIED: return g_strdup (_("You are not allowed to publish here."));
    case TETHER_ERROR_MEDIA_NODE_UNREACHABLE: return g_strdup (_("The media server could not be reached."));
    case TETHER_ERROR_MEDIA_ELEMENT_MISSING: return g_strdup (_("A GStreamer plugin needed for this is not installed."));
    case TETHER_ERROR_PLAY_STREAM_DELETED: return g_strdup (_("The stream has ended."));
    case TETHER_ERROR_MEDIA_ENCRYPTION: return g_strdup (_("The media server refused the encryption of the connection."));
    case TETHER_ERROR_PLAY_RETRY_TIMEOUT:
    case TETHER_ERROR_PUBLISH_RETRY_TIMEOUT: return g_strdup (_("The media connection could not be restored in time."));
    default:
      /* Translators: %s is an error code name such as TOKEN_INVALID, %d its number */
      return g_strdup_printf (_("Error %s (%d)."), tether_error_code_to_string (code), code);
    }
}

char *
tether_format_duration (double seconds)
{
  guint s;

  if (seconds < 0)
    seconds = 0;
  if (seconds < 10)
    /* Translators: a short duration in seconds, e.g. "2.4 s" */
    return g_strdup_printf (_("%.1f s"), seconds);
  s = (guint) (seconds + 0.5);
  if (s < 60)
    /* Translators: a duration in seconds, e.g. "42 s" */
    return g_strdup_printf (_("%u s"), s);
  if (s < 3600)
    return g_strdup_printf ("%u:%02u", s / 60, s % 60);
  return g_strdup_printf ("%u:%02u:%02u", s / 3600, (s / 60) % 60, s % 60);
}

static void
set_label (GtkLabel   *label,
           const char *text)
{
  gtk_label_set_text (label, text != NULL && *text != '\0' ? text : "—");
}

/* A reconnect episode's cause (TetherReconnectReport:cause) in words. */
const char *
tether_describe_cause (const char *cause)
{
  static const struct { const char *cause; const char *text; } causes[] = {
    { "link-timeout", N_("The server stopped answering") },
    { "closed", N_("The connection was closed") },
    { "server-restart", N_("The server restarted") },
    { "network-change", N_("The network changed") },
    { "resume-from-sleep", N_("The computer woke from sleep") },
    { "reconnect-now", N_("A reconnect was asked for") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (causes); i++)
    if (g_strcmp0 (cause, causes[i].cause) == 0)
      return _(causes[i].text);
  return cause;
}

static void
update_details (TetherConnectionBadge *self)
{
  TetherReconnectReport *report = NULL;
  g_autofree char *rtt = NULL;

  set_label (self->state_value, self->text);
  if (self->room == NULL)
    {
      set_label (self->server_value, NULL);
      set_label (self->session_value, NULL);
      set_label (self->rtt_value, NULL);
    }
  else
    {
      set_label (self->server_value, tether_room_get_server_url (self->room));
      set_label (self->session_value, tether_room_get_room_session_id (self->room));
      /* Only a live link has a round-trip time: not the last one measured before a cut. */
      if (tether_room_get_rtt (self->room) > 0
          && (self->state == TETHER_ROOM_STATE_LOGINED
              || self->state == TETHER_ROOM_STATE_RECONNECTED))
        /* Translators: a round-trip time in milliseconds */
        rtt = g_strdup_printf (_("%.0f ms"), tether_room_get_rtt (self->room) * 1000.0);
      set_label (self->rtt_value, rtt);
      report = tether_room_get_last_report (self->room);
    }

  if (report == NULL)
    {
      /* During the first reconnect there is no report yet, but there is a reconnect. */
      set_label (self->cause_value, self->state == TETHER_ROOM_STATE_RECONNECTING ? NULL
                                                                                 : _("None yet"));
      set_label (self->attempts_value, NULL);
      set_label (self->outcome_value, NULL);
      set_label (self->downtime_value, NULL);
    }
  else
    {
      g_autofree char *attempts = g_strdup_printf ("%u", tether_reconnect_report_get_attempts (report));
      g_autofree char *downtime = tether_format_duration (tether_reconnect_report_get_downtime (report));
      const char *outcome;

      if (!tether_reconnect_report_get_succeeded (report))
        outcome = _("Gave up");
      else if (tether_reconnect_report_get_resumed (report))
        outcome = _("Resumed the session");
      else
        outcome = _("Rejoined the room");
      set_label (self->cause_value, tether_describe_cause (tether_reconnect_report_get_cause (report)));
      set_label (self->attempts_value, attempts);
      set_label (self->outcome_value, outcome);
      set_label (self->downtime_value, downtime);
    }
}

/* The state in one short word, for a header at phone width (the icon and colour say
 * the rest; the popover has the details). */
static const char *
short_label (TetherRoomState state)
{
  switch (state)
    {
    /* Translators: the next eight are one short word each, for a narrow window */
    case TETHER_ROOM_STATE_LOGINING: return C_("connection", "Joining");
    case TETHER_ROOM_STATE_LOGINED:
    case TETHER_ROOM_STATE_RECONNECTED: return C_("connection", "Online");
    case TETHER_ROOM_STATE_RECONNECTING: return C_("connection", "Retrying");
    case TETHER_ROOM_STATE_RECONNECT_FAILED: return C_("connection", "Lost");
    case TETHER_ROOM_STATE_KICK_OUT: return C_("connection", "Removed");
    case TETHER_ROOM_STATE_LOGIN_FAILED:
    case TETHER_ROOM_STATE_LOGOUT_FAILED: return C_("connection", "Failed");
    case TETHER_ROOM_STATE_LOGOUT:
    default: return C_("connection", "Offline");
    }
}

static void
update_badge (TetherConnectionBadge *self)
{
  TetherRoomState state = self->room ? tether_room_get_state (self->room) : TETHER_ROOM_STATE_LOGOUT;
  TetherRoomState shown = state;
  g_autofree char *text = NULL;
  gboolean changed = self->state != state;
  const char *css;

  if (changed)
    {
      self->state = state;
      self->state_since = g_get_monotonic_time ();
    }
  /* "Reconnected" is news for a few seconds, then the link is simply connected. */
  if (state == TETHER_ROOM_STATE_RECONNECTED
      && g_get_monotonic_time () - self->state_since >= RECONNECTED_SHOWN_USEC)
    shown = TETHER_ROOM_STATE_LOGINED;
  css = tether_room_state_get_style_class (shown);

  if (state == TETHER_ROOM_STATE_RECONNECTING)
    {
      g_autofree char *left = tether_format_duration (tether_room_get_retry_remaining (self->room));

      /* Translators: "Reconnecting, 19:42 left": the time the app keeps trying (the
       * attempts are counted in the details) */
      text = g_strdup_printf (_("Reconnecting, %s left"), left);
    }
  else
    text = g_strdup (tether_room_state_get_label (shown));

  g_free (self->text);
  self->text = g_steal_pointer (&text);
  gtk_label_set_text (self->label, self->text);
  gtk_label_set_text (self->short_label, short_label (shown));
  gtk_image_set_from_icon_name (self->icon, tether_room_state_get_icon_name (shown));
  for (guint i = 0; state_classes[i] != NULL; i++)
    if (g_strcmp0 (state_classes[i], css) != 0)
      gtk_widget_remove_css_class (GTK_WIDGET (self), state_classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self), css);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, self->text,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Connection status; opens the connection details"),
                                  -1);
  update_details (self);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static gboolean
tick_cb (gpointer data)
{
  update_badge (data);
  return G_SOURCE_CONTINUE;
}

static void
room_changed_cb (TetherConnectionBadge *self)
{
  update_badge (self);
}

void
tether_connection_badge_set_room (TetherConnectionBadge *self,
                                  TetherRoom            *room)
{
  g_return_if_fail (TETHER_IS_CONNECTION_BADGE (self));
  g_return_if_fail (room == NULL || TETHER_IS_ROOM (room));

  if (!g_set_object (&self->room, room))
    return;
  g_signal_group_set_target (self->room_signals, room);
  update_badge (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM]);
}

TetherRoom *
tether_connection_badge_get_room (TetherConnectionBadge *self)
{
  g_return_val_if_fail (TETHER_IS_CONNECTION_BADGE (self), NULL);

  return self->room;
}

TetherRoomState
tether_connection_badge_get_state (TetherConnectionBadge *self)
{
  g_return_val_if_fail (TETHER_IS_CONNECTION_BADGE (self), TETHER_ROOM_STATE_LOGOUT);

  return self->state;
}

const char *
tether_connection_badge_get_text (TetherConnectionBadge *self)
{
  g_return_val_if_fail (TETHER_IS_CONNECTION_BADGE (self), NULL);

  return self->text;
}

GtkWidget *
tether_connection_badge_new (void)
{
  return g_object_new (TETHER_TYPE_CONNECTION_BADGE, NULL);
}

static void
tether_connection_badge_dispose (GObject *object)
{
  TetherConnectionBadge *self = TETHER_CONNECTION_BADGE (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->room_signals != NULL)
    g_signal_group_set_target (self->room_signals, NULL);
  g_clear_object (&self->room_signals);
  g_clear_object (&self->room);
  gtk_widget_dispose_template (GTK_WIDGET (self), TETHER_TYPE_CONNECTION_BADGE);
  /* The template's root is not a bound child; it goes with its parent. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (tether_connection_badge_parent_class)->dispose (object);
}

static void
tether_connection_badge_finalize (GObject *object)
{
  TetherConnectionBadge *self = TETHER_CONNECTION_BADGE (object);

  g_free (self->text);

  G_OBJECT_CLASS (tether_connection_badge_parent_class)->finalize (object);
}

static void
tether_connection_badge_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  TetherConnectionBadge *self = TETHER_CONNECTION_BADGE (object);

  switch (prop_id)
    {
    case PROP_ROOM:
      g_value_set_object (value, self->room);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_connection_badge_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  TetherConnectionBadge *self = TETHER_CONNECTION_BADGE (object);

  switch (prop_id)
    {
    case PROP_ROOM:
      tether_connection_badge_set_room (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_connection_badge_class_init (TetherConnectionBadgeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_connection_badge_dispose;
  object_class->finalize = tether_connection_badge_finalize;
  object_class->get_property = tether_connection_badge_get_property;
  object_class->set_property = tether_connection_badge_set_property;

  /**
   * TetherConnectionBadge:room:
   *
   * The room whose connection the badge shows; it keeps showing how a room ended until
   * it is given the next one (or NULL: Offline).
   */
  properties[PROP_ROOM] =
    g_param_spec_object ("room", NULL, NULL, TETHER_TYPE_ROOM,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * TetherConnectionBadge:state:
   *
   * The room state the badge shows (LOGOUT without a room).
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TETHER_TYPE_ROOM_STATE, TETHER_ROOM_STATE_LOGOUT,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tetherlive/Tether/tether-connection-badge.ui");
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, button);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, icon);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, label);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, short_label);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, state_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, server_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, session_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, rtt_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, cause_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, attempts_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, outcome_value);
  gtk_widget_class_bind_template_child (widget_class, TetherConnectionBadge, downtime_value);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "connectionbadge");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tether_connection_badge_init (TetherConnectionBadge *self)
{
  static const char * const followed[] = {
    "notify::state", "notify::attempt", "notify::rtt", "notify::last-report",
    "notify::room-session-id", "notify::server-url",
  };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->room_signals = g_signal_group_new (TETHER_TYPE_ROOM);
  for (guint i = 0; i < G_N_ELEMENTS (followed); i++)
    g_signal_group_connect_swapped (self->room_signals, followed[i], G_CALLBACK (room_changed_cb),
                                    self);
  self->state = TETHER_ROOM_STATE_LOGOUT;
  /* Once a second: the retry countdown, and the round-trip time in the popover. */
  self->tick_id = g_timeout_add_seconds (1, tick_cb, self);
  update_badge (self);
}

GtkPopover *
tether_connection_badge_get_popover (TetherConnectionBadge *self)
{
  g_return_val_if_fail (TETHER_IS_CONNECTION_BADGE (self), NULL);

  return gtk_menu_button_get_popover (self->button);
}

GtkLabel *
tether_connection_badge_get_state_label (TetherConnectionBadge *self)
{
  g_return_val_if_fail (TETHER_IS_CONNECTION_BADGE (self), NULL);

  return self->state_value;
}
