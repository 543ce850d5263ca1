package insight

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// MaxBatch bounds the customers of one batch lookup.
const MaxBatch = 1000

// SegmentSize is a segment's member count on a day.
type SegmentSize struct {
	Date    time.Time
	Members int64
}

// BatchGetCustomerSegments answers GetCustomerSegments for many customers,
// in the order asked, all or nothing.
func (s *Service) BatchGetCustomerSegments(ctx context.Context, customers []string) ([][]string, error) {
	ms, err := s.memberships(ctx, customers)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(ms))
	for i, m := range ms {
		out[i] = m.Segments
	}
	return out, nil
}

// BatchCheckMembership answers CheckMembership of one segment for many
// customers, in the order asked, all or nothing.
func (s *Service) BatchCheckMembership(ctx context.Context, segment string, customers []string) ([]bool, error) {
	id, err := parseSegmentName("segment", segment)
	if err != nil {
		return nil, err
	}
	ms, err := s.memberships(ctx, customers)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(ms))
	for i, m := range ms {
		out[i] = slices.Contains(m.Segments, id)
	}
	return out, nil
}

// memberships loads many customers' memberships through the cache in one
// pass; NOT_FOUND names the first customer the caller may not see.
func (s *Service) memberships(ctx context.Context, names []string) ([]Membership, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 || len(names) > MaxBatch {
		return nil, errs.InvalidField("customers", "must name 1 to %d customers, got %d", MaxBatch, len(names))
	}
	ids := make([]string, len(names))
	var v errs.Violations
	for i, name := range names {
		if ids[i], err = parseCustomerName(fmt.Sprintf("customers[%d]", i), name); err != nil {
			v.Add(fmt.Sprintf("customers[%d]", i), "%s", filterProblem(err))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ms, err := s.cache.ManyMemberships(ctx, ids, s.store.Memberships)
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		if !m.Known || !a.CanSee(m.AccountManager) {
			return nil, errs.NotFound(names[i])
		}
		ms[i] = visible(a, m)
	}
	return ms, nil
}

// ListSegmentSizes pages a segment's daily sizes, newest first.
func (s *Service) ListSegmentSizes(ctx context.Context, parent string, pageSize int32, pageToken string) ([]SegmentSize, string, error) {
	id, err := parseSegmentName("parent", parent)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.segment(ctx, id, parent); err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, 30, 366)
	if err != nil {
		return nil, "", err
	}
	query := "sizes\x00" + parent
	before := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &before); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.SegmentSizes(ctx, id, before, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode(query, rows[size-1].Date)
	}
	return rows, next, nil
}
