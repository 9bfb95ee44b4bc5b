// A real OpenID provider for Townhall's OIDC tests (tests/tests/oidc.rs,
// client-web/e2e/oidc.spec.ts) and for trying the login by hand: the
// certified `oidc-provider` package (installed by scripts/setup.sh into
// scripts/oidc/node_modules), with its own login page, on loopback.
//
//   node scripts/oidc/provider.mjs PORT REDIRECT_URL[,REDIRECT_URL...]
//
// Issuer: http://127.0.0.1:PORT (plain http: Townhall needs
// --oidc-allow-http for it). Prints "oidc-provider listening on ISSUER"
// once it serves. Keys (RSA 2048 and P-256) and their kids are made fresh
// at each start, so a restart on the same port is a key rotation.
//
// Clients (secret "townhall-secret" for both, PKCE required):
//   townhall     ID tokens signed RS256
//   townhall-es  ID tokens signed ES256
// Accounts (password: NAME-pw):
//   alice  groups townhall-admins          → admin with --oidc-role-group admin=townhall-admins
//   bob    groups transformation, leads    → leader, on the team
//   carol  no groups                       → staff
//   mallory  another person whose preferred_username is "alice"
//   root   preferred_username "admin", the name of Townhall's local admin
//   dave   no groups (and no entry in tests/ldap/directory.ldif)
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirectUris = (process.argv[3] ?? '').split(',').filter(Boolean);
if (!port || redirectUris.length === 0) {
  console.error('usage: node scripts/oidc/provider.mjs PORT REDIRECT_URL[,REDIRECT_URL...]');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  alice: { username: 'alice', name: 'Alice Admin', groups: ['townhall-admins'] },
  bob: { username: 'bob', name: 'Bob Builder', groups: ['transformation', 'leads'] },
  carol: { username: 'carol', name: 'Carol C.', groups: [] },
  mallory: { username: 'alice', name: 'Mallory', groups: ['townhall-admins'] },
  root: { username: 'admin', name: 'Root', groups: ['townhall-admins'] },
  dave: { username: 'dave', name: 'Dave D.', groups: [] },
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const kid = randomBytes(4).toString('hex');

const client = (client_id, alg) => ({
  client_id,
  client_secret: 'townhall-secret',
  redirect_uris: redirectUris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: alg,
});

const provider = new Provider(issuer, {
  clients: [client('townhall', 'RS256'), client('townhall-es', 'ES256')],
  // Fresh kids at each start: a restart is a key rotation (tests/tests/oidc.rs).
  jwks: { keys: [{ ...rsa, kid: `rsa-${kid}`, use: 'sig' }, { ...ec, kid: `ec-${kid}`, use: 'sig' }] },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups'],
  findAccount: async (_ctx, id) => {
    const a = accounts[id];
    if (!a) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: `sub-${id}`, preferred_username: a.username, name: a.name, groups: a.groups }),
    };
  },
  // Our own one-step login page below instead of the package's dev pages.
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  cookies: { keys: ['townhall-test-provider-cookie-key'] },
});

const page = (uid, error = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test Company sign-in</title></head>
<body><main>
<h1>Test Company sign-in</h1>
${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></main></body></html>`;

async function body(req) {
  let data = '';
  for await (const chunk of req) {
    data += chunk;
    if (data.length > 10_000) throw new Error('body too large');
  }
  return new URLSearchParams(data);
}

const handler = provider.callback();
const server = createServer(async (req, res) => {
  const m = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url ?? '');
  if (!m) return handler(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(page(details.uid));
    }
    const form = await body(req);
    const id = form.get('login') ?? '';
    if (!accounts[id] || form.get('password') !== `${id}-pw`) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(page(details.uid, 'Wrong username or password.'));
    }
    const grant = new provider.Grant({ accountId: id, clientId: details.params.client_id });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: id }, consent: { grantId } }, {
      mergeWithLastSubmission: false,
    });
  } catch (e) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`interaction failed: ${e}`);
  }
});
server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
