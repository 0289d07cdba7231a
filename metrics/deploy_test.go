package metrics_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/metrics"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/terminal"
)

const (
	alertRules = "../deploy/prometheus/opsdojo-alerts.yml"
	dashboard  = "../deploy/grafana/opsdojo-dashboard.json"
	promConfig = "../deploy/prometheus/prometheus.yml"
)

// TestAlertRulesCheck runs promtool on the shipped rules and scrape config
// (skipped where promtool is not installed: Debian's prometheus package).
func TestAlertRulesCheck(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", alertRules}, {"check", "config", promConfig}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDeployNamesExistingSeries: every opsdojo_* series the alert rules and
// the dashboard query is one this package exports (a renamed series would
// leave an alert that never fires).
func TestDeployNamesExistingSeries(t *testing.T) {
	m := metrics.New(nil)
	m.WatchSandboxes(fakeSandboxes{sandbox.Counts{Running: map[string]int{"x": 1}, Pooled: map[string]int{"img": 1}}})
	m.WatchTerminals(fakeHub{terminal.Stats{}})
	m.WatchRecordings(fakeRec{})
	m.WatchGradingQueue(fakeJobs{})
	// Vectors show up once they have a child.
	m.SandboxStarted("x", 0, false)
	m.SandboxStartFailed("x", false)
	m.GradingDone(0, "graded")
	m.WebhookTried("e", "sent")
	m.LoginFailed("invalid")
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(m.HTTPMiddleware())
	app.Get("/", func(c *fiber.Ctx) error { return nil })
	if _, err := app.Test(httptest.NewRequest("GET", "/", nil), -1); err != nil {
		t.Fatal(err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, mf := range mfs {
		known[mf.GetName()] = true
	}
	name := regexp.MustCompile(`opsdojo_[a-z_]+`)
	for _, f := range []string{alertRules, dashboard} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		used := name.FindAllString(string(b), -1)
		if len(used) == 0 {
			t.Errorf("%s names no opsdojo series", f)
		}
		for _, s := range used {
			base := s
			for _, suf := range []string{"_bucket", "_count", "_sum"} {
				if strings.HasSuffix(s, suf) && known[strings.TrimSuffix(s, suf)] {
					base = strings.TrimSuffix(s, suf)
				}
			}
			if !known[base] && s != "opsdojo_overview" {
				t.Errorf("%s uses %s, which /metrics does not export", f, s)
			}
		}
	}
}
