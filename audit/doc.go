// Package audit records one structured event for every authentication and authorization
// decision: who asked, for what, what was required and granted, and what was decided.
//
// A [Sink] receives [Event] values. [NewSlogSink] writes them through log/slog (the
// default), [Multi] fans out to several sinks, and [Discard] drops them. Events never
// carry a raw token: at most its "jti" or a short hash prefix ([TokenRef]).
package audit
