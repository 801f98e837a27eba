/*
 * statspage: see statspage.h. The HTML is drawn from show stat's CSV
 * (admin_stat_write), so that the page, the ";csv" form and the admin
 * socket cannot disagree on a figure.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acl.h"
#include "admin_stat.h"
#include "conf_statspage.h"
#include "httpd.h"
#include "log.h"
#include "sample.h"
#include "sockaddr.h"
#include "statspage.h"

#define SP_PAGES	8	/* stats page proxies */
#define SP_LISTENS	16	/* their bind lines, in all */
#define SP_DEFAULT_URI	"/haproxy?stats"
#define SP_DEFAULT_REALM "HAProxy Statistics"

struct sp_page {
	char *name;
	struct conf_statspage cfg;	/* strings owned; auth[] base64 of USER:PASS */
};

static struct sp_page sp_pages[SP_PAGES];
static int sp_npages;
static struct {
	int fd;
	struct evhttp *http;
	struct sp_page *page;
	char addr[SOCKADDR_STRLEN];
} sp_listens[SP_LISTENS];
static int sp_nlistens;

/* ---- settings ---- */

static char *
sp_base64(const char *s)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned char)s[i] << 16;

		v |= i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? (unsigned char)s[i + 2] : 0;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static char *
sp_dup(const char *s, const char *dflt)
{
	return s != NULL ? strdup(s) : dflt != NULL ? strdup(dflt) : NULL;
}

/* pg = a copy of px's settings; -1 if memory is short. */
static int
sp_copy(struct sp_page *pg, const struct conf_proxy *px)
{
	const struct conf_statspage *c = px->page;

	pg->name = strdup(px->name);
	pg->cfg = *c;
	pg->cfg.uri = sp_dup(c->uri, SP_DEFAULT_URI);
	pg->cfg.realm = sp_dup(c->realm, SP_DEFAULT_REALM);
	pg->cfg.monitor_uri = sp_dup(c->monitor_uri, NULL);
	for (pg->cfg.nauth = 0; pg->cfg.nauth < c->nauth; pg->cfg.nauth++) {
		if ((pg->cfg.auth[pg->cfg.nauth] = sp_base64(c->auth[pg->cfg.nauth])) == NULL)
			return -1;
	}
	return pg->name == NULL || pg->cfg.uri == NULL || pg->cfg.realm == NULL ||
	    (c->monitor_uri != NULL && pg->cfg.monitor_uri == NULL) ? -1 : 0;
}

/* ---- the page ---- */

static void
sp_esc(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '<')
			evbuffer_add(b, "&lt;", 4);
		else if (*s == '>')
			evbuffer_add(b, "&gt;", 4);
		else if (*s == '&')
			evbuffer_add(b, "&amp;", 5);
		else if (*s == '"')
			evbuffer_add(b, "&quot;", 6);
		else
			evbuffer_add(b, s, 1);
	}
}

/* The columns of the page, by their names in show stat's head line. */
static const char *const sp_cols[] = {
	"svname", "status", "weight", "scur", "smax", "slim", "stot", "bin", "bout", "econ",
	"check_status",
};
#define SP_NCOLS (sizeof(sp_cols) / sizeof(sp_cols[0]))
#define SP_MAXF 160	/* fields of a CSV line read */

/* Split line (modified) at commas into f; the number of fields. */
static int
sp_split(char *line, char **f)
{
	int n = 0;

	for (char *s = line; n < SP_MAXF; s++) {
		f[n++] = s;
		if ((s = strchr(s, ',')) == NULL)
			break;
		*s = '\0';
	}
	return n;
}

