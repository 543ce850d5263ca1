package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrument counts and times requests and logs each one as JSON. Routes are
// not used as labels (resource names would explode cardinality); the status
// code and method are.
func Instrument(next http.Handler, reg prometheus.Registerer, logger *slog.Logger) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_gateway_requests_total", Help: "HTTP requests by method and status code.",
	}, []string{"method", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kehu_gateway_request_duration_seconds", Help: "HTTP request latency.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method"})
	reg.MustRegister(requests, latency)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		requests.WithLabelValues(r.Method, strconv.Itoa(rec.code)).Inc()
		latency.WithLabelValues(r.Method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if rec.code >= 500 {
			level = slog.LevelError
		}
		logger.Log(r.Context(), level, "http request",
			"method", r.Method, "path", r.URL.Path, "code", rec.code,
			"duration_ms", elapsed.Milliseconds(), "request_id", w.Header().Get("X-Request-Id"))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush keeps server-streaming responses (export, events) flowing.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
