package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seed03c8c003/ddslog/ddotel"
)

// shutdownTimeout bounds the graceful shutdown: in-flight requests, then the
// flush of their spans.
const shutdownTimeout = 10 * time.Second

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	inventory := flag.String("inventory", "", "base URL of the inventory service (default: this server)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "httpserver: listening on http://%s; try: curl http://%s/orders/42\n", ln.Addr(), ln.Addr())
	if err := run(ctx, ln, os.Stdout, *inventory, ddotel.WithService("httpserver")); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

// run serves HTTP on ln, with JSON logs on logOut, until ctx is done; then it
// stops accepting requests, lets the ones in flight finish and flushes their
// spans to the Datadog Agent. The order handler asks the inventory service at
// inventoryURL, or, when it is empty, the one this server runs. opts configure
// ddotel.Start.
func run(ctx context.Context, ln net.Listener, logOut io.Writer, inventoryURL string, opts ...ddotel.Option) (err error) {
	prev := slog.Default()
	defer slog.SetDefault(prev)
	slog.SetDefault(slog.New(slog.NewJSONHandler(logOut, nil)))

	// Tracer provider sending whole traces to ddexport, the Datadog + W3C
	// propagator, and the correlating slog handler over the default logger.
	shutdownTracing, err := ddotel.Start(ctx, opts...)
	if err != nil {
		_ = ln.Close()
		return err
	}

	if inventoryURL == "" {
		inventoryURL = "http://" + ln.Addr().String()
	}
	srv := newServer(inventoryURL)
	httpSrv := &http.Server{
		Handler:           srv.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelError),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	served := false
	select {
	case <-ctx.Done():
	case err = <-serveErr: // the listener failed
		served = true
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	// Shutdown returns once every request has been answered, so every
	// server span has ended before the flush below.
	if shutErr := httpSrv.Shutdown(sctx); shutErr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", shutErr))
	}
	if !served {
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	srv.close()
	slog.InfoContext(sctx, "server stopped; flushing spans")
	if terr := shutdownTracing(sctx); terr != nil {
		err = errors.Join(err, fmt.Errorf("flush spans: %w", terr))
	}
	return err
}
