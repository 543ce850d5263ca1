package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// Personal fields at rest (migrations/0005_encrypted_personal_fields.sql):
// every path that writes a customer row (create, update, import, the
// legacy pass) turns the customer into a sealedRow here, and every read
// opens it here, so no SQL ever sees a plaintext e-mail, phone, birthday
// or street address.

// personal is what a row's pii column holds, sealed.
type personal struct {
	Emails   []string         `json:"emails,omitempty"`
	Phones   []string         `json:"phones,omitempty"`
	Birthday string           `json:"birthday,omitempty"`
	Address  customer.Address `json:"address"`
}

// sealedRow is a customer's personal fields as its row stores them.
type sealedRow struct {
	pii        []byte
	emailIndex []string
	phoneIndex []string
	// place is the address column: city and country code alone.
	place customer.Address
}

// Crypto seals the customer service's personal fields and computes their
// blind indexes.
type Crypto struct {
	keys *envelope.Keyring
	// region reads phone numbers in filters written without "+country",
	// as the domain's normaliser does for stored ones.
	region string
	// fields is the filter allow-list, with the index functions bound.
	fields filter.Schema
}

// NewCrypto returns the sealing of a customer schema's keyring; region is
// the default phone region.
func NewCrypto(keys *envelope.Keyring, region string) *Crypto {
	c := &Crypto{keys: keys, region: region}
	c.fields = filterSchema(c.emailIndex, c.phoneIndex)
	return c
}

// Index kinds, part of each index's MAC.
const (
	kindEmail = "email"
	kindPhone = "phone"
)

func piiAD(id string) []byte { return []byte("customer.customers.pii/" + id) }

// row seals c's personal fields for its row.
func (k *Crypto) row(c *customer.Customer) (sealedRow, error) {
	plain, err := json.Marshal(personal{Emails: c.Emails, Phones: c.Phones, Birthday: c.Birthday, Address: c.Address})
	if err != nil {
		return sealedRow{}, errs.Internal(fmt.Errorf("encoding personal fields: %w", err))
	}
	return sealedRow{
		pii:        k.keys.Seal(plain, piiAD(c.ID)),
		emailIndex: k.indexes(kindEmail, c.Emails),
		phoneIndex: k.indexes(kindPhone, c.Phones),
		place:      customer.Address{City: c.Address.City, CountryCode: c.Address.CountryCode},
	}, nil
}

// open fills c's personal fields from its row's pii column. A legacy row
// (pii NULL, written before encryption) was scanned with its plaintext in
// place and is left as it is.
func (k *Crypto) open(ctx context.Context, c *customer.Customer, pii []byte) error {
	if pii == nil {
		return nil
	}
	plain, err := k.keys.Open(ctx, pii, piiAD(c.ID))
	if err != nil {
		return errs.Internal(fmt.Errorf("opening the personal fields of customer %s: %w", c.ID, err))
	}
	var p personal
	if err := json.Unmarshal(plain, &p); err != nil {
		return errs.Internal(fmt.Errorf("decoding the personal fields of customer %s: %w", c.ID, err))
	}
	c.Emails, c.Phones, c.Birthday, c.Address = p.Emails, p.Phones, p.Birthday, p.Address
	return nil
}

// scan reads a customer selected with columns and opens it.
func (k *Crypto) scan(ctx context.Context) func(pgx.Row) (*customer.Customer, error) {
	return func(row pgx.Row) (*customer.Customer, error) {
		c, pii, err := scanCustomer(row)
		if err != nil {
			return nil, err
		}
		return c, k.open(ctx, c, pii)
	}
}

// indexes are the blind indexes of normalised values of one kind.
func (k *Crypto) indexes(kind string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = k.keys.Index(kind, v)
	}
	return out
}

// emailIndex is the index a filter literal names: e-mails are stored
// lower-cased and trimmed (customer.Normalizer).
func (k *Crypto) emailIndex(literal string) string {
	return k.keys.Index(kindEmail, strings.ToLower(strings.TrimSpace(literal)))
}

// phoneIndex reads the literal as the normaliser reads a stored phone;
// what is not a phone number matches nothing.
func (k *Crypto) phoneIndex(literal string) string {
	if e164, ok := customer.NormalizePhone(literal, k.region); ok {
		literal = e164
	}
	return k.keys.Index(kindPhone, literal)
}
