package bearer

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// This file decodes the JSON of token headers and payloads. encoding/json would first
// scan the whole input for validity and then decode it through reflection, which costs
// more than everything else a verification does except the signature check. This decoder
// is specialised for JWT payloads and produces what json.Unmarshal into a map[string]any
// produces (objects as map[string]any, arrays as []any, numbers as float64, invalid UTF-8
// replaced by U+FFFD), except that duplicate top-level members are refused (RFC 7515
// §5.2 and RFC 7519 §7.2 allow either). Rare forms (strings with escapes or non-ASCII
// bytes) are handed to encoding/json itself, and a fuzz test compares both decoders.

var (
	errNotObject = errors.New("not a JSON object")
	errJSON      = errors.New("invalid JSON")
	errDuplicate = errors.New("duplicate member")
)

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

// decodeMembers calls fn for each member of the JSON object data, in order. It fails on
// anything but one object (trailing data included) and when fn fails.
func decodeMembers(data []byte, fn func(name string, v any) error) error {
	d := jsonDecoder{data: data}
	d.skipSpace()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return errNotObject
	}
	if err := d.members(fn); err != nil {
		return err
	}
	d.skipSpace()
	if d.i != len(d.data) {
		return errJSON
	}
	return nil
}

// decodeClaims decodes a payload into a map, refusing duplicate claims.
func decodeClaims(data []byte) (map[string]any, error) {
	// A claim takes 20 to 30 bytes of JSON: sizing the map up front avoids growing it.
	m := make(map[string]any, min(len(data)/20, 64))
	err := decodeMembers(data, func(name string, v any) error {
		n := len(m)
		m[name] = v
		if len(m) == n {
			return errDuplicate
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

type jsonDecoder struct {
	data  []byte
	i     int
	depth int
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (any, error) {
	d.skipSpace()
	if d.i >= len(d.data) {
		return nil, errJSON
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		return s, err
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, errJSON
}

func (d *jsonDecoder) literal(lit string) error {
	if len(d.data)-d.i < len(lit) || string(d.data[d.i:d.i+len(lit)]) != lit {
		return errJSON
	}
	d.i += len(lit)
	return nil
}

func (d *jsonDecoder) object() (map[string]any, error) {
	m := make(map[string]any)
	err := d.members(func(name string, v any) error {
		m[name] = v // the last duplicate wins, as with encoding/json
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// members decodes an object starting at its '{', calling fn for each member.
func (d *jsonDecoder) members(fn func(name string, v any) error) error {
	d.depth++
	if d.depth > maxJSONDepth {
		return errJSON
	}
	d.i++ // '{'
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return errJSON
		}
		k, err := d.str()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return errJSON
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
		d.skipSpace()
		if d.i >= len(d.data) {
			return errJSON
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return nil
		default:
			return errJSON
		}
	}
}

func (d *jsonDecoder) array() ([]any, error) {
	d.depth++
	if d.depth > maxJSONDepth {
		return nil, errJSON
	}
	d.i++ // '['
	a := []any{}
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, errJSON
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return a, nil
		default:
			return nil, errJSON
		}
	}
}

// str decodes a string starting at its opening quote. Plain ASCII strings are copied
// directly; strings with escapes or other bytes are decoded by encoding/json so that
// their meaning is exactly encoding/json's. Common names and values are interned.
func (d *jsonDecoder) str() (string, error) {
	start := d.i + 1
	plain := true
	j := start
	for ; j < len(d.data); j++ {
		c := d.data[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", errJSON
		}
		if c == '\\' {
			plain = false
			j++ // skip the escaped byte; it is never a closing quote
			continue
		}
		if c >= utf8.RuneSelf {
			plain = false
		}
	}
	if j >= len(d.data) {
		return "", errJSON
	}
	raw := d.data[start:j]
	d.i = j + 1
	if plain {
		if k, ok := intern(raw); ok {
			return k, nil
		}
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(d.data[start-1:j+1], &s); err != nil {
		return "", errJSON
	}
	return s, nil
}

// intern returns a constant for common claim and header names and values, saving an
// allocation.
func intern(b []byte) (string, bool) {
	switch string(b) {
	case "iss":
		return "iss", true
	case "sub":
		return "sub", true
	case "aud":
		return "aud", true
	case "exp":
		return "exp", true
	case "nbf":
		return "nbf", true
	case "iat":
		return "iat", true
	case "jti":
		return "jti", true
	case "scope":
		return "scope", true
	case "scp":
		return "scp", true
	case "client_id":
		return "client_id", true
	case "azp":
		return "azp", true
	case "tenant_id":
		return "tenant_id", true
	case "roles":
		return "roles", true
	case "alg":
		return "alg", true
	case "kid":
		return "kid", true
	case "typ":
		return "typ", true
	case "JWT":
		return "JWT", true
	case "at+jwt":
		return "at+jwt", true
	case "RS256":
		return "RS256", true
	case "ES256":
		return "ES256", true
	case "PS256":
		return "PS256", true
	case "EdDSA":
		return "EdDSA", true
	}
	return "", false
}

// number decodes a JSON number as a float64, like encoding/json into an interface.
func (d *jsonDecoder) number() (any, error) {
	start := d.i
	j := start
	if j < len(d.data) && d.data[j] == '-' {
		j++
	}
	digitsStart := j
	for j < len(d.data) && d.data[j] >= '0' && d.data[j] <= '9' {
		j++
	}
	intEnd := j
	for j < len(d.data) {
		c := d.data[j]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			j++
			continue
		}
		break
	}
	d.i = j
	lit := d.data[start:j]
	n := intEnd - digitsStart
	// Fast path: an integer of at most 15 digits is exact in a float64. JSON forbids
	// leading zeros, which the syntax check before UnmarshalJSON has refused.
	neg := digitsStart > start
	if j == intEnd && n > 0 && n <= 15 && (n == 1 || d.data[digitsStart] != '0') && !(neg && d.data[digitsStart] == '0') {
		var v int64
		for _, c := range d.data[digitsStart:intEnd] {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return float64(v), nil
	}
	if !validNumber(lit) {
		return nil, errJSON
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return nil, errJSON // out of range, as for encoding/json
	}
	return f, nil
}

// validNumber reports whether b is a JSON number (RFC 8259 §6).
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}
