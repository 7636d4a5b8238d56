// A real MCP client (the official TypeScript SDK) against an mcpauth-protected service.
//
// Usage:
//   node client.mjs <protocol> <url>
//
//   <protocol>  2025-06-18 or 2025-11-25: selects the SDK release installed under the npm
//               alias mcp-sdk-<protocol> (see package.json); env MCP_SDK
//   <url>       the service's MCP endpoint, such as http://127.0.0.1:8080/notes/mcp; env MCP_URL
//
// Environment:
//   MCP_TOKEN                 access token for the service (required)
//   MCP_WRONG_AUDIENCE_TOKEN  a token minted for another service (phase skipped when unset)
//   MCP_ALLOWED_CALLS         JSON array of {"name","arguments"} the token may call
//                             (default: whoami, list_notes)
//   MCP_FORBIDDEN_CALL        JSON {"name","arguments"} the token may not call
//                             (default: add_note {"text":"e2e"})
//   MCP_CLIENT_ID             the OAuth client ID registered with the authorization server
//                             (default: mcpauth-e2e)
//
// It prints exactly one JSON line on stdout and exits 0 once every phase has run, whatever
// the phases' outcomes (the caller asserts them); it exits non-zero only if it could not
// run (2: usage; 1: the SDK alias is not installed or the script failed).
//
// Phases, each with the SDK's result or error and the HTTP exchanges seen by the fetch
// passed to the transport (status, WWW-Authenticate, bodies of refusals):
//   session        connect with Authorization: Bearer MCP_TOKEN (requestInit.headers):
//                  negotiated protocol version, tools/list, the allowed calls, the
//                  forbidden call, then an allowed call again on the same session
//   noToken        connect without any token
//   wrongAudience  connect with MCP_WRONG_AUDIENCE_TOKEN
//   signIn         connect with an OAuthClientProvider holding no token: the SDK follows
//                  the 401 challenge (protected resource metadata, authorization server
//                  metadata) to an authorization request (authorization code + PKCE,
//                  resource indicator); the script follows the redirect, exchanges the
//                  code (transport.finishAuth) and connects again with the new token
//   stepUp         an OAuthClientProvider holding MCP_TOKEN: the forbidden call's 403
//                  insufficient_scope makes the SDK ask for the scopes the challenge
//                  names; with the new token the same call is sent again, on the same
//                  MCP session
// The last two need the authorization server named by the protected resource metadata
// to have authorization and token endpoints and to know MCP_CLIENT_ID.
import { readFileSync } from 'node:fs';

const protocol = process.argv[2] || process.env.MCP_SDK;
const url = process.argv[3] || process.env.MCP_URL;
const token = process.env.MCP_TOKEN;
if (!protocol || !url || !token) {
  process.stderr.write('usage: MCP_TOKEN=... node client.mjs <2025-06-18|2025-11-25> <url>\n');
  process.exit(2);
}
const alias = `mcp-sdk-${protocol}`;
const allowedCalls = JSON.parse(process.env.MCP_ALLOWED_CALLS || '[{"name":"whoami"},{"name":"list_notes"}]');
const clientId = process.env.MCP_CLIENT_ID || 'mcpauth-e2e';
const forbiddenCall = JSON.parse(process.env.MCP_FORBIDDEN_CALL || '{"name":"add_note","arguments":{"text":"e2e"}}');

const { Client } = await import(`${alias}/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${alias}/client/streamableHttp.js`);
const { LATEST_PROTOCOL_VERSION } = await import(`${alias}/types.js`);
const sdkVersion = JSON.parse(readFileSync(new URL(`./node_modules/${alias}/package.json`, import.meta.url), 'utf8')).version;

