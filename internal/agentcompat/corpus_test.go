package agentcompat

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	tracesdk "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// want is what the Agent must show for one corpus span, written by hand from
// the Agent's OpenTelemetry mapping rules. Meta and Metrics list only the
// keys asserted; Absent lists meta/metrics keys that must not be there.
type want struct {
	Service  string
	Name     string
	Resource string
	Type     string
	Error    int32
	Meta     map[string]string
	Metrics  map[string]float64
	Absent   []string
}

// corpusSpan is one span of the corpus and what the Agent must make of it.
type corpusSpan struct {
	stub tracetest.SpanStub
	want want
}

// corpusBase is the start of every corpus trace: recent, so the Agent's
// start-time normalisation leaves it alone, and fixed for the whole run.
var corpusBase = time.Now().Add(-time.Minute).Truncate(time.Millisecond)

func traceID(hi, lo uint64) trace.TraceID {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id
}

func spanID(v uint64) trace.SpanID {
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

func sc(tid trace.TraceID, sid uint64) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     spanID(sid),
		TraceFlags: trace.FlagsSampled,
	})
}

func remote(tid trace.TraceID, sid uint64) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     spanID(sid),
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
}

// Resources of the services in the corpus.
var (
	checkoutRes = resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("service.version", "1.4.2"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.version", "1.47.0"),
		attribute.String("host.name", "web-1"),
	)
	workerRes = resource.NewSchemaless(
		attribute.String("service.name", "order-worker"),
		attribute.String("service.version", "0.9.0"),
		attribute.String("deployment.environment", "staging"), // the pre-1.27 key
		attribute.String("telemetry.sdk.language", "go"),
	)
	edgeRes = resource.NewSchemaless(
		attribute.String("service.name", "Edge Gateway"), // normalised by the Agent
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("cloud.region", "eu-west-1"),
	)
	bulkRes = resource.NewSchemaless(
		attribute.String("service.name", "bulk-import"),
		attribute.String("deployment.environment.name", "prod"),
	)
)

var (
	httpScope  = sdktrace.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.62.0"}
	dbScope    = sdktrace.Scope{Name: "github.com/XSAM/otelsql", Version: "0.40.0"}
	appScope   = sdktrace.Scope{Name: "shop/checkout"}
	kafkaScope = sdktrace.Scope{Name: "github.com/IBM/sarama/otelsarama", Version: "1.2.0"}
	grpcScope  = sdktrace.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", Version: "0.62.0"}
)

// Trace IDs of the corpus. Most are 128-bit with a non-zero high half, as
// OpenTelemetry generates them; tid64 has a zero high half.
var (
	tidCheckout = traceID(0x6553e4f2_00000000|0x1a2b, 0x8f3c2d1e4b5a6978)
	tidWorker   = traceID(0x6553e4f3_00000000|0x77, 0x0123456789abcdef)
	tidEdge     = traceID(0x6553e4f4_00000000, 0xfedcba9876543210)
	tid64       = traceID(0, 0x00000000deadbeef)
	tidBulk     = traceID(0x6553e4f5_00000000|0x1, 0x1111222233334444)
	tidLinked   = traceID(0x0af7651916cd43dd, 0x8448eb211c80319c)
)

func at(ms int) time.Time { return corpusBase.Add(time.Duration(ms) * time.Millisecond) }

// longValue is longer than the Agent's 25,000-character meta value limit.
var longValue = strings.Repeat("0123456789", 3_000)

// longKey is longer than the Agent's 200-character meta key limit.
var longKey = "app." + strings.Repeat("k", 250)

// corpus returns the spans of the compatibility suite, in export order. The
// last trace is a 1,000-span trace.
func corpus() []corpusSpan {
	var c []corpusSpan
	c = append(c, checkoutTrace()...)
	c = append(c, workerTrace()...)
	c = append(c, edgeTrace()...)
	c = append(c, oddTrace()...)
	c = append(c, paymentsTrace()...)
	c = append(c, conventionsTrace()...)
	c = append(c, bulkTrace(1000)...)
	return c
}

