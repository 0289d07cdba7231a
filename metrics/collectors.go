package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/terminal"
)

// The collectors below read counts the domain already keeps, at scrape
// time: nothing in the domain pushes them.

// SandboxCounter is the sandbox manager as metrics reads it.
type SandboxCounter interface{ Counts() sandbox.Counts }

// TerminalCounter is the terminal hub as metrics reads it.
type TerminalCounter interface{ Stats() terminal.Stats }

// DropCounter is the recorder as metrics reads it.
type DropCounter interface{ Dropped() (events, bytes int64) }

// JobCounter reports grading jobs by state (queued, running, …); the store
// implements it with one query.
type JobCounter interface {
	GradingJobCounts(ctx context.Context) (map[string]int64, error)
}

// queryTimeout bounds the database query of one scrape.
const queryTimeout = 2 * time.Second

var (
	descSandboxes = prometheus.NewDesc(Namespace+"_sandboxes_running",
		"Sandboxes handed out to attempts and running, by challenge.", []string{"challenge"}, nil)
	descPooled = prometheus.NewDesc(Namespace+"_sandboxes_pooled",
		"Warm, started sandboxes waiting in the pool, by image.", []string{"image"}, nil)
	descStarting = prometheus.NewDesc(Namespace+"_sandboxes_starting",
		"Sandbox starts in flight.", nil, nil)
	descTermOpen = prometheus.NewDesc(Namespace+"_terminals_open",
		"Terminal shells running (attached: with a browser websocket now).", []string{"state"}, nil)
	descRecDropped = prometheus.NewDesc(Namespace+"_recording_dropped_events_total",
		"Terminal events left out of recordings because the recorder fell behind.", nil, nil)
	descRecDroppedB = prometheus.NewDesc(Namespace+"_recording_dropped_bytes_total",
		"Bytes of terminal events left out of recordings.", nil, nil)
	descJobs = prometheus.NewDesc(Namespace+"_grading_jobs",
		"Grading jobs in the database by state: queued is the queue depth, running are leased by a worker.", []string{"state"}, nil)
	descScrapeErr = prometheus.NewDesc(Namespace+"_metrics_source_up",
		"Whether a source of the metrics answered this scrape (1) or not (0).", []string{"source"}, nil)
)

// funcCollector adapts a describe and a collect function.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range f.descs {
		ch <- d
	}
}
func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// WatchSandboxes exports running, pooled and starting sandboxes.
func (m *Metrics) WatchSandboxes(src SandboxCounter) {
	m.reg.MustRegister(funcCollector{descs: []*prometheus.Desc{descSandboxes, descPooled, descStarting}, collect: func(ch chan<- prometheus.Metric) {
		c := src.Counts()
		for id, n := range c.Running {
			ch <- prometheus.MustNewConstMetric(descSandboxes, prometheus.GaugeValue, float64(n), challengeLabel(id))
		}
		for img, n := range c.Pooled {
			ch <- prometheus.MustNewConstMetric(descPooled, prometheus.GaugeValue, float64(n), img)
		}
		ch <- prometheus.MustNewConstMetric(descStarting, prometheus.GaugeValue, float64(c.Starting))
	}})
}

// WatchTerminals exports the terminals open.
func (m *Metrics) WatchTerminals(src TerminalCounter) {
	m.reg.MustRegister(funcCollector{descs: []*prometheus.Desc{descTermOpen}, collect: func(ch chan<- prometheus.Metric) {
		st := src.Stats()
		ch <- prometheus.MustNewConstMetric(descTermOpen, prometheus.GaugeValue, float64(st.Attached), "attached")
		ch <- prometheus.MustNewConstMetric(descTermOpen, prometheus.GaugeValue, float64(st.Sessions-st.Attached), "detached")
	}})
}

// WatchRecordings exports the recording drops.
func (m *Metrics) WatchRecordings(src DropCounter) {
	m.reg.MustRegister(funcCollector{descs: []*prometheus.Desc{descRecDropped, descRecDroppedB}, collect: func(ch chan<- prometheus.Metric) {
		ev, b := src.Dropped()
		ch <- prometheus.MustNewConstMetric(descRecDropped, prometheus.CounterValue, float64(ev))
		ch <- prometheus.MustNewConstMetric(descRecDroppedB, prometheus.CounterValue, float64(b))
	}})
}

// WatchGradingQueue exports grading jobs by state, read from the database
// at each scrape (the queue is shared by every replica). A failed query
// reports opsdojo_metrics_source_up{source="grading_jobs"} 0.
func (m *Metrics) WatchGradingQueue(src JobCounter) {
	m.reg.MustRegister(funcCollector{descs: []*prometheus.Desc{descJobs, descScrapeErr}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		counts, err := src.GradingJobCounts(ctx)
		up := 1.0
		if err != nil {
			m.log.Warn("count grading jobs for /metrics", "err", err)
			up = 0
		} else {
			for _, st := range []string{"queued", "running"} {
				if _, ok := counts[st]; !ok {
					counts[st] = 0
				}
			}
			for st, n := range counts {
				ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(n), st)
			}
		}
		ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, up, "grading_jobs")
	}})
}
