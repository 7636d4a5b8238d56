package testutil

import "testing"

func TestLogs(t *testing.T) {
	logger, logs := NewLogger()
	if got := logs.Lines(); got != nil {
		t.Fatalf("Lines() = %q before any record", got)
	}
	logger.Debug("one", "k", "v")
	logger.WithGroup("g").Warn("two", "time", "kept in a group")
	want := []string{`level=DEBUG msg=one k=v`, `level=WARN msg=two g.time="kept in a group"`}
	if got := logs.Lines(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Lines() = %q, want %q", got, want)
	}
	if got := logs.String(); got != want[0]+"\n"+want[1]+"\n" {
		t.Fatalf("String() = %q", got)
	}
}
