package dial

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/fullstorydev/grpchan"
	"google.golang.org/grpc"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// LocalScheme prefixes the target of a service served by this very process
// ("inproc:127.0.0.1:9101", the service's bound gRPC address): calls then
// go straight to its handlers through the same server interceptors
// (authentication, limits, logging, metrics, error mapping), with no
// loopback connection, HTTP/2 framing or protobuf encoding on the way.
// One-process deployments (kehuctl dev) wire the services this way.
const LocalScheme = "inproc:"

// Conn is a client connection to a service, over the network or in-process.
type Conn interface {
	grpc.ClientConnInterface
	Close() error
}

var (
	localMu sync.Mutex
	locals  = map[string]grpc.ClientConnInterface{}
)

// RegisterLocal makes ch reachable as LocalScheme+addr until the returned
// function is called. An address taken by another server is refused.
func RegisterLocal(addr string, ch grpc.ClientConnInterface) (unregister func(), err error) {
	localMu.Lock()
	defer localMu.Unlock()
	if _, taken := locals[addr]; taken {
		return nil, fmt.Errorf("dial: %s is already served in this process", addr)
	}
	locals[addr] = ch
	return func() {
		localMu.Lock()
		defer localMu.Unlock()
		if locals[addr] == ch {
			delete(locals, addr)
		}
	}, nil
}

// dialLocal connects to a service of this process with the same deadline,
// credentials and interceptors as a network connection; retries and
// waiting for readiness have nothing to do in-process.
func dialLocal(addr string, o options) (Conn, error) {
	localMu.Lock()
	ch, ok := locals[addr]
	localMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("dial: no service of this process serves %s", addr)
	}
	unary := append([]grpc.UnaryClientInterceptor{deadline(o.timeout)}, o.unary...)
	stream := o.stream
	if o.tokens != nil {
		creds := grpc.PerRPCCredentials(auth.PerRPCCredentials(o.tokens))
		unary = append([]grpc.UnaryClientInterceptor{func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(ctx, method, req, reply, cc, append(opts, creds)...)
		}}, unary...)
		stream = append([]grpc.StreamClientInterceptor{func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, method, append(opts, creds)...)
		}}, stream...)
	}
	return localConn{grpchan.InterceptClientConnStream(grpchan.InterceptClientConnUnary(ch, unary...), stream...)}, nil
}

// localConn has nothing to close: the server owns the channel.
type localConn struct{ grpc.ClientConnInterface }

func (localConn) Close() error { return nil }

func isLocal(target string) (string, bool) {
	return strings.CutPrefix(target, LocalScheme)
}
