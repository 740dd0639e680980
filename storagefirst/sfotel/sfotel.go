package sfotel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/storagefirst/storagefirst-go/storagefirst/sfotel"

// StatsTimeoutDefault bounds each queue's Stats call in ObserveQueues when
// Config.StatsTimeout is zero.
const StatsTimeoutDefault = 5 * time.Second

// MetadataValueLimit is the longest trace-context value (in bytes) Inject writes
// into an envelope's Metadata; a longer one is left out. W3C tracestate is at most
// 32 members of 256 characters, but its own specification lets propagators cut it
// to 512.
const MetadataValueLimit = 512

// MetadataFieldsDefault are the propagator fields Inject stores in an envelope's
// Metadata (and MetadataHeaders lists) when Config.MetadataFields is empty: the W3C
// trace context, never baggage, which can carry anything and would be stored with
// every envelope.
var MetadataFieldsDefault = []string{"traceparent", "tracestate"}

// SystemDefault is the messaging.system attribute when Config.System is empty.
const SystemDefault = "storagefirst"

// Attribute keys, from the OpenTelemetry messaging semantic conventions where one
// fits, else under "storagefirst.".
const (
	AttrMessagingSystem         = attribute.Key("messaging.system")
	AttrMessagingOperationType  = attribute.Key("messaging.operation.type")
	AttrMessagingOperationName  = attribute.Key("messaging.operation.name")
	AttrMessagingDestination    = attribute.Key("messaging.destination.name")
	AttrMessagingMessageID      = attribute.Key("messaging.message.id")
	AttrMessagingConversationID = attribute.Key("messaging.message.conversation_id")
	AttrMessagingBatchCount     = attribute.Key("messaging.batch.message_count")
	AttrEnvelopeType            = attribute.Key("storagefirst.envelope.type")
	AttrAttempt                 = attribute.Key("storagefirst.attempt")
	AttrAction                  = attribute.Key("storagefirst.action")
	AttrErrorClass              = attribute.Key("storagefirst.error.class")
	AttrQueue                   = attribute.Key("storagefirst.queue")
	AttrOutcome                 = attribute.Key("storagefirst.outcome")
	AttrState                   = attribute.Key("storagefirst.state")
	AttrScope                   = attribute.Key("storagefirst.idempotency.scope")
	AttrWorkflow                = attribute.Key("storagefirst.workflow")
	AttrStatus                  = attribute.Key("storagefirst.workflow.status")
	AttrStore                   = attribute.Key("storagefirst.store")
)

// Metric names.
const (
	MetricPutDuration       = "storagefirst.put.duration"
	MetricPutBatchSize      = "storagefirst.put.batch_size"
	MetricQueueEnvelopes    = "storagefirst.queue.envelopes"
	MetricQueueOldestReady  = "storagefirst.queue.oldest_ready_age"
	MetricProcessed         = "storagefirst.consumer.processed"
	MetricHandlerDuration   = "storagefirst.handler.duration"
	MetricDeadLettered      = "storagefirst.dead_lettered"
	MetricIdempotency       = "storagefirst.idempotency.begins"
	MetricWorkflowExecution = "storagefirst.workflow.executions"
	// MetricGroupCommitBatches and MetricGroupCommitEnvelopes count a store's
	// group-commit put transactions and the envelopes they stored (ObserveBatches):
	// their rates' ratio is the group-commit batch size.
	MetricGroupCommitBatches   = "storagefirst.group_commit.batches"
	MetricGroupCommitEnvelopes = "storagefirst.group_commit.envelopes"
)

// secondsBuckets suit durations from a millisecond to a minute.
var secondsBuckets = metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

// Config configures an Instrumentation. The zero value uses the global providers
// and the W3C trace-context propagator.
type Config struct {
	// TracerProvider default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator carries the trace context in headers and envelope metadata.
	// Default: W3C trace context (propagation.TraceContext).
	Propagator propagation.TextMapPropagator
	// MetadataFields are the propagator's fields that Inject writes into an
	// envelope's Metadata and MetadataHeaders lists, each value at most
	// MetadataValueLimit bytes. Default MetadataFieldsDefault (traceparent,
	// tracestate); add e.g. "baggage" only knowingly: it is stored with every
	// envelope.
	MetadataFields []string
	// System is the messaging.system attribute. Default SystemDefault.
	System string
	// StatsTimeout bounds each queue's Stats call when ObserveQueues collects: a
	// queue that does not answer in time is left out of that collection. Default
	// StatsTimeoutDefault.
	StatsTimeout time.Duration
}

