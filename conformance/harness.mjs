// Shared by the conformance suites: starts `nixa serve --demo` in a fresh directory (after
// optional set-up commands such as `nixa client add`), and a minimal cookie-keeping browser.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DVC = { id: 'demo-dvc', secret: 'demo-dvc-secret-not-for-production', redirect: 'http://localhost:9000/callback' };
export const TINH = { id: 'demo-tinh', redirect: 'http://localhost:9001/callback' };
export const AN = { pid: '001090001234', password: 'demo-an-2026' };

let server, dir;
/** The provider's issuer, set once it runs. */
export const env = { issuer: '' };

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Starts nixa for the suite. `setup(nixa)` runs before the server starts, with `nixa(args)`
 * running the CLI in the same directory (demo database) and returning its stdout.
 */
export function startNixa({ setup, extraEnv } = {}) {
  before(async () => {
    const bin = process.env.NIXA_BIN;
    assert.ok(bin, 'set NIXA_BIN to the nixa binary');
    dir = mkdtempSync(join(tmpdir(), 'nixa-conf-'));
    const port = await freePort();
    env.issuer = `http://localhost:${port}`;
    // Relying-party libraries run no page scripts: no proof-of-work puzzles for the many
    // sign-ins from one address (browser/challenge.test.mjs turns them on).
    const childEnv = { ...process.env, RUST_LOG: 'warn', NIXA_THROTTLE: '{pow_per_minute=0}', ...(extraEnv || {}) };
    const nixa = (args) => execFileSync(bin, ['--demo', ...args], { cwd: dir, env: childEnv, encoding: 'utf8' });
    if (setup) await setup(nixa);
    server = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env: childEnv });
    await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d) => { out += d; if (out.includes('discovery: ')) resolve(); });
      server.on('exit', (code) => reject(new Error(`nixa exited with ${code}: ${out}`)));
      setTimeout(() => reject(new Error('nixa did not start within 30 s')), 30000).unref();
    });
  });
  }

after(() => { server?.kill(); if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A browser: a cookie jar and manual redirects. */
export class Browser {
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
    for (let i = 0; i < 10 && page.location && page.location.startsWith(env.issuer); i++) page = await this.get(page.location);
    return page;
  }
}

export const field = (page, name) => {
  const m = page.body.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `no ${name} field on ${page.url}`);
  return m[1];
};

export async function signInAndConsent(browser, url, who = AN) {
  let page = await browser.follow(await browser.get(url));
  if (page.url.includes('/login?')) {
    page = await browser.follow(await browser.post(`${env.issuer}/login`, { r: field(page, 'r'), csrf: field(page, 'csrf'), personal_id: who.pid, password: who.password }));
  }
  if (page.url.includes('/consent?')) {
    page = await browser.post(`${env.issuer}/consent`, { r: field(page, 'r'), csrf: field(page, 'csrf'), decision: 'approve' });
  }
  assert.equal(page.status, 303, page.body);
  return new URL(page.location);
}

