// Package errs is Kehu's error vocabulary. Domain and store code return these
// errors; the server's error interceptor is the single place that turns them
// into gRPC statuses (google.rpc.Status with ErrorInfo and BadRequest
// details), so every service reports the same failure the same way.
//
// The package has no gRPC or database dependency on purpose: the domain layer
// speaks it without knowing about transports.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it. Each kind maps
// to exactly one gRPC code.
type Kind int

// The kinds, named after the gRPC codes they map to.
const (
	KindInternal Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	KindFailedPrecondition
	KindAborted
	KindPermissionDenied
	KindUnauthenticated
	KindResourceExhausted
	KindUnavailable
	KindDeadlineExceeded
	KindCanceled
)

var kindNames = [...]string{
	KindInternal:           "internal",
	KindInvalidArgument:    "invalid argument",
	KindNotFound:           "not found",
	KindAlreadyExists:      "already exists",
	KindFailedPrecondition: "failed precondition",
	KindAborted:            "aborted",
	KindPermissionDenied:   "permission denied",
	KindUnauthenticated:    "unauthenticated",
	KindResourceExhausted:  "resource exhausted",
	KindUnavailable:        "unavailable",
	KindDeadlineExceeded:   "deadline exceeded",
	KindCanceled:           "canceled",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// FieldViolation names one bad request field, as in google.rpc.BadRequest.
// Field is a dotted path in proto field names, e.g. "customer.emails[1]".
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a classified error. Reason is a stable UPPER_SNAKE_CASE identifier
// clients may switch on; Message is for humans and must never carry secrets.
type Error struct {
	Kind       Kind
	Reason     string
	Message    string
	Metadata   map[string]string
	Violations []FieldViolation
	// Cause is kept for logs; it is never sent to the caller.
	Cause error
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Violations) > 0 {
		parts := make([]string, len(e.Violations))
		for i, v := range e.Violations {
			parts[i] = v.Field + ": " + v.Description
		}
		if msg == "" {
			msg = strings.Join(parts, "; ")
		} else {
			msg += " (" + strings.Join(parts, "; ") + ")"
		}
	}
	if e.Cause != nil {
		return msg + ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// WithMetadata returns e with a metadata entry added (for ErrorInfo).
func (e *Error) WithMetadata(key, value string) *Error {
	if e.Metadata == nil {
		e.Metadata = map[string]string{}
	}
	e.Metadata[key] = value
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err; unclassified errors are internal.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err is classified as kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// InvalidField reports one bad field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{
		Kind:       KindInvalidArgument,
		Reason:     "INVALID_ARGUMENT",
		Message:    "invalid request",
		Violations: []FieldViolation{{Field: field, Description: fmt.Sprintf(format, args...)}},
	}
}

// Violations collects every problem with a request so the caller learns all of
// them at once instead of one per round trip.
type Violations []FieldViolation

// Add records a problem with field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an INVALID_ARGUMENT error listing the violations, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalidArgument, Reason: "INVALID_ARGUMENT", Message: "invalid request", Violations: v}
}

// NotFound reports that a resource does not exist or the caller may not see
// it: the two look the same on purpose, so callers cannot probe for existence.
func NotFound(name string) *Error {
	return &Error{
		Kind:     KindNotFound,
		Reason:   "RESOURCE_NOT_FOUND",
		Message:  fmt.Sprintf("%s not found", name),
		Metadata: map[string]string{"resource": name},
	}
}

// New builds an error of any kind with a reason and message.
func New(kind Kind, reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// AlreadyExists reports a conflict with an existing resource.
func AlreadyExists(reason, format string, args ...any) *Error {
	return New(KindAlreadyExists, reason, format, args...)
}

// FailedPrecondition reports that the system is not in a state where the
// request can be carried out.
func FailedPrecondition(reason, format string, args ...any) *Error {
	return New(KindFailedPrecondition, reason, format, args...)
}

// EtagMismatch reports a stale etag: the resource changed since the caller
// read it (optimistic concurrency).
func EtagMismatch(name string) *Error {
	return &Error{
		Kind:     KindAborted,
		Reason:   "ETAG_MISMATCH",
		Message:  fmt.Sprintf("%s was changed by someone else; read it again and retry", name),
		Metadata: map[string]string{"resource": name},
	}
}

// PermissionDenied reports a caller who is known but not allowed.
func PermissionDenied(format string, args ...any) *Error {
	return New(KindPermissionDenied, "PERMISSION_DENIED", format, args...)
}

// Unauthenticated reports a missing or invalid credential.
func Unauthenticated(format string, args ...any) *Error {
	return New(KindUnauthenticated, "UNAUTHENTICATED", format, args...)
}

// Internal wraps an unexpected error. Its text is logged, never returned.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Reason: "INTERNAL", Message: "internal error", Cause: err}
}
