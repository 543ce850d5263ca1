// Package gateway is Kehu's REST/JSON front door: a grpc-gateway v2 mux over
// the services' gRPC APIs, with the HTTP conventions web clients expect
// (ETag/If-Match, JSON errors as google.rpc.Status, CORS, body limits) and
// the OpenAPI document and a readable API page.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	// Error details travel as Any; the gateway must know their types to
	// render them as JSON.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	auditv1 "github.com/kehu-crm/kehu/pkg/api/kehu/audit/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	servicedeskv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	webhookv1 "github.com/kehu-crm/kehu/pkg/api/kehu/webhook/v1"
	"github.com/kehu-crm/kehu/pkg/api/openapi"
)

// Backends are the gRPC connections of the services behind the gateway.
type Backends struct {
	Customer    grpc.ClientConnInterface
	Interaction grpc.ClientConnInterface
	ServiceDesk grpc.ClientConnInterface
	Analytics   grpc.ClientConnInterface
}

// Options shape the HTTP behaviour.
type Options struct {
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// CORSOrigins lists origins allowed to call the API from a browser;
	// empty disables CORS. "*" allows any origin (never with credentials).
	CORSOrigins []string
	// ExposeInternalRPCs documents the internal RPCs in /openapi.json too;
	// the backends' connections must then not hide them (HideInternal…).
	ExposeInternalRPCs bool
	// Console serves the web console under /console/; nil leaves it out.
	Console http.Handler
	Logger  *slog.Logger
}

// forwardedHeaders is the allow-list of HTTP headers passed to the services
// as gRPC metadata. Authorization is forwarded by grpc-gateway itself.
var forwardedHeaders = map[string]string{
	"X-Request-Id": "x-request-id",
	"If-Match":     ifMatchKey,
}

// New returns the gateway handler: the REST routes of every backend plus
// /openapi.json and /docs.
func New(ctx context.Context, b Backends, opts Options) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				// Stable output: every field is present, enums by name,
				// lowerCamelCase names as in the OpenAPI document.
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			md, ok := forwardedHeaders[textproto.CanonicalMIMEHeaderKey(key)]
			return md, ok
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if key == "x-request-id" {
				return "X-Request-Id", true
			}
			return "", false
		}),
		runtime.WithForwardResponseOption(setETag),
		runtime.WithRoutingErrorHandler(routingError),
	)
	if err := customerv1.RegisterCustomerServiceHandlerClient(ctx, mux, customerv1.NewCustomerServiceClient(b.Customer)); err != nil {
		return nil, fmt.Errorf("registering customer routes: %w", err)
	}
	if err := interactionv1.RegisterInteractionServiceHandlerClient(ctx, mux, interactionv1.NewInteractionServiceClient(b.Interaction)); err != nil {
		return nil, fmt.Errorf("registering interaction routes: %w", err)
	}
	if err := servicedeskv1.RegisterServiceDeskServiceHandlerClient(ctx, mux, servicedeskv1.NewServiceDeskServiceClient(b.ServiceDesk)); err != nil {
		return nil, fmt.Errorf("registering service desk routes: %w", err)
	}
	if err := analyticsv1.RegisterAnalyticsServiceHandlerClient(ctx, mux, analyticsv1.NewAnalyticsServiceClient(b.Analytics)); err != nil {
		return nil, fmt.Errorf("registering analytics routes: %w", err)
	}
	// Webhooks are served by the analytics service (it follows every stream).
	if err := webhookv1.RegisterWebhookServiceHandlerClient(ctx, mux, webhookv1.NewWebhookServiceClient(b.Analytics)); err != nil {
		return nil, fmt.Errorf("registering webhook routes: %w", err)
	}

	// The suite's audit trail is served by the customer service.
	if err := auditv1.RegisterAuditServiceHandlerClient(ctx, mux, auditv1.NewAuditServiceClient(b.Customer)); err != nil {
		return nil, fmt.Errorf("registering audit routes: %w", err)
	}

	var hidden map[string]bool
	if !opts.ExposeInternalRPCs {
		hidden = internalRPCs
	}
	spec, err := servedSpec(openapi.Spec, hidden)
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec)
	})
	docs, err := renderDocs(spec)
	if err != nil {
		return nil, fmt.Errorf("rendering API page: %w", err)
	}
	root.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(docs)
	})
	if opts.Console != nil {
		root.Handle("/console/", opts.Console)
		root.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/console/", http.StatusFound)
		})
	}
	root.Handle("/", limitBody(exportData(exportCSV(mux)), opts.MaxBodyBytes))

	var h http.Handler = root
	if len(opts.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins: opts.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
			AllowedHeaders: []string{"Authorization", "Content-Type", "If-Match", "X-Request-Id"},
			ExposedHeaders: []string{"ETag", "X-Request-Id"},
			MaxAge:         600,
		}).Handler(h)
	}
	return h, nil
}

// limitBody rejects bodies over max bytes before they reach the decoder.
func limitBody(next http.Handler, max int64) http.Handler {
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeStatus(w, http.StatusRequestEntityTooLarge, "RESOURCE_EXHAUSTED",
				fmt.Sprintf("request body is %d bytes; the limit is %d", r.ContentLength, max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// routingError answers unknown routes and wrong methods with the same JSON
// status shape as every other error.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
	switch code {
	case http.StatusNotFound:
		writeStatus(w, code, "NOT_FOUND", fmt.Sprintf("no route for %s %s; see /docs", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		writeStatus(w, code, "UNIMPLEMENTED", fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
	default:
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, code)
	}
}

// writeStatus writes a google.rpc.Status-shaped JSON error.
func writeStatus(w http.ResponseWriter, httpCode int, grpcCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	code := map[string]int{"NOT_FOUND": 5, "UNIMPLEMENTED": 12, "RESOURCE_EXHAUSTED": 8}[grpcCode]
	fmt.Fprintf(w, `{"code":%d,"message":%q,"details":[]}`, code, strings.ReplaceAll(msg, `"`, `'`))
}
