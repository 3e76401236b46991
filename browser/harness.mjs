// Headless Chromium (Debian's package, never a downloaded browser) driven by playwright-core,
// against a `nixa serve --demo` started by the conformance harness. Pages are served on
// http://localhost, which WebAuthn accepts as a secure context (it refuses IP addresses).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export { startNixa, env, DVC, AN } from '../conformance/harness.mjs';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** One browser for the suite; each test takes a fresh context (its own cookies). */
export function useChromium() {
  const holder = {};
  before(async () => {
    holder.browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: FLAGS });
  });
  after(async () => { await holder.browser?.close(); });
  return holder;
}

/**
 * A portal's callback, answered inside the browser: the page that the redirect reaches is
 * intercepted, so no portal needs to run. Resolves with the callback URL.
 */
export async function catchCallback(page, redirectUri) {
  let resolve;
  const reached = new Promise((r) => { resolve = r; });
  await page.route(`${redirectUri}**`, (route) => {
    resolve(new URL(route.request().url()));
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>portal</h1>' });
  });
  return reached;
}

/** PKCE pair (RFC 7636, S256). */
export async function pkce() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const verifier = Buffer.from(bytes).toString('base64url');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: Buffer.from(digest).toString('base64url') };
}

export function authorizeUrl(issuer, client, redirect, challenge, extra = {}) {
  const u = new URL(`${issuer}/authorize`);
  const params = {
    response_type: 'code', client_id: client, redirect_uri: redirect, scope: 'openid profile', state: 'browser-state',
    nonce: 'browser-nonce', code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  };
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

/** Redeems a code as the confidential demo portal and returns the token response. */
export async function redeem(issuer, client, code, verifier, redirect) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier }),
  });
  return { status: res.status, body: await res.json() };
}

export function idTokenClaims(idToken) {
  return JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is (WCAG 2.1 A and AA rules); the context bypasses CSP to inject it. */
export async function accessible(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`), [], `axe on ${page.url()}`);
}

/** No horizontal scrolling at the context's viewport width (320 px for the phone checks). */
export async function fits(page) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${page.url()} is ${scroll}px wide at ${width}px`);
}

/** axe-core clean and no horizontal scrolling. */
export async function checked(page) {
  await accessible(page);
  await fits(page);
}

let usedTotpStep = -1;

/**
 * The level-2 demo citizen's authenticator code (RFC 6238 with the RFC's test seed, as
 * `nixa --demo` sets it). A code is good once: a second call waits for the next 30-s step.
 */
export async function demoTotp() {
  while (Math.floor(Date.now() / 30000) <= usedTotpStep) await new Promise((r) => setTimeout(r, 1000));
  usedTotpStep = Math.floor(Date.now() / 30000);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(usedTotpStep));
  const h = createHmac('sha1', Buffer.from('12345678901234567890')).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/** Presses Tab until the focused element matches `selector` (never clicks). */
export async function tabTo(page, selector) {
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement?.matches(sel), selector)) return;
  }
  assert.fail(`${selector} cannot be reached with the keyboard on ${page.url()}`);
}
