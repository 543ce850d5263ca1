package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
)

// bareCustomerServer answers GetCustomer with one fixed, fully populated
// customer and does nothing else: what gRPC itself costs on this machine,
// the limit a real lookup is measured against.
type bareCustomerServer struct {
	customerv1.UnimplementedCustomerServiceServer
	answer *customerv1.GetCustomerResponse
}

func (s bareCustomerServer) GetCustomer(context.Context, *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	return s.answer, nil
}

// bareAnalyticsServer answers GetCustomerSegments with a constant.
type bareAnalyticsServer struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
}

func (bareAnalyticsServer) GetCustomerSegments(context.Context, *analyticsv1.GetCustomerSegmentsRequest) (*analyticsv1.GetCustomerSegmentsResponse, error) {
	return &analyticsv1.GetCustomerSegmentsResponse{Segments: []string{"segments/high-value", "segments/repeat"}}, nil
}

// runBareServer is the hidden `kehuctl bench-bare ADDR`, run by the bench
// as its own process so that its CPU time can be read apart.
func runBareServer(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: bench-bare ADDR", errUsage)
	}
	lis, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	c := benchCustomers(1)[0].proto()
	c.Name, c.Etag = "customers/01a2089f-441e-7dde-a9f3-403fc5b95c51", `W/"1"`
	c.CreateTime, c.UpdateTime = timestamppb.Now(), timestamppb.Now()
	srv := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(srv, bareCustomerServer{answer: &customerv1.GetCustomerResponse{Customer: c}})
	analyticsv1.RegisterAnalyticsServiceServer(srv, bareAnalyticsServer{})
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	return srv.Serve(lis)
}

// bareProcess is the bare server the bench started.
type bareProcess struct {
	addr string
	pid  int
}

func (b *bench) startBare(ctx context.Context) (*bareProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "bench-bare", addr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.stops = append(b.stops, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) || strings.Contains(err.Error(), "no such") {
			return nil, fmt.Errorf("bare server on %s: %w", addr, err)
		}
	}
	return &bareProcess{addr: addr, pid: cmd.Process.Pid}, nil
}
