#include "ccurl.h"
#include <dlfcn.h>
#include <pthread.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = "libcurl was not loaded";

#define RESOLVE(field, symbol) \
    if (!(*(void **)(&curl.field) = dlsym(library, symbol))) { load_error = "libcurl lacks " symbol; return; }

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        load_error = "cannot load libcurl.so.4 (install libcurl4)";
        return;
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(easy_perform, "curl_easy_perform")
    RESOLVE(easy_strerror, "curl_easy_strerror")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        load_error = "curl_global_init failed";
        return;
    }
    load_error = NULL;
}

const char *rookery_curl_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

/* Every wrapper below is only reached after rookery_curl_load() returned NULL. */
CURL *rookery_curl_easy_init(void) { return curl.easy_init(); }
void rookery_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
CURLcode rookery_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *rookery_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }

struct curl_slist *rookery_curl_slist_append(struct curl_slist *list, const char *line) {
    return curl.slist_append(list, line);
}

void rookery_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

CURLcode rookery_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode rookery_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode rookery_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode rookery_curl_set_post_body(CURL *handle, const char *data, long length) {
    CURLcode rc = curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE, length);
    if (rc != CURLE_OK) return rc;
    /* COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift buffer may go away. */
    return curl.easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, data);
}

CURLcode rookery_curl_set_write_function(CURL *handle, rookery_write_fn fn, void *userdata) {
    CURLcode rc = curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, fn);
    if (rc != CURLE_OK) return rc;
    return curl.easy_setopt(handle, CURLOPT_WRITEDATA, userdata);
}

CURLcode rookery_curl_set_header_function(CURL *handle, rookery_write_fn fn, void *userdata) {
    CURLcode rc = curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, fn);
    if (rc != CURLE_OK) return rc;
    return curl.easy_setopt(handle, CURLOPT_HEADERDATA, userdata);
}

CURLcode rookery_curl_set_read_function(CURL *handle, rookery_read_fn fn, void *userdata) {
    CURLcode rc = curl.easy_setopt(handle, CURLOPT_READFUNCTION, fn);
    if (rc != CURLE_OK) return rc;
    return curl.easy_setopt(handle, CURLOPT_READDATA, userdata);
}

long rookery_curl_response_code(CURL *handle) {
    long code = 0;
    curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
