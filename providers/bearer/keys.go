package bearer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// algFamilies maps every supported algorithm to the family of key it verifies with:
// "RSA", the curve of an ECDSA key, "Ed25519" or "HMAC".
var algFamilies = map[string]string{
	"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
	"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "EdDSA": "Ed25519",
	"HS256": "HMAC", "HS384": "HMAC", "HS512": "HMAC",
}

// verificationKey is one parsed key with the metadata used to select it.
type verificationKey struct {
	kid    string
	alg    string // the JWK "alg", "" when the key does not restrict it
	family string // see algFamilies
	key    any    // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
}

// fits reports whether k may verify a token signed with alg.
func (k *verificationKey) fits(alg string) bool {
	return k.family == algFamilies[alg] && (k.alg == "" || k.alg == alg)
}

// newKey wraps a public key, or says why it is refused.
func newKey(key any, kid, alg string) (*verificationKey, error) {
	vk := &verificationKey{kid: kid, alg: alg, key: key}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("the RSA key is empty")
		}
		if bits := k.N.BitLen(); bits < MinRSAKeyBits {
			return nil, fmt.Errorf("the RSA key has %d bits: keys shorter than %d bits are refused", bits, MinRSAKeyBits)
		}
		vk.family = "RSA"
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, errors.New("the ECDSA key is empty")
		}
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return nil, fmt.Errorf("the ECDSA curve %s is not supported: use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
		vk.family = k.Curve.Params().Name
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("the Ed25519 key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		vk.family = "Ed25519"
	case []byte:
		return nil, errors.New("the key is an HMAC secret, a symmetric (oct) key: use bearer.HMAC instead")
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return nil, fmt.Errorf("it is a private key (%T): give its public half (key.Public())", key)
	case nil:
		return nil, errors.New("the key is nil")
	default:
		return nil, fmt.Errorf("unsupported key type %T: use *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey", key)
	}
	return vk, nil
}

// loadKeyFile reads the keys of one PEM or JSON (JWK or JWK Set) file.
func loadKeyFile(path string) ([]*verificationKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w: check the path and its permissions", path, err)
	}
	parse := parsePEMKeys
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		parse = parseJWKFile
	}
	keys, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	return keys, nil
}

// parsePEMKeys reads every PEM block of data.
func parsePEMKeys(data []byte) ([]*verificationKey, error) {
	var keys []*verificationKey
	for n := 1; ; n++ {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("PEM block %d is a %s: give the public key instead (for example `openssl pkey -pubout`) and keep the private key away from the verifier", n, block.Type)
		default:
			return nil, fmt.Errorf("PEM block %d has unsupported type %q: use PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s) cannot be parsed: %w", n, block.Type, err)
		}
		vk, err := newKey(key, "", "")
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, block.Type, err)
		}
		keys = append(keys, vk)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key or certificate found: give a PEM file or a JWK / JWK Set JSON file")
	}
	return keys, nil
}

// parseJWKFile reads a JWK or a JWK Set.
func parseJWKFile(data []byte) ([]*verificationKey, error) {
	var file struct {
		Keys              []jwkset.JWKMarshal `json:"keys"` // a JWK Set
		jwkset.JWKMarshal                     // or one JWK
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("is not valid JSON for a JWK or a JWK Set: %w", err)
	}
	if file.Keys == nil {
		file.Keys = []jwkset.JWKMarshal{file.JWKMarshal}
	}
	var keys []*verificationKey
	for i, m := range file.Keys {
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: true}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("key %d is not a valid JWK: %w", i, err)
		}
		vk, err := keyFromJWK(j)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if vk != nil {
			keys = append(keys, vk)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New(`contains no signature verification key (keys with "use":"enc" are skipped)`)
	}
	return keys, nil
}

// keyFromJWK converts a jwkset key, a private one to its public half. It returns nil, nil
// for keys that are not meant to verify signatures ("use":"enc", or key_ops without
// "verify").
func keyFromJWK(j jwkset.JWK) (*verificationKey, error) {
	m := j.Marshal()
	if m.USE == jwkset.UseEnc || len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, nil
	}
	key := j.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	return newKey(key, m.KID, m.ALG.String())
}

// keySet is an immutable index of keys. It is the key source of static keys and of an
// HMAC secret, whose keys never change.
type keySet struct {
	all   []*verificationKey
	byKID map[string][]*verificationKey // the keys without a kid under ""
	// anyKID makes keys without a kid candidates for tokens with any kid (static keys,
	// which come without key IDs); a JWKS matches kids exactly.
	anyKID bool
}

func newKeySet(keys []*verificationKey, anyKID bool) *keySet {
	s := &keySet{all: keys, byKID: make(map[string][]*verificationKey, len(keys)), anyKID: anyKID}
	for _, k := range keys {
		s.byKID[k.kid] = append(s.byKID[k.kid], k)
	}
	return s
}

// find returns the key (or a jwt.VerificationKeySet when several fit) for a token, and
// whether any key is a candidate for its kid: a candidate that does not fit alg is an
// algorithm mismatch, no candidate an unknown key. A nil keySet holds no key.
func (s *keySet) find(kid string, hasKID bool, alg string) (key any, known bool) {
	if s == nil {
		return nil, false
	}
	cands := s.all
	if hasKID {
		if cands = s.byKID[kid]; len(cands) == 0 && s.anyKID {
			cands = s.byKID[""]
		}
	}
	var set jwt.VerificationKeySet
	for _, k := range cands {
		if k.fits(alg) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, len(cands) > 0
	case 1:
		return set.Keys[0], true
	}
	return set, true
}

// keySource finds the verification key of a token.
type keySource interface {
	// key returns the key (or a jwt.VerificationKeySet of candidates) for a token whose
	// header has been checked and whose algorithm alg is allowed, or an *mcpauth.Error.
	key(ctx context.Context, kid string, hasKID bool, alg string) (any, error)
	// close stops background work; it is idempotent.
	close() error
}

func (s *keySet) key(_ context.Context, kid string, hasKID bool, alg string) (any, error) {
	return lookup(s.find(kid, hasKID, alg))
}

func (*keySet) close() error { return nil }

// lookup turns the result of keySet.find into the key or its error.
func lookup(key any, known bool) (any, error) {
	switch {
	case key != nil:
		return key, nil
	case known:
		return nil, invalid("signing key does not match the token algorithm")
	}
	return nil, invalid("unknown signing key")
}
