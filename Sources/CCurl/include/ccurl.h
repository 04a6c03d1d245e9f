#ifndef ROOKERY_CCURL_H
#define ROOKERY_CCURL_H
#include <curl/curl.h>

/*
 * libcurl for Swift, loaded on first use.
 *
 * client-cron runs every minute and usually has nothing to send; linking libcurl (and the dozens
 * of libraries it pulls in) would cost every one of those runs several megabytes of memory. So
 * libcurl is opened with dlopen the first time a request is made, and these typed wrappers stand
 * in for curl_easy_setopt, which is variadic and cannot be called from Swift.
 */
typedef size_t (*rookery_write_fn)(char *data, size_t size, size_t count, void *userdata);
/* Fills `buffer` with at most size * count bytes of upload; returns how many, 0 at the end. */
typedef size_t (*rookery_read_fn)(char *buffer, size_t size, size_t count, void *userdata);

/* Loads libcurl and runs curl_global_init once. Returns NULL on success, else a message. */
const char *rookery_curl_load(void);

CURL *rookery_curl_easy_init(void);
void rookery_curl_easy_cleanup(CURL *handle);
CURLcode rookery_curl_easy_perform(CURL *handle);
const char *rookery_curl_easy_strerror(CURLcode code);
struct curl_slist *rookery_curl_slist_append(struct curl_slist *list, const char *line);
void rookery_curl_slist_free_all(struct curl_slist *list);

CURLcode rookery_curl_set_string(CURL *handle, CURLoption option, const char *value);
CURLcode rookery_curl_set_long(CURL *handle, CURLoption option, long value);
CURLcode rookery_curl_set_pointer(CURL *handle, CURLoption option, void *value);
CURLcode rookery_curl_set_post_body(CURL *handle, const char *data, long length);
CURLcode rookery_curl_set_write_function(CURL *handle, rookery_write_fn fn, void *userdata);
/* Called once per response header line (CURLOPT_HEADERFUNCTION). */
CURLcode rookery_curl_set_header_function(CURL *handle, rookery_write_fn fn, void *userdata);
/* Supplies the upload (CURLOPT_READFUNCTION), e.g. an SMTP message with CURLOPT_UPLOAD set. */
CURLcode rookery_curl_set_read_function(CURL *handle, rookery_read_fn fn, void *userdata);
long rookery_curl_response_code(CURL *handle);

#endif
