// Package envelope encrypts personal fields at the application layer with
// envelope encryption, and derives the keyed blind indexes that keep
// equality lookups working on what it encrypts.
//
// Three kinds of key:
//
//   - The key-encryption key (KEK) never reaches the database. It lives in
//     configuration (KEHU_PII_KEKS, see ParseKEKs) or a KMS, behind the
//     KeyWrapper interface; it only wraps and unwraps data keys, so a KMS
//     is called once per data key when a process starts, never per row.
//   - Data keys (DEKs) encrypt values (AES-256-GCM). Each service generates
//     its own and stores them wrapped in its schema (table data_keys). New
//     writes use the newest; every one stays able to decrypt until a
//     re-encryption pass has moved all values off it (Rotate, then the
//     service's re-encryption pass).
//   - One index key per service computes blind indexes (HMAC-SHA256 over a
//     normalised value, truncated to 128 bits). It is generated and stored
//     like a data key but never rotated by Rotate: a new index key would
//     change every index, which needs a re-indexing pass. A KEK rotation
//     re-wraps it like the data keys (Rewrap).
//
// A sealed value is self-describing: version byte, data key id, nonce,
// ciphertext and tag (see Keyring.Seal). The caller's associated data (a
// row id and column) is authenticated with it, so a value copied into
// another row or column fails to open instead of decrypting there.
//
// What a blind index leaks: equality. Whoever reads the database sees
// which rows share an e-mail or phone (and how often a value occurs), never
// the value; without the index key they cannot test a guess either.
package envelope
