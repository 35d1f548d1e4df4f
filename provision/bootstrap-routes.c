/*
 * bootstrap-routes.c: every URL guestbox-bootstrapd answers, one row each.
 *
 *	GET  /i/TOKEN		the link from the mail: token into the cookie
 *	GET  /			where the browser is in the flow
 *	GET  /pin, POST /pin	the PIN form
 *	GET  /password, POST /password
 *	GET  /done		settings for mail programs
 *	GET  /profile.mobileconfig
 *	POST /phone		from the success page: a phone's one-time link
 *	GET  /p/TOKEN		that link: the profile with a device password
 *	GET  /style.css
 *	GET  /account, POST /account/login, POST /account	the guest's page
 *	POST /account/phone	a phone's one-time link from the guest's page
 *	GET  /lost, POST /lost	a lost password: a new invitation asked for
 */
#include "config.h"

#include "bootstrap.h"

const struct route bs_routes[] = {
	{ .method = EVHTTP_REQ_GET, .path = "/i/",
	    .flags = ROUTE_PREFIX | ROUTE_THROTTLED, .handler = invite_get },
	{ .method = EVHTTP_REQ_GET, .path = "/", .handler = start_get },
	{ .method = EVHTTP_REQ_GET, .path = "/pin", .handler = pin_get },
	{ .method = EVHTTP_REQ_POST, .path = "/pin",
	    .flags = ROUTE_THROTTLED | ROUTE_FORM, .form = "pin",
	    .handler = pin_post },
	{ .method = EVHTTP_REQ_GET, .path = "/password",
	    .handler = password_get },
	{ .method = EVHTTP_REQ_POST, .path = "/password",
	    .flags = ROUTE_THROTTLED | ROUTE_FORM, .form = "password",
	    .handler = password_post },
	{ .method = EVHTTP_REQ_GET, .path = "/done", .handler = done_get },
	{ .method = EVHTTP_REQ_GET, .path = "/profile.mobileconfig",
	    .handler = profile_get },
	{ .method = EVHTTP_REQ_POST, .path = "/phone",
	    .flags = ROUTE_THROTTLED | ROUTE_FORM, .form = "phone",
	    .handler = done_phone_post },
	{ .method = EVHTTP_REQ_GET, .path = "/p/",
	    .flags = ROUTE_PREFIX | ROUTE_THROTTLED, .handler = phone_get },
	{ .method = EVHTTP_REQ_GET, .path = "/style.css",
	    .handler = static_style_get },
	{ .method = EVHTTP_REQ_GET, .path = "/account",
	    .flags = ROUTE_ACCOUNT, .handler = account_get },
	{ .method = EVHTTP_REQ_POST, .path = "/account/login",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "account-login", .handler = account_login_post },
	{ .method = EVHTTP_REQ_POST, .path = "/account",
	    .flags = ROUTE_ACCOUNT | ROUTE_FORM, .form = "account",
	    .handler = account_post },
	{ .method = EVHTTP_REQ_POST, .path = "/account/devices",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "account-devices", .handler = account_device_post },
	{ .method = EVHTTP_REQ_POST, .path = "/account/logins",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "account-logins", .handler = account_logins_post },
	{ .method = EVHTTP_REQ_POST, .path = "/account/phone",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "account-phone", .handler = account_phone_post },
	{ .method = EVHTTP_REQ_POST, .path = "/account/mbox",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "account-mbox", .handler = account_mbox_post },
	{ .method = EVHTTP_REQ_GET, .path = "/lost",
	    .flags = ROUTE_ACCOUNT, .handler = lost_get },
	{ .method = EVHTTP_REQ_POST, .path = "/lost",
	    .flags = ROUTE_ACCOUNT | ROUTE_THROTTLED | ROUTE_FORM,
	    .form = "lost", .handler = lost_post },
};

const size_t bs_nroutes = sizeof(bs_routes) / sizeof(bs_routes[0]);
