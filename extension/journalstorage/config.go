package journalstorage

import (
	"errors"
	"fmt"
)

// Config of the journal storage extension.
type Config struct {
	// Directory holds one sub-directory per storage client.
	Directory string `mapstructure:"directory"`
	// CreateDirectory creates Directory at start when it is missing.
	CreateDirectory bool `mapstructure:"create_directory"`
	// SegmentSizeMiB is the size at which the journal starts a new segment
	// file. A spent segment is deleted once nothing queued points into it.
	SegmentSizeMiB int `mapstructure:"segment_size_mib"`
	// Fsync flushes every write to the device before the write returns, so
	// acknowledged data survives a power loss, not only a process crash.
	Fsync bool `mapstructure:"fsync"`

	_ struct{}
}

// Validate checks every field before the collector starts.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory: required (where the queue's segment files are kept)"))
	}
	if c.SegmentSizeMiB < 1 || c.SegmentSizeMiB > 4096 {
		errs = append(errs, fmt.Errorf("segment_size_mib: %d is outside 1..4096", c.SegmentSizeMiB))
	}
	return errors.Join(errs...)
}
