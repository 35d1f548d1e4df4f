// tests/bootstrap-browser.js: the invitation flow in real headless
// Chromium, driven by playwright-core.  Run by tests/bootstrap.test:
//   GB_PLAYWRIGHT=.../node_modules/playwright-core GB_LINK=... GB_PIN=...
//   GB_PASSWORD=... GB_LANG=de|en GB_ARTIFACTS=dir node bootstrap-browser.js
// Exits non-zero with a message when anything is not as it should be;
// saves a screenshot of every page to GB_ARTIFACTS.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(process.env.GB_PLAYWRIGHT);
const { check, launch } = require('./browser-lib.js');

const link = process.env.GB_LINK;
const pin = process.env.GB_PIN;
const password = process.env.GB_PASSWORD;
const lang = process.env.GB_LANG;
const other = lang === 'de' ? 'en' : 'de';
const artifacts = process.env.GB_ARTIFACTS;
const origin = new URL(link).origin;
const expect = JSON.parse(process.env.GB_EXPECT || '{}');

// Reloads the page; fails if the reload sent a POST (the browser's
// "Confirm Form Resubmission"): every form answers with a redirect.
async function reloadIsGet(page, what) {
	const methods = [];
	const seen = (req) => methods.push(req.method());
	page.on('request', seen);
	const resp = await page.reload();
	page.off('request', seen);
	check(resp.request().method() === 'GET' && !methods.includes('POST'),
	    `${what}: a reload sends no form again (${methods.join(',')})`);
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(artifacts,
	    `bootstrap-${lang}-${name}.png`), fullPage: true });
}