// recordingFetch returns a fetch that records every HTTP exchange of the transport.
function recordingFetch(log) {
  return async (input, init = {}) => {
    const res = await fetch(input, init);
    const headers = new Headers(init.headers);
    const entry = {
      method: init.method || 'GET',
      url: String(input instanceof Request ? input.url : input),
      status: res.status,
      authorization: headers.has('authorization'),
    };
    if (typeof init.body === 'string') {
      try {
        const m = JSON.parse(init.body);
        entry.rpc = m.method;
        if (m.id !== undefined) entry.id = m.id;
        if (m.method === 'tools/call') entry.tool = m.params?.name;
      } catch {
        // not JSON
      }
    }
    const sentVersion = headers.get('mcp-protocol-version');
    if (sentVersion) entry.protocolVersionHeader = sentVersion;
    const challenge = res.headers.get('www-authenticate');
    if (challenge !== null) entry.wwwAuthenticate = challenge;
    const contentType = res.headers.get('content-type') || '';
    entry.contentType = contentType;
    // Never read an event stream here: the standalone GET stream stays open.
    if (!res.ok || contentType.startsWith('application/json')) {
      entry.body = await res.clone().text();
    }
    log.push(entry);
    return res;
  };
}

function describeError(err) {
  if (!err) return undefined;
  const out = { name: err.constructor?.name || err.name, message: String(err.message) };
  if (err.code !== undefined) out.code = err.code;
  if (err.data !== undefined) out.data = err.data;
  return out;
}

function textOf(result) {
  return (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('');
}

async function settle(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

function newClient() {
  return new Client({ name: 'mcpauth-e2e', version: '1.0.0' }, { capabilities: {} });
}

// connectOnly connects with the given transport options and reports the outcome.
async function connectOnly(opts) {
  const http = [];
  const transportErrors = [];
  const client = newClient();
  client.onerror = (err) => transportErrors.push(describeError(err));
  const transport = new StreamableHTTPClientTransport(new URL(url), { ...opts, fetch: recordingFetch(http) });
  const r = await settle(client.connect(transport));
  const out = { connected: r.ok, error: r.error, http };
  if (transportErrors.length) out.transportErrors = transportErrors;
  await client.close().catch(() => {});
  return out;
}

async function callTool(client, call) {
  const r = await settle(client.callTool({ name: call.name, arguments: call.arguments || {} }));
  if (!r.ok) return { error: r.error };
  return { text: textOf(r.value), isError: Boolean(r.value.isError) };
}

async function sessionPhase() {
  const http = [];
  const transportErrors = [];
  const client = newClient();
  client.onerror = (err) => transportErrors.push(describeError(err));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: recordingFetch(http),
  });
  const out = { http };
  const c = await settle(client.connect(transport));
  out.connected = c.ok;
  if (!c.ok) {
    out.error = c.error;
    return out;
  }
  out.protocolVersion = transport.protocolVersion;
  out.serverInfo = client.getServerVersion();
  const tools = await settle(client.listTools());
  if (tools.ok) {
    out.tools = tools.value.tools.map((t) => t.name);
    out.toolScopes = Object.fromEntries(tools.value.tools.map((t) => [t.name, t._meta?.['mcpauth/scopes'] ?? null]));
  } else {
    out.toolsError = tools.error;
  }
  out.allowed = {};
  for (const call of allowedCalls) out.allowed[call.name] = await callTool(client, call);
  out.forbidden = await callTool(client, forbiddenCall);
  out.forbidden.http = http.filter((e) => e.rpc === 'tools/call' && e.tool === forbiddenCall.name);
  // The session must stay usable after a refusal.
  out.afterForbidden = await callTool(client, allowedCalls[0]);
  if (transportErrors.length) out.transportErrors = transportErrors;
  await client.close().catch(() => {});
  return out;
}

