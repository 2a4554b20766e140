/* tether-tile-grid.c: the video grid — rows and columns chosen from the tiles' aspect
 * ratio and the space there is, so the pictures are as big as they can be; every tile
 * keeps its slot and a returning host gets its old one back; moves are animated
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "tether-tile-grid.h"

#define SPACING 6
#define MOVE_USEC (200 * G_USEC_PER_SEC / 1000)
/* Until a tile's video says its size. */
#define DEFAULT_ASPECT (16.0 / 9.0)
/* A tile narrower than this (or than the grid, if that is narrower) is too small to
 * watch: the grid takes fewer columns, and asks its scroller for more height. */
#define COMFORTABLE_WIDTH 240.0
/* Layouts within this share of the best picture area count as just as good; of those
 * the one with the most columns wins: fewer rows read better on a landscape screen. */
#define AREA_TOLERANCE 0.85
/* Free slots remembered for hosts who may come back, oldest forgotten first. */
#define MAX_REMEMBERED 16

typedef struct
{
  GtkWidget *widget;        /* NULL: a free slot, kept for the stream or user who left it */
  char *stream_id;
  char *user_id;
  GdkPaintable *video;      /* nullable: its intrinsic aspect ratio shapes the tile */
  gulong video_handler;
  graphene_rect_t from;     /* where the tile was when its move began */
  graphene_rect_t to;       /* where it is going */
  graphene_rect_t shown;    /* where it was last allocated */
  gint64 start;             /* frame time its move (or fade-in) began; 0: none */
  gboolean placed;          /* allocated at least once */
  gboolean fading_in;
} Slot;

struct _TetherTileGrid
{
  GtkWidget parent_instance;

  GPtrArray *slots;         /* Slot, in the grid's reading order */
  GtkWidget *focused;       /* shown alone, filling the grid */
  guint tick_id;
  gboolean relayout;        /* tiles came, went or changed shape: animate the moves */
  guint columns;
  guint rows;
};

G_DEFINE_FINAL_TYPE (TetherTileGrid, tether_tile_grid, GTK_TYPE_WIDGET)

static void
slot_clear_video (Slot *slot)
{
  if (slot->video != NULL)
    g_clear_signal_handler (&slot->video_handler, slot->video);
  g_clear_object (&slot->video);
}

static void
slot_free (Slot *slot)
{
  slot_clear_video (slot);
  g_free (slot->stream_id);
  g_free (slot->user_id);
  g_free (slot);
}

static gboolean
slot_shown (TetherTileGrid *self,
            Slot           *slot)
{
  if (slot->widget == NULL || !gtk_widget_get_visible (slot->widget))
    return FALSE;
  return self->focused == NULL || self->focused == slot->widget;
}

static double
slot_aspect (Slot *slot)
{
  double aspect = slot->video ? gdk_paintable_get_intrinsic_aspect_ratio (slot->video) : 0;

  return aspect > 0 ? aspect : DEFAULT_ASPECT;
}

static Slot *
find_slot (TetherTileGrid *self,
           GtkWidget      *widget)
{
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->widget == widget)
        return slot;
    }
  return NULL;
}

/* ---- choosing the layout ---------------------------------------------------------- */

/* What the layout works with: how many tiles, their mean aspect ratio (each cell's
 * shape) and the largest minimum size one of them asks for. */
typedef struct
{
  guint n;
  double aspect;
  int min_width;
  int min_height;
} Tiles;

static void
collect_tiles (TetherTileGrid *self,
               Tiles          *tiles)
{
  double sum = 0;

  memset (tiles, 0, sizeof *tiles);
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      int min_width, min_height;

      if (!slot_shown (self, slot))
        continue;
      gtk_widget_measure (slot->widget, GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
      gtk_widget_measure (slot->widget, GTK_ORIENTATION_VERTICAL, -1, &min_height, NULL, NULL, NULL);
      tiles->min_width = MAX (tiles->min_width, min_width);
      tiles->min_height = MAX (tiles->min_height, min_height);
      sum += slot_aspect (slot);
      tiles->n++;
    }
  tiles->aspect = tiles->n > 0 ? sum / tiles->n : DEFAULT_ASPECT;
}