/* One table per proxy, each row a line of csv (NUL-terminated, modified). */
static void
sp_tables(struct evbuffer *b, char *csv)
{
	int at[SP_NCOLS], nf;
	char *f[SP_MAXF], *line = csv, *end, prev[256] = "";

	if ((end = strchr(line, '\n')) == NULL || strncmp(line, "# ", 2) != 0)
		return;
	*end = '\0';
	nf = sp_split(line + 2, f);
	for (size_t c = 0; c < SP_NCOLS; c++) {
		at[c] = -1;
		for (int i = 0; i < nf; i++)
			at[c] = strcmp(f[i], sp_cols[c]) == 0 ? i : at[c];
	}
	for (line = end + 1; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		*end = '\0';
		if ((nf = sp_split(line, f)) < 2)
			continue;
		if (strcmp(prev, f[0]) != 0) {
			evbuffer_add_printf(b, "%s<h2>", prev[0] != '\0' ? "</table>\n" : "");
			sp_esc(b, f[0]);
			evbuffer_add_printf(b, "</h2>\n<table class=\"px\">\n<tr>");
			for (size_t c = 0; c < SP_NCOLS; c++)
				evbuffer_add_printf(b, "<th>%s</th>", sp_cols[c]);
			evbuffer_add_printf(b, "</tr>\n");
			snprintf(prev, sizeof(prev), "%s", f[0]);
		}
		evbuffer_add_printf(b, "<tr class=\"%s\">", f[1]);
		for (size_t c = 0; c < SP_NCOLS; c++) {
			evbuffer_add(b, "<td>", 4);
			if (at[c] >= 0 && at[c] < nf)
				sp_esc(b, f[at[c]]);
			evbuffer_add(b, "</td>", 5);
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	if (prev[0] != '\0')
		evbuffer_add_printf(b, "</table>\n");
}

static void
sp_html(struct evbuffer *b, const struct sp_page *pg)
{
	struct evbuffer *csv = evbuffer_new();
	char *text;

	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n");
	if (pg->cfg.refresh_s > 0)
		evbuffer_add_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n",
		    pg->cfg.refresh_s);
	evbuffer_add_printf(b, "<title>Statistics Report for splicer</title>\n<style>"
	    "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #999;"
	    "padding:2px 6px;text-align:right}tr.FRONTEND,tr.BACKEND{background:#eef}"
	    "</style></head><body>\n<h1>Statistics Report for splicer%s%s</h1>\n",
	    pg->cfg.hide_version ? "" : " ", pg->cfg.hide_version ? "" : PACKAGE_VERSION);
	if (csv != NULL) {
		admin_stat_write(csv, ADMIN_FORM_TEXT);
		evbuffer_add(csv, "", 1);
		if ((text = (char *)evbuffer_pullup(csv, -1)) != NULL)
			sp_tables(b, text);
		evbuffer_free(csv);
	}
	evbuffer_add_printf(b, "<p><a href=\"");
	sp_esc(b, pg->cfg.uri);
	evbuffer_add_printf(b, ";csv\">CSV export</a></p>\n</body></html>\n");
}

/* ---- requests ---- */

static int
sp_authorized(struct evhttp_request *req, const struct sp_page *pg)
{
	const char *h;

	if (pg->cfg.nauth == 0)
		return 1;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	for (h += 6; *h == ' '; h++)
		;
	for (int i = 0; i < pg->cfg.nauth; i++) {
		if (strcmp(h, pg->cfg.auth[i]) == 0)
			return 1;
	}
	return 0;
}

static void
sp_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
    struct evbuffer *b)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, reason, b);
}

/*
 * Does a "monitor fail" condition of pg hold for req? The conditions are
 * those of the configuration now running (a reload changes them, and the
 * backends they name), evaluated with the client's and the page's
 * addresses.
 */
static int
sp_monitor_fails(const struct sp_page *pg, struct evhttp_request *req)
{
	struct evhttp_connection *cn = evhttp_request_get_connection(req);
	const struct conf_proxy *px = conf_current()->stats_pages;
	struct sample_ctx ctx = { .final = 1 };
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	evutil_socket_t fd;

	while (px != NULL && strcmp(px->name, pg->name) != 0)
		px = px->next;
	if (px == NULL || px->page == NULL || px->page->nfail == 0)
		return 0;
	ctx.fe = px;
	ctx.cli = cn != NULL ? evhttp_connection_get_addr(cn) : NULL;
	fd = cn != NULL ? bufferevent_getfd(evhttp_connection_get_bufferevent(cn)) : -1;
	if (fd != -1 && getsockname(fd, (struct sockaddr *)&local, &len) == 0)
		ctx.dst = (const struct sockaddr *)&local;
	for (int i = 0; i < px->page->nfail; i++) {
		if (acl_cond_eval(px->page->fail[i], &ctx) == ACL_PASS)
			return 1;
	}
	return 0;
}

static void
sp_unavailable(struct evhttp_request *req, struct evbuffer *b)
{
	evbuffer_add_printf(b, "<html><body><h1>503 Service Unavailable</h1>\nNo server is "
	    "available to handle this request.\n</body></html>\n");
	sp_reply(req, 503, "Service Unavailable", "text/html", b);
}