// checkoutTrace is an HTTP request served with the new semantic conventions,
// calling a database, a cache, a payment API and Kafka; the payment fails.
func checkoutTrace() []corpusSpan {
	tid := tidCheckout
	root := sc(tid, 0x1001)
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = checkoutRes
		if s.InstrumentationScope.Name == "" {
			s.InstrumentationScope = appScope
		}
		return s
	}
	common := map[string]string{"env": "prod", "version": "1.4.2"}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "POST /api/checkout", SpanContext: root, SpanKind: trace.SpanKindServer,
				StartTime: at(0), EndTime: at(480),
				InstrumentationScope: httpScope,
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "POST"),
					attribute.String("http.route", "/api/checkout"),
					attribute.String("url.path", "/api/checkout"),
					attribute.String("url.scheme", "https"),
					attribute.Int("http.response.status_code", 502),
					attribute.String("server.address", "shop.example.com"),
					attribute.String("client.address", "203.0.113.9"),
					attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
					attribute.String("network.protocol.version", "1.1"),
					attribute.Int("http.request.body.size", 1234),
				},
				Status: tracesdk.Status{Code: codes.Error},
			}),
			want: want{
				Service: "checkout", Name: "http.server.request", Resource: "POST /api/checkout", Type: "web", Error: 1,
				Meta: meta(
					"span.kind", "server",
					"http.method", "POST",
					"http.route", "/api/checkout",
					"http.server_name", "shop.example.com",
					"http.client_ip", "203.0.113.9",
					"http.useragent", "Mozilla/5.0 (X11; Linux x86_64)",
					"http.version", "1.1",
					"otel.status_code", "Error",
					"otel.scope.name", httpScope.Name,
					"otel.scope.version", httpScope.Version,
					"otel.library.name", httpScope.Name,
					"otel.trace_id", tid.String(),
				),
				// The Agent derives error.msg from an HTTP status code only when
				// the code is a string attribute (Status2Error reads meta).
				Metrics: map[string]float64{"http.status_code": 502, "http.request.content_length": 1234},
				Absent:  []string{"http.request.method", "http.response.status_code", "http.request.body.size", "otel.status_description", "error.msg"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "validate cart", SpanContext: sc(tid, 0x1002), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(2), EndTime: at(10),
				Attributes: []attribute.KeyValue{
					attribute.Int("cart.items", 3),
					attribute.Float64("cart.total", 59.9),
					attribute.Bool("cart.coupon", true),
					attribute.StringSlice("cart.skus", []string{"A-1", "B-2", "C-3"}),
					attribute.IntSlice("cart.quantities", []int{1, 1, 2}),
				},
			}),
			want: want{
				Service: "checkout", Name: "Internal", Resource: "validate cart", Type: "custom",
				Meta: meta(
					"span.kind", "internal",
					"cart.coupon", "true",
					"cart.skus", `["A-1","B-2","C-3"]`,
					"cart.quantities", `[1,1,2]`,
					"otel.status_code", "Unset",
					"otel.scope.name", appScope.Name,
				),
				Metrics: map[string]float64{"cart.items": 3, "cart.total": 59.9},
				Absent:  []string{"otel.scope.version", "error.msg"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "SELECT shop.carts", SpanContext: sc(tid, 0x1003), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(11), EndTime: at(25),
				InstrumentationScope: dbScope,
				Attributes: []attribute.KeyValue{
					attribute.String("db.system.name", "postgresql"),
					attribute.String("db.namespace", "shop"),
					attribute.String("db.query.text", "SELECT id, total FROM carts WHERE id = 42 AND owner = 'bob'"),
					attribute.String("db.operation.name", "SELECT"),
					attribute.String("db.collection.name", "carts"),
					attribute.String("server.address", "db-1.internal"),
					attribute.Int("server.port", 5432),
				},
			}),
			want: want{
				Service: "checkout", Name: "postgresql.query", Resource: "SELECT id, total FROM carts WHERE id = ? AND owner = ?", Type: "sql",
				Meta: meta(
					"span.kind", "client",
					"db.system.name", "postgresql",
					"db.name", "shop",
					"db.namespace", "shop",
					"otel.scope.name", dbScope.Name,
				),
				Metrics: map[string]float64{"server.port": 5432},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "GET", SpanContext: sc(tid, 0x1004), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(26), EndTime: at(27),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "redis"),
					attribute.String("db.statement", "GET cart:42"),
					attribute.String("net.peer.name", "cache-1.internal"),
					attribute.Int("net.peer.port", 6379),
					attribute.Int("db.redis.database_index", 0),
				},
			}),
			want: want{
				Service: "checkout", Name: "redis.query", Resource: "GET", Type: "redis", // the Agent quantizes Redis commands
				Meta: meta(
					"span.kind", "client",
					"db.system", "redis",
					"db.statement", "GET cart:42",
					"net.peer.name", "cache-1.internal",
				),
				Metrics: map[string]float64{"net.peer.port": 6379, "db.redis.database_index": 0},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "HTTP POST", SpanContext: sc(tid, 0x1005), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(30), EndTime: at(400),
				InstrumentationScope: httpScope,
				Attributes: []attribute.KeyValue{
					attribute.String("http.method", "POST"),
					attribute.String("http.url", "https://payments.example.net/v1/charges"),
					attribute.Int("http.status_code", 402),
					attribute.String("net.peer.name", "payments.example.net"),
					attribute.String("http.flavor", "2"),
				},
				Status: tracesdk.Status{Code: codes.Error, Description: "payment declined"},
			}),
			want: want{
				Service: "checkout", Name: "http.client.request", Resource: "POST", Type: "http", Error: 1,
				Meta: meta(
					"span.kind", "client",
					"http.method", "POST",
					"http.url", "https://payments.example.net/v1/charges",
					"otel.status_code", "Error",
					"otel.status_description", "payment declined",
					"error.msg", "payment declined",
				),
				Metrics: map[string]float64{"http.status_code": 402},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "charge card", SpanContext: sc(tid, 0x1006), Parent: sc(tid, 0x1005), SpanKind: trace.SpanKindInternal,
				StartTime: at(31), EndTime: at(399),
				Events: []tracesdk.Event{{
					Name: "exception", Time: at(398),
					Attributes: []attribute.KeyValue{
						attribute.String("exception.type", "*payments.DeclinedError"),
						attribute.String("exception.message", "card declined: insufficient funds"),
						attribute.String("exception.stacktrace", "goroutine 7 [running]:\nshop/payments.Charge(...)\n\t/src/payments/charge.go:88 +0x1d\n"),
						attribute.Bool("exception.escaped", false),
					},
				}},
				Status: tracesdk.Status{Code: codes.Error, Description: "card declined: insufficient funds"},
			}),
			want: want{
				Service: "checkout", Name: "Internal", Resource: "charge card", Type: "custom", Error: 1,
				Meta: meta(
					"span.kind", "internal",
					"otel.status_code", "Error",
					"otel.status_description", "card declined: insufficient funds",
					"error.msg", "card declined: insufficient funds",
					"_dd.span_events.has_exception", "true",
				),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "orders publish", SpanContext: sc(tid, 0x1007), Parent: root, SpanKind: trace.SpanKindProducer,
				StartTime: at(401), EndTime: at(410),
				InstrumentationScope: kafkaScope,
				Attributes: []attribute.KeyValue{
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation", "publish"),
					attribute.String("messaging.destination.name", "orders"),
					attribute.Int("messaging.kafka.destination.partition", 3),
					attribute.String("messaging.kafka.message.key", "order-42"),
				},
			}),
			want: want{
				Service: "checkout", Name: "kafka.publish", Resource: "publish orders", Type: "custom",
				Meta: meta(
					"span.kind", "producer",
					"messaging.system", "kafka",
					"messaging.destination.name", "orders",
					"messaging.kafka.message.key", "order-42",
					"otel.scope.version", kafkaScope.Version,
				),
				Metrics: map[string]float64{"messaging.kafka.destination.partition": 3},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "render receipt", SpanContext: sc(tid, 0x1008), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(411), EndTime: at(470),
				Status: tracesdk.Status{Code: codes.Ok},
			}),
			want: want{
				Service: "checkout", Name: "Internal", Resource: "render receipt", Type: "custom",
				Meta:   meta("span.kind", "internal", "otel.status_code", "Ok"),
				Absent: []string{"error.msg", "otel.status_description"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "GET /v2/rates/{currency}", SpanContext: sc(tid, 0x1009), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(411), EndTime: at(440),
				InstrumentationScope: httpScope,
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "GET"),
					attribute.String("url.full", "https://fx.example.org/v2/rates/EUR?at=now"),
					attribute.String("url.template", "/v2/rates/{currency}"),
					attribute.Int("http.response.status_code", 200),
					attribute.String("server.address", "fx.example.org"),
					attribute.Int("server.port", 443),
					attribute.String("network.protocol.version", "2"),
				},
			}),
			want: want{
				Service: "checkout", Name: "http.client.request", Resource: "GET /v2/rates/{currency}", Type: "http",
				Meta: meta(
					"span.kind", "client",
					"http.method", "GET",
					"http.url", "https://fx.example.org/v2/rates/EUR?at=now",
					"url.template", "/v2/rates/{currency}",
					"http.server_name", "fx.example.org",
					"http.version", "2",
				),
				Metrics: map[string]float64{"http.status_code": 200, "server.port": 443},
				Absent:  []string{"url.full", "server.address"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "GetItem", SpanContext: sc(tid, 0x100a), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(12), EndTime: at(20),
				Attributes: []attribute.KeyValue{
					attribute.String("rpc.system", "aws-api"),
					attribute.String("rpc.service", "DynamoDB"),
					attribute.String("rpc.method", "GetItem"),
					attribute.StringSlice("aws.dynamodb.table_names", []string{"sessions"}),
				},
			}),
			want: want{
				Service: "checkout", Name: "aws.dynamodb.request", Resource: "GetItem DynamoDB", Type: "http",
				Meta: meta(
					"span.kind", "client",
					"rpc.system", "aws-api",
					"aws.dynamodb.table_names", `["sessions"]`,
				),
			},
		},
	}
}

