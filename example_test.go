package mcpauth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpauth/mcpauth"
)

func Example() {
	// A verifier that knows one static machine token; real ones live in providers/.
	static := mcpauth.TokenVerifierFunc(func(_ context.Context, token string) (*mcpauth.AccessToken, error) {
		if token == "s3cr3t-machine-token" {
			return &mcpauth.AccessToken{Subject: "robot", Scopes: []string{"notes:read"}, Provider: "static"}, nil
		}
		return nil, mcpauth.InvalidToken("unknown token", nil)
	})
	v := mcpauth.Cached(static, mcpauth.WithMaxTTL(time.Minute))

	tok, err := v.VerifyToken(context.Background(), "s3cr3t-machine-token")
	fmt.Println(tok.Subject, tok.HasScope("notes:read"), err)

	_, err = v.VerifyToken(context.Background(), "guess")
	fmt.Println(mcpauth.AsError(err).Status, mcpauth.AsError(err).Code)
	// Output:
	// robot true <nil>
	// 401 invalid_token
}
