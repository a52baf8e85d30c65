package ddexport_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

func ExampleNew() {
	// A fake Agent stands in for the real one at localhost:8126.
	agent, err := ddtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	exp, err := ddexport.New(
		ddexport.WithAgentURL(agent.URL()),
		ddexport.WithService("checkout"),
		ddexport.WithEnv("prod"),
	)
	if err != nil {
		log.Fatal(err)
	}
	// The span processor sends each local trace whole, as Datadog's tracers do.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp)))
	tracer := tp.Tracer("example")

	ctx, span := tracer.Start(context.Background(), "GET /cart",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", "GET"),
			attribute.String("http.route", "/cart"),
			attribute.Int("http.response.status_code", 200),
		))
	_, child := tracer.Start(ctx, "load cart")
	child.End()
	span.End()

	// Shutdown flushes the spans and shuts the exporter down.
	if err := tp.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}

	for _, s := range agent.Spans() {
		fmt.Printf("%s %s %q type=%s env=%s http.status_code=%v\n",
			s.Service, s.Name, s.Resource, s.Type, s.Meta["env"], s.Metrics["http.status_code"])
	}
	st := exp.Stats()
	fmt.Printf("exported %d, dropped %d\n", st.SpansExported, st.SpansDropped)
	// Output:
	// checkout http.server.request "GET /cart" type=web env=prod http.status_code=200
	// checkout Internal "load cart" type=custom env=prod http.status_code=0
	// exported 2, dropped 0
}
