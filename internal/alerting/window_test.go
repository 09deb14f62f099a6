package alerting

import (
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
)

// TestInWindow: a trigger of evaluation schedule type window is evaluated
// on its days between its times (UTC), a window ending before it starts
// runs into the next day, and a frequency trigger always is.
func TestInWindow(t *testing.T) {
	win := func(start, end string, days ...string) apiquery.Trigger {
		tr := apiquery.Trigger{EvaluationScheduleType: "window", EvaluationSchedule: &apiquery.EvaluationWindow{}}
		tr.EvaluationSchedule.Window.DaysOfWeek = days
		tr.EvaluationSchedule.Window.StartTime, tr.EvaluationSchedule.Window.EndTime = start, end
		return tr
	}
	monday := func(hh, mm int) time.Time { return time.Date(2026, 12, 7, hh, mm, 0, 0, time.UTC) } // a Monday
	for _, tc := range []struct {
		name string
		tr   apiquery.Trigger
		at   time.Time
		want bool
	}{
		{"frequency", apiquery.Trigger{EvaluationScheduleType: "frequency"}, monday(3, 0), true},
		{"inside", win("09:00", "17:00", "monday"), monday(9, 0), true},
		{"at the end", win("09:00", "17:00", "monday"), monday(17, 0), false},
		{"before", win("09:00", "17:00", "monday"), monday(8, 59), false},
		{"another day", win("09:00", "17:00", "tuesday"), monday(10, 0), false},
		{"overnight, evening", win("22:00", "06:00", "monday"), monday(23, 0), true},
		{"overnight, next morning", win("22:00", "06:00", "sunday"), monday(5, 0), true},
		{"overnight, not the day before", win("22:00", "06:00", "monday"), monday(5, 0), false},
		{"another zone", win("09:00", "17:00", "monday"), monday(10, 0).In(time.FixedZone("X", -12*3600)), true},
	} {
		if got := inWindow(tc.tr, tc.at); got != tc.want {
			t.Errorf("%s: inWindow %v, want %v", tc.name, got, tc.want)
		}
	}
}
