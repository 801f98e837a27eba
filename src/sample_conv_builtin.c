/*
 * sample_conv_builtin: HAProxy's converters of text, integers and
 * addresses (configuration.txt 7.3.1) that mean something for TCP.
 * Every one is a pure function of its sample and arguments; output that
 * is not a slice of the input goes to a scratch chunk (sample_chunk()),
 * and output that would not fit there is no sample.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regexp.h"
#include "sample.h"

#define ARG(call, n) ((call)->args[n])

/* ---- text ---- */

static int
conv_case(struct sample *smp, int upper)
{
	uint8_t *c = sample_chunk();

	if (smp->len > SMP_CHUNK_MAX)
		return 0;
	for (size_t i = 0; i < smp->len; i++)
		c[i] = (uint8_t)(upper ? toupper(smp->ptr[i]) : tolower(smp->ptr[i]));
	smp->ptr = c;
	return 1;
}

static int
conv_lower(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_case(smp, 0);
}

static int
conv_upper(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_case(smp, 1);
}

static int
conv_hex(const struct sample_conv_call *call, struct sample *smp)
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t *c = sample_chunk();

	if (smp->len > SMP_CHUNK_MAX / 2)
		return 0;
	for (size_t i = 0; i < smp->len; i++) {
		c[2 * i] = (uint8_t)digits[smp->ptr[i] >> 4];
		c[2 * i + 1] = (uint8_t)digits[smp->ptr[i] & 0xf];
	}
	smp->len *= 2;
	smp->ptr = c;
	return 1;
}

static int
conv_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hexadecimal text to a signed integer (HAProxy's hex2i: stops at the
 * first byte that is not a digit). */
static int
conv_hex2i(const struct sample_conv_call *call, struct sample *smp)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = smp->len > 0 && smp->ptr[0] == '-', d;

	for (i = (size_t)neg; i < smp->len && (d = conv_hexval(smp->ptr[i])) >= 0; i++)
		v = (v << 4) | (uint64_t)d;
	smp->sint = neg ? -(int64_t)v : (int64_t)v;
	return 1;
}

static int
conv_bytes(const struct sample_conv_call *call, struct sample *smp)
{
	size_t off = (size_t)ARG(call, 0).i;

	if (off >= smp->len) {
		smp->len = 0;
		return 1;
	}
	smp->ptr += off;
	smp->len -= off;
	if (ARG(call, 1).set && (size_t)ARG(call, 1).i < smp->len)
		smp->len = (size_t)ARG(call, 1).i;
	return 1;
}

static int
conv_length(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = (int64_t)smp->len;
	return 1;
}

static int
conv_is_delim(const struct sample_conv_call *call, uint8_t c)
{
	return memchr(ARG(call, 1).s, c, strlen(ARG(call, 1).s)) != NULL;
}

/* HAProxy's count: the field wanted ends the slice when count is 1;
 * above 1 it takes one more field; 0 takes all the rest. */
static int
conv_take(long long *count)
{
	if (*count == 1)
		return 1;
	if (*count > 1)
		(*count)--;
	return 0;
}

/* The slice [a, b) of smp, or an empty one when not found (HAProxy). */
static int
conv_slice(struct sample *smp, const uint8_t *a, const uint8_t *b, int found)
{
	if (!found) {
		smp->len = 0;
		return 1;
	}
	smp->ptr = a;
	smp->len = (size_t)(b - a);
	return 1;
}

/*
 * field(index,delimiters[,count]): the index-th field (from 1, or from
 * the end when negative) and count-1 after it (0: all the rest), every
 * delimiter byte ending one field.
 */
static int
conv_field(const struct sample_conv_call *call, struct sample *smp)
{
	long long want = ARG(call, 0).i, field;
	long long count = ARG(call, 2).set ? ARG(call, 2).i : 1;
	const uint8_t *p = smp->ptr, *end = smp->ptr + smp->len, *a, *b;

	if (want > 0) {
		for (field = 1, a = b = p; b < end; b++) {
			if (!conv_is_delim(call, *b))
				continue;
			if (field == want && conv_take(&count))
				return conv_slice(smp, a, b, 1);
			if (field != want) {
				a = b + 1;
				field++;
			}
		}
		return conv_slice(smp, a, b, field == want);
	}
	for (field = -1, a = b = end; a > p; a--) {
		if (!conv_is_delim(call, a[-1]))
			continue;
		if (field == want && conv_take(&count))
			return conv_slice(smp, a, b, 1);
		if (field != want) {
			b = a - 1;
			field--;
		}
	}
	return conv_slice(smp, a, b, field == want);
}

