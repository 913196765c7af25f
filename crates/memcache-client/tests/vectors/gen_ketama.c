/*
 * Key placement vectors from libmemcached itself, for the client's two
 * ketama modes:
 *
 *   ketama           memcached_behavior_set(MEMCACHED_BEHAVIOR_KETAMA, 1)
 *                    (pylibmc behaviors={"ketama": True})
 *   ketama_weighted  memcached_behavior_set(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1)
 *                    (pylibmc behaviors={"ketama_weighted": True})
 *
 * Rebuild (Debian: apt-get install libmemcached-dev) from this directory:
 *
 *   cc -O2 -o /tmp/gen_ketama gen_ketama.c -lmemcached && /tmp/gen_ketama > ketama_vectors.tsv
 *
 * No server needs to run: placement is computed, never connected.
 *
 * Output (tab separated, '#' lines are comments):
 *   server <list> <host or socket path> <port, 0 for a socket> <weight>
 *   key    <list> <mode> <key as hex> <index of the server in its list> <host:port libmemcached names>
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct server {
  const char *host; /* a path starting with '/' is a Unix socket */
  unsigned port;
  unsigned weight;
};

/* Different counts, ports (11211 is hashed without ":port"), weights,
   an IPv6 literal and a Unix socket. */
static const struct server LIST0[] = {{"127.0.0.1", 11211, 1}, {"127.0.0.2", 11211, 1}};
static const struct server LIST1[] = {
    {"cache-a.example", 11211, 1}, {"cache-b.example", 11212, 1}, {"cache-c.example", 22122, 1}};
static const struct server LIST2[] = {{"10.0.1.1", 11211, 600}, {"10.0.1.2", 11211, 300},
                                      {"10.0.1.3", 11211, 200}, {"10.0.1.4", 11211, 350},
                                      {"10.0.1.5", 11211, 1000}, {"10.0.1.6", 11211, 800},
                                      {"10.0.1.7", 11211, 950}, {"10.0.1.8", 11211, 100}};
static const struct server LIST3[] = {{"192.168.0.10", 11300, 3}, {"192.168.0.11", 11301, 1},
                                      {"::1", 11302, 2}, {"localhost", 11211, 5},
                                      {"memcached", 11211, 1}};
static const struct server LIST4[] = {{"/tmp/memcached-a.sock", 0, 1},
                                      {"/tmp/memcached-b.sock", 0, 2},
                                      {"127.0.0.1", 11211, 1}};

static const struct {
  const struct server *servers;
  size_t count;
} LISTS[] = {
    {LIST0, sizeof LIST0 / sizeof LIST0[0]}, {LIST1, sizeof LIST1 / sizeof LIST1[0]},
    {LIST2, sizeof LIST2 / sizeof LIST2[0]}, {LIST3, sizeof LIST3 / sizeof LIST3[0]},
    {LIST4, sizeof LIST4 / sizeof LIST4[0]},
};

enum { KEYS_PER_LIST = 400 };

/* A small deterministic generator (xorshift32) so the keys are the same on
   every machine. */
static unsigned rng_state = 2463534242u;
static unsigned next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* Key number n: readable keys first, then random ones of length 1..40 (one
   in ten 1..250) with no space or control byte (valid memcached text keys):
   printable ASCII and, for one in three, bytes 0x80..0xff too
   (libmemcached's default hash reads them as signed chars). */
static size_t make_key(unsigned n, char *out) {
  if (n < 100) return (size_t)sprintf(out, "key-%u", n);
  if (n < 150) return (size_t)sprintf(out, "user:%u:profile", n * 7919u);
  size_t len = 1 + next_random() % (n % 10 ? 40 : 250); /* some long ones */
  unsigned span = n % 3 ? 94 : 94 + 128;
  for (size_t i = 0; i < len; i++) {
    unsigned c = 33 + next_random() % span; /* '!'..'~', then 0x80.. */
    out[i] = (char)(c < 127 ? c : c + 1);
  }
  return len;
}

static memcached_st *build(size_t list, memcached_behavior_t mode) {
  memcached_st *memc = memcached_create(NULL);
  if (!memc) exit(1);
  for (size_t i = 0; i < LISTS[list].count; i++) {
    const struct server *s = &LISTS[list].servers[i];
    memcached_return_t rc =
        s->host[0] == '/'
            ? memcached_server_add_unix_socket_with_weight(memc, s->host, s->weight)
            : memcached_server_add_with_weight(memc, s->host, (in_port_t)s->port, s->weight);
    if (rc != MEMCACHED_SUCCESS) {
      fprintf(stderr, "adding %s: %s\n", s->host, memcached_strerror(memc, rc));
      exit(1);
    }
  }
  if (memcached_behavior_set(memc, mode, 1) != MEMCACHED_SUCCESS) exit(1);
  return memc;
}

static void describe(const char *name, memcached_behavior_t mode) {
  memcached_st *memc = build(0, mode);
  printf("# %s: distribution=%lu (CONSISTENT_KETAMA=%d) hash=%lu (DEFAULT=%d MD5=%d) "
         "ketama_hash=%lu weighted=%lu\n",
         name, (unsigned long)memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION),
         MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA,
         (unsigned long)memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_HASH),
         MEMCACHED_HASH_DEFAULT, MEMCACHED_HASH_MD5,
         (unsigned long)memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_KETAMA_HASH),
         (unsigned long)memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED));
  memcached_free(memc);
}

int main(void) {
  static const struct {
    const char *name;
    memcached_behavior_t behavior;
  } MODES[] = {{"ketama", MEMCACHED_BEHAVIOR_KETAMA},
               {"ketama_weighted", MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED}};

  printf("# Generated by gen_ketama.c from %s; see that file to rebuild.\n",
         memcached_lib_version());
  for (size_t m = 0; m < 2; m++) describe(MODES[m].name, MODES[m].behavior);
  for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++)
    for (size_t i = 0; i < LISTS[l].count; i++)
      printf("server\t%zu\t%s\t%u\t%u\n", l, LISTS[l].servers[i].host, LISTS[l].servers[i].port,
             LISTS[l].servers[i].weight);

  char key[256];
  for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
    memcached_st *memc[2] = {build(l, MODES[0].behavior), build(l, MODES[1].behavior)};
    for (unsigned n = 0; n < KEYS_PER_LIST; n++) {
      size_t len = make_key(n, key);
      for (size_t m = 0; m < 2; m++) {
        uint32_t index = memcached_generate_hash(memc[m], key, len);
        memcached_return_t rc;
        const memcached_instance_st *server = memcached_server_by_key(memc[m], key, len, &rc);
        if (!server || rc != MEMCACHED_SUCCESS) {
          fprintf(stderr, "no server for a key: %s\n", memcached_strerror(memc[m], rc));
          return 1;
        }
        printf("key\t%zu\t%s\t", l, MODES[m].name);
        for (size_t i = 0; i < len; i++) printf("%02x", (unsigned char)key[i]);
        printf("\t%u\t%s:%u\n", index, memcached_server_name(server),
               (unsigned)memcached_server_port(server));
      }
    }
    memcached_free(memc[0]);
    memcached_free(memc[1]);
  }
  return 0;
}
