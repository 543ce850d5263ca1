package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report renders the run as Markdown: the machine, the versions, then one
// line per measurement with its limit and the ratio, each a median over
// the interleaved rounds (the ratio is the median of the per-round ratios).
func (b *bench) report() string {
	var s strings.Builder
	fmt.Fprintf(&s, "## Latest run\n\n")
	fmt.Fprintf(&s, "`make bench` (`kehuctl bench`) on %s: %d CPUs, %s, %s, %s, PocketBase %s. ",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), commandVersion("postgres", "--version"), commandVersion("redis-server", "--version"), pocketBaseVersion)
	fmt.Fprintf(&s, "%d customers, each side loaded with the same; %d concurrent callers; %d interleaved rounds of %s; load generator, suite, peer, PostgreSQL and Redis all on this machine. By-id reads go to a working set of %d customers in random order unless the row says \"uniform\". Kehu runs at log level warn with rate limits off, PocketBase with its request log off.\n\n",
		len(b.customers), b.opts.concurrency, b.opts.rounds, b.opts.duration, min(hotSet, len(b.customers)))
	fmt.Fprintf(&s, "| mode | call | Kehu | p50 | p99 | server CPU/call | limit or peer | limit | p99 | ratio |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		ratios := make([]loadResult, len(r.results))
		for i := range r.results {
			ratios[i] = loadResult{rps: r.results[i].rps / r.limits[i].rps}
		}
		rps := func(x loadResult) float64 { return x.rps }
		p50 := func(x loadResult) float64 { return float64(x.p50) }
		p99 := func(x loadResult) float64 { return float64(x.p99) }
		cpu := func(x loadResult) float64 { return float64(x.cpuPerCall) }
		cpuText := "–"
		if c := median(r.results, cpu); c > 0 {
			cpuText = fmt.Sprintf("%.3f ms", c/1e6)
			if lc := median(r.limits, cpu); lc > 0 {
				cpuText += fmt.Sprintf(" (limit %.3f ms)", lc/1e6)
			}
		}
		fmt.Fprintf(&s, "| %s | %s | %.0f %s | %s | %s | %s | %s | %.0f | %s | **%.2f×** |\n", r.section, r.name,
			median(r.results, rps), r.unit, time.Duration(median(r.results, p50)).Round(10*time.Microsecond), time.Duration(median(r.results, p99)).Round(10*time.Microsecond),
			cpuText, r.limitName, median(r.limits, rps), time.Duration(median(r.limits, p99)).Round(10*time.Microsecond), median(ratios, rps))
	}
	fmt.Fprintf(&s, "\n| bulk load | Kehu | limit | limit rows/s | ratio |\n|---|---|---|---|---|\n")
	for _, r := range b.loads {
		fmt.Fprintf(&s, "| %s | %.0f rows/s | %s | %.0f | **%.2f×** |\n", r.name, r.results[0].rps, r.limitName, r.limits[0].rps, r.results[0].rps/r.limits[0].rps)
	}
	if len(b.scale) > 0 {
		fmt.Fprintf(&s, "\n| at scale: %d more customers, %d interactions (kehuctl seed) | |\n|---|---|\n", b.opts.scale, 10*b.opts.scale)
		for _, r := range b.scale {
			fmt.Fprintf(&s, "| %s | %s |\n", r.name, r.value)
		}
	}
	for _, n := range b.notes {
		fmt.Fprintf(&s, "\n%s\n", n)
	}
	return s.String()
}

// commandVersion is the first line a server binary prints of its version.
func commandVersion(name, flag string) string {
	out, err := exec.Command(name, flag).Output()
	if err != nil {
		if out, err = exec.Command("/usr/lib/postgresql/15/bin/"+name, flag).Output(); err != nil {
			return name + " (version unknown)"
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