/* word(index,delimiters[,count]): as field, but runs of delimiters count
 * as one and a word is never empty. */
static int
conv_word(const struct sample_conv_call *call, struct sample *smp)
{
	long long want = ARG(call, 0).i, word = 0;
	long long count = ARG(call, 2).set ? ARG(call, 2).i : 1;
	const uint8_t *p = smp->ptr, *end = smp->ptr + smp->len, *a, *b;
	int inword = 0, step = want > 0 ? 1 : -1;

	a = b = want > 0 ? p : end;
	while (want > 0 ? b < end : a > p) {
		int sep = conv_is_delim(call, want > 0 ? *b : a[-1]);

		if (!inword && !sep) {
			if (word != want) {
				word += step;
				if (want > 0)
					a = b;
				else
					b = a;
			}
			inword = 1;
		} else if (inword && sep) {
			if (word == want && conv_take(&count))
				return conv_slice(smp, a, b, 1);
			inword = 0;
		}
		if (want > 0)
			b++;
		else
			a--;
	}
	return conv_slice(smp, a, b, word == want);
}

static int
conv_field_check(struct sample_conv_call *call, char *err, size_t errlen)
{
	if (ARG(call, 0).i == 0) {
		snprintf(err, errlen, "'%s': the index counts from 1 (or from -1 at the end), "
		    "not 0", call->c->name);
		return -1;
	}
	if (ARG(call, 1).s[0] == '\0') {
		snprintf(err, errlen, "'%s': an empty list of delimiters", call->c->name);
		return -1;
	}
	return 0;
}

static int
conv_trim_has(const struct sample_conv_call *call, uint8_t c)
{
	return memchr(ARG(call, 0).s, c, strlen(ARG(call, 0).s)) != NULL;
}

static int
conv_ltrim(const struct sample_conv_call *call, struct sample *smp)
{
	while (smp->len > 0 && conv_trim_has(call, smp->ptr[0])) {
		smp->ptr++;
		smp->len--;
	}
	return 1;
}

static int
conv_rtrim(const struct sample_conv_call *call, struct sample *smp)
{
	while (smp->len > 0 && conv_trim_has(call, smp->ptr[smp->len - 1]))
		smp->len--;
	return 1;
}

static int
conv_cut_crlf(const struct sample_conv_call *call, struct sample *smp)
{
	for (size_t i = 0; i < smp->len; i++) {
		if (smp->ptr[i] == '\r' || smp->ptr[i] == '\n') {
			smp->len = i;
			break;
		}
	}
	return 1;
}

/* ---- regsub ---- */

