module github.com/otelcol-aiops/otelcol-aiops

go 1.26

require github.com/ebitengine/purego v0.11.3 // indirect
