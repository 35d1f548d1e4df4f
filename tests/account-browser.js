// tests/account-browser.js: the guest's page (/account) in real headless
// Chromium, driven by playwright-core.  Run by tests/account.test:
//   GB_PLAYWRIGHT=.../playwright-core GB_ORIGIN=https://... GB_ADDRESS=...
//   GB_PASSWORD=... GB_LANG=de|en GB_ARTIFACTS=dir [GB_AXE=axe.min.js]
//   node account-browser.js
// With GB_AXE, axe-core checks every page (0 violations wanted).  Exits
// non-zero with a message when anything is not as it should be; saves a
// screenshot of every page to GB_ARTIFACTS.
'use strict';
const path = require('path');
const { chromium } = require(process.env.GB_PLAYWRIGHT);
const { check, launch } = require('./browser-lib.js');

const origin = process.env.GB_ORIGIN;
const address = process.env.GB_ADDRESS;
const password = process.env.GB_PASSWORD;
const lang = process.env.GB_LANG;
const other = lang === 'de' ? 'en' : 'de';
const artifacts = process.env.GB_ARTIFACTS;
const axePath = process.env.GB_AXE || '';

async function shot(page, name) {
	await page.screenshot({ path: path.join(artifacts,
	    `account-${lang}-${name}.png`), fullPage: true });
}

// axe-core in the page (the test context bypasses the CSP for it only).
async function axe(page, what) {
	if (axePath === '')
		return;
	await page.addScriptTag({ path: axePath });
	const res = await page.evaluate(async () =>
	    await window.axe.run(document, { resultTypes: ['violations'] }));
	const v = res.violations.map((x) => `${x.id}: ${x.help}`);
	check(v.length === 0, `axe-core: no violations on ${what} ` +
	    JSON.stringify(v));
}

async function submit(page, selector) {
	const [resp] = await Promise.all([page.waitForNavigation(),
	    page.click(selector)]);
	return resp;
}

