/* test-app-layout.c: the window at phone width (the sidebar folds, tiles stack, the
 * header fits without cutting words) and at 1024×640 (tiles side by side), and the
 * tile grid's stable slots: a host who stops and starts again gets its old place
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "app-fixture.h"

/* Hosts of the tests' own, beside the fixture's one: each its engine, room, publisher. */
typedef struct
{
  TetherEngine *engine;
  TetherRoom *room;
  TetherPublisher *publisher;
} Host;

static void
host_start (Fixture    *f,
            Host       *host,
            const char *user_id)
{
  g_autofree char *token = tether_test_token (user_id, "lobby", 3600);
  g_autoptr(TetherLoginOptions) login = g_object_new (TETHER_TYPE_LOGIN_OPTIONS,
                                                      "server-url", tether_test_server_get_url (f->server),
                                                      "app-id", TETHER_TEST_APP_ID,
                                                      "room-id", "lobby", "user-id", user_id,
                                                      "user-name", user_id, "token", token, NULL);

  host->engine = tether_engine_new ();
  host->room = tether_engine_login_room (host->engine, login);
  TETHER_WAIT_UNTIL (tether_room_get_state (host->room) == TETHER_ROOM_STATE_LOGINED, WAIT_MS);
}

static void
host_go_live (Host       *host,
              const char *stream_id)
{
  g_autoptr(GError) error = NULL;

  host->publisher = tether_publisher_new (host->room, stream_id, 30);
  g_object_set (host->publisher, "width", 320, "height", 240, "framerate", 15, "audio", FALSE,
                NULL);
  g_assert_true (tether_publisher_start (host->publisher, &error));
  g_assert_no_error (error);
}

static void
host_stop_live (Host *host)
{
  if (host->publisher != NULL)
    tether_publisher_stop (host->publisher);
  g_clear_object (&host->publisher);
}

static void
host_end (Host *host)
{
  host_stop_live (host);
  if (host->room != NULL)
    tether_room_logout (host->room);
  g_clear_object (&host->room);
  g_clear_object (&host->engine);
}

static TetherTileGrid *
grid (Fixture *f)
{
  return f->window->video_grid;
}

static gboolean
grid_settled (Fixture *f)
{
  return tether_tile_grid_get_settled (grid (f));
}

/* @stream_id's tile in the grid's coordinates. */
static graphene_rect_t
tile_bounds (Fixture    *f,
             const char *stream_id)
{
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, 0, 0);
  TetherVideoTile *tile = tether_window_get_tile (f->window, stream_id);

  g_assert_nonnull (tile);
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (tile), GTK_WIDGET (grid (f)), &bounds));
  return bounds;
}

/* Resizes the window to @width × @height of content: its default size also counts the
 * frame (the shadow of client-side decorations) around the widget. */
static void
resize_to (Fixture *f,
           int      width,
           int      height)
{
  GtkWidget *window = GTK_WIDGET (f->window);
  int default_width, default_height;

  TETHER_WAIT_UNTIL (gtk_widget_get_mapped (window) && gtk_widget_get_width (window) > 0, WAIT_MS);
  gtk_window_get_default_size (GTK_WINDOW (window), &default_width, &default_height);
  gtk_window_set_default_size (GTK_WINDOW (window),
                               width + default_width - gtk_widget_get_width (window),
                               height + default_height - gtk_widget_get_height (window));
  TETHER_WAIT_UNTIL (gtk_widget_get_width (window) == width
                     && gtk_widget_get_height (window) == height, WAIT_MS);
  g_assert_cmpint (gtk_widget_get_width (window), ==, width);
}

/* Whether any label the user sees in @widget is cut short with an ellipsis. */
static gboolean
has_ellipsized_label (GtkWidget *widget)
{
  if (!gtk_widget_get_mapped (widget))
    return FALSE;
  if (GTK_IS_LABEL (widget)
      && pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (widget))))
    {
      g_test_message ("cut: \"%s\"", gtk_label_get_text (GTK_LABEL (widget)));
      return TRUE;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_ellipsized_label (child))
      return TRUE;
  return FALSE;
}

/* Logs each header child's minimum width: what the room header needs. */
static void
log_min_widths (GtkWidget *widget,
                int        depth)
{
  int min, nat;

  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
  g_test_message ("%*s%s: min %d, natural %d, width %d", depth * 2, "", G_OBJECT_TYPE_NAME (widget),
                  min, nat, gtk_widget_get_width (widget));
  if (depth < 9)
    for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
         child = gtk_widget_get_next_sibling (child))
      if (gtk_widget_get_visible (child))
        log_min_widths (child, depth + 1);
}

