// Package upstream is the one HTTP client policy of the provider packages (github,
// google, workos, introspect) for the identity-provider APIs they call, with the
// bounded body reads the bearer provider's JWKS client shares, and CacheTTL, the
// freshness of an HTTP answer (also for the sign-in proxy's client metadata documents).
//
// The policy, the same for every provider:
//
//   - Redirects are never followed (NewHTTPClient): a redirect is not part of any
//     documented answer of these APIs, and following one could replay a token or client
//     credentials to another location. The 3xx answer reaches the provider as it is, and
//     the provider treats it as an unexpected status (503).
//   - Each call is bounded by the client's timeout (Client.Timeout, applied as a context
//     deadline) and each response body by MaxBody (1 MiB, ReadBody); a larger body is a
//     503 whose cause matches errors.Is(err, ErrTooLarge).
//   - Transport failures and the statuses whose meaning is the same everywhere map to
//     *mcpauth.Error in one table (Client.Do, Client.Check): a timeout, an unreachable
//     host, a cancelled request, HTTP 429 and 5xx are all temporarily_unavailable (503),
//     never a verdict on the token; 429 and 5xx carry RetryAfter. What 401, 403 and 404
//     mean differs between the APIs and stays in each provider.
//   - Retry-After and X-RateLimit-Reset are read by one parser (RetryAfter), with one
//     rounding (up, to whole seconds) and one cap (MaxRetryAfter, 1 hour).
package upstream
