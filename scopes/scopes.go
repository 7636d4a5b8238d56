package scopes

import (
	"slices"
	"strings"
)

// Requirement is what an operation needs: every scope in AllOf and, when AnyOf is not
// empty, at least one scope of AnyOf. The zero Requirement needs nothing.
type Requirement struct {
	AllOf []string `json:"allOf,omitempty"`
	AnyOf []string `json:"anyOf,omitempty"`
}

// All returns a requirement for every one of the given scopes.
func All(s ...string) Requirement { return Requirement{AllOf: clean(s)} }

// OneOf returns a requirement for at least one of the given scopes. The first one is the
// preferred scope a client is asked for on step-up.
func OneOf(s ...string) Requirement { return Requirement{AnyOf: clean(s)} }

func clean(s []string) []string {
	var out []string
	for _, v := range s {
		for _, f := range strings.Fields(v) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// IsZero reports whether r needs nothing.
func (r Requirement) IsZero() bool { return len(r.AllOf) == 0 && len(r.AnyOf) == 0 }

// And returns a requirement that needs both r and o. When both have an any-of set, the
// result keeps r's any-of set and adds o's preferred (first) scope to the all-of set, so
// that the result never needs less than either side.
func (r Requirement) And(o Requirement) Requirement {
	out := Requirement{AllOf: clean(append(slices.Clone(r.AllOf), o.AllOf...))}
	switch {
	case len(r.AnyOf) == 0:
		out.AnyOf = slices.Clone(o.AnyOf)
	case len(o.AnyOf) == 0:
		out.AnyOf = slices.Clone(r.AnyOf)
	default:
		out.AnyOf = slices.Clone(r.AnyOf)
		if !slices.Contains(out.AllOf, o.AnyOf[0]) {
			out.AllOf = append(out.AllOf, o.AnyOf[0])
		}
	}
	return out
}

// Satisfied reports whether the granted scopes meet r.
func (r Requirement) Satisfied(granted []string) bool {
	for _, s := range r.AllOf {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return len(r.AnyOf) == 0 || slices.ContainsFunc(r.AnyOf, func(s string) bool { return slices.Contains(granted, s) })
}

// Missing is what a set of granted scopes lacks to meet a Requirement.
type Missing struct {
	// AllOf lists the required scopes that were not granted.
	AllOf []string
	// AnyOf lists the alternatives when none of them was granted; it is empty when the
	// any-of part is met.
	AnyOf []string
}

// IsZero reports whether nothing is missing.
func (m Missing) IsZero() bool { return len(m.AllOf) == 0 && len(m.AnyOf) == 0 }

// String describes what is missing, for error messages: "notes:write" or
// "notes:write and one of a, b".
func (m Missing) String() string {
	var parts []string
	if len(m.AllOf) > 0 {
		parts = append(parts, strings.Join(m.AllOf, " "))
	}
	if len(m.AnyOf) > 0 {
		parts = append(parts, "one of "+strings.Join(m.AnyOf, ", "))
	}
	return strings.Join(parts, " and ")
}

// Missing returns exactly what granted lacks to meet r.
func (r Requirement) Missing(granted []string) Missing {
	var m Missing
	for _, s := range r.AllOf {
		if !slices.Contains(granted, s) {
			m.AllOf = append(m.AllOf, s)
		}
	}
	if len(r.AnyOf) > 0 && !slices.ContainsFunc(r.AnyOf, func(s string) bool { return slices.Contains(granted, s) }) {
		m.AnyOf = slices.Clone(r.AnyOf)
	}
	return m
}

// Scopes lists every scope r mentions, all-of first.
func (r Requirement) Scopes() []string {
	return clean(append(slices.Clone(r.AllOf), r.AnyOf...))
}

// StepUp returns the scopes a client should request to be allowed: the scopes it already
// holds, then every missing all-of scope, then the preferred (first) any-of scope when none
// of the any-of set is held. Keeping the granted scopes avoids a re-authorization that
// loses what the client had (MCP step-up authorization).
func (r Requirement) StepUp(granted []string) []string {
	out := clean(granted)
	m := r.Missing(granted)
	out = append(out, m.AllOf...)
	if len(m.AnyOf) > 0 {
		out = append(out, m.AnyOf[0])
	}
	return out
}

// String renders r for logs and errors.
func (r Requirement) String() string {
	if r.IsZero() {
		return "(none)"
	}
	return Missing(r).String()
}

// RoleMap maps role names to the scopes each role grants.
type RoleMap map[string][]string

// Expand returns scopes plus every scope granted by roles, without duplicates, in a
// stable order (scopes first, then roles in the order given).
func (m RoleMap) Expand(scopes, roles []string) []string {
	out := clean(scopes)
	for _, role := range roles {
		for _, s := range m[role] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
