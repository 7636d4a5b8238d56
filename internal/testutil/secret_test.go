package testutil

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpauth/mcpauth"
)

// recorder is a testing.TB that records the failures reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestNoSecret(t *testing.T) {
	type safe struct {
		Name string
		Key  mcpauth.Secret
	}
	r := &recorder{TB: t}
	NoSecret(r, safe{Name: "app", Key: mcpauth.NewSecret("s3cret-value")}, "s3cret-value")
	if len(r.errs) != 0 {
		t.Fatalf("a Secret field was reported: %q", r.errs)
	}

	type leaky struct {
		Name string
		Key  string
	}
	r = &recorder{TB: t}
	NoSecret(r, leaky{Name: "app", Key: "s3cret-value"}, "s3cret-value")
	forms := len(PrintForms(t, leaky{}))
	// Every form shows the plain string (or its hexadecimal encoding) and lacks the
	// placeholder; of the three %p forms, which need no placeholder, the value and the
	// struct show the string (fmt calls no method on a bad verb) and the pointer an
	// address.
	if want := 2*(forms-3) + 2; len(r.errs) != want {
		t.Fatalf("got %d failures for %d forms, want %d: %q", len(r.errs), forms, want, r.errs)
	}
	if !strings.Contains(strings.Join(r.errs, "\n"), "slog JSON shows the secret") {
		t.Fatalf("the slog JSON form was not reported: %q", r.errs)
	}
}
