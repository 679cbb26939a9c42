// Package journalstorage is a storage extension built for the exporter's
// persistent queue: append-only segment files and an in-memory index, in
// place of file_storage's memory-mapped B+tree. A queued request is written
// once and read back once; nothing is mapped into the process.
package journalstorage

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-aiops/otelcol-aiops/extension/journalstorage/internal/metadata"
)

// NewFactory returns the journal_storage extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{SegmentSizeMiB: 64, Fsync: true}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set), nil
}
