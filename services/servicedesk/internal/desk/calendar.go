package desk

import (
	"fmt"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Block is one stretch of working time in a day, in minutes after local
// midnight: [Start, End). A working day with a lunch break is two blocks.
type Block struct {
	Start, End int
}

// Calendar is the business time of an SLA policy: working blocks per
// weekday in a time zone, holidays (no work although a weekday), and
// make-up working days (work although a weekend day, as Chinese holiday
// calendars move working days), which follow Monday's blocks.
type Calendar struct {
	TimeZone string
	// Week holds the blocks of each time.Weekday (Sunday = 0).
	Week [7][]Block
	// Holidays and MakeUpDays are local dates, "2006-01-02".
	Holidays   []string
	MakeUpDays []string

	loc      *time.Location
	holidays map[string]bool
	makeUps  map[string]bool
	// riskShare is the share of a target after which a running clock is
	// at risk (Config.AtRisk); set by the service, not stored.
	riskShare float64
}

const (
	dateLayout  = "2006-01-02"
	minutesADay = 24 * 60
	// searchDays bounds a due-time search: a target that finds no working
	// time within ten years is a broken calendar, not a long wait.
	searchDays = 3660
)

// Check validates the calendar, naming the field at fault (under prefix),
// and prepares it for arithmetic.
func (c *Calendar) Check(prefix string) error {
	var v errs.Violations
	loc, err := time.LoadLocation(c.TimeZone)
	if c.TimeZone == "" || err != nil {
		v.Add(prefix+".time_zone", "must be an IANA time zone such as Asia/Shanghai, got %q", c.TimeZone)
	}
	working := false
	for day, blocks := range c.Week {
		field := fmt.Sprintf("%s.working_hours[%s]", prefix, time.Weekday(day))
		sorted := slices.Clone(blocks)
		slices.SortFunc(sorted, func(a, b Block) int { return a.Start - b.Start })
		for n, b := range sorted {
			switch {
			case b.Start < 0 || b.End > minutesADay:
				v.Add(field, "block %s lies outside the day", b)
			case b.Start >= b.End:
				v.Add(field, "block %s ends before it starts", b)
			case n > 0 && b.Start < sorted[n-1].End:
				v.Add(field, "blocks %s and %s overlap", sorted[n-1], b)
			}
		}
		c.Week[day] = sorted
		working = working || len(sorted) > 0
	}
	if !working {
		v.Add(prefix+".working_hours", "must have working time on at least one weekday")
	}
	if len(c.MakeUpDays) > 0 && len(c.Week[time.Monday]) == 0 {
		v.Add(prefix+".make_up_days", "make-up days work Monday's hours, and Monday has none")
	}
	c.holidays, c.makeUps = map[string]bool{}, map[string]bool{}
	for field, dates := range map[string][]string{"holidays": c.Holidays, "make_up_days": c.MakeUpDays} {
		for n, d := range dates {
			if _, err := time.Parse(dateLayout, d); err != nil {
				v.Add(fmt.Sprintf("%s.%s[%d]", prefix, field, n), "must be a date YYYY-MM-DD, got %q", d)
			}
		}
	}
	for _, d := range c.Holidays {
		c.holidays[d] = true
	}
	for n, d := range c.MakeUpDays {
		if c.holidays[d] {
			v.Add(fmt.Sprintf("%s.make_up_days[%d]", prefix, n), "%s is also a holiday", d)
		}
		c.makeUps[d] = true
	}
	c.loc = loc
	return v.Err()
}

func (b Block) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", b.Start/60, b.Start%60, b.End/60, b.End%60)
}

// blocksOn returns the working blocks of a local date.
func (c *Calendar) blocksOn(y int, m time.Month, d int) []Block {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	key := date.Format(dateLayout)
	switch {
	case c.holidays[key]:
		return nil
	case c.makeUps[key]:
		return c.Week[time.Monday]
	}
	return c.Week[date.Weekday()]
}

// at is minute m of a local date as an instant; time.Date normalises
// minutes that a DST change skips.
func (c *Calendar) at(y int, m time.Month, d, minute int) time.Time {
	return time.Date(y, m, d, minute/60, minute%60, 0, 0, c.loc)
}

// Add returns the instant at which d of business time has passed after
// from. A zero d inside working time is from itself; outside, it is the
// next opening.
func (c *Calendar) Add(from time.Time, d time.Duration) (time.Time, error) {
	local := from.In(c.loc)
	y, m, day := local.Date()
	for range searchDays {
		for _, b := range c.blocksOn(y, m, day) {
			start, end := c.at(y, m, day, b.Start), c.at(y, m, day, b.End)
			if !end.After(from) {
				continue
			}
			if start.Before(from) {
				start = from
			}
			avail := end.Sub(start)
			if d <= avail {
				return start.Add(d), nil
			}
			d -= avail
		}
		y, m, day = time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC).Date()
	}
	return time.Time{}, errs.FailedPrecondition("CALENDAR_HAS_NO_TIME", "the business calendar has no working time within ten years of %s", from.Format(time.RFC3339))
}

// Between returns the business time in [from, to); zero if to is not after
// from.
func (c *Calendar) Between(from, to time.Time) time.Duration {
	var sum time.Duration
	local := from.In(c.loc)
	y, m, day := local.Date()
	for range searchDays {
		if !c.at(y, m, day, 0).Before(to) {
			break
		}
		for _, b := range c.blocksOn(y, m, day) {
			start, end := c.at(y, m, day, b.Start), c.at(y, m, day, b.End)
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				sum += end.Sub(start)
			}
		}
		y, m, day = time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC).Date()
	}
	return sum
}
