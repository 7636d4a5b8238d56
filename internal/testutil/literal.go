package testutil

import (
	"reflect"
	"strings"
	"testing"
)

// EnvCase is one case of LiteralMatchesEnv: variables to set (without the prefix), the
// Config they must read as, and what Validate must report (none: valid).
type EnvCase[C interface{ Validate() error }] struct {
	Name string
	Env  map[string]string
	Lit  C
	Want []string
}

// LiteralMatchesEnv checks, for each case, that load (a provider's ConfigFromEnv("APP"))
// reads the variables APP_ + prefix + name into exactly the literal Config (so both
// validate alike), and that it validates as the case says: valid, or with mistakes
// containing every Want.
func LiteralMatchesEnv[C interface{ Validate() error }](t *testing.T, prefix string, load func() (C, error), cases []EnvCase[C]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			for k, v := range tc.Env {
				t.Setenv("APP_"+prefix+k, v)
			}
			c, err := load()
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if !reflect.DeepEqual(tc.Lit, c) {
				t.Fatalf("ConfigFromEnv read\n%+v\nwant the literal\n%+v", c, tc.Lit)
			}
			eerr := c.Validate()
			if len(tc.Want) == 0 && eerr != nil {
				t.Fatalf("Validate: %v, want valid", eerr)
			}
			for _, w := range tc.Want {
				if eerr == nil || !strings.Contains(eerr.Error(), w) {
					t.Errorf("Validate: %v, want it to contain %q", eerr, w)
				}
			}
		})
	}
}
