// Package config holds the configuration plumbing shared by the provider packages
// (providers/bearer, github, google, introspect and workos): the redacted printing of
// their Config types and the reading of their environment variables.
//
// # Printing
//
// A provider lists the fields of its Config that are set, secrets redacted, as Fields:
//
//	func (c Config) fields() config.Fields {
//		var f config.Fields
//		f.URL("JWKSURI", c.JWKSURI)
//		f.Secret("ClientSecret", c.ClientSecret != "")
//		f.List("Scopes", c.Scopes)
//		return f
//	}
//
// and its String, GoString, Format, LogValue and MarshalJSON methods render that list
// with Fields.Render, Format, Fields.LogValue and Fields.MarshalJSON, so that fmt,
// log/slog and encoding/json never see a secret.
//
// # Environment
//
// An Env reads the variables PREFIX_NAME (or PREFIX_GROUP_NAME) of one provider. Its
// readers trim white space, split lists, parse booleans, durations and
// "key=scope scope; key2=scope" grants, and read secrets from NAME or from the file named
// by NAME_FILE. They collect one error per malformed variable, each naming the variable
// and the fix; Env.Err returns them joined.
package config
