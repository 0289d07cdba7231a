package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/opsdojo/opsdojo/metrics"
	"github.com/opsdojo/opsdojo/terminal"
)

// serveMetrics serves met's /metrics on its own listener at addr until ctx
// ends; an empty addr serves nothing (the series are still kept). The
// address is reported to app.onMetricsListen (tests use port 0).
func serveMetrics(ctx context.Context, app *cli, met *metrics.Metrics, addr string, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", listenError(addr, err))
	}
	if app.onMetricsListen != nil {
		app.onMetricsListen(ln.Addr().String())
	}
	log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	go func() {
		if err := met.Serve(ctx, ln); err != nil && ctx.Err() == nil {
			log.Warn("metrics listener stopped", "err", err)
		}
	}()
	return nil
}

// countedSink counts the bytes of a terminal on their way to its recording
// (every byte the shell shows and the user types passes through it).
type countedSink struct {
	terminal.RecordSink
	met *metrics.Metrics
}

func (c countedSink) Output(p []byte) { c.met.TerminalBytes("out", len(p)); c.RecordSink.Output(p) }
func (c countedSink) Input(p []byte)  { c.met.TerminalBytes("in", len(p)); c.RecordSink.Input(p) }
