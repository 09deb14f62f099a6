// Package store defines what tracecomb asks of a trace store: durable batch
// writes of model events, a trace by id, datasets and columns, and filtered
// scans with predicates pushed down, and traces selected by their events.
// The implementation is the embedded DuckDB store (subpackage duckdb); every
// implementation passes the conformance suite in storetest.
//
// Contracts that hold for every implementation:
//   - Every call is scoped to one environment; nothing ever crosses it.
//   - Write returning nil means committed: the events survive kill -9,
//     except those it lists in their batch's Refused, which are not stored.
//   - A dataset has at most a bounded number of columns (Honeycomb's column
//     limit), and so has an environment: an event that would pass either
//     is refused with ErrTooManyColumns, the rest of the call is stored.
//   - OTLP and Honeycomb events are appended (a span sent twice is stored
//     twice). Of X-Ray events (Source == model.SourceXRay) with a non-zero
//     span id, one per trace and span id is kept, stored or written, by
//     X-Ray's duplicate rule (xrayview.Prefer): a complete segment replaces
//     an in-progress one and never the other way round, else the later one
//     is kept; so an in-progress segment completed later is one span.
//   - Returned events belong to the caller; the store keeps no reference.
//   - All methods are safe for concurrent use.
package store

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// ErrNotFound is returned (wrapped) when a named dataset does not exist.
var ErrNotFound = errors.New("not found")

// ErrTooManyColumns refuses an event that would give its dataset, or its
// environment, more columns than the store keeps (see Refusal).
var ErrTooManyColumns = errors.New("dataset has too many columns")

// TooManyColumnsMessage is Honeycomb's answer to an event past its
// per-dataset column limit (a 400).
const TooManyColumnsMessage = "Dataset has too many columns."

// ErrNoSpace means the store cannot write because its disk is full. It is
// retryable: nothing of the call was stored, and the same call may succeed
// once space is freed (the store recovers by itself; Healthy says when).
// Reads keep working meanwhile.
var ErrNoSpace = errors.New("no space left on the store's disk")

// ErrUnavailable means a part of the store (a database server, a shard of
// a cluster) cannot be reached or cannot take the request now: retryable,
// and nothing of a failed write is visible. The error's text names the
// part; reads answer it with 503 rather than a partial answer.
var ErrUnavailable = errors.New("the store is unavailable")

// ErrQueryTooLarge means a read needed more memory than the store may use
// (its memory limit): the same query will fail again, a narrower one (a
// shorter time range, fewer groups) may not. Returned wrapped, with the
// store's reason.
var ErrQueryTooLarge = errors.New("the query needs more memory than the store may use")

// Batch is a set of events for one environment.
type Batch struct {
	Env    string // environment slug
	Events []model.Event
	// Refused is set by Write when it returns nil: the events of Events it
	// did not store, in order, each with its reason (ErrTooManyColumns,
	// wrapped). Every other event is durable. Write clears it first.
	Refused []Refusal
}

// Refusal is an event a Write did not store.
type Refusal struct {
	Index int   // into the batch's Events
	Err   error // errors.Is(Err, ErrTooManyColumns)
}

// Writer stores events.
type Writer interface {
	// Write stores all batches in one commit. A nil error means every event
	// is durable but those listed in their batch's Refused. On error nothing
	// of the call is visible; errors.Is(err, ErrNoSpace) when the disk is
	// full (retry later).
	Write(ctx context.Context, batches []Batch) error
}

// Deleter removes what was written.
type Deleter interface {
	// DeleteDataset removes a dataset of the environment (found by name in
	// any casing, or by slug): every event of it and every column, so that
	// a later write of that name starts a new dataset. ErrNotFound when
	// there is no such dataset.
	DeleteDataset(ctx context.Context, env, dataset string) error
	// DeleteColumn removes a column of a dataset: its values in every
	// event of the dataset and its entry in Columns (a later write of the
	// field creates it again). ErrNotFound when the dataset or the column
	// does not exist; the fields every event has by construction (trace
	// and span ids, name, duration_ms, …) cannot be deleted
	// (errors.ErrUnsupported).
	DeleteColumn(ctx context.Context, env, dataset, column string) error
}

// Retention bounds what an environment keeps: events older than MaxAge
// (by their time) are deleted, and while the environment takes more than
// MaxBytes on disk its oldest events are. Zero means no bound. A door's
// part of an environment (DoorEnv) follows the environment's retention,
// and MaxBytes bounds the parts together.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// Retainer enforces retention: the store's default for every
// environment, and overrides per environment that persist.
type Retainer interface {
	// Retention returns the environment's retention: its override if it
	// has one, else the store's default.
	Retention(ctx context.Context, env string) (Retention, error)
	// SetRetention overrides the default for env; nil removes the override.
	// The store enforces it within a minute.
	SetRetention(ctx context.Context, env string, r *Retention) error
}

