package clickhouse

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/golden"
)

// TestDDLGolden keeps the statements of the schema in testdata: on 18.16
// (no MergeTree settings), on current servers (the fsync settings
// TestChdbVersion finds on 26.7) and on a replicated cluster.
func TestDDLGolden(t *testing.T) {
	for _, c := range []struct {
		file, settings, cluster string
		replicated              bool
	}{
		{"ddl_18.16.sql", "", "", false},
		{"ddl_current.sql", "fsync_after_insert = 1, fsync_part_directory = 1", "", false},
		{"ddl_replicated.sql", "", "tc", true},
	} {
		golden.Check(t, filepath.Join("testdata", c.file), []byte(strings.Join(ddl(c.settings, c.cluster, "db", c.replicated), ";\n\n")+";\n"))
	}
}