/* regsub(regex,subst[,flags]): the regex is compiled here, with 'i'. */
static int
conv_regsub_check(struct sample_conv_call *call, char *err, size_t errlen)
{
	const char *fl = ARG(call, 2).set ? ARG(call, 2).s : "";
	int icase = 0;
	regex_t *re;
	char why[256];

	for (; *fl != '\0'; fl++) {
		if (*fl == 'i') {
			icase = 1;
		} else if (*fl != 'g') {
			snprintf(err, errlen, "'regsub': invalid regex flag '%c', only 'i' and 'g' "
			    "are supported", *fl);
			return -1;
		}
	}
	if ((re = malloc(sizeof(*re))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (regexp_compile_groups(re, ARG(call, 0).s, icase, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "'regsub': %s", why);
		free(re);
		return -1;
	}
	ARG(call, 0).obj = re;
	return 0;
}

/* The substitution with \0..\9 replaced by what they matched. */
static int
conv_regsub_subst(const char *subst, const uint8_t *in, const regmatch_t *m, uint8_t *out,
    size_t *o)
{
	for (const char *s = subst; *s != '\0'; s++) {
		const uint8_t *from = (const uint8_t *)s;
		size_t n = 1;

		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '9') {
			const regmatch_t *g = &m[s[1] - '0'];

			s++;
			if (g->rm_so < 0)
				continue;
			from = in + g->rm_so;
			n = (size_t)(g->rm_eo - g->rm_so);
		} else if (s[0] == '\\' && s[1] != '\0') {
			from = (const uint8_t *)++s;
		}
		if (*o + n > SMP_CHUNK_MAX)
			return -1;
		memcpy(out + *o, from, n);
		*o += n;
	}
	return 0;
}

static int
conv_regsub(const struct sample_conv_call *call, struct sample *smp)
{
	const int global = ARG(call, 2).set && strchr(ARG(call, 2).s, 'g') != NULL;
	const uint8_t *in = (const uint8_t *)sample_cstr(smp);
	uint8_t *out = sample_chunk();
	size_t pos = 0, o = 0;
	regmatch_t m[10];
	int notbol = 0;

	if (in == NULL)
		return 0;

	while (pos <= smp->len && (global || !notbol)) {
		m[0].rm_so = (regoff_t)pos;
		m[0].rm_eo = (regoff_t)smp->len;
		if (regexec(ARG(call, 0).obj, (const char *)in, 10, m,
		    REG_STARTEND | (notbol ? REG_NOTBOL : 0)) != 0)
			break;
		if ((size_t)m[0].rm_so - pos + o > SMP_CHUNK_MAX)
			return 0;
		memcpy(out + o, in + pos, (size_t)m[0].rm_so - pos);
		o += (size_t)m[0].rm_so - pos;
		if (conv_regsub_subst(ARG(call, 1).s, in, m, out, &o) == -1)
			return 0;
		pos = (size_t)m[0].rm_eo;
		if (m[0].rm_eo == m[0].rm_so) {
			/* An empty match is in front of a byte: keep it, go past. */
			if (pos < smp->len) {
				if (o == SMP_CHUNK_MAX)
					return 0;
				out[o++] = in[pos];
			}
			pos++;
		}
		notbol = 1;
	}
	if (pos < smp->len) {
		if (smp->len - pos + o > SMP_CHUNK_MAX)
			return 0;
		memcpy(out + o, in + pos, smp->len - pos);
		o += smp->len - pos;
	}
	smp->ptr = out;
	smp->len = o;
	return 1;
}

/* ---- base64 ---- */

static const char conv_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char conv_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
conv_b64_encode(struct sample *smp, const char *alpha, int pad)
{
	uint8_t *c = sample_chunk();
	size_t o = 0;

	if (smp->len > SMP_CHUNK_MAX / 4 * 3 - 3)
		return 0;
	for (size_t i = 0; i < smp->len; i += 3) {
		uint32_t v = (uint32_t)smp->ptr[i] << 16;
		size_t n = smp->len - i < 3 ? smp->len - i : 3;

		if (n > 1)
			v |= (uint32_t)smp->ptr[i + 1] << 8;
		if (n > 2)
			v |= smp->ptr[i + 2];
		for (size_t k = 0; k < 4; k++) {
			if (k <= n)
				c[o++] = (uint8_t)alpha[(v >> (18 - 6 * k)) & 0x3f];
			else if (pad)
				c[o++] = '=';
		}
	}
	smp->ptr = c;
	smp->len = o;
	return 1;
}

static int
conv_b64_decode(struct sample *smp, const char *alpha)
{
	uint8_t *c = sample_chunk();
	uint32_t v = 0;
	size_t o = 0, n = 0, len = smp->len;

	while (len > 0 && smp->ptr[len - 1] == '=')
		len--;
	if (smp->len - len > 2 || len % 4 == 1)
		return 0;
	for (size_t i = 0; i < len; i++) {
		const char *d = memchr(alpha, smp->ptr[i], 64);

		if (d == NULL || smp->ptr[i] == '\0')
			return 0;
		v = (v << 6) | (uint32_t)(d - alpha);
		if (++n == 4) {
			c[o++] = (uint8_t)(v >> 16);
			c[o++] = (uint8_t)(v >> 8);
			c[o++] = (uint8_t)v;
			v = 0;
			n = 0;
		}
	}
	if (n == 2)
		c[o++] = (uint8_t)(v >> 4);
	else if (n == 3) {
		c[o++] = (uint8_t)(v >> 10);
		c[o++] = (uint8_t)(v >> 2);
	}
	smp->ptr = c;
	smp->len = o;
	return 1;
}

static int
conv_base64(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_b64_encode(smp, conv_b64, 1);
}

static int
conv_ub64enc(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_b64_encode(smp, conv_b64url, 0);
}

static int
conv_b64dec(const struct sample_conv_call *call, struct sample *smp)
{
	/* Padding is required, as RFC 4648 4 has it. */
	return smp->len % 4 == 0 && conv_b64_decode(smp, conv_b64);
}

static int
conv_ub64dec(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_b64_decode(smp, conv_b64url);
}

/* ---- integers (HAProxy's capped arithmetic) ---- */

static long long
conv_add(long long a, long long b)
{
	if (a >= 0 && b > 0 && LLONG_MAX - a < b)
		return LLONG_MAX;
	if (a < 0 && b < 0 && LLONG_MIN - a > b)
		return LLONG_MIN;
	return a + b;
}

static int
conv_arith_add(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = conv_add(smp->sint, ARG(call, 0).i);
	return 1;
}

static int
conv_arith_sub(const struct sample_conv_call *call, struct sample *smp)
{
	long long b = ARG(call, 0).i;

	if (b == LLONG_MIN) {
		smp->sint = conv_add(smp->sint, LLONG_MAX);
		if (smp->sint < LLONG_MAX)
			smp->sint++;
	} else {
		smp->sint = conv_add(smp->sint, -b);
	}
	return 1;
}

static int
conv_arith_mul(const struct sample_conv_call *call, struct sample *smp)
{
	long long a = smp->sint, b = ARG(call, 0).i, c;

	if (__builtin_mul_overflow(a, b, &c))
		c = (a < 0) == (b < 0) ? LLONG_MAX : LLONG_MIN;
	smp->sint = c;
	return 1;
}

static int
conv_arith_div(const struct sample_conv_call *call, struct sample *smp)
{
	long long b = ARG(call, 0).i;

	if (b == 0 || (smp->sint == LLONG_MIN && b == -1))
		smp->sint = LLONG_MAX;
	else
		smp->sint /= b;
	return 1;
}

static int
conv_arith_mod(const struct sample_conv_call *call, struct sample *smp)
{
	long long b = ARG(call, 0).i;

	smp->sint = b == 0 || b == -1 ? 0 : smp->sint % b;
	return 1;
}

static int
conv_bin_and(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint &= ARG(call, 0).i;
	return 1;
}

static int
conv_bin_or(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint |= ARG(call, 0).i;
	return 1;
}

static int
conv_bin_xor(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint ^= ARG(call, 0).i;
	return 1;
}

static int
conv_cpl(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = ~smp->sint;
	return 1;
}

static int
conv_neg(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = smp->sint == LLONG_MIN ? LLONG_MAX : -smp->sint;
	return 1;
}

static int
conv_bool(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = smp->sint != 0;
	return 1;
}

static int
conv_not(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = smp->sint == 0;
	return 1;
}

static int
conv_odd(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = smp->sint & 1;
	return 1;
}

static int
conv_even(const struct sample_conv_call *call, struct sample *smp)
{
	smp->sint = !(smp->sint & 1);
	return 1;
}

static int
conv_htonl(const struct sample_conv_call *call, struct sample *smp)
{
	uint8_t *c = sample_chunk();
	uint32_t v = (uint32_t)smp->sint;

	for (int i = 0; i < 4; i++)
		c[i] = (uint8_t)(v >> (24 - 8 * i));
	smp->ptr = c;
	smp->len = 4;
	return 1;
}

static int
conv_iif(const struct sample_conv_call *call, struct sample *smp)
{
	const char *s = smp->sint ? ARG(call, 0).s : ARG(call, 1).s;

	smp->ptr = (const uint8_t *)s;
	smp->len = strlen(s);
	return 1;
}

/* ---- addresses ---- */

/* A mask as bits ("24") or dotted ("255.255.255.0"), into a 16-byte
 * mask of which the first len/8 bytes count. */
static int
conv_mask_parse(const char *s, int family, uint8_t *mask, char *err, size_t errlen)
{
	unsigned int max = family == AF_INET ? 32 : 128;
	char *end;
	unsigned long bits = strtoul(s, &end, 10);

	memset(mask, 0, 16);
	if (s[0] >= '0' && s[0] <= '9' && *end == '\0' && bits <= max) {
		for (unsigned long i = 0; i < bits; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		return 0;
	}
	if (inet_pton(family, s, mask) == 1)
		return 0;
	snprintf(err, errlen, "'ipmask': '%s' is not an %s mask (bits, or an address)", s,
	    family == AF_INET ? "IPv4" : "IPv6");
	return -1;
}

static int
conv_ipmask_check(struct sample_conv_call *call, char *err, size_t errlen)
{
	uint8_t *m = malloc(32);

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ARG(call, 0).obj = m;
	if (conv_mask_parse(ARG(call, 0).s, AF_INET, m, err, errlen) == -1)
		return -1;
	if (ARG(call, 1).set && conv_mask_parse(ARG(call, 1).s, AF_INET6, m + 16, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/* ipmask(mask4[,mask6]): an IPv6 address without mask6 has none. */
static int
conv_ipmask(const struct sample_conv_call *call, struct sample *smp)
{
	const uint8_t *m = ARG(call, 0).obj;
	uint8_t *a;
	size_t n;

	if (smp->addr.ss_family == AF_INET) {
		a = (uint8_t *)&((struct sockaddr_in *)&smp->addr)->sin_addr;
		n = 4;
	} else if (ARG(call, 1).set) {
		a = (uint8_t *)&((struct sockaddr_in6 *)&smp->addr)->sin6_addr;
		m += 16;
		n = 16;
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		a[i] &= m[i];
	return 1;
}

/* ---- hashes (HAProxy's hash.c), avalanched on demand ---- */

static uint32_t
conv_avalanche(uint32_t a)
{
	a = (a + 0x7ed55d16) + (a << 12);
	a = (a ^ 0xc761c23c) ^ (a >> 19);
	a = (a + 0x165667b1) + (a << 5);
	a = (a + 0xd3a2646c) ^ (a << 9);
	a = (a + 0xfd7046c5) + (a << 3);
	a = (a ^ 0xb55a4f09) ^ (a >> 16);
	return a * 3221225473U;	/* spread over the whole range */
}

static int
conv_hash_out(const struct sample_conv_call *call, struct sample *smp, uint32_t h)
{
	smp->sint = ARG(call, 0).set && ARG(call, 0).i ? conv_avalanche(h) : h;
	return 1;
}

static uint32_t
conv_crc(const uint8_t *p, size_t len, uint32_t poly)
{
	uint32_t h = 0xffffffff;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		for (int k = 0; k < 8; k++)
			h = (h >> 1) ^ (poly & (0U - (h & 1)));
	}
	return ~h;
}

static int
conv_crc32(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_hash_out(call, smp, conv_crc(smp->ptr, smp->len, 0xedb88320));
}

static int
conv_crc32c(const struct sample_conv_call *call, struct sample *smp)
{
	return conv_hash_out(call, smp, conv_crc(smp->ptr, smp->len, 0x82f63b78));
}

static int
conv_djb2(const struct sample_conv_call *call, struct sample *smp)
{
	uint32_t h = 5381;

	for (size_t i = 0; i < smp->len; i++)
		h = (h << 5) + h + smp->ptr[i];
	return conv_hash_out(call, smp, h);
}

static int
conv_sdbm(const struct sample_conv_call *call, struct sample *smp)
{
	uint32_t h = 0;

	for (size_t i = 0; i < smp->len; i++)
		h = smp->ptr[i] + (h << 6) + (h << 16) - h;
	return conv_hash_out(call, smp, h);
}

static uint32_t
conv_rotl(uint32_t v, unsigned int n)
{
	return n == 0 ? v : (v << n) | (v >> (32 - n));
}

static int
conv_wt6(const struct sample_conv_call *call, struct sample *smp)
{
	uint32_t h0 = 0xa53c965a, h1 = 0x5ca6953a;
	unsigned int step0 = 6, step1 = 18;

	for (size_t i = 0; i < smp->len; i++) {
		uint32_t t = smp->ptr[i];

		h0 = ~(h0 ^ t);
		h1 = ~(h1 + t);
		t = conv_rotl(h1, step0);
		h1 = conv_rotl(h0, step1);
		h0 = t;
		t = ((h0 >> 16) ^ h1) & 0xffff;
		step0 = t & 0x1f;
		step1 = t >> 11;
	}
	return conv_hash_out(call, smp, h0 ^ h1);
}

#define B SMP_T_BOOL
#define I SMP_T_SINT
#define A SMP_T_ADDR
#define S SMP_T_STR
#define N SMP_T_BIN
const struct sample_conv sample_conv_builtin[] = {
	{ "add",	"n",	I, I, conv_arith_add, NULL, 0 },
	{ "and",	"n",	I, I, conv_bin_and, NULL, 0 },
	{ "b64dec",	"",	S, N, conv_b64dec, NULL, 0 },
	{ "base64",	"",	N, S, conv_base64, NULL, 0 },
	{ "bool",	"",	I, B, conv_bool, NULL, 0 },
	{ "bytes",	"iI",	N, N, conv_bytes, NULL, 0 },
	{ "cpl",	"",	I, I, conv_cpl, NULL, 0 },
	{ "crc32",	"I",	N, I, conv_crc32, NULL, 0 },
	{ "crc32c",	"I",	N, I, conv_crc32c, NULL, 0 },
	{ "cut_crlf",	"",	S, S, conv_cut_crlf, NULL, 0 },
	{ "div",	"n",	I, I, conv_arith_div, NULL, 0 },
	{ "djb2",	"I",	N, I, conv_djb2, NULL, 0 },
	{ "even",	"",	I, B, conv_even, NULL, 0 },
	{ "field",	"nsI",	S, S, conv_field, conv_field_check, 0 },
	{ "hex",	"",	N, S, conv_hex, NULL, 0 },
	{ "hex2i",	"",	S, I, conv_hex2i, NULL, 0 },
	{ "htonl",	"",	I, N, conv_htonl, NULL, 0 },
	{ "iif",	"ss",	B, S, conv_iif, NULL, 0 },
	{ "ipmask",	"sS",	A, A, conv_ipmask, conv_ipmask_check, 0 },
	{ "length",	"",	S, I, conv_length, NULL, 0 },
	{ "lower",	"",	S, S, conv_lower, NULL, 0 },
	{ "ltrim",	"s",	S, S, conv_ltrim, NULL, 0 },
	{ "mod",	"n",	I, I, conv_arith_mod, NULL, 0 },
	{ "mul",	"n",	I, I, conv_arith_mul, NULL, 0 },
	{ "neg",	"",	I, I, conv_neg, NULL, 0 },
	{ "not",	"",	I, B, conv_not, NULL, 0 },
	{ "odd",	"",	I, B, conv_odd, NULL, 0 },
	{ "or",		"n",	I, I, conv_bin_or, NULL, 0 },
	{ "regsub",	"rsS",	S, S, conv_regsub, conv_regsub_check, 0 },
	{ "rtrim",	"s",	S, S, conv_rtrim, NULL, 0 },
	{ "sdbm",	"I",	N, I, conv_sdbm, NULL, 0 },
	{ "sub",	"n",	I, I, conv_arith_sub, NULL, 0 },
	{ "ub64dec",	"",	S, N, conv_ub64dec, NULL, 0 },
	{ "ub64enc",	"",	N, S, conv_ub64enc, NULL, 0 },
	{ "upper",	"",	S, S, conv_upper, NULL, 0 },
	{ "word",	"nsI",	S, S, conv_word, conv_field_check, 0 },
	{ "wt6",	"I",	N, I, conv_wt6, NULL, 0 },
	{ "xor",	"n",	I, I, conv_bin_xor, NULL, 0 },
};
#undef B
#undef I
#undef A
#undef S
#undef N
const size_t sample_conv_nbuiltin = sizeof(sample_conv_builtin) / sizeof(sample_conv_builtin[0]);
