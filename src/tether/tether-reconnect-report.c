/* tether-reconnect-report.c: what happened during one reconnect episode
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "tether-protocol.h"
#include "tether-room-private.h"

struct _TetherReconnectReport
{
  GObject parent_instance;
  char *cause;
  guint attempts;
  gboolean resumed;
  gboolean succeeded;
  double downtime;
};

/**
 * TetherReconnectReport:
 *
 * What happened during one reconnect episode of a [class@Tether.Room]: from the moment
 * the link was found broken to the moment it came back or the room gave up. The room
 * emits one with [signal@Tether.Room::reconnect-report] and keeps the last one in
 * [property@Tether.Room:last-report]. Immutable.
 */
G_DEFINE_FINAL_TYPE (TetherReconnectReport, tether_reconnect_report, G_TYPE_OBJECT)

enum { PROP_0, PROP_CAUSE, PROP_ATTEMPTS, PROP_RESUMED, PROP_SUCCEEDED, PROP_DOWNTIME, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
tether_reconnect_report_finalize (GObject *object)
{
  g_free (TETHER_RECONNECT_REPORT (object)->cause);
  G_OBJECT_CLASS (tether_reconnect_report_parent_class)->finalize (object);
}

static void
tether_reconnect_report_get_property (GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec)
{
  TetherReconnectReport *self = TETHER_RECONNECT_REPORT (object);

  switch (prop_id)
    {
    case PROP_CAUSE: g_value_set_string (value, self->cause); break;
    case PROP_ATTEMPTS: g_value_set_uint (value, self->attempts); break;
    case PROP_RESUMED: g_value_set_boolean (value, self->resumed); break;
    case PROP_SUCCEEDED: g_value_set_boolean (value, self->succeeded); break;
    case PROP_DOWNTIME: g_value_set_double (value, self->downtime); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_reconnect_report_class_init (TetherReconnectReportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tether_reconnect_report_finalize;
  object_class->get_property = tether_reconnect_report_get_property;

  /**
   * TetherReconnectReport:cause:
   *
   * What broke the link; see tether_reconnect_report_get_cause().
   */
  properties[PROP_CAUSE] = g_param_spec_string ("cause", NULL, NULL, NULL, flags);
  /**
   * TetherReconnectReport:attempts:
   *
   * How many connection attempts the episode took.
   */
  properties[PROP_ATTEMPTS] = g_param_spec_uint ("attempts", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /**
   * TetherReconnectReport:resumed:
   *
   * Whether the session was resumed rather than rejoined.
   */
  properties[PROP_RESUMED] = g_param_spec_boolean ("resumed", NULL, NULL, FALSE, flags);
  /**
   * TetherReconnectReport:succeeded:
   *
   * Whether the room got back in; %FALSE when the retry window ran out.
   */
  properties[PROP_SUCCEEDED] = g_param_spec_boolean ("succeeded", NULL, NULL, FALSE, flags);
  /**
   * TetherReconnectReport:downtime:
   *
   * Seconds from the moment the break was detected to the end of the episode.
   */
  properties[PROP_DOWNTIME] = g_param_spec_double ("downtime", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_reconnect_report_init (TetherReconnectReport *self)
{
}

TetherReconnectReport *
_tether_reconnect_report_new (const char *cause,
                              guint       attempts,
                              gboolean    resumed,
                              gboolean    succeeded,
                              double      downtime)
{
  TetherReconnectReport *self = g_object_new (TETHER_TYPE_RECONNECT_REPORT, NULL);

  self->cause = g_strdup (cause);
  self->attempts = attempts;
  self->resumed = resumed;
  self->succeeded = succeeded;
  self->downtime = downtime;

  return self;
}

/**
 * tether_reconnect_report_get_cause:
 * @self: a report
 *
 * Gets what started the episode.
 *
 * Returns: (transfer none): what broke the link: "link-timeout" (no answer to heartbeats), "closed"
 *   (the connection closed or failed), "server-restart" (the server asked clients to
 *   reconnect), "network-change" or "resume-from-sleep" (a probe after either failed)
 */
const char *
tether_reconnect_report_get_cause (TetherReconnectReport *self)
{
  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), NULL);
  return self->cause;
}

/**
 * tether_reconnect_report_get_attempts:
 * @self: a report
 *
 * Gets how many times the room tried to connect again.
 *
 * Returns: how many connection attempts the episode took, the successful one included
 */
guint
tether_reconnect_report_get_attempts (TetherReconnectReport *self)
{
  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), 0);
  return self->attempts;
}

/**
 * tether_reconnect_report_get_resumed:
 * @self: a report
 *
 * Gets whether the server still had the session when the room got back.
 *
 * Returns: %TRUE when the session was resumed (others saw nothing), %FALSE when the
 *   client had to rejoin (others saw it leave and come back)
 */
gboolean
tether_reconnect_report_get_resumed (TetherReconnectReport *self)
{
  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), FALSE);
  return self->resumed;
}

/**
 * tether_reconnect_report_get_succeeded:
 * @self: a report
 *
 * Gets whether the episode ended with the room back in.
 *
 * Returns: %TRUE if the room got back in, %FALSE if it gave up (RECONNECT_FAILED)
 */
gboolean
tether_reconnect_report_get_succeeded (TetherReconnectReport *self)
{
  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), FALSE);
  return self->succeeded;
}

/**
 * tether_reconnect_report_get_downtime:
 * @self: a report
 *
 * Gets how long the room was out.
 *
 * Returns: seconds from the moment the break was detected to the end of the episode
 */
double
tether_reconnect_report_get_downtime (TetherReconnectReport *self)
{
  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), 0);
  return self->downtime;
}

/**
 * tether_reconnect_report_to_json:
 * @self: a report
 *
 * Serializes the report for logs and tools.
 *
 * Returns: (transfer full): the report as one JSON object with the members "cause",
 *   "attempts", "resumed", "succeeded" and "downtime", as tether-cli prints it
 */
char *
tether_reconnect_report_to_json (TetherReconnectReport *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (TETHER_IS_RECONNECT_REPORT (self), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cause");
  json_builder_add_string_value (b, self->cause);
  json_builder_set_member_name (b, "attempts");
  json_builder_add_int_value (b, self->attempts);
  json_builder_set_member_name (b, "resumed");
  json_builder_add_boolean_value (b, self->resumed);
  json_builder_set_member_name (b, "succeeded");
  json_builder_add_boolean_value (b, self->succeeded);
  json_builder_set_member_name (b, "downtime");
  json_builder_add_double_value (b, self->downtime);
  json_builder_end_object (b);

  return tether_protocol_serialize (b);
}
