// Certificate sign-in in Chromium, both ways a citizen reaches it: through the Web eID browser
// extension (its window.postMessage protocol, answered here by a content script that signs with
// `nixa cert sign-challenge`, as the extension would with the card) and, without the
// extension, by pasting a token made for the challenge the page shows. The CA is generated with
// openssl and trusted through `[pki]` (NIXA_PKI); revocation is covered by the Rust suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AN, DVC, authorizeUrl, catchCallback, env, idTokenClaims, pkce, redeem, startNixa, useChromium } from './harness.mjs';

// The policy the test CA issues token-held keys under, configured as a hardware policy.
const TOKEN_POLICY = '1.3.6.1.4.1.59999.1.2';
const dir = mkdtempSync(join(tmpdir(), 'nixa-cert-'));
const p = (f) => join(dir, f);
const openssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
writeFileSync(p('leaf.ext'), [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,nonRepudiation',
  'extendedKeyUsage=clientAuth,emailProtection',
  'authorityKeyIdentifier=keyid',
  'subjectKeyIdentifier=hash',
  `certificatePolicies=${TOKEN_POLICY}`,
].join('\n'));
openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'),
  '-days', '30', '-subj', '/C=VN/CN=Browser Test Root CA',
  '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'),
  '-subj', `/C=VN/CN=NGUYEN VAN AN/UID=CCCD:${AN.pid}`]);
openssl(['x509', '-req', '-in', p('leaf.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-days', '30',
  '-extfile', p('leaf.ext'), '-out', p('leaf.pem')]);

startNixa({
  extraEnv: { NIXA_PKI: `{national_store=false, revocation="off", hardware_policies=["${TOKEN_POLICY}"], anchors=[{name="Browser Test Root CA", file="${p('root.pem')}"}]}` },
});
const chrome = useChromium();

function signChallenge(origin, nonce) {
  return execFileSync(process.env.NIXA_BIN, ['cert', 'sign-challenge', '--key', p('leaf.key'), '--cert', p('leaf.pem'), '--origin', origin, '--nonce', nonce],
    { encoding: 'utf8' }).trim();
}

async function signedInClaims(page, callback, verifier) {
  const url = await callback;
  const tokens = await redeem(env.issuer, DVC, url.searchParams.get('code'), verifier, DVC.redirect);
  assert.equal(tokens.status, 200);
  return idTokenClaims(tokens.body.id_token);
}

async function approveIfAsked(page) {
  await page.waitForURL((u) => u.pathname === '/consent' || u.href.startsWith(DVC.redirect));
  if (new URL(page.url()).pathname === '/consent') await page.click('button[name=decision][value=approve]');
}

test('through the Web eID extension protocol: challenge, signed token, sign-in with amr hwk + sc', async () => {
  const context = await chrome.browser.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The extension's side of the protocol: ack, then the token for the page's origin.
  await page.exposeFunction('nixaTestSign', (origin, nonce) => signChallenge(origin, nonce));
  await page.addInitScript(() => {
    window.addEventListener('message', async (event) => {
      if (event.source !== window || event.data?.action !== 'web-eid:authenticate') return;
      window.__webEidRequest = event.data;
      window.postMessage({ action: 'web-eid:authenticate-ack' }, location.origin);
      const token = JSON.parse(await window.nixaTestSign(location.origin, event.data.challengeNonce));
      window.postMessage({ action: 'web-eid:authenticate-success', ...token }, location.origin);
    });
  });
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge));
  await page.click('#certificate-signin');
  await approveIfAsked(page);
  const claims = await signedInClaims(page, callback, verifier);
  assert.ok(claims.amr.includes('hwk') && claims.amr.includes('sc'), JSON.stringify(claims.amr));
  assert.deepEqual(errors, []);
  await context.close();
});

test('without the extension: the page shows origin and nonce, a pasted token signs in; a token for another nonce does not', async () => {
  const context = await chrome.browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, DVC.redirect);
  await page.goto(authorizeUrl(env.issuer, DVC.id, DVC.redirect, challenge, { ui_locales: 'en' }));
  await page.click('#certificate-signin');
  await page.locator('#certificate-manual').waitFor({ state: 'visible', timeout: 10000 });
  const origin = await page.locator('#certificate-origin').innerText();
  const nonce = await page.locator('#certificate-nonce').innerText();
  assert.equal(origin, env.issuer);
  assert.equal(nonce.length, 44);
  await page.fill('#certificate-token', signChallenge(origin, 'A'.repeat(43) + '='));
  await page.click('#certificate-manual button[type=submit]');
  const error = page.locator('#login-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('data-error'), 'certificate.error.refused');
  // A fresh challenge, answered correctly.
  await page.click('#certificate-signin');
  await page.locator('#certificate-manual').waitFor({ state: 'visible', timeout: 10000 });
  const fresh = await page.locator('#certificate-nonce').innerText();
  assert.notEqual(fresh, nonce);
  await page.fill('#certificate-token', signChallenge(origin, fresh));
  await page.click('#certificate-manual button[type=submit]');
  await approveIfAsked(page);
  const claims = await signedInClaims(page, callback, verifier);
  assert.ok(claims.amr.includes('sc'));
  await context.close();
});
