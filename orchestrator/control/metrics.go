package control

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/livepush/livepush/orchestrator"
)

// States are the values Status.State takes; each is a livepush_state series.
var states = []string{"starting", "idle", "speaking", "restarting", "stopping", "stopped", "failed"}

// statusCollector reads one Status per scrape, so that every series of a
// scrape comes from the same snapshot.
type statusCollector struct {
	stream Stream

	restarts, media, clips, frames, bytes    *prometheus.Desc
	behind, uptime, queueClips, queueSeconds *prometheus.Desc
	drift, up, speaking, state               *prometheus.Desc
	// Each output of several, labelled by its number and masked URL.
	outUp, outReconnects, outBytes, outDelay *prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("livepush_"+name, help, labels, nil)
}

func newStatusCollector(s Stream) *statusCollector {
	return &statusCollector{
		stream:        s,
		restarts:      desc("restarts_total", "Times ffmpeg was restarted."),
		media:         desc("media_seconds_total", "Media time sent since the stream began."),
		clips:         desc("clips_aired_total", "Speech clips that finished or were cut."),
		frames:        desc("frames_written_total", "Video frames written into the pipe."),
		bytes:         desc("written_bytes_total", "Bytes written into the video and audio pipes."),
		behind:        desc("behind_live_seconds", "How far the stream's content is behind the wall clock."),
		uptime:        desc("uptime_seconds", "Time since the stream began."),
		queueClips:    desc("queue_clips", "Speech clips waiting in the queue."),
		queueSeconds:  desc("queue_seconds", "Speech time waiting in the queue."),
		drift:         desc("drift_seconds", "Drift of the media clock against the wall clock."),
		up:            desc("ffmpeg_up", "1 while ffmpeg is publishing media, else 0."),
		speaking:      desc("speaking", "1 while a clip is on air, else 0."),
		state:         desc("state", "1 for the stream's current state, 0 for the others.", "state"),
		outUp:         desc("output_up", "1 while this output of several is on air, else 0.", "output", "url"),
		outReconnects: desc("output_reconnects_total", "Times this output's ffmpeg was started again.", "output", "url"),
		outBytes:      desc("output_sent_bytes_total", "FLV bytes given to this output's ffmpeg.", "output", "url"),
		outDelay:      desc("output_delay_seconds", "How far this output is behind the newest encoded media.", "output", "url"),
	}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.restarts, c.media, c.clips, c.frames, c.bytes,
		c.behind, c.uptime, c.queueClips, c.queueSeconds, c.drift, c.up, c.speaking, c.state,
		c.outUp, c.outReconnects, c.outBytes, c.outDelay} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stream.Status()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(c.restarts, float64(st.Restarts))
	counter(c.media, st.Media.Seconds())
	counter(c.clips, float64(st.ClipsAired))
	counter(c.frames, float64(st.Frames))
	counter(c.bytes, float64(st.Bytes))
	gauge(c.behind, st.BehindLive.Seconds())
	gauge(c.uptime, st.Uptime.Seconds())
	gauge(c.queueClips, float64(len(st.Queue)))
	gauge(c.queueSeconds, st.QueueTime.Seconds())
	gauge(c.drift, st.Drift.Seconds())
	gauge(c.up, bool01(st.Publishing))
	gauge(c.speaking, bool01(st.Speaking))
	known := false
	for _, s := range states {
		known = known || s == st.State
		gauge(c.state, bool01(s == st.State), s)
	}
	if !known && st.State != "" {
		gauge(c.state, 1, st.State)
	}
	for i, o := range st.Outputs {
		n := strconv.Itoa(i + 1)
		gauge(c.outUp, bool01(o.State == orchestrator.OutputUp), n, o.URL)
		ch <- prometheus.MustNewConstMetric(c.outReconnects, prometheus.CounterValue, float64(o.Reconnects), n, o.URL)
		ch <- prometheus.MustNewConstMetric(c.outBytes, prometheus.CounterValue, float64(o.BytesSent), n, o.URL)
		gauge(c.outDelay, o.Delay.Seconds(), n, o.URL)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newMetricsHandler serves a private registry: the stream's series, the Go
// runtime's and the process's.
func newMetricsHandler(s Stream, version string) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatusCollector(s),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if version != "" {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "livepush_build_info",
			Help:        "Always 1; the version label names the build.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
