// Cross-device sign-in in Chromium: the desktop login page shows a QR code; the reference app
// client (`nixa app`, holding a P-256 device key enrolled through the device grant) approves it;
// the page continues by itself and the portal receives a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AN, DVC, authorizeUrl, catchCallback, env, idTokenClaims, pkce, redeem, startNixa, useChromium } from './harness.mjs';

startNixa();
const chrome = useChromium();
const run = promisify(execFile);
const state = join(mkdtempSync(join(tmpdir(), 'nixa-app-')), 'device.json');

async function passwordSignIn(page) {
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', AN.password);
  await page.click('form[action="/login"] button[type=submit]');
}

/** `nixa app enroll`: the person approves the app's device grant in the browser. */
async function enroll(browser) {
  const app = spawn(process.env.NIXA_BIN, ['app', 'enroll', '--issuer', env.issuer, '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const code = await new Promise((resolve, reject) => {
    app.stdout.on('data', (d) => { out += d; const m = out.match(/\b([B-Z]{4}-[B-Z]{4})\b/); if (m) resolve(m[1]); });
    app.on('exit', (c) => reject(new Error(`enroll exited ${c}: ${out}`)));
  });
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${env.issuer}/device?user_code=${code}`);
  await page.click('form[action="/device"] button[type=submit]');
  await passwordSignIn(page);
  await page.waitForURL(/\/device\/confirm/);
  await page.click('button[name=decision][value=approve]');
  const exit = await new Promise((resolve) => app.on('exit', resolve));
  assert.equal(exit, 0, out);
  await context.close();
}

test('QR sign-in on a desktop, approved by the app', async () => {
  await enroll(chrome.browser);
  const context = await chrome.browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  await page.click('a[href^="/login/qr"]');
  await page.waitForURL(/\/login\/qr/);
  assert.match(await page.locator('#portal').innerText(), /\S/);
  const shortCode = (await page.locator('#short-code').innerText()).trim();
  assert.ok(await page.locator('#qr').isVisible(), 'the QR code is shown');
  const { stdout } = await run(process.env.NIXA_BIN, ['app', 'approve', '--state', state, '--request', shortCode, '--yes']);
  assert.match(stdout, /Cổng Dịch vụ công|demo-dvc/);
  // The page continues without a reload by the person.
  await page.waitForURL((u) => u.pathname === '/consent' || u.href.startsWith(DVC.redirect), { timeout: 15000 });
  if (page.url().includes('/consent?')) await page.click('button[name=decision][value=approve]');
  const url = await callback;
  const tokens = await redeem(env.issuer, DVC, url.searchParams.get('code'), verifier, DVC.redirect);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const claims = idTokenClaims(tokens.body.id_token);
  assert.ok(claims.amr.length > 0);
  // The same short code cannot be approved twice.
  await assert.rejects(run(process.env.NIXA_BIN, ['app', 'approve', '--state', state, '--request', shortCode, '--yes']));
  await context.close();
});
