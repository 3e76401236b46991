// nixa driven by panva's openid-client (OpenID Certified relying-party library), independent of
// our Rust code: discovery, code flow with PKCE, nonce, state, RFC 9207 `iss`, ID-token
// signature and claims validation, UserInfo. Starts `nixa serve --demo` itself.
// Run: NIXA_BIN=path/to/nixa node --test   (tests/run does this)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';

const DVC = { id: 'demo-dvc', secret: 'demo-dvc-secret-not-for-production', redirect: 'http://localhost:9000/callback' };
const TINH = { id: 'demo-tinh', redirect: 'http://localhost:9001/callback' };
const AN = { pid: '001090001234', password: 'demo-an-2026' };

let server, dir, issuer;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  const bin = process.env.NIXA_BIN;
  assert.ok(bin, 'set NIXA_BIN to the nixa binary');
  dir = mkdtempSync(join(tmpdir(), 'nixa-conf-'));
  const port = await freePort();
  server = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => { out += d; if (out.includes('discovery: ')) resolve(); });
    server.on('exit', (code) => reject(new Error(`nixa exited with ${code}: ${out}`)));
    setTimeout(() => reject(new Error('nixa did not start within 30 s')), 30000).unref();
  });
  issuer = `http://localhost:${port}`;
});

after(() => { server?.kill(); rmSync(dir, { recursive: true, force: true }); });

/** A browser: a cookie jar and manual redirects. */
class Browser {
  jar = new Map();
  async get(url) { return this.request(url, { method: 'GET' }); }
  async post(url, form) {
    return this.request(url, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
  async request(url, init) {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const location = res.headers.get('location');
    return { status: res.status, location: location && new URL(location, url).href, body: await res.text(), url };
  }
  /** Follows redirects inside the provider; stops at a page or at a redirect to a portal. */
  async follow(page) {
    for (let i = 0; i < 10 && page.location && page.location.startsWith(issuer); i++) page = await this.get(page.location);
    return page;
  }
}

const field = (page, name) => {
  const m = page.body.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `no ${name} field on ${page.url}`);
  return m[1];
};

async function signInAndConsent(browser, url) {
  let page = await browser.follow(await browser.get(url));
  if (page.url.includes('/login?')) {
    page = await browser.follow(await browser.post(`${issuer}/login`, { r: field(page, 'r'), csrf: field(page, 'csrf'), personal_id: AN.pid, password: AN.password }));
  }
  if (page.url.includes('/consent?')) {
    page = await browser.post(`${issuer}/consent`, { r: field(page, 'r'), csrf: field(page, 'csrf'), decision: 'approve' });
  }
  assert.equal(page.status, 303, page.body);
  return new URL(page.location);
}

async function configFor(c) {
  return oidc.discovery(new URL(issuer), c.id, c.secret ? { client_secret: c.secret } : undefined,
    c.secret ? oidc.ClientSecretBasic(c.secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

const browser = new Browser();

test('confidential portal: code flow with PKCE, ID token and UserInfo validated by openid-client', async () => {
  const config = await configFor(DVC);
  assert.equal(config.serverMetadata().issuer, issuer);
  const code_verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: DVC.redirect, scope: 'openid profile vn_identity', nonce, state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
  });
  const callback = await signInAndConsent(browser, url.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, DVC.id);
  assert.equal(claims.acr, 'urn:vn:eid:loa:1');
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.name, 'Nguyễn Văn An');
  assert.equal(info.vn_personal_id, AN.pid);
  assert.equal(info.vn_account_level, 1);
});

test('public portal: SSO in the same browser, PKCE without a secret', async () => {
  const config = await configFor(TINH);
  const code_verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: TINH.redirect, scope: 'openid', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
  });
  const first = await browser.follow(await browser.get(url.href));
  assert.ok(first.url.includes('/consent?'), `SSO skips the login page, got ${first.url}`);
  const callback = await signInAndConsent(browser, url.href.replace(/state=[^&]+/, `state=${state}`));
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state });
  assert.equal(tokens.claims().aud, TINH.id);
});

test('an authorization response with a foreign iss is rejected (RFC 9207)', async () => {
  const config = await configFor(DVC);
  const code_verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: DVC.redirect, scope: 'openid', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
  });
  const callback = await signInAndConsent(browser, url.href);
  assert.equal(callback.searchParams.get('iss'), issuer);
  callback.searchParams.set('iss', 'https://mix-up.example');
  await assert.rejects(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state }));
});

test('a wrong PKCE verifier is refused with invalid_grant', async () => {
  const config = await configFor(DVC);
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: DVC.redirect, scope: 'openid', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const callback = await signInAndConsent(browser, url.href);
  await assert.rejects(
    oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }),
    (err) => err.error === 'invalid_grant',
  );
});
