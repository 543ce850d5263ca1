package desk

import (
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// chinaOffice is a Shanghai office: 09:00-12:00 and 13:30-18:00 on
// weekdays (7.5 h a day), the National Day week 2026-10-01..07 off, and two
// weekend days worked instead.
func chinaOffice(t *testing.T) *Calendar {
	t.Helper()
	day := []Block{{9 * 60, 12 * 60}, {13*60 + 30, 18 * 60}}
	c := &Calendar{
		TimeZone:   "Asia/Shanghai",
		Holidays:   []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"},
		MakeUpDays: []string{"2026-09-27", "2026-10-10"},
	}
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday} {
		c.Week[d] = day
	}
	if err := c.Check("calendar"); err != nil {
		t.Fatal(err)
	}
	return c
}

// nightShift works 01:00-04:00 every day in New York, across both DST
// changes of 2026 (March 8: 02:00 → 03:00; November 1: 02:00 → 01:00).
func nightShift(t *testing.T) *Calendar {
	t.Helper()
	c := &Calendar{TimeZone: "America/New_York"}
	for d := range c.Week {
		c.Week[d] = []Block{{60, 240}}
	}
	if err := c.Check("calendar"); err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t *testing.T, c *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCalendarAdd(t *testing.T) {
	cn, ny := chinaOffice(t), nightShift(t)
	for _, tc := range []struct {
		name     string
		cal      *Calendar
		from     string
		add      time.Duration
		want     string
		wantZone string // for DST cases: the offset name expected
	}{
		{"inside a block", cn, "2026-11-23 10:00", time.Hour, "2026-11-23 11:00", ""},
		{"across the lunch break", cn, "2026-11-23 11:30", time.Hour, "2026-11-23 14:00", ""},
		{"starts at lunch", cn, "2026-11-23 12:45", 30 * time.Minute, "2026-11-23 14:00", ""},
		{"before opening", cn, "2026-11-23 07:00", 30 * time.Minute, "2026-11-23 09:30", ""},
		{"after closing", cn, "2026-11-23 19:00", time.Hour, "2026-11-24 10:00", ""},
		{"exactly a day", cn, "2026-11-23 09:00", 7*time.Hour + 30*time.Minute, "2026-11-23 18:00", ""},
		{"across the weekend", cn, "2026-11-27 17:00", 2 * time.Hour, "2026-11-30 10:00", ""},
		{"zero on a Saturday waits for Monday", cn, "2026-11-28 10:00", 0, "2026-11-30 09:00", ""},
		{"target spanning the holiday week", cn, "2026-09-30 17:00", 8 * time.Hour, "2026-10-08 17:30", ""},
		{"holiday start", cn, "2026-10-03 10:00", time.Hour, "2026-10-08 10:00", ""},
		{"make-up Saturday works", cn, "2026-10-09 17:00", 2 * time.Hour, "2026-10-10 10:00", ""},
		{"make-up Sunday works", cn, "2026-09-26 12:00", time.Hour, "2026-09-27 10:00", ""},
		{"a week of work", cn, "2026-11-23 09:00", 5 * (7*time.Hour + 30*time.Minute), "2026-11-27 18:00", ""},
		{"spring forward: the short night has 2 h", ny, "2026-03-08 01:00", 2*time.Hour + 30*time.Minute, "2026-03-09 01:30", "EDT"},
		{"fall back: the long night has 4 h", ny, "2026-11-01 01:00", 3*time.Hour + 30*time.Minute, "2026-11-01 03:30", "EST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cal.Add(at(t, tc.cal, tc.from), tc.add)
			if err != nil {
				t.Fatal(err)
			}
			local := got.In(tc.cal.loc)
			if local.Format("2006-01-02 15:04") != tc.want {
				t.Errorf("Add(%s, %s) = %s, want %s", tc.from, tc.add, local.Format("2006-01-02 15:04 MST"), tc.want)
			}
			if zone, _ := local.Zone(); tc.wantZone != "" && zone != tc.wantZone {
				t.Errorf("zone %s, want %s", zone, tc.wantZone)
			}
			// Between is Add's inverse over working time.
			if back := tc.cal.Between(at(t, tc.cal, tc.from), got); back != tc.add {
				t.Errorf("Between(from, Add(from, %s)) = %s", tc.add, back)
			}
		})
	}
}

func TestCalendarBetween(t *testing.T) {
	cn := chinaOffice(t)
	for _, tc := range []struct {
		name     string
		from, to string
		want     time.Duration
	}{
		{"paused over a weekend", "2026-11-27 17:00", "2026-11-30 10:00", 2 * time.Hour},
		{"paused over the holiday week", "2026-09-30 09:00", "2026-10-09 09:00", 2 * 7.5 * time.Hour},
		{"lunch only", "2026-11-23 12:00", "2026-11-23 13:30", 0},
		{"backwards", "2026-11-24 10:00", "2026-11-23 10:00", 0},
		{"within a block", "2026-11-23 09:15", "2026-11-23 09:45", 30 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cn.Between(at(t, cn, tc.from), at(t, cn, tc.to)); got != tc.want {
				t.Errorf("Between = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCalendarCheckRejects(t *testing.T) {
	weekday := func(blocks ...Block) [7][]Block {
		var w [7][]Block
		w[time.Monday] = blocks
		return w
	}
	for name, tc := range map[string]struct {
		cal   Calendar
		field string
	}{
		"unknown zone":      {Calendar{TimeZone: "Mars/Olympus", Week: weekday(Block{540, 1080})}, "c.time_zone"},
		"no zone":           {Calendar{Week: weekday(Block{540, 1080})}, "c.time_zone"},
		"inverted block":    {Calendar{TimeZone: "UTC", Week: weekday(Block{1080, 540})}, "c.working_hours[Monday]"},
		"overlapping":       {Calendar{TimeZone: "UTC", Week: weekday(Block{540, 780}, Block{720, 1080})}, "c.working_hours[Monday]"},
		"past midnight":     {Calendar{TimeZone: "UTC", Week: weekday(Block{1380, 1500})}, "c.working_hours[Monday]"},
		"never working":     {Calendar{TimeZone: "UTC"}, "c.working_hours"},
		"bad holiday":       {Calendar{TimeZone: "UTC", Week: weekday(Block{540, 1080}), Holidays: []string{"10/01/2026"}}, "c.holidays[0]"},
		"make-up holiday":   {Calendar{TimeZone: "UTC", Week: weekday(Block{540, 1080}), Holidays: []string{"2026-10-10"}, MakeUpDays: []string{"2026-10-10"}}, "c.make_up_days[0]"},
		"make-up no Monday": {Calendar{TimeZone: "UTC", Week: [7][]Block{time.Tuesday: {{540, 1080}}}, MakeUpDays: []string{"2026-10-10"}}, "c.make_up_days"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cal.Check("c")
			if !hasViolation(err, tc.field) {
				t.Errorf("Check = %v, want a violation of %s", err, tc.field)
			}
		})
	}
}

func hasViolation(err error, field string) bool {
	e, ok := errs.As(err)
	if !ok {
		return false
	}
	for _, v := range e.Violations {
		if v.Field == field {
			return true
		}
	}
	return false
}
