package ddexport

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Defaults of the span processor's options.
const (
	// DefaultFlushInterval is how often the processor exports what is
	// queued, at the latest.
	DefaultFlushInterval = time.Second
	// DefaultBatchSpans is how many queued spans make the processor export
	// at once instead of waiting for the flush interval, and about how many
	// spans one export carries (a chunk is never cut to fit).
	DefaultBatchSpans = 1000
	// DefaultMaxBufferedSpans caps the finished spans the processor holds,
	// in live traces and in its queue together.
	DefaultMaxBufferedSpans = 50_000
	// DefaultPartialFlushMinSpans is the size at which a live trace's
	// finished spans are sent ahead when partial flush is on, as in
	// dd-trace-go (DD_TRACE_PARTIAL_FLUSH_MIN_SPANS).
	DefaultPartialFlushMinSpans = 1000
	// DefaultMaxTraceSpans is the hard cap of finished spans one live trace
	// holds: reaching it sends them ahead as a partial chunk, partial flush
	// on or off.
	DefaultMaxTraceSpans = 10_000
	// DefaultMaxTraceAge is how long a trace may stay open before its
	// finished spans are sent as a partial chunk and the trace forgotten: a
	// span that is never ended must not pin its trace's memory forever.
	DefaultMaxTraceAge = 10 * time.Minute
	// DefaultExportTimeout bounds one export of the processor.
	DefaultExportTimeout = 30 * time.Second
	// DefaultExportWorkers is how many exports the processor runs at once
	// at most.
	DefaultExportWorkers = 1
)

// Environment variables read by NewSpanProcessor; options beat them.
const (
	envPartialFlushEnabled = "DD_TRACE_PARTIAL_FLUSH_ENABLED"
	envPartialFlushMin     = "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS"
	// maxPartialFlushMin is dd-trace-go's bound on the variable: larger
	// values (and values <= 0) are ignored.
	maxPartialFlushMin = 100_000
)

// numShards splits the registry of live traces, so that spans of
// different traces rarely wait for one another. A power of two.
const numShards = 32

// ProcessorOption configures a SpanProcessor. Options are made by the
// With… functions of this package that return one; the interface is sealed.
type ProcessorOption interface {
	applyProcessor(*processorConfig)
}

type processorOptionFunc func(*processorConfig)

func (f processorOptionFunc) applyProcessor(c *processorConfig) { f(c) }

type processorConfig struct {
	flushInterval    time.Duration
	batchSpans       int
	maxBuffered      int
	partialMin       int // 0: partial flush off
	partialSet       bool
	maxTraceSpans    int
	maxTraceAge      time.Duration
	exportTimeout    time.Duration
	workers          int
	ticks            <-chan time.Time // tests only: replaces the flush ticker
	disableFlushLoop bool             // tests only
}

// WithFlushInterval sets how often the processor exports what is queued,
// at the latest (default DefaultFlushInterval). A non-positive value
// restores the default.
func WithFlushInterval(d time.Duration) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.flushInterval = d })
}

// WithBatchSpans sets how many queued spans make the processor export at
// once (default DefaultBatchSpans); it is also about how many spans one
// export carries. A non-positive value restores the default.
func WithBatchSpans(n int) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.batchSpans = n })
}

// WithMaxBufferedSpans caps the finished spans the processor holds, in
// live traces and in its queue (default DefaultMaxBufferedSpans). Past the
// cap, the trace of a span that ends is dropped whole, and counted. A
// non-positive value restores the default.
func WithMaxBufferedSpans(n int) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.maxBuffered = n })
}

// WithPartialFlush turns partial flush on when minSpans > 0: a live trace
// holding minSpans finished spans sends them ahead as a chunk. 0 turns it
// off. It beats DD_TRACE_PARTIAL_FLUSH_ENABLED and
// DD_TRACE_PARTIAL_FLUSH_MIN_SPANS. Negative values are taken as 0.
func WithPartialFlush(minSpans int) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) {
		c.partialMin, c.partialSet = max(minSpans, 0), true
	})
}

// WithMaxTraceSpans sets the hard cap of finished spans one live trace
// holds before they are sent ahead as a partial chunk, partial flush on or
// off (default DefaultMaxTraceSpans). A non-positive value restores the
// default.
func WithMaxTraceSpans(n int) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.maxTraceSpans = n })
}

