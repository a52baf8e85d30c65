package ddexport

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Fixture values shared by the mapping and encoding tests.
var (
	fxTraceID  = trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	fxTraceLow = uint64(0x090a0b0c0d0e0f10)
	fxSpanID   = trace.SpanID{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}
	fxSpanNum  = uint64(0x1112131415161718)
	fxStart    = time.Unix(1_700_000_000, 123)
	fxResource = resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("host.name", "web-1"),
	)
	fxScope = instrumentation.Scope{Name: "example.com/lib", Version: "v1.2.3"}
)

// fxStub is a finished internal span of the fixture trace, parentless.
func fxStub() tracetest.SpanStub {
	return tracetest.SpanStub{
		Name: "do-work",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: fxTraceID, SpanID: fxSpanID, TraceFlags: trace.FlagsSampled,
		}),
		SpanKind:             trace.SpanKindInternal,
		StartTime:            fxStart,
		EndTime:              fxStart.Add(1500 * time.Microsecond),
		Resource:             fxResource,
		InstrumentationScope: fxScope,
	}
}

// fxWant is what fxStub becomes, as a chunk root.
func fxWant() wireSpan {
	return wireSpan{
		Service:  "checkout",
		Name:     "Internal",
		Resource: "do-work",
		Type:     "custom",
		TraceID:  fxTraceLow,
		SpanID:   fxSpanNum,
		Start:    fxStart.UnixNano(),
		Duration: 1_500_000,
		Meta: map[string]string{
			"otel.trace_id":        "0102030405060708090a0b0c0d0e0f10",
			"_dd.p.tid":            "0102030405060708",
			"_dd.p.dm":             "-0",
			"otel.status_code":     "Unset",
			"span.kind":            "internal",
			"host.name":            "web-1",
			"otel.scope.name":      "example.com/lib",
			"otel.library.name":    "example.com/lib",
			"otel.scope.version":   "v1.2.3",
			"otel.library.version": "v1.2.3",
		},
		Metrics: map[string]float64{"_sampling_priority_v1": 1, "_dd.top_level": 1},
	}
}

// encodeOne encodes spans as one batch and decodes the result strictly.
func encodeOne(t testing.TB, v APIVersion, cfg *mapConfig, native bool, spans ...sdktrace.ReadOnlySpan) [][]wireSpan {
	t.Helper()
	e := newEncoder(v, cfg)
	body := e.encode(e.chunks(spans), native)
	var got [][]wireSpan
	var err error
	if v == V05 {
		got, err = decodeV05(body)
	} else {
		got, err = decodeV04(body)
	}
	if err != nil {
		t.Fatalf("strict decode of %v payload: %v", v, err)
	}
	e.release()
	return got
}

type mappingCase struct {
	name string
	cfg  mapConfig
	stub func(s *tracetest.SpanStub)
	want func(w *wireSpan)
}

func attrs(kv ...attribute.KeyValue) []attribute.KeyValue { return kv }

