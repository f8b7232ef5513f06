package control

import (
	"strings"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/live"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Version = "v1.2.3" })
	e.f.setStatus(live.Status{
		State: "speaking", Uptime: time.Minute, Media: 59 * time.Second, BehindLive: 300 * time.Millisecond,
		Restarts: 3, Speaking: true, Queue: []live.Clip{{ID: "a"}, {ID: "b"}}, QueueTime: 4 * time.Second,
		Drift: -2 * time.Millisecond, Publishing: true, ClipsAired: 7, Frames: 1500, Bytes: 123456,
	})
	w := e.do("GET", "/metrics", nil)
	if w.Code != 200 {
		t.Fatalf("metrics: %d %s", w.Code, w.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, w.Body)
	}
	want := []struct {
		name string
		typ  dto.MetricType
		v    float64
	}{
		{"livepush_restarts_total", dto.MetricType_COUNTER, 3},
		{"livepush_media_seconds_total", dto.MetricType_COUNTER, 59},
		{"livepush_clips_aired_total", dto.MetricType_COUNTER, 7},
		{"livepush_frames_written_total", dto.MetricType_COUNTER, 1500},
		{"livepush_written_bytes_total", dto.MetricType_COUNTER, 123456},
		{"livepush_behind_live_seconds", dto.MetricType_GAUGE, 0.3},
		{"livepush_uptime_seconds", dto.MetricType_GAUGE, 60},
		{"livepush_queue_clips", dto.MetricType_GAUGE, 2},
		{"livepush_queue_seconds", dto.MetricType_GAUGE, 4},
		{"livepush_drift_seconds", dto.MetricType_GAUGE, -0.002},
		{"livepush_ffmpeg_up", dto.MetricType_GAUGE, 1},
		{"livepush_speaking", dto.MetricType_GAUGE, 1},
		{"livepush_build_info", dto.MetricType_GAUGE, 1},
	}
	for _, m := range want {
		f := fams[m.name]
		if f == nil {
			t.Errorf("no %s", m.name)
			continue
		}
		if f.GetType() != m.typ || len(f.Metric) != 1 {
			t.Errorf("%s: type %v, %d series", m.name, f.GetType(), len(f.Metric))
			continue
		}
		var v float64
		if m.typ == dto.MetricType_COUNTER {
			v = f.Metric[0].GetCounter().GetValue()
		} else {
			v = f.Metric[0].GetGauge().GetValue()
		}
		if v != m.v {
			t.Errorf("%s = %v, want %v", m.name, v, m.v)
		}
	}
	st := fams["livepush_state"]
	if st == nil || len(st.Metric) != len(states) {
		t.Fatalf("livepush_state: %v", st)
	}
	for _, m := range st.Metric {
		on := m.GetLabel()[0].GetValue() == "speaking"
		if (m.GetGauge().GetValue() == 1) != on {
			t.Errorf("livepush_state{state=%q} = %v", m.GetLabel()[0].GetValue(), m.GetGauge().GetValue())
		}
	}
	if fams["go_goroutines"] == nil || fams["process_start_time_seconds"] == nil {
		t.Error("no Go runtime or process metrics")
	}
	// Collectors read Status at scrape time.
	e.f.setStatus(live.Status{Restarts: 4})
	fams, _ = p.TextToMetricFamilies(strings.NewReader(e.do("GET", "/metrics", nil).Body.String()))
	if v := fams["livepush_restarts_total"].Metric[0].GetCounter().GetValue(); v != 4 {
		t.Errorf("restarts after a change: %v", v)
	}
	if v := fams["livepush_ffmpeg_up"].Metric[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("ffmpeg_up while not publishing: %v", v)
	}
}

// TestMetricsLint runs client_golang's naming-convention linter.
func TestMetricsLint(t *testing.T) {
	probs, err := testutil.CollectAndLint(newStatusCollector(&fakeStream{status: live.Status{State: "idle"}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// Two servers in one process must not share metrics state.
func TestMetricsPrivateRegistry(t *testing.T) {
	a := newEnv(t, nil)
	b := newEnv(t, nil)
	a.f.setStatus(live.Status{Restarts: 1})
	b.f.setStatus(live.Status{Restarts: 2})
	for _, c := range []struct {
		e    *env
		want string
	}{{a, "livepush_restarts_total 1\n"}, {b, "livepush_restarts_total 2\n"}} {
		if body := c.e.do("GET", "/metrics", nil).Body.String(); !strings.Contains(body, c.want) {
			t.Errorf("want %q in\n%s", c.want, body)
		}
	}
}
