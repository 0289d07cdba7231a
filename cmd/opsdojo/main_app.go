package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/opsdojo/opsdojo/grader"
)

// builderCloseTimeout bounds the deletion of graded images still queued
// when a command ends.
const builderCloseTimeout = 2 * time.Minute

// closeBuilder deletes the graded images b still has queued (detached
// from ctx: an interrupted command cleans up too); what it cannot delete
// is logged with the label to find it by.
func closeBuilder(ctx context.Context, b *grader.DockerBuilder, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), builderCloseTimeout)
	defer cancel()
	if err := b.Close(cctx); err != nil {
		log.Warn("graded images left behind", "err", err)
	}
}
