package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/kehu-crm/kehu/pkg/config"
)

// KeyWrapper wraps and unwraps data keys with a key-encryption key. The
// local implementation (LocalWrapper) holds the KEKs in the process; a
// KMS implements the same two calls: Vault transit's encrypt/decrypt
// endpoints (with its key name and version as kekID, ad as context),
// AWS KMS Encrypt/Decrypt (key ARN as kekID, ad as EncryptionContext),
// GCP Cloud KMS Encrypt/Decrypt (key version name, ad as additional
// authenticated data). A Keyring calls it once per data key when it loads
// them, never per value.
type KeyWrapper interface {
	// Wrap encrypts a data key under the current KEK and names that KEK;
	// ad binds the wrapped key to its row (its id and purpose).
	Wrap(ctx context.Context, dek, ad []byte) (kekID string, wrapped []byte, err error)
	// Unwrap decrypts a data key wrapped by the KEK kekID.
	Unwrap(ctx context.Context, kekID string, wrapped, ad []byte) ([]byte, error)
	// Current names the KEK Wrap uses now: keys wrapped by another are
	// re-wrapped by Keyring.Rewrap.
	Current() string
}

// LocalWrapper wraps data keys with AES-256-GCM under KEKs held in the
// process (from configuration, e.g. a Kubernetes Secret). The first KEK
// wraps; every KEK unwraps, so a KEK rotates by putting the new one first,
// re-wrapping (Keyring.Rewrap), then removing the old one.
type LocalWrapper struct {
	current string
	keks    map[string]cipher.AEAD
}

var _ KeyWrapper = (*LocalWrapper)(nil)

// NewLocalWrapper returns a wrapper over keks (32 bytes each), the first
// of which wraps. A KEK is named by the first 8 bytes of its SHA-256, in
// hex: the name says which KEK wrapped a key without revealing it.
func NewLocalWrapper(keks [][]byte) (*LocalWrapper, error) {
	if len(keks) == 0 {
		return nil, errors.New("no key-encryption key")
	}
	w := &LocalWrapper{keks: make(map[string]cipher.AEAD, len(keks))}
	for i, k := range keks {
		if len(k) != 32 {
			return nil, fmt.Errorf("key-encryption key %d has %d bytes; want 32", i+1, len(k))
		}
		aead, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		id := hex.EncodeToString(sum[:8])
		w.keks[id] = aead
		if i == 0 {
			w.current = id
		}
	}
	return w, nil
}

// Current implements KeyWrapper.
func (w *LocalWrapper) Current() string { return w.current }

// Wrap implements KeyWrapper: nonce then ciphertext and tag.
func (w *LocalWrapper) Wrap(_ context.Context, dek, ad []byte) (string, []byte, error) {
	aead := w.keks[w.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(dek)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return w.current, aead.Seal(nonce, nonce, dek, ad), nil
}

// Unwrap implements KeyWrapper.
func (w *LocalWrapper) Unwrap(_ context.Context, kekID string, wrapped, ad []byte) ([]byte, error) {
	aead := w.keks[kekID]
	if aead == nil {
		return nil, fmt.Errorf("data key wrapped by key-encryption key %s, which is not configured (KEHU_PII_KEKS lists the current KEK first, then every older one still in use)", kekID)
	}
	if len(wrapped) < aead.NonceSize() {
		return nil, errors.New("wrapped data key is truncated")
	}
	dek, err := aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("unwrapping a data key with key-encryption key %s: %w", kekID, err)
	}
	return dek, nil
}

// ParseKEKs reads KEHU_PII_KEKS: comma-separated base64 keys of 32 bytes,
// the first of which wraps new data keys.
func ParseKEKs(s string) ([][]byte, error) {
	return config.Keys("KEHU_PII_KEKS", s)
}

// Configured is the local wrapper over KEHU_PII_KEKS (see ParseKEKs). With
// none set, a development deployment uses DevelopmentKEK; a production one
// refuses to start, as it refuses the development KEK itself.
func Configured(keks string, development bool) (*LocalWrapper, error) {
	keys, err := ParseKEKs(keks)
	if err != nil {
		return nil, err
	}
	dev, _ := base64.StdEncoding.DecodeString(DevelopmentKEK)
	switch {
	case len(keys) == 0 && development:
		keys = [][]byte{dev}
	case len(keys) == 0:
		return nil, errors.New("KEHU_PII_KEKS is required outside development: it holds the key-encryption key of personal fields (openssl rand -base64 32; see deploy/README.md)")
	case !development && slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, dev) }):
		return nil, errors.New("KEHU_PII_KEKS lists the published development key, which protects nothing: generate one (openssl rand -base64 32)")
	}
	return NewLocalWrapper(keys)
}

// DevelopmentKEK is the published key-encryption key (base64) of
// development deployments (`kehuctl dev`, the dev overlay): it protects
// nothing, so a production service refuses it, and refuses to start
// without a KEK of its own rather than fall back to it.
const DevelopmentKEK = "IQfXa0F17djcG9Z6xYWjWkaXrcUm32f75t3ifaQdo70="

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
