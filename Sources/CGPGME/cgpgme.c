#include "cgpgme.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* Each pointer has the type of the GPGME function it stands for, so the compiler checks every
 * wrapper against gpgme.h. */
#define FN(name) __typeof__(gpgme_##name) *name
static struct {
    FN(check_version_internal);
    FN(strerror);
    FN(set_engine_info);
    FN(new);
    FN(release);
    FN(ctx_set_engine_info);
    FN(set_protocol);
    FN(set_pinentry_mode);
    FN(set_armor);
    FN(signers_add);
    FN(get_key);
    FN(key_unref);
    FN(op_keylist_start);
    FN(op_keylist_next);
    FN(op_keylist_end);
    FN(op_createkey);
    FN(op_genkey_result);
    FN(op_export);
    FN(op_import);
    FN(op_import_result);
    FN(op_delete_ext);
    FN(op_sign);
    FN(op_verify);
    FN(op_verify_result);
    FN(op_encrypt_ext);
    FN(op_decrypt);
    FN(data_new);
    FN(data_new_from_mem);
    FN(data_seek);
    FN(data_read);
    FN(data_release);
} gpgme;
#undef FN

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = "libgpgme was not loaded";

#define RESOLVE(field) \
    if (!(*(void **)(&gpgme.field) = dlsym(library, "gpgme_" #field))) { load_error = "libgpgme lacks gpgme_" #field; return; }

static void load(void) {
    void *library = dlopen("libgpgme.so.11", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        load_error = "cannot load libgpgme.so.11 (install libgpgme11)";
        return;
    }
    RESOLVE(check_version_internal) RESOLVE(strerror) RESOLVE(set_engine_info)
    RESOLVE(new) RESOLVE(release) RESOLVE(ctx_set_engine_info) RESOLVE(set_protocol)
    RESOLVE(set_pinentry_mode) RESOLVE(set_armor) RESOLVE(signers_add)
    RESOLVE(get_key) RESOLVE(key_unref) RESOLVE(op_keylist_start) RESOLVE(op_keylist_next) RESOLVE(op_keylist_end)
    RESOLVE(op_createkey) RESOLVE(op_genkey_result) RESOLVE(op_export) RESOLVE(op_import)
    RESOLVE(op_import_result) RESOLVE(op_delete_ext)
    RESOLVE(op_sign) RESOLVE(op_verify) RESOLVE(op_verify_result) RESOLVE(op_encrypt_ext) RESOLVE(op_decrypt)
    RESOLVE(data_new) RESOLVE(data_new_from_mem) RESOLVE(data_seek) RESOLVE(data_read) RESOLVE(data_release)
    /* What the gpgme_check_version macro does: initialise GPGME and check the struct layout. */
    if (!gpgme.check_version_internal(NULL, offsetof(struct _gpgme_signature, validity))) {
        load_error = "libgpgme.so.11 does not match the gpgme.h Rookery was built with";
        return;
    }
    load_error = NULL;
}

const char *rookery_gpgme_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

const char *rookery_gpgme_strerror(gpgme_error_t err) { return gpgme.strerror(err); }
gpgme_error_t rookery_gpgme_set_engine_info(gpgme_protocol_t proto, const char *file_name, const char *home_dir) {
    return gpgme.set_engine_info(proto, file_name, home_dir);
}

gpgme_error_t rookery_gpgme_new(gpgme_ctx_t *ctx) { return gpgme.new(ctx); }
void rookery_gpgme_release(gpgme_ctx_t ctx) { gpgme.release(ctx); }
gpgme_error_t rookery_gpgme_ctx_set_engine_info(gpgme_ctx_t ctx, gpgme_protocol_t proto, const char *file_name,
                                                const char *home_dir) {
    return gpgme.ctx_set_engine_info(ctx, proto, file_name, home_dir);
}
gpgme_error_t rookery_gpgme_set_protocol(gpgme_ctx_t ctx, gpgme_protocol_t proto) { return gpgme.set_protocol(ctx, proto); }
gpgme_error_t rookery_gpgme_set_pinentry_mode(gpgme_ctx_t ctx, gpgme_pinentry_mode_t mode) {
    return gpgme.set_pinentry_mode(ctx, mode);
}
void rookery_gpgme_set_armor(gpgme_ctx_t ctx, int yes) { gpgme.set_armor(ctx, yes); }
gpgme_error_t rookery_gpgme_signers_add(gpgme_ctx_t ctx, const gpgme_key_t key) { return gpgme.signers_add(ctx, key); }

gpgme_error_t rookery_gpgme_get_key(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *r_key, int secret) {
    return gpgme.get_key(ctx, fpr, r_key, secret);
}
void rookery_gpgme_key_unref(gpgme_key_t key) { gpgme.key_unref(key); }
gpgme_error_t rookery_gpgme_op_keylist_start(gpgme_ctx_t ctx, const char *pattern, int secret_only) {
    return gpgme.op_keylist_start(ctx, pattern, secret_only);
}
gpgme_error_t rookery_gpgme_op_keylist_next(gpgme_ctx_t ctx, gpgme_key_t *r_key) { return gpgme.op_keylist_next(ctx, r_key); }
gpgme_error_t rookery_gpgme_op_keylist_end(gpgme_ctx_t ctx) { return gpgme.op_keylist_end(ctx); }

gpgme_error_t rookery_gpgme_op_createkey(gpgme_ctx_t ctx, const char *userid, const char *algo, unsigned long reserved,
                                         unsigned long expires, gpgme_key_t certkey, unsigned int flags) {
    return gpgme.op_createkey(ctx, userid, algo, reserved, expires, certkey, flags);
}
gpgme_genkey_result_t rookery_gpgme_op_genkey_result(gpgme_ctx_t ctx) { return gpgme.op_genkey_result(ctx); }
gpgme_error_t rookery_gpgme_op_export(gpgme_ctx_t ctx, const char *pattern, gpgme_export_mode_t mode,
                                      gpgme_data_t keydata) {
    return gpgme.op_export(ctx, pattern, mode, keydata);
}
gpgme_error_t rookery_gpgme_op_import(gpgme_ctx_t ctx, gpgme_data_t keydata) { return gpgme.op_import(ctx, keydata); }
gpgme_import_result_t rookery_gpgme_op_import_result(gpgme_ctx_t ctx) { return gpgme.op_import_result(ctx); }
gpgme_error_t rookery_gpgme_op_delete_ext(gpgme_ctx_t ctx, const gpgme_key_t key, unsigned int flags) {
    return gpgme.op_delete_ext(ctx, key, flags);
}

gpgme_error_t rookery_gpgme_op_sign(gpgme_ctx_t ctx, gpgme_data_t plain, gpgme_data_t sig, gpgme_sig_mode_t mode) {
    return gpgme.op_sign(ctx, plain, sig, mode);
}
gpgme_error_t rookery_gpgme_op_verify(gpgme_ctx_t ctx, gpgme_data_t sig, gpgme_data_t signed_text,
                                      gpgme_data_t plaintext) {
    return gpgme.op_verify(ctx, sig, signed_text, plaintext);
}
gpgme_verify_result_t rookery_gpgme_op_verify_result(gpgme_ctx_t ctx) { return gpgme.op_verify_result(ctx); }
gpgme_error_t rookery_gpgme_op_encrypt_ext(gpgme_ctx_t ctx, gpgme_key_t recp[], const char *recpstring,
                                           gpgme_encrypt_flags_t flags, gpgme_data_t plain, gpgme_data_t cipher) {
    return gpgme.op_encrypt_ext(ctx, recp, recpstring, flags, plain, cipher);
}
gpgme_error_t rookery_gpgme_op_decrypt(gpgme_ctx_t ctx, gpgme_data_t cipher, gpgme_data_t plain) {
    return gpgme.op_decrypt(ctx, cipher, plain);
}

gpgme_error_t rookery_gpgme_data_new(gpgme_data_t *r_dh) { return gpgme.data_new(r_dh); }
gpgme_error_t rookery_gpgme_data_new_from_mem(gpgme_data_t *r_dh, const char *buffer, size_t size, int copy) {
    return gpgme.data_new_from_mem(r_dh, buffer, size, copy);
}
off_t rookery_gpgme_data_seek(gpgme_data_t dh, off_t offset, int whence) { return gpgme.data_seek(dh, offset, whence); }
ssize_t rookery_gpgme_data_read(gpgme_data_t dh, void *buffer, size_t size) { return gpgme.data_read(dh, buffer, size); }
void rookery_gpgme_data_release(gpgme_data_t dh) { gpgme.data_release(dh); }
