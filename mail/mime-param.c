/*
 * mime-param.c: the parameters of Content-Type and Content-Disposition
 * (RFC 2045 5.1, RFC 2231 3 and 4), as Dovecot joins them: RFC 2231
 * sections are put together but not decoded until mime_param_get().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-buf.h"
#include "mime-param.h"
#include "rfc822-lex.h"

struct rparam {
	char		*key;
	char		*value;
	unsigned	 idx;
	int		 extended;
};

static int	 param_lex(struct rfc822_lex *, char **, char **);
static int	 rparam_cmp(const void *, const void *);
static void	 params_push(struct mime_param **, size_t *, size_t *, char *,
		    char *);

/*
 * One ";" attribute "=" value.  1 with new strings in *keyp and *valuep,
 * 0 at the end, -1 if broken (the caller skips a byte and tries again).
 */
static int
param_lex(struct rfc822_lex *lx, char **keyp, char **valuep)
{
	struct pack	 key, value;
	int		 ret;

	*keyp = *valuep = NULL;
	if (lx->p == lx->end)
		return 0;
	if (*lx->p != ';')
		return -1;
	lx->p++;
	if (rfc822_lex_skip_lwsp(lx) <= 0)
		return -1;
	pack_init(&key);
	if (rfc822_lex_mime_token(lx, &key) <= 0 || *lx->p != '=') {
		pack_free(&key);
		return -1;
	}
	lx->p++;
	pack_init(&value);
	if ((ret = rfc822_lex_skip_lwsp(lx)) <= 0) {
		/* no value */
	} else if (*lx->p == '"') {
		ret = rfc822_lex_quoted(lx, &value);
	} else if (*lx->p == '=') {
		/* Broken mailers write name==?utf-8?b?...?= unquoted. */
		while (lx->p < lx->end && *lx->p != ';' && *lx->p != ' ' &&
		    *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
			mail_buf_addc(&value, *lx->p++);
	} else
		ret = rfc822_lex_mime_token(lx, &value);
	*keyp = mail_buf_cstr(&key);
	*valuep = mail_buf_cstr(&value);
	pack_free(&key);
	pack_free(&value);
	return ret < 0 ? -1 : 1;
}



static int
rparam_cmp(const void *a, const void *b)
{
	const struct rparam	*r1 = a, *r2 = b;
	int			 ret;

	if ((ret = strcmp(r1->key, r2->key)) != 0)
		return ret;
	return r1->idx < r2->idx ? -1 : r1->idx > r2->idx;
}

static void
params_push(struct mime_param **v, size_t *n, size_t *cap, char *key,
    char *value)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].name = key;
	(*v)[*n].value = value;
	(*n)++;
}

/*
 * All parameters up to the end.  RFC 2231 3: name*0, name*1 ... are
 * joined into one name (name* if any section was extended, with the
 * plain sections %-escaped so the value stays one encoded string), in
 * section order; a family with a missing section stays apart.  The plain
 * parameters come first, in order, then the joined ones sorted by name.
 */
