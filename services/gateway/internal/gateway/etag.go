package gateway

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/server"
)

// ifMatchKey is the metadata key the If-Match header travels under between
// the gateway's HTTP side and its gRPC client side.
const ifMatchKey = "kehu-if-match"

// etagOf finds the etag of a response: its own "etag" field, or that of the
// resource it wraps (e.g. UpdateCustomerResponse.customer.etag).
func etagOf(m protoreflect.Message) string {
	fields := m.Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil && f.Kind() == protoreflect.StringKind {
		return m.Get(f).String()
	}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && m.Has(f) {
			if e := etagOf(m.Get(f).Message()); e != "" {
				return e
			}
		}
	}
	return ""
}

// setETag copies a response's etag into the ETag header (RFC 9110 quoted).
// A streamed answer has no one message (grpc-gateway passes nil before the
// first), so no ETag.
func setETag(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if m == nil {
		return nil
	}
	if e := etagOf(m.ProtoReflect()); e != "" {
		w.Header().Set("ETag", `"`+e+`"`)
	}
	return nil
}

// setEtagField puts an If-Match value into the request's etag: the request's
// own "etag" field, or (nested) that of the resource in its body, as in
// Update requests. An etag already in the body wins over the header.
func setEtagField(m protoreflect.Message, etag string, nested bool) bool {
	fields := m.Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil && f.Kind() == protoreflect.StringKind {
		// "*" matches any current version: nothing to compare.
		if m.Get(f).String() == "" && etag != "*" {
			m.Set(f, protoreflect.ValueOfString(etag))
		}
		return true
	}
	for i := 0; nested && i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && m.Has(f) {
			if setEtagField(m.Mutable(f).Message(), etag, false) {
				return true
			}
		}
	}
	return false
}

// IfMatchInterceptor is a client interceptor for the gateway's backend
// connections: it moves the If-Match header, which arrives as metadata, into
// the request message's etag field, where the services look for it. A
// condition the method cannot evaluate is refused rather than ignored: If-Match
// on a method without an etag, or a weak tag (W/"3"), which never matches
// strongly (RFC 9110, 13.1.1).
func IfMatchInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	md, ok := metadata.FromOutgoingContext(ctx)
	if ok {
		if vals := md.Get(ifMatchKey); len(vals) > 0 {
			value := strings.TrimSpace(vals[0])
			if strings.HasPrefix(value, "W/") {
				return server.ToStatus(errs.InvalidFieldReason("WEAK_ETAG", "If-Match",
					"needs a strong entity tag, as the ETag header gives it (without W/)")).Err()
			}
			msg, isProto := req.(proto.Message)
			// Only an update compares the etag of the resource in its body; a
			// create's body has an etag field too, but nothing to compare.
			update := strings.HasPrefix(method[strings.LastIndexByte(method, '/')+1:], "Update")
			if etag := strings.Trim(value, `"`); !isProto || !setEtagField(msg.ProtoReflect(), etag, update) {
				return server.ToStatus(errs.InvalidFieldReason("IF_MATCH_UNSUPPORTED", "If-Match",
					"this method has no etag to compare; send the request without If-Match")).Err()
			}
			md = md.Copy()
			delete(md, ifMatchKey)
			ctx = metadata.NewOutgoingContext(ctx, md)
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
