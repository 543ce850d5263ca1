// Package ratelimit limits what one caller can cost a service: a token
// bucket per authenticated subject (GCRA, go-redis/redis_rate), shared by
// every replica through Redis, so scaling out does not multiply anyone's
// allowance. A caller over the limit gets RESOURCE_EXHAUSTED with RetryInfo
// (HTTP 429 through the gateway). Redis is not allowed to take the service
// down with it: when it cannot answer, the call is let through and
// kehu_rate_limit_decisions_total{result="error"} says so.
package ratelimit

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Config is a per-caller allowance; Rate 0 turns limiting off.
type Config struct {
	// Rate is the sustained number of calls per Period.
	Rate int
	// Period is the period of Rate (default a second).
	Period time.Duration
	// Burst is how many calls may come at once after a quiet spell.
	Burst int
	// Namespace separates the buckets of different services.
	Namespace string
	// Timeout bounds the Redis round trip of one decision.
	Timeout time.Duration
}

// Limiter decides per call.
type Limiter struct {
	cfg       Config
	limiter   *redis_rate.Limiter
	decisions *prometheus.CounterVec
}

// New returns a Limiter on client (nil when Redis is not configured: then
// every call passes) and registers its metrics in reg.
func New(client *redis.Client, cfg Config, reg prometheus.Registerer) *Limiter {
	if cfg.Burst < cfg.Rate {
		cfg.Burst = cfg.Rate
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Period <= 0 {
		cfg.Period = time.Second
	}
	l := &Limiter{cfg: cfg, decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_rate_limit_decisions_total",
		Help: "Rate limit decisions by result (allowed, limited, error: Redis did not answer and the call was let through).",
	}, []string{"result"})}
	reg.MustRegister(l.decisions)
	if client != nil && cfg.Rate > 0 {
		l.limiter = redis_rate.NewLimiter(client)
	}
	return l
}

// Allow decides for subject; an error is RESOURCE_EXHAUSTED with how long
// to wait.
func (l *Limiter) Allow(ctx context.Context, subject string) error {
	if l.limiter == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
	defer cancel()
	res, err := l.limiter.Allow(ctx, "kehu:ratelimit:"+l.cfg.Namespace+":"+subject, redis_rate.Limit{
		Rate: l.cfg.Rate, Burst: l.cfg.Burst, Period: l.cfg.Period,
	})
	switch {
	case err != nil:
		l.decisions.WithLabelValues("error").Inc()
		return nil
	case res.Allowed == 0:
		l.decisions.WithLabelValues("limited").Inc()
		return errs.ResourceExhausted("RATE_LIMITED",
			"too many requests: at most %d per %s (bursts of %d); retry after %s", l.cfg.Rate, l.cfg.Period, l.cfg.Burst, res.RetryAfter.Round(time.Millisecond)).
			WithRetryAfter(res.RetryAfter)
	}
	l.decisions.WithLabelValues("allowed").Inc()
	return nil
}

// UnaryServerInterceptor limits unary calls of authenticated callers; it
// goes after authentication. Kehu's own services (role service) are not
// limited: their calls are already limited where the users' calls enter.
func (l *Limiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if p, ok := auth.FromContext(ctx); ok && !p.Has(auth.RoleService) {
			if err := l.Allow(ctx, p.Subject); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}
