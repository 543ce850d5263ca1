package server

import (
	"context"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/importstream"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// ImportInteractions implements interactionv1.InteractionServiceServer.
// One stream is bounded in rows and duration (importstream.Limits).
func (s *Server) ImportInteractions(stream interactionv1.InteractionService_ImportInteractionsServer) error {
	ctx := stream.Context()
	im, err := s.svc.NewImporter(ctx)
	if err != nil {
		return err
	}
	err = importstream.Receive(ctx, s.limits, stream.Recv,
		func(req *interactionv1.ImportInteractionsRequest) int { return len(req.GetInteractions()) },
		func(req *interactionv1.ImportInteractionsRequest) error {
			for _, row := range req.GetInteractions() {
				if err := importRow(ctx, im, row); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	res, err := im.Finish(ctx)
	if err != nil {
		return err
	}
	resp := &interactionv1.ImportInteractionsResponse{
		ReceivedCount: res.Received, CreatedCount: res.Created, SkippedCount: res.Skipped, FailedCount: res.Failed,
	}
	for _, e := range res.Errors {
		resp.Errors = append(resp.Errors, &interactionv1.ImportError{Row: e.Row, ExternalId: e.ExternalID, Field: e.Field, Description: e.Description})
	}
	return stream.SendAndClose(resp)
}

// importRow converts and adds one row. Rows that cannot even be converted
// (unknown enum numbers) are rejected like rows the domain refuses:
// counted and reported, never aborting the import.
func importRow(ctx context.Context, im *interaction.Importer, row *interactionv1.ImportedInteraction) error {
	var v errs.Violations
	stage := protoenum.ToDomain(row.GetLifecycleStage(), "LIFECYCLE_STAGE_", "lifecycle_stage", &v)
	i, err := interactionToDomain(row.GetInteraction(), "interaction")
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		field, desc := "interaction", err.Error()
		if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
			field, desc = e.Violations[0].Field, e.Violations[0].Description
		}
		im.Reject(row.GetExternalId(), field, desc)
		return nil
	}
	return im.Add(ctx, row.GetParent(), row.GetExternalId(), i, stage)
}
