package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problems collects the problems a provider's Validate finds, one error each, so that
// every problem is reported at once.
type Problems struct {
	// Pkg begins every message: "github" gives "github: ...".
	Pkg  string
	errs []error
}

// Add records a problem; its message should name the field, its variable and the fix.
func (p *Problems) Add(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(p.Pkg+": "+format, args...))
}

// Err returns the problems recorded joined with errors.Join, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// NoBlank records a problem for every empty or blank entry of the list Config.<field>,
// naming variable (the variable that sets it) when it is not "".
func (p *Problems) NoBlank(field string, list []string, variable string) {
	for i, v := range list {
		if strings.TrimSpace(v) != "" {
			continue
		}
		if variable == "" {
			p.Add("Config.%s[%d] is empty: remove it", field, i)
		} else {
			p.Add("Config.%s[%d] is empty: remove it (%s)", field, i, variable)
		}
	}
}
