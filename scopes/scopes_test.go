package scopes_test

import (
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth/scopes"
)

func TestRequirementAllOf(t *testing.T) {
	r := scopes.All("notes:read", "notes:write")
	assert.True(t, r.Satisfied([]string{"notes:write", "notes:read", "x"}))
	assert.False(t, r.Satisfied([]string{"notes:read"}))
	m := r.Missing([]string{"notes:read"})
	assert.Equal(t, []string{"notes:write"}, m.AllOf)
	assert.Empty(t, m.AnyOf)
	assert.Equal(t, "notes:write", m.String())
	assert.True(t, r.Missing([]string{"notes:read", "notes:write"}).IsZero())
}

func TestRequirementAnyOf(t *testing.T) {
	r := scopes.OneOf("admin", "ops")
	assert.True(t, r.Satisfied([]string{"ops"}))
	assert.False(t, r.Satisfied([]string{"read"}))
	m := r.Missing([]string{"read"})
	assert.Equal(t, []string{"admin", "ops"}, m.AnyOf)
	assert.Equal(t, "one of admin, ops", m.String())
	// Step-up keeps granted scopes and asks for the preferred alternative only.
	assert.Equal(t, []string{"read", "admin"}, r.StepUp([]string{"read"}))
}

func TestRequirementZeroAndAnd(t *testing.T) {
	var zero scopes.Requirement
	assert.True(t, zero.Satisfied(nil))
	assert.True(t, zero.IsZero())
	assert.Equal(t, "(none)", zero.String())

	r := scopes.All("a").And(scopes.All("b", "a")).And(scopes.OneOf("c", "d"))
	assert.Equal(t, []string{"a", "b"}, r.AllOf)
	assert.Equal(t, []string{"c", "d"}, r.AnyOf)
	assert.Equal(t, "a b and one of c, d", r.String())
	// Two any-of groups: the second's preferred scope becomes mandatory.
	r2 := scopes.OneOf("c", "d").And(scopes.OneOf("e", "f"))
	assert.Equal(t, []string{"e"}, r2.AllOf)
	assert.Equal(t, []string{"c", "d"}, r2.AnyOf)
	assert.False(t, r2.Satisfied([]string{"c"}))
	assert.True(t, r2.Satisfied([]string{"d", "e"}))
}

func TestStepUpListsGrantedPlusMissing(t *testing.T) {
	r := scopes.All("notes:read", "notes:write")
	assert.Equal(t, []string{"notes:read", "notes:write"}, r.StepUp([]string{"notes:read"}))
	assert.Equal(t, []string{"x", "notes:read", "notes:write"}, r.StepUp([]string{"x"}))
	assert.Empty(t, scopes.Requirement{}.StepUp(nil))
}

func TestAllSplitsSpaceDelimited(t *testing.T) {
	assert.Equal(t, []string{"a", "b"}, scopes.All("a b", "b").AllOf)
}

func TestRoleMap(t *testing.T) {
	m := scopes.RoleMap{"editor": {"notes:read", "notes:write"}, "viewer": {"notes:read"}}
	assert.Equal(t, []string{"x", "notes:read", "notes:write"}, m.Expand([]string{"x"}, []string{"viewer", "editor", "unknown"}))
	assert.Empty(t, m.Expand(nil, nil))
}

func TestToolAnnotation(t *testing.T) {
	tool := mcp.NewTool("add_note", mcp.WithString("text"), scopes.Required("notes:write"))
	r, ok := scopes.FromMeta(tool.Meta)
	require.True(t, ok)
	assert.Equal(t, []string{"notes:write"}, r.AllOf)
	assert.Equal(t, r, scopes.ForTool(tool))

	// Visible to clients in tools/list as _meta.
	b, err := json.Marshal(tool)
	require.NoError(t, err)
	var wire struct {
		Meta map[string]any `json:"_meta"`
	}
	require.NoError(t, json.Unmarshal(b, &wire))
	assert.Equal(t, map[string]any{"allOf": []any{"notes:write"}}, wire.Meta[scopes.MetaKey])

	// A tool decoded from the wire carries the JSON form; it reads back the same.
	var decoded mcp.Tool
	require.NoError(t, json.Unmarshal(b, &decoded))
	assert.Equal(t, r, scopes.ForTool(decoded))

	// Annotating twice combines.
	tool2 := mcp.NewTool("x", scopes.Required("a"), scopes.RequiredAny("b", "c"))
	assert.Equal(t, scopes.Requirement{AllOf: []string{"a"}, AnyOf: []string{"b", "c"}}, scopes.ForTool(tool2))

	assert.True(t, scopes.ForTool(mcp.NewTool("plain")).IsZero())
}

func TestPromptAndResourceAnnotations(t *testing.T) {
	p := mcp.NewPrompt("summary", scopes.PromptRequired("notes:read"))
	assert.Equal(t, []string{"notes:read"}, scopes.ForPrompt(p).AllOf)
	res := mcp.NewResource("notes://all", "all notes", scopes.ResourceRequired("notes:read"))
	assert.Equal(t, []string{"notes:read"}, scopes.ForResource(res).AllOf)
}
