package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/server"
)

// devRoles are the roles a person can sign in with; "service" belongs to
// Kehu's own services and is never issued to a browser.
var devRoles = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleAgent, auth.RoleAnalyst, auth.RoleViewer}

type devSignInRequest struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

type devSignInResponse struct {
	Token      string    `json:"token"`
	Subject    string    `json:"subject"`
	Roles      []string  `json:"roles"`
	ExpireTime time.Time `json:"expireTime"`
}

// devSignIn issues a token for the user and role in the request. Without a
// signer (any environment but development with its HS256 secret) it refuses.
func devSignIn(signer *auth.Signer, ttl time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if signer == nil {
			writeError(w, errs.New(errs.KindPermissionDenied, "DEV_SIGN_IN_DISABLED",
				"development sign-in is off: it needs KEHU_ENVIRONMENT=development and KEHU_JWT_SECRET on the gateway; sign in with your identity provider"))
			return
		}
		// A form on another site cannot send JSON without a CORS preflight,
		// which the gateway does not grant for this path.
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeError(w, errs.InvalidField("body", "send the request as application/json"))
			return
		}
		var req devSignInRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
			writeError(w, errs.InvalidField("body", "the body must be {\"subject\": …, \"role\": …}"))
			return
		}
		subject := strings.TrimSpace(req.Subject)
		if subject == "" || len(subject) > 128 {
			writeError(w, errs.InvalidField("subject", "subject must be 1 to 128 characters"))
			return
		}
		role, err := auth.ParseRole(req.Role)
		if err != nil || role == auth.RoleService {
			writeError(w, errs.InvalidField("role", "role must be one of %v", devRoles))
			return
		}
		token, err := signer.Sign(subject, []auth.Role{role}, ttl)
		if err != nil {
			writeError(w, errs.Internal(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(devSignInResponse{
			Token: token, Subject: subject, Roles: []string{string(role)}, ExpireTime: time.Now().Add(ttl).UTC(),
		})
	})
}

// writeError answers with err as the google.rpc.Status every REST error
// is, with the same ErrorInfo and BadRequest details the services send.
func writeError(w http.ResponseWriter, err error) {
	st := server.ToStatus(err)
	body, merr := protojson.Marshal(st.Proto())
	if merr != nil {
		body = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(body)
}
