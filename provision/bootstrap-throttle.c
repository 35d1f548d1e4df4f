/*
 * bootstrap-throttle.c: a token bucket per client address, in a table of
 * fixed size.
 *
 * The table is set-associative (THROTTLE_SETS x THROTTLE_WAYS) and keyed
 * with a per-process hash key, so its memory is bounded whatever the
 * number of addresses, and nobody can aim many addresses at one set.  A
 * full set forgets its least recently used address: an attacker with very
 * many addresses gets fresh buckets, but the PIN's own attempt limit
 * (pin_attempts) does not depend on this table.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "bootstrap.h"
#include "xmalloc.h"

#define THROTTLE_SETS	1024
#define THROTTLE_WAYS	4

struct throttle_entry {
	uint8_t		 key[16];
	int		 used;
	double		 tokens;
	uint64_t	 last_ms;
};

struct throttle {
	double			 capacity;	/* attempts in a burst */
	double			 per_ms;	/* refill */
	uint8_t			 hashkey[crypto_generichash_KEYBYTES];
	struct throttle_entry	 e[THROTTLE_SETS][THROTTLE_WAYS];
};

struct throttle *
throttle_new(uint64_t per_minute)
{
	struct throttle	*t;

	t = xcalloc(1, sizeof(*t));
	t->capacity = (double)per_minute;
	t->per_ms = (double)per_minute / 60000.0;
	randombytes_buf(t->hashkey, sizeof(t->hashkey));
	return t;
}

void
throttle_free(struct throttle **tp)
{
	free(*tp);
	*tp = NULL;
}

unsigned
throttle_take(struct throttle *t, const char *addr, uint64_t now_ms)
{
	struct throttle_entry	*set, *e = NULL;
	uint8_t			 key[16];
	uint32_t		 idx;
	double			 wait;
	size_t			 i;

	crypto_generichash(key, sizeof(key), (const uint8_t *)addr,
	    strlen(addr), t->hashkey, sizeof(t->hashkey));
	idx = ((uint32_t)key[0] | (uint32_t)key[1] << 8) % THROTTLE_SETS;
	set = t->e[idx];
	for (i = 0; i < THROTTLE_WAYS; i++)
		if (set[i].used && memcmp(set[i].key, key, sizeof(key)) == 0) {
			e = &set[i];
			break;
		}
	if (e == NULL) {
		e = &set[0];
		for (i = 0; i < THROTTLE_WAYS; i++) {
			if (!set[i].used) {
				e = &set[i];
				break;
			}
			if (set[i].last_ms < e->last_ms)
				e = &set[i];
		}
		memcpy(e->key, key, sizeof(key));
		e->used = 1;
		e->tokens = t->capacity;
		e->last_ms = now_ms;
	}
	if (now_ms > e->last_ms)
		e->tokens += (double)(now_ms - e->last_ms) * t->per_ms;
	if (e->tokens > t->capacity)
		e->tokens = t->capacity;
	e->last_ms = now_ms;
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
		return 0;
	}
	wait = (1.0 - e->tokens) / t->per_ms / 1000.0;
	return (unsigned)wait + 1;
}
