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
// tools/list. The middleware package decides it inside mcp-go, on the item mcp-go will
// really use, and renders a refusal over HTTP as 403 with a step-up challenge.
//
// [RoleMap] expands role names (from a "roles" claim, say) into scopes. A [Hierarchy]
// declares that a broader scope includes narrower ones; no scope includes another
// unless one says so.
package scopes