// workerTrace is a Kafka consumer in another service, continuing a remote
// parent and linking to the producer, querying MongoDB and an unknown
// database and calling a gRPC service.
func workerTrace() []corpusSpan {
	tid := tidWorker
	root := sc(tid, 0x2001)
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = workerRes
		if s.InstrumentationScope.Name == "" {
			s.InstrumentationScope = kafkaScope
		}
		return s
	}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{"env": "staging", "version": "0.9.0"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "orders receive", SpanContext: root, Parent: remote(tid, 0x0bad0bad), SpanKind: trace.SpanKindConsumer,
				StartTime: at(500), EndTime: at(900),
				Attributes: []attribute.KeyValue{
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation.type", "receive"),
					attribute.String("messaging.destination.name", "orders"),
					attribute.String("messaging.consumer.group.name", "order-workers"),
					attribute.Int64("messaging.kafka.offset", 1_234_567_890_123),
				},
				Links: []tracesdk.Link{{
					SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
						TraceID: tidCheckout, SpanID: spanID(0x1007), TraceFlags: trace.FlagsSampled, Remote: true,
					}),
					Attributes: []attribute.KeyValue{attribute.String("messaging.operation.type", "send")},
				}},
			}),
			want: want{
				// messaging.operation.type (semconv 1.26+) is not read by the
				// 7.85 Agent: only messaging.operation names the operation.
				Service: "order-worker", Name: "Consumer", Resource: "orders receive", Type: "custom",
				Meta: meta(
					"span.kind", "consumer",
					"messaging.consumer.group.name", "order-workers",
				),
				Metrics: map[string]float64{"messaging.kafka.offset": 1_234_567_890_123},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "orders.find", SpanContext: sc(tid, 0x2002), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(510), EndTime: at(530),
				InstrumentationScope: sdktrace.Scope{Name: "go.mongodb.org/mongo-driver/mongo/otelmongo"},
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "mongodb"),
					attribute.String("db.name", "orders"),
					attribute.String("db.operation", "find"),
					attribute.String("db.mongodb.collection", "orders"),
					attribute.String("db.statement", `{"find":"orders","filter":{"_id":"42"}}`),
				},
			}),
			want: want{
				Service: "order-worker", Name: "mongodb.query", Resource: `{"find":"orders","filter":{"_id":"42"}}`, Type: "mongodb",
				Meta: meta("span.kind", "client", "db.name", "orders", "db.mongodb.collection", "orders"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "exotic lookup", SpanContext: sc(tid, 0x2003), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(531), EndTime: at(540),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "exoticdb"),
					attribute.String("db.statement", "LOOKUP orders 42"),
				},
			}),
			want: want{
				Service: "order-worker", Name: "exoticdb.query", Resource: "LOOKUP orders 42", Type: "db",
				Meta: meta("span.kind", "client", "db.system", "exoticdb"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "shop.Inventory/Reserve", SpanContext: sc(tid, 0x2004), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(541), EndTime: at(600),
				InstrumentationScope: grpcScope,
				Attributes: []attribute.KeyValue{
					attribute.String("rpc.system", "grpc"),
					attribute.String("rpc.service", "shop.Inventory"),
					attribute.String("rpc.method", "Reserve"),
					attribute.Int("rpc.grpc.status_code", 14),
					attribute.String("server.address", "inventory:50051"),
				},
				Status: tracesdk.Status{Code: codes.Error, Description: "unavailable"},
			}),
			want: want{
				Service: "order-worker", Name: "grpc.client.request", Resource: "Reserve shop.Inventory", Type: "http", Error: 1,
				Meta: meta("span.kind", "client", "rpc.service", "shop.Inventory", "error.msg", "unavailable", "rpc.grpc.status_code", "14"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "flush batch", SpanContext: sc(tid, 0x2005), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(601), EndTime: at(890),
				Status: tracesdk.Status{Code: codes.Error, Description: "context deadline exceeded"},
			}),
			want: want{
				Service: "order-worker", Name: "Internal", Resource: "flush batch", Type: "custom", Error: 1,
				Meta:   meta("error.msg", "context deadline exceeded", "otel.status_code", "Error"),
				Absent: []string{"_dd.span_events.has_exception", "error.type", "error.stack"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "orders notify", SpanContext: sc(tid, 0x2006), Parent: root, SpanKind: trace.SpanKindProducer,
				StartTime: at(891), EndTime: at(899),
				Attributes: []attribute.KeyValue{
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation.type", "send"),
					attribute.String("messaging.destination.name", "notifications"),
				},
			}),
			want: want{
				Service: "order-worker", Name: "Producer", Resource: "orders notify", Type: "custom",
				Meta: meta("span.kind", "producer"),
			},
		},
	}
}

