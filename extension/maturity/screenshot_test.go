package maturity

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	scoring "github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// chromium finds Debian's headless-capable browser.
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("AIOPS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed (apt-get install chromium); the HTML report's browser test needs it"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir=" + t.TempDir(), "--window-size=1400,1400", "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// near reports whether c is within 3 of the colour "#rrggbb" per channel.
func near(r, g, b uint32, hex string) bool {
	var wr, wg, wb uint32
	fmt.Sscanf(hex, "#%02x%02x%02x", &wr, &wg, &wb)
	d := func(a, b uint32) bool { return a+3 >= b && b+3 >= a }
	return d(r>>8, wr) && d(g>>8, wg) && d(b>>8, wb)
}

// TestHTMLReportInHeadlessChromium renders the served report in Chromium,
// takes a screenshot, and checks what a person sees: the workloads, their
// stage names, and the stage badges in their colours.
func TestHTMLReportInHeadlessChromium(t *testing.T) {
	bin := chromium(t)
	_, base := startExtension(t, testConfig())
	url := base + "/"

	dom := string(runChromium(t, bin, "--dump-dom", url))
	for _, want := range []string{"AI workload maturity", "prototype-chatbot", "production-app", "rag-app", "agent-platform",
		"1 · Prototype", "2 · Initial production", "3 · Disciplined production", "4 · Operational excellence",
		"1 · Experimental", "2 · Repeatable", "3 · Governed", "4 · Optimized", "What to invest in next", "Inventory",
		"Unregistered workloads: prototype-chatbot"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("AIOPS_SCREENSHOT_DIR"); dir != "" {
		raw, _ := os.ReadFile(shot)
		_ = os.WriteFile(filepath.Join(dir, "maturity-report.png"), raw, 0o644)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1000 {
		t.Fatalf("screenshot is %v", b)
	}
	// The header band, then one badge colour per designed stage.
	colours := map[string]string{"header": "#1f3a5f"}
	for stage := 1; stage <= 4; stage++ {
		colours[fmt.Sprintf("stage %d badge", stage)] = scoring.StageColors[stage]
	}
	counts := map[string]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for name, hex := range colours {
				if near(r, g, bl, hex) {
					counts[name]++
				}
			}
		}
	}
	for name := range colours {
		// A badge is about 180×20 px; the summary table alone shows two per app.
		if counts[name] < 1500 {
			t.Errorf("%s: %d pixels of %s visible, want a rendered badge (%v)", name, counts[name], colours[name], counts)
		}
	}
}
