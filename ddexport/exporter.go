package ddexport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/seed03c8c003/ddslog/internal/stats"
)

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// errShutdown is returned by ExportSpans after Shutdown, and is the cause
// of the cancellation of exports that Shutdown had to cut short.
var errShutdown = errors.New("ddexport: exporter is shut down")

// maxReported bounds the distinct rejection causes reported via otel.Handle.
const maxReported = 64

// discoveryWait is how long the first export waits for the first /info
// answer, so that a healthy local Agent gets native span events from the
// start while a missing one costs little.
const discoveryWait = 200 * time.Millisecond

// Exporter is an OpenTelemetry SDK SpanExporter that sends spans to the
// Datadog Agent. It is safe for concurrent use. Use it behind
// NewSpanProcessor in production; the SDK's batch and simple processors
// work too (see the package documentation for what they lose).
type Exporter struct {
	version    APIVersion
	cfg        *mapConfig
	maxPayload int
	retry      RetryConfig
	t          *transport
	encoders   encoderPool
	disc       *discovery
	// css computes client-side stats; nil when they are turned off
	// (WithClientStats(false), DD_TRACE_STATS_COMPUTATION_ENABLED=false).
	css         *clientStats
	spanSampler SpanSampler // nil without single-span sampling rules

	stats   counters
	rates   atomic.Pointer[map[string]float64]
	lastErr atomic.Pointer[string]

	subMu sync.Mutex // held while subscribers are called, so in order
	subs  []func(rates map[string]float64)

	mu         sync.Mutex
	closed     bool
	inflight   int
	idle       chan struct{} // closed when closed and no export is running
	discCancel context.CancelFunc
	waited     bool                // the first export waited for discovery
	reported   map[string]struct{} // rejection causes already reported

	// stop is cancelled when Shutdown gives up waiting, to cut running
	// exports short.
	stop       context.Context
	cancelStop context.CancelCauseFunc

	// Injected in tests for fast, deterministic retries.
	now    func() time.Time
	wait   func(ctx context.Context, d time.Duration) error
	jitter func(time.Duration) time.Duration
}

// counters are the atomic counterparts of Stats.
type counters struct {
	exported                                                  atomic.Uint64
	shutdown, canceled, tooLarge, rejected, failed, invalid   atomic.Uint64
	bufferFull                                                atomic.Uint64
	requests, sent, retries, splits, rejections, droppedCalls atomic.Uint64

	// Kept by a SpanProcessor exporting through this exporter.
	ended, tracesShed, partialFlushes, tracesExpired, openAtShutdown atomic.Uint64
	buffered                                                         atomic.Int64

	// Client-side stats.
	droppedP0Spans, droppedP0Traces, statsSent, statsFailed atomic.Uint64
}

// New returns an exporter configured by opts, then by the DD_* environment
// variables, then by defaults (see the package documentation). It reads the
// environment and /proc/self/cgroup once; it does not contact the Agent, so
// it is fast and succeeds when the Agent is down. It fails only on a
// malformed address, an unknown API version, a container ID that cannot
// be sent as a header, or a malformed DD_TRACE_STATS_COMPUTATION_ENABLED.
func New(opts ...Option) (*Exporter, error) {
	return newExporter(osEnvironment(), opts...)
}

func newExporter(env environment, opts ...Option) (*Exporter, error) {
	c := newConfig(opts)
	s, err := resolve(c, env)
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		version:    c.apiVersion,
		cfg:        &s.mapping,
		maxPayload: c.maxPayload,
		retry:      c.retry,
		t:          newTransport(s.endpoint, c.apiVersion, c, s.containerID),
		idle:       make(chan struct{}),
		now:        time.Now,
		wait:       sleep,
		jitter:     jitter,
	}
	e.stop, e.cancelStop = context.WithCancelCause(context.Background())
	e.encoders.New = func() any { return newEncoder(e.version, e.cfg) }
	e.spanSampler = c.spanSampler
	if s.clientStats {
		if e.css, err = newClientStats(s.mapping.service); err != nil {
			return nil, fmt.Errorf("ddexport: client-side stats: %w", err)
		}
	}
	e.disc = newDiscovery(e.t)
	e.disc.wantFast = e.css != nil
	return e, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// jitter spreads d over [d/2, 3d/2).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}

