// The user side of a sign-in through mcpauth's oauthproxy, shared by the e2e scripts: a
// browser played with plain HTTP (cookies kept, the consent form and the development
// provider's sign-in form submitted, the callback followed) and the OAuthClientProvider
// of an application whose redirect URI is never served (the code of the redirect is kept
// for transport.finishAuth).

// Browser keeps cookies across requests and never follows redirects by itself.
export class Browser {
  constructor() {
    this.cookies = new Map();
  }
  async go(target, init = {}) {
    const headers = new Headers(init.headers || {});
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
    return res;
  }
  async postForm(target, fields) {
    const body = new URLSearchParams();
    for (const [k, v] of fields) body.append(k, v);
    return this.go(target, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

export const field = (page, name) => page.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];

// Provider is the OAuthClientProvider of an application whose redirect URI is never
// actually served: the browser run stops at the redirect and keeps its code.
export class Provider {
  // opts: registration (dcr or cimd), cimdURL, user (who signs in), firstGrant (the
  // scopes left ticked on the first consent page; null: all).
  constructor(opts) {
    this.opts = opts;
    this.browser = new Browser();
    this.authorizations = [];
    this.consentPages = 0;
    this.stepUpChallenges = [];
  }
  get redirectUrl() {
    return 'http://127.0.0.1:1/callback';
  }
  get clientMetadata() {
    return {
      client_name: 'mcpauth e2e (' + this.opts.registration + ')',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  get clientMetadataUrl() {
    return this.opts.registration === 'cimd' ? this.opts.cimdURL : undefined;
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
    this.tokenHistory = (this.tokenHistory || 0) + 1;
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  state() {
    this._state = 'st-' + Math.random().toString(36).slice(2);
    return this._state;
  }
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'client') this._client = undefined;
  }
  // redirectToAuthorization plays the browser from the authorization request to the
  // redirect back to the application, unless this.hold is set (then it only records).
  async redirectToAuthorization(authorizationUrl) {
    const rec = { params: Object.fromEntries(authorizationUrl.searchParams) };
    this.authorizations.push(rec);
    if (this.hold) return;
    let res = await this.browser.go(authorizationUrl);
    rec.authorizeStatus = res.status;
    if (res.status === 200) {
      const page = await res.text();
      this.consentPages++;
      rec.consentScopes = [...page.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1]);
      rec.consentNamesRedirectHost = page.includes('127.0.0.1:1');
      const action = page.match(/<form method="post" action="([^"]+)"/)?.[1];
      const grant = this.consentPages === 1 && this.opts.firstGrant ? this.opts.firstGrant : rec.consentScopes;
      const fields = [['tx', field(page, 'tx')], ['csrf', field(page, 'csrf')], ['action', 'approve'], ...grant.map((s) => ['scope', s])];
      res = await this.browser.postForm(action, fields);
      rec.consentStatus = res.status;
    }
    if (res.status !== 302) {
      rec.error = 'no redirect to the identity provider: ' + res.status + ' ' + (await res.text()).slice(0, 300);
      return;
    }
    const login = new URL(res.headers.get('location'));
    res = await this.browser.go(login);
    const page = await res.text();
    res = await this.browser.postForm(login.origin + login.pathname, [
      ['state', field(page, 'state')], ['code_challenge', field(page, 'code_challenge')], ['redirect_uri', field(page, 'redirect_uri')], ['user', this.opts.user],
    ]);
    res = await this.browser.go(res.headers.get('location')); // the proxy's callback
    const back = new URL(res.headers.get('location'));
    rec.redirect = Object.fromEntries(back.searchParams);
    rec.stateEchoed = back.searchParams.get('state') === this._state;
    this.code = back.searchParams.get('code') || undefined;
    delete rec.redirect.code;
  }
  takeCode() {
    const c = this.code;
    this.code = undefined;
    return c;
  }
}


// dropTokensOnStepUp makes step-up work: on a 403 insufficient_scope the SDK (1.24 and
// 1.32) calls auth(), which, holding a refresh token, refreshes (a refresh never widens
// the scope) and retries, and then gives up ("403 after trying upscoping"). The
// application therefore drops its tokens when it sees that challenge, so that auth() asks
// the person for the wider scope. Call it with every response of the app's fetch.
export function dropTokensOnStepUp(provider, res) {
  const challenge = res.headers.get('www-authenticate') || '';
  if (res.status === 403 && challenge.includes('insufficient_scope')) {
    provider.stepUpChallenges.push(challenge);
    provider.invalidateCredentials('tokens');
  }
}

// settle waits for promise and says how it ended, as plain data for the Go test.
export async function settle(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    return { ok: false, error: err ? { name: err.constructor?.name || err.name, message: String(err.message) } : undefined };
  }
}

// textOf is the text content of a tool result.
export const textOf = (r) => (r.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('');
