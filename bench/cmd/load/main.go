// Command load drives an MCP server with echo tools/call requests over keep-alive
// connections, checks every answer, and prints one JSON line of results:
//
//	go run ./cmd/load -url http://127.0.0.1:12345/mcp -token "$TOKEN" -stack hub
//
// It only loads loopback addresses unless -allow-remote is given. The exit status is 1 when
// any answer failed its check.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpauth/mcpauth/bench/load"
)

func main() {
	var cfg load.Config
	flag.StringVar(&cfg.URL, "url", "", "MCP endpoint, such as http://127.0.0.1:12345/mcp (required)")
	flag.StringVar(&cfg.Token, "token", "", "bearer token (none when empty)")
	flag.StringVar(&cfg.Stack, "stack", "", "stack name to put in the result")
	flag.IntVar(&cfg.Concurrency, "concurrency", 32, "concurrent workers, one request in flight each")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warmup before the measured duration (negative for none)")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "timeout of each request")
	flag.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a URL whose host is not a loopback address")
	flag.Parse()
	if cfg.Warmup == 0 {
		cfg.Warmup = -1 // -warmup 0 means none
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	line, _ := json.Marshal(res)
	fmt.Printf("%s\n", line)
	if res.Errors > 0 || res.WarmupErrors > 0 {
		fmt.Fprintf(os.Stderr, "load: %d errors (+%d during warmup); first: %s\n", res.Errors, res.WarmupErrors, res.FirstError)
		os.Exit(1)
	}
}
