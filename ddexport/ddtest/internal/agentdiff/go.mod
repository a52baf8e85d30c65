module github.com/seed03c8c003/ddslog/ddexport/ddtest/internal/agentdiff

go 1.26.0

replace github.com/seed03c8c003/ddslog => ../../../..

require (
	github.com/DataDog/datadog-agent/pkg/proto v0.85.1
	github.com/DataDog/sketches-go v1.4.8
	github.com/google/go-cmp v0.7.0
	github.com/seed03c8c003/ddslog v0.0.0-00010101000000-000000000000
	github.com/tinylib/msgp v1.6.4
	github.com/vmihailenco/msgpack/v5 v5.4.1
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)
