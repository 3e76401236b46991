// The optional question after a sign-in (issue 18), in a real browser with
// `satisfaction_every_days` on: asked after the consent, before the portal receives its code;
// axe-core clean at 320 px in Vietnamese and at 1280 px in English; answered with a pointer,
// and skipped with the keyboard alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AN, DVC, authorizeUrl, checked, catchCallback, demoTotp, env, pkce, redeem, startNixa, tabTo, useChromium } from './harness.mjs';

startNixa({ extraEnv: { NIXA_SATISFACTION_EVERY_DAYS: '30' } });
const chrome = useChromium();

test('a citizen rates signing in at 320 px and the portal then gets its code', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN', viewport: { width: 320, height: 640 }, bypassCSP: true });
  const page = await context.newPage();
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', AN.password);
  await Promise.all([page.waitForURL(/\/consent\?r=/), page.click('form[action="/login"] button[type=submit]')]);
  await Promise.all([page.waitForURL(/\/satisfaction\?r=/), page.click('button[name=decision][value=approve]')]);
  await checked(page);
  assert.equal(await page.locator('h1').innerText(), 'Bạn thấy việc đăng nhập thế nào?');
  // "Send" without a choice: the page says what to do, still accessible.
  await Promise.all([page.waitForNavigation(), page.click('button[name=decision][value=send]')]);
  assert.equal(await page.locator('#error').getAttribute('data-error'), 'satisfaction.error.choose');
  await checked(page);
  await page.check('#rating-5');
  await page.fill('#comment', 'Nhanh và dễ');
  await page.click('button[name=decision][value=send]');
  const code = (await callback).searchParams.get('code');
  const tokens = await redeem(env.issuer, DVC, code, verifier, DVC.redirect);
  assert.equal(tokens.status, 200);
  await context.close();
});

test('a level-2 citizen skips the question in English with the keyboard alone', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const page = await context.newPage();
  const { challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge, { ui_locales: 'en' }));
  await page.fill('#personal_id', '079185005678');
  await page.fill('#password', 'demo-binh-2026');
  await Promise.all([page.waitForURL(/\/login\/totp/), page.press('#password', 'Enter')]);
  await page.fill('#code', await demoTotp());
  await Promise.all([page.waitForURL(/\/consent\?r=/), page.press('#code', 'Enter')]);
  await tabTo(page, 'button[name=decision][value=approve]');
  await Promise.all([page.waitForURL(/\/satisfaction\?r=/), page.keyboard.press('Enter')]);
  await checked(page);
  assert.equal(await page.locator('h1').innerText(), 'How was signing in?');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await tabTo(page, 'button[name=decision][value=skip]');
  await page.keyboard.press('Enter');
  assert.ok((await callback).searchParams.get('code'), 'the portal receives its code after a skip');
  await context.close();
});
