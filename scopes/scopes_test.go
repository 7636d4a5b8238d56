package scopes_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpauth/mcpauth"
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
	// Two any-of groups are both kept (see TestAndKeepsEveryAnyOfGroup).
	r2 := scopes.OneOf("c", "d").And(scopes.OneOf("e", "f"))
	assert.Empty(t, r2.AllOf)
	assert.Equal(t, []string{"c", "d"}, r2.AnyOf)
	assert.Equal(t, [][]string{{"e", "f"}}, r2.AlsoAnyOf)
	assert.False(t, r2.Satisfied([]string{"c"}))
	assert.True(t, r2.Satisfied([]string{"d", "e"}))
}

func TestAndKeepsEveryAnyOfGroup(t *testing.T) {
	// (a or b) AND (c or d).
	r := scopes.OneOf("a", "b").And(scopes.OneOf("c", "d"))
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}}}, r)
	assert.False(t, r.IsZero())
	assert.True(t, r.Satisfied([]string{"a", "d"}), "a meets the first group and d the second")
	assert.True(t, r.Satisfied([]string{"b", "c"}))
	assert.False(t, r.Satisfied([]string{"a"}))
	assert.False(t, r.Satisfied([]string{"c", "d"}))
	assert.False(t, r.Satisfied(nil))

	assert.Equal(t, scopes.Missing{AnyOf: []string{"c", "d"}}, r.Missing([]string{"a"}))
	assert.Equal(t, scopes.Missing{AnyOf: []string{"a", "b"}}, r.Missing([]string{"d"}))
	assert.Equal(t, scopes.Missing{AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}}}, r.Missing([]string{"x"}))
	assert.Equal(t, "one of a, b and one of c, d", r.Missing([]string{"x"}).String())
	assert.True(t, r.Missing([]string{"b", "d"}).IsZero())
	assert.False(t, r.Missing([]string{"b"}).IsZero())

	assert.Equal(t, []string{"a", "b", "c", "d"}, r.Scopes())
	assert.Equal(t, "one of a, b and one of c, d", r.String())
	// One preferred scope per unmet group; granted scopes are kept.
	assert.Equal(t, []string{"x", "a", "c"}, r.StepUp([]string{"x"}))
	assert.Equal(t, []string{"d", "a"}, r.StepUp([]string{"d"}))
	assert.Empty(t, scopes.Requirement{}.StepUp(nil))

	// With an all-of part and a third group.
	r3 := scopes.All("n").And(r).And(scopes.OneOf("e", "f"))
	assert.Equal(t, scopes.Requirement{AllOf: []string{"n"}, AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}, {"e", "f"}}}, r3)
	assert.True(t, r3.Satisfied([]string{"f", "n", "b", "c"}))
	assert.False(t, r3.Satisfied([]string{"n", "b", "c"}))
	assert.Equal(t, "n and one of e, f", r3.Missing([]string{"b", "c"}).String())
	assert.Equal(t, []string{"b", "c", "n", "e"}, r3.StepUp([]string{"b", "c"}))
	assert.Equal(t, "n and one of a, b and one of c, d and one of e, f", r3.String())
}

func TestAndLeavesOutImpliedGroups(t *testing.T) {
	// A group an all-of scope meets needs nothing more.
	assert.Equal(t, scopes.Requirement{AllOf: []string{"a"}}, scopes.All("a").And(scopes.OneOf("b", "a")))
	assert.Equal(t, scopes.Requirement{AllOf: []string{"a"}}, scopes.OneOf("b", "a").And(scopes.All("a")))
	// Duplicate groups (in any order) count once.
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}}, scopes.OneOf("a", "b").And(scopes.OneOf("b", "a")))
	// A group that contains another one is implied by it.
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}}, scopes.OneOf("a", "b", "c").And(scopes.OneOf("a", "b")))
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}}, scopes.OneOf("a", "b").And(scopes.OneOf("c", "b", "a")))
	// Overlapping groups are both kept; step-up asks for a scope that meets both once.
	r := scopes.OneOf("a", "b").And(scopes.OneOf("c", "a"))
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "a"}}}, r)
	assert.Equal(t, []string{"a"}, r.StepUp(nil))
	assert.True(t, r.Satisfied([]string{"a"}))
	assert.False(t, r.Satisfied([]string{"b"}))
	// Empty groups need nothing.
	assert.True(t, scopes.Requirement{AlsoAnyOf: [][]string{{}, nil}}.IsZero())
	assert.True(t, scopes.OneOf().And(scopes.OneOf()).IsZero())
	// A literal with only further groups behaves like one with AnyOf.
	lit := scopes.Requirement{AlsoAnyOf: [][]string{{"a", "b"}}}
	assert.False(t, lit.Satisfied(nil))
	assert.True(t, lit.Satisfied([]string{"b"}))
	assert.Equal(t, []string{"a"}, lit.StepUp(nil))
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
	// One any-of group keeps the plain JSON form.
	assert.Equal(t, map[string]any{"allOf": []any{"a"}, "anyOf": []any{"b", "c"}}, wireMeta(t, tool2))

	assert.True(t, scopes.ForTool(mcp.NewTool("plain")).IsZero())
}

