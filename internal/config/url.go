package config

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
)

// URL says what CheckURL accepts besides its rule: an absolute URL without credentials,
// https, or http on a loopback host.
type URL struct {
	// Of completes the error about a relative URL: "give the full https:// URL<Of>".
	Of string
	// Credentials completes the error about credentials: "remove them from the
	// URL<Credentials>".
	Credentials string
	// NoQuery refuses a query and a fragment; Query completes that error, "has a query or
	// fragment: <Query>" ("" means "remove it").
	NoQuery bool
	Query   string
	// NoFragment refuses a fragment.
	NoFragment bool
}

// CheckURL parses raw and checks it against the rules of r, returning the parsed URL or
// an error that quotes it (credentials redacted) and says how to fix it.
func CheckURL(raw string, r URL) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a valid URL", raw)
	case !u.IsAbs() || u.Host == "":
		return nil, fmt.Errorf("%q is not an absolute URL: give the full https:// URL%s", u.Redacted(), r.Of)
	case u.User != nil:
		return nil, fmt.Errorf("%q contains credentials: remove them from the URL%s", u.Redacted(), r.Credentials)
	case r.NoQuery && (u.RawQuery != "" || u.ForceQuery || u.Fragment != ""):
		return nil, fmt.Errorf("%q has a query or fragment: %s", u.Redacted(), cmp.Or(r.Query, "remove it"))
	case r.NoFragment && u.Fragment != "":
		return nil, fmt.Errorf("%q has a fragment: remove it", u.Redacted())
	}
	if err := CheckScheme(u); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckScheme accepts https, and http on loopback hosts only (see IsLoopbackHost). It is
// also the rule for redirects.
func CheckScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q must use https: http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost)", u.Redacted())
	default:
		return fmt.Errorf("%q has scheme %q: use an https:// URL", u.Redacted(), u.Scheme)
	}
}