func mappingCases() []mappingCase {
	return []mappingCase{
		{
			name: "internal span",
			stub: func(s *tracetest.SpanStub) {},
			want: func(w *wireSpan) {},
		},
		{
			name: "HTTP server, current semantic conventions",
			stub: func(s *tracetest.SpanStub) {
				s.Name = "GET /users/{id}"
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(
					attribute.String("http.request.method", "GET"),
					attribute.String("http.route", "/users/{id}"),
					attribute.String("url.path", "/users/42"),
					attribute.String("url.scheme", "https"),
					attribute.Int("http.response.status_code", 200),
					attribute.String("server.address", "api.example.com"),
					attribute.Int("server.port", 443),
					attribute.String("client.address", "10.0.0.7"),
					attribute.String("user_agent.original", "curl/8.0"),
					attribute.String("network.protocol.version", "1.1"),
					attribute.Int("http.request.body.size", 12),
					attribute.String("http.request.header.x-request-id", "abc"),
					attribute.String("http.request.header.referrer", "https://example.com/"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "http.server.request"
				w.Resource = "GET /users/{id}"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["http.method"] = "GET"
				w.Meta["http.route"] = "/users/{id}"
				w.Meta["url.path"] = "/users/42"
				w.Meta["url.scheme"] = "https"
				w.Meta["http.server_name"] = "api.example.com"
				w.Meta["http.client_ip"] = "10.0.0.7"
				w.Meta["http.useragent"] = "curl/8.0"
				w.Meta["http.version"] = "1.1"
				w.Meta["http.request.headers.x-request-id"] = "abc"
				w.Meta["http.referrer"] = "https://example.com/"
				w.Metrics["http.status_code"] = 200
				w.Metrics["server.port"] = 443
				w.Metrics["http.request.content_length"] = 12
			},
		},
		{
			name: "HTTP server, old semantic conventions",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(
					attribute.String("http.method", "POST"),
					attribute.String("http.route", "/orders"),
					attribute.String("http.target", "/orders?x=1"),
					attribute.Int("http.status_code", 201),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "http.server.request"
				w.Resource = "POST /orders"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["http.method"] = "POST"
				w.Meta["http.route"] = "/orders"
				w.Meta["http.target"] = "/orders?x=1"
				w.Metrics["http.status_code"] = 201
			},
		},
		{
			name: "HTTP client with URL template",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("http.request.method", "GET"),
					attribute.String("url.full", "https://svc/items/7"),
					attribute.String("url.template", "/items/{id}"),
					attribute.Int("http.response.status_code", 404),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "http.client.request"
				w.Resource = "GET /items/{id}"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["http.method"] = "GET"
				w.Meta["http.url"] = "https://svc/items/7"
				w.Meta["url.template"] = "/items/{id}"
				w.Metrics["http.status_code"] = 404
			},
		},
		{
			name: "HTTP client, old conventions, no template, unknown method",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("http.method", "_OTHER"),
					attribute.String("http.url", "https://svc/x"),
					attribute.String("http.route", "/ignored/for/clients"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "http.client.request"
				w.Resource = "HTTP"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["http.method"] = "_OTHER"
				w.Meta["http.url"] = "https://svc/x"
				w.Meta["http.route"] = "/ignored/for/clients"
			},
		},
		{
			name: "HTTP method on an internal span",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(attribute.String("http.method", "GET"), attribute.String("http.route", "/x"))
			},
			want: func(w *wireSpan) {
				w.Resource = "GET"
				w.Meta["http.method"] = "GET"
				w.Meta["http.route"] = "/x"
			},
		},
		{
			name: "PostgreSQL client, old conventions",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("db.system", "postgresql"),
					attribute.String("db.statement", "SELECT * FROM users WHERE id = $1"),
					attribute.String("db.name", "shop"),
					attribute.String("db.user", "app"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "postgresql.query"
				w.Resource = "SELECT * FROM users WHERE id = $1"
				w.Type = "sql"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["db.system"] = "postgresql"
				w.Meta["db.statement"] = "SELECT * FROM users WHERE id = $1"
				w.Meta["db.name"] = "shop"
				w.Meta["db.user"] = "app"
			},
		},
		{
			name: "Redis client, current conventions, db.namespace",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("db.system.name", "redis"),
					attribute.String("db.query.text", "GET k"),
					attribute.String("db.namespace", "0"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "redis.query"
				w.Resource = "GET k"
				w.Type = "redis"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["db.system.name"] = "redis"
				w.Meta["db.query.text"] = "GET k"
				w.Meta["db.namespace"] = "0"
				w.Meta["db.name"] = "0"
			},
		},
		{
			name: "db.statement is preferred to db.query.text",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("db.system", "mongodb"),
					attribute.String("db.query.text", "new"),
					attribute.String("db.statement", "old"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "mongodb.query"
				w.Resource = "old"
				w.Type = "mongodb"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["db.system"] = "mongodb"
				w.Meta["db.query.text"] = "new"
				w.Meta["db.statement"] = "old"
			},
		},
		{
			name: "unknown database, no statement",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(attribute.String("db.system", "Some DB"))
			},
			want: func(w *wireSpan) {
				w.Name = "some_db.query"
				w.Type = "db"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["db.system"] = "Some DB"
			},
		},
		{
			name: "database on a server span",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(attribute.String("db.system", "cassandra"))
			},
			want: func(w *wireSpan) {
				w.Name = "server.request"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["db.system"] = "cassandra"
			},
		},
		{
			name: "Kafka producer",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindProducer
				s.Attributes = attrs(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation", "publish"),
					attribute.String("messaging.destination.name", "orders"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "kafka.publish"
				w.Resource = "publish orders"
				w.Meta["span.kind"] = "producer"
				w.Metrics["_dd.measured"] = 1
				w.Meta["messaging.system"] = "kafka"
				w.Meta["messaging.operation"] = "publish"
				w.Meta["messaging.destination.name"] = "orders"
			},
		},
		{
			name: "RabbitMQ consumer, old destination",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindConsumer
				s.Attributes = attrs(
					attribute.String("messaging.system", "rabbitmq"),
					attribute.String("messaging.operation", "receive"),
					attribute.String("messaging.destination", "jobs"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "rabbitmq.receive"
				w.Resource = "receive jobs"
				w.Meta["span.kind"] = "consumer"
				w.Meta["messaging.system"] = "rabbitmq"
				w.Meta["messaging.operation"] = "receive"
				w.Meta["messaging.destination"] = "jobs"
			},
		},
		{
			name: "messaging on an internal span keeps the kind name",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation", "process"),
				)
			},
			want: func(w *wireSpan) {
				w.Resource = "process"
				w.Meta["messaging.system"] = "kafka"
				w.Meta["messaging.operation"] = "process"
			},
		},
		{
			name: "gRPC server",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(
					attribute.String("rpc.system", "grpc"),
					attribute.String("rpc.service", "shop.Cart"),
					attribute.String("rpc.method", "Add"),
					attribute.Int("rpc.grpc.status_code", 0),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "grpc.server.request"
				w.Resource = "Add shop.Cart"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["rpc.system"] = "grpc"
				w.Meta["rpc.service"] = "shop.Cart"
				w.Meta["rpc.method"] = "Add"
				w.Meta["rpc.grpc.status_code"] = "0"
				w.Metrics["rpc.grpc.status_code"] = 0
			},
		},
		{
			name: "gRPC client, status in rpc.response.status_code",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("rpc.system", "grpc"),
					attribute.String("rpc.method", "Get"),
					attribute.String("rpc.response.status_code", "NOT_FOUND"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "grpc.client.request"
				w.Resource = "Get"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["rpc.system"] = "grpc"
				w.Meta["rpc.method"] = "Get"
				w.Meta["rpc.response.status_code"] = "NOT_FOUND"
				w.Meta["rpc.grpc.status_code"] = "NOT_FOUND"
			},
		},
		{
			name: "AWS SDK client",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("rpc.system", "aws-api"),
					attribute.String("rpc.service", "S3"),
					attribute.String("rpc.method", "PutObject"),
					attribute.String("aws.s3.bucket", "b"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "aws.s3.request"
				w.Resource = "PutObject S3"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["rpc.system"] = "aws-api"
				w.Meta["rpc.service"] = "S3"
				w.Meta["rpc.method"] = "PutObject"
				w.Meta["aws.s3.bucket"] = "b"
			},
		},
		{
			name: "AWS SDK client without a service",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(attribute.String("rpc.system", "aws-api"))
			},
			want: func(w *wireSpan) {
				w.Name = "aws.client.request"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["rpc.system"] = "aws-api"
			},
		},
		{
			name: "GraphQL",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(
					attribute.String("graphql.operation.type", "query"),
					attribute.String("graphql.operation.name", "GetUser"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "graphql.server.request"
				w.Resource = "query GetUser"
				w.Meta["graphql.operation.type"] = "query"
				w.Meta["graphql.operation.name"] = "GetUser"
			},
		},
		{
			name: "FaaS server",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(attribute.String("faas.trigger", "pubsub"))
			},
			want: func(w *wireSpan) {
				w.Name = "pubsub.invoke"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["faas.trigger"] = "pubsub"
			},
		},
		{
			name: "FaaS client",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(
					attribute.String("faas.invoked_provider", "aws"),
					attribute.String("faas.invoked_name", "resize"),
				)
			},
			want: func(w *wireSpan) {
				w.Name = "aws.resize.invoke"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["faas.invoked_provider"] = "aws"
				w.Meta["faas.invoked_name"] = "resize"
			},
		},
		{
			name: "generic server with a protocol",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(attribute.String("network.protocol.name", "AMQP"))
			},
			want: func(w *wireSpan) {
				w.Name = "amqp.server.request"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
				w.Meta["network.protocol.name"] = "AMQP"
			},
		},
		{
			name: "generic client",
			stub: func(s *tracetest.SpanStub) { s.SpanKind = trace.SpanKindClient },
			want: func(w *wireSpan) {
				w.Name = "client.request"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
			},
		},
		{
			name: "generic client with a protocol",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(attribute.String("network.protocol.name", "smtp"))
			},
			want: func(w *wireSpan) {
				w.Name = "smtp.client.request"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["network.protocol.name"] = "smtp"
			},
		},
		{
			name: "generic server",
			stub: func(s *tracetest.SpanStub) { s.SpanKind = trace.SpanKindServer },
			want: func(w *wireSpan) {
				w.Name = "server.request"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
			},
		},
		{
			name: "producer",
			stub: func(s *tracetest.SpanStub) { s.SpanKind = trace.SpanKindProducer },
			want: func(w *wireSpan) {
				w.Name = "Producer"
				w.Meta["span.kind"] = "producer"
				w.Metrics["_dd.measured"] = 1
			},
		},
		{
			name: "consumer",
			stub: func(s *tracetest.SpanStub) { s.SpanKind = trace.SpanKindConsumer },
			want: func(w *wireSpan) {
				w.Name = "Consumer"
				w.Meta["span.kind"] = "consumer"
			},
		},
		{
			name: "unspecified kind",
			stub: func(s *tracetest.SpanStub) { s.SpanKind = trace.SpanKindUnspecified },
			want: func(w *wireSpan) { w.Meta["span.kind"] = "unspecified" },
		},
		{
			name: "Datadog overrides on the span",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Attributes = attrs(
					attribute.String("operation.name", "Web.Request"),
					attribute.String("resource.name", "GET /home"),
					attribute.String("span.type", "worker"),
					attribute.String("service.name", "frontend"),
					attribute.String("http.request.method", "GET"),
				)
			},
			want: func(w *wireSpan) {
				w.Service = "frontend"
				w.Name = "web.request"
				w.Resource = "GET /home"
				w.Type = "worker"
				w.Meta["span.kind"] = "server"
				w.Meta["http.method"] = "GET"
			},
		},
		{
			name: "Datadog overrides on the resource lose to the span",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(
					attribute.String("service.name", "checkout"),
					attribute.String("operation.name", "res.op"),
					attribute.String("resource.name", "res-resource"),
					attribute.String("span.type", "res-type"),
				)
				s.Attributes = attrs(attribute.String("resource.name", "span-resource"))
			},
			want: func(w *wireSpan) {
				w.Name = "res.op"
				w.Resource = "span-resource"
				w.Type = "res-type"
				delete(w.Meta, "host.name")
			},
		},
		{
			name: "generative AI span: no special type (Agent 7.85)",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindClient
				s.Attributes = attrs(attribute.String("gen_ai.system", "openai"))
			},
			want: func(w *wireSpan) {
				w.Name = "client.request"
				w.Type = "http"
				w.Meta["span.kind"] = "client"
				w.Metrics["_dd.measured"] = 1
				w.Meta["gen_ai.system"] = "openai"
			},
		},
		{
			name: "SDK default service loses to the configured one",
			cfg:  mapConfig{service: "configured"},
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(attribute.String("service.name", "unknown_service:app"))
			},
			want: func(w *wireSpan) {
				w.Service = "configured"
				delete(w.Meta, "host.name")
			},
		},
		{
			name: "SDK default service without configuration",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(attribute.String("service.name", "unknown_service:app"))
			},
			want: func(w *wireSpan) {
				w.Service = "unknown_service:app"
				delete(w.Meta, "host.name")
			},
		},
		{
			name: "resource service beats the configured one",
			cfg:  mapConfig{service: "configured"},
			stub: func(s *tracetest.SpanStub) {},
			want: func(w *wireSpan) {},
		},
		{
			name: "no resource, configured service",
			cfg:  mapConfig{service: "configured"},
			stub: func(s *tracetest.SpanStub) { s.Resource = nil },
			want: func(w *wireSpan) {
				w.Service = "configured"
				delete(w.Meta, "host.name")
			},
		},
		{
			name: "no service anywhere",
			stub: func(s *tracetest.SpanStub) { s.Resource = nil },
			want: func(w *wireSpan) {
				w.Service = "otlpresourcenoservicename"
				delete(w.Meta, "host.name")
			},
		},
		{
			name: "env and version from the resource, normalized",
			cfg:  mapConfig{env: "cfg-env", version: "cfg-version"},
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(
					attribute.String("service.name", "checkout"),
					attribute.String("deployment.environment.name", "Prod"),
					attribute.String("service.version", "1.4.0"),
				)
				s.Attributes = attrs(attribute.String("deployment.environment", "staging"))
			},
			want: func(w *wireSpan) {
				delete(w.Meta, "host.name")
				w.Meta["env"] = "prod"
				w.Meta["version"] = "1.4.0"
				w.Meta["deployment.environment.name"] = "Prod"
				w.Meta["deployment.environment"] = "staging"
				w.Meta["service.version"] = "1.4.0"
			},
		},
		{
			name: "env and version from the span beat the resource",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(
					attribute.String("service.name", "checkout"),
					attribute.String("deployment.environment.name", "prod"),
					attribute.String("service.version", "1.4.0"),
				)
				s.Attributes = attrs(
					attribute.String("deployment.environment.name", "canary"),
					attribute.String("service.version", "1.5.0"),
				)
			},
			want: func(w *wireSpan) {
				delete(w.Meta, "host.name")
				w.Meta["env"] = "canary"
				w.Meta["version"] = "1.5.0"
				w.Meta["deployment.environment.name"] = "canary"
				w.Meta["service.version"] = "1.5.0"
			},
		},
		{
			name: "env, version and tags from the configuration",
			cfg: mapConfig{env: "cfg-env", version: "cfg-version", tags: []tag{
				{"team", "payments"}, {"host.name", "from-tags"}, {"region", "eu"},
			}},
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(attribute.String("region", "us"))
			},
			want: func(w *wireSpan) {
				w.Meta["env"] = "cfg-env"
				w.Meta["version"] = "cfg-version"
				w.Meta["team"] = "payments"
				w.Meta["region"] = "us"
			},
		},
		{
			name: "error status with a description and exception events",
			stub: func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error, Description: "payment declined"}
				s.Events = []sdktrace.Event{
					{Name: "exception", Time: fxStart.Add(time.Millisecond), Attributes: attrs(
						attribute.String("exception.type", "*errors.first"),
						attribute.String("exception.message", "first"),
					)},
					{Name: "exception", Time: fxStart.Add(2 * time.Millisecond), Attributes: attrs(
						attribute.String("exception.type", "*payments.DeclinedError"),
						attribute.String("exception.message", "card declined"),
						attribute.String("exception.stacktrace", "goroutine 1 [running]:\nmain.main()"),
					)},
				}
			},
			want: func(w *wireSpan) {
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
				w.Meta["otel.status_description"] = "payment declined"
				w.Meta["error.message"] = "payment declined"
				w.Meta["error.type"] = "*payments.DeclinedError"
				w.Meta["error.stack"] = "goroutine 1 [running]:\nmain.main()"
				w.Meta["_dd.span_events.has_exception"] = "true"
				w.Meta["events"] = `[{"time_unix_nano":1700000000001000123,"name":"exception","attributes":{"exception.type":"*errors.first","exception.message":"first"}},` +
					`{"time_unix_nano":1700000000002000123,"name":"exception","attributes":{"exception.type":"*payments.DeclinedError","exception.message":"card declined","exception.stacktrace":"goroutine 1 [running]:\nmain.main()"}}]`
			},
		},
		{
			name: "error status without a description takes the exception message",
			stub: func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error}
				s.Events = []sdktrace.Event{{Name: "exception", Time: fxStart, Attributes: attrs(
					attribute.String("exception.type", "E"),
					attribute.String("exception.message", "boom"),
				)}}
			},
			want: func(w *wireSpan) {
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
				w.Meta["error.message"] = "boom"
				w.Meta["error.type"] = "E"
				w.Meta["_dd.span_events.has_exception"] = "true"
				w.Meta["events"] = `[{"time_unix_nano":1700000000000000123,"name":"exception","attributes":{"exception.type":"E","exception.message":"boom"}}]`
			},
		},
		{
			name: "error status without description or exception, textual HTTP status",
			stub: func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error}
				s.Attributes = attrs(attribute.String("http.status_code", "503"))
			},
			want: func(w *wireSpan) {
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
				w.Meta["error.message"] = "503 Service Unavailable"
				w.Meta["http.status_code"] = "503"
				w.Metrics["http.status_code"] = 503
			},
		},
		{
			// The Agent names the error from the meta http.status_code,
			// the first of the two textual codes in attribute order; the
			// metric reads http.status_code first.
			name: "error status, two textual HTTP status codes",
			stub: func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error}
				s.Attributes = attrs(attribute.String("http.response.status_code", "404"), attribute.String("http.status_code", "500"))
			},
			want: func(w *wireSpan) {
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
				w.Meta["error.message"] = "404 Not Found"
				w.Meta["http.status_code"] = "404"
				w.Metrics["http.status_code"] = 500
			},
		},
		{
			// The Agent reads _dd.measured as an integer only, and makes
			// metrics of the span's numbers only.
			name: "_dd.measured as text",
			stub: func(s *tracetest.SpanStub) { s.Attributes = attrs(attribute.String("_dd.measured", "1")) },
			want: func(w *wireSpan) { w.Meta["_dd.measured"] = "1" },
		},
		{
			name: "_dd.measured and http.status_code as doubles on the resource",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "web-1"),
					attribute.Float64("_dd.measured", 1), attribute.Float64("http.status_code", 200))
			},
			want: func(w *wireSpan) {
				w.Meta["_dd.measured"] = "1"
				w.Meta["http.status_code"] = "200"
			},
		},
		{
			// The Agent looks the code up as an integer or text; a double
			// becomes the metric only when the lookup finds nothing.
			name: "HTTP status codes as a double and an integer",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(attribute.Float64("http.status_code", 201), attribute.Int("http.response.status_code", 202))
			},
			want: func(w *wireSpan) { w.Metrics["http.status_code"] = 202 },
		},
		{
			name: "error status, nothing to say",
			stub: func(s *tracetest.SpanStub) { s.Status = sdktrace.Status{Code: codes.Error} },
			want: func(w *wireSpan) {
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
			},
		},
		{
			name: "exception event on a span that did not fail",
			stub: func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Ok}
				s.Events = []sdktrace.Event{{Name: "exception", Time: fxStart, Attributes: attrs(
					attribute.String("exception.message", "handled"),
				)}}
			},
			want: func(w *wireSpan) {
				w.Meta["otel.status_code"] = "Ok"
				w.Meta["_dd.span_events.has_exception"] = "true"
				w.Meta["events"] = `[{"time_unix_nano":1700000000000000123,"name":"exception","attributes":{"exception.message":"handled"}}]`
			},
		},
		{
			name: "attribute types in meta and metrics",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(
					attribute.Bool("cache.hit", true),
					attribute.Int64("items", 3),
					attribute.Float64("ratio", 0.25),
					attribute.StringSlice("tags", []string{"a", "b\"c"}),
					attribute.Int64Slice("ids", []int64{1, -2}),
					attribute.Float64Slice("weights", []float64{0.5, 1e21, 1e-7}),
					attribute.BoolSlice("flags", []bool{true, false}),
					attribute.Slice("mixed", attribute.StringValue("x"), attribute.IntValue(1)),
					attribute.Map("m", attribute.String("b", "2"), attribute.Int("a", 1)),
					attribute.ByteSlice("raw", []byte{0, 1, 2, 255}),
					attribute.KeyValue{Key: "empty"},
					attribute.String("blank", ""),
				)
			},
			want: func(w *wireSpan) {
				w.Meta["cache.hit"] = "true"
				w.Meta["tags"] = `["a","b\"c"]`
				w.Meta["ids"] = `[1,-2]`
				w.Meta["weights"] = `[0.5,1e+21,1e-7]`
				w.Meta["flags"] = `[true,false]`
				w.Meta["mixed"] = `["x",1]`
				w.Meta["m"] = `{"a":1,"b":"2"}`
				w.Meta["raw"] = "AAEC/w=="
				w.Meta["empty"] = ""
				w.Meta["blank"] = ""
				w.Metrics["items"] = 3
				w.Metrics["ratio"] = 0.25
			},
		},
		{
			name: "sampling priority, measured and analytics attributes",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(
					attribute.Int("sampling.priority", 2),
					attribute.Int("_dd.measured", 1),
					attribute.Bool("analytics.event", true),
				)
			},
			want: func(w *wireSpan) {
				w.Metrics["_sampling_priority_v1"] = 2
				w.Meta["_dd.p.dm"] = "-4" // a decision set by hand
				w.Metrics["_dd.measured"] = 1
				w.Metrics["_dd1.sr.eausr"] = 1
			},
		},
		{
			name: "keys the mapping writes win over attributes",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(
					attribute.String("span.kind", "mine"),
					attribute.String("otel.trace_id", "mine"),
					attribute.String("http.request.method", "GET"),
					attribute.String("http.method", "POST"),
					attribute.String("_dd.p.dm", "-3"),
					attribute.String("host.name", "span-host"),
				)
			},
			want: func(w *wireSpan) {
				w.Resource = "GET"
				w.Meta["http.method"] = "GET"
				w.Meta["_dd.p.dm"] = "-3"
				w.Meta["host.name"] = "span-host"
			},
		},
		{
			name: "a tag with a key the mapping writes loses",
			cfg:  mapConfig{tags: []tag{{"span.kind", "tag"}, {"otel.status_code", "tag"}, {"team", "t"}}},
			stub: func(s *tracetest.SpanStub) {},
			want: func(w *wireSpan) { w.Meta["team"] = "t" },
		},
		{
			name: "a resource attribute with a key the mapping writes loses",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(
					attribute.String("service.name", "checkout"),
					attribute.String("otel.status_code", "res"),
					attribute.String("error.type", "res"),
					attribute.String("region", "eu"),
				)
				s.Status = sdktrace.Status{Code: codes.Error}
				s.Events = []sdktrace.Event{{Name: "exception", Attributes: attrs(attribute.String("exception.type", "E"))}}
			},
			want: func(w *wireSpan) {
				delete(w.Meta, "host.name")
				w.Error = 1
				w.Meta["otel.status_code"] = "Error"
				w.Meta["error.type"] = "E"
				w.Meta["region"] = "eu"
				w.Meta["_dd.span_events.has_exception"] = "true"
				w.Meta["events"] = `[{"name":"exception","attributes":{"exception.type":"E"}}]`
			},
		},
		{
			name: "resource attributes as text, renamed",
			stub: func(s *tracetest.SpanStub) {
				s.Resource = resource.NewSchemaless(
					attribute.String("service.name", "checkout"),
					attribute.Int("process.pid", 42),
					attribute.String("server.address", "res-host"),
					attribute.Bool("container.privileged", false),
				)
			},
			want: func(w *wireSpan) {
				delete(w.Meta, "host.name")
				w.Meta["process.pid"] = "42"
				w.Meta["http.server_name"] = "res-host"
				w.Meta["container.privileged"] = "false"
			},
		},
		{
			name: "scope attributes win",
			stub: func(s *tracetest.SpanStub) {
				set := attribute.NewSet(attribute.String("scope.attr", "s"), attribute.String("span.kind", "scope"))
				s.InstrumentationScope = instrumentation.Scope{Name: "lib", Attributes: set}
			},
			want: func(w *wireSpan) {
				w.Meta["scope.attr"] = "s"
				w.Meta["span.kind"] = "scope"
				w.Meta["otel.scope.name"] = "lib"
				w.Meta["otel.library.name"] = "lib"
				delete(w.Meta, "otel.scope.version")
				delete(w.Meta, "otel.library.version")
			},
		},
		{
			name: "64-bit trace ID",
			stub: func(s *tracetest.SpanStub) {
				s.SpanContext = s.SpanContext.WithTraceID(trace.TraceID{15: 7})
			},
			want: func(w *wireSpan) {
				w.TraceID = 7
				w.Meta["otel.trace_id"] = "00000000000000000000000000000007"
				delete(w.Meta, "_dd.p.tid")
			},
		},
		{
			name: "remote parent",
			stub: func(s *tracetest.SpanStub) {
				s.SpanKind = trace.SpanKindServer
				s.Parent = trace.NewSpanContext(trace.SpanContextConfig{
					TraceID: fxTraceID, SpanID: trace.SpanID{7: 9}, Remote: true,
				})
			},
			want: func(w *wireSpan) {
				w.ParentID = 9
				w.Name = "server.request"
				w.Type = "web"
				w.Meta["span.kind"] = "server"
			},
		},
		{
			name: "tracestate with a Datadog member",
			stub: func(s *tracetest.SpanStub) {
				ts, err := trace.ParseTraceState("dd=s:2;o:rum;t.dm:-4;t.tid:0102030405060708,vendor=x")
				if err != nil {
					panic(err)
				}
				s.SpanContext = s.SpanContext.WithTraceState(ts)
			},
			want: func(w *wireSpan) {
				w.Meta["w3c.tracestate"] = "dd=s:2;o:rum;t.dm:-4;t.tid:0102030405060708,vendor=x"
				w.Meta["_dd.p.dm"] = "-4"
				w.Meta["_dd.origin"] = "rum"
				w.Metrics["_sampling_priority_v1"] = 2
			},
		},
		{
			name: "tracestate with an OpenTelemetry sampling threshold",
			stub: func(s *tracetest.SpanStub) {
				ts, err := trace.ParseTraceState("ot=rv:abc;th:c")
				if err != nil {
					panic(err)
				}
				s.SpanContext = s.SpanContext.WithTraceState(ts)
			},
			want: func(w *wireSpan) {
				w.Meta["w3c.tracestate"] = "ot=rv:abc;th:c"
				w.Metrics["_sample_rate"] = 0.25
			},
		},
		{
			name: "an explicit _sample_rate beats the tracestate",
			stub: func(s *tracetest.SpanStub) {
				ts, err := trace.ParseTraceState("ot=p:3")
				if err != nil {
					panic(err)
				}
				s.SpanContext = s.SpanContext.WithTraceState(ts)
				s.Attributes = attrs(attribute.Float64("_sample_rate", 0.9))
			},
			want: func(w *wireSpan) {
				w.Meta["w3c.tracestate"] = "ot=p:3"
				w.Metrics["_sample_rate"] = 0.9
			},
		},
		{
			name: "tracestate without a Datadog member",
			stub: func(s *tracetest.SpanStub) {
				ts, err := trace.ParseTraceState("vendor=x,other=y")
				if err != nil {
					panic(err)
				}
				s.SpanContext = s.SpanContext.WithTraceState(ts)
			},
			want: func(w *wireSpan) {
				w.Meta["w3c.tracestate"] = "vendor=x,other=y"
			},
		},
		{
			name: "unicode and invalid UTF-8",
			stub: func(s *tracetest.SpanStub) {
				s.Name = "héllo 世界"
				s.Attributes = attrs(
					attribute.String("greeting", "こんにちは"),
					attribute.String("bad", "a\xffb"),
					attribute.StringSlice("bad.list", []string{"\xfe", "<ok>"}),
				)
				s.Events = []sdktrace.Event{{Name: "ev\xff", Time: fxStart, Attributes: attrs(
					attribute.String("k\x00", "v\u2028<&>"),
				)}}
			},
			want: func(w *wireSpan) {
				w.Resource = "héllo 世界"
				w.Meta["greeting"] = "こんにちは"
				w.Meta["bad"] = "a\xffb"
				// As pdata writes slices as text: invalid UTF-8 replaced, no HTML escaping.
				w.Meta["bad.list"] = `["\ufffd","<ok>"]`
				w.Meta["events"] = `[{"time_unix_nano":1700000000000000123,"name":"ev\ufffd","attributes":{"k\u0000":"v\u2028\u003c\u0026\u003e"}}]`
			},
		},
		{
			name: "long resource is cut",
			stub: func(s *tracetest.SpanStub) {
				s.Attributes = attrs(attribute.String("resource.name", string(make([]byte, 6000))))
			},
			want: func(w *wireSpan) { w.Resource = string(make([]byte, 5000)) },
		},
	}
}

