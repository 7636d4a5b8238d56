// Command mcpauth is an MCP gateway: it serves the MCP servers a configuration file
// lists (local ones started with stdio, remote ones over HTTP) behind one hub that
// signs people in and enforces per-service, per-tool, per-prompt and per-resource
// scopes.
//
//	mcpauth serve --config hub.yaml [--check]
//	mcpauth token --config hub.yaml --sub alice --scope "tools:call" --service everything [--tenant acme] [--ttl 1h]
//
// Every secret comes from the environment (MCPAUTH_PROXY_SIGNING_KEY, the providers'
// variables, with _FILE variants), never from the file; the file may reference
// variables as ${NAME}.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  mcpauth serve --config hub.yaml [--check]
      serve the hub (--check: validate the file and the environment, start nothing)
  mcpauth token --config hub.yaml --sub NAME --service NAME [--scope "a b"] [--tenant T] [--ttl 1h]
      print an access token for a service, signed with MCPAUTH_PROXY_SIGNING_KEY[_FILE]
      (--aggregate instead of --service: for the aggregate at /mcp)
`

// run runs the command of args and returns the process's exit code: 0, 1 on failure,
// 2 on a usage mistake.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mcpauth: unknown command %q\n%s", args[0], usage)
	return 2
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpauth serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "the configuration file (YAML or JSON)")
	checkOnly := fs.Bool("check", false, "validate the configuration and the environment, start nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "mcpauth serve: give --config FILE and no other argument\n"+usage)
		return 2
	}
	c, err := LoadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *checkOnly {
		if err := check(c); err != nil {
			fmt.Fprintln(stderr, withFile(err, *file))
			return 1
		}
		agg := "no aggregate"
		if c.Aggregate.Enabled {
			agg = "aggregate at /mcp"
		}
		fmt.Fprintf(stdout, "%s: OK: %d MCP server(s), %s, sign-in: %s\n", *file, len(c.Servers), agg, c.Auth.Upstream)
		return 0
	}
	return serve(ctx, c, *file, stdout, stderr)
}
