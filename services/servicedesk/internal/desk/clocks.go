package desk

import "time"

// Clock is one SLA target of a ticket in business time. Elapsed is the
// business time counted up to Since (running) or in total (paused or
// stopped); Due is when the target is reached and Risk when the at-risk
// share of it is, if it keeps running: kept so that the SLA worker finds
// them with an index.
type Clock struct {
	Target  time.Duration
	Elapsed time.Duration
	Since   *time.Time
	Due     *time.Time
	Risk    *time.Time
	Stop    *time.Time
}

// Clock states.
const (
	ClockRunning  = "RUNNING"
	ClockPaused   = "PAUSED"
	ClockMet      = "MET"
	ClockBreached = "BREACHED"
)

// set reports a clock that has a target (a policy covers the ticket).
func (c *Clock) set() bool { return c.Target > 0 }

func (c *Clock) running() bool { return c.Since != nil }

// start starts a paused clock at now; a running or stopped one is left
// alone.
func (c *Clock) start(cal *Calendar, now time.Time) error {
	if !c.set() || c.Stop != nil || c.running() {
		return nil
	}
	c.Since = &now
	return c.schedule(cal, now)
}

// schedule computes Due and Risk from what remains.
func (c *Clock) schedule(cal *Calendar, now time.Time) error {
	at := func(spent time.Duration) (*time.Time, error) {
		if left := spent - c.Elapsed; left > 0 {
			t, err := cal.Add(now, left)
			return &t, err
		}
		return &now, nil
	}
	var err error
	if c.Due, err = at(c.Target); err != nil {
		return err
	}
	c.Risk, err = at(time.Duration(float64(c.Target) * cal.riskShare))
	return err
}

// settle adds the business time since Since to Elapsed.
func (c *Clock) settle(cal *Calendar, now time.Time) {
	if c.running() {
		c.Elapsed += cal.Between(*c.Since, now)
		c.Since = &now
	}
}

// pause stops counting while the ticket waits for the customer.
func (c *Clock) pause(cal *Calendar, now time.Time) {
	c.settle(cal, now)
	c.Since, c.Due, c.Risk = nil, nil, nil
}

// stop ends the clock for good (first response given, ticket resolved).
func (c *Clock) stop(cal *Calendar, now time.Time) {
	if !c.set() || c.Stop != nil {
		return
	}
	c.pause(cal, now)
	c.Stop = &now
}

// reopen restarts a stopped clock (a reopened ticket is unresolved again).
func (c *Clock) reopen(cal *Calendar, now time.Time) error {
	c.Stop = nil
	return c.start(cal, now)
}

// retarget gives the clock a new target, keeping the time already spent.
func (c *Clock) retarget(cal *Calendar, target time.Duration, now time.Time) error {
	wasRunning := c.running()
	c.settle(cal, now)
	c.Target = target
	if !c.set() {
		c.Since, c.Due, c.Risk = nil, nil, nil
		return nil
	}
	if wasRunning && c.Stop == nil {
		return c.schedule(cal, now)
	}
	return nil
}

// elapsedAt is the business time counted at now.
func (c *Clock) elapsedAt(cal *Calendar, now time.Time) time.Duration {
	if c.running() {
		return c.Elapsed + cal.Between(*c.Since, now)
	}
	return c.Elapsed
}

// State is where the clock stands at now; "" without a target.
func (c *Clock) State(now time.Time) string {
	switch {
	case !c.set():
		return ""
	case c.Stop != nil && c.Elapsed <= c.Target:
		return ClockMet
	case c.Stop != nil, c.Elapsed > c.Target:
		return ClockBreached
	case c.running() && c.Due != nil && !now.Before(*c.Due):
		return ClockBreached
	case !c.running():
		return ClockPaused
	}
	return ClockRunning
}

// TargetStatus is a clock as GetSlaStatus reports it.
type TargetStatus struct {
	Clock     Clock
	State     string
	Elapsed   time.Duration
	Remaining time.Duration
	// PredictedBreach is when the target is breached if the clock runs
	// from now on; nil once stopped.
	PredictedBreach *time.Time
}

// status reports the clock at now.
func (c *Clock) status(cal *Calendar, now time.Time) (TargetStatus, error) {
	s := TargetStatus{Clock: *c, State: c.State(now), Elapsed: c.elapsedAt(cal, now)}
	s.Remaining = c.Target - s.Elapsed
	switch {
	case c.Stop != nil || !c.set():
	case c.running():
		s.PredictedBreach = c.Due
	case s.Remaining <= 0:
		s.PredictedBreach = &now
	default:
		at, err := cal.Add(now, s.Remaining)
		if err != nil {
			return s, err
		}
		s.PredictedBreach = &at
	}
	return s, nil
}
