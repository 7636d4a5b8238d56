package middleware

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpauth/mcpauth"
)

// StdioContext returns an mcp-go StdioContextFunc that puts principal in the context of
// every message, so that ServerOptions applies the same scope rules to a server run over
// stdio as over HTTP:
//
//	server.ServeStdio(srv, server.WithStdioContextFunc(middleware.StdioContext(p)))
func StdioContext(principal *mcpauth.AccessToken) server.StdioContextFunc {
	return func(ctx context.Context) context.Context {
		return mcpauth.WithAccessToken(ctx, principal)
	}
}

// PrincipalFromEnv builds the stdio principal from the environment: PREFIX_STDIO_SUBJECT
// (required), PREFIX_STDIO_SCOPES (space or comma separated) and PREFIX_STDIO_TENANT.
// prefix defaults to "MCPAUTH".
func PrincipalFromEnv(prefix string) (*mcpauth.AccessToken, error) {
	if prefix == "" {
		prefix = "MCPAUTH"
	}
	sub := strings.TrimSpace(os.Getenv(prefix + "_STDIO_SUBJECT"))
	if sub == "" {
		return nil, errors.New("middleware: " + prefix + "_STDIO_SUBJECT is not set: name the principal the stdio server acts for")
	}
	return &mcpauth.AccessToken{
		Subject:  sub,
		TenantID: strings.TrimSpace(os.Getenv(prefix + "_STDIO_TENANT")),
		Scopes:   strings.FieldsFunc(os.Getenv(prefix+"_STDIO_SCOPES"), func(r rune) bool { return r == ' ' || r == ',' }),
		Provider: "stdio",
	}, nil
}
