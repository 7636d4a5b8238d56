package oauthproxy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpauth/mcpauth"
	"github.com/mcpauth/mcpauth/internal/signing"
)

// GenerateSigningKey returns a new Ed25519 private key in PKCS #8 PEM, for
// Config.SigningKey.
func GenerateSigningKey() (mcpauth.Secret, error) { return signing.Generate() }

// vault encrypts values at rest with AES-256-GCM. The first key encrypts; every key
// decrypts, so a key can be rotated in front of the old one and the old one removed once
// what it encrypted has expired.
type vault struct {
	ids   [][4]byte
	aeads []cipher.AEAD
}

// vaultVersion is the first byte of every sealed value.
const vaultVersion = 1

// newVault parses keys: each 32 random bytes in base64 (standard or URL alphabet, padded
// or not).
func newVault(keys []mcpauth.Secret) (*vault, error) {
	v := &vault{}
	for i, s := range keys {
		raw, err := decodeKey(s.Reveal())
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("encryption key %d is not 32 bytes in base64: generate one with openssl rand -base64 32", i+1)
		}
		block, _ := aes.NewCipher(raw)
		aead, _ := cipher.NewGCM(block)
		sum := sha256.Sum256(raw)
		v.ids = append(v.ids, [4]byte(sum[:4]))
		v.aeads = append(v.aeads, aead)
	}
	return v, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// seal encrypts plaintext bound to aad (the key it is stored under).
func (v *vault) seal(plaintext, aad []byte) []byte {
	aead := v.aeads[0]
	out := make([]byte, 5, 5+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = vaultVersion
	copy(out[1:5], v.ids[0][:])
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// errSealed is returned for a value no configured key opens.
var errSealed = errors.New("oauthproxy: the stored value cannot be decrypted with any configured encryption key")

// open decrypts a value sealed with any configured key and the same aad.
func (v *vault) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 5 || sealed[0] != vaultVersion {
		return nil, errSealed
	}
	for i, id := range v.ids {
		if [4]byte(sealed[1:5]) != id {
			continue
		}
		aead := v.aeads[i]
		rest := sealed[5:]
		if len(rest) < aead.NonceSize() {
			return nil, errSealed
		}
		pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
		if err != nil {
			return nil, errSealed
		}
		return pt, nil
	}
	return nil, errSealed
}

// GenerateEncryptionKey returns 32 random bytes in base64, for Config.EncryptionKeys.
func GenerateEncryptionKey() mcpauth.Secret {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return mcpauth.NewSecret(base64.StdEncoding.EncodeToString(b[:]))
}
