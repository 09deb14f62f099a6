package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the LISTEN/NOTIFY channel the records table's trigger
// notifies of each change on.
const Channel = "tracecomb_state"

// schemaLock is the advisory lock key that serialises schema changes
// ("tracecom" in ASCII).
const schemaLock int64 = 0x74726163_65636f6d

// migrations[i] takes the schema from version i to i+1.
var migrations = [][]string{
	{
		`CREATE TABLE IF NOT EXISTS tracecomb_state_records (
			kind text COLLATE "C" NOT NULL,
			scope text COLLATE "C" NOT NULL,
			key text COLLATE "C" NOT NULL,
			value bytea NOT NULL,
			version bigint NOT NULL,
			updated timestamptz NOT NULL,
			PRIMARY KEY (kind, scope, key))`,
		`CREATE INDEX IF NOT EXISTS tracecomb_state_records_scope ON tracecomb_state_records (scope)`,
		`CREATE TABLE IF NOT EXISTS tracecomb_state_leases (
			name text COLLATE "C" PRIMARY KEY,
			holder text NOT NULL,
			expires timestamptz NOT NULL)`,
		// The payload is ["kind","scope","key"]; empty (too long for a
		// notification, or a TRUNCATE) means "reload everything".
		`CREATE OR REPLACE FUNCTION tracecomb_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE
			p text := '';
		BEGIN
			IF TG_OP = 'DELETE' THEN
				p := json_build_array(OLD.kind, OLD.scope, OLD.key)::text;
			ELSIF TG_OP IN ('INSERT', 'UPDATE') THEN
				p := json_build_array(NEW.kind, NEW.scope, NEW.key)::text;
			END IF;
			IF octet_length(p) >= 8000 THEN
				p := '';
			END IF;
			PERFORM pg_notify('` + Channel + `', p);
			RETURN NULL;
		END $$`,
		`DROP TRIGGER IF EXISTS tracecomb_state_notify ON tracecomb_state_records`,
		`CREATE TRIGGER tracecomb_state_notify AFTER INSERT OR UPDATE OR DELETE ON tracecomb_state_records
			FOR EACH ROW EXECUTE FUNCTION tracecomb_state_notify()`,
		`DROP TRIGGER IF EXISTS tracecomb_state_notify_truncate ON tracecomb_state_records`,
		`CREATE TRIGGER tracecomb_state_notify_truncate AFTER TRUNCATE ON tracecomb_state_records
			FOR EACH STATEMENT EXECUTE FUNCTION tracecomb_state_notify()`,
	},
}

// SchemaVersion is the version of the schema this package writes (the
// number of migrations).
const SchemaVersion = 1

// migrate brings the database's schema to SchemaVersion in one
// transaction, holding an advisory lock so that nodes starting at once
// take turns; a database of a newer schema is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return wrap(ctx, "begin", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	if err := migrateTx(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(ctx, "commit the schema", err)
	}
	return nil
}

func migrateTx(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, schemaLock); err != nil {
		return wrap(ctx, "lock the schema", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tracecomb_state_schema (
		id int PRIMARY KEY CHECK (id = 1), version int NOT NULL)`); err != nil {
		return wrap(ctx, "create the schema table", err)
	}
	var v int
	err := tx.QueryRow(ctx, `SELECT version FROM tracecomb_state_schema WHERE id = 1`).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return wrap(ctx, "read the schema version", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("state: postgres: the database holds state schema version %d, newer than this tracecomb's %d: upgrade tracecomb", v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		for _, q := range migrations[v] {
			if _, err := tx.Exec(ctx, q); err != nil {
				return wrap(ctx, fmt.Sprintf("create the schema (version %d)", v+1), err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tracecomb_state_schema (id, version) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, SchemaVersion); err != nil {
		return wrap(ctx, "write the schema version", err)
	}
	return nil
}
