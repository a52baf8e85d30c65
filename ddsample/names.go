package ddsample

import (
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// What Datadog will call a span, computed from what the sampler sees at its
// start: its name, kind and start attributes. Rules must match the names
// ddexport writes on the wire: internal/ddname computes them, as it does
// for ddexport's mapping.

// spanNames are the Datadog names of a starting span: its service,
// operation name, resource and env (the meta "env" ddexport writes).
type spanNames struct {
	service, name, resource, env string
}

// nameScratch is the memory datadogNames works in: the span's looked-up
// attributes, and a buffer for the names built from parts. The caller keeps
// it on its stack, for one decision.
type nameScratch struct {
	slots ddname.Slots
	buf   [128]byte
}

// datadogNames returns the service, operation name, resource and env
// ddexport will write for a span started with these attributes, kind and
// name, where service and env are the configured ones (WithService,
// WithEnv), which stand for the exporter's own options and the resource's
// service.name and environment (see ddname.FromStart for what a start-time
// view cannot see). Without all, the operation name and resource, which
// only rules need, are left empty.
//
// It is ddname.FromStart without its allocation: a name built from parts
// ("GET /users/{id}", "postgresql.query") is written into sc.buf, and the
// returned strings point into it. They must not outlive the decision, nor
// sc be used again while they are in use; the sampler only matches them
// against rules and looks rates up with them, and keeps none.
func datadogNames(attrs []attribute.KeyValue, kind trace.SpanKind, spanName, service, env string, all bool, sc *nameScratch) spanNames {
	// The SDK keeps the last value of a duplicated key: collect backwards,
	// the first set winning (as ddname.FromStart does).
	sc.slots.Reset()
	envAttr, hasEnvAttr := attribute.Value{}, false
	for i := len(attrs) - 1; i >= 0; i-- {
		k := string(attrs[i].Key)
		if sl, ok := ddname.SlotOf(k); ok {
			sc.slots.Set(sl, attrs[i].Value)
		} else if k == "env" && !hasEnvAttr {
			envAttr, hasEnvAttr = attrs[i].Value, true
		}
	}
	l := ddname.NewLookup(&sc.slots, nil)
	n := spanNames{service: l.Service(service), env: exportedEnv(&l, envAttr, hasEnvAttr, env)}
	if !all {
		return n
	}
	op, buf := l.AppendOperation(sc.buf[:0], kind)
	end := len(buf)
	res, buf := l.AppendResource(buf, spanName, kind)
	if len(buf) > 0 {
		// The bytes are final: nothing appends to buf any more. When the
		// names outgrew sc.buf, append moved them to the heap, where the
		// strings keep them alive.
		built := unsafe.String(unsafe.SliceData(buf), len(buf))
		if op == "" {
			op = built[:end]
		}
		if res == "" {
			res = built[end:]
		}
	}
	n.name, n.resource = op, res
	return n
}

// exportedEnv is the meta "env" ddexport writes, the first writer of the
// key winning: an attribute named env (strings and booleans as text;
// numbers are metrics), else deployment.environment.name or
// deployment.environment normalized, else the configured env.
func exportedEnv(l *ddname.Lookup, attr attribute.Value, hasAttr bool, configured string) string {
	if hasAttr {
		if t := attr.Type(); t != attribute.INT64 && t != attribute.FLOAT64 {
			return ddname.Text(attr)
		}
	}
	if v := l.Norm(ddname.AttrDeploymentEnvironmentName, ddname.AttrDeploymentEnvironment); v != "" {
		return v
	}
	return configured
}

// lastValue returns the value of the last attribute with key k: the one the
// SDK keeps when a key is given twice.
func lastValue(attrs []attribute.KeyValue, k string) (attribute.Value, bool) {
	for i := len(attrs) - 1; i >= 0; i-- {
		if kv := &attrs[i]; string(kv.Key) == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// sourcesOf returns the attribute keys ddexport writes under the Datadog
// key dk.
func sourcesOf(dk string) []string { return ddname.Sources(dk) }
