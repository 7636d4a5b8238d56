package testutil

import (
	"bufio"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// Lines follows the lines of a stream, such as a process's output, for tests that wait
// for the lines saying it is ready. The stream is always drained: once 10,000 lines
// nobody has waited for are held, the oldest is dropped for each new one, so a chatty
// process never blocks on its output and its latest lines are kept.
type Lines struct{ ch chan string }

// FollowLines reads r line by line until it ends.
func FollowLines(r io.Reader) *Lines {
	l := &Lines{ch: make(chan string, 10000)}
	go func() {
		defer close(l.ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			for sent := false; !sent; {
				select {
				case l.ch <- sc.Text():
					sent = true
				default: // full: drop the oldest line
					select {
					case <-l.ch:
					default:
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return l
}

// Wait returns the first line containing s; the stream ending first, or a minute
// passing, fails the test.
func (l *Lines) Wait(t testing.TB, s string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("the output ended with no line containing %q", s)
			}
			if strings.Contains(line, s) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line containing %q", s)
		}
	}
}

// WaitAll returns once a line containing each of ss has come, in any order.
func (l *Lines) WaitAll(t testing.TB, ss ...string) {
	t.Helper()
	left := slices.Clone(ss)
	timeout := time.After(time.Minute)
	for len(left) > 0 {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("the output ended with no line containing %q", left)
			}
			left = slices.DeleteFunc(left, func(s string) bool { return strings.Contains(line, s) })
		case <-timeout:
			t.Fatalf("no line containing %q", left)
		}
	}
}