/* The sidebar is folded (or beside the grid) and shown (or hidden). */
static gboolean
sidebar_is (Fixture  *f,
            gboolean  folded,
            gboolean  revealed)
{
  return adw_flap_get_folded (f->window->flap) == folded
         && adw_flap_get_reveal_flap (f->window->flap) == revealed;
}

/* On one row, one after the other (in whichever order they came). */
static gboolean
side_by_side (const graphene_rect_t *a,
              const graphene_rect_t *b)
{
  if (b->origin.x < a->origin.x)
    return side_by_side (b, a);
  return fabs (a->origin.y - b->origin.y) < 1 && b->origin.x >= a->origin.x + a->size.width;
}

/* Ada and Bob go live in a @width × @height window: their tiles once in place. */
static void
two_live_tiles (Fixture         *f,
                Host            *hosts,
                int              width,
                int              height,
                graphene_rect_t *ada,
                graphene_rect_t *bob)
{
  resize_to (f, width, height);
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  host_start (f, &hosts[0], "ada");
  host_go_live (&hosts[0], "cam-ada");
  host_start (f, &hosts[1], "bob");
  host_go_live (&hosts[1], "cam-bob");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam-ada") && tile_playing (f, "cam-bob"), WAIT_MS);
  g_assert_true (wait_tile_frames (f, "cam-ada", 5));
  g_assert_true (wait_tile_frames (f, "cam-bob", 5));
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
  *ada = tile_bounds (f, "cam-ada");
  *bob = tile_bounds (f, "cam-bob");
  g_test_message ("ada %.0f,%.0f %.0f×%.0f; bob %.0f,%.0f %.0f×%.0f", ada->origin.x, ada->origin.y,
                  ada->size.width, ada->size.height, bob->origin.x, bob->origin.y, bob->size.width,
                  bob->size.height);
}

/* ---- tests ------------------------------------------------------------------------- */

/* The window asks for at most 360 px now, in the state @what; on failure the widths of
 * @tree's parts show who asks for more. */
static void
assert_fits_phone (Fixture *f, const char *what, GtkWidget *tree)
{
  int min;

  gtk_widget_measure (GTK_WIDGET (f->window), GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  g_test_message ("window minimum width %s: %d", what, min);
  if (min > 360)
    log_min_widths (tree, 0);
  g_assert_cmpint (min, <=, 360);
}

/* The window in a room can be as narrow as a phone: the header and the folded sidebar
 * ask for no more than 360 px, with and without tiles. */
static void
test_min_width (Fixture *f, gconstpointer data)
{
  Host hosts[2] = { 0 };

  /* The start page fits a phone too. */
  assert_fits_phone (f, "on the start page", GTK_WIDGET (f->window));

  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  assert_fits_phone (f, "in a room", GTK_WIDGET (f->window->room_header));

  host_start (f, &hosts[0], "ada");
  host_go_live (&hosts[0], "cam-ada");
  TETHER_WAIT_UNTIL (tile_playing (f, "cam-ada"), WAIT_MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.publish", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (tether_window_get_publish_preview (f->window)),
                                             "preview.go-live", NULL));
  TETHER_WAIT_UNTIL (room_has_stream (hosts[0].room, "viewer-test"), WAIT_MS);
  assert_fits_phone (f, "with a tile and publishing", GTK_WIDGET (f->window->room_header));

  /* Reconnecting: the badge's longest word of the states a room window shows (with
   * GTK's fallback window buttons, minimize, maximize and close: GNOME shows one). */
  tether_fault_proxy_cut (f->proxy);
  TETHER_WAIT_UNTIL (badge_state (f) == TETHER_ROOM_STATE_RECONNECTING, WAIT_MS);
  assert_fits_phone (f, "while reconnecting", GTK_WIDGET (f->window->room_header));
  tether_fault_proxy_restore (f->proxy);
  host_end (&hosts[0]);
}

/* At 360 px the sidebar folds away (F9 still slides it over the grid), the two tiles
 * stack, each nearly the window's width, and nothing in the header is cut short. */
