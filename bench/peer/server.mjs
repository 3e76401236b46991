// The benchmark peer: panva oidc-provider configured like `nixa serve --demo` for the flows that
// bench/run measures — the demo portal client (client_secret_basic, one redirect URI), ES256 ID
// tokens, PKCE (S256) required, opaque access and refresh tokens with rotation, introspection.
// Sign-in goes through the provider's development interactions (any login/password). Grants,
// sessions, codes and tokens live in process memory (it writes no database): the provider's own
// quick-start memory adapter is an LRU of 1,000 entries, which evicts codes prepared for the
// benchmark and scans every grant member on each write, so this one is a plain map with O(1)
// operations — the peer's best case.
// Usage: node server.mjs PORT
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3000);
const issuer = `http://localhost:${port}`;
const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const store = new Map(); // "Model:id" -> { payload, exp }
const grants = new Map(); // grantId -> Set of store keys
const byUid = new Map();
const byUserCode = new Map();
setInterval(() => { const now = Date.now(); for (const [k, e] of store) if (e.exp < now) store.delete(k); }, 10000).unref();

class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const k = this.key(id);
    store.set(k, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      let s = grants.get(payload.grantId);
      if (!s) grants.set(payload.grantId, (s = new Set()));
      s.add(k);
    }
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }
  async find(id) {
    const e = store.get(this.key(id));
    if (!e) return undefined;
    if (e.exp < Date.now()) { store.delete(this.key(id)); return undefined; }
    return e.payload;
  }
  async findByUid(uid) { const id = byUid.get(uid); return id ? this.find(id) : undefined; }
  async findByUserCode(code) { const id = byUserCode.get(code); return id ? this.find(id) : undefined; }
  async consume(id) { const e = store.get(this.key(id)); if (e) e.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const k of grants.get(grantId) ?? []) store.delete(k);
    grants.delete(grantId);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{
    client_id: 'demo-dvc',
    client_secret: 'demo-dvc-secret-not-for-production',
    redirect_uris: ['http://localhost:9000/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'], userinfoSigningAlgValues: ['ES256'] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'offline_access'],
  claims: { openid: ['sub'], profile: ['name', 'family_name', 'given_name', 'birthdate'] },
  features: { introspection: { enabled: true }, devInteractions: { enabled: true } },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Refresh tokens as in nixa: for offline_access granted with consent (the default rule), and
  // rotated on every use.
  rotateRefreshToken: true,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: 'Nguyễn Văn An', family_name: 'Nguyễn', given_name: 'Văn An', birthdate: '1990-01-01' }),
  }),
});
provider.listen(port, '127.0.0.1', () => console.log(`peer: ${issuer}`));