// edgeTrace is served by a gRPC and HTTP edge using the old semantic
// conventions, with every override attribute, events of every attribute
// type, and links.
func edgeTrace() []corpusSpan {
	tid := tidEdge
	root := sc(tid, 0x3001)
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = edgeRes
		if s.InstrumentationScope.Name == "" {
			s.InstrumentationScope = httpScope
		}
		return s
	}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{"env": "prod", "cloud.region": "eu-west-1"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "GET /users/:id", SpanContext: root, Parent: remote(tid, 0x0f0f0f0f), SpanKind: trace.SpanKindServer,
				StartTime: at(1000), EndTime: at(1100),
				Attributes: []attribute.KeyValue{
					attribute.String("http.method", "GET"),
					attribute.String("http.route", "/users/:id"),
					attribute.String("http.target", "/users/42?full=1"),
					attribute.String("http.scheme", "https"),
					attribute.Int("http.status_code", 200),
					attribute.String("net.host.name", "edge.example.com"),
					attribute.String("http.user_agent", "curl/8.5.0"),
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "http.server.request", Resource: "GET /users/:id", Type: "web",
				Meta: meta(
					"span.kind", "server",
					"http.method", "GET",
					"http.target", "/users/42?full=1",
					"http.user_agent", "curl/8.5.0",
				),
				Metrics: map[string]float64{"http.status_code": 200},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "shop.Users/Get", SpanContext: sc(tid, 0x3002), Parent: root, SpanKind: trace.SpanKindServer,
				StartTime: at(1001), EndTime: at(1090),
				InstrumentationScope: grpcScope,
				Attributes: []attribute.KeyValue{
					attribute.String("rpc.system", "grpc"),
					attribute.String("rpc.service", "shop.Users"),
					attribute.String("rpc.method", "Get"),
					attribute.Int("rpc.grpc.status_code", 0),
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "grpc.server.request", Resource: "Get shop.Users", Type: "web",
				Meta: meta("span.kind", "server", "rpc.method", "Get", "rpc.grpc.status_code", "0"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "custom names", SpanContext: sc(tid, 0x3003), Parent: root, SpanKind: trace.SpanKindServer,
				StartTime: at(1002), EndTime: at(1003),
				Attributes: []attribute.KeyValue{
					attribute.String("operation.name", "Edge.Dispatch"),
					attribute.String("resource.name", "dispatch /users"),
					attribute.String("span.type", "worker"),
					attribute.String("service.name", "edge-dispatcher"),
					attribute.String("http.request.method", "GET"),
				},
			}),
			want: want{
				Service: "edge-dispatcher", Name: "edge.dispatch", Resource: "dispatch /users", Type: "worker",
				Meta:   meta("span.kind", "server", "http.method", "GET"),
				Absent: []string{"operation.name", "resource.name", "span.type", "service.name"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "load profile", SpanContext: sc(tid, 0x3004), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(1004), EndTime: at(1050),
				Events: []tracesdk.Event{
					{Name: "cache miss", Time: at(1005), Attributes: []attribute.KeyValue{
						attribute.String("key", "user:42"),
						attribute.Bool("stale", true),
						attribute.Int64("age_ms", 90_000),
						attribute.Float64("ratio", 0.25),
						attribute.StringSlice("tiers", []string{"l1", "l2"}),
						attribute.BoolSlice("hits", []bool{false, true}),
						attribute.Int64Slice("sizes", []int64{1, 2, 3}),
						attribute.Float64Slice("weights", []float64{0.5, 1.5}),
					}},
					{Name: "no attributes", Time: at(1006)},
					{Name: "whole number double", Time: at(1007), Attributes: []attribute.KeyValue{
						attribute.Float64("ratio", 2),
					}},
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "Internal", Resource: "load profile", Type: "custom",
				Meta: meta("span.kind", "internal"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "fan out", SpanContext: sc(tid, 0x3005), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(1051), EndTime: at(1060),
				Links: []tracesdk.Link{
					{
						SpanContext: func() trace.SpanContext {
							ts, _ := trace.ParseTraceState("dd=s:1;t.dm:-1,vendor=opaque")
							return trace.NewSpanContext(trace.SpanContextConfig{
								TraceID: tidLinked, SpanID: spanID(0xb7ad6b7169203331), TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
							})
						}(),
						Attributes: []attribute.KeyValue{attribute.String("link.reason", "batch"), attribute.Int("link.index", 2)},
					},
					{
						SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid64, SpanID: spanID(0x4001)}),
					},
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "Internal", Resource: "fan out", Type: "custom",
				Meta: meta("span.kind", "internal"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "graphql query", SpanContext: sc(tid, 0x3006), Parent: root, SpanKind: trace.SpanKindServer,
				StartTime: at(1061), EndTime: at(1070),
				Attributes: []attribute.KeyValue{
					attribute.String("graphql.operation.type", "query"),
					attribute.String("graphql.operation.name", "UserProfile"),
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "graphql.server.request", Resource: "query UserProfile", Type: "web",
				Meta: meta("span.kind", "server", "graphql.operation.name", "UserProfile"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "raw socket", SpanContext: sc(tid, 0x3007), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(1071), EndTime: at(1080),
				Attributes: []attribute.KeyValue{attribute.String("network.protocol.name", "amqp")},
			}),
			want: want{
				Service: "edge_gateway", Name: "amqp.client.request", Resource: "raw socket", Type: "http",
				Meta: meta("span.kind", "client", "network.protocol.name", "amqp"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "accept", SpanContext: sc(tid, 0x3008), Parent: root, SpanKind: trace.SpanKindServer,
				StartTime: at(1081), EndTime: at(1082),
			}),
			want: want{
				Service: "edge_gateway", Name: "server.request", Resource: "accept", Type: "web",
				Meta: meta("span.kind", "server"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "dial", SpanContext: sc(tid, 0x3009), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(1083), EndTime: at(1084),
			}),
			want: want{
				Service: "edge_gateway", Name: "client.request", Resource: "dial", Type: "http",
				Meta: meta("span.kind", "client"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "memcache get", SpanContext: sc(tid, 0x300a), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(1085), EndTime: at(1086),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "memcached"),
					attribute.String("db.operation", "get"),
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "memcached.query", Resource: "memcache get", Type: "memcached",
				Meta: meta("span.kind", "client", "db.operation", "get"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "search users", SpanContext: sc(tid, 0x300b), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(1087), EndTime: at(1088),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "elasticsearch"),
					attribute.String("db.statement", `{"query":{"match":{"name":"ada"}}}`),
				},
			}),
			want: want{
				Service: "edge_gateway", Name: "elasticsearch.query", Resource: `{"query":{"match":{"name":"ada"}}}`, Type: "elasticsearch",
				Meta: meta("span.kind", "client"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "unspecified kind", SpanContext: sc(tid, 0x300c), Parent: root, SpanKind: trace.SpanKindUnspecified,
				StartTime: at(1089), EndTime: at(1090),
			}),
			want: want{
				Service: "edge_gateway", Name: "Internal", Resource: "unspecified kind", Type: "custom",
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "upstream 503", SpanContext: sc(tid, 0x300d), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(1091), EndTime: at(1095),
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "_OTHER"),
					attribute.Int("http.response.status_code", 503),
				},
				Status: tracesdk.Status{Code: codes.Error},
			}),
			want: want{
				Service: "edge_gateway", Name: "http.client.request", Resource: "HTTP", Type: "http", Error: 1,
				Meta:    meta("http.method", "_OTHER"),
				Metrics: map[string]float64{"http.status_code": 503},
				Absent:  []string{"otel.status_description", "error.msg"},
			},
		},
	}
}