// ExportSpans sends spans to the Agent, one chunk per trace ID, in as many
// requests as the payload size cap requires. It returns when every span is
// either accepted by the Agent or dropped, and never after ctx is done.
// It returns an error when any span was dropped (see Stats for why), and
// after Shutdown. It does not keep spans.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	return e.export(ctx, spans, nil)
}

// exportChunks is ExportSpans for spans already cut into chunks, by the
// span processor: each chunk is sent as one, as it is.
func (e *Exporter) exportChunks(ctx context.Context, chunks [][]sdktrace.ReadOnlySpan) error {
	return e.export(ctx, nil, chunks)
}

// export sends spans grouped by trace ID, or chunks as they are (one of the
// two is empty), and accounts for every span.
func (e *Exporter) export(ctx context.Context, spans []sdktrace.ReadOnlySpan, chunks [][]sdktrace.ReadOnlySpan) error {
	total := len(spans) + countSpans(chunks)
	if total == 0 {
		return nil
	}
	if !e.begin() {
		e.drop(&e.stats.shutdown, total, errShutdown)
		e.stats.droppedCalls.Add(1)
		return errShutdown
	}
	defer e.end()
	if err := ctx.Err(); err != nil {
		e.drop(&e.stats.canceled, total, err)
		e.stats.droppedCalls.Add(1)
		return fmt.Errorf("ddexport: dropped %d of %d spans: %w", total, total, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := context.AfterFunc(e.stop, func() { cancel(errShutdown) })
	defer stopWatch()

	info := e.agentInfo(ctx)
	enc := e.encoders.Get().(*encoder)
	defer func() {
		enc.release()
		e.encoders.Put(enc)
	}()
	// Client-side stats count only the spans a span processor hands over:
	// it sends priority-0 traces too, which the stats must include.
	fromProcessor := len(spans) == 0
	if fromProcessor {
		chunks = enc.validChunks(chunks)
	} else {
		chunks = enc.chunks(spans)
	}
	r := run{e: e, enc: enc, native: e.version == V04 && info != nil && info.spanEvents}
	if n := total - countSpans(chunks); n > 0 {
		r.drop(&e.stats.invalid, n, errors.New("nil span, or zero trace or span ID"))
	}
	r.computed = fromProcessor && e.clientStatsOn(info)
	var peerTags *stats.PeerTagKeys
	if info != nil {
		peerTags = info.peerTags
	}
	chunks = r.prepare(chunks, r.computed, peerTags)
	r.deliver(ctx, chunks)
	if r.dropped > 0 {
		e.stats.droppedCalls.Add(1)
		return fmt.Errorf("ddexport: dropped %d of %d spans: %w", r.dropped, total, r.err)
	}
	return nil
}

// begin registers a running export; false after Shutdown.
func (e *Exporter) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.inflight++
	return true
}

func (e *Exporter) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight--
	if e.closed && e.inflight == 0 {
		close(e.idle)
	}
}

