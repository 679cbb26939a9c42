// Command dump prints captured OTLP requests as OTLP/JSON, one request per
// block, so a capture can be read without a protobuf decoder.
//
//	go run ./test/conformance/dump test/conformance/testdata/<lib>
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dump <capture dir>")
		os.Exit(2)
	}
	files, _ := filepath.Glob(filepath.Join(os.Args[1], "requests", "*"))
	sort.Strings(files)
	for _, f := range files {
		out, err := render(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
			os.Exit(1)
		}
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, out, "", "  ")
		fmt.Printf("### %s\n%s\n", filepath.Base(f), pretty.String())
	}
}

func render(f string) ([]byte, error) {
	raw, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	isJSON := strings.HasSuffix(f, ".json")
	switch {
	case strings.Contains(f, "-traces."):
		r := ptraceotlp.NewExportRequest()
		if isJSON {
			err = r.UnmarshalJSON(raw)
		} else {
			err = r.UnmarshalProto(raw)
		}
		if err != nil {
			return nil, err
		}
		return r.MarshalJSON()
	case strings.Contains(f, "-logs."):
		r := plogotlp.NewExportRequest()
		if isJSON {
			err = r.UnmarshalJSON(raw)
		} else {
			err = r.UnmarshalProto(raw)
		}
		if err != nil {
			return nil, err
		}
		return r.MarshalJSON()
	default:
		r := pmetricotlp.NewExportRequest()
		if isJSON {
			err = r.UnmarshalJSON(raw)
		} else {
			err = r.UnmarshalProto(raw)
		}
		if err != nil {
			return nil, err
		}
		return r.MarshalJSON()
	}
}
