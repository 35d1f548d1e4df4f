// tests/browser-lib.js: what the Chromium tests (bootstrap-browser.js,
// account-browser.js) share: a checked step, and headless Chromium with
// a fresh profile, as a phone, in a language.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function check(cond, what) {
	if (!cond)
		throw new Error('FAIL: ' + what);
	console.log('ok - ' + what);
}

// Returns { ctx, close }; extra goes into the context's options.
async function launch(chromium, lang, extra) {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, Object.assign({
		executablePath: '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--no-first-run', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
		ignoreHTTPSErrors: true,
		locale: lang === 'de' ? 'de-DE' : 'en-US',
		viewport: { width: 390, height: 844 },	// a phone
	}, extra || {}));
	return {
		ctx,
		close: async () => {
			await ctx.close();
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}

module.exports = { check, launch };
