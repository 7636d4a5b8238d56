package scopes

import (
	"context"
	"fmt"
	"slices"

	"github.com/mcpauth/mcpauth"
)

// Hierarchy declares which narrower scopes a broader scope includes: with
// Hierarchy{"notes:write": {"notes:read"}}, a token granted notes:write also satisfies a
// requirement of notes:read. Inclusion is transitive. No scope includes another unless a
// Hierarchy says so: the zero Hierarchy implies nothing.
//
// A hierarchy is applied once per token, to its granted scopes, by the verifier
// Hierarchy.Verifier returns (hub.Config.ScopeHierarchy installs it under the hub's
// cache), so every later decision, challenge and audit event sees the expanded set.
type Hierarchy map[string][]string

// Validate reports an empty scope name in h.
func (h Hierarchy) Validate() error {
	for broad, narrow := range h {
		if broad == "" || slices.Contains(narrow, "") {
			return fmt.Errorf("scopes: Hierarchy has an empty scope name (under %q): name every scope", broad)
		}
	}
	return nil
}

// Expand returns granted plus every scope the granted scopes include, transitively,
// without duplicates: granted first, in order, then the included scopes in the order
// found. It returns granted itself when nothing is added.
func (h Hierarchy) Expand(granted []string) []string {
	if len(h) == 0 {
		return granted
	}
	out := granted
	for i := 0; i < len(out); i++ {
		for _, n := range h[out[i]] {
			if !slices.Contains(out, n) {
				if len(out) == len(granted) {
					out = slices.Clone(granted)
				}
				out = append(out, n)
			}
		}
	}
	return out
}

// Verifier returns a verifier whose tokens carry their scopes expanded by h. The tokens
// v returns are not modified: an expanded token is a copy. Put it under a cache
// (mcpauth.Cached(h.Verifier(v))) so that the expansion runs once per token.
func (h Hierarchy) Verifier(v mcpauth.TokenVerifier) mcpauth.TokenVerifier {
	if len(h) == 0 {
		return v
	}
	return mcpauth.TokenVerifierFunc(func(ctx context.Context, token string) (*mcpauth.AccessToken, error) {
		tok, err := v.VerifyToken(ctx, token)
		if err != nil || tok == nil {
			return tok, err
		}
		expanded := h.Expand(tok.Scopes)
		if len(expanded) == len(tok.Scopes) {
			return tok, nil
		}
		cp := *tok
		cp.Scopes = expanded
		return &cp, nil
	})
}