// WithMaxTraceAge sets how long a trace may stay open before its finished
// spans are sent as a partial chunk and the trace is forgotten (default
// DefaultMaxTraceAge). Spans of that trace that end later are sent as
// chunks of their own. A non-positive value restores the default.
func WithMaxTraceAge(d time.Duration) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.maxTraceAge = d })
}

// WithExportWorkers sets how many exports the processor runs at once at
// most (default DefaultExportWorkers). More than one lets export use more
// than one core when the queue grows faster than one export drains it. A
// non-positive value restores the default.
func WithExportWorkers(n int) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.workers = n })
}

// WithExportTimeout bounds each export of the processor (default
// DefaultExportTimeout). A non-positive value restores the default.
func WithExportTimeout(d time.Duration) ProcessorOption {
	return processorOptionFunc(func(c *processorConfig) { c.exportTimeout = d })
}

// SpanProcessor is an OpenTelemetry SDK span processor that sends whole
// local traces to the Datadog Agent through an Exporter: the spans of a
// trace are held until its last open local span ends, then exported
// together as one chunk, local root first, as Datadog's tracers send
// them. Unlike the SDK's batch processor it sends every recording span,
// sampled or not: spans of traces a sampler dropped but recorded reach the
// Agent as a priority-0 chunk, which the Agent needs for its APM stats and
// its sampling rates.
//
// Export runs in one background goroutine, never on the goroutine that ends
// a span: OnEnd only files the span. Memory is bounded (see
// WithMaxBufferedSpans, WithMaxTraceSpans, WithMaxTraceAge and partial
// flush), and every span that ends is accounted for in the exporter's
// Stats. It is safe for concurrent use.
type SpanProcessor struct {
	exp *Exporter
	cfg processorConfig
	// partialAt is the size at which a live trace's finished spans are
	// sent ahead: the partial flush minimum or the hard cap.
	partialAt int

	shards [numShards]shard
	traces sync.Pool // *liveTrace

	// now is a coarse clock, in unix nanoseconds, set by the flush loop at
	// every tick: the age of a trace needs no finer resolution.
	now       atomic.Int64
	lastSweep int64 // control loop only

	qmu     sync.Mutex
	queue   []*liveTrace // chunks waiting for export
	queued  int          // spans in queue
	qclosed bool         // Shutdown took the queue: later chunks are dropped

	wake        chan struct{} // capacity 1: the queue holds a batch
	flushReq    chan chan struct{}
	work        chan job // from the control loop to the export workers
	finished    chan job // back; never blocks a worker (capacity: workers)
	stop        chan struct{}
	loopDone    chan struct{} // closed when the control loop has returned
	leftover    []job         // jobs the loop had not handed out when it stopped
	workersDone sync.WaitGroup

	shutdownStarted atomic.Bool
	shutdownDone    chan struct{} // closed when the first Shutdown has returned
	closed          atomic.Bool

	reportMu sync.Mutex
	reported string // the root cause of the last export error reported; "" after a success
}

// shard is one part of the registry of live traces, padded to keep
// shards off each other's cache lines.
type shard struct {
	mu     sync.Mutex
	traces map[trace.TraceID]*liveTrace
	closed bool // Shutdown emptied it: later spans are dropped
	_      [104]byte
}

// liveTrace is a local trace with spans still open, or a chunk of
// finished spans waiting for export.
type liveTrace struct {
	open  int   // local spans started and not ended
	born  int64 // the processor's clock when the trace was first seen
	shed  bool  // dropped for the buffer cap: its later spans are dropped too
	spans []sdktrace.ReadOnlySpan
}

// maxKeptTraceSpans caps the capacity a recycled liveTrace keeps.
const maxKeptTraceSpans = 256

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor returns a processor exporting whole local traces through
// exp. Register it with sdktrace.WithSpanProcessor. Its options beat the
// environment variables DD_TRACE_PARTIAL_FLUSH_ENABLED (default false) and
// DD_TRACE_PARTIAL_FLUSH_MIN_SPANS (default 1000), read now; a malformed
// value is reported through otel.Handle and the default is used. Shutdown
// shuts exp down too.
func NewSpanProcessor(exp *Exporter, opts ...ProcessorOption) *SpanProcessor {
	return newSpanProcessor(exp, osEnvironment(), opts...)
}

