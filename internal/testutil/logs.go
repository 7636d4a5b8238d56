package testutil

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Logs collects what a logger made by NewLogger writes: slog text lines without the
// time, so that tests compare whole lines. It is safe for concurrent use.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// NewLogger returns a logger writing every record (level Debug and up) to a new Logs.
func NewLogger() (*slog.Logger, *Logs) {
	l := &Logs{}
	h := slog.NewTextHandler(l, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h), l
}

// Write implements io.Writer for the handler.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the lines written so far, without their new lines.
func (l *Logs) Lines() []string {
	s := strings.TrimSuffix(l.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
