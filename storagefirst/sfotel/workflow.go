package sfotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// Workflows wraps s so that executions are counted by workflow and status: one
// RUNNING when created, one with the final status (SUCCEEDED, FAILED, TIMED_OUT)
// when an update stores it. Each stored update also adds an event with the
// execution's state and status to the span in the caller's context (the
// consumer's span when the engine runs under Middleware). Every other method is
// s's own.
func (i *Instrumentation) Workflows(s workflow.Store) workflow.Store {
	return &workflowStore{Store: s, i: i}
}

type workflowStore struct {
	workflow.Store
	i *Instrumentation
}

func (s *workflowStore) count(ctx context.Context, exec workflow.Execution) {
	s.i.workflows.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(exec.Workflow), AttrStatus.String(string(exec.Status))))
}

func (s *workflowStore) event(ctx context.Context, exec workflow.Execution) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.AddEvent("workflow "+string(exec.Status), trace.WithAttributes(
		attribute.String("storagefirst.workflow.execution_id", exec.ID), AttrWorkflow.String(exec.Workflow),
		AttrStatus.String(string(exec.Status)), attribute.String("storagefirst.workflow.state", exec.State)))
}

func (s *workflowStore) Create(ctx context.Context, exec workflow.Execution) error {
	err := s.Store.Create(ctx, exec)
	if err == nil {
		s.count(ctx, exec)
		s.event(ctx, exec)
	}
	return err
}

func (s *workflowStore) Update(ctx context.Context, exec workflow.Execution) error {
	err := s.Store.Update(ctx, exec)
	if err == nil {
		if exec.Status != workflow.StatusRunning {
			s.count(ctx, exec)
		}
		s.event(ctx, exec)
	}
	return err
}