func newSpanProcessor(exp *Exporter, env environment, opts ...ProcessorOption) *SpanProcessor {
	var c processorConfig
	for _, o := range opts {
		if o != nil {
			o.applyProcessor(&c)
		}
	}
	if c.flushInterval <= 0 {
		c.flushInterval = DefaultFlushInterval
	}
	if c.batchSpans <= 0 {
		c.batchSpans = DefaultBatchSpans
	}
	if c.maxBuffered <= 0 {
		c.maxBuffered = DefaultMaxBufferedSpans
	}
	if c.maxTraceSpans <= 0 {
		c.maxTraceSpans = DefaultMaxTraceSpans
	}
	if c.maxTraceAge <= 0 {
		c.maxTraceAge = DefaultMaxTraceAge
	}
	if c.exportTimeout <= 0 {
		c.exportTimeout = DefaultExportTimeout
	}
	if c.workers <= 0 {
		c.workers = DefaultExportWorkers
	}
	if !c.partialSet {
		c.partialMin = partialFlushFromEnv(env)
	}
	p := &SpanProcessor{
		exp:       exp,
		cfg:       c,
		partialAt: c.maxTraceSpans,
		wake:      make(chan struct{}, 1),
		flushReq:  make(chan chan struct{}),
		work:      make(chan job),
		finished:  make(chan job, c.workers),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),

		shutdownDone: make(chan struct{}),
	}
	if c.partialMin > 0 {
		p.partialAt = min(p.partialAt, c.partialMin)
	}
	for i := range p.shards {
		p.shards[i].traces = make(map[trace.TraceID]*liveTrace)
	}
	p.traces.New = func() any { return new(liveTrace) }
	now := time.Now().UnixNano()
	p.now.Store(now)
	p.lastSweep = now
	if exp == nil {
		// Nothing to export to: the processor drops every span (counted in
		// an exporter of its own), rather than panic.
		p.exp = &Exporter{}
		for i := range p.shards {
			p.shards[i].closed = true
		}
		p.qclosed = true
		p.closed.Store(true)
		close(p.loopDone)
		return p
	}
	if c.disableFlushLoop {
		close(p.loopDone)
		return p
	}
	go p.loop()
	p.workersDone.Add(c.workers)
	for range c.workers {
		go p.worker()
	}
	return p
}

// partialFlushFromEnv reads the partial flush variables as dd-trace-go
// does: off unless DD_TRACE_PARTIAL_FLUSH_ENABLED is true; the minimum is
// DD_TRACE_PARTIAL_FLUSH_MIN_SPANS when it is in (0, 100000).
func partialFlushFromEnv(env environment) int {
	v := env.get(envPartialFlushEnabled)
	if v == "" {
		return 0
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		otel.Handle(errors.New("ddexport: ignoring " + envPartialFlushEnabled + "=" + strconv.Quote(v) + ": not a boolean"))
		return 0
	}
	if !on {
		return 0
	}
	n := DefaultPartialFlushMinSpans
	if v := env.get(envPartialFlushMin); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m <= 0 || m >= maxPartialFlushMin {
			otel.Handle(errors.New("ddexport: ignoring " + envPartialFlushMin + "=" + strconv.Quote(v) +
				": want an integer between 1 and " + strconv.Itoa(maxPartialFlushMin-1)))
		} else {
			n = m
		}
	}
	return n
}

func (p *SpanProcessor) shard(id trace.TraceID) *shard {
	return &p.shards[id[15]&(numShards-1)]
}

func (p *SpanProcessor) newTrace() *liveTrace {
	return p.traces.Get().(*liveTrace)
}

// recycle returns t to the pool, without references to spans.
func (p *SpanProcessor) recycle(t *liveTrace) {
	clear(t.spans)
	spans := t.spans[:0]
	if cap(spans) > maxKeptTraceSpans {
		spans = nil
	}
	*t = liveTrace{spans: spans}
	p.traces.Put(t)
}

// OnStart counts s among the open spans of its local trace.
func (p *SpanProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s == nil {
		return
	}
	id := s.SpanContext().TraceID()
	sh := p.shard(id)
	sh.mu.Lock()
	if sh.closed {
		sh.mu.Unlock()
		return
	}
	t := sh.traces[id]
	if t == nil {
		t = p.newTrace()
		t.born = p.now.Load()
		sh.traces[id] = t
	}
	t.open++
	sh.mu.Unlock()
}

