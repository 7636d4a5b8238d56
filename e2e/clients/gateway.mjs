// The official TypeScript SDK client signed in through mcpauth's sign-in proxy, using
// MCP servers nobody here wrote behind the mcpauth gateway binary (mcpauth serve).
//
// Usage: node gateway.mjs <base URL> <service>
//
// Environment: MCP_USER (default alice), MCP_FIRST_GRANT (scopes ticked on the first
// consent page; default all).
//
// Phases, with one OAuthClientProvider (dynamic registration) per MCP server:
//   signIn     401 -> discovery -> registration -> consent (MCP_FIRST_GRANT) -> tokens;
//              tools/list and echo
//   stepUp     trigger-long-running-operation needs ops:long: 403 insufficient_scope, a
//              second consent, then the call again, streaming progress
//   cancel     a long call aborted after its first progress notification
//   resource   resources/list and a read (a step-up to resources:read)
//   prompt     prompts/get simple-prompt (a step-up to prompts:read)
//   aggregate  the hub's /mcp, as another server: its own sign-in, then <service>_echo
// It prints one JSON line and exits 0 once every phase has run.
import { Provider, dropTokensOnStepUp, settle, textOf } from './oauth.mjs';

const [base, service] = process.argv.slice(2);
if (!base || !service) {
  process.stderr.write('usage: node gateway.mjs <base URL> <service>\n');
  process.exit(2);
}
const alias = 'mcp-sdk-2025-11-25';
const { Client } = await import(`${alias}/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${alias}/client/streamableHttp.js`);

const newProvider = () => new Provider({
  registration: 'dcr',
  user: process.env.MCP_USER || 'alice',
  firstGrant: process.env.MCP_FIRST_GRANT ? process.env.MCP_FIRST_GRANT.split(' ') : null,
});
// One provider (one token set) per MCP server, as applications keep them: a token and its
// refresh token are only good for the resource they were issued for.
let provider = newProvider();
const services = [provider];
async function appFetch(input, init = {}) {
  const res = await fetch(input, init);
  dropTokensOnStepUp(provider, res);
  return res;
}
// withStepUp runs fn; when it stops for a step-up authorization (the person consented
// in the browser), the code is exchanged and fn runs again, once.
async function withStepUp(transport, fn) {
  const r = await settle(fn());
  if (r.ok) return r.value;
  const code = provider.takeCode();
  if (!code) throw new Error(JSON.stringify(r.error));
  await transport.finishAuth(code);
  return fn();
}
// connect connects to url, finishing a sign-in when the first attempt starts one.
async function connect(url) {
  const open = () => {
    const client = new Client({ name: 'mcpauth-e2e-gateway', version: '1.0.0' }, { capabilities: {} });
    client.onerror = () => {};
    return { client, transport: new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: appFetch }) };
  };
  let { client, transport } = open();
  const first = await settle(client.connect(transport));
  if (first.ok) return { client, transport };
  const code = provider.takeCode();
  if (!code) throw new Error('no sign-in happened: ' + JSON.stringify(first.error));
  await transport.finishAuth(code);
  await client.close().catch(() => {});
  ({ client, transport } = open());
  await client.connect(transport);
  return { client, transport };
}

const result = {};
const endpoint = `${base}/${service}/mcp`;
let { client, transport } = await connect(endpoint);
{
  const tools = await client.listTools();
  result.signIn = {
    grantedScope: provider.tokens()?.scope,
    tools: tools.tools.map((t) => t.name).sort(),
    echo: textOf(await client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } })),
  };
}
{
  const progress = [];
  const first = await settle(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }));
  const out = { first: first.ok ? 'ok' : first.error, challenges: provider.stepUpChallenges.slice() };
  const code = provider.takeCode();
  if (code) {
    await transport.finishAuth(code);
    out.grantedScope = provider.tokens()?.scope;
    const r = await settle(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) }));
    out.retried = r.ok ? textOf(r.value) : r.error;
    out.progress = progress;
  }
  result.stepUp = out;
}
{
  const ac = new AbortController();
  const started = Date.now();
  const r = await settle(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, { signal: ac.signal, onprogress: () => ac.abort() }));
  result.cancel = { aborted: !r.ok, error: r.error, seconds: (Date.now() - started) / 1000 };
}
{
  const list = await client.listResources();
  const read = await withStepUp(transport, () => client.readResource({ uri: list.resources[0].uri }));
  result.resource = { count: list.resources.length, contents: read.contents.length };
}
{
  const p = await withStepUp(transport, () => client.getPrompt({ name: 'simple-prompt' }));
  result.prompt = { messages: p.messages.length, text: JSON.stringify(p.messages[0].content) };
}
await client.close().catch(() => {});
{
  provider = newProvider();
  services.push(provider);
  const agg = await settle(connect(`${base}/mcp`));
  if (agg.ok) {
    const r = await settle(agg.value.client.callTool({ name: `${service}_echo`, arguments: { message: 'aggregated' } }));
    result.aggregate = r.ok ? { echo: textOf(r.value) } : { error: r.error };
    await agg.value.client.close().catch(() => {});
  } else {
    result.aggregate = { error: agg.error };
  }
}
result.authorizations = services.reduce((n, p) => n + p.authorizations.length, 0);
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
