// A real MCP client (the official TypeScript SDK) signing in to an mcpauth hub that is its
// own authorization server (oauthproxy) in front of the development identity provider.
//
// Usage:
//   node signin.mjs <protocol> <url> <registration>
//
//   <protocol>      2025-06-18 or 2025-11-25: the SDK release installed under the npm
//                   alias mcp-sdk-<protocol> (see package.json)
//   <url>           the notes service's MCP endpoint
//   <registration>  dcr (dynamic client registration) or cimd (a Client ID Metadata
//                   Document at MCP_CIMD_URL)
//
// Environment:
//   MCP_USER         who signs in at the development provider (default alice)
//   MCP_FIRST_GRANT  the scopes the person leaves checked on the first consent page
//                    (space-separated; default: all); later pages are approved in full
//   MCP_CIMD_URL     the https URL of the client's metadata document (cimd only)
//   MCP_ADVANCE_URL  a test-only endpoint that moves the server's clock forward by the
//                   duration in its "by" query parameter; without it the refresh and
//                   revoke phases are skipped
//
// The script plays the person's browser with plain HTTP: it keeps the cookies, submits
// the consent form (approve) and the development provider's sign-in form, follows the
// callback and hands the code of the redirect to transport.finishAuth, as an
// application does from its redirect URI.
//
// Phases, in one process, with one OAuthClientProvider (its tokens carry over):
//   signIn    connect without a token: 401 -> discovery -> registration -> authorize
//             (PKCE, resource, state) -> consent (MCP_FIRST_GRANT) -> code -> token; then
//             connect and call whoami
//   stepUp    call add_note: the 403 insufficient_scope challenge makes the SDK ask for
//             notes:write; the consent page is shown again; the same call is retried
//   refresh   the server's clock moves past the access token's lifetime: the next call
//             gets 401 and the SDK refreshes (no new authorization request)
//   revoke    the refresh token is revoked at the revocation endpoint; after the next
//             expiry the SDK's refresh is refused and it starts a new authorization
//
// It prints one JSON line and exits 0 once every phase has run (the caller asserts the
// outcomes); non-zero only if it could not run.
import { readFileSync } from 'node:fs';
import { Provider, dropTokensOnStepUp, settle, textOf } from './oauth.mjs';

const [protocol, url, registration] = process.argv.slice(2);
if (!protocol || !url || !['dcr', 'cimd'].includes(registration)) {
  process.stderr.write('usage: node signin.mjs <2025-06-18|2025-11-25> <url> <dcr|cimd>\n');
  process.exit(2);
}
const user = process.env.MCP_USER || 'alice';
const firstGrant = process.env.MCP_FIRST_GRANT ? process.env.MCP_FIRST_GRANT.split(' ') : null;
const alias = `mcp-sdk-${protocol}`;
const { Client } = await import(`${alias}/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${alias}/client/streamableHttp.js`);
const sdkVersion = JSON.parse(readFileSync(new URL(`./node_modules/${alias}/package.json`, import.meta.url), 'utf8')).version;

async function call(client, name, args = {}) {
  const r = await settle(client.callTool({ name, arguments: args }));
  return r.ok ? { text: textOf(r.value), isError: Boolean(r.value.isError) } : { error: r.error };
}

// A fetch that records the token requests (grant type and status) and makes the step-up
// work (dropTokensOnStepUp).
const tokenCalls = [];
let provider;
async function recordingFetch(input, init = {}) {
  const res = await fetch(input, init);
  dropTokensOnStepUp(provider, res);
  const target = String(input instanceof Request ? input.url : input);
  if (target.includes('/oauth/token')) {
    const body = new URLSearchParams(String(init.body || ''));
    tokenCalls.push({ grantType: body.get('grant_type'), status: res.status, resource: body.get('resource'), body: res.ok ? undefined : await res.clone().text() });
  }
  return res;
}

provider = new Provider({ registration, cimdURL: process.env.MCP_CIMD_URL, user, firstGrant });
const result = { sdk: { alias, version: sdkVersion }, registration };
const newTransport = () => new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch });
let client = new Client({ name: 'mcpauth-e2e-signin', version: '1.0.0' }, { capabilities: {} });
client.onerror = () => {};
let transport = newTransport();

// signIn
{
  const out = {};
  const first = await settle(client.connect(transport));
  out.firstConnect = first.ok;
  await client.close().catch(() => {});
  const code = provider.takeCode();
  if (code) {
    const fin = await settle(transport.finishAuth(code));
    out.finishAuth = fin.ok ? 'ok' : fin.error;
  }
  out.clientId = provider.clientInformation()?.client_id;
  out.grantedScope = provider.tokens()?.scope;
  client = new Client({ name: 'mcpauth-e2e-signin', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => {};
  transport = newTransport();
  const second = await settle(client.connect(transport));
  out.connected = second.ok;
  if (!second.ok) out.error = second.error;
  else out.whoami = await call(client, 'whoami');
  result.signIn = out;
}

// stepUp
if (result.signIn.connected) {
  const out = {};
  out.sessionBefore = transport.sessionId;
  out.forbidden = await call(client, 'add_note', { text: 'from the TypeScript SDK' });
  out.challenges = provider.stepUpChallenges;
  const code = provider.takeCode();
  if (code) {
    const fin = await settle(transport.finishAuth(code));
    out.finishAuth = fin.ok ? 'ok' : fin.error;
    out.grantedScope = provider.tokens()?.scope;
    out.retried = await call(client, 'add_note', { text: 'from the TypeScript SDK' });
    out.sessionAfter = transport.sessionId;
  }
  result.stepUp = out;
}

// refresh and revoke need the server's clock (MCP_ADVANCE_URL).
if (result.signIn.connected && process.env.MCP_ADVANCE_URL) {
  // refresh
  const before = provider.tokens();
  const authorizationsBefore = provider.authorizations.length;
  await fetch(process.env.MCP_ADVANCE_URL + '?by=16m', { method: 'POST' });
  result.refresh = {
    call: await call(client, 'list_notes'),
    newAuthorizations: provider.authorizations.length - authorizationsBefore,
    accessTokenChanged: provider.tokens()?.access_token !== before?.access_token,
    refreshTokenRotated: Boolean(provider.tokens()?.refresh_token) && provider.tokens()?.refresh_token !== before?.refresh_token,
  };

  // revoke
  const as = await (await fetch(new URL('/.well-known/oauth-authorization-server', url))).json();
  const rv = await fetch(as.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: provider.tokens().refresh_token, token_type_hint: 'refresh_token', client_id: provider.clientInformation().client_id }),
  });
  provider.hold = true;
  const refreshesBefore = tokenCalls.length;
  await fetch(process.env.MCP_ADVANCE_URL + '?by=16m', { method: 'POST' });
  const afterRevoke = await call(client, 'list_notes');
  result.revoke = {
    status: rv.status,
    call: afterRevoke,
    tokenCalls: tokenCalls.slice(refreshesBefore),
    newAuthorizationStarted: provider.authorizations.length > authorizationsBefore,
  };
}
result.authorizations = provider.authorizations;
result.tokenCalls = tokenCalls;
await client.close().catch(() => {});
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
