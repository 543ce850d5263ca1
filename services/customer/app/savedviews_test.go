package app

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// A user saves the list as they filtered it, renames it, and deletes it;
// another user never sees it, and a stale etag does not overwrite.
func TestSavedViewsBelongToTheirOwner(t *testing.T) {
	t.Parallel()
	e := start(t)
	ana := e.as(t, "ana", auth.RoleAgent)
	bo := e.as(t, "bo", auth.RoleAgent)

	created, err := e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{
		DisplayName: "VIP in Shanghai", Filter: `tags:"vip" AND city = "Shanghai"`, Query: "li",
		OrderBy: "loyalty_points desc", Columns: []string{"display_name", "company", "loyalty_points"},
	}, RequestId: "6f1c1f4e-3b7a-4d55-9b1d-0d6c3f1c9a01"})
	if err != nil {
		t.Fatalf("CreateSavedView: %v", err)
	}
	v := created.GetSavedView()
	if v.GetOwner() != "ana" || v.GetEtag() == "" || v.GetFilter() != `tags:"vip" AND city = "Shanghai"` || len(v.GetColumns()) != 3 {
		t.Fatalf("created %v", v)
	}
	again, err := e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{
		DisplayName: "VIP in Shanghai", Filter: `tags:"vip" AND city = "Shanghai"`, Query: "li",
		OrderBy: "loyalty_points desc", Columns: []string{"display_name", "company", "loyalty_points"},
	}, RequestId: "6f1c1f4e-3b7a-4d55-9b1d-0d6c3f1c9a01"})
	if err != nil || again.GetSavedView().GetName() != v.GetName() {
		t.Fatalf("retried create = %v, %v; want %s again", again, err, v.GetName())
	}

	// Bo cannot learn that Ana's view exists.
	_, err = e.client.GetSavedView(bo, &customerv1.GetSavedViewRequest{Name: v.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	_, err = e.client.UpdateSavedView(bo, &customerv1.UpdateSavedViewRequest{
		SavedView:  &customerv1.SavedView{Name: v.GetName(), DisplayName: "mine now"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	_, err = e.client.DeleteSavedView(bo, &customerv1.DeleteSavedViewRequest{Name: v.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if l, err := e.client.ListSavedViews(bo, &customerv1.ListSavedViewsRequest{}); err != nil || len(l.GetSavedViews()) != 0 {
		t.Fatalf("bo's views = %v, %v; want none", l, err)
	}
	// Bo may use the same display name for a view of his own.
	if _, err := e.client.CreateSavedView(bo, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{DisplayName: "VIP in Shanghai"}}); err != nil {
		t.Fatalf("bo's view of the same name: %v", err)
	}
	// Ana may not, whatever the case.
	_, err = e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{DisplayName: "vip IN shanghai"}})
	testkit.WantCode(t, err, codes.AlreadyExists, "SAVED_VIEW_NAME_TAKEN", "saved_view.display_name")

	renamed, err := e.client.UpdateSavedView(ana, &customerv1.UpdateSavedViewRequest{
		SavedView:  &customerv1.SavedView{Name: v.GetName(), DisplayName: "Shanghai VIPs", Etag: v.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	if err != nil || renamed.GetSavedView().GetDisplayName() != "Shanghai VIPs" || renamed.GetSavedView().GetFilter() != v.GetFilter() {
		t.Fatalf("rename = %v, %v", renamed, err)
	}
	_, err = e.client.UpdateSavedView(ana, &customerv1.UpdateSavedViewRequest{
		SavedView:  &customerv1.SavedView{Name: v.GetName(), Filter: "kind = PERSON", Etag: v.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}},
	})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	_, err = e.client.DeleteSavedView(ana, &customerv1.DeleteSavedViewRequest{Name: v.GetName(), Etag: v.GetEtag()})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	if got, err := e.client.GetSavedView(ana, &customerv1.GetSavedViewRequest{Name: v.GetName()}); err != nil || got.GetSavedView().GetFilter() != v.GetFilter() {
		t.Fatalf("after the stale update: %v, %v; want the filter unchanged", got, err)
	}

	if _, err := e.client.DeleteSavedView(ana, &customerv1.DeleteSavedViewRequest{Name: v.GetName(), Etag: renamed.GetSavedView().GetEtag()}); err != nil {
		t.Fatalf("DeleteSavedView: %v", err)
	}
	_, err = e.client.GetSavedView(ana, &customerv1.GetSavedViewRequest{Name: v.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}

// Bad input names the field and writes nothing.
func TestSavedViewValidation(t *testing.T) {
	t.Parallel()
	e := start(t)
	ana := e.as(t, "ana", auth.RoleAgent)
	for _, tc := range []struct {
		name  string
		view  *customerv1.SavedView
		field string
	}{
		{"no view", nil, "saved_view"},
		{"no display name", &customerv1.SavedView{DisplayName: "  "}, "saved_view.display_name"},
		{"bad filter", &customerv1.SavedView{DisplayName: "x", Filter: "nope = 1"}, "saved_view.filter"},
		{"bad order", &customerv1.SavedView{DisplayName: "x", OrderBy: "email"}, "saved_view.order_by"},
		{"unknown column", &customerv1.SavedView{DisplayName: "x", Columns: []string{"company", "salary"}}, "saved_view.columns[1]"},
		{"column twice", &customerv1.SavedView{DisplayName: "x", Columns: []string{"company", "company"}}, "saved_view.columns[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: tc.view})
			testkit.WantCode(t, err, codes.InvalidArgument, "", tc.field)
		})
	}
	ok, err := e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{DisplayName: "ok"}})
	if err != nil {
		t.Fatalf("CreateSavedView: %v", err)
	}
	for _, tc := range []struct {
		name  string
		req   *customerv1.UpdateSavedViewRequest
		field string
	}{
		{"bad name", &customerv1.UpdateSavedViewRequest{SavedView: &customerv1.SavedView{Name: "views/1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}}}, "saved_view.name"},
		{"no mask", &customerv1.UpdateSavedViewRequest{SavedView: &customerv1.SavedView{Name: ok.GetSavedView().GetName()}}, "update_mask"},
		{"output only", &customerv1.UpdateSavedViewRequest{SavedView: &customerv1.SavedView{Name: ok.GetSavedView().GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner"}}}, "update_mask"},
		{"bad filter", &customerv1.UpdateSavedViewRequest{SavedView: &customerv1.SavedView{Name: ok.GetSavedView().GetName(), Filter: "tags ="}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}}}, "saved_view.filter"},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := e.client.UpdateSavedView(ana, tc.req)
			testkit.WantCode(t, err, codes.InvalidArgument, "", tc.field)
		})
	}
	l, err := e.client.ListSavedViews(ana, &customerv1.ListSavedViewsRequest{})
	if err != nil || len(l.GetSavedViews()) != 1 || l.GetSavedViews()[0].GetEtag() != ok.GetSavedView().GetEtag() || l.GetSavedViews()[0].GetFilter() != "" {
		t.Fatalf("views after bad input = %v, %v; want only the unchanged %q", l, err, "ok")
	}
}

// Views page by display name; a token does not serve another user.
func TestSavedViewsPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	ana := e.as(t, "ana", auth.RoleAgent)
	for _, n := range []string{"c", "A", "b"} {
		if _, err := e.client.CreateSavedView(ana, &customerv1.CreateSavedViewRequest{SavedView: &customerv1.SavedView{DisplayName: n}}); err != nil {
			t.Fatalf("CreateSavedView(%s): %v", n, err)
		}
	}
	var got []string
	token := ""
	for {
		l, err := e.client.ListSavedViews(ana, &customerv1.ListSavedViewsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("ListSavedViews: %v", err)
		}
		for _, v := range l.GetSavedViews() {
			got = append(got, v.GetDisplayName())
		}
		if token = l.GetNextPageToken(); token == "" {
			break
		}
		_, err = e.client.ListSavedViews(e.as(t, "bo", auth.RoleAgent), &customerv1.ListSavedViewsRequest{PageSize: 2, PageToken: token})
		testkit.WantCode(t, err, codes.InvalidArgument, "", "page_token")
	}
	if len(got) != 3 || got[0] != "A" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("pages = %v; want A b c", got)
	}
}
