// nixa driven by panva's openid-client (OpenID Certified relying-party library), independent of
// our Rust code: discovery, code flow with PKCE, nonce, state, RFC 9207 `iss`, ID-token
// signature and claims validation, UserInfo. Starts `nixa serve --demo` itself.
// Run: NIXA_BIN=path/to/nixa node --test   (tests/run does this)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { AN, Browser, DVC, TINH, env, signInAndConsent, startNixa } from './harness.mjs';

startNixa();

async function configFor(c) {
  return oidc.discovery(new URL(env.issuer), c.id, c.secret ? { client_secret: c.secret } : undefined,
    c.secret ? oidc.ClientSecretBasic(c.secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

const browser = new Browser();

test('confidential portal: code flow with PKCE, ID token and UserInfo validated by openid-client', async () => {
  const config = await configFor(DVC);
  assert.equal(config.serverMetadata().issuer, env.issuer);
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
  assert.equal(claims.iss, env.issuer);
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
  assert.equal(callback.searchParams.get('iss'), env.issuer);
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
