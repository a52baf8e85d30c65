package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// server is a small order service. GET /orders/{id} asks the inventory
// service, GET /inventory/{id} — here the same process, reached over HTTP
// like any other service — how many items are in stock.
type server struct {
	inventoryURL string // base URL of the inventory service
	client       *http.Client
	tracer       trace.Tracer
}

func newServer(inventoryURL string) *server {
	return &server{
		inventoryURL: inventoryURL,
		client:       &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 5 * time.Second},
		tracer:       otel.Tracer("github.com/seed03c8c003/ddslog/examples/httpserver"),
	}
}

// close releases the client's idle connections.
func (s *server) close() { s.client.CloseIdleConnections() }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", s.traced("/orders/{id}", s.order))
	mux.Handle("GET /inventory/{id}", s.traced("/inventory/{id}", s.inventory))
	return mux
}

// traced runs h under a server span that continues the trace of the
// incoming request: the global propagator (ddotel installs Datadog and W3C
// trace context) reads its headers.
func (s *server) traced(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", route),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"),
			attribute.String("user_agent.original", r.UserAgent()),
		}
		attrs = appendHostPort(attrs, "server", r.Host)
		attrs = appendHostPort(attrs, "client", r.RemoteAddr)
		ctx, span := s.tracer.Start(ctx, r.Method+" "+route,
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()

		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
	})
}

// appendHostPort appends <prefix>.address and <prefix>.port from a
// "host:port" string, or the whole string as the address when it has no port.
func appendHostPort(attrs []attribute.KeyValue, prefix, hostport string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return append(attrs, attribute.String(prefix+".address", hostport))
	}
	attrs = append(attrs, attribute.String(prefix+".address", host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int(prefix+".port", p))
	}
	return attrs
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// order answers an order with the stock of its item.
func (s *server) order(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		slog.WarnContext(ctx, "bad order id", "order.id", r.PathValue("id"))
		http.Error(w, "bad order id", http.StatusBadRequest)
		return
	}
	slog.InfoContext(ctx, "loading order", "order.id", id)
	stock, err := s.stock(ctx, id)
	if err != nil {
		// Marks the server span as failed, with an exception event.
		slog.ErrorContext(ctx, "inventory unavailable", "order.id", id, "err", err)
		http.Error(w, "inventory unavailable", http.StatusBadGateway)
		return
	}
	slog.InfoContext(ctx, "order loaded", "order.id", id, "stock", stock)
	writeJSON(w, map[string]int{"order": id, "stock": stock})
}

// inventory answers the stock of an item; items from 1000 on are unknown.
func (s *server) inventory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad item id", http.StatusBadRequest)
		return
	}
	if id >= 1000 {
		slog.WarnContext(ctx, "unknown item", "item.id", id)
		http.Error(w, "unknown item", http.StatusNotFound)
		return
	}
	stock := 100 - id
	slog.InfoContext(ctx, "stock checked", "item.id", id, "stock", stock)
	writeJSON(w, map[string]int{"item": id, "stock": stock})
}

// stock asks the inventory service under a client span, sending the trace
// context in the request headers.
func (s *server) stock(ctx context.Context, id int) (int, error) {
	url := s.inventoryURL + "/inventory/" + strconv.Itoa(id)
	ctx, span := s.tracer.Start(ctx, "GET",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", http.MethodGet),
			attribute.String("url.full", url),
			attribute.String("url.template", "/inventory/{id}"),
		))
	defer span.End()

	stock, err := s.getStock(ctx, url, span)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return stock, err
}

func (s *server) getStock(ctx context.Context, url string, span trace.Span) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("inventory: %s", resp.Status)
	}
	var body struct {
		Stock *int `json:"stock"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("inventory: %w", err)
	}
	if body.Stock == nil {
		return 0, errors.New("inventory: no stock in answer")
	}
	return *body.Stock, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
