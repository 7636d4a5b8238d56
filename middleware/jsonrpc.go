package middleware

import (
	"bytes"
	"encoding/json"
)

// rpcCall is the part of a JSON-RPC message the middleware looks at.
type rpcCall struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name string `json:"name"`
	} `json:"params"`
}

// inspectBody returns the JSON-RPC calls in body: one for a single message, several for
// a batch. It returns ok=false when the body is not JSON-RPC it can read; the caller then
// lets the MCP server answer (it rejects malformed messages itself, and the in-server
// enforcement still applies).
func inspectBody(body []byte) (calls []rpcCall, ok bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false
	}
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &calls); err != nil {
			return nil, false
		}
		return calls, true
	}
	var one rpcCall
	if err := json.Unmarshal(trimmed, &one); err != nil {
		return nil, false
	}
	return []rpcCall{one}, true
}
