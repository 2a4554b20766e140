/* tether-test-tls.h: a certificate authority and server certificates made for one
 * test with Debian's openssl, in a temporary directory
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *dir;
  char *ca_file;          /* the authority's certificate (PEM) */
  char *cert_file;        /* a server certificate for 127.0.0.1 and localhost ... */
  char *key_file;         /* ... and its key */
  char *other_cert_file;  /* signed by the same authority, for other.example only */
  char *other_key_file;
  char *stranger_ca_file; /* another authority, which signed none of them */
} TetherTestTls;

TetherTestTls   *tether_test_tls_new             (void);
GTlsCertificate *tether_test_tls_load            (const char    *cert_file,
                                                  const char    *key_file);
void             tether_test_tls_free            (TetherTestTls *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherTestTls, tether_test_tls_free)

G_END_DECLS
