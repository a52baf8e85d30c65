module github.com/seed03c8c003/ddslog/ddexport/ddtest/internal/agentdiff

go 1.26.0

replace github.com/seed03c8c003/ddslog => ../../../..

require (
	github.com/DataDog/datadog-agent/pkg/proto v0.85.1
	github.com/seed03c8c003/ddslog v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/DataDog/sketches-go v1.4.8 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/tinylib/msgp v1.6.4 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
