/* tether-test-tls.c: test certificates from openssl
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "tether-test-tls.h"

/* Runs openssl with @args (NULL-terminated) in @dir; the test fails if it does. */
static void
openssl (const char *dir,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, (char *) "openssl");
  va_start (ap, dir);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_sync (dir, (char **) argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("openssl %s failed: %s\n%s", (char *) argv->pdata[1], error->message,
             err != NULL ? err : "");
}

/* An authority: NAME.pem and NAME.key. */
static void
make_ca (const char *dir,
         const char *name,
         const char *subject)
{
  g_autofree char *key = g_strconcat (name, ".key", NULL);
  g_autofree char *pem = g_strconcat (name, ".pem", NULL);

  openssl (dir, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", pem, "-days", "2",
           "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign", NULL);
}

/* A server certificate NAME.pem, key NAME.key, for @alt_names, signed by ca. */
static void
make_server (const char *dir,
             const char *name,
             const char *alt_names,
             const char *serial)
{
  g_autofree char *key = g_strconcat (name, ".key", NULL);
  g_autofree char *csr = g_strconcat (name, ".csr", NULL);
  g_autofree char *pem = g_strconcat (name, ".pem", NULL);
  g_autofree char *ext = g_strconcat (name, ".ext", NULL);
  g_autofree char *ext_path = g_build_filename (dir, ext, NULL);
  g_autofree char *ext_text = g_strdup_printf ("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                                               "extendedKeyUsage=serverAuth\n", alt_names);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (ext_path, ext_text, -1, &error);
  g_assert_no_error (error);
  openssl (dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=tether-test", NULL);
  openssl (dir, "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
           serial, "-out", pem, "-days", "2", "-extfile", ext, NULL);
}

/**
 * tether_test_tls_new:
 *
 * Makes an authority, a server certificate for 127.0.0.1 and localhost, one for
 * another host name, and an unrelated authority, in a new temporary directory.
 *
 * Returns: (transfer full): the files
 */
TetherTestTls *
tether_test_tls_new (void)
{
  TetherTestTls *self = g_new0 (TetherTestTls, 1);
  g_autoptr(GError) error = NULL;

  self->dir = g_dir_make_tmp ("tether-tls-XXXXXX", &error);
  g_assert_no_error (error);

  make_ca (self->dir, "ca", "/CN=Tether Test CA");
  make_ca (self->dir, "stranger", "/CN=Tether Stranger CA");
  make_server (self->dir, "server", "IP:127.0.0.1,DNS:localhost", "2");
  make_server (self->dir, "other", "DNS:other.example", "3");

  self->ca_file = g_build_filename (self->dir, "ca.pem", NULL);
  self->stranger_ca_file = g_build_filename (self->dir, "stranger.pem", NULL);
  self->cert_file = g_build_filename (self->dir, "server.pem", NULL);
  self->key_file = g_build_filename (self->dir, "server.key", NULL);
  self->other_cert_file = g_build_filename (self->dir, "other.pem", NULL);
  self->other_key_file = g_build_filename (self->dir, "other.key", NULL);
  return self;
}

/* Returns: (transfer full): the certificate with its key; the test fails if not */
GTlsCertificate *
tether_test_tls_load (const char *cert_file,
                      const char *key_file)
{
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate = g_tls_certificate_new_from_files (cert_file, key_file, &error);

  g_assert_no_error (error);
  return certificate;
}

void
tether_test_tls_free (TetherTestTls *self)
{
  g_autoptr(GDir) dir = g_dir_open (self->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (self->dir);
  g_free (self->dir);
  g_free (self->ca_file);
  g_free (self->stranger_ca_file);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_free (self->other_cert_file);
  g_free (self->other_key_file);
  g_free (self);
}