// OnEnd files s with its trace. When s was the trace's last open local
// span, the trace is queued for export as one chunk. It never waits for an
// export, and allocates nothing in steady state.
func (p *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s == nil {
		return
	}
	st := &p.exp.stats
	st.ended.Add(1)
	id := s.SpanContext().TraceID()
	sh := p.shard(id)
	sh.mu.Lock()
	if sh.closed {
		sh.mu.Unlock()
		p.exp.drop(&st.shutdown, 1, errShutdown)
		return
	}
	t := sh.traces[id]
	if t == nil {
		// Started before this processor saw it, or its trace was forgotten
		// for its age: sent alone.
		sh.mu.Unlock()
		if !p.reserve(1) {
			p.exp.drop(&st.bufferFull, 1, errBufferFull)
			return
		}
		c := p.newTrace()
		c.spans = append(c.spans, s)
		p.enqueue(c)
		return
	}
	t.open--
	last := t.open <= 0
	if last {
		delete(sh.traces, id)
	}
	switch {
	case t.shed:
		sh.mu.Unlock()
		p.exp.drop(&st.bufferFull, 1, errBufferFull)
		if last {
			p.recycle(t)
		}
	case !p.reserve(1):
		// The whole trace is dropped, not a part of it: what it holds now
		// and its spans still to end.
		n := len(t.spans)
		clear(t.spans)
		t.spans = t.spans[:0]
		t.shed = true
		sh.mu.Unlock()
		p.release(n)
		st.tracesShed.Add(1)
		p.exp.drop(&st.bufferFull, n+1, errBufferFull)
		if last {
			p.recycle(t)
		}
	case last:
		t.add(s)
		sh.mu.Unlock()
		p.enqueue(t)
	case len(t.spans)+1 >= p.partialAt:
		t.add(s)
		c := p.newTrace()
		c.spans, t.spans = t.spans, c.spans
		sh.mu.Unlock()
		st.partialFlushes.Add(1)
		p.enqueue(c)
	default:
		t.add(s)
		sh.mu.Unlock()
	}
}

// add appends s, keeping a local root first.
func (t *liveTrace) add(s sdktrace.ReadOnlySpan) {
	t.spans = append(t.spans, s)
	if n := len(t.spans); n > 1 && isLocalRoot(s) && !isLocalRoot(t.spans[0]) {
		t.spans[0], t.spans[n-1] = t.spans[n-1], t.spans[0]
	}
}

// isLocalRoot reports whether s starts its local trace: no parent, or a
// parent in another process.
func isLocalRoot(s sdktrace.ReadOnlySpan) bool {
	p := s.Parent()
	return !p.IsValid() || p.IsRemote()
}

var errBufferFull = errors.New("ddexport: span processor buffer full: trace dropped")

// reserve counts n more buffered spans, unless that would pass the cap.
func (p *SpanProcessor) reserve(n int) bool {
	b := &p.exp.stats.buffered
	if b.Add(int64(n)) > int64(p.cfg.maxBuffered) {
		b.Add(-int64(n))
		return false
	}
	return true
}

func (p *SpanProcessor) release(n int) {
	p.exp.stats.buffered.Add(-int64(n))
}

