package testutil

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireRedisEnv makes the Redis tests fail, rather than skip, when redis-server is
// missing (scripts/test sets it after installing the Debian package).
const RequireRedisEnv = "MCPAUTH_REQUIRE_REDIS"

// Redis is a redis-server of one test: its own free loopback port and data directory,
// append-only persistence with an fsync per write, stopped when the test ends.
type Redis struct {
	// Addr is host:port.
	Addr string
	t    testing.TB
	dir  string
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server for t; args are extra server options, such as
// "--appendfsync", "everysec". Without redis-server on PATH the test is skipped, or
// failed when MCPAUTH_REQUIRE_REDIS=1.
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(RequireRedisEnv) == "1" {
			t.Fatalf("%s=1 but redis-server is not on PATH: apt-get install -y redis-server (scripts/test does it)", RequireRedisEnv)
		}
		t.Skip("needs redis-server: apt-get install -y redis-server, or run ./scripts/test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &Redis{Addr: addr, t: t, dir: t.TempDir(), args: args}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// Start starts the server (again, after Kill) on the same port and data directory and
// returns once it accepts connections.
func (r *Redis) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", r.dir, "--save", "", "--appendonly", "yes",
		"--appendfsync", "always", "--logfile", "", "--daemonize", "no", "--protected-mode", "yes"}, r.args...)
	cmd := exec.Command("redis-server", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	sc := bufio.NewScanner(out)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() {
				for sc.Scan() {
				}
			}()
			r.cmd = cmd
			return
		}
	}
	_ = cmd.Wait()
	r.t.Fatalf("redis-server exited before accepting connections:\n%s", log.String())
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
