package scopes_test

import (
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpauth/mcpauth/scopes"
)

func Example() {
	tool := mcp.NewTool("add_note", mcp.WithString("text"), scopes.Required("notes:write"))
	need := scopes.ForTool(tool)

	granted := []string{"notes:read"}
	fmt.Println("allowed:", need.Satisfied(granted))
	fmt.Println("missing:", need.Missing(granted))
	fmt.Println("step-up:", need.StepUp(granted))
	// Output:
	// allowed: false
	// missing: notes:write
	// step-up: [notes:read notes:write]
}
