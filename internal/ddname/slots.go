package ddname

import "go.opentelemetry.io/otel/attribute"

// Slot numbers an attribute key the mapping looks up: the keys Datadog
// names come from, and the few others the exporter's mapping reads
// (environment, version, status codes, _dd.measured). One pass over a
// span's attributes fills a Slots; lookups are then array reads.
type Slot uint8

// The slots, one per attribute key, named after the key.
const (
	AttrServiceName               Slot = iota // service.name
	AttrOperationName                         // operation.name
	AttrResourceName                          // resource.name
	AttrSpanType                              // span.type
	AttrDeploymentEnvironmentName             // deployment.environment.name
	AttrDeploymentEnvironment                 // deployment.environment
	AttrServiceVersion                        // service.version
	AttrHTTPRequestMethod                     // http.request.method
	AttrHTTPMethod                            // http.method
	AttrHTTPRoute                             // http.route
	AttrURLTemplate                           // url.template
	AttrDBSystemName                          // db.system.name
	AttrDBSystem                              // db.system
	AttrDBStatement                           // db.statement
	AttrDBQueryText                           // db.query.text
	AttrDBNamespace                           // db.namespace
	AttrMessagingSystem                       // messaging.system
	AttrMessagingOperation                    // messaging.operation
	AttrMessagingDestination                  // messaging.destination
	AttrMessagingDestinationName              // messaging.destination.name
	AttrRPCSystem                             // rpc.system
	AttrRPCSystemName                         // rpc.system.name
	AttrRPCService                            // rpc.service
	AttrRPCMethod                             // rpc.method
	AttrFaaSInvokedProvider                   // faas.invoked_provider
	AttrFaaSInvokedName                       // faas.invoked_name
	AttrFaaSTrigger                           // faas.trigger
	AttrGraphQLOperationType                  // graphql.operation.type
	AttrGraphQLOperationName                  // graphql.operation.name
	AttrNetworkProtocolName                   // network.protocol.name
	AttrHTTPStatusCode                        // http.status_code
	AttrHTTPResponseStatusCode                // http.response.status_code
	AttrRPCGRPCStatusCode                     // rpc.grpc.status_code
	AttrGRPCCode                              // grpc.code
	AttrRPCGRPCStatusCodeDotted               // rpc.grpc.status.code
	AttrGRPCStatusCode                        // grpc.status.code
	AttrRPCResponseStatusCode                 // rpc.response.status_code
	AttrDDMeasured                            // _dd.measured

	numSlots
)

// Mask is a set of slots: the bit 1<<s for each slot s, so that a set
// can be a constant, as in
//
//	const m = 1<<ddname.AttrHTTPStatusCode | 1<<ddname.AttrHTTPResponseStatusCode
type Mask uint64

// SlotOf returns the slot of attribute key k, or false when the mapping
// does not look k up.
func SlotOf(k string) (Slot, bool) {
	switch k {
	case "service.name":
		return AttrServiceName, true
	case "operation.name":
		return AttrOperationName, true
	case "resource.name":
		return AttrResourceName, true
	case "span.type":
		return AttrSpanType, true
	case "deployment.environment.name":
		return AttrDeploymentEnvironmentName, true
	case "deployment.environment":
		return AttrDeploymentEnvironment, true
	case "service.version":
		return AttrServiceVersion, true
	case "http.request.method":
		return AttrHTTPRequestMethod, true
	case "http.method":
		return AttrHTTPMethod, true
	case "http.route":
		return AttrHTTPRoute, true
	case "url.template":
		return AttrURLTemplate, true
	case "db.system.name":
		return AttrDBSystemName, true
	case "db.system":
		return AttrDBSystem, true
	case "db.statement":
		return AttrDBStatement, true
	case "db.query.text":
		return AttrDBQueryText, true
	case "db.namespace":
		return AttrDBNamespace, true
	case "messaging.system":
		return AttrMessagingSystem, true
	case "messaging.operation":
		return AttrMessagingOperation, true
	case "messaging.destination":
		return AttrMessagingDestination, true
	case "messaging.destination.name":
		return AttrMessagingDestinationName, true
	case "rpc.system":
		return AttrRPCSystem, true
	case "rpc.system.name":
		return AttrRPCSystemName, true
	case "rpc.service":
		return AttrRPCService, true
	case "rpc.method":
		return AttrRPCMethod, true
	case "faas.invoked_provider":
		return AttrFaaSInvokedProvider, true
	case "faas.invoked_name":
		return AttrFaaSInvokedName, true
	case "faas.trigger":
		return AttrFaaSTrigger, true
	case "graphql.operation.type":
		return AttrGraphQLOperationType, true
	case "graphql.operation.name":
		return AttrGraphQLOperationName, true
	case "network.protocol.name":
		return AttrNetworkProtocolName, true
	case "http.status_code":
		return AttrHTTPStatusCode, true
	case "http.response.status_code":
		return AttrHTTPResponseStatusCode, true
	case "rpc.grpc.status_code":
		return AttrRPCGRPCStatusCode, true
	case "grpc.code":
		return AttrGRPCCode, true
	case "rpc.grpc.status.code":
		return AttrRPCGRPCStatusCodeDotted, true
	case "grpc.status.code":
		return AttrGRPCStatusCode, true
	case "rpc.response.status_code":
		return AttrRPCResponseStatusCode, true
	case "_dd.measured":
		return AttrDDMeasured, true
	}
	return 0, false
}

