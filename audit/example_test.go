package audit_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/mcpauth/mcpauth/audit"
)

func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	sink := audit.NewSlogSink(logger)
	sink.Record(context.Background(), audit.Event{
		Time:           time.Now(),
		Decision:       audit.Deny,
		Reason:         audit.ReasonInsufficientScope,
		Subject:        "bob",
		TokenRef:       audit.TokenRef("", "eyJhbGciOi..."),
		Service:        "notes",
		HTTPMethod:     "POST",
		RPCMethod:      "tools/call",
		TargetKind:     "tool",
		Target:         "add_note",
		RequiredScopes: []string{"notes:write"},
		Status:         403,
	})
	// Output:
	// level=WARN msg=mcpauth.audit decision=deny reason=insufficient_scope subject=bob token=sha256:838bb469a544 service=notes http_method=POST rpc_method=tools/call target_kind=tool target=add_note required_scopes=[notes:write] status=403
}
