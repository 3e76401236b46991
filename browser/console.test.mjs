// Issue 18 in a real browser: an operator signs in to the console through nixa itself (password
// and authenticator app: loa:2), with roles granted by `nixa operator grant`; finds a person by a
// name typed without accents, looks with a reason, locks and unlocks with a reason; rotates a
// portal's secret (both secrets work during the overlap) and disables the portal (its next
// token call fails; after re-enabling, its old access token is inactive at introspection);
// filters the audit log and exports it. Every console page passes axe-core at 320 px (Vietnamese)
// and at 1280 px (English).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AN, DVC, authorizeUrl, checked, catchCallback, demoTotp, env, pkce, redeem, startNixa, useChromium } from './harness.mjs';

const BINH = { pid: '079185005678', password: 'demo-binh-2026' };
const ROLES = ['helpdesk', 'portal_admin', 'auditor', 'statistician', 'security_admin'];
let cli;

startNixa({ setup: async (nixa) => { cli = nixa; } });
const chrome = useChromium();

/** Signs BINH in to the console. A code is good once: a second sign-in waits for the next step. */
async function signIn(page) {
  const code = await demoTotp();
  await page.goto(`${env.issuer}/console`);
  await page.waitForURL(/\/login\?r=/);
  await page.fill('#personal_id', BINH.pid);
  await page.fill('#password', BINH.password);
  await Promise.all([page.waitForURL(/\/login\/totp/), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#code', code);
  await Promise.all([page.waitForURL((u) => u.pathname === '/console'), page.press('#code', 'Enter')]);
}

async function introspect(secret, token) {
  const res = await fetch(`${env.issuer}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${DVC.id}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  return { status: res.status, body: await res.json() };
}

test('an operator with every role runs the console in Vietnamese at 320 px', async () => {
  for (const role of ROLES) cli(['operator', 'grant', '--id', BINH.pid, '--role', role]);
  // A live access token of the portal that will be disabled.
  const citizen = await chrome.browser.newContext({ locale: 'vi-VN' });
  const cp = await citizen.newPage();
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(cp, DVC.redirect);
  await cp.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  await cp.fill('#personal_id', AN.pid);
  await cp.fill('#password', AN.password);
  await cp.click('form[action="/login"] button[type=submit]');
  await cp.waitForURL((u) => u.href.startsWith(DVC.redirect) || u.pathname === '/consent');
  if (cp.url().includes('/consent')) await cp.click('button[name=decision][value=approve]');
  const code = (await callback).searchParams.get('code');
  const tokens = await redeem(env.issuer, DVC, code, verifier, DVC.redirect);
  assert.equal(tokens.status, 200);
  await citizen.close();

  const context = await chrome.browser.newContext({ locale: 'vi-VN', viewport: { width: 320, height: 640 }, bypassCSP: true });
  const page = await context.newPage();
  await signIn(page);
  await checked(page);
  assert.deepEqual(await page.locator('#roles li').evaluateAll((ls) => ls.map((l) => l.dataset.role)).then((r) => r.sort()), [...ROLES].sort());

  // The helpdesk: a name without accents finds Nguyễn Văn An; a reason before looking.
  await page.goto(`${env.issuer}/console/people`);
  await checked(page);
  await page.fill('#q', 'nguyen van an');
  await Promise.all([page.waitForURL(/\/console\/people\?/), page.click('#person-search button[type=submit]')]);
  await checked(page);
  await Promise.all([page.waitForURL(/\/console\/people\/001090001234/), page.click(`tr[data-person="${AN.pid}"] a`)]);
  await checked(page);
  await page.fill('#reason', 'Người dân gọi tổng đài báo mất điện thoại');
  await Promise.all([page.waitForURL(/reason=/), page.click('#view-reason button[type=submit]')]);
  await checked(page);
  assert.equal(await page.locator('#person-name').innerText(), 'Nguyễn Văn An');
  await page.fill('#lock-reason', 'Chủ tài khoản báo mất điện thoại');
  await Promise.all([page.waitForURL(/done=locked/), page.click('#person-lock button[type=submit]')]);
  await checked(page);
  assert.equal(await page.locator('#person-status').innerText(), 'locked_by_operator');
  await page.fill('#lock-reason', 'Đã xác minh tại quầy');
  await Promise.all([page.waitForURL(/done=unlocked/), page.click('#person-lock button[type=submit]')]);
  assert.equal(await page.locator('#person-status').innerText(), 'active');

  // The portal administrator: rotate with an hour of overlap, then disable.
  await page.goto(`${env.issuer}/console/portals`);
  await checked(page);
  await Promise.all([page.waitForURL(/\/console\/portals\/demo-dvc/), page.click(`tr[data-portal="${DVC.id}"] a`)]);
  await checked(page);
  await page.fill('#overlap', '1');
  await Promise.all([page.waitForNavigation(), page.click('#portal-rotate button[type=submit]')]);
  await checked(page);
  const fresh = await page.locator('#new-secret').innerText();
  assert.equal((await introspect(DVC.secret, tokens.body.access_token)).body.active, true, 'the old secret works during the overlap');
  assert.equal((await introspect(fresh, tokens.body.access_token)).body.active, true, 'and so does the new one');
  assert.equal((await introspect('not-the-secret', tokens.body.access_token)).status, 401);
  await page.fill('#disable-reason', 'Khóa bí mật bị lộ');
  await Promise.all([page.waitForURL(/done=disabled/), page.click('#portal-disable button[type=submit]')]);
  await checked(page);
  const refused = await fetch(`${env.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${DVC.id}:${fresh}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'any', redirect_uri: DVC.redirect, code_verifier: verifier }),
  });
  assert.equal(refused.status, 401, 'the disabled portal cannot use the token endpoint');
  assert.equal((await refused.json()).error, 'invalid_client');
  assert.equal((await introspect(fresh, tokens.body.access_token)).status, 401);
  await page.fill('#enable-reason', 'Đã đổi khóa');
  await Promise.all([page.waitForURL(/done=enabled/), page.click('#portal-enable button[type=submit]')]);
  const after = await introspect(fresh, tokens.body.access_token);
  assert.deepEqual([after.status, after.body.active], [200, false], 'its live token was revoked');

  // The auditor: the portal's changes, filtered, exported.
  await page.goto(`${env.issuer}/console/audit`);
  await checked(page);
  await page.fill('#event', 'client.updated');
  await Promise.all([page.waitForURL(/event=client.updated/), page.click('#audit-filter button[type=submit]')]);
  await checked(page);
  const events = await page.locator('#audit-entries tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.event));
  assert.deepEqual(events, ['client.updated', 'client.updated', 'client.updated'], 'rotation, disable, enable');
  const csv = await page.request.get(await page.locator('#export-csv').getAttribute('href', { timeout: 1000 }).then((h) => new URL(h, env.issuer).href));
  assert.equal(csv.status(), 200);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines[0], 'seq,at,event,person_id,client_id,detail,client_addr,user_agent,hash');
  assert.equal(lines.length, 4);
  assert.ok(lines.slice(1).every((l) => l.includes(',client.updated,')));
  const jsonl = await page.request.get(`${env.issuer}/console/audit?event=admin.change&format=jsonl`);
  const entries = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(entries.map((e) => e.detail.action), ['person.locked', 'person.unlocked']);
  assert.equal(entries[0].detail.reason, 'Chủ tài khoản báo mất điện thoại');
  await page.goto(`${env.issuer}/console/audit?verify=1`);
  assert.equal(await page.locator('#audit-verified').getAttribute('data-ok'), 'true');

  for (const path of ['/console/stats', '/console/operators']) {
    await page.goto(`${env.issuer}${path}`);
    await checked(page);
  }
  await context.close();
});

test('the console in English at 1280 px, and a role taken away is refused at once', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await signIn(page);
  for (const path of ['/console?lang=en', '/console/people?q=tran+thi', '/console/portals', `/console/portals/${DVC.id}`,
    `/console/people/${AN.pid}?reason=audit+sample`, '/console/audit', '/console/stats?by=age_band', '/console/operators']) {
    await page.goto(`${env.issuer}${path}`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en', path);
    await checked(page);
  }
  cli(['operator', 'revoke-role', '--id', BINH.pid, '--role', 'auditor']);
  const res = await page.goto(`${env.issuer}/console/audit`);
  assert.equal(res.status(), 403);
  await checked(page);
  await context.close();
});
