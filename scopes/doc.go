// Package scopes describes what scopes an operation needs and checks a token's granted
// scopes against it.
//
// A [Requirement] is an all-of set plus any number of any-of groups, each of which must
// be met; [Requirement.And] joins two requirements exactly. [Requirement.Missing] says
// exactly what is missing, and [Requirement.StepUp] gives the scope list a client should
// request to be allowed (RFC 6750 §3.1 "scope" attribute, MCP step-up authorization).
//
// Tools, prompts and resources are annotated where they are declared:
//
//	mcp.NewTool("add_note", mcp.WithString("text"), scopes.Required("notes:write"))
//
// The requirement is stored in the item's _meta under [MetaKey], so clients can see it in
// tools/list, and the middleware package enforces it both at the HTTP layer (403 with a
// step-up challenge) and inside mcp-go.
//
// [RoleMap] expands role names (from a "roles" claim, say) into scopes.
package scopes
