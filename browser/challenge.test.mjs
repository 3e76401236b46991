// Proof of work in a real browser (issue 16): after too many passwords from one address, the
// login page carries a puzzle that its script solves by itself; the person types the password
// and gets in, with nothing to read or click. Accessible at 320 px, no script errors under CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AN, DVC, accessible, authorizeUrl, catchCallback, env, pkce, startNixa, useChromium } from './harness.mjs';

// Work asked of an address past one attempt a minute; easy puzzles (12 bits) for the test.
startNixa({ extraEnv: { NIXA_THROTTLE: '{pow_per_minute=1,pow_burst=1,pow_bits=12}' } });
const chrome = useChromium();

test('past the softer limit the login page solves a puzzle by itself and the person signs in', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN', viewport: { width: 320, height: 640 } });
  const page = await context.newPage();
  const errors = [];
  // Refused sign-ins answer 401 (and there is no favicon): Chromium reports those statuses too.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  const { challenge } = await pkce();
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  for (const expected of ['login.error.invalid', 'login.error.proof_of_work']) {
    await page.fill('#personal_id', AN.pid);
    await page.fill('#password', 'not the password');
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForSelector('#login-error');
    assert.equal(await page.locator('#login-error').getAttribute('data-error'), expected);
  }
  assert.ok(await page.locator('#password-form').getAttribute('data-proof-of-work'), 'the page carries a puzzle');
  await page.waitForFunction(() => document.getElementById('proof-of-work').value !== '');
  assert.match(await page.locator('#proof-of-work-status').innerText(), /kiểm tra xong/);
  const callback = catchCallback(page, DVC.redirect);
  await page.fill('#password', AN.password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(/\/consent\?r=/);
  await page.click('button[name=decision][value=approve]');
  const url = await callback;
  assert.ok(url.searchParams.get('code'), 'signed in at the portal');
  assert.deepEqual(errors, [], 'no CSP violation or script error');
  await context.close();
});

test('the page with the puzzle is accessible, in English too', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB', bypassCSP: true, viewport: { width: 320, height: 640 } });
  const page = await context.newPage();
  const { challenge } = await pkce();
  // This address is still a suspect: the page has the puzzle from the start.
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  assert.ok(await page.locator('#password-form').getAttribute('data-proof-of-work'));
  await page.waitForFunction(() => document.getElementById('proof-of-work').value !== '');
  assert.match(await page.locator('#proof-of-work-status').innerText(), /Check done/);
  await accessible(page);
  await context.close();
});
