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
	"github.com/mcpauth/mcpauth"
)

// keyFamily is the kind of key an algorithm needs.
type keyFamily uint8

const (
	famNone keyFamily = iota
	famRSA
	famP256
	famP384
	famP521
	famEd25519
	famHMAC
)

// algFamily returns the key family that algorithm alg verifies with.
func algFamily(alg string) keyFamily {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return famRSA
	case "ES256":
		return famP256
	case "ES384":
		return famP384
	case "ES512":
		return famP521
	case "EdDSA":
		return famEd25519
	case "HS256", "HS384", "HS512":
		return famHMAC
	}
	return famNone
}

// verificationKey is one parsed key with the metadata used to select it.
type verificationKey struct {
	kid    string
	alg    string // the JWK "alg", "" when the key does not restrict it
	family keyFamily
	key    any // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
}

// fits reports whether k may verify a token signed with alg (of family fam).
func (k *verificationKey) fits(alg string, fam keyFamily) bool {
	return k.family == fam && (k.alg == "" || k.alg == alg)
}

// classifyKey returns the family of a public key, or an error saying why it is refused.
func classifyKey(key any) (keyFamily, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return famNone, errors.New("the RSA key is empty")
		}
		if bits := k.N.BitLen(); bits < MinRSAKeyBits {
			return famNone, fmt.Errorf("the RSA key has %d bits: keys shorter than %d bits are refused", bits, MinRSAKeyBits)
		}
		return famRSA, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return famNone, errors.New("the ECDSA key is empty")
		}
		switch k.Curve {
		case elliptic.P256():
			return famP256, nil
		case elliptic.P384():
			return famP384, nil
		case elliptic.P521():
			return famP521, nil
		}
		return famNone, fmt.Errorf("the ECDSA curve %s is not supported: use P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return famNone, fmt.Errorf("the Ed25519 key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		return famEd25519, nil
	case []byte:
		return famHMAC, nil
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return famNone, fmt.Errorf("it is a private key (%T): give its public half (key.Public())", key)
	case nil:
		return famNone, errors.New("the key is nil")
	}
	return famNone, fmt.Errorf("unsupported key type %T: use *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey", key)
}

// newStaticKey wraps a configured public key.
func newStaticKey(key crypto.PublicKey) (*verificationKey, error) {
	fam, err := classifyKey(key)
	if err != nil {
		return nil, err
	}
	if fam == famHMAC {
		return nil, errors.New("a []byte is an HMAC secret, not a public key: use bearer.HMAC instead")
	}
	return &verificationKey{family: fam, key: key}, nil
}

// loadKeyFile reads the keys of one PEM or JSON (JWK or JWK Set) file.
func loadKeyFile(path string) ([]*verificationKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w: check the path and its permissions", path, err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		keys, err := parseJWKFile(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", path, err)
		}
		return keys, nil
	}
	keys, err := parsePEMKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	return keys, nil
}

// parsePEMKeys reads every PEM block of data.
func parsePEMKeys(data []byte) ([]*verificationKey, error) {
	var keys []*verificationKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
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
		vk, err := newStaticKey(key)
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
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %w", err)
	}
	var marshals []jwkset.JWKMarshal
	if _, ok := probe["keys"]; ok {
		var set jwkset.JWKSMarshal
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("is not a valid JWK Set: %w", err)
		}
		marshals = set.Keys
	} else {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("is not a valid JWK: %w", err)
		}
		marshals = []jwkset.JWKMarshal{m}
	}
	var keys []*verificationKey
	for i, m := range marshals {
		if m.KTY == jwkset.KtyOct {
			return nil, fmt.Errorf("key %d is a symmetric (oct) key: use bearer.HMAC for HMAC tokens", i)
		}
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

type publicKeyer interface{ Public() crypto.PublicKey }

// keyFromJWK converts a jwkset key. It returns nil, nil for keys that are not meant to
// verify signatures ("use":"enc", or key_ops without "verify").
func keyFromJWK(j jwkset.JWK) (*verificationKey, error) {
	m := j.Marshal()
	if m.USE == jwkset.UseEnc {
		return nil, nil
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, nil
	}
	key := j.Key()
	if pk, ok := key.(publicKeyer); ok {
		key = pk.Public()
	}
	fam, err := classifyKey(key)
	if err != nil {
		return nil, err
	}
	if fam == famHMAC {
		return nil, errors.New("symmetric (oct) keys are not accepted from a JWK Set")
	}
	return &verificationKey{kid: m.KID, alg: m.ALG.String(), family: fam, key: key}, nil
}

// keySet is an immutable index of keys.
type keySet struct {
	gen   uint64
	byKID map[string][]*verificationKey
	noKID []*verificationKey
	all   []*verificationKey
	// anyKID makes keys without a kid candidates for tokens with any kid (static keys,
	// which come without key IDs); a JWKS matches kids exactly.
	anyKID bool
}

func newKeySet(keys []*verificationKey, anyKID bool, gen uint64) *keySet {
	s := &keySet{gen: gen, byKID: make(map[string][]*verificationKey, len(keys)), all: keys, anyKID: anyKID}
	for _, k := range keys {
		if k.kid == "" {
			s.noKID = append(s.noKID, k)
		} else {
			s.byKID[k.kid] = append(s.byKID[k.kid], k)
		}
	}
	return s
}

type findResult uint8

const (
	keyFound findResult = iota
	keyUnknown
	keyAlgMismatch
)

// find returns the key (or jwt.VerificationKeySet when several fit) for a token.
func (s *keySet) find(kid string, hasKID bool, alg string, fam keyFamily) (any, findResult) {
	var cands []*verificationKey
	switch {
	case !hasKID:
		cands = s.all
	default:
		cands = s.byKID[kid]
		if len(cands) == 0 && s.anyKID {
			cands = s.noKID
		}
	}
	if len(cands) == 0 {
		return nil, keyUnknown
	}
	if len(cands) == 1 {
		if cands[0].fits(alg, fam) {
			return cands[0].key, keyFound
		}
		return nil, keyAlgMismatch
	}
	var set jwt.VerificationKeySet
	for _, k := range cands {
		if k.fits(alg, fam) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, keyAlgMismatch
	case 1:
		return set.Keys[0], keyFound
	}
	return set, keyFound
}

// keySource finds the verification key of a token.
type keySource interface {
	// key returns the key (or a jwt.VerificationKeySet of candidates) for a token whose
	// header has been checked and whose algorithm alg is allowed,
	// or an *mcpauth.Error.
	key(ctx context.Context, kid string, hasKID bool, alg string) (any, error)
	// close stops background work; it is idempotent.
	close() error
}

// Descriptions of key lookup failures.
var (
	errUnknownKey      = "unknown signing key"
	errKeyAlgMismatch  = "signing key does not match the token algorithm"
	errKeysUnavailable = "the signing keys of the issuer could not be fetched"
)

// staticSource serves keys fixed at construction: public keys or an HMAC secret.
type staticSource struct{ set *keySet }

func (s *staticSource) key(_ context.Context, kid string, hasKID bool, alg string) (any, error) {
	k, r := s.set.find(kid, hasKID, alg, algFamily(alg))
	switch r {
	case keyFound:
		return k, nil
	case keyAlgMismatch:
		return nil, mcpauth.InvalidToken(errKeyAlgMismatch, nil)
	}
	return nil, mcpauth.InvalidToken(errUnknownKey, nil)
}

func (s *staticSource) close() error { return nil }
