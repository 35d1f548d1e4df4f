/*
 * bootstrap-static.c: the one stylesheet.  Pages read in order without
 * it; with it they fit a phone and keep focus visible.
 */
#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "bootstrap.h"
#include "log.h"

static const char static_style[] =
	":root{color-scheme:light dark;--accent:#0b5cad;--warn:#8a4b00}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0 auto;max-width:42rem;padding:1rem;"
	"font:1.05rem/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif}\n"
	"header{display:flex;flex-wrap:wrap;justify-content:space-between;"
	"align-items:baseline;border-bottom:1px solid #8888;margin-bottom:1rem}\n"
	".site{font-weight:bold;margin:.5rem 0}\n"
	"nav.lang ul{list-style:none;margin:0;padding:0;display:flex;gap:1rem}\n"
	"nav.lang a[aria-current]{font-weight:bold;text-decoration:none}\n"
	".skip{position:absolute;left:-999px}\n"
	".skip:focus{position:static}\n"
	"h1{font-size:1.6rem;line-height:1.25}\n"
	"label{display:block;font-weight:600;margin-bottom:.25rem}\n"
	"input{font:inherit;width:100%;max-width:24rem;padding:.5rem;"
	"border:1px solid #767676;border-radius:.25rem}\n"
	"input[readonly]{background:#8881}\n"
	"button,.button{display:inline-block;font:inherit;padding:.6rem 1.2rem;"
	"border:0;border-radius:.25rem;background:var(--accent);color:#fff;"
	"text-decoration:none;cursor:pointer}\n"
	":focus-visible{outline:3px solid #e8a300;outline-offset:2px}\n"
	".error{border-left:4px solid #b00020;padding:.5rem 1rem;"
	"background:#b0002014}\n"
	".warning{border-left:4px solid var(--warn);padding:.25rem 1rem;"
	"background:#8a4b0014}\n"
	".success{border-left:4px solid #1b7a2e;padding:.5rem 1rem;"
	"background:#1b7a2e14}\n"
	".hint{font-size:.95rem;opacity:.85}\n"
	"table.settings{border-collapse:collapse;margin:1rem 0;width:100%}\n"
	"table.settings caption{text-align:left;font-weight:bold;"
	"padding:.25rem 0}\n"
	"table.settings th,table.settings td{text-align:left;padding:.3rem .5rem;"
	"border-bottom:1px solid #8884;overflow-wrap:anywhere}\n"
	"table.settings th{font-weight:normal;width:45%}\n";

void
static_style_get(struct bs_req *r)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add(b, static_style, sizeof(static_style) - 1);
	bs_reply(r, 200, "OK", "text/css; charset=utf-8", b);
	evbuffer_free(b);
}
