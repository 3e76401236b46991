// The protocol surface beyond the code flow, driven by panva's certified libraries
// (`openid-client` and the `oauth4webapi` underneath it): PAR, private_key_jwt, DPoP with server
// nonces, JAR, refresh rotation and reuse detection, introspection (JSON and RFC 9701 JWT),
// revocation, and a FAPI 2.0 portal. Run: NIXA_BIN=path/to/nixa node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as oauth from 'oauth4webapi';
import { Browser, DVC, env, signInAndConsent, startNixa } from './harness.mjs';

const FAPI = { id: 'fapi-portal', redirect: 'http://localhost:9100/cb' };
const JAR = { id: 'jar-portal', redirect: 'http://localhost:9101/cb' };
const keys = {};

async function keyPair() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const kid = `k-${crypto.randomUUID()}`;
  return { pair, kid, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' } };
}

startNixa({
  // A rotated refresh token is a theft signal at once (no grace), so reuse is observable here.
  extraEnv: { NIXA_REFRESH_GRACE_SECS: '0' },
  async setup(nixa) {
    keys.fapi = await keyPair();
    keys.jar = await keyPair();
    nixa(['client', 'add', '--id', FAPI.id, '--name', 'FAPI 2.0 portal', '--redirect-uri', FAPI.redirect, '--auth-method', 'private-key-jwt',
      '--scope', 'openid', '--scope', 'profile', '--scope', 'offline_access',
      '--options', JSON.stringify({ jwks: { keys: [keys.fapi.jwk] }, profile: 'fapi2' })]);
    nixa(['client', 'add', '--id', JAR.id, '--name', 'JAR portal', '--redirect-uri', JAR.redirect, '--auth-method', 'private-key-jwt', '--scope', 'profile',
      '--options', JSON.stringify({ jwks: { keys: [keys.jar.jwk] } })]);
    keys.initialAccessToken = JSON.parse(nixa(['operator', 'token', '--name', 'conformance', '--scope', 'clients:register'])).token;
  },
});

const browser = new Browser();
const insecure = { execute: [oidc.allowInsecureRequests] };

async function dvcConfig() {
  return oidc.discovery(new URL(env.issuer), DVC.id, { client_secret: DVC.secret }, oidc.ClientSecretBasic(DVC.secret), insecure);
}

async function codeFlow(config, redirect, extra = {}) {
  const code_verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirect, scope: 'openid profile', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256', ...extra,
  });
  const callback = await signInAndConsent(browser, url.href);
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state, idTokenExpected: true });
}

test('discovery advertises the full surface', async () => {
  const config = await dvcConfig();
  const m = config.serverMetadata();
  for (const k of ['pushed_authorization_request_endpoint', 'introspection_endpoint', 'revocation_endpoint']) assert.ok(m[k], k);
  assert.ok(m.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(m.dpop_signing_alg_values_supported.includes('ES256'));
  assert.ok(m.grant_types_supported.includes('refresh_token'));
  assert.equal(m.authorization_response_iss_parameter_supported, true);
});

test('FAPI 2.0 portal: PAR + private_key_jwt + DPoP (server nonces) + PKCE, DPoP-bound UserInfo and refresh', async () => {
  const config = await oidc.discovery(new URL(env.issuer), FAPI.id, { token_endpoint_auth_method: 'private_key_jwt' },
    oidc.PrivateKeyJwt({ key: keys.fapi.pair.privateKey, kid: keys.fapi.kid }), insecure);
  const dpopKeys = await oidc.randomDPoPKeyPair('ES256');
  const DPoP = oidc.getDPoPHandle(config, dpopKeys);
  const code_verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: FAPI.redirect, scope: 'openid profile offline_access', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
  }, { DPoP });
  assert.ok(url.searchParams.get('request_uri').startsWith('urn:ietf:params:oauth:request_uri:'));
  const callback = await signInAndConsent(browser, url.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state, expectedNonce: nonce }, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub, { DPoP });
  assert.equal(info.sub, tokens.claims().sub);
  // FAPI 2.0 §5.3.2.1: no rotation for a sender-constrained portal; the same token refreshes again.
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  assert.equal(refreshed.refresh_token, undefined);
  assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
  const again = await oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  assert.notEqual(again.access_token, refreshed.access_token);
  // The same portal without DPoP is refused.
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_request');
});

test('FAPI 2.0 portal: a plain authorization request is refused (PAR required)', async () => {
  const config = await oidc.discovery(new URL(env.issuer), FAPI.id, {}, oidc.PrivateKeyJwt(keys.fapi.pair.privateKey), insecure);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: FAPI.redirect, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const page = await browser.get(url.href);
  assert.equal(new URL(page.location).searchParams.get('error'), 'invalid_request');
});

