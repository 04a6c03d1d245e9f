#ifndef ROOKERY_CCURL_H
#define ROOKERY_CCURL_H
#include <curl/curl.h>

/* Typed wrappers: curl_easy_setopt is variadic, which Swift cannot call. */
typedef size_t (*rookery_write_fn)(char *data, size_t size, size_t count, void *userdata);

CURLcode rookery_curl_set_string(CURL *handle, CURLoption option, const char *value);
CURLcode rookery_curl_set_long(CURL *handle, CURLoption option, long value);
CURLcode rookery_curl_set_pointer(CURL *handle, CURLoption option, void *value);
CURLcode rookery_curl_set_post_body(CURL *handle, const char *data, long length);
CURLcode rookery_curl_set_write_function(CURL *handle, rookery_write_fn fn, void *userdata);
long rookery_curl_response_code(CURL *handle);

#endif
