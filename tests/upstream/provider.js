// A real upstream OpenID provider for the federation tests: panva oidc-provider with a small
// login page (type an account name) and automatic consent. It prints "listening PORT" and then
// reads one line from stdin: the hub's callback URL, which becomes the client's redirect URI.
// Accounts carry the national hub's claim names (SoDinhDanh, HoVaTen, NgayThangNamSinh).
import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';

const CLIENT_ID = process.env.CLIENT_ID || 'nixa-hub';
const CLIENT_SECRET = process.env.CLIENT_SECRET || 'hub-secret-for-tests-only-0123456789';

const accounts = {
  // Verified, asserts level 2 with two factors.
  an: { SoDinhDanh: '001090001234', HoVaTen: 'Nguyễn Văn An', NgayThangNamSinh: '14/05/1990', vn_personal_id_verified: true, acr: '2', amr: ['pwd', 'otp'] },
  // Asserts more than the hub trusts this upstream for.
  greedy: { SoDinhDanh: '079185005678', HoVaTen: 'Trần Thị Bình', NgayThangNamSinh: '1985-11-02', vn_personal_id_verified: true, acr: 'LoA3', amr: ['hwk', 'pin'] },
  // The upstream has not verified this number.
  unverified: { SoDinhDanh: '001090001234', HoVaTen: 'Kẻ Mạo Danh', NgayThangNamSinh: '01/01/1990', vn_personal_id_verified: false, acr: '1', amr: ['pwd'] },
  // No account at the hub yet.
  newcomer: { SoDinhDanh: '001095012345', HoVaTen: 'Lê Minh Châu', NgayThangNamSinh: '19950903', vn_personal_id_verified: true, acr: 'LoA1', amr: ['pwd'] },
};

let provider = null;
const server = http.createServer(async (req, res) => {
  // The tracing test reads which calls carried a W3C traceparent.
  if (process.env.PRINT_TRACEPARENT && req.headers.traceparent) {
    console.log(`traceparent ${req.method} ${new URL(req.url, 'http://x').pathname} ${req.headers.traceparent}`);
  }
  if (!provider) { res.writeHead(503); res.end('not configured yet'); return; }
  try {
    const url = new URL(req.url, 'http://x');
    const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!m) return provider.callback()(req, res);
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><form method="post" action="/interaction/${details.uid}/login"><input name="login"><button>Sign in</button></form>`);
        return;
      }
      const body = await new Promise((ok) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => ok(b)); });
      const login = new URLSearchParams(body).get('login');
      const a = accounts[login];
      if (!a) { res.writeHead(400); res.end('unknown account'); return; }
      await provider.interactionFinished(req, res, { login: { accountId: login, acr: a.acr, amr: a.amr } }, { mergeWithLastSubmission: false });
      return;
    }
    // Consent is given automatically: the hub's own consent page is what the tests look at.
    const { prompt: { details: missing }, params, session } = details;
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  } catch (e) {
    res.writeHead(500); res.end(String(e));
  }
});

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;
  console.log(`listening ${port}`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.once('line', (redirectUri) => {
    provider = new Provider(issuer, {
      clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri.trim()],
        post_logout_redirect_uris: [redirectUri.trim().replace('/login/upstream/callback', '/logout/upstream/done')],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      scopes: ['openid', 'vn'],
      // acr, amr, auth_time and sid are listed as the defaults do: without them they are dropped.
      claims: { acr: null, amr: null, auth_time: null, sid: null, iss: null, openid: ['sub'], vn: ['SoDinhDanh', 'HoVaTen', 'NgayThangNamSinh', 'vn_personal_id_verified'] },
      acrValues: ['1', '2', '3', 'LoA1', 'LoA2', 'LoA3'],
      findAccount: (ctx, id) => {
        const a = accounts[id];
        if (!a) return undefined;
        const { acr, amr, ...claims } = a;
        return { accountId: id, claims: () => ({ sub: id, ...claims }) };
      },
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true }, claimsParameter: { enabled: true } },
      pkce: { required: () => true },
      cookies: { keys: ['federation-test-cookie-key'] },
    });
    console.log('ready');
  });
});
