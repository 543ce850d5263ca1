package config

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Keys reads a setting holding comma-separated base64 keys of 32 bytes
// (KEHU_CACHE_KEYS, KEHU_PII_KEKS): the first is the one that encrypts, the
// others only decrypt, so that keys can be rotated. Blank entries are
// skipped; setting names the variable in the error.
func Keys(setting, value string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(part)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s: key %d must be the base64 of 32 random bytes (openssl rand -base64 32)", setting, i+1)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
