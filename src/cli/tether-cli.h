/* tether-cli.h: what the tether-cli commands share
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "tether.h"

G_BEGIN_DECLS

typedef struct
{
  char *server;           /* the first room service URL */
  char **servers;         /* --server, as typed (repeatable) */
  char **server_urls;     /* every room service URL, in order (after parsing) */
  char *link;             /* --link: server, room and app id (tether-link.h) */
  char *app_id;
  char *token;
  char *app_secret;
  char *token_file;       /* --token-file, --app-secret-file: "-" is stdin */
  char *app_secret_file;
  char *room;
  char *user;
  char *name;
  gboolean notify_users;
  char **config;
  char *tls_ca;           /* PEM authorities wss:// servers are verified against */
  double token_lifetime;
  gboolean guest;         /* a guest token from the server: no secret, no token */
  gboolean quiet;         /* no event lines: the command prints its own result */
} TetherCliOptions;

typedef struct _TetherCliRun TetherCliRun;

struct _TetherCliRun
{
  TetherCliOptions *opts;
  GMainLoop *loop;
  TetherEngine *engine;
  TetherRoom *room;
  int exit_code;
  gboolean stopping;
  /* A command that publishes or plays hooks in here. */
  void (*on_stop) (TetherCliRun *run);
  void (*teardown) (TetherCliRun *run);
  gpointer data;
};

typedef void (*TetherCliSetup) (TetherCliRun *run,
                                gpointer      data);

GOptionEntry *tether_cli_common_entries (TetherCliOptions  *opts);
gboolean      tether_cli_parse_common   (TetherCliOptions  *opts,
                                         int                argc,
                                         char             **argv,
                                         GError           **error);
char         *tether_cli_current_token  (TetherCliOptions  *opts);
int           tether_cli_run_room       (TetherCliOptions  *opts,
                                         TetherCliSetup     setup,
                                         gpointer           setup_data);
int           tether_cli_cmd_publish    (int                argc,
                                         char             **argv);
int           tether_cli_cmd_play       (int                argc,
                                         char             **argv);
int           tether_cli_cmd_url        (int                argc,
                                         char             **argv);
int           tether_cli_cmd_autoplay   (int                argc,
                                         char             **argv);
void          tether_cli_add_json_member (JsonBuilder     *b,
                                          const char      *name,
                                          const char      *json);
JsonBuilder  *tether_cli_begin_event    (const char        *event);
JsonBuilder  *tether_cli_begin_state    (const char        *event,
                                         const char        *id_key,
                                         const char        *id,
                                         const char        *state_key,
                                         const char        *state,
                                         int                error_code);
void          tether_cli_end_event      (JsonBuilder       *b);
void          tether_cli_print          (JsonBuilder       *b);
gboolean      tether_cli_guest_fetch    (TetherCliOptions  *opts,
                                         GError           **error);
void          tether_cli_guest_renew    (TetherCliRun      *run);

G_END_DECLS
