/*
 * A thin shim over libmemcached for peers-bench (src/libmemcached.rs): one
 * opaque handle per connection and one function per benchmarked call, so
 * the Rust side declares a handful of plain signatures instead of
 * libmemcached's structs and enums. Every function returns libmemcached's
 * memcached_return_t as an int (0 is MEMCACHED_SUCCESS).
 *
 * The handle owns a memcached_st (blocking, text protocol, TCP_NODELAY, one
 * server) and a memcached_result_st reused by every multi-get, as a C
 * program fetching in a loop would keep one. The result is embedded, not
 * allocated by memcached_result_create(memc, NULL): memcached_fetch_result
 * frees an allocated result when the reply ends, but only resets an
 * embedded one.
 */
#include <stdlib.h>
#include <string.h>

#include <libmemcached-1.0/memcached.h>

struct lmc {
    memcached_st *memc;
    memcached_result_st result;
    int has_result;
};

void lmc_free(struct lmc *h) {
    if (h == NULL) {
        return;
    }
    if (h->has_result) {
        memcached_result_free(&h->result);
    }
    if (h->memc != NULL) {
        memcached_free(h->memc);
    }
    free(h);
}

/*
 * A handle connected to host:port (host is NUL-terminated). NULL with *rc
 * set when libmemcached refuses; -1 in *rc when out of memory. The
 * connection is opened (by a `version` round trip) before returning, so a
 * server that is not there fails here and not in the first measured call.
 */
struct lmc *lmc_new(const char *host, unsigned short port, int *rc) {
    struct lmc *h = calloc(1, sizeof *h);
    if (h == NULL) {
        *rc = -1;
        return NULL;
    }
    h->memc = memcached_create(NULL);
    if (h->memc == NULL) {
        *rc = -1;
        lmc_free(h);
        return NULL;
    }
    memcached_return_t r =
        memcached_behavior_set(h->memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    if (r == MEMCACHED_SUCCESS) {
        r = memcached_behavior_set(h->memc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    }
    if (r == MEMCACHED_SUCCESS) {
        r = memcached_server_add(h->memc, host, port);
    }
    if (r == MEMCACHED_SUCCESS) {
        r = memcached_version(h->memc);
    }
    if (r == MEMCACHED_SUCCESS) {
        if (memcached_result_create(h->memc, &h->result) == NULL) {
            *rc = -1;
            lmc_free(h);
            return NULL;
        }
        h->has_result = 1;
    }
    if (r != MEMCACHED_SUCCESS) {
        *rc = (int) r;
        lmc_free(h);
        return NULL;
    }
    *rc = 0;
    return h;
}

/* libmemcached's text for rc (a static string). */
const char *lmc_strerror(const struct lmc *h, int rc) {
    if (rc == -1) {
        return "out of memory";
    }
    return memcached_strerror(h != NULL ? h->memc : NULL, (memcached_return_t) rc);
}

const char *lmc_lib_version(void) {
    return memcached_lib_version();
}

/*
 * memcached_get of one key; the value it returns is freed here. *found is 1
 * on a hit (with *value_len its length), 0 on a miss (rc is then 0 too).
 */
int lmc_get(struct lmc *h, const char *key, size_t key_len, int *found, size_t *value_len) {
    memcached_return_t rc;
    uint32_t flags = 0;
    size_t len = 0;
    char *value = memcached_get(h->memc, key, key_len, &len, &flags, &rc);
    *found = 0;
    *value_len = 0;
    if (value != NULL) {
        free(value);
        if (rc == MEMCACHED_SUCCESS) {
            *found = 1;
            *value_len = len;
        }
    }
    if (rc == MEMCACHED_NOTFOUND) {
        return 0;
    }
    return (int) rc;
}

/* memcached_set with no expiry and flags 0; 0 when the server stored it. */
int lmc_set(struct lmc *h, const char *key, size_t key_len, const char *value,
            size_t value_len) {
    return (int) memcached_set(h->memc, key, key_len, value, value_len, (time_t) 0, 0);
}

/*
 * memcached_mget of n keys, then memcached_fetch_result until the end of
 * the reply; *values is how many values came back.
 */
int lmc_get_many(struct lmc *h, const char *const *keys, const size_t *key_lens, size_t n,
                 size_t *values) {
    *values = 0;
    memcached_return_t rc = memcached_mget(h->memc, keys, key_lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        return (int) rc;
    }
    while (memcached_fetch_result(h->memc, &h->result, &rc) != NULL) {
        *values += 1;
    }
    /* The loop ends with END (or NOTFOUND when nothing matched); anything
       else is an error. */
    if (rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS) {
        return 0;
    }
    return (int) rc;
}
