// Getting in, as people meet it, in Chromium against a production-like server (no --demo): an
// operator imports three persons and prints an activation letter; one activates with the
// letter's code, one with a code by SMS (a local SMS gateway), one with a code by e-mail (a real
// SMTP server, Python aiosmtpd); each is refused a weak password with a readable reason, sets a
// good one, sets up an authenticator app and signs into a portal. One then forgets the password
// and recovers: the other browser's session is gone and the portal receives a back-channel
// logout. Every page of the way is checked with axe-core (WCAG 2.1 AA).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessible, authorizeUrl, catchCallback, idTokenClaims, pkce, redeem, useChromium } from './harness.mjs';

const chrome = useChromium();

const PEOPLE = {
  letter: { personal_id: '001095012345', family_name: 'Nguyễn', middle_name: 'Văn', given_name: 'Ba', birthdate: '1995-03-14', sex: 'male', phone: '0901000001', email: 'ba@example.vn', account_level: 2 },
  sms: { personal_id: '079198054321', family_name: 'Trần', middle_name: 'Thị', given_name: 'Chi', birthdate: '1998-07-01', sex: 'female', phone: '0901000002', email: 'chi@example.vn', account_level: 1 },
  email: { personal_id: '048200011111', family_name: 'Lê', middle_name: 'Minh', given_name: 'Dũng', birthdate: '2000-01-31', sex: 'male', phone: '0901000003', email: 'dung@example.vn', account_level: 1 },
};
const SMS_SECRET = 'gateway-shared-secret';
const env = { issuer: '', dir: '', portal: null, sms: [], logouts: [], maildir: '' };
const children = [];
const servers = [];