// oddTrace holds the values the Agent normalises: unicode, invalid UTF-8,
// very long values, and a 64-bit trace ID.
func oddTrace() []corpusSpan {
	tid := tid64
	root := sc(tid, 0x4001)
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = checkoutRes
		s.InstrumentationScope = appScope
		return s
	}
	common := map[string]string{"env": "prod"}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "café ☕ 注文", SpanContext: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(2000), EndTime: at(2100),
				Attributes: []attribute.KeyValue{
					attribute.String("customer.name", "Zoë Åström-Ñúñez 🚀"),
					attribute.String("emoji.key.🔑", "値"),
				},
			}),
			want: want{
				Service: "checkout", Name: "Internal", Resource: "café ☕ 注文", Type: "custom",
				Meta: meta("customer.name", "Zoë Åström-Ñúñez 🚀", "emoji.key.🔑", "値"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "bad \xff\xfe utf8", SpanContext: sc(tid, 0x4002), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(2001), EndTime: at(2002),
				Attributes: []attribute.KeyValue{
					attribute.String("payload.raw", "ok\xc3\x28bad"),
				},
			}),
			want: want{
				Service: "checkout", Name: "Internal", Resource: "bad \ufffd\ufffd utf8", Type: "custom",
				Meta: meta("payload.raw", "ok\ufffd(bad"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: strings.Repeat("long resource ", 400), SpanContext: sc(tid, 0x4003), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(2003), EndTime: at(2004),
				Attributes: []attribute.KeyValue{
					attribute.String("app.blob", longValue),
					attribute.String(longKey, "v"),
					attribute.String("operation.name", strings.Repeat("op", 80)),
				},
			}),
			want: want{
				Service: "checkout", Name: strings.Repeat("op", 50), Resource: strings.Repeat("long resource ", 400)[:5000], Type: "custom",
				Meta: meta(
					"app.blob", longValue[:25_000]+"...",
					longKey[:200]+"...", "v",
				),
				Absent: []string{longKey},
			},
		},
	}
}

