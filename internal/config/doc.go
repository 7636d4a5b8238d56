// Package config holds the configuration plumbing shared by the provider packages
// (providers/bearer, github, google, introspect and workos): the reading of their
// environment variables, and the loopback rule of their URLs (IsLoopbackHost). Their
// Config types have no printing code of their own: their secrets are mcpauth.Secret
// values, which redact themselves in fmt, log/slog and encoding/json.
//
// An Env reads the variables PREFIX_NAME (or PREFIX_GROUP_NAME) of one provider. Its
// readers trim white space, split lists, parse booleans, durations and
// "key=scope scope; key2=scope" grants, and read secrets, as an mcpauth.Secret, from NAME
// or from the file named by NAME_FILE. They collect one error per malformed variable,
// each naming the variable and the fix; Env.Err returns them joined. Load fills a whole
// Config from its fields' `env:"NAME"` tags with these readers, so that a provider's
// ConfigFromEnv is one call and its Config holds nothing but its fields.
//
// Problems collects the problems a Config's Validate finds, so that all are reported at
// once; CheckURL and CheckScheme are the providers' rule for URLs: absolute, without
// credentials, https, or http on loopback hosts.
package config
