package maturity

import (
	"context"
	"encoding/json"
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
	return runChromiumAt(t, bin, "1400,1400", args...)
}

func runChromiumAt(t *testing.T, bin, size string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=" + size, "--virtual-time-budget=5000"}
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
	for _, want := range []string{"AI workload maturity", "What the stages mean", "5 · Platform", "5 · Adaptive", "prototype-chatbot", "production-app", "rag-app", "agent-platform",
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
	// The header band, then one badge colour per stage: stage 5, which no
	// reference app reaches, shows in the stage legend.
	colours := map[string]string{"header": "#1f3a5f"}
	for stage := 1; stage <= 5; stage++ {
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
		// A badge is at least 100×20 px; stage 5 shows twice in the legend.
		if counts[name] < 1500 {
			t.Errorf("%s: %d pixels of %s visible, want a rendered badge (%v)", name, counts[name], colours[name], counts)
		}
	}
}

// layoutProbe runs in the page after load: it opens every <details>, then
// reports what a reader of a 1280 px screen would see.
const layoutProbe = `<script>
for (const d of document.querySelectorAll("details")) d.open = true;
const out = {overflow: [], docWidth: document.documentElement.scrollWidth, frameworks: 0, withNext: 0, withFix: 0,
  legendRows: document.querySelectorAll("#legend tr").length, spend: [], trends: document.querySelectorAll("svg.trend").length};
for (const card of document.querySelectorAll(".card, #summary")) {
  const box = card.getBoundingClientRect();
  for (const el of card.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) out.overflow.push(el.tagName + " in " + (card.id || card.className) + ": " + Math.round(r.left) + "-" + Math.round(r.right) + " outside " + Math.round(box.left) + "-" + Math.round(box.right));
  }
}
for (const fw of document.querySelectorAll("section.card .fw")) {
  out.frameworks++;
  if (fw.querySelector("ol.next")) { out.withNext++; if (fw.querySelector(".fix")) out.withFix++; }
}
for (const row of document.querySelectorAll("#summary tr")) {
  const c = row.querySelectorAll("td.num");
  if (c.length) out.spend.push(c[0].textContent);
}
const pre = document.createElement("pre"); pre.id = "layout-result"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>`

// TestHTMLReportLayoutAt1280 renders the report at 1280 px with every
// signal table open, long unbroken model names and many tools, and checks
// that nothing is wider than its card, that each workload shows its spend,
// that the stage legend lists every level, and that fix hints appear for
// every framework that has items to invest in.
func TestHTMLReportLayoutAt1280(t *testing.T) {
	bin := chromium(t)
	e, _ := startExtension(t, testConfig())
	e.mu.RLock()
	rep := *e.latest
	e.mu.RUnlock()
	raw, _ := json.Marshal(rep)
	if err := json.Unmarshal(raw, &rep); err != nil { // a deep copy to stress
		t.Fatal(err)
	}
	inv := &rep.Inventory.Workloads[0]
	inv.Models = append(inv.Models, strings.Repeat("anthropic.claude-finetuned-", 8)+"v1:0")
	for i := 0; i < 60; i++ {
		inv.Tools = append(inv.Tools, fmt.Sprintf("search_customer_knowledge_base_tool_%02d", i))
	}
	sc := &rep.Workloads[0].Scores[0]
	for i := 0; i < 6; i++ {
		sc.Trend = append([]scoring.TrendPoint{{RunAt: rep.GeneratedAt.Add(-time.Duration(i+1) * 24 * time.Hour), Stage: i % 3, Met: 5 + i, Signals: 30}}, sc.Trend...)
	}
	var page strings.Builder
	if err := scoring.WriteHTML(&page, &rep); err != nil {
		t.Fatal(err)
	}
	html := strings.Replace(page.String(), "</body>", layoutProbe+"</body>", 1)
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(runChromiumAt(t, bin, "1280,1000", "--dump-dom", "file://"+file))
	i := strings.Index(dom, `<pre id="layout-result">`)
	if i < 0 {
		t.Fatalf("the layout probe did not run:\n%.2000s", dom)
	}
	body := dom[i+len(`<pre id="layout-result">`):]
	body = body[:strings.Index(body, "</pre>")]
	var got struct {
		Overflow                      []string
		DocWidth                      int
		Frameworks, WithNext, WithFix int
		LegendRows, Trends            int
		Spend                         []string
	}
	if err := json.Unmarshal([]byte(htmlUnescape(body)), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(got.Overflow) > 0 {
		t.Errorf("%d elements wider than their card, e.g. %v", len(got.Overflow), got.Overflow[:min(5, len(got.Overflow))])
	}
	if got.DocWidth > 1280 {
		t.Errorf("the page scrolls sideways: %d px wide", got.DocWidth)
	}
	levels := 0
	for _, f := range rep.Frameworks {
		levels += len(f.Levels)
	}
	if got.LegendRows != levels {
		t.Errorf("stage legend has %d rows, want %d levels", got.LegendRows, levels)
	}
	if len(got.Spend) != len(rep.Workloads) {
		t.Errorf("spend shown for %d of %d workloads: %v", len(got.Spend), len(rep.Workloads), got.Spend)
	}
	for _, s := range got.Spend {
		if !strings.HasPrefix(s, "$") {
			t.Errorf("spend cell %q is not an amount", s)
		}
	}
	if got.Frameworks != len(rep.Workloads)*len(rep.Frameworks) || got.WithNext < len(rep.Workloads) || got.WithFix != got.WithNext {
		t.Errorf("fix hints in %d of %d framework sections with next items (%d sections)", got.WithFix, got.WithNext, got.Frameworks)
	}
	if got.Trends != len(rep.Workloads)*len(rep.Frameworks) {
		t.Errorf("%d trend charts, want one per workload and framework", got.Trends)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'", "&amp;", "&").Replace(s)
}