// paymentsTrace is a serverless payments service: FaaS, Cassandra, MySQL with
// the old conventions, request headers, and exception events with and
// without an error status.
func paymentsTrace() []corpusSpan {
	tid := traceID(0x6553e4f6_00000000|0x2, 0x5555666677778888)
	res := resource.NewSchemaless(
		attribute.String("service.name", "payments"),
		attribute.String("service.version", "2026.11.1"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("faas.name", "charge"),
	)
	root := sc(tid, 0x6001)
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = res
		s.InstrumentationScope = sdktrace.Scope{Name: "payments", Version: "2026.11.1"}
		return s
	}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{"env": "prod", "version": "2026.11.1", "faas.name": "charge"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "charge invoke", SpanContext: root, Parent: remote(tid, 0x77), SpanKind: trace.SpanKindServer,
				StartTime: at(4000), EndTime: at(4300),
				Attributes: []attribute.KeyValue{
					attribute.String("faas.trigger", "http"),
					attribute.StringSlice("http.request.header.x-request-id", []string{"req-1"}),
				},
			}),
			want: want{
				Service: "payments", Name: "http.invoke", Resource: "charge invoke", Type: "web",
				Meta:   meta("span.kind", "server", "faas.trigger", "http", "http.request.headers.x-request-id", `["req-1"]`),
				Absent: []string{"http.request.header.x-request-id"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "invoke fraud-check", SpanContext: sc(tid, 0x6002), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(4001), EndTime: at(4050),
				Attributes: []attribute.KeyValue{
					attribute.String("faas.invoked_provider", "aws"),
					attribute.String("faas.invoked_name", "fraud-check"),
					attribute.String("faas.invoked_region", "eu-west-1"),
				},
			}),
			want: want{
				Service: "payments", Name: "aws.fraud_check.invoke", Resource: "invoke fraud-check", Type: "http",
				Meta: meta("span.kind", "client", "faas.invoked_region", "eu-west-1"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "ledger insert", SpanContext: sc(tid, 0x6003), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(4051), EndTime: at(4060),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "cassandra"),
					attribute.String("db.statement", "INSERT INTO ledger (id, amount) VALUES (7, 12.5)"),
					attribute.String("db.cassandra.consistency_level", "quorum"),
				},
			}),
			want: want{
				Service: "payments", Name: "cassandra.query", Resource: "INSERT INTO ledger ( id, amount ) VALUES ( ? )", Type: "cassandra",
				Meta: meta("span.kind", "client", "db.cassandra.consistency_level", "quorum"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "accounts select", SpanContext: sc(tid, 0x6004), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(4061), EndTime: at(4070),
				Attributes: []attribute.KeyValue{
					attribute.String("db.system", "mysql"),
					attribute.String("db.name", "accounts"),
					attribute.String("db.statement", "SELECT balance FROM accounts WHERE id IN (1, 2, 3)"),
					attribute.String("db.user", "payments"),
				},
			}),
			want: want{
				Service: "payments", Name: "mysql.query", Resource: "SELECT balance FROM accounts WHERE id IN ( ? )", Type: "sql",
				Meta: meta("span.kind", "client", "db.name", "accounts", "db.user", "payments"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "score", SpanContext: sc(tid, 0x6005), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(4071), EndTime: at(4071),
				Attributes: []attribute.KeyValue{
					attribute.BoolSlice("flags", []bool{true, false}),
					attribute.Float64Slice("scores", []float64{0.1, 0.9}),
					attribute.Int64("big", 1<<53+1),
					attribute.Float64("tiny", 1e-9),
				},
			}),
			want: want{
				Service: "payments", Name: "Internal", Resource: "score", Type: "custom",
				Meta:    meta("flags", "[true,false]", "scores", "[0.1,0.9]"),
				Metrics: map[string]float64{"big": 1<<53 + 1, "tiny": 1e-9},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "retry handled", SpanContext: sc(tid, 0x6006), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(4072), EndTime: at(4080),
				Events: []tracesdk.Event{{
					Name: "exception", Time: at(4073),
					Attributes: []attribute.KeyValue{
						attribute.String("exception.type", "net.OpError"),
						attribute.String("exception.message", "dial tcp: connection refused"),
					},
				}},
			}),
			want: want{
				Service: "payments", Name: "Internal", Resource: "retry handled", Type: "custom",
				Meta:   meta("_dd.span_events.has_exception", "true", "otel.status_code", "Unset"),
				Absent: []string{"error.msg", "error.type", "error.message"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "refund failed", SpanContext: sc(tid, 0x6007), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(4081), EndTime: at(4090),
				Events: []tracesdk.Event{
					{Name: "retry", Time: at(4082), Attributes: []attribute.KeyValue{attribute.Int("attempt", 1)}},
					{Name: "exception", Time: at(4083), Attributes: []attribute.KeyValue{
						attribute.String("exception.type", "*errors.errorString"),
						attribute.String("exception.message", "refund window closed"),
					}},
				},
				Status: tracesdk.Status{Code: codes.Error},
			}),
			want: want{
				Service: "payments", Name: "Internal", Resource: "refund failed", Type: "custom", Error: 1,
				Meta:   meta("_dd.span_events.has_exception", "true", "otel.status_code", "Error"),
				Absent: []string{"otel.status_description"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "settle", SpanContext: sc(tid, 0x6008), Parent: root, SpanKind: trace.SpanKindConsumer,
				StartTime: at(4091), EndTime: at(4099),
				Attributes: []attribute.KeyValue{
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation.type", "process"),
					attribute.String("messaging.destination.name", "settlements"),
				},
			}),
			want: want{
				Service: "payments", Name: "Consumer", Resource: "settle", Type: "custom",
				Meta: meta("span.kind", "consumer"),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "audit", SpanContext: sc(tid, 0x6009), Parent: root, SpanKind: trace.SpanKindProducer,
				StartTime: at(4100), EndTime: at(4101),
			}),
			want: want{
				Service: "payments", Name: "Producer", Resource: "audit", Type: "custom",
				Meta: meta("span.kind", "producer"),
			},
		},
	}
}

