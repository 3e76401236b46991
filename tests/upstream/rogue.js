// A deliberately faulty OpenID provider for the federation tests: real HTTP, real JWS (RS256 with
// a key published in its JWKS), but each ID token can be made wrong in one way. The test picks
// the fault with GET /mode?m=... before each sign-in. Prints "listening PORT".
// Modes: ok, wrong_aud, wrong_nonce, bad_sig, expired, bad_at_hash, wrong_iss, slow.
import http from 'node:http';
import crypto from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const { publicKey, privateKey } = await generateKeyPair('RS256');
const other = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'rogue-1', alg: 'RS256', use: 'sig' };
let mode = 'ok';
const codes = new Map();

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const json = (res, status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };

const server = http.createServer(async (req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, issuer);
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      });
    case '/jwks':
      return json(res, 200, { keys: [jwk] });
    case '/mode':
      mode = url.searchParams.get('m');
      return json(res, 200, { mode });
    case '/authorize': {
      const code = crypto.randomBytes(16).toString('hex');
      codes.set(code, { nonce: url.searchParams.get('nonce'), client_id: url.searchParams.get('client_id') });
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state'));
      res.writeHead(303, { location: back.toString() });
      return res.end();
    }
    case '/token': {
      if (mode === 'slow') return; // never answers: the hub must give up on its own
      const body = await new Promise((ok) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => ok(b)); });
      const grant = codes.get(new URLSearchParams(body).get('code'));
      if (!grant) return json(res, 400, { error: 'invalid_grant' });
      const accessToken = crypto.randomBytes(24).toString('base64url');
      const digest = crypto.createHash('sha256').update(mode === 'bad_at_hash' ? 'something else' : accessToken).digest();
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: 'rogue-subject-1',
        nonce: mode === 'wrong_nonce' ? 'not-the-nonce' : grant.nonce,
        acr: '2',
        amr: ['pwd', 'otp'],
        at_hash: b64url(digest.subarray(0, 16)),
      };
      const jwt = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'rogue-1' })
        .setIssuer(mode === 'wrong_iss' ? 'http://evil.example' : issuer)
        .setAudience(mode === 'wrong_aud' ? 'some-other-client' : grant.client_id)
        .setIssuedAt(mode === 'expired' ? now - 7200 : now)
        .setExpirationTime(mode === 'expired' ? now - 3600 : now + 300)
        .sign(mode === 'bad_sig' ? other.privateKey : privateKey);
      return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: jwt });
    }
    case '/userinfo':
      return json(res, 200, { sub: 'rogue-subject-1', vn_personal_id: '001090001234' });
    default:
      res.writeHead(404); res.end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
