// Command server serves one bench stack: the same MCP server with one tool, echo, at /mcp
// behind the authentication layer chosen with -stack. It prints one JSON line with the
// bound address, the MCP URL and a token of every class, then serves until SIGINT or
// SIGTERM.
//
//	go run ./cmd/server -stack hub
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/mcpauth/mcpauth/bench/stacks"
)

type banner struct {
	Addr       string        `json:"addr"`
	Stack      string        `json:"stack"`
	URL        string        `json:"url"`
	Token      string        `json:"token"`
	Tokens     stacks.Tokens `json:"tokens"`
	GOMAXPROCS int           `json:"gomaxprocs"`
}

func main() {
	stack := flag.String("stack", stacks.Bare, "stack to serve: "+strings.Join(stacks.Names, ", "))
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := run(*stack, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		pprof.StopCPUProfile() // os.Exit skips the deferred stop
		os.Exit(1)
	}
}

func run(name, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := stacks.Start(name, addr, nil)
	if err != nil {
		return err
	}
	line, err := json.Marshal(banner{
		Addr: s.Addr, Stack: s.Name, URL: s.URL, Token: s.Tokens.Valid, Tokens: s.Tokens,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	})
	if err != nil {
		s.Close()
		return err
	}
	fmt.Printf("%s\n", line)
	<-ctx.Done()
	return s.Close()
}
