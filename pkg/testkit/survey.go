package testkit

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// SurveyToken reads, as a notifier service would, the link token of the
// survey issued for ticket from the service desk's event stream (the only
// place the token is published).
func SurveyToken(t testing.TB, desk grpc.ClientConnInterface, ticket string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(As(t, "notifier", auth.RoleService), 10*time.Second)
	defer cancel()
	stream, err := sdv1.NewServiceDeskServiceClient(desk).StreamEvents(ctx, &sdv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("no survey.issued event for %s: %v", ticket, err)
		}
		var p sdv1.SurveyIssuedPayload
		if ev.GetEvent().GetType() == "survey.issued" && ev.GetEvent().GetPayload().UnmarshalTo(&p) == nil && p.GetSurvey().GetTicket() == ticket {
			return p.GetToken()
		}
	}
}
