package bearer

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// decodeValue decodes one JSON value with the package decoder, like json.Unmarshal
// into an `any`.
func decodeValue(data []byte) (any, error) {
	d := jsonDecoder{data: data}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i != len(d.data) {
		return nil, errJSON
	}
	return v, nil
}

var jsonSamples = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `123456789012345`, `1234567890123456789`,
	`1.5`, `-1.5e10`, `1E+2`, `1e-2`, `0.1`, `1e400`, `-1e400`, `01`, `-`, `1.`, `.5`, `1e`, `+1`, `--1`, `0x10`,
	`""`, `"a"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\"\\\/\b\f\n\r\t"`, `"é"`, "\"\xff\"", "\"a\x01\"",
	`"unterminated`, `"\x"`, `"\u12"`, `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":null}]}}`, `[1,2,]`, `{"a":1,}`,
	`{"a" 1}`, `{a:1}`, `[1 2]`, ` { "a" : [ true , false , null ] } `, `{"a":1}x`, `tru`, `nul`, `[`, `{`,
	`{"sub":"alice","aud":["x","y"],"exp":1700000000,"scope":"a b","n":1.25}`, "{\"\xc3\x28\":1}",
	`{"k\u0000":1}`, `[[[[[[]]]]]]`, `{"a":"b"} `, "\t\n[1]\r\n", `"\u0000"`, `1.0e+10`, `-0.0`,
}

func TestJSONDecoderMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		compareDecoders(t, []byte(s))
	}
	// Deep nesting is refused like encoding/json does.
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	_, err := decodeValue([]byte(deep))
	require.Error(t, err)
}

func compareDecoders(t *testing.T, data []byte) {
	t.Helper()
	var want any
	wantErr := json.Unmarshal(data, &want)
	got, gotErr := decodeValue(data)
	if wantErr != nil {
		require.Errorf(t, gotErr, "input %q: encoding/json refused it (%v), the decoder accepted %#v", data, wantErr, got)
		return
	}
	require.NoErrorf(t, gotErr, "input %q: encoding/json accepted %#v", data, want)
	require.Truef(t, reflect.DeepEqual(want, got), "input %q: want %#v, got %#v", data, want, got)
}

func FuzzJSONDecoder(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareDecoders(t, data)
	})
}

func TestDecodeClaims(t *testing.T) {
	m, err := decodeClaims([]byte(`{"sub":"a","aud":["x"],"exp":17,"nested":{"k":1,"k":2}}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sub": "a", "aud": []any{"x"}, "exp": 17.0, "nested": map[string]any{"k": 2.0}}, m)

	for in, want := range map[string]error{
		`{"sub":"a","sub":"b"}`:      errDuplicate,
		`{"s\u0075b":"a","sub":"b"}`: errDuplicate,
		`null`:                       errNotObject,
		`[1]`:                        errNotObject,
		`"x"`:                        errNotObject,
		``:                           errNotObject,
		`{"a":1} {}`:                 errJSON,
		`{"a":1e999}`:                errJSON,
	} {
		_, err := decodeClaims([]byte(in))
		require.Truef(t, errors.Is(err, want), "%s: got %v", in, err)
	}
}

func TestParseHeader(t *testing.T) {
	h, err := parseHeader([]byte(`{"alg":"RS256","kid":"k1","typ":"at+JWT","x5c":["AAAA"],"jku":"https://evil"}`))
	require.NoError(t, err)
	require.Equal(t, tokenHeader{alg: "RS256", kid: "k1", hasAlg: true, hasKID: true}, h)

	_, err = parseHeader([]byte(`{"alg":"RS256","alg":"none"}`))
	require.ErrorIs(t, err, errDuplicate)
	h, err = parseHeader([]byte(`{"alg":"RS256","crit":["b64"],"b64":false}`))
	require.NoError(t, err)
	require.Equal(t, descCrit, h.problem)
	h, err = parseHeader([]byte(`{"alg":1}`))
	require.NoError(t, err)
	require.False(t, h.hasAlg)
	require.Equal(t, descAlgType, h.problem)
}

// FuzzVerifyToken checks that no input makes VerifyToken panic or accept a token that
// was not signed with the secret.
func FuzzVerifyToken(f *testing.F) {
	secret := []byte("fuzzing-secret-fuzzing-secret-fuzzing-secret")
	clock := newTestClock()
	v, err := New(Config{HMACSecret: mcpauth.NewSecret(string(secret)), SkipIssuerCheck: true, SkipAudienceCheck: true, ExpirationOptional: true, Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	valid := signRaw(f, jwt.SigningMethodHS256, secret, nil, map[string]any{"sub": "a", "scope": "x y"})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := v.VerifyToken(t.Context(), token)
		if err == nil {
			i := strings.LastIndexByte(token, '.')
			sig, derr := segmentEncoding.DecodeString(token[i+1:])
			if derr != nil || jwt.SigningMethodHS256.Verify(token[:i], sig, secret) != nil &&
				jwt.SigningMethodHS384.Verify(token[:i], sig, secret) != nil &&
				jwt.SigningMethodHS512.Verify(token[:i], sig, secret) != nil {
				t.Fatalf("accepted a token without a valid signature: %q", token)
			}
			if tok == nil {
				t.Fatal("nil token without error")
			}
		} else if !errors.Is(err, mcpauth.ErrInvalidToken) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}