// enqueue queues a chunk for export, and wakes the flush loop when a batch
// is ready.
func (p *SpanProcessor) enqueue(c *liveTrace) {
	n := len(c.spans)
	p.qmu.Lock()
	if p.qclosed {
		p.qmu.Unlock()
		p.release(n)
		p.exp.drop(&p.exp.stats.shutdown, n, errShutdown)
		p.recycle(c)
		return
	}
	p.queue = append(p.queue, c)
	p.queued += n
	ready := p.queued >= p.cfg.batchSpans
	p.qmu.Unlock()
	if ready {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// job is a batch of chunks taken from the queue for export, or a flush of
// the client-side stats.
type job struct {
	chunks []*liveTrace
	seq    uint64
	stats  bool // flush the client-side stats that are due
	force  bool // all of them
}

// flushWaiter is a ForceFlush waiting for the jobs up to seq.
type flushWaiter struct {
	seq   uint64
	reply chan struct{}
}

// loop is the control loop: on every tick it advances the clock, forgets
// traces that are too old and takes the queue for export; it also takes the
// queue when a batch is ready and when ForceFlush asks, and hands what it
// took to the export workers. It never exports itself, so a stalled Agent
// does not stop the clock or the sweep.
func (p *SpanProcessor) loop() {
	defer close(p.loopDone)
	ticks := p.cfg.ticks
	if ticks == nil {
		t := time.NewTicker(p.cfg.flushInterval)
		defer t.Stop()
		ticks = t.C
	}
	var (
		pending  []job    // taken, waiting for a worker
		inflight []uint64 // the jobs being exported
		seq      uint64   // the last job taken
		waiters  []flushWaiter
		free     [][]*liveTrace // emptied queue slices, for reuse
		// lastStats is when the client-side stats were last flushed.
		lastStats = time.Now()
		statsOn   = p.exp.css != nil
	)
	flushStats := func(force bool) {
		seq++
		pending = append(pending, job{seq: seq, stats: true, force: force})
	}
	take := func() {
		var spare []*liveTrace
		if n := len(free); n > 0 {
			spare, free = free[n-1], free[:n-1]
		}
		p.qmu.Lock()
		q := p.queue
		if len(q) == 0 {
			p.qmu.Unlock()
			if spare != nil {
				free = append(free, spare)
			}
			return
		}
		p.queue, p.queued = spare, 0
		p.qmu.Unlock()
		seq++
		pending = append(pending, job{chunks: q, seq: seq})
	}
	dispatch := func() {
		for len(pending) > 0 && len(inflight) < p.cfg.workers {
			if pending[0].stats && len(inflight) > 0 {
				// The stats of the exports before it must be in.
				return
			}
			j := pending[0]
			pending[0] = job{}
			pending = pending[1:]
			inflight = append(inflight, j.seq)
			p.work <- j
		}
	}
	// answer replies to the ForceFlush calls whose jobs are all exported.
	answer := func() {
		lowest := uint64(math.MaxUint64) // the oldest job not exported yet
		if len(pending) > 0 {
			lowest = pending[0].seq
		}
		for _, s := range inflight {
			lowest = min(lowest, s)
		}
		kept := waiters[:0]
		for _, w := range waiters {
			if w.seq < lowest {
				close(w.reply)
			} else {
				kept = append(kept, w)
			}
		}
		clear(waiters[len(kept):])
		waiters = kept
	}
	for {
		select {
		case now := <-ticks:
			p.tick(now)
			take()
			if statsOn && now.Sub(lastStats) >= StatsFlushInterval {
				lastStats = now
				flushStats(false)
			}
			dispatch()
		case <-p.wake:
			take()
			dispatch()
		case reply := <-p.flushReq:
			take()
			if statsOn {
				flushStats(true)
			}
			waiters = append(waiters, flushWaiter{seq: seq, reply: reply})
			dispatch()
			answer()
		case j := <-p.finished:
			for i, s := range inflight {
				if s == j.seq {
					inflight = append(inflight[:i], inflight[i+1:]...)
					break
				}
			}
			if cap(j.chunks) <= maxKeptQueue && len(free) < 2*p.cfg.workers {
				free = append(free, j.chunks[:0])
			}
			dispatch()
			answer()
		case <-p.stop:
			p.leftover = pending
			close(p.work)
			return
		}
	}
}

// maxKeptQueue caps the capacity of a queue slice kept for reuse.
const maxKeptQueue = 4096

// worker exports the jobs the control loop hands it.
func (p *SpanProcessor) worker() {
	defer p.workersDone.Done()
	for j := range p.work {
		if j.stats {
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.exportTimeout)
			p.exp.flushStats(ctx, time.Now(), j.force)
			cancel()
		} else {
			p.exportAll(context.Background(), j.chunks)
			clear(j.chunks)
		}
		p.finished <- j
	}
}

// tick advances the clock and, now and then, forgets traces past their
// age.
func (p *SpanProcessor) tick(now time.Time) {
	ns := now.UnixNano()
	p.now.Store(ns)
	// Sweeping reads every live trace: often enough for the age bound to
	// hold within a fraction of it, not on every tick.
	every := min(max(p.cfg.maxTraceAge/8, p.cfg.flushInterval), time.Minute)
	if time.Duration(ns-p.lastSweep) >= every {
		p.lastSweep = ns
		p.sweep(ns)
	}
}

// sweep forgets the traces older than the maximum age, queueing their
// finished spans as partial chunks.
func (p *SpanProcessor) sweep(now int64) {
	limit := now - int64(p.cfg.maxTraceAge)
	var old []*liveTrace
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for id, t := range sh.traces {
			if t.born <= limit {
				delete(sh.traces, id)
				old = append(old, t)
			}
		}
		sh.mu.Unlock()
	}
	for _, t := range old {
		p.exp.stats.tracesExpired.Add(1)
		if len(t.spans) == 0 {
			p.recycle(t)
			continue
		}
		p.exp.stats.partialFlushes.Add(1)
		p.enqueue(t)
	}
}

