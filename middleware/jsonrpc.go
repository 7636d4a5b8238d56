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
//
// A single message of the ordinary shape is read by a small scanner; anything else
// (batches, escapes or non-ASCII in the strings it needs, unexpected types) goes through
// encoding/json, which is what the MCP server decodes with. The scanner yields what
// encoding/json would: keys match case-insensitively and the last duplicate wins.
func inspectBody(body []byte) (calls []rpcCall, ok bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false
	}
	if trimmed[0] == '{' {
		if c, fast := scanCall(trimmed); fast {
			return []rpcCall{c}, true
		}
	}
	return decodeBody(trimmed)
}

// decodeBody is the encoding/json reading of inspectBody.
func decodeBody(trimmed []byte) (calls []rpcCall, ok bool) {
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

// jscan is a minimal JSON scanner over one buffer.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// str reads a string at s.i. simple is false when the string has an escape or a byte
// outside printable ASCII; the caller then leaves the decision to encoding/json.
func (s *jscan) str() (val []byte, simple, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	simple = true
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], simple, true
		case c == '\\':
			simple = false
			j++
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			simple = false
		}
	}
	return nil, false, false
}

// skip skips one value of any type; ok is false on anything it cannot skip surely.
func (s *jscan) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == end {
			s.i++
			return true
		}
		for {
			if c == '{' {
				s.ws()
				if _, _, ok := s.str(); !ok {
					return false
				}
				s.ws()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return false
				}
				s.i++
			}
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case end:
				s.i++
				return true
			default:
				return false
			}
		}
	default:
		// A number or a literal: a run of the bytes they are made of.
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E' {
				s.i++
				continue
			}
			break
		}
		return s.i > start
	}
}

// members walks the object at s.i, calling fn with each key and the scanner positioned
// at its value; fn must consume the value. It returns false on anything unusual.
func (s *jscan) members(fn func(key []byte) bool) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		key, simple, ok := s.str()
		if !ok || !simple {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if !fn(key) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// stringOrNull reads a simple string (or null, which leaves *dst as it is, like
// encoding/json).
func (s *jscan) stringOrNull(dst *string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	v, simple, ok := s.str()
	if !ok || !simple {
		return false
	}
	*dst = string(v)
	return true
}

// scanCall reads a single JSON-RPC message of the ordinary shape. fast is false when it
// cannot be sure to read it as encoding/json would.
func scanCall(b []byte) (c rpcCall, fast bool) {
	s := jscan{b: b}
	ok := s.members(func(key []byte) bool {
		switch {
		case bytes.EqualFold(key, []byte("method")):
			return s.stringOrNull(&c.Method)
		case bytes.EqualFold(key, []byte("id")):
			start := s.i
			if !s.skip(0) {
				return false
			}
			c.ID = json.RawMessage(b[start:s.i])
			return true
		case bytes.EqualFold(key, []byte("params")):
			if bytes.HasPrefix(b[s.i:], []byte("null")) {
				s.i += 4
				return true
			}
			return s.members(func(key []byte) bool {
				if bytes.EqualFold(key, []byte("name")) {
					return s.stringOrNull(&c.Params.Name)
				}
				return s.skip(0)
			})
		}
		return s.skip(0)
	})
	if !ok {
		return rpcCall{}, false
	}
	s.ws()
	return c, s.i == len(b)
}