/* The cell of @columns columns in @width × @height: as big as fits, of the tiles' shape. */
static void
cell_size (const Tiles     *tiles,
           guint            columns,
           double           width,
           double           height,
           graphene_size_t *cell)
{
  guint rows = (tiles->n + columns - 1) / columns;
  double w = MAX (0, (width - (columns - 1) * SPACING) / columns);
  double h = MAX (0, (height - (rows - 1) * SPACING) / rows);

  if (h > 0 && w / h > tiles->aspect)
    w = h * tiles->aspect;
  else
    h = w / tiles->aspect;
  graphene_size_init (cell, w, h);
}

static double
comfortable_width (double width)
{
  return MIN (COMFORTABLE_WIDTH, width);
}

/* The most columns whose tiles are still comfortably wide at @width (at least one). */
static guint
max_columns (const Tiles *tiles,
             double       width)
{
  guint columns = 1;

  while (columns < tiles->n
         && (width - columns * SPACING) / (columns + 1) >= comfortable_width (width))
    columns++;
  return columns;
}

/* Picks the columns that give the pictures the most area in @width × @height, among
 * the layouts whose tiles are comfortably wide (one column always counts). */
static guint
choose_columns (TetherTileGrid *self,
                const Tiles    *tiles,
                double          width,
                double          height)
{
  double area[64] = { 0 };
  double best = 0;
  guint n = MIN (tiles->n, G_N_ELEMENTS (area) - 1);
  guint chosen = 1;

  for (guint columns = 1; columns <= n; columns++)
    {
      graphene_size_t cell;
      double total = 0;

      cell_size (tiles, columns, width, height, &cell);
      if (columns > 1 && cell.width < comfortable_width (width) - 0.5)
        continue;
      /* Each picture keeps its own shape inside the cell. */
      for (guint i = 0; i < self->slots->len; i++)
        {
          Slot *slot = g_ptr_array_index (self->slots, i);
          double aspect;

          if (!slot_shown (self, slot))
            continue;
          aspect = slot_aspect (slot);
          if (aspect > cell.width / MAX (cell.height, 1))
            total += cell.width * cell.width / aspect;
          else
            total += cell.height * cell.height * aspect;
        }
      area[columns] = total;
      best = MAX (best, total);
    }

  for (guint columns = 1; columns <= n; columns++)
    if (area[columns] > 0 && area[columns] >= best * AREA_TOLERANCE)
      chosen = columns;
  return chosen;
}

/* The least height at @width that lets every tile be comfortably wide: the most
 * columns that allow it, each tile as wide as its column (so on a phone the tiles
 * are as wide as the window, and scroll when there are more than fit). */
static int
min_height_for_width (const Tiles *tiles,
                      double       width)
{
  guint columns, rows;
  double tile_height;

  if (tiles->n == 0)
    return 0;
  columns = max_columns (tiles, width);
  rows = (tiles->n + columns - 1) / columns;
  tile_height = MAX ((width - (columns - 1) * SPACING) / columns / tiles->aspect,
                     tiles->min_height);
  return (int) ceil (rows * tile_height + (rows - 1) * SPACING);
}

/* ---- measuring and allocating ------------------------------------------------------ */

static GtkSizeRequestMode
tether_tile_grid_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
tether_tile_grid_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  TetherTileGrid *self = TETHER_TILE_GRID (widget);
  Tiles tiles;

  collect_tiles (self, &tiles);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = tiles.min_width;
      *natural = tiles.n > 0 ? MAX (tiles.min_width, (int) COMFORTABLE_WIDTH) : 0;
    }
  else if (self->focused != NULL)
    *minimum = *natural = tiles.min_height;
  else
    *minimum = *natural = min_height_for_width (&tiles, for_size >= 0 ? for_size : COMFORTABLE_WIDTH);
}