(async () => {
	const browser = await launch(chromium, lang, { acceptDownloads: true });
	const ctx = browser.ctx;
	try {
		const page = ctx.pages()[0] || await ctx.newPage();
		const foreign = [];
		page.on('request', (req) => {
			if (!req.url().startsWith(origin))
				foreign.push(req.url());
		});
		let scripts = 0;
		page.on('console', () => scripts++);

		// 1. The link: it ends on the PIN form, the token gone from the URL.
		await page.goto(link);
		let url = new URL(page.url());
		check(url.pathname === '/pin', `link leads to /pin (${url.pathname})`);
		check(!page.url().includes(new URL(link).pathname.slice(3)),
		    'the token is not in the URL any more');
		check(await page.getAttribute('html', 'lang') === lang,
		    `page language is ${lang} from Accept-Language`);
		const cookies = await ctx.cookies();
		const c = cookies.find((k) => k.name === '__Host-guestbox');
		check(c && c.httpOnly && c.secure && c.sameSite === 'Strict' &&
		    c.path === '/', 'session cookie is HttpOnly, Secure, ' +
		    'SameSite=Strict, Path=/');
		check(await page.evaluate(() => document.activeElement.id) === 'pin',
		    'the PIN field has the focus');
		check(await page.locator('label[for=pin]').count() === 1,
		    'the PIN field has a label');
		const css = await page.evaluate(() =>
		    getComputedStyle(document.querySelector('button')).borderRadius);
		check(css !== '0px', 'the stylesheet applies despite the CSP');
		await shot(page, '1-pin');

		// 2. A wrong PIN is refused with an error, through a redirect,
		// and the page says how many attempts are left.
		const left0 = await page.textContent('#attempts');
		await page.fill('#pin', '000000' === pin ? '111111' : '000000');
		const [wrong] = await Promise.all([page.waitForNavigation(),
		    page.click('button[type=submit]')]);
		check(wrong.request().method() === 'GET' &&
		    wrong.request().redirectedFrom() !== null &&
		    wrong.request().redirectedFrom().method() === 'POST',
		    'a wrong PIN is answered POST -> 303 -> GET /pin');
		check(await page.locator('#error').count() === 1,
		    'a wrong PIN shows an error');
		const wrongText = await page.textContent('#error');
		const left1 = await page.textContent('#attempts');
		check(left1 !== left0 && /[0-9]/.test(left1),
		    `the attempts left go down (${left0.trim()} -> ${left1.trim()})`);
		await shot(page, '2-pin-wrong');
		await reloadIsGet(page, 'after a wrong PIN');
		check(await page.locator('#error').count() === 0,
		    'the error is shown once, not after a reload');

		// Three digits: the rule (4 to 12 digits), not "digits only".
		await page.fill('#pin', '123');
		await Promise.all([page.waitForNavigation(),
		    page.click('button[type=submit]')]);
		const shortText = await page.textContent('#error');
		check(shortText.includes('4') && shortText !== wrongText,
		    `"123" is told the 4-digit minimum (${shortText.trim()})`);
		check(await page.textContent('#attempts') === left1,
		    'a PIN of three digits is not counted as an attempt');

		// 3. The right PIN, typed in groups with a blank as people do
		// (the browser's pattern check refused that): the password form.
		await page.fill('#pin', pin.slice(0, 3) + ' ' + pin.slice(3));
		await Promise.all([page.waitForURL('**/password'),
		    page.click('button[type=submit]')]);
		check(true, 'a PIN typed with a blank is taken');
		check(await page.locator('#warning').isVisible(),
		    'the password page shows the warning');
		check(await page.inputValue('#username') === expect.address,
		    'the password page names the user ' + expect.address);
		await shot(page, '3-password');

		// 4. A common password is refused; so are two different ones.
		await page.fill('#password', 'Password2024!');
		await page.fill('#password2', 'Password2024!');
		await page.click('button[type=submit]');
		check(await page.locator('#error').count() === 1,
		    'a common password is refused');
		const commonText = await page.textContent('#error');
		await shot(page, '4-password-common');
		await reloadIsGet(page, 'after a refused password');
		// Too few different characters: its own words (issue 16).
		await page.fill('#password', 'aaaaabbbbbb');
		await page.fill('#password2', 'aaaaabbbbbb');
		await page.click('button[type=submit]');
		const fewText = await page.textContent('#error');
		check(fewText !== commonText && fewText.includes('5'),
		    `"aaaaabbbbbb" is told its own rule (${fewText.trim()})`);
		await page.fill('#password', password);
		await page.fill('#password2', password + 'x');
		await page.click('button[type=submit]');
		check(await page.locator('#error').count() === 1,
		    'two different passwords are refused');

		// 5. The password is set: the settings page.
		await page.fill('#password', password);
		await page.fill('#password2', password);
		await Promise.all([page.waitForURL('**/done'),
		    page.click('button[type=submit]')]);
		check(await page.locator('#encrypted').isVisible(),
		    'the success page says the replies are encrypted');
		if (expect.correspondent)
			check((await page.textContent('#encrypted')).includes(
			    expect.correspondent), 'and names ' +
			    expect.correspondent);
		for (const [id, want] of Object.entries(expect.settings || {})) {
			const got = (await page.textContent('#' + id)).trim();
			check(got === want, `${id} is ${want} (${got})`);
		}
		await shot(page, '5-done');

		// The Apple profile downloads from the success page.
		const [dl] = await Promise.all([page.waitForEvent('download'),
		    page.click('#profile')]);
		const prof = path.join(artifacts, `bootstrap-${lang}.mobileconfig`);
		await dl.saveAs(prof);
		check(fs.statSync(prof).size > 500, 'the profile was downloaded');

		// The visible language switch.
		await page.click(`nav.lang a[lang=${other}]`);
		check(await page.getAttribute('html', 'lang') === other,
		    `the switch changes the language to ${other}`);
		await shot(page, `6-done-${other}`);
		await page.click(`nav.lang a[lang=${lang}]`);

		// 6. The link a second time: the neutral page, no form.
		await page.goto(link);
		check(new URL(page.url()).pathname === '/',
		    'a used link ends on the neutral page');
		check(await page.locator('form').count() === 0,
		    'the neutral page has no form');
		await shot(page, '7-used');

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
