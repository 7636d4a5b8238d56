package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/audit"
)

func TestTokenRef(t *testing.T) {
	assert.Equal(t, "jti:abc", audit.TokenRef("abc", "secret"))
	ref := audit.TokenRef("", "secret-token")
	assert.True(t, strings.HasPrefix(ref, "sha256:"))
	assert.Len(t, ref, len("sha256:")+12)
	assert.NotContains(t, ref, "secret")
	assert.Equal(t, "", audit.TokenRef("", ""))
}

func TestSlogSinkLevels(t *testing.T) {
	var buf bytes.Buffer
	sink := audit.NewSlogSink(slog.New(slog.NewJSONHandler(&buf, nil))) // Info and above
	sink.Record(context.Background(), audit.Event{Decision: audit.Allow, Subject: "alice"})
	assert.Empty(t, buf.String(), "allow events are Debug by default")
	sink.Record(context.Background(), audit.Event{Decision: audit.AuthFailure, Reason: "missing_token"})
	assert.Contains(t, buf.String(), `"level":"WARN"`)
	assert.Contains(t, buf.String(), `"reason":"missing_token"`)

	buf.Reset()
	sink.AllowLevel = slog.LevelInfo
	sink.Record(context.Background(), audit.Event{Decision: audit.Allow, Subject: "alice"})
	assert.Contains(t, buf.String(), `"decision":"allow"`)
}

func TestMultiAndDiscard(t *testing.T) {
	var n int
	count := audit.SinkFunc(func(context.Context, audit.Event) { n++ })
	audit.Multi(count, audit.Discard, count).Record(context.Background(), audit.Event{})
	assert.Equal(t, 2, n)
}

func TestEnabled(t *testing.T) {
	ctx := context.Background()
	assert.False(t, audit.Enabled(ctx, audit.Discard, audit.Deny))
	assert.True(t, audit.Enabled(ctx, audit.SinkFunc(func(context.Context, audit.Event) {}), audit.Allow))
	sink := audit.NewSlogSink(slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))) // Info and above
	assert.False(t, audit.Enabled(ctx, sink, audit.Allow), "allow events are Debug by default")
	assert.True(t, audit.Enabled(ctx, sink, audit.Deny))
}

func TestSetCaller(t *testing.T) {
	var e audit.Event
	e.SetCaller(&mcpauth.AccessToken{Subject: "alice", ClientID: "c", TenantID: "acme", Issuer: "iss", Provider: "bearer", Scopes: []string{"a"}, ID: "j1"}, "raw-secret")
	assert.Equal(t, audit.Event{Subject: "alice", ClientID: "c", TenantID: "acme", Issuer: "iss", Provider: "bearer", GrantedScopes: []string{"a"}, TokenRef: "jti:j1"}, e)
	var u audit.Event
	u.SetCaller(nil, "raw-secret")
	assert.Equal(t, audit.TokenRef("", "raw-secret"), u.TokenRef, "an unverified token is referred to by hash")
	assert.NotContains(t, u.TokenRef, "secret")
}

func TestRecorder(t *testing.T) {
	var r audit.Recorder
	r.Record(context.Background(), audit.Event{Decision: audit.Allow, Subject: "a"})
	r.Record(context.Background(), audit.Event{Decision: audit.Deny, Subject: "b"})
	ev := r.Events()
	assert.Equal(t, []string{"a", "b"}, []string{ev[0].Subject, ev[1].Subject})
	ev[0].Subject = "changed"
	assert.Equal(t, "a", r.Events()[0].Subject, "Events returns a copy")
}
