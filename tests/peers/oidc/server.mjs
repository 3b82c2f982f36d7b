// OIDC/OAuth2 test peer built on panva's `oidc-provider` (OpenID Certified).
// Stands in for Globus Auth (profile "globus") or Keycloak (profile "keycloak").
//
//  * authorization_code + PKCE (S256, required for public clients) with a
//    scriptable login form at /interaction/:uid (no consent step)
//  * refresh_token (rotated on use), RFC 7009 revocation, RFC 7662 introspection
//  * client_credentials
//  * Keycloak-style resource-owner password grant (grant_type=password), added
//    with provider.registerGrantType (oidc-provider has no built-in ROPC)
//  * profile keycloak: Keycloak's refresh-token logout, POST .../logout with form
//    client_id (+ client_secret, or HTTP Basic) and refresh_token: ends the
//    grant (every token of it) -> 204; see keycloakLogout below. Every other
//    request to that path goes to oidc-provider unchanged (GET: RP-initiated
//    end_session; POST: 404, its enableHttpPostMethods is off).
//  * JWT access tokens (keycloak) are introspected/revoked/accepted at userinfo by
//    this file (oidc-provider refuses structured tokens); they are active only
//    while unexpired, not revoked AND their grant still exists (logout or a
//    refresh-token revocation destroys it, as Keycloak ends the session).
//
// Env: OIDC_PORT (default 9400), OIDC_PROFILE (globus|keycloak, default globus),
//      OIDC_REALM (keycloak realm, default shasta), OIDC_TOKEN_FORMAT (opaque|jwt;
//      default opaque for globus, jwt for keycloak), OIDC_ACCESS_TTL (s, 3600),
//      OIDC_USERS  JSON {"user":"password",...}  (default alice/bob).
import * as http from 'node:http';
import * as crypto from 'node:crypto';
import Provider from 'oidc-provider';

const PORT = Number(process.env.OIDC_PORT || 9400);
const PROFILE = process.env.OIDC_PROFILE || 'globus';
const REALM = process.env.OIDC_REALM || 'shasta';
const FORMAT = process.env.OIDC_TOKEN_FORMAT || (PROFILE === 'keycloak' ? 'jwt' : 'opaque');
const ACCESS_TTL = Number(process.env.OIDC_ACCESS_TTL || 3600);
const USERS = JSON.parse(process.env.OIDC_USERS || '{"alice":"alice-pw","bob":"bob-pw"}');
const ORIGIN = `http://127.0.0.1:${PORT}`;
const PREFIX = PROFILE === 'keycloak' ? `/realms/${REALM}` : '';
const ISSUER = ORIGIN + PREFIX;
const RESOURCE = 'urn:tokenwarden-peer:api';

const routes = PROFILE === 'keycloak'
  ? { // Keycloak layout, relative to /realms/<realm>
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    revocation: '/protocol/openid-connect/revoke',
    introspection: '/protocol/openid-connect/token/introspect',
    userinfo: '/protocol/openid-connect/userinfo',
    jwks: '/protocol/openid-connect/certs',
    end_session: '/protocol/openid-connect/logout',
  }
  : { // Globus Auth layout
    authorization: '/v2/oauth2/authorize',
    token: '/v2/oauth2/token',
    revocation: '/v2/oauth2/token/revoke',
    introspection: '/v2/oauth2/token/introspect',
    userinfo: '/v2/oauth2/userinfo',
    jwks: '/jwk.json',
    end_session: '/v2/web/logout',
  };

const clients = PROFILE === 'keycloak'
  ? [
    { // CSM's public CLI client: password grant, no secret
      client_id: 'shasta', token_endpoint_auth_method: 'none', application_type: 'native',
      grant_types: ['password', 'refresh_token', 'authorization_code'], response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    { // confidential service client (client_credentials, introspection of any token)
      client_id: 'admin-client', client_secret: 'admin-client-secret',
      grant_types: ['client_credentials', 'password', 'refresh_token'], response_types: [], redirect_uris: [],
    },
  ]
  : [
    { // native app / CLI: public client, PKCE, loopback redirect on any port (RFC 8252)
      client_id: 'native-cli', token_endpoint_auth_method: 'none', application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
    },
    { // resource server / confidential client: introspects tokens, client_credentials
      client_id: 'resource-server', client_secret: 'resource-server-secret',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ];

// The key comes back as PEM and is parsed into a fresh KeyObject on purpose. On Node 20 the
// KeyObject that generateKeyPairSync returns shares its mutex with the (already garbage) keygen
// job; a GC during export() runs the job's destructor, which takes that mutex while export()
// holds it, and the process hangs before it listens (about one start in 60; seen in CI).
const privateKey = crypto.createPrivateKey(crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
}).privateKey);
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

