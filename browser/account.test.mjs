// Issue 17 in a real browser: a person signs in at portal A (which receives the personal ID)
// and portal B (which does not); the account page shows who received what, withdrawing A's
// consent ends A's access and tells A, the download holds it all, and "sign out everywhere"
// ends another browser's session. Every page a person sees here passes axe-core (WCAG 2.1 A
// and AA) and has no horizontal scrolling at 320 px; one sign-in is done with the keyboard
// alone.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { AN, DVC, authorizeUrl, checked, catchCallback, demoTotp, env, idTokenClaims, pkce, redeem, startNixa, tabTo, useChromium } from './harness.mjs';

const TINH = { id: 'demo-tinh', redirect: 'http://localhost:9001/callback' };
const A = { id: 'portal-a', secret: '', redirect: 'http://localhost:9100/callback' };
const logoutTokens = [];
let receiver;

startNixa({
  setup: async (nixa) => {
    // Portal A's back-channel logout endpoint, in this process.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { logoutTokens.push(new URLSearchParams(body).get('logout_token')); res.writeHead(200).end(); });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    // Keep-alive connections from nixa must not hold the test process open at the end.
    receiver.unref();
    const options = {
      backchannel_logout_uri: `http://localhost:${receiver.address().port}/backchannel`,
      purposes: { vn_identity: { vi: 'Xác minh người nộp hồ sơ', en: 'Verify who files the application' } },
      responsible_organisation: { name: 'Sở Tư pháp', contact: '024 3825 0000' },
    };
    const out = JSON.parse(nixa(['client', 'add', '--id', A.id, '--name', 'Cổng dịch vụ A', '--redirect-uri', A.redirect,
      '--scope', 'openid', '--scope', 'profile', '--scope', 'vn_identity', '--scope', 'offline_access', '--options', JSON.stringify(options)]));
    A.secret = out.client_secret;
  },
});
const chrome = useChromium();
after(() => { receiver?.closeAllConnections?.(); receiver?.close(); });

async function signIn(page) {
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', AN.password);
  await page.click('form[action="/login"] button[type=submit]');
}

/** A code from a portal, the person signing in or consenting as asked. */
async function codeAt(page, portal, scope, check = false) {
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, portal.redirect);
  await page.goto(authorizeUrl(env.issuer, portal.id, portal.redirect, challenge, { scope }));
  if (page.url().includes('/login')) {
    if (check) await checked(page);
    await signIn(page);
  }
  await page.waitForURL((u) => u.href.startsWith(portal.redirect) || u.pathname === '/consent');
  if (page.url().includes('/consent')) {
    if (check) await checked(page);
    await page.click('button[name=decision][value=approve]');
  }
  const url = await callback;
  await page.waitForURL((u) => u.href.startsWith(portal.redirect));
  return { code: url.searchParams.get('code'), verifier };
}

