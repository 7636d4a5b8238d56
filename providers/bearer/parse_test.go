package bearer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcpauth/mcpauth"
	"github.com/stretchr/testify/require"
)

// segmentEncoding is base64url without padding, refusing non-zero trailing bits.
var segmentEncoding = base64.RawURLEncoding.Strict()

var payloadSamples = []string{
	`{}`, `[]`, `null`, `true`, `0`, `"x"`, `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":null}]}}`, `{"a":1,}`,
	`{"sub":"alice","aud":["x","y"],"exp":1700000000,"scope":"a b","n":1.25}`, "{\"\xc3\x28\":1}",
	`{"k\u0000":1}`, `{"exp":"soon"}`, `{"nbf":1e300}`, `{"iat":-1e20}`, `{"sub":"a"} `, `{"sub":"a"}x`,
	`{"s\u0075b":"a","sub":"b"}`, `{"a":1e999}`, `{"scp":["a",1]}`,
}

// verifyPayload signs data as the payload of an HS256 token and verifies it with a
// verifier that checks no issuer, audience or subject.
func verifyPayload(t testing.TB, data []byte) (*mcpauth.AccessToken, error) {
	secret := []byte("claims-fuzz-secret-claims-fuzz-secret-claims")
	v, err := New(Config{Keys: HMAC(mcpauth.NewSecret(string(secret))), SkipIssuerCheck: true, SkipAudienceCheck: true,
		ExpirationOptional: true, AllowMissingSubject: true, Now: newTestClock().Now})
	require.NoError(t, err)
	input := seg([]byte(`{"alg":"HS256"}`)) + "." + seg(data)
	sig, err := jwt.SigningMethodHS256.Sign(input, secret)
	require.NoError(t, err)
	return v.VerifyToken(t.Context(), input+"."+seg(sig))
}

// checkPayload compares the claims path with encoding/json: a payload that is not one
// JSON object is refused as such, and an accepted token's claims are what json.Unmarshal
// makes of the payload.
func checkPayload(t *testing.T, data []byte) {
	t.Helper()
	var want any
	jsonErr := json.Unmarshal(data, &want)
	obj, isObject := want.(map[string]any)
	tok, err := verifyPayload(t, data)
	if jsonErr != nil || !isObject {
		requireInvalid(t, err, descNotObject)
		return
	}
	if err != nil {
		require.Truef(t, errors.Is(err, mcpauth.ErrInvalidToken), "payload %q: %v", data, err)
		require.NotContainsf(t, err.Error(), descNotObject, "payload %q is a JSON object", data)
		return
	}
	require.Truef(t, reflect.DeepEqual(obj, tok.Claims), "payload %q: want %#v, got %#v", data, obj, tok.Claims)
}

func TestPayloadDecoding(t *testing.T) {
	for _, s := range payloadSamples {
		checkPayload(t, []byte(s))
	}
	_, err := verifyPayload(t, []byte(`{"exp":"soon"}`))
	requireInvalid(t, err, "exp claim must be a number")
	_, err = verifyPayload(t, []byte(`{"nbf":1e300}`))
	requireInvalid(t, err, "nbf claim is out of range")
	// Duplicate claims: the last one wins, as with encoding/json (RFC 7519 §4).
	tok, err := verifyPayload(t, []byte(`{"sub":"a","sub":"b"}`))
	require.NoError(t, err)
	require.Equal(t, "b", tok.Subject)
}

// FuzzClaims is the differential fuzz of the claims path against encoding/json.
func FuzzClaims(f *testing.F) {
	for _, s := range payloadSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(checkPayload)
}

func TestHeaderParameters(t *testing.T) {
	clock := newTestClock()
	is := newIssuerServer(t)
	v := newVerifierT(t, is.config(clock))
	payload := claimsAt(clock).WithIssuer(is.iss.Issuer()).Map()
	for name, value := range map[string]any{"jku": "https://evil.example/jwks", "x5u": "https://evil.example/c.pem", "jwk": map[string]any{"kty": "RSA"}, "x5c": []string{"AAAA"}} {
		_, err := v.VerifyToken(t.Context(), devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{name: value}, payload))
		requireInvalid(t, err, "token header parameter "+name+" is not accepted")
	}
	_, err := v.VerifyToken(t.Context(), devSign(t, is.iss, jwt.SigningMethodRS256, map[string]any{"alg": 1}, payload))
	requireInvalid(t, err, descAlgType)
	// Duplicate header parameters: the last one wins (RFC 7515 §4), so a second alg is
	// pinned like any other.
	tok := devSign(t, is.iss, jwt.SigningMethodRS256, nil, payload)
	header := seg([]byte(`{"alg":"RS256","alg":"none","kid":"` + currentKID(is.iss) + `"}`))
	_, err = v.VerifyToken(t.Context(), replaceSegment(tok, 0, header))
	requireInvalid(t, err, descBadAlg)
	_, err = v.VerifyToken(t.Context(), "bnVsbA."+strings.Split(tok, ".")[1]+".AAAA") // header null
	requireInvalid(t, err, "malformed token: header is not a JSON object")
}

// FuzzVerifyToken checks that no input makes VerifyToken panic or accept a token that
// was not signed with the secret.
func FuzzVerifyToken(f *testing.F) {
	secret := []byte("fuzzing-secret-fuzzing-secret-fuzzing-secret")
	clock := newTestClock()
	v, err := New(Config{Keys: HMAC(mcpauth.NewSecret(string(secret))), SkipIssuerCheck: true, SkipAudienceCheck: true, ExpirationOptional: true, Now: clock.Now})
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
