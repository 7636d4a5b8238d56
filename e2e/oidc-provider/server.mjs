// A real OAuth 2.0 authorization server for mcpauth's end-to-end tests, built on
// panva/node-oidc-provider (the version pinned in package.json).
//
// It issues access tokens with the client credentials grant for any resource (RFC 8707
// resource indicator) that is an absolute https URL or an http URL on a loopback host,
// answers RFC 7662 introspection and RFC 7009 revocation, and serves its discovery
// document and JWKS. It keeps everything in memory and signs with an RSA key generated at
// start, so every run is independent.
//
//   node server.mjs [port]        (or PORT=...; default 0: any free port)
//
// When it listens it prints exactly one JSON line on stdout, then logs only to stderr:
//
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
//
// Clients (all secrets are test values, never use them anywhere else):
//
//   mcp-client       / mcp-client-secret       client_credentials, client_secret_basic;
//                                                its access tokens are opaque
//   mcp-jwt-client   / mcp-jwt-client-secret   client_credentials, client_secret_basic;
//                                                its access tokens are JWTs (typ at+jwt, RS256)
//   rs-basic         / rs-basic-secret:with/special+chars%&=
//                                              a resource server: introspects with
//                                                client_secret_basic (the secret has the
//                                                characters RFC 6749 §2.3.1 encodes)
//   rs-post          / rs-post-secret          a resource server: introspects with
//                                                client_secret_post
//
// Every resource server gets the scopes "notes:read notes:write admin"; a token's scope is
// what the client asked for, filtered by that list. Access tokens live 10 minutes.

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

const host = '127.0.0.1';
const portArg = process.argv[2] ?? process.env.PORT ?? '0';
const port = Number.parseInt(portArg, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`server.mjs: invalid port ${JSON.stringify(portArg)}: give a number from 0 to 65535`);
  process.exit(2);
}

const RESOURCE_SCOPE = 'notes:read notes:write admin';
const ACCESS_TOKEN_TTL = 600;
const RESOURCE_SERVERS = new Set(['rs-basic', 'rs-post']);
// Characters that RFC 6749 §2.3.1 requires a client to form-urlencode in a Basic header.
const RS_BASIC_SECRET = 'rs-basic-secret:with/special+chars%&=';

function isLoopback(hostname) {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

// acceptedResource reports whether a resource indicator names a resource this server
// issues tokens for: an absolute https URL, or http on a loopback host.
function acceptedResource(resource) {
  let u;
  try {
    u = new URL(resource);
  } catch {
    return false;
  }
  if (u.hash) return false;
  return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u.hostname));
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

// The issuer must name the port, which is only known once listening when port is 0: the
// HTTP server is created first and the provider attached to it afterwards.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
const actualPort = await listen(server);
const issuer = `http://${host}:${actualPort}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-rs256', alg: 'RS256', use: 'sig' };

const client = (id, extra) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  ...extra,
});

const provider = new Provider(issuer, {
  clients: [
    client('mcp-client', { grant_types: ['client_credentials'], scope: RESOURCE_SCOPE }),
    client('mcp-jwt-client', { grant_types: ['client_credentials'], scope: RESOURCE_SCOPE }),
    client('rs-basic', { client_secret: RS_BASIC_SECRET }),
    client('rs-post', { token_endpoint_auth_method: 'client_secret_post' }),
  ],
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'offline_access', ...RESOURCE_SCOPE.split(' ')],
  cookies: { keys: ['mcpauth-e2e-cookie-key-not-secret'] },
  findAccount: async () => undefined,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Resource servers may introspect any token; a client may introspect its own.
      allowedPolicy: async (_ctx, caller, token) => RESOURCE_SERVERS.has(caller.clientId) || caller.clientId === token.clientId,
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator, tokenClient) => {
        if (!acceptedResource(resourceIndicator)) {
          throw new errors.InvalidTarget();
        }
        const jwt = tokenClient.clientId === 'mcp-jwt-client';
        return {
          scope: RESOURCE_SCOPE,
          audience: resourceIndicator,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: jwt ? 'jwt' : 'opaque',
          ...(jwt ? { jwt: { sign: { alg: 'RS256' } } } : {}),
        };
      },
    },
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    ClientCredentials: ACCESS_TOKEN_TTL,
    Grant: 3600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 3600,
    RefreshToken: 3600,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
  },
});

provider.on('server_error', (_ctx, err) => console.error('server_error:', err));

handler = provider.callback();

const shutdown = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

process.stdout.write(`${JSON.stringify({ issuer, port: actualPort })}\n`);
