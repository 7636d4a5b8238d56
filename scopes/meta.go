package scopes

import (
	"github.com/mark3labs/mcp-go/mcp"
)

// MetaKey is the _meta key under which a tool's, prompt's or resource's requirement is
// stored. Its value serializes as {"allOf": [...], "anyOf": [...]}, with
// "alsoAnyOf": [[...], ...] added when the requirement has more than one any-of group
// (see Requirement).
const MetaKey = "mcpauth/scopes"

// Required annotates a tool with scopes that must all be granted to call it.
func Required(s ...string) mcp.ToolOption { return RequiredBy(All(s...)) }

// RequiredAny annotates a tool with scopes of which at least one must be granted.
func RequiredAny(s ...string) mcp.ToolOption { return RequiredBy(OneOf(s...)) }

// RequiredBy annotates a tool with a requirement. Annotating twice combines both with
// Requirement.And.
func RequiredBy(r Requirement) mcp.ToolOption {
	return func(t *mcp.Tool) { t.Meta = annotate(t.Meta, r) }
}

// PromptRequired annotates a prompt with scopes that must all be granted to get it.
func PromptRequired(s ...string) mcp.PromptOption {
	r := All(s...)
	return func(p *mcp.Prompt) { p.Meta = annotate(p.Meta, r) }
}

// ResourceRequired annotates a resource with scopes that must all be granted to read it.
func ResourceRequired(s ...string) mcp.ResourceOption {
	r := All(s...)
	return func(res *mcp.Resource) { res.Meta = annotate(res.Meta, r) }
}

// ResourceTemplateRequired annotates a resource template with scopes that must all be
// granted to read a resource through it (or to complete its arguments).
func ResourceTemplateRequired(s ...string) mcp.ResourceTemplateOption {
	r := All(s...)
	return func(t *mcp.ResourceTemplate) { t.Meta = annotate(t.Meta, r) }
}

func annotate(meta *mcp.Meta, r Requirement) *mcp.Meta {
	if meta == nil {
		meta = &mcp.Meta{}
	}
	if meta.AdditionalFields == nil {
		meta.AdditionalFields = map[string]any{}
	}
	if prev, ok := FromMeta(meta); ok {
		r = prev.And(r)
	}
	meta.AdditionalFields[MetaKey] = r
	return meta
}

// FromMeta reads a requirement stored under MetaKey. It understands both the typed value
// the annotations store and the JSON form ({"allOf": [...], "anyOf": [...]}, plus
// "alsoAnyOf": [[...], ...] for further any-of groups) a tool decoded from the wire
// carries. ok is false when there is no annotation.
func FromMeta(meta *mcp.Meta) (r Requirement, ok bool) {
	if meta == nil || meta.AdditionalFields == nil {
		return Requirement{}, false
	}
	switch v := meta.AdditionalFields[MetaKey].(type) {
	case Requirement:
		return v, true
	case *Requirement:
		if v != nil {
			return *v, true
		}
	case map[string]any:
		return Requirement{AllOf: stringList(v["allOf"]), AnyOf: stringList(v["anyOf"]), AlsoAnyOf: groupList(v["alsoAnyOf"])}, true
	case []string:
		return All(v...), true
	case []any:
		return All(stringList(v)...), true
	}
	return Requirement{}, false
}

func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return clean(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return clean(out)
	case string:
		return clean([]string{v})
	}
	return nil
}

// groupList reads a list of any-of groups (each a list of scopes); empty groups are
// left out.
func groupList(v any) [][]string {
	var out [][]string
	add := func(g []string) {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	switch v := v.(type) {
	case [][]string:
		for _, g := range v {
			add(clean(g))
		}
	case []any:
		for _, g := range v {
			add(stringList(g))
		}
	}
	return out
}

// ForTool returns the requirement annotated on t (the zero Requirement when none).
func ForTool(t mcp.Tool) Requirement { r, _ := FromMeta(t.Meta); return r }

// ForPrompt returns the requirement annotated on p (the zero Requirement when none).
func ForPrompt(p mcp.Prompt) Requirement { r, _ := FromMeta(p.Meta); return r }

// ForResource returns the requirement annotated on res (the zero Requirement when none).
func ForResource(res mcp.Resource) Requirement { r, _ := FromMeta(res.Meta); return r }

// ForResourceTemplate returns the requirement annotated on t (the zero Requirement when
// none).
func ForResourceTemplate(t mcp.ResourceTemplate) Requirement { r, _ := FromMeta(t.Meta); return r }