static void
test_narrow (Fixture *f, gconstpointer data)
{
  Host hosts[3] = { 0 };
  graphene_rect_t ada, bob;
  guint columns, rows;

  two_live_tiles (f, hosts, 360, 640, &ada, &bob);

  g_assert_true (sidebar_is (f, TRUE, FALSE));
  tether_tile_grid_get_layout (grid (f), &columns, &rows);
  g_assert_cmpuint (columns, ==, 1);
  g_assert_cmpuint (rows, ==, 2);
  /* Whichever came first is on top. */
  if (bob.origin.y < ada.origin.y)
    g_assert_cmpfloat (ada.origin.y, >=, bob.origin.y + bob.size.height);
  else
    g_assert_cmpfloat (bob.origin.y, >=, ada.origin.y + ada.size.height);
  g_assert_cmpfloat (ada.size.width, >=, 300);
  g_assert_cmpfloat (bob.size.width, >=, 300);
  log_min_widths (GTK_WIDGET (f->window), 0);
  g_assert_false (has_ellipsized_label (GTK_WIDGET (f->window->room_header)));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-narrow.png");

  /* F9 slides the sidebar over the grid, and again hides it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.toggle-sidebar", NULL));
  g_assert_true (sidebar_is (f, TRUE, TRUE));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-narrow-sidebar.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.toggle-sidebar", NULL));
  g_assert_true (sidebar_is (f, TRUE, FALSE));

  /* A third tile does not fit the height: one column still, as wide, and it scrolls. */
  host_start (f, &hosts[2], "cy");
  host_go_live (&hosts[2], "cam-cy");
  g_assert_true (wait_tile_frames (f, "cam-cy", 2));
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
  tether_tile_grid_get_layout (grid (f), &columns, &rows);
  g_assert_cmpuint (columns, ==, 1);
  g_assert_cmpfloat (tile_bounds (f, "cam-cy").size.width, >=, 300);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (grid (f))), >,
                   gtk_widget_get_height (gtk_widget_get_parent (GTK_WIDGET (grid (f)))));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-narrow-scroll.png");
  host_end (&hosts[2]);
  TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam-cy") == NULL, WAIT_MS);

  /* Widening step by step: no word in the header is ever cut short. */
  for (int width = 400; width <= 720; width += 80)
    {
      g_autofree char *name = g_strdup_printf ("screenshot-width-%d.png", width);

      resize_to (f, width, 640);
      TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
      tether_tile_grid_get_layout (grid (f), &columns, &rows);
      g_test_message ("%d px: sidebar %s, %u×%u tiles", width,
                      adw_flap_get_folded (f->window->flap) ? "folded" : "beside", columns, rows);
      g_assert_false (has_ellipsized_label (GTK_WIDGET (f->window->room_header)));
      save_screenshot (GTK_WIDGET (f->window), name);
    }

  /* Back to a desktop width: the sidebar unfolds and shows again. */
  resize_to (f, 1024, 640);
  g_assert_true (TETHER_WAIT_UNTIL (sidebar_is (f, FALSE, TRUE), WAIT_MS));

  host_end (&hosts[0]);
  host_end (&hosts[1]);
}

/* At 1024×640 with the sidebar shown, two 4:3 pictures sit side by side. */
static void
test_wide (Fixture *f, gconstpointer data)
{
  Host hosts[2] = { 0 };
  graphene_rect_t ada, bob;
  guint columns, rows;

  two_live_tiles (f, hosts, 1024, 640, &ada, &bob);

  g_assert_true (sidebar_is (f, FALSE, TRUE));
  tether_tile_grid_get_layout (grid (f), &columns, &rows);
  g_assert_cmpuint (columns, ==, 2);
  g_assert_true (side_by_side (&ada, &bob));
  g_assert_false (has_ellipsized_label (GTK_WIDGET (f->window->room_header)));
  save_screenshot (GTK_WIDGET (f->window), "screenshot-room.png");

  /* One tile fullscreen: it alone fills the grid; back, the two are side by side again. */
  _tether_window_set_focused_tile (f->window, tether_window_get_tile (f->window, "cam-bob"));
  TETHER_WAIT_UNTIL (grid_settled (f) && !gtk_widget_get_mapped (GTK_WIDGET (tether_window_get_tile (f->window, "cam-ada"))), WAIT_MS);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (tether_window_get_tile (f->window, "cam-ada"))));
  bob = tile_bounds (f, "cam-bob");
  g_assert_cmpfloat (bob.size.width, ==, gtk_widget_get_width (GTK_WIDGET (grid (f))));
  g_assert_cmpfloat (bob.size.height, ==, gtk_widget_get_height (GTK_WIDGET (grid (f))));
  _tether_window_set_focused_tile (f->window, NULL);
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (tether_window_get_tile (f->window, "cam-ada"))));
  /* (Whether the sidebar comes back is the window's business, not the grid's.) */
  ada = tile_bounds (f, "cam-ada");
  bob = tile_bounds (f, "cam-bob");
  g_assert_true (side_by_side (&ada, &bob));

  host_end (&hosts[0]);
  host_end (&hosts[1]);
}