// agentInfo returns what the Agent's /info said last, or nil before it
// answered. The first call starts the discovery goroutine and waits a
// little for its first answer.
func (e *Exporter) agentInfo(ctx context.Context) *agentInfo {
	d := e.disc
	e.mu.Lock()
	wait := !e.waited
	if e.discCancel == nil && !e.closed {
		dctx, cancel := context.WithCancel(context.Background())
		e.discCancel = cancel
		go d.run(dctx)
	}
	e.waited = true
	e.mu.Unlock()
	if wait {
		t := time.NewTimer(discoveryWait)
		select {
		case <-d.known:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return d.info.Load()
}

// nativeEvents reports whether spans events and links can be sent
// natively: v0.4 and an Agent whose /info says so.
func (e *Exporter) nativeEvents(ctx context.Context) bool {
	info := e.agentInfo(ctx)
	return e.version == V04 && info != nil && info.spanEvents
}

// run is the state of one ExportSpans call.
type run struct {
	e        *Exporter
	enc      *encoder
	native   bool
	computed bool // the spans are in client-side stats
	dropped  int
	err      error // the first cause of a drop
}

func (r *run) drop(reason *atomic.Uint64, n int, err error) {
	r.dropped += n
	if r.err == nil {
		r.err = err
	}
	r.e.drop(reason, n, err)
}

func (e *Exporter) drop(reason *atomic.Uint64, n int, err error) {
	reason.Add(uint64(n))
	msg := err.Error()
	e.lastErr.Store(&msg)
}

// deliver sends chunks, splitting them in halves while the payload is over
// the size cap or the Agent answers 413: first the chunks between two
// payloads, then a single chunk into two chunks of its spans. Only a span
// that alone is too large is dropped.
func (r *run) deliver(ctx context.Context, chunks [][]sdktrace.ReadOnlySpan) {
	if len(chunks) == 0 {
		return
	}
	e := r.e
	n := countSpans(chunks)
	if err := ctx.Err(); err != nil {
		r.dropCanceled(ctx, n)
		return
	}
	body := r.enc.encode(chunks, r.native)
	if len(body) > e.maxPayload {
		if n == 1 {
			r.drop(&e.stats.tooLarge, n, fmt.Errorf("a span encodes to %d bytes, over the %d-byte payload cap", len(body), e.maxPayload))
			return
		}
		r.split(ctx, chunks)
		return
	}
	traces, spans := e.css.takeDropped()
	res, err := e.post(ctx, request{traceCount: len(chunks), computedStats: r.computed,
		droppedTraces: traces, droppedSpans: spans}, body)
	if res != sent {
		e.css.giveBack(traces, spans)
	}
	switch res {
	case sent:
		e.stats.exported.Add(uint64(n))
	case tooLarge:
		if n == 1 {
			r.drop(&e.stats.tooLarge, n, err)
			return
		}
		r.split(ctx, chunks)
	case rejected:
		r.drop(&e.stats.rejected, n, err)
	case failed:
		r.drop(&e.stats.failed, n, err)
	case canceled:
		r.dropCanceled(ctx, n)
	}
}

// split delivers chunks in two payloads, or a single chunk as two chunks
// of its spans, each with the trace's decision and tags on its roots, as a
// partial flush sends them (the local root stays in the first).
func (r *run) split(ctx context.Context, chunks [][]sdktrace.ReadOnlySpan) {
	r.e.stats.splits.Add(1)
	if len(chunks) == 1 {
		c := chunks[0]
		mid := len(c) / 2
		r.deliver(ctx, [][]sdktrace.ReadOnlySpan{c[:mid]})
		r.deliver(ctx, [][]sdktrace.ReadOnlySpan{c[mid:]})
		return
	}
	mid := len(chunks) / 2
	r.deliver(ctx, chunks[:mid])
	r.deliver(ctx, chunks[mid:])
}

// dropCanceled drops n spans because ctx is done: by Shutdown or the caller.
func (r *run) dropCanceled(ctx context.Context, n int) {
	cause := context.Cause(ctx)
	if errors.Is(cause, errShutdown) {
		r.drop(&r.e.stats.shutdown, n, cause)
		return
	}
	r.drop(&r.e.stats.canceled, n, cause)
}

func countSpans(chunks [][]sdktrace.ReadOnlySpan) int {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	return n
}

// outcome is the fate of one payload.
type outcome uint8

const (
	sent     outcome = iota // accepted
	tooLarge                // 413: split and try again
	rejected                // 400 or another 4xx: dropped
	failed                  // retries exhausted or not allowed
	canceled                // ctx done
)

// post sends one payload, retrying what can succeed later.
func (e *Exporter) post(ctx context.Context, req request, body []byte) (outcome, error) {
	start := e.now()
	for attempt := 0; ; attempt++ {
		if !req.stats {
			e.stats.requests.Add(1)
		}
		resp, err := e.t.send(ctx, req, body, e.now())
		var retryAfter time.Duration
		switch s := resp.status; {
		case err != nil && ctx.Err() != nil:
			return canceled, context.Cause(ctx)
		case err != nil:
			err = fmt.Errorf("sending to the agent: %w", err)
		case s >= 200 && s < 300:
			if !req.stats {
				e.stats.sent.Add(1)
			}
			if resp.hasRates {
				e.rates.Store(&resp.rates)
				e.publishRates(resp.rates)
			}
			return sent, nil
		case s == http.StatusRequestEntityTooLarge:
			if req.stats {
				return rejected, statusError(s, resp.reason)
			}
			e.stats.rejections.Add(1)
			return tooLarge, statusError(s, resp.reason)
		case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
			err = statusError(s, resp.reason)
			retryAfter = resp.retryAfter
		default:
			if !req.stats {
				e.stats.rejections.Add(1)
			}
			err = rejection{statusError(s, resp.reason)}
			e.reportOnce(err)
			return rejected, err
		}
		// A connection error or a server error: the Agent may have been
		// restarted or replaced; learn again what it understands.
		e.disc.requestCheck()
		if !e.retry.Enabled {
			return failed, err
		}
		delay := e.backoff(attempt)
		if retryAfter > delay {
			delay = retryAfter
		}
		now := e.now()
		if e.retry.MaxElapsedTime > 0 && now.Add(delay).Sub(start) > e.retry.MaxElapsedTime {
			return failed, fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
		}
		if dl, ok := ctx.Deadline(); ok && !now.Add(delay).Before(dl) {
			return failed, fmt.Errorf("%w (gave up after %d attempts: next one would be past the deadline)", err, attempt+1)
		}
		e.stats.retries.Add(1)
		if e.wait(ctx, delay) != nil {
			return canceled, context.Cause(ctx)
		}
	}
}

// backoff is the wait after the given failed attempt (0-based):
// exponential, jittered, capped.
func (e *Exporter) backoff(attempt int) time.Duration {
	d := e.retry.InitialInterval
	if d <= 0 {
		d = defaultRetry.InitialInterval
	}
	maxd := e.retry.MaxInterval
	if maxd <= 0 {
		maxd = defaultRetry.MaxInterval
	}
	for i := 0; i < attempt && d < maxd; i++ {
		d *= 2
	}
	d = min(d, maxd)
	return min(e.jitter(d), maxd)
}

func statusError(status int, reason string) error {
	msg := "agent answered " + strconv.Itoa(status) + " " + http.StatusText(status)
	if reason != "" {
		msg += ": " + reason
	}
	return errors.New(msg)
}

// rejection is the error of a payload the Agent refused for good: the
// exporter reports it through otel.Handle itself (reportOnce), so that a
// span processor does not report it again.
type rejection struct{ error }

func (r rejection) Unwrap() error { return r.error }

// reportOnce hands a rejection to otel.Handle the first time its cause is
// seen: a misconfiguration would otherwise repeat it for every payload.
func (e *Exporter) reportOnce(err error) {
	key := err.Error()
	e.mu.Lock()
	_, seen := e.reported[key]
	full := len(e.reported) >= maxReported
	if !seen && !full {
		if e.reported == nil {
			e.reported = make(map[string]struct{})
		}
		e.reported[key] = struct{}{}
	}
	e.mu.Unlock()
	if !seen && !full {
		otel.Handle(fmt.Errorf("ddexport: payload dropped: %w", err))
	}
}

// Shutdown stops the exporter: later ExportSpans calls fail at once, the
// background /info discovery stops, and running exports are given until
// ctx is done to finish, then cut short (their spans counted as dropped at
// shutdown). It returns ctx's error when it had to cut exports short, and
// nil otherwise — also with a ctx that is already done, when no export was
// running. The discovery goroutine is waited for until ctx is done; it
// returns at once when cancelled (or when its cancelled /info request
// does), so it is never a reason for an error. It is safe to call more
// than once; later calls return nil once the first has finished.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		if e.inflight == 0 {
			close(e.idle)
		}
	}
	discCancel := e.discCancel
	e.mu.Unlock()

	if discCancel != nil {
		discCancel()
	}
	var err error
	if !closedBefore(ctx, e.idle) {
		e.cancelStop(errShutdown)
		err = ctx.Err()
	}
	if discCancel != nil {
		closedBefore(ctx, e.disc.done)
	}
	e.t.close()
	return err
}