(async () => {
	const browser = await launch(chromium, lang,
	    { bypassCSP: axePath !== '' });
	const ctx = browser.ctx;
	try {
		const page = ctx.pages()[0] || await ctx.newPage();
		const foreign = [];
		page.on('request', (req) => {
			if (!req.url().startsWith(origin))
				foreign.push(req.url());
		});

		// 1. The login form, in the browser's language.
		await page.goto(origin + '/account');
		check(await page.getAttribute('html', 'lang') === lang,
		    `page language is ${lang} from Accept-Language`);
		const c = (await ctx.cookies()).find((k) =>
		    k.name === '__Host-guestbox-account');
		check(c && c.httpOnly && c.secure && c.sameSite === 'Strict' &&
		    c.path === '/', 'the page\'s own cookie is HttpOnly, ' +
		    'Secure, SameSite=Strict, Path=/');
		check(await page.evaluate(() => document.activeElement.id) ===
		    'address', 'the address field has the focus');
		check(await page.locator('label[for=address]').count() === 1 &&
		    await page.locator('label[for=password]').count() === 1,
		    'both fields have labels');
		await shot(page, '1-login');
		await axe(page, 'the login form');

		// 2. A wrong password: POST -> 303 -> GET with an error.
		await page.fill('#address', address);
		await page.fill('#password', password + 'x');
		const wrong = await submit(page, 'button[type=submit]');
		check(wrong.request().method() === 'GET' &&
		    wrong.request().redirectedFrom() !== null,
		    'a wrong password is answered with a redirect');
		check(await page.locator('#error').count() === 1,
		    'a wrong password shows an error');
		await shot(page, '2-login-wrong');
		await axe(page, 'the login form with an error');

		// 3. The right one: the page.
		await page.fill('#address', address);
		await page.fill('#password', password);
		await submit(page, 'button[type=submit]');
		check(new URL(page.url()).pathname === '/account',
		    'logged in, on /account');
		check((await page.textContent('#address')).includes(address),
		    'the page names ' + address);
		check(/[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(
		    await page.textContent('#expires')),
		    'the page shows the expiry date');
		await shot(page, '3-page');
		await axe(page, 'the page');

		// 4. Notices off and on, lock and unlock, each a form.
		await submit(page, '#notices-off');
		check(await page.locator('#saved').count() === 1 &&
		    await page.locator('#notices-on').count() === 1,
		    'notices switched off');
		await shot(page, '4-notices-off');
		await axe(page, 'the page after a change');
		await submit(page, '#notices-on');
		check(await page.locator('#notices-off').count() === 1,
		    'notices switched on again');
		await submit(page, '#lock');
		check(await page.locator('#unlock').count() === 1,
		    'the mailbox is locked');
		await shot(page, '5-locked');
		await submit(page, '#unlock');
		check(await page.locator('#lock').count() === 1,
		    'the mailbox is unlocked');

		// A device password: shown once, listed, revoked.
		await page.fill('#device-name', 'Browser ' + lang);
		await page.fill('#device-password', password);
		await submit(page, '#device-new');
		const dpw = (await page.textContent('#device-password')).trim();
		check(/^d[0-9]+(-[a-z2-9]{5}){4}$/.test(dpw),
		    'a device password is shown');
		await shot(page, '5b-device');
		await axe(page, 'the new device password');
		await submit(page, '#back');
		const rev = page.locator('button[id^=revoke-]');
		check(await rev.count() === 1 &&
		    !(await page.content()).includes(dpw),
		    'the device is listed, its password not shown again');
		await submit(page, 'button[id^=revoke-]');
		check(await page.locator('button[id^=revoke-]').count() === 0,
		    'the device password is revoked');

		// A phone's link: its QR code here, and the link used from a
		// second browser that has none of this one's cookies, once.
		await page.fill('#phone-password', password);
		await submit(page, '#phone');
		check(await page.locator('svg#phone-qr[role=img] title').count()
		    === 1, 'the link page shows a QR code with a title');
		const link = await page.getAttribute('#phone-link', 'href');
		check(/\/p\/[A-Za-z0-9_-]{43}$/.test(link),
		    'the link page shows the link');
		await shot(page, '5c-phone');
		await axe(page, 'the phone link');
		// (public_url names a host the test cannot reach: the path.)
		const url = origin + new URL(link).pathname;
		const phone = await launch(chromium, lang);
		try {
			const first = await phone.ctx.request.get(url);
			check(first.status() === 200 && first.headers()[
			    'content-type'] === 'application/x-apple-aspen-config' &&
			    (await first.text()).includes('IncomingPassword'),
			    'a second browser gets the profile, with a password');
			const again = await phone.ctx.request.get(url);
			check(again.status() === 404,
			    'the link works only once');
		} finally {
			await phone.close();
		}
		await submit(page, '#back');
		check(new URL(page.url()).pathname === '/account',
		    'back on the page');
		await submit(page, 'button[id^=revoke-]');

		// 5. The language switch keeps the session.
		await page.click(`nav.lang a[lang=${other}]`);
		check(await page.getAttribute('html', 'lang') === other &&
		    (await page.textContent('#address')).includes(address),
		    `the switch changes the language to ${other}, logged in`);
		await shot(page, `6-page-${other}`);
		await axe(page, `the page in ${other}`);
		await page.click(`nav.lang a[lang=${lang}]`);

		// 6. Log out: the login form again.
		await submit(page, '#logout');
		check(await page.locator('#password').count() === 1 &&
		    await page.locator('#address[name=address]').count() === 1,
		    'logged out: the login form');

		// 7. A lost password: from the login form to /lost and its
		// answer (an unknown address: the same answer, no mail).
		await submit(page, '#lost');
		check(new URL(page.url()).pathname === '/lost' &&
		    await page.getAttribute('html', 'lang') === lang &&
		    await page.locator('label[for=address]').count() === 1,
		    'the login form links to /lost, a labelled form');
		await shot(page, '7-lost');
		await axe(page, 'the lost-password page');
		await page.fill('#address', 'nobody-' + lang + '@external.test');
		const asked = await submit(page, '#lost-submit');
		check(asked.request().method() === 'GET' &&
		    asked.request().redirectedFrom() !== null &&
		    await page.locator('#asked[role=status]').count() === 1,
		    'the request is answered with a redirect and a notice');
		await shot(page, '8-lost-asked');
		await axe(page, 'the lost-password answer');
		// Back to a page that axe-core's script tag did not go into.
		await submit(page, '#back');
		check(new URL(page.url()).pathname === '/account',
		    '/lost links back to the login');

		check(foreign.length === 0, 'no request left the origin ' +
		    JSON.stringify(foreign));
		check(await page.locator('script').count() === 0,
		    'the pages hold no script');
	} finally {
		await browser.close();
	}
})().catch((e) => {
	console.error(e.message || e);
	process.exit(1);
});
