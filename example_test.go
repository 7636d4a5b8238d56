package mcpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
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

// A Secret in a configuration shows as [redacted] wherever the configuration is printed,
// logged or encoded; Reveal reads it where it is used.
func ExampleSecret() {
	type upstream struct {
		URL    string
		APIKey mcpauth.Secret
	}
	cfg := upstream{URL: "https://api.example.com", APIKey: mcpauth.NewSecret("sk_live_0123456789")}

	fmt.Printf("%v\n%+v\n%#v\n", cfg, cfg, cfg.APIKey)
	b, _ := json.Marshal(cfg)
	fmt.Println(string(b))
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("calling upstream", "key", cfg.APIKey)
	fmt.Println(len(cfg.APIKey.Reveal()))
	// Output:
	// {https://api.example.com [redacted]}
	// {URL:https://api.example.com APIKey:[redacted]}
	// "[redacted]"
	// {"URL":"https://api.example.com","APIKey":"[redacted]"}
	// level=INFO msg="calling upstream" key=[redacted]
	// 18
}
