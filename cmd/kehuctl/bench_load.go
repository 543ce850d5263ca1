package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// loadTarget is one thing the load generator calls: call does request i
// of a worker and reports an error for anything but a good answer.
type loadTarget struct {
	name string
	// pid is the process serving the calls, whose CPU time is read from
	// /proc before and after; 0 when it is this process or unknown.
	pid  int
	call func(ctx context.Context, i int) error
}

// loadResult is one closed-loop run: calls per second, latency percentiles
// (HDR histogram, microsecond resolution) and the server's CPU per call.
type loadResult struct {
	calls      int64
	rps        float64
	p50, p99   time.Duration
	cpuPerCall time.Duration // 0 when not measured
}

// runLoad calls t from concurrency workers for d, each starting again as
// soon as its call returns, after a short warm-up that is not counted.
func runLoad(ctx context.Context, t loadTarget, concurrency int, d time.Duration) (loadResult, error) {
	warm, cancelWarm := context.WithTimeout(ctx, min(d/5, time.Second))
	if _, _, err := drive(warm, t, concurrency); err != nil && warm.Err() == nil {
		cancelWarm()
		return loadResult{}, fmt.Errorf("%s: %w", t.name, err)
	}
	cancelWarm()
	cpu0 := cpuTime(t.pid)
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	hist, calls, err := drive(runCtx, t, concurrency)
	elapsed := time.Since(start)
	if err != nil {
		return loadResult{}, fmt.Errorf("%s: %w", t.name, err)
	}
	if calls == 0 {
		return loadResult{}, fmt.Errorf("%s: no call completed", t.name)
	}
	r := loadResult{
		calls: calls, rps: float64(calls) / elapsed.Seconds(),
		p50: time.Duration(hist.ValueAtQuantile(50)) * time.Microsecond,
		p99: time.Duration(hist.ValueAtQuantile(99)) * time.Microsecond,
	}
	if cpu1 := cpuTime(t.pid); t.pid > 0 && cpu1 > cpu0 {
		r.cpuPerCall = (cpu1 - cpu0) / time.Duration(calls)
	}
	return r, nil
}

// drive runs the workers until ctx ends; a failed call stops the run.
func drive(ctx context.Context, t loadTarget, concurrency int) (*hdrhistogram.Histogram, int64, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		calls    atomic.Int64
		firstErr atomic.Pointer[error]
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for w := range concurrency {
		wg.Go(func() {
			mine := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
			for i := w; runCtx.Err() == nil; i += concurrency {
				start := time.Now()
				if err := t.call(runCtx, i); err != nil {
					if runCtx.Err() == nil {
						firstErr.CompareAndSwap(nil, &err)
						stop()
					}
					break
				}
				_ = mine.RecordValue(time.Since(start).Microseconds())
				calls.Add(1)
			}
			mu.Lock()
			total.Merge(mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return nil, 0, *p
	}
	return total, calls.Load(), nil
}

// cpuTime is the user + system CPU time process pid has used so far, from
// /proc/<pid>/stat (clock ticks of 10 ms); 0 if unknown.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from after ")".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