// conventionsTrace exercises the less common rules of the Agent's mapping:
// span-level env and version, peer.service, numeric resource attributes,
// scope attributes, textual HTTP status codes, gRPC codes under other
// keys, sampling-related attributes and the W3C tracestate.
func conventionsTrace() []corpusSpan {
	tid := traceID(0x6553e4f7_00000000|0x3, 0x9999aaaabbbbcccc)
	res := resource.NewSchemaless(
		attribute.String("service.name", "catalog"),
		attribute.String("service.version", "3.0.0"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.Int("process.pid", 4242),
		attribute.Bool("cloud.provider.managed", true),
	)
	scope := sdktrace.Scope{
		Name:       "catalog/http",
		Version:    "1.0.0",
		Attributes: attribute.NewSet(attribute.String("scope.team", "search")),
	}
	ts, err := trace.ParseTraceState("ot=th:8")
	if err != nil {
		panic(err)
	}
	root := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: spanID(0x7001), TraceFlags: trace.FlagsSampled, TraceState: ts,
	})
	stub := func(s tracetest.SpanStub) tracetest.SpanStub {
		s.Resource = res
		s.InstrumentationScope = scope
		return s
	}
	meta := func(kv ...string) map[string]string {
		m := map[string]string{"process.pid": "4242", "cloud.provider.managed": "true", "scope.team": "search"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []corpusSpan{
		{
			stub: stub(tracetest.SpanStub{
				Name: "GET /items", SpanContext: root, SpanKind: trace.SpanKindServer,
				StartTime: at(5000), EndTime: at(5100),
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "GET"),
					attribute.String("http.route", "/items"),
					attribute.String("http.request.header.referrer", "https://shop.example.com/"),
					attribute.Int("http.response.body.size", 2048),
					attribute.String("deployment.environment.name", "canary"),
					attribute.String("service.version", "3.0.1-rc1"),
				},
			}),
			want: want{
				Service: "catalog", Name: "http.server.request", Resource: "GET /items", Type: "web",
				Meta: meta(
					"env", "canary",
					"version", "3.0.1-rc1",
					"http.referrer", "https://shop.example.com/",
					"w3c.tracestate", "ot=th:8",
				),
				Metrics: map[string]float64{"http.response.content_length": 2048, "_sample_rate": 0.5},
				Absent:  []string{"http.request.header.referrer", "http.response.body.size"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "pricing call", SpanContext: sc(tid, 0x7002), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(5001), EndTime: at(5010),
				Attributes: []attribute.KeyValue{
					attribute.String("http.method", "GET"),
					attribute.String("http.status_code", "404"),
					attribute.String("peer.service", "Pricing API"),
				},
				Status: tracesdk.Status{Code: codes.Error},
			}),
			want: want{
				Service: "catalog", Name: "http.client.request", Resource: "GET", Type: "http", Error: 1,
				Meta: meta(
					"env", "prod",
					"version", "3.0.0",
					"error.msg", "404 Not Found",
					"http.status_code", "404",
					"peer.service", "pricing_api",
				),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "inventory rpc", SpanContext: sc(tid, 0x7003), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(5011), EndTime: at(5020),
				Attributes: []attribute.KeyValue{
					attribute.String("rpc.system", "grpc"),
					attribute.String("rpc.service", "catalog.Inventory"),
					attribute.String("rpc.method", "Count"),
					attribute.Int("grpc.code", 5),
				},
			}),
			want: want{
				Service: "catalog", Name: "grpc.client.request", Resource: "Count catalog.Inventory", Type: "http",
				Meta:    meta("rpc.grpc.status_code", "5"),
				Metrics: map[string]float64{"grpc.code": 5},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "measured work", SpanContext: sc(tid, 0x7004), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(5021), EndTime: at(5030),
				Attributes: []attribute.KeyValue{
					attribute.Int("_dd.measured", 1),
					attribute.Bool("analytics.event", true),
				},
			}),
			want: want{
				Service: "catalog", Name: "Internal", Resource: "measured work", Type: "custom",
				Meta: meta(),
				// analytics.event sets _dd1.sr.eausr, which the Agent's event
				// processor turns into _dd.analyzed.
				Metrics: map[string]float64{"_dd.measured": 1, "_dd.analyzed": 1},
				Absent:  []string{"analytics.event", "_dd1.sr.eausr"},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "chat completion", SpanContext: sc(tid, 0x7005), Parent: root, SpanKind: trace.SpanKindClient,
				StartTime: at(5031), EndTime: at(5090),
				Attributes: []attribute.KeyValue{
					attribute.String("gen_ai.system", "openai"),
					attribute.String("gen_ai.operation.name", "chat"),
					attribute.String("gen_ai.request.model", "gpt-4o"),
					attribute.Int("gen_ai.usage.input_tokens", 120),
				},
			}),
			want: want{
				// The 7.85 Agent has no rule for gen_ai.* spans.
				Service: "catalog", Name: "client.request", Resource: "chat completion", Type: "http",
				Meta:    meta("gen_ai.request.model", "gpt-4o"),
				Metrics: map[string]float64{"gen_ai.usage.input_tokens": 120},
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "non-finite", SpanContext: sc(tid, 0x7007), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(5096), EndTime: at(5097),
				Attributes: []attribute.KeyValue{
					attribute.Float64("ratio.nan", math.NaN()),
					attribute.Float64("ratio.inf", math.Inf(1)),
					attribute.Float64Slice("ratios", []float64{1, math.Inf(-1)}),
				},
				Events: []tracesdk.Event{{Name: "overflow", Time: at(5096), Attributes: []attribute.KeyValue{
					attribute.Float64("value", math.Inf(1)),
					attribute.String("unit", "ms"),
				}}},
			}),
			want: want{
				Service: "catalog", Name: "Internal", Resource: "non-finite", Type: "custom",
				Meta: meta(),
			},
		},
		{
			stub: stub(tracetest.SpanStub{
				Name: "bad status", SpanContext: sc(tid, 0x7006), Parent: root, SpanKind: trace.SpanKindServer,
				StartTime: at(5091), EndTime: at(5095),
				Attributes: []attribute.KeyValue{
					attribute.String("http.request.method", "GET"),
					attribute.Int("http.response.status_code", 999),
				},
			}),
			want: want{
				// The Agent's normaliser drops an invalid http.status_code
				// from meta only; the metric stays.
				Service: "catalog", Name: "http.server.request", Resource: "GET", Type: "web",
				Meta:    meta(),
				Metrics: map[string]float64{"http.status_code": 999},
				Absent:  []string{"error.msg"},
			},
		},
	}
}

