package customer

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// HistoryInput pages through a customer's history.
type HistoryInput struct {
	Parent    string
	PageSize  int32
	PageToken string
}

// ListTransitions lists a customer's lifecycle transitions, newest first.
func (s *Service) ListTransitions(ctx context.Context, in HistoryInput) ([]Transition, string, error) {
	id, after, size, err := s.historyPage(ctx, in, "transitions")
	if err != nil {
		return nil, "", err
	}
	ts, err := s.store.ListTransitions(ctx, id, after, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(ts) > size {
		ts = ts[:size]
		last := ts[size-1]
		next = pagetoken.Encode("transitions\x00"+in.Parent, Cursor{Key: last.CreateTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	return ts, next, nil
}

// ListLedger lists a customer's points ledger, newest first.
func (s *Service) ListLedger(ctx context.Context, in HistoryInput) ([]LedgerEntry, string, error) {
	id, after, size, err := s.historyPage(ctx, in, "ledger")
	if err != nil {
		return nil, "", err
	}
	es, err := s.store.ListLedger(ctx, id, after, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(es) > size {
		es = es[:size]
		last := es[size-1]
		next = pagetoken.Encode("ledger\x00"+in.Parent, Cursor{Key: last.CreateTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	return es, next, nil
}

// historyPage checks access to the parent customer and decodes paging.
func (s *Service) historyPage(ctx context.Context, in HistoryInput, kind string) (string, Cursor, int, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return "", Cursor{}, 0, err
	}
	size, err := pagetoken.Size(in.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return "", Cursor{}, 0, err
	}
	c, err := s.load(ctx, a, in.Parent, "parent")
	if err != nil {
		return "", Cursor{}, 0, err
	}
	var after Cursor
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, kind+"\x00"+in.Parent, &after); err != nil {
			return "", Cursor{}, 0, err
		}
	}
	return c.ID, after, size, nil
}
