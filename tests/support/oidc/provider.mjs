// A real OpenID Connect provider for kaa's sign-in tests (oidc-provider, pinned in package.json).
//
//   node provider.mjs          (settings in the environment, set by the tests' fixture)
//
// OIDC_PORT     port on 127.0.0.1; the issuer is http://127.0.0.1:<port>
// OIDC_CLIENTS  JSON list of clients (client_id, client_secret, redirect_uris,
//               post_logout_redirect_uris); each uses the code flow with PKCE required
// OIDC_USERS    JSON object: account id -> extra claims (e.g. {"groups": [...], "kommunkod": "0180"})
//
// Discovery, JWKS (a fresh RSA key per start), the dev login and consent pages (any password), and
// access tokens for the resource `urn:kaa:api` (audience `kaa-api`) as JWTs signed RS256 that
// carry the account's claims.
// Prints "ready <issuer>" once listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]');
const users = JSON.parse(process.env.OIDC_USERS ?? '{}');
const RESOURCE = process.env.OIDC_RESOURCE ?? 'urn:kaa:api'; // an absolute URI (RFC 8707)
const AUDIENCE = process.env.OIDC_AUDIENCE ?? 'kaa-api'; // the services' KAA_TOKEN_AUDIENCE
const claimNames = [...new Set(Object.values(users).flatMap((claims) => Object.keys(claims)))];

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'kaa'],
  claims: { openid: ['sub'], kaa: claimNames },
  conformIdTokenClaims: false, // the account's claims in the ID token too, beside the access token
  async findAccount(_ctx, id) {
    if (!Object.hasOwn(users, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...users[id] }) };
  },
  async extraTokenClaims(_ctx, token) {
    if (token.kind !== 'AccessToken' || !Object.hasOwn(users, token.accountId)) return undefined;
    return { ...users[token.accountId] };
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'kaa',
        audience: AUDIENCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
