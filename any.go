package mcpauth

import (
	"context"
	"errors"
)

// Any returns a verifier that asks each verifier in order and accepts the token as soon
// as one of them does. The accepted AccessToken keeps the Provider set by the verifier
// that accepted it.
//
// When none accepts, the result is temporarily_unavailable if any verifier could not
// decide (its upstream was unavailable, or it failed with an error that is not an
// *Error): the token might be valid there, so one verifier's outage is never turned into
// a rejection by the others. Otherwise it is the first verifier's refusal.
//
// The result is a CachePolicy when one of verifiers is: its options are those of every
// verifier that has a policy, in order, so that wrapping it with Cached bounds the
// upstream calls of the opaque-token verifiers among them.
func Any(verifiers ...TokenVerifier) TokenVerifier {
	return anyVerifier(append([]TokenVerifier(nil), verifiers...))
}

type anyVerifier []TokenVerifier

func (vs anyVerifier) VerifyToken(ctx context.Context, token string) (*AccessToken, error) {
	if len(vs) == 0 {
		return nil, InvalidToken("no verifier is configured", nil)
	}
	var refusal, undecided error
	for _, v := range vs {
		tok, err := v.VerifyToken(ctx, token)
		if err == nil {
			return tok, nil
		}
		var e *Error
		switch {
		case !errors.As(err, &e) || errors.Is(err, ErrUpstreamUnavailable):
			if undecided == nil {
				undecided = err
			}
		case refusal == nil:
			refusal = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if undecided != nil {
		return nil, undecided
	}
	return nil, refusal
}

// CacheOptions implements CachePolicy: the options of every verifier that has a policy.
func (vs anyVerifier) CacheOptions() []CacheOption {
	var opts []CacheOption
	for _, v := range vs {
		if p, ok := v.(CachePolicy); ok {
			opts = append(opts, p.CacheOptions()...)
		}
	}
	return opts
}
