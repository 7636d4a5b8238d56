package mcpauth

import (
	"context"
	"errors"
)

// Any returns a verifier that asks each verifier in order and accepts the token as soon
// as one of them does. The accepted AccessToken keeps the Provider set by the verifier
// that accepted it.
//
// When none accepts, the result is temporarily_unavailable if any verifier failed because
// its upstream was unavailable (the token might be valid there: one verifier's outage is
// never turned into a rejection by the others), and invalid_token otherwise, carrying the
// first verifier's description.
func Any(verifiers ...TokenVerifier) TokenVerifier {
	vs := append([]TokenVerifier(nil), verifiers...)
	return TokenVerifierFunc(func(ctx context.Context, token string) (*AccessToken, error) {
		if len(vs) == 0 {
			return nil, InvalidToken("no verifier is configured", nil)
		}
		var firstInvalid, unavailable error
		for _, v := range vs {
			tok, err := v.VerifyToken(ctx, token)
			if err == nil {
				return tok, nil
			}
			switch {
			case errors.Is(err, ErrUpstreamUnavailable):
				if unavailable == nil {
					unavailable = err
				}
			case firstInvalid == nil:
				firstInvalid = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		if unavailable != nil {
			return nil, unavailable
		}
		return nil, firstInvalid
	})
}