func TestToolAnnotationWithTwoAnyOfGroups(t *testing.T) {
	tool := mcp.NewTool("x", scopes.RequiredAny("a", "b"), scopes.RequiredAny("c", "d"))
	want := scopes.Requirement{AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}}}
	assert.Equal(t, want, scopes.ForTool(tool))
	assert.True(t, scopes.ForTool(tool).Satisfied([]string{"a", "d"}))

	// The further groups go to "alsoAnyOf" and read back the same from the wire.
	assert.Equal(t, map[string]any{"anyOf": []any{"a", "b"}, "alsoAnyOf": []any{[]any{"c", "d"}}}, wireMeta(t, tool))
	b, err := json.Marshal(tool)
	require.NoError(t, err)
	var decoded mcp.Tool
	require.NoError(t, json.Unmarshal(b, &decoded))
	assert.Equal(t, want, scopes.ForTool(decoded))
	assert.True(t, scopes.ForTool(decoded).Satisfied([]string{"a", "d"}))
	assert.False(t, scopes.ForTool(decoded).Satisfied([]string{"a", "b"}))

	// A third annotation adds a group; one already implied adds nothing.
	tool3 := mcp.NewTool("y", scopes.RequiredAny("a", "b"), scopes.RequiredAny("c", "d"), scopes.RequiredAny("e"), scopes.RequiredAny("b", "a"))
	assert.Equal(t, scopes.Requirement{AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}, {"e"}}}, scopes.ForTool(tool3))

	// The JSON form of another writer: strings and a space-delimited group.
	meta := &mcp.Meta{AdditionalFields: map[string]any{scopes.MetaKey: map[string]any{
		"allOf": []any{"n"}, "anyOf": []any{"a", "b"}, "alsoAnyOf": []any{"c d", []any{}, []any{"e", "f"}},
	}}}
	r, ok := scopes.FromMeta(meta)
	require.True(t, ok)
	assert.Equal(t, scopes.Requirement{AllOf: []string{"n"}, AnyOf: []string{"a", "b"}, AlsoAnyOf: [][]string{{"c", "d"}, {"e", "f"}}}, r)
	meta.AdditionalFields[scopes.MetaKey] = map[string]any{"alsoAnyOf": [][]string{{"c", "d"}}}
	r, ok = scopes.FromMeta(meta)
	require.True(t, ok)
	assert.Equal(t, scopes.Requirement{AlsoAnyOf: [][]string{{"c", "d"}}}, r)
	assert.False(t, r.Satisfied([]string{"a"}))
}

// wireMeta returns the requirement a tool carries in _meta once serialized.
func wireMeta(t *testing.T, tool mcp.Tool) any {
	t.Helper()
	b, err := json.Marshal(tool)
	require.NoError(t, err)
	var wire struct {
		Meta map[string]any `json:"_meta"`
	}
	require.NoError(t, json.Unmarshal(b, &wire))
	return wire.Meta[scopes.MetaKey]
}

func TestPromptAndResourceAnnotations(t *testing.T) {
	p := mcp.NewPrompt("summary", scopes.PromptRequired("notes:read"))
	assert.Equal(t, []string{"notes:read"}, scopes.ForPrompt(p).AllOf)
	res := mcp.NewResource("notes://all", "all notes", scopes.ResourceRequired("notes:read"))
	assert.Equal(t, []string{"notes:read"}, scopes.ForResource(res).AllOf)
}

func TestHierarchy(t *testing.T) {
	h := scopes.Hierarchy{"notes:admin": {"notes:write"}, "notes:write": {"notes:read"}}
	require.NoError(t, h.Validate())
	assert.Equal(t, []string{"notes:admin", "notes:write", "notes:read"}, h.Expand([]string{"notes:admin"}))
	assert.Equal(t, []string{"notes:read", "notes:write"}, h.Expand([]string{"notes:read", "notes:write"}), "nothing added: same slice")
	// None implied by default.
	assert.False(t, scopes.All("notes:read").Satisfied(scopes.Hierarchy(nil).Expand([]string{"notes:write"})))
	assert.True(t, scopes.All("notes:read").Satisfied(h.Expand([]string{"notes:write"})))
	// A cycle terminates.
	assert.Equal(t, []string{"a", "b"}, scopes.Hierarchy{"a": {"b"}, "b": {"a"}}.Expand([]string{"a"}))
	require.ErrorContains(t, scopes.Hierarchy{"a": {""}}.Validate(), "empty scope")

	orig := &mcpauth.AccessToken{Subject: "s", Scopes: []string{"notes:write"}}
	v := h.Verifier(mcpauth.TokenVerifierFunc(func(context.Context, string) (*mcpauth.AccessToken, error) { return orig, nil }))
	tok, err := v.VerifyToken(context.Background(), "t")
	require.NoError(t, err)
	assert.Equal(t, []string{"notes:write", "notes:read"}, tok.Scopes)
	assert.Equal(t, []string{"notes:write"}, orig.Scopes, "the verified token is not modified")
}
