package scopes

import (
	"slices"
	"strings"
)

// Requirement is what an operation needs: every scope in AllOf and, for each any-of
// group, at least one scope of that group. AnyOf is the first any-of group and AlsoAnyOf
// holds the further ones, so a requirement is a conjunction of disjunctions:
//
//	AllOf{a, b} + AnyOf{c, d} + AlsoAnyOf{{e, f}}  means  a AND b AND (c OR d) AND (e OR f)
//
// Empty groups need nothing. The zero Requirement needs nothing. The first scope of each
// group is its preferred scope, the one a client is asked for on step-up.
//
// A requirement serializes as {"allOf": [...], "anyOf": [...]}, plus
// "alsoAnyOf": [[...], ...] only when there is more than one any-of group.
type Requirement struct {
	AllOf []string `json:"allOf,omitempty"`
	AnyOf []string `json:"anyOf,omitempty"`
	// AlsoAnyOf lists further any-of groups, each of which must be met as well (at least
	// one scope of every group). Requirement.And fills it when it joins two requirements
	// that both have an any-of group.
	AlsoAnyOf [][]string `json:"alsoAnyOf,omitempty"`
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

// groups returns the non-empty any-of groups of r, AnyOf first.
func (r Requirement) groups() [][]string {
	var out [][]string
	if len(r.AnyOf) > 0 {
		out = append(out, r.AnyOf)
	}
	for _, g := range r.AlsoAnyOf {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// withGroups returns r's all-of set with the given any-of groups: the first becomes
// AnyOf, the others AlsoAnyOf.
func withGroups(allOf []string, groups [][]string) Requirement {
	r := Requirement{AllOf: allOf}
	if len(groups) > 0 {
		r.AnyOf = groups[0]
	}
	if len(groups) > 1 {
		r.AlsoAnyOf = groups[1:]
	}
	return r
}

// IsZero reports whether r needs nothing.
func (r Requirement) IsZero() bool { return len(r.AllOf) == 0 && len(r.groups()) == 0 }

// And returns a requirement that needs both r and o, exactly: the union of the all-of
// sets, and every any-of group of either side (a group that an all-of scope already
// meets, or that contains another group, is implied and left out; so are duplicates).
func (r Requirement) And(o Requirement) Requirement {
	allOf := clean(append(slices.Clone(r.AllOf), o.AllOf...))
	var cand [][]string
	for _, g := range append(r.groups(), o.groups()...) {
		if met(g, allOf) {
			continue // implied by the all-of set
		}
		cand = append(cand, slices.Clone(g))
	}
	var groups [][]string
	for i, g := range cand {
		implied := false
		for j, h := range cand {
			// g is implied by a group h it contains: strictly, or equal and earlier.
			if i != j && subset(h, g) && (len(h) < len(g) || j < i) {
				implied = true
				break
			}
		}
		if !implied {
			groups = append(groups, g)
		}
	}
	return withGroups(allOf, groups)
}

// subset reports whether every scope of a is in b.
func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// met reports whether granted holds at least one scope of g.
func met(g, granted []string) bool {
	return slices.ContainsFunc(g, func(s string) bool { return slices.Contains(granted, s) })
}

// Satisfied reports whether the granted scopes meet r.
func (r Requirement) Satisfied(granted []string) bool {
	for _, s := range r.AllOf {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	for _, g := range r.groups() {
		if !met(g, granted) {
			return false
		}
	}
	return true
}

// Missing is what a set of granted scopes lacks to meet a Requirement.
type Missing struct {
	// AllOf lists the required scopes that were not granted.
	AllOf []string
	// AnyOf lists the alternatives of the first any-of group none of whose scopes was
	// granted; it is empty when every any-of group is met.
	AnyOf []string
	// AlsoAnyOf lists the alternatives of every further unmet any-of group.
	AlsoAnyOf [][]string
}

// IsZero reports whether nothing is missing.
func (m Missing) IsZero() bool { return Requirement(m).IsZero() }

// String describes what is missing, for error messages: "notes:write",
// "notes:write and one of a, b" or "one of a, b and one of c, d".
func (m Missing) String() string {
	var parts []string
	if len(m.AllOf) > 0 {
		parts = append(parts, strings.Join(m.AllOf, " "))
	}
	for _, g := range Requirement(m).groups() {
		parts = append(parts, "one of "+strings.Join(g, ", "))
	}
	return strings.Join(parts, " and ")
}

// Missing returns exactly what granted lacks to meet r: the all-of scopes not granted
// and every any-of group none of whose scopes was granted.
func (r Requirement) Missing(granted []string) Missing {
	var allOf []string
	for _, s := range r.AllOf {
		if !slices.Contains(granted, s) {
			allOf = append(allOf, s)
		}
	}
	var unmet [][]string
	for _, g := range r.groups() {
		if !met(g, granted) {
			unmet = append(unmet, slices.Clone(g))
		}
	}
	return Missing(withGroups(allOf, unmet))
}

// Scopes lists every scope r mentions, all-of first, then each any-of group in order.
func (r Requirement) Scopes() []string {
	out := slices.Clone(r.AllOf)
	for _, g := range r.groups() {
		out = append(out, g...)
	}
	return clean(out)
}

// StepUp returns the scopes a client should request to be allowed: the scopes it already
// holds, then every missing all-of scope, then, for each any-of group none of whose
// scopes is held, its preferred (first) scope, unless a scope already in the list meets
// that group. Keeping the granted scopes avoids a re-authorization that loses what the
// client had (MCP step-up authorization).
func (r Requirement) StepUp(granted []string) []string {
	out := clean(granted)
	m := r.Missing(granted)
	out = append(out, m.AllOf...)
	for _, g := range Requirement(m).groups() {
		if !met(g, out) {
			out = append(out, g[0])
		}
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
