package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/kehu-crm/kehu/pkg/config"
)

// sealer encrypts what the cache puts in Redis (AES-256-GCM), so that
// Redis — often less guarded than the database, and copied into its own
// snapshots — holds no personal data in plaintext. The first key seals;
// every key opens, so keys rotate without emptying the cache.
type sealer struct {
	seal cipher.AEAD
	id   [keyIDLen]byte
	open map[[keyIDLen]byte]cipher.AEAD
}

// keyIDLen bytes of a key's SHA-256 name it in each sealed value.
const keyIDLen = 4

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no cache key")
	}
	s := &sealer{open: map[[keyIDLen]byte]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("cache key %d has %d bytes; want 32", i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		var id [keyIDLen]byte
		copy(id[:], sum[:])
		s.open[id] = aead
		if i == 0 {
			s.seal, s.id = aead, id
		}
	}
	return s, nil
}

// sealValue is version, key id, nonce, then ciphertext and tag.
func (s *sealer) sealValue(plain []byte) []byte {
	out := make([]byte, 1+keyIDLen+s.seal.NonceSize(), 1+keyIDLen+s.seal.NonceSize()+len(plain)+s.seal.Overhead())
	out[0] = sealVersion
	copy(out[1:], s.id[:])
	nonce := out[1+keyIDLen:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return s.seal.Seal(out, nonce, plain, out[:1+keyIDLen])
}

// openValue returns the plaintext, false if the value was not sealed by
// one of the keys (another key, tampered, or written before sealing).
func (s *sealer) openValue(sealed []byte) ([]byte, bool) {
	if len(sealed) < 1+keyIDLen || sealed[0] != sealVersion {
		return nil, false
	}
	var id [keyIDLen]byte
	copy(id[:], sealed[1:])
	aead := s.open[id]
	if aead == nil || len(sealed) < 1+keyIDLen+aead.NonceSize() {
		return nil, false
	}
	header, rest := sealed[:1+keyIDLen], sealed[1+keyIDLen:]
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], header)
	return plain, err == nil
}

// ParseKeys reads KEHU_CACHE_KEYS: comma-separated base64 keys of 32
// bytes, the first of which seals.
func ParseKeys(s string) ([][]byte, error) {
	return config.Keys("KEHU_CACHE_KEYS", s)
}

// DeriveKey derives a cache key from another secret every replica shares
// (the page-token key), for deployments that set no cache key of their
// own: replicas then read each other's entries.
func DeriveKey(secret string) []byte {
	k, _ := hkdf.Key(sha256.New, []byte(secret), nil, "kehu cache values", 32)
	return k
}

// RandomKey is a key for one process alone.
func RandomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}
