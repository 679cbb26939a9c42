package aiopsclickhouse

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// deadLetter keeps batches that can never be inserted (bad data, schema
// mismatch) as OTLP JSON files, so nothing is lost and they can be replayed
// once the cause is fixed (their insert tokens make a replay idempotent).
type deadLetter struct {
	dir string
	seq atomic.Uint64
}

func (d *deadLetter) writeTraces(td ptrace.Traces, cause error) (string, error) {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return "", err
	}
	return d.write("traces", b, cause)
}

func (d *deadLetter) writeLogs(ld plog.Logs, cause error) (string, error) {
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return "", err
	}
	return d.write("logs", b, cause)
}

// writeRecord keeps a queue record the exporter cannot read, byte for byte.
func (d *deadLetter) writeRecord(signal string, record []byte, cause error) (string, error) {
	return d.writeFile(signal+".queue-record", record, cause)
}

func (d *deadLetter) write(signal string, body []byte, cause error) (string, error) {
	return d.writeFile(signal+".otlp.json", body, cause)
}

func (d *deadLetter) writeFile(suffix string, body []byte, cause error) (string, error) {
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%d-%d.%s", time.Now().UTC().Format("20060102T150405"), os.Getpid(), d.seq.Add(1), suffix)
	path := filepath.Join(d.dir, name)
	// Written under a temporary name and renamed, so a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o640); err != nil {
		return "", err
	}
	if err := os.WriteFile(path+".error.txt", []byte(cause.Error()+"\n"), 0o640); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, nil
}
