package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProcess is a Redis server the bench runs for itself, keeping
// nothing on disk.
type redisProcess struct {
	url  string
	port int
	stop func()
}

// startRedis starts a Redis server on a free loopback port.
func startRedis(dir string) (*redisProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	return startRedisAt(dir, port)
}

// startRedisAt starts a Redis server on port, empty.
func startRedisAt(dir string, port int) (*redisProcess, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server (apt-get install redis-server): %w", err)
	}
	r := &redisProcess{url: fmt.Sprintf("redis://127.0.0.1:%d/0", port), port: port}
	r.stop = sync.OnceFunc(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); client.Ping(context.Background()).Err() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer", port)
		}
	}
	return r, nil
}
