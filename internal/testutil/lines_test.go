package testutil

import (
	"fmt"
	"io"
	"testing"
)

// TestFollowLinesDrains: a stream writing far more lines than anyone waits for is never
// blocked (the writes below are synchronous: a reader that stopped draining would hang
// the test), and its latest lines are kept.
func TestFollowLinesDrains(t *testing.T) {
	r, w := io.Pipe()
	l := FollowLines(r)
	for i := range 30000 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	fmt.Fprintln(w, "ready at :8080")
	fmt.Fprintln(w, "b")
	fmt.Fprintln(w, "a")
	w.Close()
	if got := l.Wait(t, "ready at"); got != "ready at :8080" {
		t.Errorf("Wait returned %q", got)
	}
	l.WaitAll(t, "a", "b")
}
