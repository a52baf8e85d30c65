package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// request is one simulated incoming HTTP request.
type request struct {
	method, route, path string
	user                string
	items               int
	paymentDown         bool // the payment provider answers 502
}

// requests is the demo's traffic: two that succeed, one that fails.
var requests = []request{
	{method: http.MethodGet, route: "/products/{id}", path: "/products/42", user: "u-1001"},
	{method: http.MethodPost, route: "/cart", path: "/cart", user: "u-1001", items: 3},
	{method: http.MethodPost, route: "/checkout", path: "/checkout", user: "u-2002", items: 2, paymentDown: true},
}

// errPaymentUnavailable is the failure of the third request.
var errPaymentUnavailable = errors.New("payment provider unavailable")

// workload serves the simulated requests one after the other, each under its
// own trace. A request that fails is answered with an error status; only a
// cancelled ctx makes workload return an error.
func workload(ctx context.Context) error {
	tracer := otel.Tracer("github.com/seed03c8c003/ddslog/examples/quickstart")
	for _, req := range requests {
		if err := ctx.Err(); err != nil {
			return err
		}
		serve(ctx, tracer, req)
	}
	return ctx.Err()
}

// serve handles one request under a server span, as HTTP middleware would.
func serve(ctx context.Context, tracer trace.Tracer, req request) {
	ctx, span := tracer.Start(ctx, req.method+" "+req.route,
		trace.WithNewRoot(), // each request is its own trace, as if from a client
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", req.method),
			attribute.String("http.route", req.route),
			attribute.String("url.path", req.path),
			attribute.String("url.scheme", "http"),
			attribute.String("server.address", "shop.example"),
			attribute.String("client.address", "203.0.113.7"),
			attribute.String("user_agent.original", "curl/8.5.0"),
		))
	defer span.End()
	slog.InfoContext(ctx, "request started", "http.method", req.method, "http.path", req.path, "user.id", req.user)

	status := http.StatusOK
	var err error
	switch req.route {
	case "/products/{id}":
		err = showProduct(ctx, tracer, 42)
	case "/cart":
		err = addToCart(ctx, tracer, req)
	case "/checkout":
		err = checkout(ctx, tracer, req)
	}
	if err != nil {
		status = http.StatusBadGateway
		// An error record with an err attribute marks the span in ctx as
		// failed and records an exception event from err.
		slog.ErrorContext(ctx, "request failed", "err", err, "http.status_code", status, "user.id", req.user)
	} else {
		slog.InfoContext(ctx, "request finished", "http.status_code", status)
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
}

func showProduct(ctx context.Context, tracer trace.Tracer, id int) error {
	if err := query(ctx, tracer, "SELECT id, name, price FROM products WHERE id = $1", 4*time.Millisecond); err != nil {
		return err
	}
	stock, err := callHTTP(ctx, tracer, http.MethodGet, "http://inventory.internal/stock/"+strconv.Itoa(id), "/stock/{id}", http.StatusOK, 6*time.Millisecond)
	if err != nil {
		return err
	}
	slog.InfoContext(ctx, "product loaded", "product.id", id, "stock", stock)
	return render(ctx, tracer, "product.html")
}

func addToCart(ctx context.Context, tracer trace.Tracer, req request) error {
	if err := query(ctx, tracer, "INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)", 3*time.Millisecond); err != nil {
		return err
	}
	if req.items > 2 {
		slog.WarnContext(ctx, "cart is getting large", "cart.items", req.items, "limit", 5)
	}
	return render(ctx, tracer, "cart.html")
}

func checkout(ctx context.Context, tracer trace.Tracer, req request) error {
	if err := query(ctx, tracer, "SELECT product_id, quantity FROM cart_items WHERE user_id = $1", 3*time.Millisecond); err != nil {
		return err
	}
	status := http.StatusOK
	if req.paymentDown {
		status = http.StatusBadGateway
	}
	if _, err := callHTTP(ctx, tracer, http.MethodPost, "https://payments.example/v1/charges", "/v1/charges", status, 9*time.Millisecond); err != nil {
		return fmt.Errorf("charge %d items: %w", req.items, err)
	}
	return nil
}

// query simulates a PostgreSQL query under a client span.
func query(ctx context.Context, tracer trace.Tracer, statement string, latency time.Duration) error {
	ctx, span := tracer.Start(ctx, "query",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.namespace", "shop"),
			attribute.String("db.query.text", statement),
			attribute.String("server.address", "db.internal"),
			attribute.Int("server.port", 5432),
		))
	defer span.End()
	return work(ctx, latency)
}

// callHTTP simulates an outgoing HTTP call under a client span; the remote
// side answers status.
func callHTTP(ctx context.Context, tracer trace.Tracer, method, url, template string, status int, latency time.Duration) (stock int, err error) {
	ctx, span := tracer.Start(ctx, method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", method),
			attribute.String("url.full", url),
			attribute.String("url.template", template),
		))
	defer span.End()
	if err := work(ctx, latency); err != nil {
		return 0, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		err := fmt.Errorf("%s %s: %w (status %d)", method, url, errPaymentUnavailable, status)
		span.SetStatus(codes.Error, http.StatusText(status))
		slog.WarnContext(ctx, "upstream call failed", "url", url, "http.status_code", status)
		return 0, err
	}
	return 17, nil
}

// render simulates template rendering under an internal span.
func render(ctx context.Context, tracer trace.Tracer, template string) error {
	ctx, span := tracer.Start(ctx, "render", trace.WithAttributes(attribute.String("template", template)))
	defer span.End()
	slog.DebugContext(ctx, "rendering", "template", template) // below the JSON handler's level: not written
	return work(ctx, time.Millisecond)
}

// work stands for the time an operation takes.
func work(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
