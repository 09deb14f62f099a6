package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracecomb/tracecomb/internal/model"
)

// The staged write path (Config.staged; the direct Appender is the
// default, see the package comment for the measurements). Appending straight into events_N costs one cgo
// call per cell, NULLs included, and with one column per attribute most
// cells are NULL (11 attributes of ~100 keys). So a write appends narrow
// rows into a temporary table of the write connection (hot columns plus the
// attributes as parallel lists per type: attribute column ids and values), and one INSERT … SELECT
// spreads the lists into the attribute columns inside DuckDB, vectorised.

// stageDDL creates the staging table; temporary tables belong to the
// connection and never reach the database file or its WAL.
const stageDDL = `CREATE TEMP TABLE IF NOT EXISTS stage (
	ts BIGINT, ds INTEGER, source UTINYINT, trace_hi BIGINT, trace_lo BIGINT,
	span_id BIGINT, parent_id BIGINT, name VARCHAR, service_name VARCHAR,
	duration_ms DOUBLE, span_kind VARCHAR, status_code BIGINT, error BOOLEAN,
	annotation_type VARCHAR, sample_rate BIGINT, doc BLOB,
	ov_str MAP(VARCHAR, VARCHAR), ov_int MAP(VARCHAR, BIGINT),
	ov_flt MAP(VARCHAR, DOUBLE), ov_bool MAP(VARCHAR, BOOLEAN),
	k_str INTEGER[], v_str VARCHAR[], k_int INTEGER[], v_int BIGINT[],
	k_flt INTEGER[], v_flt DOUBLE[], k_bool INTEGER[], v_bool BOOLEAN[])`

// stageLists are the key and value list columns per kind, by model.Kind.
var stageLists = [4][2]string{
	model.KindString: {"k_str", "v_str"},
	model.KindInt:    {"k_int", "v_int"},
	model.KindFloat:  {"k_flt", "v_flt"},
	model.KindBool:   {"k_bool", "v_bool"},
}

// rowLists collects one event's attributes per kind.
type rowLists struct {
	kStr, kInt, kFlt, kBool []int32 // attribute column ids
	vStr                    []string
	vInt                    []int64
	vFlt                    []float64
	vBool                   []bool
}

func (l *rowLists) reset() {
	l.kStr, l.kInt, l.kFlt, l.kBool = l.kStr[:0], l.kInt[:0], l.kFlt[:0], l.kBool[:0]
	l.vStr, l.vInt, l.vFlt, l.vBool = l.vStr[:0], l.vInt[:0], l.vFlt[:0], l.vBool[:0]
}

func listOrNil[T any](l []T) driver.Value {
	if len(l) == 0 {
		return nil
	}
	return l
}

// stageEvents writes events through the staging table.
func (s *Store) stageEvents(ctx context.Context, conn driverConn, e *envReg, events []*model.Event, dss []*dsReg) error {
	if _, err := conn.ExecContext(ctx, "DELETE FROM stage", nil); err != nil {
		return fmt.Errorf("clear stage: %w", err)
	}
	app, err := duckdb.NewAppender(conn, "temp", "main", "stage")
	if err != nil {
		return fmt.Errorf("stage appender: %w", err)
	}
	used := map[*attrCol]struct{}{}
	var ovUsed [4]bool
	row := make([]driver.Value, len(hotColumns)+4+8)
	var l rowLists
	for i, ev := range events {
		clear(row)
		fillHot(row, ev, dss[i].id)
		l.reset()
		var ov [4]duckdb.Map
		for _, a := range ev.Attrs {
			kind := a.Value.Kind & 3
			ac := e.attrs[colKey{a.Key, a.Value.Kind}]
			if ac == nil {
				if ov[kind] == nil {
					ov[kind] = duckdb.Map{}
				}
				ov[kind][a.Key] = attrValue(a.Value)
				ovUsed[kind] = true
				continue
			}
			used[ac] = struct{}{}
			switch a.Value.Kind {
			case model.KindInt:
				l.kInt, l.vInt = append(l.kInt, int32(ac.id)), append(l.vInt, a.Value.Int)
			case model.KindFloat:
				l.kFlt, l.vFlt = append(l.kFlt, int32(ac.id)), append(l.vFlt, a.Value.Flt)
			case model.KindBool:
				l.kBool, l.vBool = append(l.kBool, int32(ac.id)), append(l.vBool, a.Value.Int != 0)
			default:
				l.kStr, l.vStr = append(l.kStr, int32(ac.id)), append(l.vStr, a.Value.Str)
			}
		}
		n := len(hotColumns)
		for k, m := range ov {
			if m != nil {
				row[n+k] = m
			}
		}
		n += 4
		row[n], row[n+1] = listOrNil(l.kStr), listOrNil(l.vStr)
		row[n+2], row[n+3] = listOrNil(l.kInt), listOrNil(l.vInt)
		row[n+4], row[n+5] = listOrNil(l.kFlt), listOrNil(l.vFlt)
		row[n+6], row[n+7] = listOrNil(l.kBool), listOrNil(l.vBool)
		if err := app.AppendRow(row...); err != nil {
			_ = app.Close()
			return fmt.Errorf("stage event: %w", err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("stage events: %w", err)
	}

	// Spread the lists into the attribute columns this write uses.
	cols := make([]*attrCol, 0, len(used))
	for ac := range used {
		cols = append(cols, ac)
	}
	slices.SortFunc(cols, func(a, b *attrCol) int { return a.id - b.id })
	var into, sel strings.Builder
	for i, c := range hotColumns {
		if i > 0 {
			into.WriteString(", ")
			sel.WriteString(", ")
		}
		into.WriteString(dialect.Quote(c))
		sel.WriteString(dialect.Quote(c))
	}
	for k, u := range ovUsed {
		if u {
			into.WriteString(", " + overflowColumns[k])
			sel.WriteString(", " + overflowColumns[k])
		}
	}
	for _, c := range cols {
		lists := stageLists[c.kind&3]
		into.WriteString(", " + c.name)
		fmt.Fprintf(&sel, ", %s[list_position(%s, %d)]", lists[1], lists[0], c.id)
	}
	q := "INSERT INTO " + e.eventsTable() + " (" + into.String() + ") SELECT " + sel.String() + " FROM stage"
	if _, err := conn.ExecContext(ctx, q, nil); err != nil {
		return fmt.Errorf("insert staged events: %w", err)
	}
	q = "INSERT INTO " + e.tracesTable() + " (trace_hi, trace_lo, ds, min_ts, max_ts) SELECT trace_hi, trace_lo, ds, min(ts), max(ts) FROM stage GROUP BY trace_hi, trace_lo, ds"
	if _, err := conn.ExecContext(ctx, q, nil); err != nil {
		return fmt.Errorf("insert trace ranges: %w", err)
	}
	return nil
}
