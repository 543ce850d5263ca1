// Package pagetoken makes AIP-158 page tokens: opaque, tamper-evident, and
// bound to the query that produced them. A token carries the keyset cursor
// (the last row's sort key and id) plus a hash of the query; replaying it
// against a different filter or order, or editing it, is INVALID_ARGUMENT
// rather than a silently wrong page.
package pagetoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync/atomic"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// key signs tokens. A random per-process key keeps tokens opaque in
// development; replicas behind a load balancer need the same key (SetKey),
// or a token minted by one replica is rejected by the next.
var key atomic.Pointer[[]byte]

func init() {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	key.Store(&k)
}

// SetKey sets the signing key shared by all replicas of a service.
func SetKey(k []byte) {
	c := append([]byte(nil), k...)
	key.Store(&c)
}

type envelope struct {
	Cursor json.RawMessage `json:"c"`
	Query  []byte          `json:"q"`
}

// Encode returns the token for resuming query after cursor.
func Encode(query string, cursor any) string {
	c, err := json.Marshal(cursor)
	if err != nil {
		// Cursors are plain structs of strings; failing here is a bug.
		panic("pagetoken: cursor not encodable: " + err.Error())
	}
	body, _ := json.Marshal(envelope{Cursor: c, Query: queryHash(query)})
	return base64.RawURLEncoding.EncodeToString(append(sign(body), body...))
}

// Decode checks that token was minted for query and fills cursor.
func Decode(token, query string, cursor any) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= sha256.Size {
		return errs.InvalidField("page_token", "page token is malformed")
	}
	mac, body := raw[:sha256.Size], raw[sha256.Size:]
	if !hmac.Equal(mac, sign(body)) {
		return errs.InvalidField("page_token", "page token is malformed or was not issued by this service")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return errs.InvalidField("page_token", "page token is malformed")
	}
	if !hmac.Equal(env.Query, queryHash(query)) {
		return errs.InvalidField("page_token", "page token belongs to a different query (filter, order_by or parent changed)")
	}
	if err := json.Unmarshal(env.Cursor, cursor); err != nil {
		return errs.InvalidField("page_token", "page token is malformed")
	}
	return nil
}

// Size validates a requested page_size: 0 means def, negatives are
// rejected, and values above max are lowered to max as AIP-158 asks.
func Size(requested int32, def, max int) (int, error) {
	switch {
	case requested < 0:
		return 0, errs.InvalidField("page_size", "page_size must not be negative, got %d", requested)
	case requested == 0:
		return def, nil
	case int(requested) > max:
		return max, nil
	}
	return int(requested), nil
}

func sign(body []byte) []byte {
	m := hmac.New(sha256.New, *key.Load())
	m.Write(body)
	return m.Sum(nil)
}

func queryHash(query string) []byte {
	h := sha256.Sum256([]byte(query))
	return h[:8]
}