async function freePort() {
  return new Promise((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function listen(handler) {
  const s = createServer(handler);
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return s.address().port;
}

const body = (req) => new Promise((resolve) => { let b = ''; req.on('data', (d) => { b += d; }); req.on('end', () => resolve(b)); });

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => { const c = connect(port, '127.0.0.1', () => { c.end(); r(true); }); c.on('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

before(async () => {
  const bin = process.env.NIXA_BIN;
  const python = process.env.NIXA_AIOSMTPD_PYTHON;
  assert.ok(bin && python, 'set NIXA_BIN and NIXA_AIOSMTPD_PYTHON (tests/run does)');
  env.dir = mkdtempSync(join(tmpdir(), 'nixa-enrol-'));
  // The SMS gateway: checks the HMAC signature, keeps the messages.
  const smsPort = await listen(async (req, res) => {
    const raw = await body(req);
    const expected = 'sha256=' + createHmac('sha256', SMS_SECRET).update(raw).digest('hex');
    if (req.headers['x-nixa-signature'] !== expected) { res.writeHead(401).end(); return; }
    env.sms.push(JSON.parse(raw));
    res.writeHead(200).end('{"status":"queued"}');
  });
  // The portal's back-channel logout endpoint.
  const rpPort = await listen(async (req, res) => {
    const form = new URLSearchParams(await body(req));
    env.logouts.push(form.get('logout_token'));
    res.writeHead(200).end();
  });
  // A real SMTP server.
  const smtpPort = await freePort();
  env.maildir = join(env.dir, 'maildir');
  const smtp = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', env.maildir], { stdio: 'ignore' });
  children.push(smtp);
  await waitForPort(smtpPort);

  const port = await freePort();
  env.issuer = `http://localhost:${port}`;
  const master = execFileSync(bin, ['keys', 'generate-master'], { encoding: 'utf8' }).trim();
  const config = join(env.dir, 'nixa.toml');
  writeFileSync(config, [
    `issuer = "${env.issuer}"`, `database_url = "sqlite://${join(env.dir, 'nixa.db')}"`, `master_key = "${master}"`,
    `listen = "127.0.0.1:${port}"`,
    // The portal's back-channel endpoint is on loopback here: the operator allows it.
    'outbound_allow = ["127.0.0.0/8"]',
    '[channels.email]', `smtp_url = "smtp://127.0.0.1:${smtpPort}"`, 'from = "Định danh điện tử <no-reply@id.example.vn>"',
    '[channels.sms]', `url = "http://127.0.0.1:${smsPort}/send"`, `secret = "${SMS_SECRET}"`,
    'template = { to = "{to}", message = "{text}" }', '',
  ].join('\n'));
  const nixa = (args) => execFileSync(bin, ['--config', config, ...args], { cwd: env.dir, encoding: 'utf8', env: { ...process.env, RUST_LOG: 'warn' } });
  nixa(['migrate']);
  const file = join(env.dir, 'persons.jsonl');
  writeFileSync(file, Object.values(PEOPLE).map((p) => JSON.stringify(p)).join('\n') + '\n');
  nixa(['person', 'import', file]);
  env.portal = JSON.parse(nixa(['client', 'add', '--name', 'Cổng dịch vụ công tỉnh', '--redirect-uri', 'http://localhost:9100/callback', '--scope', 'profile',
    '--options', JSON.stringify({ backchannel_logout_uri: `http://127.0.0.1:${rpPort}/backchannel-logout` })]));
  env.letter = JSON.parse(nixa(['person', 'activation-code', '--id', PEOPLE.letter.personal_id, '--reason', 'counter', '--json']));
  const server = spawn(bin, ['--config', config, 'serve'], { cwd: env.dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  children.push(server);
  await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => { out += d; if (out.includes('discovery: ')) resolve(); });
    server.on('exit', (code) => reject(new Error(`nixa exited with ${code}: ${out}`)));
    setTimeout(() => reject(new Error('nixa did not start within 30 s')), 30000).unref();
  });
});

after(() => {
  for (const c of children) c.kill();
  for (const s of servers) s.close();
  rmSync(env.dir, { recursive: true, force: true });
});

async function newContext(locale = 'vi-VN') {
  // A phone-sized screen: the pages must work at 320 px.
  return chrome.browser.newContext({ locale, bypassCSP: true, viewport: { width: 320, height: 640 } });
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) at `offset` steps from now. */
function totp(secret, offset = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const h = createHmac('sha1', secret).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString().padStart(6, '0');
}

/** A code of a time step after every one used so far (each step works once). */
const usedSteps = new Map();
async function freshTotp(secret) {
  const key = secret.toString('hex');
  // The next step is within the accepted skew; wait while it is the one used last.
  while (Math.floor(Date.now() / 30000) + 1 <= (usedSteps.get(key) ?? 0)) await new Promise((r) => setTimeout(r, 500));
  usedSteps.set(key, Math.floor(Date.now() / 30000) + 1);
  return totp(secret, 1);
}

async function eventually(fn, what) {
  for (let i = 0; i < 100; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The decoded text of every message in the Maildir addressed to `to`. */
function mails(to) {
  let names = [];
  try { names = readdirSync(join(env.maildir, 'new')); } catch { return []; }
  return names.map((n) => readFileSync(join(env.maildir, 'new', n), 'utf8')).filter((m) => m.includes(`To: ${to}`)).map((m) => {
    const split = m.search(/\r?\n\r?\n/);
    const head = m.slice(0, split);
    const text = m.slice(split).trim();
    if (/Content-Transfer-Encoding: base64/i.test(head)) return Buffer.from(text.replace(/\s/g, ''), 'base64').toString('utf8');
    if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) {
      return Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    }
    return text;
  });
}

const codeIn = (text) => text.match(/\b(\d{6})\b/)?.[1];

/** From the password page: a weak password refused with its reason, then a good one. */
async function choosePassword(page, good) {
  await page.waitForURL(/\/enrol\/password$/);
  await accessible(page);
  await page.fill('#new_password', 'matkhau123');
  await page.fill('#confirm_password', 'matkhau123');
  await page.click('#password-form button[type=submit]');
  const error = page.locator('#enrol-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('data-error'), 'password.error.guessable');
  assert.match(await error.innerText(), /phổ biến|dễ đoán/);
  await page.fill('#new_password', good);
  await page.fill('#confirm_password', good);
  await page.click('#password-form button[type=submit]');
}

/** The authenticator-app page: reads the key, confirms with a code; returns the secret. */
async function setUpApp(page) {
  await page.waitForURL(/\/enrol\/totp$/);
  await accessible(page);
  assert.ok(await page.locator('img.qr').isVisible(), 'the QR code is shown');
  const secret = base32(await page.locator('#totp-key').innerText());
  usedSteps.set(secret.toString('hex'), Math.floor(Date.now() / 30000));
  await page.fill('#code', totp(secret));
  await page.click('#totp-form button[type=submit]');
  await page.locator('#recovery-codes').waitFor();
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await accessible(page);
  await page.click('a.button');
  await page.waitForURL(/\/enrol\/done$/);
  await accessible(page);
  return secret;
}

/** Signs into the portal with password and app; returns the ID token's claims and the tokens. */
async function signIntoPortal(page, person, password, secret) {
  const { verifier, challenge } = await pkce();
  const callback = catchCallback(page, 'http://localhost:9100/callback');
  await page.goto(authorizeUrl(env.issuer, env.portal.client_id, 'http://localhost:9100/callback', challenge));
  await page.fill('#personal_id', person.personal_id);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(/\/login\/totp/);
  await page.fill('#code', await freshTotp(secret));
  await page.click('form[action="/login/totp"] button[type=submit]');
  // Consent is asked the first time only.
  const first = await Promise.race([callback.then(() => false), page.waitForURL(/\/consent\?r=/).then(() => true)]);
  if (first) await page.click('button[name=decision][value=approve]');
  const url = await callback;
  const tokens = await redeem(env.issuer, { id: env.portal.client_id, secret: env.portal.client_secret }, url.searchParams.get('code'), verifier, 'http://localhost:9100/callback');
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return idTokenClaims(tokens.body.id_token);
}

test('three imported persons activate by letter, SMS and e-mail, set up an app and sign in; one recovers', async () => {
  // 1. The letter's code, at level 2.
  const ctxA = await newContext();
  const a = await ctxA.newPage();
  await a.goto(`${env.issuer}/activate`);
  await accessible(a);
  await a.fill('#letter_personal_id', PEOPLE.letter.personal_id);
  await a.fill('#letter_birthdate', '14/03/1995');
  await a.fill('#letter_code', env.letter.code.toLowerCase());
  await a.click('#letter-form button[type=submit]');
  await choosePassword(a, 'ba con mèo tam thể');
  const secretA = await setUpApp(a);
  const claimsA = await signIntoPortal(a, PEOPLE.letter, 'ba con mèo tam thể', secretA);
  assert.equal(claimsA.acr, 'urn:vn:eid:loa:2');

  // 2. A code by SMS, through the gateway.
  const ctxB = await newContext();
  const b = await ctxB.newPage();
  await b.goto(`${env.issuer}/activate`);
  await b.fill('#send_personal_id', PEOPLE.sms.personal_id);
  await b.fill('#send_birthdate', '01/07/1998');
  await b.check('#via_sms');
  await b.click('#send-form button[type=submit]');
  await b.locator('#code-form').waitFor();
  await accessible(b);
  const sms = await eventually(() => env.sms.find((m) => m.to === PEOPLE.sms.phone), 'the SMS');
  assert.match(sms.message, /Không chia sẻ/);
  await b.fill('#code', codeIn(sms.message));
  await b.click('#code-form button[type=submit]');
  await choosePassword(b, 'đồng lúa chín vàng');
  const secretB = await setUpApp(b);
  const claimsB = await signIntoPortal(b, PEOPLE.sms, 'đồng lúa chín vàng', secretB);
  assert.equal(claimsB.acr, 'urn:vn:eid:loa:2');

  // 3. A code by e-mail, through the SMTP server, in English.
  const ctxC = await newContext('en-GB');
  const c = await ctxC.newPage();
  await c.goto(`${env.issuer}/activate?lang=en`);
  assert.equal(await c.locator('html').getAttribute('lang'), 'en');
  await c.fill('#send_personal_id', PEOPLE.email.personal_id);
  await c.fill('#send_birthdate', '2000-01-31');
  await c.check('#via_email');
  await c.click('#send-form button[type=submit]');
  await c.locator('#code-form').waitFor();
  const mail = await eventually(() => mails(PEOPLE.email.email).find((m) => codeIn(m)), 'the e-mail');
  assert.match(mail, /Do not share/);
  await c.fill('#code', codeIn(mail));
  await c.click('#code-form button[type=submit]');
  await c.waitForURL(/\/enrol\/password$/);
  await c.fill('#new_password', 'password123');
  await c.fill('#confirm_password', 'password123');
  await c.click('#password-form button[type=submit]');
  assert.match(await c.locator('#enrol-error').innerText(), /common|easy to guess/);
  await c.fill('#new_password', 'river stones under moonlight');
  await c.fill('#confirm_password', 'river stones under moonlight');
  await c.click('#password-form button[type=submit]');
  const secretC = await setUpApp(c);
  const claimsC = await signIntoPortal(c, PEOPLE.email, 'river stones under moonlight', secretC);
  assert.equal(claimsC.acr, 'urn:vn:eid:loa:2');

  // 4. The SMS person forgets the password, on another device, from the login page's link.
  const ctxD = await newContext();
  const d = await ctxD.newPage();
  const { challenge } = await pkce();
  await d.goto(authorizeUrl(env.issuer, env.portal.client_id, 'http://localhost:9100/callback', challenge));
  await d.click('a[href="/recover"]');
  await d.waitForURL(/\/recover$/);
  await accessible(d);
  await d.fill('#send_personal_id', PEOPLE.sms.personal_id);
  await d.fill('#send_birthdate', '01/07/1998');
  await d.check('#via_email');
  await d.click('#send-form button[type=submit]');
  // The only message to this address with a code for recovery (Maildir names are not ordered).
  const recoveryMail = await eventually(() => mails(PEOPLE.sms.email).find((m) => /để khôi phục/.test(m) && codeIn(m)), 'the recovery e-mail');
  await d.fill('#code', codeIn(recoveryMail));
  await d.click('#code-form button[type=submit]');
  await d.waitForURL(/\/enrol\/password$/);
  await d.fill('#new_password', 'mưa rơi trên mái ngói cũ');
  await d.fill('#confirm_password', 'mưa rơi trên mái ngói cũ');
  await d.click('#password-form button[type=submit]');
  await d.waitForURL(/\/enrol\/done$/);
  await accessible(d);

  // The first device's session is over: the account page asks to sign in again.
  await b.goto(`${env.issuer}/account`);
  await b.waitForURL(/\/login\?r=/);
  // The portal was told by a logout token for that session.
  const token = await eventually(() => env.logouts.find((t) => {
    const claims = idTokenClaims(t);
    return claims.sid === claimsB.sid;
  }), 'the back-channel logout');
  const logoutClaims = idTokenClaims(token);
  assert.equal(logoutClaims.sub, claimsB.sub);
  assert.ok(logoutClaims.events['http://schemas.openid.net/event/backchannel-logout']);
  // The new password works; the old one does not.
  await signIntoPortal(d, PEOPLE.sms, 'mưa rơi trên mái ngói cũ', secretB);
  for (const ctx of [ctxA, ctxB, ctxC, ctxD]) await ctx.close();
});