// Dataset describes a dataset of an environment.
type Dataset struct {
	Name          string // as first seen (dataset names are case-insensitive)
	Slug          string // lowercase, non-alphanumerics replaced by '-'
	CreatedAt     time.Time
	LastWrittenAt time.Time
	Columns       int
}

// Column describes a column (a field key) of a dataset.
type Column struct {
	KeyName     string
	Type        model.Kind
	CreatedAt   time.Time
	LastWritten time.Time
}

// Reader reads what was written.
type Reader interface {
	// Trace returns every event (spans, span events, links) of the trace in
	// the environment, across all datasets, ordered by time. An unknown trace
	// gives an empty slice and a nil error.
	Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error)
	// Datasets lists the environment's datasets, ordered by name.
	Datasets(ctx context.Context, env string) ([]Dataset, error)
	// Columns lists a dataset's columns (hot fields included), ordered by
	// key name. dataset "" lists the union over the environment. An unknown
	// dataset gives ErrNotFound.
	Columns(ctx context.Context, env, dataset string) ([]Column, error)
	// Scan streams the events that match q, newest first. The iterator is
	// single-use; stopping early releases its resources.
	Scan(ctx context.Context, env string, q ScanQuery) iter.Seq2[model.Event, error]
	// SelectTraces returns the traces of the environment that have an
	// event in [q.Start, q.End) and, for every element of q.Require, an
	// event in that range matching it; ordered by the time of their newest
	// event in the range, newest first (ties by trace id, descending), at
	// most q.Limit (0: all), starting after q.After when set. Events
	// without a trace id belong to no trace. Only the trace ids and times
	// are read, never the events. A filter on an unknown column matches no
	// event (and its negation every event), as in Scan.
	SelectTraces(ctx context.Context, env string, q TraceQuery) (TraceSelection, error)
}

// Store is a complete trace store.
type Store interface {
	Writer
	Reader
	Deleter
	Retainer
	// Healthy returns nil when the store can write, else why not (wrapping
	// ErrNoSpace when its disk is full): what /healthz reports.
	Healthy(ctx context.Context) error
	// Close flushes and releases everything; safe to call twice.
	Close() error
}

// ScanQuery selects events.
type ScanQuery struct {
	Start, End  time.Time // event time in [Start, End); zero = unbounded
	Datasets    []string  // empty = all datasets of the environment
	Filters     []Filter
	Combination Combination // how Filters combine; default AND
	Limit       int         // 0 = no limit
	// TraceIDs, when non-empty, restricts the scan to these traces.
	TraceIDs []model.TraceID
}

// Combination joins filters.
type Combination uint8

// Filter combinations.
const (
	And Combination = iota
	Or
)

// Op is a filter operator, named as Honeycomb's query specification names it.
type Op string

// Filter operators.
const (
	OpEq            Op = "="
	OpNe            Op = "!="
	OpGt            Op = ">"
	OpGe            Op = ">="
	OpLt            Op = "<"
	OpLe            Op = "<="
	OpStartsWith    Op = "starts-with"
	OpNotStartsWith Op = "does-not-start-with"
	OpEndsWith      Op = "ends-with"
	OpNotEndsWith   Op = "does-not-end-with"
	OpExists        Op = "exists"
	OpNotExists     Op = "does-not-exist"
	OpContains      Op = "contains"
	OpNotContains   Op = "does-not-contain"
	OpIn            Op = "in"
	OpNotIn         Op = "not-in"
)

// Filter is one predicate on a column (a Honeycomb field name, hot or not).
// Exists/NotExists take no value; In/NotIn take Values; the others take
// Value. Comparisons follow Honeycomb: a value is compared as the column's
// type where it converts, and an event without the column matches only the
// negative operators (!=, does-not-*, not-in, does-not-exist).
type Filter struct {
	Column string
	Op     Op
	Value  model.Value
	Values []model.Value
}

// Slug returns the Honeycomb dataset slug of a name: lowercase, every
// character other than a-z and 0-9 replaced by '-'.
func Slug(name string) string {
	b := []byte(name)
	out := make([]byte, 0, len(b))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, byte(r))
		case r >= 'A' && r <= 'Z':
			out = append(out, byte(r-'A'+'a'))
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}
