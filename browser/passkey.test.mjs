// Passkeys in Chromium with a CDP virtual authenticator (a platform authenticator with user
// verification and resident keys): register one on the account page, then sign in with it,
// usernameless, into a demo portal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AN, DVC, authorizeUrl, catchCallback, env, idTokenClaims, pkce, redeem, startNixa, useChromium } from './harness.mjs';

startNixa();
const chrome = useChromium();

async function withAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

async function passwordSignIn(page) {
  await page.fill('#personal_id', AN.pid);
  await page.fill('#password', AN.password);
  await page.click('form[action="/login"] button[type=submit]');
}

test('register a passkey on the account page, then sign in with it into a portal', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const { cdp, authenticatorId } = await withAuthenticator(page);

  await page.goto(`${env.issuer}/account`);
  if (await page.locator('#personal_id').count() === 0) {
    await page.goto(`${env.issuer}/account/signin`);
  }
  await passwordSignIn(page);
  if (page.url().includes('/consent?')) await page.click('button[name=decision][value=approve]');
  await page.waitForURL(/\/account/);
  await page.fill('#passkey-name', 'Laptop test');
  await page.click('#passkey-register');
  await page.locator('text=Laptop test').first().waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds one credential');
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

  // A new visit without the session: the passkey alone signs in.
  await context.clearCookies();
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  // Conditional mediation (passkey autofill) may complete the sign-in on its own with a
  // virtual authenticator that simulates presence; otherwise the button does.
  await page.click('#passkey-signin', { timeout: 3000 }).catch(() => {});
  await page.waitForURL((u) => u.pathname === '/consent' || u.href.startsWith(DVC.redirect));
  if (page.url().includes('/consent?')) await page.click('button[name=decision][value=approve]');
  const url = await callback;
  const tokens = await redeem(env.issuer, DVC, url.searchParams.get('code'), verifier, DVC.redirect);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const claims = idTokenClaims(tokens.body.id_token);
  assert.ok(claims.amr.includes('user'), `amr ${claims.amr}`);
  assert.ok(claims.amr.includes('hwk') || claims.amr.includes('swk'), `amr ${claims.amr}`);
  assert.notEqual(claims.acr, 'urn:vn:eid:loa:1', 'a passkey with user verification is multi-factor');
  const { credentials: after } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after[0].signCount >= 1, 'the authenticator signed');
  assert.deepEqual(errors, []);
  await context.close();
});
