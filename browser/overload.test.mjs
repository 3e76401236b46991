// Overload in a real browser (issue 16): when the server is saturated, a person arriving from a
// portal sees the waiting page in their language (accessible at 320 px, no script errors under
// the CSP), and once there is room again the page asks again by itself and the sign-in goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { accessible, authorizeUrl, pkce, env, DVC, startNixa, useChromium } from './harness.mjs';

// Three requests at once, one slot kept for sign-ins under way: two held requests leave no room
// for a new arrival.
let registrar;
startNixa({
  extraEnv: { NIXA_ADMISSION: '{max_in_flight=3,entry_reserve=1,queue_timeout_ms=300,retry_after_secs=2}' },
  setup: async (nixa) => { registrar = JSON.parse(nixa(['operator', 'token', '--name', 'registrar', '--scope', 'clients:register'])).token; },
});
const chrome = useChromium();

/** A web server that accepts connections and never answers, until released. */
async function tarpit() {
  const sockets = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/sector.json`,
    count: () => sockets.length,
    release: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

/** A request that holds a slot: a registration waiting on a sector document that never comes. */
function held(pit) {
  return fetch(`${env.issuer}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${registrar}`, 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['https://a.example.vn/cb'], sector_identifier_uri: pit.url }),
  }).then((r) => r.status);
}

test('a person arriving at a saturated server waits in line and goes on by themselves once there is room', async () => {
  const pit = await tarpit();
  const holds = [held(pit)];
  while (pit.count() < 1) await new Promise((r) => setTimeout(r, 20));
  holds.push(held(pit));
  while (pit.count() < 2) await new Promise((r) => setTimeout(r, 20));
  const { challenge } = await pkce();
  const url = authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge);
  for (const [locale, lang, words] of [['en-GB', 'en', 'you are in line'], ['vi-VN', 'vi', 'hàng chờ']]) {
    const context = await chrome.browser.newContext({ locale, bypassCSP: locale === 'en-GB', viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('503')) errors.push(m.text()); });
    const res = await page.goto(url);
    assert.equal(res.status(), 503);
    assert.equal(res.headers()['retry-after'], '2');
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    assert.match(await page.locator('h1').innerText(), new RegExp(words));
    assert.equal(await page.locator('#busy-retry').getAttribute('href'), new URL(url).pathname + new URL(url).search);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 320 px (${overflow} px)`);
    if (locale === 'en-GB') {
      await accessible(page);
      await context.close();
      continue;
    }
    // The Vietnamese page stays open; the surge ends, and the page asks again by itself.
    pit.release();
    assert.deepEqual(await Promise.all(holds), [400, 400], 'the registrations end with their own answer');
    await page.waitForURL(/\/login\?r=/, { timeout: 15000 });
    assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
    assert.ok(await page.locator('#personal_id').isVisible(), 'on to the login form');
    assert.deepEqual(errors, [], 'no CSP violation or script error');
    await context.close();
  }
});