// RecordingProvider is an OAuthClientProvider for a public client registered ahead of time
// (MCP_CLIENT_ID). It records each authorization URL the SDK builds and plays the user
// agent: it sends the request and keeps the code (or error) of the redirect, which the
// caller passes to transport.finishAuth as an application would from its callback.
class RecordingProvider {
  constructor(tokens) {
    this._tokens = tokens;
    this.authorizationRequests = [];
  }
  get redirectUrl() {
    return 'http://127.0.0.1:1/callback';
  }
  get clientMetadata() {
    return {
      client_name: 'mcpauth-e2e',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return { client_id: clientId };
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  async redirectToAuthorization(authorizationUrl) {
    const req = {
      endpoint: authorizationUrl.origin + authorizationUrl.pathname,
      params: Object.fromEntries(authorizationUrl.searchParams),
    };
    this.authorizationRequests.push(req);
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    req.status = res.status;
    const location = res.headers.get('location');
    if (location) {
      const back = new URL(location);
      req.redirect = Object.fromEntries(back.searchParams);
      delete req.redirect.code;
      this.code = back.searchParams.get('code') || undefined;
    }
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  // takeCode returns the code of the last redirect, once.
  takeCode() {
    const c = this.code;
    this.code = undefined;
    return c;
  }
}

// signInPhase: no token; the 401 challenge leads the SDK through discovery to an
// authorization request; the code is exchanged with finishAuth and the client connects
// again with the token it got.
async function signInPhase() {
  const http = [];
  const provider = new RecordingProvider(undefined);
  const out = { http };
  let client = newClient();
  client.onerror = () => {};
  let transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch(http) });
  const first = await settle(client.connect(transport));
  out.firstConnect = first.ok ? { connected: true } : { connected: false, error: first.error };
  await client.close().catch(() => {});
  out.authorizationRequests = provider.authorizationRequests;
  const code = provider.takeCode();
  if (!code) return out;
  const fin = await settle(transport.finishAuth(code));
  if (!fin.ok) {
    out.finishAuthError = fin.error;
    return out;
  }
  out.grantedScope = provider.tokens()?.scope;
  client = newClient();
  client.onerror = () => {};
  transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch(http) });
  const second = await settle(client.connect(transport));
  out.connected = second.ok;
  if (!second.ok) {
    out.error = second.error;
    return out;
  }
  out.protocolVersion = transport.protocolVersion;
  out.allowed = {};
  for (const call of allowedCalls) out.allowed[call.name] = await callTool(client, call);
  await client.close().catch(() => {});
  return out;
}

// stepUpPhase: a token holding fewer scopes than the forbidden call needs. The 403
// insufficient_scope challenge makes the SDK ask for the scopes it names; the new token
// is used for the same call again, on the same MCP session.
async function stepUpPhase() {
  const http = [];
  const provider = new RecordingProvider({ access_token: token, token_type: 'Bearer' });
  const client = newClient();
  client.onerror = () => {};
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recordingFetch(http) });
  const out = { http };
  const c = await settle(client.connect(transport));
  out.connected = c.ok;
  if (!c.ok) {
    out.error = c.error;
    return out;
  }
  out.sessionBefore = transport.sessionId;
  out.forbidden = await callTool(client, forbiddenCall);
  out.authorizationRequests = provider.authorizationRequests;
  const code = provider.takeCode();
  if (code) {
    const fin = await settle(transport.finishAuth(code));
    if (fin.ok) {
      out.grantedScope = provider.tokens()?.scope;
      out.retried = await callTool(client, forbiddenCall);
      out.sessionAfter = transport.sessionId;
      out.allowed = {};
      for (const call of allowedCalls) out.allowed[call.name] = await callTool(client, call);
    } else {
      out.finishAuthError = fin.error;
    }
  }
  await client.close().catch(() => {});
  return out;
}

const result = {
  sdk: { package: '@modelcontextprotocol/sdk', alias, version: sdkVersion, latestProtocolVersion: LATEST_PROTOCOL_VERSION },
  url,
};
result.session = await sessionPhase();
result.noToken = await connectOnly({});
if (process.env.MCP_WRONG_AUDIENCE_TOKEN) {
  result.wrongAudience = await connectOnly({
    requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_WRONG_AUDIENCE_TOKEN}` } },
  });
}
result.signIn = await signInPhase();
result.stepUp = await stepUpPhase();

process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
