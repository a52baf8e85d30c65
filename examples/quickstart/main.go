package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/seed03c8c003/ddslog/ddotel"
)

// service is the Datadog service the demo reports as.
const service = "quickstart"

// localAgent is where a Datadog Agent listens by default.
const localAgent = "http://localhost:8126"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, os.Stdout, os.Stderr, localAgent); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run runs the demo: JSON logs on stdout, spans to a Datadog Agent, and, when
// no agent was found and an embedded one received the spans, a summary of
// them on stdout, which run also returns.
//
// The agent is the one DD_TRACE_AGENT_URL, DD_AGENT_HOST or
// DD_TRACE_AGENT_PORT names (as ddexport reads them), else the one
// answering at probeURL (an empty probeURL looks for none), else an
// embedded test agent.
func run(ctx context.Context, stdout, stderr io.Writer, probeURL string) (received []ddtest.Span, err error) {
	// Logs: JSON on stdout. ddotel.Start wraps this default handler in the
	// correlating one. The previous default is restored on return, so that
	// nothing writes to stdout after run.
	prev := slog.Default()
	defer slog.SetDefault(prev)
	slog.SetDefault(slog.New(slog.NewJSONHandler(stdout, nil)))

	opts := []ddotel.Option{ddotel.WithService(service), ddotel.WithEnv("demo"), ddotel.WithVersion("1.0.0")}
	var agent *ddtest.Agent
	switch {
	case os.Getenv("DD_TRACE_AGENT_URL") != "" || os.Getenv("DD_AGENT_HOST") != "" || os.Getenv("DD_TRACE_AGENT_PORT") != "":
		fmt.Fprintln(stderr, "quickstart: sending spans to the Datadog Agent named by DD_TRACE_AGENT_URL / DD_AGENT_HOST / DD_TRACE_AGENT_PORT")
	case probeURL != "" && agentAnswers(ctx, probeURL):
		fmt.Fprintln(stderr, "quickstart: sending spans to the Datadog Agent at", probeURL)
		opts = append(opts, ddotel.WithExporterOptions(ddexport.WithAgentURL(probeURL)))
	default:
		agent, err = ddtest.Start()
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, agent.Close()) }()
		fmt.Fprintln(stderr, "quickstart: no Datadog Agent found; sending spans to an embedded test agent at", agent.URL())
		opts = append(opts, ddotel.WithExporterOptions(ddexport.WithAgentURL(agent.URL())))
	}

	// Tracing to that agent, and the correlating handler over the default
	// logger.
	shutdown, err := ddotel.Start(ctx, opts...)
	if err != nil {
		return nil, err
	}
	workErr := workload(ctx)

	// Flush every span to the agent before reading what it received.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := errors.Join(workErr, shutdown(sctx)); err != nil {
		return nil, err
	}
	if agent == nil {
		return nil, nil
	}
	received = agent.Spans()
	if err := printSummary(stdout, received); err != nil {
		return nil, err
	}
	return received, nil
}

// agentAnswers reports whether a Datadog Agent answers GET /info at base
// quickly.
func agentAnswers(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/info", nil)
	if err != nil {
		return false
	}
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode == http.StatusOK
}