test('JAR: a signed request object built by openid-client', async () => {
  const config = await oidc.discovery(new URL(env.issuer), JAR.id, { token_endpoint_auth_method: 'private_key_jwt' },
    oidc.PrivateKeyJwt({ key: keys.jar.pair.privateKey, kid: keys.jar.kid }), insecure);
  const code_verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithJAR(config, {
    redirect_uri: JAR.redirect, scope: 'openid profile', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
  }, { key: keys.jar.pair.privateKey, kid: keys.jar.kid });
  assert.ok(url.searchParams.get('request'));
  const callback = await signInAndConsent(browser, url.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state });
  assert.equal(tokens.claims().aud, JAR.id);
});

test('refresh rotation: every use rotates, reusing a rotated token revokes the family', async () => {
  const config = await dvcConfig();
  const tokens = await codeFlow(config, DVC.redirect, { scope: 'openid profile offline_access' });
  assert.ok(tokens.refresh_token);
  const second = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(second.refresh_token, tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token), (e) => e.error === 'invalid_grant');
  const intro = await oidc.tokenIntrospection(config, second.access_token);
  assert.equal(intro.active, false, 'access tokens of the family are revoked too');
});

test('introspection (JSON and RFC 9701 JWT) and revocation', async () => {
  const config = await dvcConfig();
  const tokens = await codeFlow(config, DVC.redirect);
  const intro = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, DVC.id);
  assert.equal(intro.sub, tokens.claims().sub);
  // oauth4webapi validates the signed introspection response against our JWKS.
  const as = config.serverMetadata();
  const client = { client_id: DVC.id, introspection_signed_response_alg: 'ES256' };
  const res = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(DVC.secret), tokens.access_token,
    { requestJwtResponse: true, [oauth.allowInsecureRequests]: true });
  const jwtIntro = await oauth.processIntrospectionResponse(as, client, res);
  assert.equal(jwtIntro.active, true);
  await oidc.tokenRevocation(config, tokens.access_token);
  assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
  await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub));
});

test('RP-initiated logout with an end-session URL built by openid-client', async () => {
  const config = await dvcConfig();
  assert.ok(config.serverMetadata().end_session_endpoint);
  assert.equal(config.serverMetadata().backchannel_logout_session_supported, true);
  const tokens = await codeFlow(config, DVC.redirect);
  const url = oidc.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://localhost:9000/logged-out', state: 'bye',
  });
  const page = await browser.get(url.href);
  assert.equal(page.status, 303, page.body);
  const back = new URL(page.location);
  assert.equal(back.origin + back.pathname, 'http://localhost:9000/logged-out');
  assert.equal(back.searchParams.get('state'), 'bye');
  // The session and its tokens are gone: prompt=none now needs a sign-in.
  assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
  const again = oidc.buildAuthorizationUrl(config, {
    redirect_uri: DVC.redirect, scope: 'openid', prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  assert.equal(new URL((await browser.get(again.href)).location).searchParams.get('error'), 'login_required');
  // An unregistered post-logout URI is never followed.
  const evil = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' });
  const refused = await browser.get(evil.href);
  assert.equal(refused.status, 400);
  assert.equal(refused.location, null);
});

test('dynamic registration (RFC 7591) by openid-client, then the code flow with the new client', async () => {
  const redirect = 'http://localhost:9102/cb';
  const config = await oidc.dynamicClientRegistration(new URL(env.issuer), {
    // A registration names the scopes it needs: without `scope` a portal may only sign people in.
    client_name: 'Registered by openid-client', redirect_uris: [redirect], token_endpoint_auth_method: 'client_secret_post', scope: 'openid profile',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], id_token_signed_response_alg: 'ES256',
  }, undefined, { initialAccessToken: keys.initialAccessToken, ...insecure });
  const meta = config.clientMetadata();
  assert.ok(meta.client_id && meta.client_secret && meta.registration_access_token && meta.registration_client_uri);
  assert.equal(meta.scope, 'openid profile');
  const tokens = await codeFlow(config, redirect);
  assert.equal(tokens.claims().aud, meta.client_id);
  // RFC 7592: read with the registration access token.
  const read = await fetch(meta.registration_client_uri, { headers: { authorization: `Bearer ${meta.registration_access_token}` } });
  assert.equal(read.status, 200);
  assert.equal((await read.json()).client_id, meta.client_id);
  // Without a valid initial access token: refused.
  await assert.rejects(oidc.dynamicClientRegistration(new URL(env.issuer), { redirect_uris: [redirect] }, undefined,
    { initialAccessToken: 'wrong', ...insecure }));
  // An insecure redirect URI: invalid_redirect_uri.
  await assert.rejects(oidc.dynamicClientRegistration(new URL(env.issuer), { redirect_uris: ['http://portal.example/cb'] }, undefined,
    { initialAccessToken: keys.initialAccessToken, ...insecure }), (e) => e.error === 'invalid_redirect_uri');
});