void
mime_params_parse(struct rfc822_lex *lx, struct mime_param **paramsp,
    size_t *np)
{
	struct mime_param	*v = NULL;
	struct rparam		*rp = NULL;
	struct pack		 val;
	size_t			 n = 0, cap = 0, nrp = 0, caprp = 0, i, j, next;
	unsigned		 idx = 0, next_idx;
	char			*key, *value, *star, *q;
	int			 ret, extended, ok, have_ext;

	while ((ret = param_lex(lx, &key, &value)) != 0) {
		if (ret < 0) {
			free(key);
			free(value);
			if (lx->p == lx->end)
				break;
			lx->p++;
			continue;
		}
		if (n + nrp >= MIME_MAX_PARAMS) {
			free(key);
			free(value);
			continue;
		}
		/*
		 * name*N, name*N*, name*: RFC 2231 sections.  Like Dovecot,
		 * a bare "name*" keeps the section number of the previous
		 * one.
		 */
		if ((star = strchr(key, '*')) != NULL) {
			q = star;
			if (q[1] != '\0') {
				q++;
				idx = 0;
				for (; *q >= '0' && *q <= '9'; q++) {
					if (idx < 100000)
						idx = idx * 10 + (*q - '0');
				}
			}
			extended = *q == '*';
			if (extended)
				q++;
			if (*q == '\0') {
				if (nrp == caprp) {
					caprp = caprp == 0 ? 4 : caprp * 2;
					rp = xreallocarray(rp, caprp,
					    sizeof(*rp));
				}
				*star = '\0';
				rp[nrp].key = key;
				rp[nrp].value = value;
				rp[nrp].idx = idx;
				rp[nrp].extended = extended;
				nrp++;
				continue;
			}
		}
		params_push(&v, &n, &cap, key, value);
	}

	if (nrp > 0)
		qsort(rp, nrp, sizeof(*rp), rparam_cmp);
	for (i = 0; i < nrp; i = next) {
		ok = 1;
		have_ext = 0;
		next_idx = 0;
		for (j = i; j < nrp; j++) {
			if (strcasecmp(rp[i].key, rp[j].key) != 0)
				break;
			if (rp[j].idx != next_idx)
				ok = 0;
			if (rp[j].extended)
				have_ext = 1;
			next_idx++;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				xasprintf(&key, rp[j].extended ? "%s*%u*" :
				    "%s*%u", rp[j].key, rp[j].idx);
				params_push(&v, &n, &cap, key,
				    xstrdup(rp[j].value));
			}
			continue;
		}
		pack_init(&val);
		if (!rp[i].extended && have_ext)
			mail_buf_adds(&val, "''");
		for (j = i; j < next; j++) {
			if (!rp[j].extended && have_ext) {
				for (q = rp[j].value; *q != '\0'; q++) {
					if (*q == '%')
						mail_buf_adds(&val, "%25");
					else
						mail_buf_addc(&val, *q);
				}
			} else
				mail_buf_adds(&val, rp[j].value);
		}
		xasprintf(&key, "%s%s", rp[i].key, have_ext ? "*" : "");
		params_push(&v, &n, &cap, key, mail_buf_cstr(&val));
		pack_free(&val);
	}
	for (i = 0; i < nrp; i++) {
		free(rp[i].key);
		free(rp[i].value);
	}
	free(rp);
	*paramsp = v;
	*np = n;
}

char *
mime_param_get(const struct mime_param *params, size_t n, const char *name,
    char **charsetp, size_t *lenp)
{
	size_t		 i, nlen = strlen(name), vlen;
	const char	*v, *q1, *q2;
	struct pack	 out;
	char		*ret;
	int		 hi, lo;

	if (charsetp != NULL)
		*charsetp = NULL;
	/* RFC 2231 4: the extended form wins over a plain fallback. */
	for (i = 0; i < n; i++) {
		if (strncasecmp(params[i].name, name, nlen) != 0 ||
		    strcmp(params[i].name + nlen, "*") != 0)
			continue;
		v = params[i].value;
		if ((q1 = strchr(v, '\'')) == NULL ||
		    (q2 = strchr(q1 + 1, '\'')) == NULL)
			break;	/* not charset'lang'value: use it as it is */
		if (charsetp != NULL && q1 > v)
			*charsetp = xstrndup(v, q1 - v);
		pack_init(&out);
		for (v = q2 + 1; *v != '\0'; v++) {
			if (*v == '%' && (hi = mail_hexval(v[1])) >= 0 &&
			    (lo = mail_hexval(v[2])) >= 0) {
				mail_buf_addc(&out, hi << 4 | lo);
				v += 2;
			} else
				mail_buf_addc(&out, *v);
		}
		vlen = out.len;
		mail_buf_addc(&out, '\0');
		ret = (char *)out.buf;
		if (lenp != NULL)
			*lenp = vlen;
		return ret;
	}
	for (i = 0; i < n; i++) {
		if (strcasecmp(params[i].name, name) == 0 ||
		    (strncasecmp(params[i].name, name, nlen) == 0 &&
		    strcmp(params[i].name + nlen, "*") == 0)) {
			if (lenp != NULL)
				*lenp = strlen(params[i].value);
			return xstrdup(params[i].value);
		}
	}
	return NULL;
}


void
mime_params_free(struct mime_param *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