// exportAll exports chunks in batches of about cfg.batchSpans spans, and
// recycles them.
func (p *SpanProcessor) exportAll(ctx context.Context, chunks []*liveTrace) {
	if len(chunks) == 0 {
		return
	}
	batch := make([][]sdktrace.ReadOnlySpan, 0, min(len(chunks), 64))
	n := 0
	send := func() {
		if len(batch) == 0 {
			return
		}
		ectx, cancel := context.WithTimeout(ctx, p.cfg.exportTimeout)
		err := p.exp.exportChunks(ectx, batch)
		cancel()
		p.release(n)
		p.report(err)
		clear(batch)
		batch, n = batch[:0], 0
	}
	for _, c := range chunks {
		batch = append(batch, c.spans)
		n += len(c.spans)
		if n >= p.cfg.batchSpans {
			send()
		}
	}
	send()
	for _, c := range chunks {
		p.recycle(c)
	}
}

// report hands an export error to otel.Handle, once until an export
// succeeds again: an Agent that is down would otherwise be reported on
// every flush. A payload the Agent refused is left to the exporter, which
// reports each cause once.
func (p *SpanProcessor) report(err error) {
	p.reportMu.Lock()
	defer p.reportMu.Unlock()
	if err == nil {
		p.reported = ""
		return
	}
	if errors.As(err, new(rejection)) {
		return
	}
	if key := rootCause(err).Error(); key != p.reported {
		p.reported = key
		otel.Handle(err)
	}
}

// rootCause returns the innermost error err wraps: what tells one failure
// from another, without the span counts and attempt numbers that differ
// from one export to the next.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// ForceFlush exports every complete chunk (and every partial chunk already
// cut) and waits for the export, or until ctx is done. Traces with spans
// still open stay: their spans are exported when the trace completes.
func (p *SpanProcessor) ForceFlush(ctx context.Context) error {
	if p.closed.Load() {
		return nil
	}
	reply := make(chan struct{})
	select {
	case p.flushReq <- reply:
	case <-p.loopDone: // shut down: Shutdown exports what is left
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-p.loopDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops the processor: spans that end later are dropped (and
// counted), the complete chunks and the finished spans of incomplete
// traces (as partial chunks) are exported within ctx, the spans still open
// are counted (Stats.SpansOpenAtShutdown), and the exporter is shut down.
// It is safe to call more than once: a later call waits for the first
// until its own ctx is done (then it returns ctx's error), and returns nil
// once the first has returned.
func (p *SpanProcessor) Shutdown(ctx context.Context) error {
	if p.shutdownStarted.Swap(true) {
		if closedBefore(ctx, p.shutdownDone) {
			return nil
		}
		return ctx.Err()
	}
	defer close(p.shutdownDone)
	return p.shutdown(ctx)
}

func (p *SpanProcessor) shutdown(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil // made without an exporter
	}
	close(p.stop)
	<-p.loopDone // it never waits long: it does not export
	var chunks []*liveTrace
	for _, j := range p.leftover {
		chunks = append(chunks, j.chunks...)
	}
	p.leftover = nil
	p.qmu.Lock()
	chunks = append(chunks, p.queue...)
	p.queue, p.queued, p.qclosed = nil, 0, true
	p.qmu.Unlock()
	var open int
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		sh.closed = true
		for id, t := range sh.traces {
			delete(sh.traces, id)
			open += t.open
			if len(t.spans) == 0 {
				p.recycle(t)
				continue
			}
			p.exp.stats.partialFlushes.Add(1)
			chunks = append(chunks, t)
		}
		sh.mu.Unlock()
	}
	p.exp.stats.openAtShutdown.Add(uint64(open))
	// Exported here, next to the workers' last exports, within ctx.
	p.exportAll(ctx, chunks)
	workersDone := make(chan struct{})
	go func() {
		p.workersDone.Wait()
		close(workersDone)
	}()
	select {
	case <-workersDone:
		// Every span is in the client-side stats: send them all.
		p.exp.flushStats(ctx, time.Now(), true)
	case <-ctx.Done():
	}
	var errs []error
	if err := p.exp.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	// The exporter cut any running export short: the workers return.
	<-workersDone
	if err := ctx.Err(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