// Instrumentation holds the tracer, the meter and the instruments. It is safe for
// concurrent use.
type Instrumentation struct {
	tracer     trace.Tracer
	meter      metric.Meter
	propagator propagation.TextMapPropagator
	system     attribute.KeyValue
	statsLimit time.Duration
	fields     []string

	putDuration  metric.Float64Histogram
	putBatch     metric.Int64Histogram
	processed    metric.Int64Counter
	handlerDur   metric.Float64Histogram
	deadLettered metric.Int64Counter
	idempotency  metric.Int64Counter
	workflows    metric.Int64Counter
	envelopes    metric.Int64ObservableGauge
	oldestReady  metric.Float64ObservableGauge
	gcBatches    metric.Int64ObservableCounter
	gcEnvelopes  metric.Int64ObservableCounter
}

// New returns an Instrumentation, creating its instruments.
func New(cfg Config) (*Instrumentation, error) {
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.Propagator == nil {
		cfg.Propagator = propagation.TraceContext{}
	}
	fields := MetadataFieldsDefault
	if len(cfg.MetadataFields) > 0 {
		fields = make([]string, len(cfg.MetadataFields))
		for n, f := range cfg.MetadataFields {
			fields[n] = strings.ToLower(f)
		}
	}
	if cfg.System == "" {
		cfg.System = SystemDefault
	}
	if cfg.StatsTimeout <= 0 {
		cfg.StatsTimeout = StatsTimeoutDefault
	}
	i := &Instrumentation{
		tracer:     cfg.TracerProvider.Tracer(ScopeName),
		meter:      cfg.MeterProvider.Meter(ScopeName),
		propagator: cfg.Propagator,
		system:     AttrMessagingSystem.String(cfg.System),
		statsLimit: cfg.StatsTimeout,
		fields:     slices.Clone(fields),
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	i.putDuration, err = i.meter.Float64Histogram(MetricPutDuration, metric.WithUnit("s"),
		metric.WithDescription("Time to store envelopes durably (Sink.Put)."), secondsBuckets)
	add(err)
	i.putBatch, err = i.meter.Int64Histogram(MetricPutBatchSize, metric.WithUnit("{envelope}"),
		metric.WithDescription("Envelopes per Sink.Put."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500))
	add(err)
	i.processed, err = i.meter.Int64Counter(MetricProcessed, metric.WithUnit("{envelope}"),
		metric.WithDescription("Deliveries answered by a consumer, by action (acked, retried, released, dead_lettered, lease_lost) and outcome (ok, or error when the queue did not record the action)."))
	add(err)
	i.handlerDur, err = i.meter.Float64Histogram(MetricHandlerDuration, metric.WithUnit("s"),
		metric.WithDescription("Handler time per delivery."), secondsBuckets)
	add(err)
	i.deadLettered, err = i.meter.Int64Counter(MetricDeadLettered, metric.WithUnit("{envelope}"),
		metric.WithDescription("Envelopes dead-lettered by a consumer (written to the dead letters), by queue."))
	add(err)
	i.idempotency, err = i.meter.Int64Counter(MetricIdempotency, metric.WithUnit("{claim}"),
		metric.WithDescription("Idempotency Begin outcomes (new, replayed, in_progress, fingerprint_mismatch, error)."))
	add(err)
	i.workflows, err = i.meter.Int64Counter(MetricWorkflowExecution, metric.WithUnit("{execution}"),
		metric.WithDescription("Workflow executions started (RUNNING) and finished, by status."))
	add(err)
	i.envelopes, err = i.meter.Int64ObservableGauge(MetricQueueEnvelopes, metric.WithUnit("{envelope}"),
		metric.WithDescription("Envelopes in a queue by state (ready, scheduled, in_flight, dead)."))
	add(err)
	i.oldestReady, err = i.meter.Float64ObservableGauge(MetricQueueOldestReady, metric.WithUnit("s"),
		metric.WithDescription("How long the oldest ready envelope has waited."))
	add(err)
	i.gcBatches, err = i.meter.Int64ObservableCounter(MetricGroupCommitBatches, metric.WithUnit("{transaction}"),
		metric.WithDescription("Group-commit put transactions of a store."))
	add(err)
	i.gcEnvelopes, err = i.meter.Int64ObservableCounter(MetricGroupCommitEnvelopes, metric.WithUnit("{envelope}"),
		metric.WithDescription("Envelopes stored by a store's group-commit put transactions (duplicates included)."))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sfotel: creating instruments: %w", err)
	}
	return i, nil
}

// Propagator returns the propagator in use.
func (i *Instrumentation) Propagator() propagation.TextMapPropagator { return i.propagator }

// Tracer returns the tracer in use.
func (i *Instrumentation) Tracer() trace.Tracer { return i.tracer }
