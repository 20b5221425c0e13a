package monitoring_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/service"
	"github.com/swarmtopo/swarmtopo/spec"
)

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	Tests []struct {
		Name          string                    `yaml:"name"`
		InputSeries   []struct{ Series string } `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

type datasource struct{ Type, UID string }

type dashboard struct {
	Panels []struct {
		ID         int        `json:"id"`
		Title      string     `json:"title"`
		Datasource datasource `json:"datasource"`
		Targets    []struct {
			Expr       string     `json:"expr"`
			Datasource datasource `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func alertRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, "alerts.yml", &f)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("alerts.yml has no rules")
	}
	return out
}

// exported lists the series names swarmtopo serves once every kind of series has a value.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := service.NewMetrics()
	m.SetTopology(&spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3}}})
	m.ObservePlan(&reconcile.Plan{Time: time.Unix(0, 0), Before: reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 3}}})
	m.ObserveStep(controller.StepResult{Step: reconcile.Step{Action: reconcile.ActionPromote}, Result: controller.ResultOK, Settle: time.Second})
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"up": true} // the one series of Prometheus's own the rules use
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	return names
}

var seriesName = regexp.MustCompile(`\b(swarmtopo_[a-z_]+|up)\b`)

func checkNames(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	found := seriesName.FindAllString(expr, -1)
	if len(found) == 0 {
		t.Errorf("%s: no swarmtopo series in %q", where, expr)
	}
	for _, n := range found {
		if !names[n] {
			t.Errorf("%s: %s is not a series swarmtopo exports (expr %q)", where, n, expr)
		}
	}
}

func TestAlertRulesAreCompleteAndUseExportedSeries(t *testing.T) {
	names := exported(t)
	seen := map[string]bool{}
	for _, r := range alertRules(t) {
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert", r.Expr)
			continue
		}
		if seen[r.Alert] {
			t.Errorf("%s: defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
		}
		for _, a := range []string{"summary", "description"} {
			if r.Annotations[a] == "" {
				t.Errorf("%s: no %s", r.Alert, a)
			}
		}
		checkNames(t, r.Alert, r.Expr, names)
	}
}

func TestEveryAlertIsTestedFiringAndNotFiring(t *testing.T) {
	var f ruleTests
	readYAML(t, "alerts.test.yml", &f)
	fires, silent := map[string]bool{}, map[string]bool{}
	names := exported(t)
	for _, tc := range f.Tests {
		for _, s := range tc.InputSeries {
			checkNames(t, tc.Name, s.Series, names)
		}
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, r := range alertRules(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no test where it fires", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("%s: no test where it stays silent", r.Alert)
		}
	}
}

func TestDashboardPanelsQueryExportedSeries(t *testing.T) {
	data, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	names := exported(t)
	ids := map[int]bool{}
	// Every query goes to the data source the dashboard's variable picks.
	ds := datasource{Type: "prometheus", UID: "${datasource}"}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource != ds {
			t.Errorf("panel %q: datasource %+v, want %+v", p.Title, p.Datasource, ds)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
		for _, q := range p.Targets {
			checkNames(t, p.Title, q.Expr, names)
			if q.Datasource != ds {
				t.Errorf("panel %q: a query's datasource is %+v", p.Title, q.Datasource)
			}
		}
	}
}