/* Ada, Bob and Cy play; Bob stops, Dee starts, Bob starts again: Bob is back where he
 * was (not after Dee), and the others glide to their new places. */
static void
test_stable_slots (Fixture *f, gconstpointer data)
{
  Host hosts[4] = { 0 };
  const char *users[] = { "ada", "bob", "cy", "dee" };
  graphene_rect_t before, after, dee;

  resize_to (f, 1024, 640);
  window_join (f, "viewer");
  TETHER_WAIT_UNTIL (badge_in (f), WAIT_MS);
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    host_start (f, &hosts[i], users[i]);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *stream_id = g_strdup_printf ("cam-%s", users[i]);

      host_go_live (&hosts[i], stream_id);
      /* One after the other: the order they come in is the grid's order. */
      TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, stream_id) != NULL, WAIT_MS);
    }
  /* Frames: each picture's size is known, and with it its tile's shape. */
  g_assert_true (wait_tile_frames (f, "cam-ada", 2) && wait_tile_frames (f, "cam-bob", 2)
                 && wait_tile_frames (f, "cam-cy", 2));
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
  before = tile_bounds (f, "cam-bob");
  save_screenshot (GTK_WIDGET (f->window), "screenshot-slots-before.png");

  host_stop_live (&hosts[1]);
  TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam-bob") == NULL, WAIT_MS);
  host_go_live (&hosts[3], "cam-dee");
  g_assert_true (wait_tile_frames (f, "cam-dee", 2));
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);

  host_go_live (&hosts[1], "cam-bob");
  TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam-bob") != NULL, WAIT_MS);
  /* Cy and Dee make room for him: an animation, not a jump. */
  g_assert_true (TETHER_WAIT_UNTIL (tether_tile_grid_get_animating (grid (f)), WAIT_MS));
  g_assert_true (wait_tile_frames (f, "cam-bob", 2));
  TETHER_WAIT_UNTIL (grid_settled (f), WAIT_MS);
  save_screenshot (GTK_WIDGET (f->window), "screenshot-slots-after.png");
  after = tile_bounds (f, "cam-bob");
  dee = tile_bounds (f, "cam-dee");
  g_test_message ("bob before %.0f,%.0f after %.0f,%.0f; dee %.0f,%.0f", before.origin.x,
                  before.origin.y, after.origin.x, after.origin.y, dee.origin.x, dee.origin.y);
  g_assert_cmpfloat (fabs (before.origin.x - after.origin.x), <, 1);
  g_assert_cmpfloat (fabs (before.origin.y - after.origin.y), <, 1);
  g_assert_false (graphene_rect_intersection (&after, &dee, NULL));

  /* Without animations (gtk-enable-animations off) a tile going is a plain jump. */
  g_object_set (gtk_widget_get_settings (GTK_WIDGET (f->window)), "gtk-enable-animations", FALSE,
                NULL);
  host_stop_live (&hosts[3]);
  TETHER_WAIT_UNTIL (tether_window_get_tile (f->window, "cam-dee") == NULL, WAIT_MS);
  tether_test_run_for (100);
  g_assert_false (tether_tile_grid_get_animating (grid (f)));
  g_object_set (gtk_widget_get_settings (GTK_WIDGET (f->window)), "gtk-enable-animations", TRUE,
                NULL);

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    host_end (&hosts[i]);
}

int
main (int argc, char *argv[])
{
  if (!app_fixture_init (&argc, &argv))
    return g_test_run ();

  APP_TEST_ADD ("/app-layout/min-width", test_min_width);
  APP_TEST_ADD ("/app-layout/narrow", test_narrow);
  APP_TEST_ADD ("/app-layout/wide", test_wide);
  APP_TEST_ADD ("/app-layout/stable-slots", test_stable_slots);

  return g_test_run ();
}
