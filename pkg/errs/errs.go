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
	"time"
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
	KindOutOfRange
	// kindCount is one past the last kind; Kinds lists them all.
	kindCount
)

// Kinds returns every declared kind, so a test can check each has a code.
func Kinds() []Kind {
	out := make([]Kind, kindCount)
	for k := range kindCount {
		out[k] = k
	}
	return out
}

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
	KindOutOfRange:         "out of range",
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
	// RetryAfter, when set, tells the caller how long to wait before
	// retrying (google.rpc.RetryInfo).
	RetryAfter time.Duration
	// Cause is kept for logs; it is never sent to the caller.
	Cause error
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Violations) > 1 {
		// The message names the first violation only; logs get them all.
		parts := make([]string, len(e.Violations))
		for i, v := range e.Violations {
			parts[i] = v.Field + ": " + v.Description
		}
		msg = strings.Join(parts, "; ")
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

// WithRetryAfter returns e telling the caller to wait d before retrying.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	e.RetryAfter = d
	return e
}

// WithField returns e naming a request field it is about (BadRequest).
func (e *Error) WithField(field, description string) *Error {
	e.Violations = append(e.Violations, FieldViolation{Field: field, Description: description})
	return e
}

// WithCause returns e keeping err for the log.
func (e *Error) WithCause(err error) *Error {
	e.Cause = err
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
	return Violations{{Field: field, Description: fmt.Sprintf(format, args...)}}.invalid("INVALID_ARGUMENT")
}

// InvalidFieldReason reports one bad field with a reason more specific
// than INVALID_ARGUMENT (e.g. REQUEST_ID_REUSED).
func InvalidFieldReason(reason, field, format string, args ...any) *Error {
	return Violations{{Field: field, Description: fmt.Sprintf(format, args...)}}.invalid(reason)
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
	return v.invalid("INVALID_ARGUMENT")
}

// invalid builds the error. Its message is useful on its own, as Google
// APIs' are, for clients that show only status.message: the first
// violation, and how many more the BadRequest details list.
func (v Violations) invalid(reason string) *Error {
	msg := v[0].Field + ": " + v[0].Description
	switch n := len(v) - 1; {
	case n == 1:
		msg += " (and 1 more violation)"
	case n > 1:
		msg += fmt.Sprintf(" (and %d more violations)", n)
	}
	return &Error{Kind: KindInvalidArgument, Reason: reason, Message: msg, Violations: v}
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

// Aborted reports a conflict with a concurrent change; retrying the whole
// read-modify-write may succeed.
func Aborted(reason, format string, args ...any) *Error {
	return New(KindAborted, reason, format, args...)
}

// ResourceExhausted reports a quota or limit the caller has reached.
func ResourceExhausted(reason, format string, args ...any) *Error {
	return New(KindResourceExhausted, reason, format, args...)
}

// Unavailable reports a dependency that cannot answer now; the call may
// succeed if retried.
func Unavailable(reason, format string, args ...any) *Error {
	return New(KindUnavailable, reason, format, args...)
}

// DeadlineExceeded reports work that ran out of time.
func DeadlineExceeded(reason, format string, args ...any) *Error {
	return New(KindDeadlineExceeded, reason, format, args...)
}

// Canceled reports a request its caller gave up on.
func Canceled(format string, args ...any) *Error {
	return New(KindCanceled, "CANCELED", format, args...)
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
	return New(KindInternal, "INTERNAL", "internal error").WithCause(err)
}

// OutOfRange reports a position past what exists or is still kept, such as
// a stream cursor behind the retained events; the caller can act on it
// (resynchronise, ask for a smaller page).
func OutOfRange(reason, format string, args ...any) *Error {
	return New(KindOutOfRange, reason, format, args...)
}
