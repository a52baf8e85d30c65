module github.com/seed03c8c003/ddslog/internal/ddinterop

go 1.26.0

replace github.com/seed03c8c003/ddslog => ../..

require github.com/DataDog/dd-trace-go/v2 v2.12.0 // indirect