async function redeemPublic(portal, code, verifier) {
  const res = await fetch(`${env.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: portal.redirect, code_verifier: verifier, client_id: portal.id }),
  });
  return { status: res.status, body: await res.json() };
}

test('who received my data, withdrawing a consent, the download and signing out everywhere', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN', viewport: { width: 320, height: 640 }, bypassCSP: true });
  const page = await context.newPage();

  // Portal A with the personal ID, then portal B without it (single sign-on, its own consent).
  const a = await codeAt(page, A, 'openid profile vn_identity offline_access', true);
  const tokensA = await redeem(env.issuer, A, a.code, a.verifier, A.redirect);
  assert.equal(tokensA.status, 200, JSON.stringify(tokensA.body));
  assert.ok(tokensA.body.refresh_token, 'offline access was granted');
  const b = await codeAt(page, TINH, 'openid profile');
  const tokensB = await redeemPublic(TINH, b.code, b.verifier);
  assert.equal(tokensB.status, 200, JSON.stringify(tokensB.body));

  // Who received my data: both portals, each with exactly what it got.
  await page.goto(`${env.issuer}/account/disclosures`);
  await checked(page);
  const itemA = page.locator(`#disclosure-list li[data-recipient="${A.id}"]`);
  const itemB = page.locator(`#disclosure-list li[data-recipient="${TINH.id}"]`);
  assert.equal(await itemA.count(), 1);
  assert.equal(await itemB.count(), 1);
  const textA = await itemA.innerText();
  const textB = await itemB.innerText();
  assert.match(textA, /Số định danh cá nhân/);
  assert.match(textA, /Xác minh người nộp hồ sơ/, 'with its purpose');
  assert.match(textB, /Họ và tên/);
  assert.doesNotMatch(textB, /Số định danh cá nhân/, 'B never received the personal ID');
  await page.selectOption('#recipient', A.id);
  await page.click('#disclosure-filter button');
  assert.equal(await page.locator('#disclosure-list > li').count(), 1, 'filtered to portal A');

  // The account page, in both languages.
  await page.goto(`${env.issuer}/account`);
  await checked(page);
  await page.goto(`${env.issuer}/account?lang=en`);
  await checked(page);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');

  // A second browser of the same person.
  const other = await chrome.browser.newContext({ locale: 'vi-VN' });
  const otherPage = await other.newPage();
  await otherPage.goto(`${env.issuer}/account`);
  await signIn(otherPage);
  await otherPage.waitForURL(/\/account$/);

  // Withdraw A's consent.
  await page.click(`#consent-list li[data-client="${A.id}"] button[type=submit]`);
  await page.waitForURL(/\/account#consents$/);
  assert.equal(await page.locator(`#consent-list li[data-client="${A.id}"]`).count(), 0);
  const refresh = await fetch(`${env.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${A.id}:${A.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokensA.body.refresh_token }),
  });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, 'invalid_grant');
  for (let i = 0; i < 100 && logoutTokens.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
  assert.equal(logoutTokens.length, 1, 'A received a logout token');
  const logout = idTokenClaims(logoutTokens[0]);
  assert.equal(logout.aud, A.id);
  assert.equal(logout.sid, idTokenClaims(tokensA.body.id_token).sid);
  // The next sign-in at A asks again.
  const { challenge } = await pkce();
  await page.goto(authorizeUrl(env.issuer, A.id, A.redirect, challenge, { scope: 'openid vn_identity' }));
  assert.match(page.url(), /\/consent\?r=/);

  // Download my data: both releases and the withdrawal.
  const download = await page.request.get(`${env.issuer}/account/export`);
  assert.equal(download.status(), 200);
  assert.match(download.headers()['content-disposition'], /attachment/);
  const doc = await download.json();
  const recipients = doc.disclosures.map((d) => d.recipient);
  assert.ok(recipients.includes(A.id) && recipients.includes(TINH.id), JSON.stringify(recipients));
  assert.ok(doc.audit_events.some((e) => e.event === 'consent.withdrawn' && e.client_id === A.id));

  // Sign out everywhere: the other browser's session ends too.
  await page.goto(`${env.issuer}/account`);
  await Promise.all([page.waitForNavigation(), page.click('#end-all button')]);
  await checked(page);
  await otherPage.goto(`${env.issuer}/account`);
  assert.match(otherPage.url(), /\/login\?r=/, 'the other browser must sign in again');
  await other.close();
  await context.close();
});

test('the home page, an error page and the sign-out page are accessible at 320 px in both languages', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 320, height: 640 }, bypassCSP: true });
  const page = await context.newPage();
  for (const path of ['/', '/?lang=vi', '/authorize?client_id=nobody', '/logout', '/account/disclosures']) {
    await page.goto(`${env.issuer}${path}`);
    await checked(page);
    assert.ok(await page.locator('footer').count(), `${path} has the footer`);
  }
  await context.close();
});

test('the whole sign-in and the account page work with the keyboard alone', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  const { challenge } = await pkce();
  const callback = catchCallback(page, A.redirect);
  await page.goto(authorizeUrl(env.issuer, A.id, A.redirect, challenge, { scope: 'openid profile' }));
  await tabTo(page, '#personal_id');
  await page.keyboard.type(AN.pid);
  await tabTo(page, '#password');
  await page.keyboard.type(AN.password);
  await Promise.all([page.waitForURL(/\/consent\?r=/), page.keyboard.press('Enter')]);
  await tabTo(page, 'button[name=decision][value=approve]');
  await page.keyboard.press('Enter');
  assert.ok((await callback).searchParams.get('code'));
  await page.waitForURL((u) => u.href.startsWith(A.redirect));
  // The account page: its sections are reachable, and signing out everywhere is a key press.
  await page.goto(`${env.issuer}/account`);
  await tabTo(page, 'a[href="#disclosures"]');
  await tabTo(page, '#correction-message');
  await page.keyboard.type('Địa chỉ của tôi đã thay đổi');
  await tabTo(page, '#correction-form button[type=submit]');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/account#corrections$/);
  assert.equal(await page.locator('#corrections .correction').count(), 1);
  await tabTo(page, '#end-all button');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.goto(`${env.issuer}/account`);
  assert.match(page.url(), /\/login\?r=/);
  await context.close();
});

test('every step of a level-2 sign-in for an organisation is accessible at 320 px', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN', viewport: { width: 320, height: 640 }, bypassCSP: true });
  const page = await context.newPage();
  const { challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge, { scope: 'openid profile vn_org', acr_values: 'urn:vn:eid:loa:2' }));
  await checked(page);
  // The app's QR sign-in page, then back to the password.
  const login = page.url();
  await Promise.all([page.waitForURL(/\/login\/qr\?r=/), page.click('a[href^="/login/qr?r="]')]);
  await checked(page);
  await page.goto(login);
  await page.fill('#personal_id', '079185005678');
  await page.fill('#password', 'demo-binh-2026');
  await Promise.all([page.waitForURL(/\/login\/totp/), page.click('form[action="/login"] button[type=submit]')]);
  await checked(page);
  await page.fill('#code', await demoTotp());
  // Consent first, then the organisation to act for (signin::policy).
  await Promise.all([page.waitForURL(/\/consent\?r=/), page.press('#code', 'Enter')]);
  await checked(page);
  await Promise.all([page.waitForURL(/\/organisation\?r=/), page.click('button[name=decision][value=approve]')]);
  await checked(page);
  await page.click('form[action="/organisation"] button[type=submit]');
  assert.ok((await callback).searchParams.get('code'));
  await page.waitForURL((u) => u.href.startsWith(DVC.redirect));
  // The device-code page a television or a kiosk sends people to, and the app devices page.
  await page.goto(`${env.issuer}/device`);
  await checked(page);
  await page.goto(`${env.issuer}/account/devices`);
  await checked(page);
  await context.close();
});
