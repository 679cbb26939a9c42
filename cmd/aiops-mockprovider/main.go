// Command aiops-mockprovider runs the OpenAI and Anthropic usage-report
// mocks on loopback with a week of demo data, for `make demo` and for trying
// the provider_usage receiver by hand. It prints the endpoints and keys to
// put in the receiver's config, one line per provider.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
)

func main() {
	openaiKey := flag.String("openai-key", "sk-admin-mock", "the admin key the OpenAI mock accepts")
	anthropicKey := flag.String("anthropic-key", "sk-ant-admin-mock", "the admin key the Anthropic mock accepts")
	flag.Parse()
	oa, an := mockprovider.NewOpenAI(*openaiKey), mockprovider.NewAnthropic(*anthropicKey)
	defer oa.Close()
	defer an.Close()
	mockprovider.Demo(oa, an, time.Now())
	fmt.Printf("openai:    endpoint %s  admin_key %s\nanthropic: endpoint %s  admin_key %s\n", oa.URL, *openaiKey, an.URL, *anthropicKey)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
