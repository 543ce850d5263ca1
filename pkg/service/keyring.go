package service

import (
	"context"
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/envelope"
)

// keyReload is how often a replica reloads the data keys: a data key
// rotated elsewhere (kehuctl, another replica) seals here from then on.
const keyReload = time.Minute

// Keyring loads the data keys of the service's schema (its migrations
// must include envelope.Migrations), unwrapped by the KEKs of
// KEHU_PII_KEKS, and reloads them while the service runs. Outside
// development the service refuses to start without a KEK of its own
// (envelope.Configured), so personal data is never written in the clear.
func (s *Service) Keyring(ctx context.Context) (*envelope.Keyring, error) {
	wrapper, err := envelope.Configured(s.cfg.PIIKEKs, s.cfg.Development())
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	keys, err := envelope.Load(ctx, s.Pool, wrapper)
	if err != nil {
		return nil, fmt.Errorf("loading the data keys of personal fields: %w", err)
	}
	s.Go(func(ctx context.Context) { keys.Run(ctx, keyReload) })
	return keys, nil
}