static double
ease (gint64 start,
      gint64 now)
{
  double t = CLAMP ((double) (now - start) / MOVE_USEC, 0.0, 1.0);

  return adw_easing_ease (ADW_EASE_OUT_CUBIC, t);
}

/* Where each shown tile goes: alone and filling the grid when focused, otherwise in
 * rows of cells of the chosen size, the block centred, an unfilled last row centred. */
static void
compute_targets (TetherTileGrid  *self,
                 int              width,
                 int              height,
                 graphene_rect_t *targets)
{
  Tiles tiles;
  graphene_size_t cell;
  guint index = 0, rows;
  double top;

  collect_tiles (self, &tiles);
  if (self->focused != NULL || tiles.n == 0)
    {
      for (guint i = 0; i < self->slots->len; i++)
        graphene_rect_init (&targets[i], 0, 0, width, height);
      self->columns = self->rows = MIN (tiles.n, 1);
      return;
    }

  self->columns = choose_columns (self, &tiles, width, height);
  self->rows = rows = (tiles.n + self->columns - 1) / self->columns;
  cell_size (&tiles, self->columns, width, height, &cell);
  top = (height - (rows * cell.height + (rows - 1) * SPACING)) / 2;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      guint row = index / self->columns, column = index % self->columns;
      guint in_row = MIN (self->columns, tiles.n - row * self->columns);
      double left = (width - (in_row * cell.width + (in_row - 1) * SPACING)) / 2;
      double aspect, w, h;

      if (!slot_shown (self, slot))
        continue;
      index++;
      aspect = slot_aspect (slot);
      w = MIN (cell.width, cell.height * aspect);
      h = w / aspect;
      graphene_rect_init (&targets[i],
                          left + column * (cell.width + SPACING) + (cell.width - w) / 2,
                          top + row * (cell.height + SPACING) + (cell.height - h) / 2,
                          w, h);
    }
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       data)
{
  TetherTileGrid *self = TETHER_TILE_GRID (widget);
  gint64 now = gdk_frame_clock_get_frame_time (clock);
  gboolean running = FALSE;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      running |= slot->widget != NULL && slot->start != 0 && now < slot->start + MOVE_USEC;
    }
  gtk_widget_queue_allocate (widget);
  if (running)
    return G_SOURCE_CONTINUE;
  self->tick_id = 0;
  return G_SOURCE_REMOVE;
}

static void
tether_tile_grid_size_allocate (GtkWidget *widget,
                                int        width,
                                int        height,
                                int        baseline)
{
  TetherTileGrid *self = TETHER_TILE_GRID (widget);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gint64 now = clock ? gdk_frame_clock_get_frame_time (clock) : g_get_monotonic_time ();
  /* A resize follows the window at once; tiles coming, going or reshaping glide. */
  gboolean animate = self->relayout && adw_get_enable_animations (widget);
  g_autofree graphene_rect_t *targets = g_new0 (graphene_rect_t, MAX (self->slots->len, 1));
  gboolean running = FALSE;

  compute_targets (self, width, height, targets);
  self->relayout = FALSE;

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      graphene_rect_t rect;
      int min_width, min_height;
      double t;

      if (slot->widget == NULL)
        continue;
      if (!slot_shown (self, slot))
        {
          slot->placed = FALSE;
          continue;
        }

      if (!slot->placed)
        {
          /* A newcomer appears in its place, fading in. */
          slot->from = slot->to = targets[i];
          slot->fading_in = animate;
          slot->start = animate ? now : 0;
        }
      else if (!graphene_rect_equal (&slot->to, &targets[i]))
        {
          slot->from = slot->shown;
          slot->to = targets[i];
          slot->start = animate ? now : 0;
          if (!animate)
            slot->fading_in = FALSE;
        }
      slot->placed = TRUE;

      t = slot->start != 0 ? ease (slot->start, now) : 1.0;
      if (t >= 1.0)
        {
          slot->start = 0;
          slot->fading_in = FALSE;
        }
      graphene_rect_interpolate (&slot->from, &slot->to, t, &rect);
      gtk_widget_set_opacity (slot->widget, slot->fading_in ? t : 1.0);
      running |= slot->start != 0;
      slot->shown = rect;

      gtk_widget_measure (slot->widget, GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
      gtk_widget_measure (slot->widget, GTK_ORIENTATION_VERTICAL, MAX (min_width, (int) rect.size.width),
                          &min_height, NULL, NULL, NULL);
      gtk_widget_size_allocate (slot->widget,
                                &(GtkAllocation) {
                                  (int) round (rect.origin.x), (int) round (rect.origin.y),
                                  MAX (min_width, (int) round (rect.size.width)),
                                  MAX (min_height, (int) round (rect.size.height)) },
                                -1);
    }

  if (running && self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (widget, tick_cb, NULL, NULL);
}

/* ---- API ------------------------------------------------------------------------- */

GtkWidget *
tether_tile_grid_new (void)
{
  return g_object_new (TETHER_TYPE_TILE_GRID, NULL);
}

static void
queue_relayout (TetherTileGrid *self)
{
  /* Only the focused tile is mapped while there is one. */
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->widget != NULL)
        gtk_widget_set_child_visible (slot->widget,
                                      self->focused == NULL || self->focused == slot->widget);
    }
  self->relayout = TRUE;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
