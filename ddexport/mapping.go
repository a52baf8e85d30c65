package ddexport

import (
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func (e *encoder) serviceOf(s sdktrace.ReadOnlySpan) string {
	if r := s.Resource(); r != nil {
		if v, ok := r.Set().Value("service.name"); ok && v.Type() == attribute.STRING {
			return v.AsString()
		}
	}
	return e.cfg.service
}

func isMetric(t attribute.Type) bool {
	return t == attribute.INT64 || t == attribute.FLOAT64
}

func metricValue(v attribute.Value) float64 {
	if v.Type() == attribute.INT64 {
		return float64(v.AsInt64())
	}
	return v.AsFloat64()
}