static void
sp_on_request(struct evhttp_request *req, void *arg)
{
	const struct sp_page *pg = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	size_t plen = strlen(pg->cfg.uri);
	struct evbuffer *b = evbuffer_new();
	char realm[300];

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	if (pg->cfg.monitor_uri != NULL && strcmp(uri, pg->cfg.monitor_uri) == 0 &&
	    sp_monitor_fails(pg, req)) {
		sp_unavailable(req, b);
	} else if (pg->cfg.monitor_uri != NULL && strcmp(uri, pg->cfg.monitor_uri) == 0) {
		evbuffer_add_printf(b, "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n");
		sp_reply(req, HTTP_OK, "OK", "text/html", b);
	} else if (!pg->cfg.enabled || strncmp(uri, pg->cfg.uri, plen) != 0) {
		sp_unavailable(req, b);
	} else if (!sp_authorized(req, pg)) {
		snprintf(realm, sizeof(realm), "Basic realm=\"%s\"", pg->cfg.realm);
		evhttp_add_header(hdr, "WWW-Authenticate", realm);
		evbuffer_add_printf(b, "<html><body><h1>401 Unauthorized</h1>\nYou need a valid "
		    "user and password to access this content.\n</body></html>\n");
		sp_reply(req, 401, "Unauthorized", "text/html", b);
	} else if (strstr(uri + plen, ";csv") != NULL) {
		admin_stat_write(b, ADMIN_FORM_TEXT);
		sp_reply(req, HTTP_OK, "OK", "text/plain", b);
	} else {
		if (pg->cfg.refresh_s > 0) {
			snprintf(realm, sizeof(realm), "%u", pg->cfg.refresh_s);
			evhttp_add_header(hdr, "Refresh", realm);
		}
		sp_html(b, pg);
		sp_reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", b);
	}
	evbuffer_free(b);
}

/* ---- life ---- */

static int
sp_listen(struct sp_page *pg, struct conf_bind *bd, char *err, size_t errlen)
{
	char e[256];
	int i = sp_nlistens;

	if (i == SP_LISTENS) {
		snprintf(err, errlen, "stats page '%s': more than %d bind lines in stats pages",
		    pg->name, SP_LISTENS);
		return -1;
	}
	if (sockaddr_is_unresolved(&bd->addr) && sockaddr_resolve(&bd->addr, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "stats page '%s': bind: %s", pg->name, e);
		return -1;
	}
	sockaddr_print((const struct sockaddr *)&bd->addr.ss, sp_listens[i].addr,
	    sizeof(sp_listens[i].addr));
	if ((sp_listens[i].fd = sockaddr_listen(&bd->addr, 64)) == -1) {
		snprintf(err, errlen, "stats page '%s': bind %s: %s", pg->name, sp_listens[i].addr,
		    strerror(errno));
		return -1;
	}
	sp_listens[i].page = pg;
	sp_nlistens++;
	return 0;
}

int
statspage_bind(const struct conf *c, char *err, size_t errlen)
{
	for (struct conf_proxy *px = c->stats_pages; px != NULL; px = px->next) {
		struct sp_page *pg = &sp_pages[sp_npages];

		if (sp_npages == SP_PAGES) {
			snprintf(err, errlen, "stats page '%s': more than %d stats pages", px->name,
			    SP_PAGES);
			return -1;
		}
		sp_npages++;
		if (sp_copy(pg, px) == -1) {
			snprintf(err, errlen, "stats page '%s': out of memory", px->name);
			return -1;
		}
		for (struct conf_bind *bd = px->binds; bd != NULL; bd = bd->next) {
			if (sp_listen(pg, bd, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

int
statspage_start(struct event_base *base)
{
	for (int i = 0; i < sp_nlistens; i++) {
		sp_listens[i].http = httpd_start(base, sp_listens[i].fd, sp_on_request,
		    sp_listens[i].page);
		sp_listens[i].fd = -1;	/* evhttp's now, or closed */
		if (sp_listens[i].http == NULL)
			return -1;
		log_notice("stats page '%s' on http://%s%s", sp_listens[i].page->name,
		    sp_listens[i].addr, sp_listens[i].page->cfg.uri);
	}
	return 0;
}

int
statspage_changed(const struct conf *c)
{
	int n = 0;

	for (const struct conf_proxy *px = c->stats_pages; px != NULL; px = px->next, n++) {
		if (n == sp_npages || strcmp(px->name, sp_pages[n].name) != 0)
			return 1;
	}
	return n != sp_npages;
}

void
statspage_stop(void)
{
	for (int i = 0; i < sp_nlistens; i++)
		httpd_stop(&sp_listens[i].http, &sp_listens[i].fd);
	sp_nlistens = 0;
	for (int i = 0; i < sp_npages; i++) {
		struct sp_page *pg = &sp_pages[i];

		free(pg->name);
		free(pg->cfg.uri);
		free(pg->cfg.realm);
		free(pg->cfg.monitor_uri);
		for (int k = 0; k < pg->cfg.nauth; k++)
			free(pg->cfg.auth[k]);
		memset(pg, 0, sizeof(*pg));
	}
	sp_npages = 0;
}
