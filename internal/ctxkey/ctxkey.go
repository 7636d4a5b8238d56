// Package ctxkey holds the context keys that more than one package of the module must
// answer: mcpauth reads the verified token under AccessToken, and the bearer middleware
// answers it from its per-request context without a context.WithValue of its own.
package ctxkey

// AccessToken is the key of the request's verified *mcpauth.AccessToken.
type AccessToken struct{}