// jti -> { grantId, exp } of every JWT access token issued for a grant.
const jwtGrants = new Map();
function rememberJwtGrant(payload, grantId) {
  if (!grantId || !payload?.jti) return;
  const now = Math.floor(Date.now() / 1000);
  if (jwtGrants.size > 5000) for (const [k, v] of jwtGrants) if (v.exp <= now) jwtGrants.delete(k);
  jwtGrants.set(payload.jti, { grantId, exp: payload.exp });
}

const findAccount = async (ctx, id) => (id in USERS ? {
  accountId: id,
  claims: async () => ({ sub: id, preferred_username: id, name: id, email: `${id}@example.test`, email_verified: true }),
} : undefined);

const provider = new Provider(ISSUER, {
  clients,
  findAccount,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  routes,
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
  ttl: {
    AccessToken: ACCESS_TTL, ClientCredentials: ACCESS_TTL, AuthorizationCode: 120,
    RefreshToken: 14 * 24 * 3600, IdToken: 3600, Grant: 14 * 24 * 3600, Interaction: 600, Session: 24 * 3600,
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  pkce: { required: (ctx, client) => client.clientAuthMethod === 'none' },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true, allowedPolicy: async () => true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    // JWT access tokens need a resource server in oidc-provider; opaque ones are
    // issued for the issuer itself (so they also work at userinfo).
    resourceIndicators: {
      enabled: FORMAT === 'jwt',
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid offline_access profile email', audience: PROFILE === 'keycloak' ? 'account' : RESOURCE,
        accessTokenFormat: FORMAT, accessTokenTTL: ACCESS_TTL,
        ...(FORMAT === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `${PREFIX}/interaction/${interaction.uid}` },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
  renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
  // JWT access tokens are not stored by oidc-provider; remember which grant each
  // one belongs to (server side only, the token's claims are unchanged).
  formats: { customizers: { jwt: async (ctx, token, jwt) => { rememberJwtGrant(jwt.payload, token.grantId); } } },
});

// ---- Keycloak-style resource owner password credentials grant ------------
provider.registerGrantType('password', async (ctx) => {
  const { client, params } = ctx.oidc;
  const { AccessToken, RefreshToken, IdToken, Grant } = ctx.oidc.provider;
  const user = params.username;
  if (!user || !(user in USERS) || USERS[user] !== params.password) {
    ctx.status = 401; // Keycloak answers 401 invalid_grant "Invalid user credentials"
    ctx.body = { error: 'invalid_grant', error_description: 'Invalid user credentials' };
    return;
  }
  const scope = [...new Set(['openid', 'profile', 'email', ...(params.scope ? params.scope.split(' ') : [])])].join(' ');
  const grant = new Grant({ accountId: user, clientId: client.clientId });
  grant.addOIDCScope(scope);
  if (FORMAT === 'jwt') grant.addResourceScope(RESOURCE, scope);
  const grantId = await grant.save();
  const at = new AccessToken({ accountId: user, client, grantId, scope, gty: 'password' });
  if (FORMAT === 'jwt') {
    at.resourceServer = {
      audience: PROFILE === 'keycloak' ? 'account' : RESOURCE, scope, accessTokenFormat: 'jwt',
      accessTokenTTL: ACCESS_TTL, jwt: { sign: { alg: 'RS256' } },
    };
  }
  const accessToken = await at.save();
  const out = { access_token: accessToken, token_type: 'Bearer', expires_in: at.expiration, scope };
  if (client.grantTypeAllowed('refresh_token')) {
    const rt = new RefreshToken({
      accountId: user, client, grantId, scope, gty: 'password', ...(FORMAT === 'jwt' ? { resource: RESOURCE } : {}),
    });
    out.refresh_token = await rt.save();
    out.refresh_expires_in = rt.expiration;
  }
  const account = await findAccount(ctx, user);
  const claims = await account.claims();
  const idt = new IdToken({ ...claims }, { ctx });
  idt.scope = scope;
  out.id_token = await idt.issue({ use: 'idtoken' });
  ctx.body = out;
}, ['username', 'password', 'scope']);

// ---- scriptable login (interaction) --------------------------------------
const page = (uid, msg = '') => `<!doctype html><title>login</title><p>${msg}</p>
<form method="post" action="${PREFIX}/interaction/${uid}/login">
<input name="username" autofocus><input name="password" type="password"><button>Sign in</button></form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(page(uid));
  }
  if (req.method === 'POST' && action === 'login') {
    const { username, password } = await readForm(req);
    if (!(username in USERS) || USERS[username] !== password) {
      res.writeHead(401, { 'content-type': 'text/html' });
      return res.end(page(uid, 'Invalid user credentials'));
    }
    // grant everything requested (no consent screen in the test peer)
    const grant = new provider.Grant({ accountId: username, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope || 'openid');
    if (FORMAT === 'jwt') grant.addResourceScope(details.params.resource || RESOURCE, details.params.scope || 'openid');
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, {
      login: { accountId: username },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }
  res.writeHead(405); res.end();
}

// ---- Keycloak semantics for JWT access tokens ------------------------------
// oidc-provider refuses to introspect/revoke structured (JWT) access tokens and
// will not accept them at userinfo; Keycloak does all three. For the JWT
// profile we answer those three endpoints ourselves for JWT-shaped tokens:
// signature (RS256, our key) + exp + not-revoked (jti deny-list).
const publicKey = crypto.createPublicKey(privateKey);
const revokedJti = new Map(); // jti -> exp
const confClients = Object.fromEntries(clients.filter((c) => c.client_secret).map((c) => [c.client_id, c.client_secret]));
function verifyJwt(tok) {
  const parts = String(tok || '').split('.');
  if (parts.length !== 3) return null;
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'));
  if (!ok) return null;
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  if (claims.iss !== ISSUER) return null;
  return claims;
}
function clientAuth(req, form) {
  let id = form.client_id; let secret = form.client_secret;
  const h = req.headers.authorization || '';
  if (h.startsWith('Basic ')) {
    const dec = Buffer.from(h.slice(6), 'base64').toString();
    const i = dec.indexOf(':');
    id = decodeURIComponent(dec.slice(0, i)); secret = decodeURIComponent(dec.slice(i + 1));
  }
  return { id, confidential: !!(id && confClients[id] && confClients[id] === secret), known: clients.some((c) => c.client_id === id) };
}
// A JWT access token issued for a grant dies with it (Keycloak: with its session).
async function jwtGrantAlive(claims) {
  const e = jwtGrants.get(claims.jti);
  if (!e) return true; // client_credentials: no grant
  return !!(await provider.Grant.find(e.grantId));
}
const json = (res, status, body, extra = {}) => { res.writeHead(status, { 'content-type': 'application/json', ...extra }); res.end(JSON.stringify(body)); };
async function jwtEndpoints(req, res, rel) {
  if (FORMAT !== 'jwt') return false;
  const now = Math.floor(Date.now() / 1000);
  if (rel === routes.introspection && req.method === 'POST') {
    const form = await readForm(req);
    const claims = verifyJwt(form.token);
    if (!claims) { req.bodyForm = form; return form; } // not ours: let oidc-provider answer (opaque refresh tokens)
    const c = clientAuth(req, form);
    if (!c.confidential) return json(res, 401, { error: 'invalid_client', error_description: 'Authentication failed.' }) || true;
    const active = claims.exp > now && !revokedJti.has(claims.jti) && await jwtGrantAlive(claims);
    return json(res, 200, active ? {
      ...claims, active: true, typ: 'Bearer', token_type: 'Bearer', client_id: claims.client_id, username: claims.sub,
      preferred_username: claims.sub,
    } : { active: false }) || true;
  }
  if (rel === routes.revocation && req.method === 'POST') {
    const form = await readForm(req);
    const claims = verifyJwt(form.token);
    if (!claims) { req.bodyForm = form; return form; }
    const c = clientAuth(req, form);
    if (!c.known) return json(res, 401, { error: 'invalid_client' }) || true;
    revokedJti.set(claims.jti, claims.exp);
    res.writeHead(200); res.end(); return true;
  }
  if (rel === routes.userinfo) {
    const h = req.headers.authorization || '';
    const claims = h.startsWith('Bearer ') ? verifyJwt(h.slice(7)) : null;
    if (!claims) return false;
    if (claims.exp <= now || revokedJti.has(claims.jti) || !await jwtGrantAlive(claims)) {
      return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' }) || true;
    }
    const account = await findAccount(null, claims.sub);
    return json(res, 200, await account.claims()) || true;
  }
  return false;
}

// ---- Keycloak refresh-token logout (profile keycloak) ---------------------
// POST <issuer>/protocol/openid-connect/logout, form client_id (+ client_secret
// or HTTP Basic for a confidential client) and refresh_token. As Keycloak:
// the client is authenticated first, then the refresh token must be one of that
// client's; the whole session ends: the grant and every token of it (access,
// refresh, codes) and, for a code-flow login, the browser session. 204 empty,
// also when the same refresh token is presented again by the same client.
const loggedOut = new Map(); // sha256(refresh token) -> { clientId, exp }: replays answer 204 again
const sha256 = (v) => crypto.createHash('sha256').update(String(v)).digest('hex');
async function endGrant(grantId) {
  const { AccessToken, RefreshToken, AuthorizationCode, Grant } = provider;
  await Promise.all([AccessToken, RefreshToken, AuthorizationCode].map((m) => m.revokeByGrantId(grantId)));
  const grant = await Grant.find(grantId, { ignoreExpiration: true });
  await (grant ? grant.destroy() : Grant.adapter.destroy(grantId));
}
async function keycloakLogout(req, res, form) {
  const noCache = { 'cache-control': 'no-cache' };
  const c = clientAuth(req, form);
  if (!c.id) {
    return json(res, 401, { error: 'invalid_client', error_description: 'Missing parameter: client_id' }, noCache);
  }
  if (!c.known) {
    return json(res, 401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' }, noCache);
  }
  if (confClients[c.id] && !c.confidential) {
    return json(res, 401, { error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' }, noCache);
  }
  const value = form.refresh_token;
  const invalid = () => json(res, 400, { error: 'invalid_grant', error_description: 'Invalid refresh token' }, noCache);
  const mismatch = () => json(res, 400, {
    error: 'invalid_grant', error_description: "Invalid refresh token. Token client and authorized client don't match",
  }, noCache);
  if (!value) return invalid();
  // ignoreExpiration: Keycloak does not check the refresh token's expiry at logout
  const rt = await provider.RefreshToken.find(value, { ignoreExpiration: true });
  if (!rt) {
    const seen = loggedOut.get(sha256(value));
    if (seen && seen.exp > Math.floor(Date.now() / 1000)) {
      if (seen.clientId !== c.id) return mismatch();
      res.writeHead(204, noCache); return res.end();
    }
    return invalid();
  }
  if (rt.clientId !== c.id) return mismatch();
  // a rotated (consumed) refresh token still names its session: Keycloak ends it too
  const now = Math.floor(Date.now() / 1000);
  for (const [k, v] of loggedOut) if (v.exp <= now) loggedOut.delete(k);
  loggedOut.set(sha256(value), { clientId: c.id, exp: Math.max(rt.exp || 0, now + 3600) });
  await rt.destroy();
  if (rt.grantId) await endGrant(rt.grantId);
  if (rt.sessionUid) {
    const session = await provider.Session.findByUid(rt.sessionUid);
    if (session && session.accountId === rt.accountId) await session.destroy();
  }
  console.log(`logout: client ${c.id} ended grant ${rt.grantId ? sha256(rt.grantId).slice(0, 12) : '-'} of ${rt.accountId}`);
  res.writeHead(204, noCache); return res.end();
}

// Body already consumed: replay it to oidc-provider.
async function replayForm(req, res, url, rel, form) {
  const { Readable } = await import('node:stream');
  const body = new URLSearchParams(form).toString();
  const replay = Readable.from([Buffer.from(body)]);
  Object.assign(replay, { headers: { ...req.headers, 'content-length': String(Buffer.byteLength(body)) }, method: req.method, url: req.url, socket: req.socket, connection: req.socket, httpVersion: req.httpVersion });
  if (PREFIX) { replay.originalUrl = req.url; replay.url = rel + url.search; }
  return callback(replay, res);
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, ORIGIN);
    if (url.pathname === '/healthz') { res.writeHead(200); return res.end('ok'); }
    if (PREFIX && !url.pathname.startsWith(PREFIX)) { res.writeHead(404); return res.end(); }
    const rel = url.pathname.slice(PREFIX.length) || '/';
    const m = rel.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (m) return await interaction(req, res, m[1], m[2]);
    if (PROFILE === 'keycloak' && rel === routes.end_session && req.method === 'POST'
        && String(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
      const form = await readForm(req);
      if ('refresh_token' in form) return await keycloakLogout(req, res, form);
      return await replayForm(req, res, url, rel, form); // RP-initiated logout (oidc-provider)
    }
    const handled = await jwtEndpoints(req, res, rel);
    if (handled === true) return undefined;
    if (handled && typeof handled === 'object') return await replayForm(req, res, url, rel, handled);
    if (PREFIX) { req.originalUrl = req.url; req.url = rel + url.search; } // mounted at the issuer path
    return callback(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) { res.writeHead(400, { 'content-type': 'application/json' }); }
    res.end(JSON.stringify({ error: 'invalid_request', error_description: String(err.message || err) }));
  }
});
server.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc test peer (${PROFILE}, ${FORMAT} access tokens) issuer=${ISSUER}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop); process.on('SIGINT', stop);