// Slots holds the looked-up attributes of one attribute list (a span's,
// or a resource's). The zero value is empty. A Slots is large (one
// attribute.Value per slot): keep one and reuse it with Reset.
type Slots struct {
	has uint64
	v   [numSlots]attribute.Value
}

// Reset empties s.
func (s *Slots) Reset() { s.has = 0 }

// Set records v for slot sl unless sl already has a value: the first of
// duplicate keys wins, as the mapping's meta does.
func (s *Slots) Set(sl Slot, v attribute.Value) {
	if s.has&(1<<sl) == 0 {
		s.has |= 1 << sl
		s.v[sl] = v
	}
}

// HasAny reports whether a slot of m has a value.
func (s *Slots) HasAny(m Mask) bool { return s.has&uint64(m) != 0 }

// Get returns the value of slot sl, if any.
func (s *Slots) Get(sl Slot) (attribute.Value, bool) {
	if s.has&(1<<sl) == 0 {
		return attribute.Value{}, false
	}
	return s.v[sl], true
}

// Lookup looks attributes up the way the mapping does: for each key in
// order, the span's attribute, then the resource's; the first non-empty
// string wins. Values of other types count as unset, as in the Agent's
// semantic lookups, which read the conventions' keys as strings only (a
// number or boolean stays an attribute of the span, but names nothing). It holds pointers to the two Slots, which must outlive it
// and not change while it is used.
type Lookup struct {
	span, res       *Slots
	spanHas, resHas uint64 // copies of their has masks
	has             uint64 // spanHas | resHas
}

// NewLookup returns the lookup over a span's slots and its resource's;
// res may be nil (no resource).
func NewLookup(span, res *Slots) Lookup {
	l := Lookup{span: span, res: res, spanHas: span.has}
	if res != nil {
		l.resHas = res.has
	}
	l.has = l.spanHas | l.resHas
	return l
}

// Text returns the first non-empty string of the given slots.
func (l *Lookup) Text(slots ...Slot) string {
	// Most slots looked up are set on neither side: this test, inlined,
	// answers them.
	for _, s := range slots {
		if l.has&(1<<s) != 0 {
			return l.text(slots)
		}
	}
	return ""
}

func (l *Lookup) text(slots []Slot) string {
	for _, s := range slots {
		bit := uint64(1) << s
		if l.spanHas&bit != 0 {
			if t := stringOf(l.span.v[s]); t != "" {
				return t
			}
		}
		if l.resHas&bit != 0 {
			if t := stringOf(l.res.v[s]); t != "" {
				return t
			}
		}
	}
	return ""
}

// stringOf is v when it is a string, else "".
func stringOf(v attribute.Value) string {
	if v.Type() == attribute.STRING {
		return v.AsString()
	}
	return ""
}

// Norm is Text with the Agent's tag value normalization.
func (l *Lookup) Norm(slots ...Slot) string {
	for _, s := range slots { // as in Text
		if l.has&(1<<s) != 0 {
			return l.norm(slots)
		}
	}
	return ""
}

func (l *Lookup) norm(slots []Slot) string { return NormalizeTagValue(l.text(slots)) }

// Value returns, for the first slot that has one, its non-empty string
// (the span's, else the resource's), else its integer (likewise): the
// types the Agent reads a gRPC status code as.
func (l *Lookup) Value(slots ...Slot) (attribute.Value, bool) {
	for _, s := range slots {
		bit := uint64(1) << s
		if l.spanHas&bit != 0 && stringOf(l.span.v[s]) != "" {
			return l.span.v[s], true
		}
		if l.resHas&bit != 0 && stringOf(l.res.v[s]) != "" {
			return l.res.v[s], true
		}
		if l.spanHas&bit != 0 && l.span.v[s].Type() == attribute.INT64 {
			return l.span.v[s], true
		}
		if l.resHas&bit != 0 && l.res.v[s].Type() == attribute.INT64 {
			return l.res.v[s], true
		}
	}
	return attribute.Value{}, false
}

// HasAny reports whether a slot of m has a value, on either side.
func (l *Lookup) HasAny(m Mask) bool { return l.has&uint64(m) != 0 }