// bulkTrace is one trace of n spans: a server root and n-1 internal children.
func bulkTrace(n int) []corpusSpan {
	tid := tidBulk
	root := sc(tid, 0x5000)
	out := make([]corpusSpan, 0, n)
	out = append(out, corpusSpan{
		stub: tracetest.SpanStub{
			Name: "POST /import", SpanContext: root, SpanKind: trace.SpanKindServer,
			StartTime: at(3000), EndTime: at(3000 + n),
			Resource: bulkRes, InstrumentationScope: httpScope,
			Attributes: []attribute.KeyValue{
				attribute.String("http.request.method", "POST"),
				attribute.String("http.route", "/import"),
				attribute.Int("http.response.status_code", 202),
			},
		},
		want: want{
			Service: "bulk-import", Name: "http.server.request", Resource: "POST /import", Type: "web",
			Meta:    map[string]string{"env": "prod", "span.kind": "server"},
			Metrics: map[string]float64{"http.status_code": 202},
		},
	})
	for i := 1; i < n; i++ {
		out = append(out, corpusSpan{
			stub: tracetest.SpanStub{
				Name: "import row", SpanContext: sc(tid, 0x5000+uint64(i)), Parent: root, SpanKind: trace.SpanKindInternal,
				StartTime: at(3000 + i), EndTime: at(3001 + i),
				Resource: bulkRes, InstrumentationScope: appScope,
				Attributes: []attribute.KeyValue{attribute.Int("row", i), attribute.String("row.id", "r-"+strconv.Itoa(i))},
			},
			want: want{
				Service: "bulk-import", Name: "Internal", Resource: "import row", Type: "custom",
				Meta:    map[string]string{"env": "prod", "row.id": "r-" + strconv.Itoa(i)},
				Metrics: map[string]float64{"row": float64(i)},
			},
		})
	}
	return out
}

// stubs returns the corpus as SpanStubs.
func stubs(c []corpusSpan) tracetest.SpanStubs {
	out := make(tracetest.SpanStubs, len(c))
	for i, s := range c {
		out[i] = s.stub
	}
	return out
}