// closedBefore waits until ch is closed or ctx is done, and reports whether
// ch was closed. A ch already closed counts whatever ctx's state: select
// alone would pick between the two at random.
func closedBefore(ctx context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// Stats is a snapshot of an Exporter's counters since New. Every span given
// to ExportSpans is counted exactly once: in SpansExported or in
// SpansDropped, which is the sum of the Dropped reasons.
type Stats struct {
	// SpansExported counts spans the Agent accepted.
	SpansExported uint64
	// SpansDropped counts spans given up, for the reasons in Dropped.
	SpansDropped uint64
	// Dropped breaks SpansDropped down by reason.
	Dropped DropReasons

	// Requests counts HTTP requests to the traces endpoint, retries included.
	Requests uint64
	// PayloadsSent counts payloads the Agent accepted.
	PayloadsSent uint64
	// Retries counts requests repeated after a retryable failure.
	Retries uint64
	// Splits counts payloads split in two, for the size cap or a 413:
	// between their chunks, or a single chunk between its spans.
	Splits uint64
	// Rejections counts 4xx answers (413 included).
	Rejections uint64
	// FailedExports counts ExportSpans calls that dropped spans.
	FailedExports uint64

	// LastError describes the most recent drop, or is empty.
	LastError string

	// Kept by a SpanProcessor exporting through this exporter. Once the
	// processor is shut down, SpansEnded == SpansExported + SpansDropped;
	// before, SpansBuffered more are waiting.

	// SpansEnded counts spans the processor was given as they ended.
	SpansEnded uint64
	// SpansBuffered is the number of ended spans the processor holds now,
	// in live traces and in its export queue.
	SpansBuffered uint64
	// TracesShed counts traces dropped whole because the processor's
	// buffer was full (their spans are in Dropped.BufferFull).
	TracesShed uint64
	// PartialFlushes counts chunks sent before their trace was complete:
	// partial flush, the per-trace cap, a trace past its maximum age, or
	// Shutdown.
	PartialFlushes uint64
	// TracesExpired counts traces forgotten for their age, with spans
	// still open (their finished spans were sent as a partial chunk).
	TracesExpired uint64
	// SpansOpenAtShutdown counts spans started but not ended when the
	// processor was shut down (never ended, so never exported).
	SpansOpenAtShutdown uint64

	// Client-side stats (see the package documentation). Priority-0 spans
	// not sent because their stats were computed here are a sampling
	// decision, not a failure: they are not in SpansDropped, and once the
	// processor is shut down SpansEnded == SpansExported + SpansDropped +
	// SpansDroppedP0.

	// SpansDroppedP0 counts spans of priority-0 traces not sent (their
	// stats are in the client-side stats).
	SpansDroppedP0 uint64
	// TracesDroppedP0 counts priority-0 chunks of which no span was sent.
	TracesDroppedP0 uint64
	// StatsPayloadsSent and StatsPayloadsFailed count /v0.6/stats payloads
	// the Agent accepted, and those given up.
	StatsPayloadsSent   uint64
	StatsPayloadsFailed uint64
}

// DropReasons counts dropped spans by reason.
type DropReasons struct {
	// Shutdown: given to ExportSpans after Shutdown, or cut short by it.
	Shutdown uint64
	// Canceled: the context of ExportSpans was done before delivery.
	Canceled uint64
	// TooLarge: one span alone was over the payload cap, or the Agent
	// answered 413 to it alone (larger traces are split between chunks).
	TooLarge uint64
	// Rejected: the Agent answered 400 (it could not decode the payload)
	// or another 4xx.
	Rejected uint64
	// Failed: connection errors, timeouts, 408, 429 or 5xx went on past the
	// retry policy or the context's deadline.
	Failed uint64
	// Invalid: nil entries in the spans slice, and spans with a zero trace
	// or span ID (the Agent would drop their whole trace).
	Invalid uint64
	// BufferFull: the span processor held its maximum of spans, so the
	// span's whole trace was dropped.
	BufferFull uint64
}

func (d DropReasons) total() uint64 {
	return d.Shutdown + d.Canceled + d.TooLarge + d.Rejected + d.Failed + d.Invalid + d.BufferFull
}

// Stats returns the exporter's counters.
func (e *Exporter) Stats() Stats {
	c := &e.stats
	s := Stats{
		SpansExported: c.exported.Load(),
		Dropped: DropReasons{
			Shutdown:   c.shutdown.Load(),
			Canceled:   c.canceled.Load(),
			TooLarge:   c.tooLarge.Load(),
			Rejected:   c.rejected.Load(),
			Failed:     c.failed.Load(),
			Invalid:    c.invalid.Load(),
			BufferFull: c.bufferFull.Load(),
		},
		Requests:      c.requests.Load(),
		PayloadsSent:  c.sent.Load(),
		Retries:       c.retries.Load(),
		Splits:        c.splits.Load(),
		Rejections:    c.rejections.Load(),
		FailedExports: c.droppedCalls.Load(),

		SpansEnded:          c.ended.Load(),
		SpansBuffered:       uint64(max(c.buffered.Load(), 0)),
		TracesShed:          c.tracesShed.Load(),
		PartialFlushes:      c.partialFlushes.Load(),
		TracesExpired:       c.tracesExpired.Load(),
		SpansOpenAtShutdown: c.openAtShutdown.Load(),

		SpansDroppedP0:      c.droppedP0Spans.Load(),
		TracesDroppedP0:     c.droppedP0Traces.Load(),
		StatsPayloadsSent:   c.statsSent.Load(),
		StatsPayloadsFailed: c.statsFailed.Load(),
	}
	s.SpansDropped = s.Dropped.total()
	if p := e.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// SampleRates returns a copy of the Agent's latest rate_by_service answer:
// sampling rates keyed "service:<name>,env:<env>", with "service:,env:" the
// default. It is nil until the Agent has answered with one.
func (e *Exporter) SampleRates() map[string]float64 {
	p := e.rates.Load()
	if p == nil {
		return nil
	}
	m := make(map[string]float64, len(*p))
	for k, v := range *p {
		m[k] = v
	}
	return m
}

// SubscribeRates registers f to be called with the rate_by_service map of
// every 2xx answer to a trace payload that has one, in the order the
// answers arrive, one call at a time, before the export that got the
// answer returns. The map is shared: f must not modify or keep it, nor call
// SubscribeRates. A sampler deciding by the Agent's rates (such as
// ddsample's) subscribes here.
func (e *Exporter) SubscribeRates(f func(rates map[string]float64)) {
	if f == nil {
		return
	}
	e.subMu.Lock()
	defer e.subMu.Unlock()
	e.subs = append(e.subs, f)
}

func (e *Exporter) publishRates(rates map[string]float64) {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	for _, f := range e.subs {
		f(rates)
	}
}