// TestMapping checks every row of the mapping table, in both wire
// formats, with events and links as meta JSON.
func TestMapping(t *testing.T) {
	for _, v := range []APIVersion{V04, V05} {
		for _, c := range mappingCases() {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				stub := fxStub()
				c.stub(&stub)
				want := fxWant()
				c.want(&want)
				cfg := c.cfg
				got := encodeOne(t, v, &cfg, false, stub.Snapshot())
				if diff := cmp.Diff([][]wireSpan{{want}}, got); diff != "" {
					t.Errorf("span mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestNoDuplicateKeys gives a span, its resource, its scope and the tags
// an attribute of every key the mapping looks up or writes, as a string and
// as a number, and checks that every map of the payload has unique keys
// (the strict decoder rejects duplicates).
func TestNoDuplicateKeys(t *testing.T) {
	keys := []string{
		"otel.trace_id", "_dd.p.tid", "events", "_dd.span_events.has_exception", "_dd.span_links",
		"otel.scope.name", "otel.library.name", "otel.scope.version", "otel.library.version",
		"otel.status_code", "otel.status_description", "span.kind", "rpc.grpc.status_code",
		"w3c.tracestate", "error.message", "error.type", "error.stack", "_dd.p.dm", "_dd.origin",
		"_dd.parent_id", "_dd.p.usr", "_dd.p.ksr", "_dd.top_level",
		"env", "version", "db.name", "http.status_code", "_dd.measured", "_sampling_priority_v1",
		"sampling.priority", "_sample_rate", "_dd1.sr.eausr", "analytics.event",
		"http.method", "http.request.method", "http.url", "url.full", "http.request.headers.x",
		"http.request.header.x", "http.referrer", "http.request.header.referrer",
	}
	// Every looked-up key, from the slot table.
	for _, k := range []string{"service.name", "operation.name", "resource.name", "span.type",
		"deployment.environment.name", "deployment.environment", "service.version", "http.route",
		"url.template", "db.system.name", "db.system", "db.statement", "db.query.text", "db.namespace",
		"messaging.system", "messaging.operation", "messaging.destination", "messaging.destination.name",
		"rpc.system", "rpc.system.name", "rpc.service", "rpc.method", "faas.invoked_provider",
		"faas.invoked_name", "faas.trigger", "graphql.operation.type", "graphql.operation.name",
		"network.protocol.name", "http.response.status_code", "grpc.code", "rpc.grpc.status.code",
		"grpc.status.code", "rpc.response.status_code"} {
		if _, ok := ddname.SlotOf(k); !ok {
			t.Fatalf("%s is not a looked-up key", k)
		}
		keys = append(keys, k)
	}
	ts, err := trace.ParseTraceState("dd=s:2;o:rum;p:00000000000000aa;t.dm:-4;t.usr:u;t.ksr:1,ot=th:8")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, v := range []attribute.Value{attribute.StringValue("1"), attribute.IntValue(1)} {
			kv := attribute.KeyValue{Key: attribute.Key(k), Value: v}
			for _, where := range []string{"span", "resource", "scope", "tag", "event", "link"} {
				s := eventsAndLinks()
				s.SpanContext = s.SpanContext.WithTraceState(ts)
				s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: trace.SpanID{7: 0xaa}, Remote: true})
				s.Status = sdktrace.Status{Code: codes.Error, Description: "d"}
				s.Events = append(s.Events, sdktrace.Event{Name: "exception", Attributes: attrs(
					attribute.String("exception.type", "T"), attribute.String("exception.stacktrace", "S"))})
				cfg := mapConfig{env: "e", version: "v", tags: []tag{{"team", "t"}}}
				switch where {
				case "span":
					s.Attributes = append(s.Attributes, kv)
				case "resource":
					s.Resource = resource.NewSchemaless(attribute.String("service.name", "svc"), kv)
				case "scope":
					s.InstrumentationScope.Attributes = attribute.NewSet(kv)
				case "tag":
					cfg.tags = append(cfg.tags, tag{k, "1"})
				case "event":
					s.Events[0].Attributes = append(s.Events[0].Attributes, kv, kv)
				case "link":
					s.Links[0].Attributes = append(s.Links[0].Attributes, kv, kv)
				}
				for _, c := range []struct {
					v      APIVersion
					native bool
				}{{V04, false}, {V04, true}, {V05, false}} {
					e := newEncoder(c.v, &cfg)
					body := e.encode(e.chunks([]sdktrace.ReadOnlySpan{s.Snapshot()}), c.native)
					dec := decodeV04
					if c.v == V05 {
						dec = decodeV05
					}
					if _, err := dec(body); err != nil {
						t.Errorf("%s %v on the %s, %v native=%v: %v", k, v.Type(), where, c.v, c.native, err)
					}
				}
			}
		}
	}
}
