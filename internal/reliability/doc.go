// Package reliability holds the reliability tests of ddslog: the exporter
// and the handler against a misbehaving Datadog Agent (absent, restarting,
// slow, cutting connections, answering 4xx and 5xx, its unix socket
// removed), under load, and with hostile input; and fuzz targets that send
// arbitrary spans and values end to end.
//
// It has no code of its own: every file but this one is a test. The
// scenarios, what each guarantees and what was measured are listed in
// docs/RELIABILITY.md.
//
// Every test checks four things where they apply:
//
//   - the application is never blocked: ending spans and logging through
//     the ddslog Handler stay fast while the Agent misbehaves;
//   - every span is accounted for exactly once: the exporter's Stats count
//     it as exported or as dropped with a reason, and the fake Agent
//     received exactly the exported ones;
//   - the exporter recovers when the Agent comes back;
//   - no goroutine outlives the test (goleak).
package reliability
