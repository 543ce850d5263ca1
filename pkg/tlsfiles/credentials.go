package tlsfiles

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
)

// reloading is what Server and Client return: each handshake is made by
// credentials built from the files' current content.
type reloading struct{ f *Files }

var _ credentials.TransportCredentials = reloading{}

func (r reloading) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	client := r.f.current().client
	if client == nil {
		return nil, nil, errors.New("tls: outgoing TLS without KEHU_TLS_CA_FILE")
	}
	// gRPC's TLS credentials take the name to verify from the authority,
	// whatever tls.Config.ServerName says, so the override goes here.
	if r.f.cfg.ServerName != "" {
		authority = r.f.cfg.ServerName
	}
	return client.ClientHandshake(ctx, authority, conn)
}

func (r reloading) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	server := r.f.current().server
	if server == nil {
		return nil, nil, errors.New("tls: serving TLS without KEHU_TLS_CERT_FILE")
	}
	return server.ServerHandshake(conn)
}

// Info is what credentials.NewTLS reports; a ServerName set here becomes
// the channel's authority, as gRPC does for its own TLS credentials.
func (r reloading) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.2", ServerName: r.f.cfg.ServerName}
}

// Clone shares the files: a clone follows the same rotation.
func (r reloading) Clone() credentials.TransportCredentials { return r }

// OverrideServerName is deprecated in gRPC and unused by it.
func (r reloading) OverrideServerName(string) error {
	return errors.New("tls: set KEHU_TLS_SERVER_NAME instead")
}
