package server

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// ErrorDomain is the ErrorInfo domain of every Kehu error.
const ErrorDomain = "kehu.dev"

var kindCodes = map[errs.Kind]codes.Code{
	errs.KindInternal:           codes.Internal,
	errs.KindInvalidArgument:    codes.InvalidArgument,
	errs.KindNotFound:           codes.NotFound,
	errs.KindAlreadyExists:      codes.AlreadyExists,
	errs.KindFailedPrecondition: codes.FailedPrecondition,
	errs.KindAborted:            codes.Aborted,
	errs.KindPermissionDenied:   codes.PermissionDenied,
	errs.KindUnauthenticated:    codes.Unauthenticated,
	errs.KindResourceExhausted:  codes.ResourceExhausted,
	errs.KindUnavailable:        codes.Unavailable,
	errs.KindDeadlineExceeded:   codes.DeadlineExceeded,
	errs.KindCanceled:           codes.Canceled,
	errs.KindOutOfRange:         codes.OutOfRange,
}

// upperSnake is the form of ErrorInfo reasons (AIP-193).
var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// upperSnakeCode names a code the way reasons are written: "INVALID_ARGUMENT".
func upperSnakeCode(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// ToStatus is the one place where errors become gRPC statuses. Kehu errors
// carry their code, an ErrorInfo (reason, domain, metadata) and, for bad
// input, a BadRequest listing each field violation. Statuses from other
// services pass through unchanged. Anything else is INTERNAL with a
// generic message: causes are for the log, not for callers.
func ToStatus(err error) *status.Status {
	if err == nil {
		return nil
	}
	if e, ok := errs.As(err); ok {
		code, known := kindCodes[e.Kind]
		if !known {
			// A kind without a code is a bug; it must never read as OK.
			code = codes.Internal
		}
		msg := e.Message
		if code == codes.Internal {
			msg = "internal error"
		}
		st := status.New(code, msg)
		reason := e.Reason
		if !upperSnake.MatchString(reason) {
			reason = upperSnakeCode(code)
		}
		details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: e.Metadata}}
		if e.RetryAfter > 0 {
			details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
		}
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range e.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: v.Field, Description: v.Description,
				})
			}
			details = append(details, br)
		}
		if withDetails, derr := st.WithDetails(details...); derr == nil {
			return withDetails
		}
		return st
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	return status.New(codes.Internal, "internal error")
}

// errorUnary maps returned errors and logs the causes of internal ones.
func errorUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, mapError(ctx, logger, info.FullMethod, err)
		}
		return resp, nil
	}
}

func errorStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return mapError(ss.Context(), logger, info.FullMethod, err)
		}
		return nil
	}
}

func mapError(ctx context.Context, logger *slog.Logger, method string, err error) error {
	st := ToStatus(err)
	if st.Code() == codes.Internal {
		logger.ErrorContext(ctx, "internal error", "method", method, "error", err.Error())
	}
	return st.Err()
}
