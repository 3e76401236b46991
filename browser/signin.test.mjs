// The sign-in pages in a real browser: the login form, the consent page and the redirect back to
// the portal, with the page's CSP, cookies and language switch as Chromium enforces them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AN, DVC, authorizeUrl, catchCallback, env, idTokenClaims, pkce, redeem, startNixa, useChromium } from './harness.mjs';

startNixa();
const chrome = useChromium();

test('password sign-in and consent in Chromium reach the portal with a code', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', AN.password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(/\/consent\?r=/);
  assert.ok(await page.locator('#claims li').count() >= 2, 'the consent page lists the data');
  await page.click('button[name=decision][value=approve]');
  const url = await callback;
  assert.equal(url.searchParams.get('state'), 'browser-state');
  assert.equal(url.searchParams.get('iss'), env.issuer);
  const tokens = await redeem(env.issuer, DVC, url.searchParams.get('code'), verifier, DVC.redirect);
  assert.equal(tokens.status, 200);
  const claims = idTokenClaims(tokens.body.id_token);
  assert.equal(claims.acr, 'urn:vn:eid:loa:1');
  assert.deepEqual(errors, [], 'no CSP violation or script error on the pages');
  await context.close();
});

test('a wrong password shows the error on the page, in English when asked', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const { challenge } = await pkce();
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge, { ui_locales: 'en' }));
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', 'not-the-password');
  await page.click('form[action="/login"] button[type=submit]');
  const error = page.locator('#login-error');
  await error.waitFor();
  assert.match(await error.innerText(), /[A-Za-z]/);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await context.close();
});