video_size_cb (TetherTileGrid *self)
{
  queue_relayout (self);
}

/* Forgets the oldest free slots beyond MAX_REMEMBERED; no tile moves for it. */
static void
forget_old_slots (TetherTileGrid *self)
{
  guint n_free = 0;

  for (guint i = 0; i < self->slots->len; i++)
    n_free += ((Slot *) g_ptr_array_index (self->slots, i))->widget == NULL;
  for (guint i = 0; n_free > MAX_REMEMBERED && i < self->slots->len;)
    {
      if (((Slot *) g_ptr_array_index (self->slots, i))->widget == NULL)
        {
          g_ptr_array_remove_index (self->slots, i);
          n_free--;
        }
      else
        i++;
    }
}

/* The free slot @stream_id (or else @user_id) left, if it is remembered. */
static Slot *
find_free_slot (TetherTileGrid *self,
                const char     *stream_id,
                const char     *user_id)
{
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < self->slots->len; i++)
      {
        Slot *slot = g_ptr_array_index (self->slots, i);
        const char *key = pass == 0 ? stream_id : user_id;

        if (slot->widget == NULL && key != NULL
            && g_strcmp0 (pass == 0 ? slot->stream_id : slot->user_id, key) == 0)
          return slot;
      }
  return NULL;
}

/**
 * tether_tile_grid_add:
 * @self: a grid
 * @tile: the tile
 * @stream_id: (nullable): the stream it shows
 * @user_id: (nullable): who publishes it
 * @video: (nullable): its picture, whose intrinsic aspect ratio shapes the tile
 *
 * Adds @tile in the slot @stream_id, or else @user_id, had before if they were here
 * (and the slot is still free), or after the others.
 */
