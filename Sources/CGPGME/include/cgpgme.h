#ifndef ROOKERY_CGPGME_H
#define ROOKERY_CGPGME_H
#include <gpgme.h>

/*
 * GPGME for Swift, loaded on first use.
 *
 * client-cron runs every minute and on most minutes signs nothing; linking GPGME (with libassuan
 * and libgpg-error) would cost every one of those runs their loading and 0.4 MB of memory. So
 * libgpgme is opened with dlopen the first time an OpenPGP operation runs, as libcurl is (see
 * ccurl.h), and these wrappers stand in for the GPGME calls Rookery makes. Types, constants and
 * gpgme_err_code (inline) still come from gpgme.h.
 */

/* Loads libgpgme and runs gpgme_check_version once. Returns NULL on success, else a message. */
const char *rookery_gpgme_load(void);

/* Every wrapper below may only be called after rookery_gpgme_load() returned NULL. */
const char *rookery_gpgme_strerror(gpgme_error_t err);
gpgme_error_t rookery_gpgme_set_engine_info(gpgme_protocol_t proto, const char *file_name, const char *home_dir);

gpgme_error_t rookery_gpgme_new(gpgme_ctx_t *ctx);
void rookery_gpgme_release(gpgme_ctx_t ctx);
gpgme_error_t rookery_gpgme_ctx_set_engine_info(gpgme_ctx_t ctx, gpgme_protocol_t proto, const char *file_name,
                                                const char *home_dir);
gpgme_error_t rookery_gpgme_set_protocol(gpgme_ctx_t ctx, gpgme_protocol_t proto);
gpgme_error_t rookery_gpgme_set_pinentry_mode(gpgme_ctx_t ctx, gpgme_pinentry_mode_t mode);
void rookery_gpgme_set_armor(gpgme_ctx_t ctx, int yes);
gpgme_error_t rookery_gpgme_signers_add(gpgme_ctx_t ctx, const gpgme_key_t key);

gpgme_error_t rookery_gpgme_get_key(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *r_key, int secret);
void rookery_gpgme_key_unref(gpgme_key_t key);
gpgme_error_t rookery_gpgme_op_keylist_start(gpgme_ctx_t ctx, const char *pattern, int secret_only);
gpgme_error_t rookery_gpgme_op_keylist_next(gpgme_ctx_t ctx, gpgme_key_t *r_key);
gpgme_error_t rookery_gpgme_op_keylist_end(gpgme_ctx_t ctx);

gpgme_error_t rookery_gpgme_op_createkey(gpgme_ctx_t ctx, const char *userid, const char *algo, unsigned long reserved,
                                         unsigned long expires, gpgme_key_t certkey, unsigned int flags);
gpgme_genkey_result_t rookery_gpgme_op_genkey_result(gpgme_ctx_t ctx);
gpgme_error_t rookery_gpgme_op_export(gpgme_ctx_t ctx, const char *pattern, gpgme_export_mode_t mode,
                                      gpgme_data_t keydata);
gpgme_error_t rookery_gpgme_op_import(gpgme_ctx_t ctx, gpgme_data_t keydata);
gpgme_import_result_t rookery_gpgme_op_import_result(gpgme_ctx_t ctx);
gpgme_error_t rookery_gpgme_op_delete_ext(gpgme_ctx_t ctx, const gpgme_key_t key, unsigned int flags);

gpgme_error_t rookery_gpgme_op_sign(gpgme_ctx_t ctx, gpgme_data_t plain, gpgme_data_t sig, gpgme_sig_mode_t mode);
gpgme_error_t rookery_gpgme_op_verify(gpgme_ctx_t ctx, gpgme_data_t sig, gpgme_data_t signed_text,
                                      gpgme_data_t plaintext);
gpgme_verify_result_t rookery_gpgme_op_verify_result(gpgme_ctx_t ctx);
gpgme_error_t rookery_gpgme_op_encrypt_ext(gpgme_ctx_t ctx, gpgme_key_t recp[], const char *recpstring,
                                           gpgme_encrypt_flags_t flags, gpgme_data_t plain, gpgme_data_t cipher);
gpgme_error_t rookery_gpgme_op_decrypt(gpgme_ctx_t ctx, gpgme_data_t cipher, gpgme_data_t plain);

gpgme_error_t rookery_gpgme_data_new(gpgme_data_t *r_dh);
gpgme_error_t rookery_gpgme_data_new_from_mem(gpgme_data_t *r_dh, const char *buffer, size_t size, int copy);
off_t rookery_gpgme_data_seek(gpgme_data_t dh, off_t offset, int whence);
ssize_t rookery_gpgme_data_read(gpgme_data_t dh, void *buffer, size_t size);
void rookery_gpgme_data_release(gpgme_data_t dh);

#endif
