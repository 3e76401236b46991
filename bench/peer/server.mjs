// The benchmark peer: panva oidc-provider configured like `nixa serve --demo` for the flows that
// bench/run measures — the demo portal client (client_secret_basic, one redirect URI), ES256 ID
// tokens, PKCE (S256) required, opaque access and refresh tokens with rotation, introspection.
// Sign-in goes through the provider's development interactions (any login/password); the
// default in-memory adapter keeps grants, codes and tokens (it writes no database).
// Usage: node server.mjs PORT
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3000);
const issuer = `http://localhost:${port}`;
const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const provider = new Provider(issuer, {
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
  // nixa issues a refresh token for offline_access without requiring prompt=consent, and
  // rotates it on every use.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: 'Nguyễn Văn An', family_name: 'Nguyễn', given_name: 'Văn An', birthdate: '1990-01-01' }),
  }),
});
provider.listen(port, '127.0.0.1', () => console.log(`peer: ${issuer}`));