void
tether_tile_grid_add (TetherTileGrid *self,
                      GtkWidget      *tile,
                      const char     *stream_id,
                      const char     *user_id,
                      GdkPaintable   *video)
{
  GtkWidget *previous = NULL;
  Slot *slot;

  g_return_if_fail (TETHER_IS_TILE_GRID (self));
  g_return_if_fail (GTK_IS_WIDGET (tile));
  g_return_if_fail (gtk_widget_get_parent (tile) == NULL);

  slot = find_free_slot (self, stream_id, user_id);
  if (slot == NULL)
    {
      slot = g_new0 (Slot, 1);
      g_ptr_array_add (self->slots, slot);
    }
  g_free (slot->stream_id);
  g_free (slot->user_id);
  slot->stream_id = g_strdup (stream_id);
  slot->user_id = g_strdup (user_id);
  slot->widget = tile;
  slot->placed = FALSE;
  slot->start = 0;
  if (video != NULL)
    {
      slot->video = g_object_ref (video);
      slot->video_handler = g_signal_connect_object (video, "invalidate-size",
                                                     G_CALLBACK (video_size_cb), self,
                                                     G_CONNECT_SWAPPED);
    }

  /* Keyboard focus goes through the tiles in the order they are shown. */
  for (guint i = 0; i < self->slots->len && g_ptr_array_index (self->slots, i) != slot; i++)
    if (((Slot *) g_ptr_array_index (self->slots, i))->widget != NULL)
      previous = ((Slot *) g_ptr_array_index (self->slots, i))->widget;
  gtk_widget_insert_after (tile, GTK_WIDGET (self), previous);
  queue_relayout (self);
}

/**
 * tether_tile_grid_remove:
 * @self: a grid
 * @tile: a tile in it
 *
 * Takes @tile out; its slot stays free for its stream or user to come back to.
 */
void
tether_tile_grid_remove (TetherTileGrid *self,
                         GtkWidget      *tile)
{
  Slot *slot;

  g_return_if_fail (TETHER_IS_TILE_GRID (self));

  slot = find_slot (self, tile);
  g_return_if_fail (slot != NULL);

  if (self->focused == tile)
    self->focused = NULL;
  slot_clear_video (slot);
  slot->widget = NULL;
  gtk_widget_unparent (tile);
  forget_old_slots (self);
  queue_relayout (self);
}

/**
 * tether_tile_grid_set_focused:
 * @self: a grid
 * @tile: (nullable): a tile in it, or %NULL for all of them
 *
 * Shows @tile alone, filling the grid.
 */
void
tether_tile_grid_set_focused (TetherTileGrid *self,
                              GtkWidget      *tile)
{
  g_return_if_fail (TETHER_IS_TILE_GRID (self));
  g_return_if_fail (tile == NULL || find_slot (self, tile) != NULL);

  if (self->focused == tile)
    return;
  self->focused = tile;
  queue_relayout (self);
}

void
tether_tile_grid_get_layout (TetherTileGrid *self,
                             guint          *columns,
                             guint          *rows)
{
  g_return_if_fail (TETHER_IS_TILE_GRID (self));

  *columns = self->columns;
  *rows = self->rows;
}

gboolean
tether_tile_grid_get_animating (TetherTileGrid *self)
{
  g_return_val_if_fail (TETHER_IS_TILE_GRID (self), FALSE);

  return self->tick_id != 0;
}

/* Whether every tile is where it belongs: no move running, none waiting to start. */
gboolean
tether_tile_grid_get_settled (TetherTileGrid *self)
{
  g_return_val_if_fail (TETHER_IS_TILE_GRID (self), FALSE);

  return self->tick_id == 0 && !self->relayout;
}

/* ---- GObject --------------------------------------------------------------------- */

static void
tether_tile_grid_dispose (GObject *object)
{
  TetherTileGrid *self = TETHER_TILE_GRID (object);

  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  self->focused = NULL;
  for (guint i = 0; self->slots != NULL && i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (slot->widget != NULL)
        gtk_widget_unparent (g_steal_pointer (&slot->widget));
    }
  g_clear_pointer (&self->slots, g_ptr_array_unref);

  G_OBJECT_CLASS (tether_tile_grid_parent_class)->dispose (object);
}

static void
tether_tile_grid_class_init (TetherTileGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tether_tile_grid_dispose;
  widget_class->get_request_mode = tether_tile_grid_get_request_mode;
  widget_class->measure = tether_tile_grid_measure;
  widget_class->size_allocate = tether_tile_grid_size_allocate;

  gtk_widget_class_set_css_name (widget_class, "tilegrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tether_tile_grid_init (TetherTileGrid *self)
{
  self->slots = g_ptr_array_new_with_free_func ((GDestroyNotify) slot_free);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
}
