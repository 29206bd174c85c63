#ifndef OTTO_CCURL_SHIM_H
#define OTTO_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt / getinfo are variadic macros: typed wrappers Swift can call. */
static inline CURLcode otto_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode otto_curl_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode otto_curl_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode otto_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode otto_curl_setopt_fn(CURL *h, CURLoption o, void *fn) { return curl_easy_setopt(h, o, fn); }
static inline CURLcode otto_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode otto_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode otto_curl_getinfo_str(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode otto_curl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode otto_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLSHcode otto_curl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }

/* Typed callback setters (Swift cannot pass a C function pointer through the variadic macro). */
typedef size_t (*otto_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode otto_curl_setopt_writefunction(CURL *h, otto_curl_data_cb fn) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fn); }
static inline CURLcode otto_curl_setopt_headerfunction(CURL *h, otto_curl_data_cb fn) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, fn); }

/* The multi interface: CURLMsg's result sits in an anonymous union, read through a typed accessor. */
static inline int otto_curl_msg_is_done(const CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode otto_curl_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
