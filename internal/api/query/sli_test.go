package query

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/query"
)

// TestMaybeBoolean: an SLI's expression must be able to yield a boolean.
func TestMaybeBoolean(t *testing.T) {
	for expr, want := range map[string]bool{
		`LT($duration_ms, 300)`:            true,
		`$duration_ms < 300`:               true,
		`REG_MATCH($name, "^GET ")`:        true,
		`AND(EXISTS($error), NOT($error))`: true,
		`$error`:                           true,
		`true`:                             true,
		`IF(EXISTS($error), false, true)`:  true,
		`IF($a, true, $b, false, true)`:    true,
		`SWITCH($route, "/health", true, "/login", false)`: true,
		`SWITCH($route, "/health", true, false)`:           true,
		`COALESCE($ok, true)`:                              true,
		`DIV($duration_ms, 100)`:                           false,
		`"fast"`:                                           false,
		`IF(LT($duration_ms, 300), "fast", "slow")`:        false,
		`SWITCH($route, "/health", "ok", "other")`:         false,
		`SWITCH($route, "/health", true, "other")`:         false,
		`CONCAT($a, $b)`:                                   false,
	} {
		x, err := query.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got := maybeBoolean(x); got != want {
			t.Errorf("maybeBoolean(%s) = %v, want %v", expr, got, want)
		}
	}
}
