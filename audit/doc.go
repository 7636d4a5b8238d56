// Package audit records one structured event for every request: who asked, for what
// (the HTTP method, the JSON-RPC method, the tool, prompt or resource), what was
// required and granted, what was decided and why (a typed [Reason]).
//
// A [Sink] receives [Event] values. [NewSlogSink] writes them through log/slog (the
// default), [Multi] fans out to several sinks, and [Discard] drops them. Events never
// carry a raw token: at most its "jti" or a short hash prefix ([TokenRef]).
package audit
