package audit

import (
	"slices"
	"strings"
	"time"
)

// ReadWindow is how long after a recorded personal-data read the same
// caller's repeats of it are summed up rather than recorded one by one
// (the rule is in the package comment). It also bounds how late the
// summary is written, and so what a crash can lose of the repeat counts:
// the first read of every window is written like any other entry.
const ReadWindow = time.Minute

// maxReadWindows bounds the memory the open windows take; a read that
// finds them all taken is recorded on its own.
const maxReadWindows = 100_000

// readKey is what a repeat must share with the read that opened the
// window: everything an entry says but its time and request ids.
type readKey struct {
	method, actor, roles, resource, result, client, peer string
}

func keyOf(e Entry) readKey {
	return readKey{
		method: e.Method, actor: e.Actor, roles: strings.Join(e.Roles, ","), resource: e.Resource,
		result: e.Result, client: e.ClientAddress, peer: e.Peer,
	}
}

// readWindow follows the repeats of one recorded read.
type readWindow struct {
	opened time.Time // the recorded read's time
	calls  int       // repeats since
	first  time.Time // the first repeat's time
	last   Entry     // the latest repeat
}

// summary is the entry that stands for the window's repeats.
func (w *readWindow) summary() Entry {
	e := w.last
	e.Calls, e.FirstCallTime = w.calls, w.first
	return e
}

// coalesces reports whether e is a read that windows apply to.
func coalesces(e Entry) bool {
	return e.Kind == KindPersonalDataRead && e.Resource != ""
}

// absorb counts e into its open window and reports true, or opens a window
// for it and reports false (e is then recorded on its own). A window of
// the same key that has ended is closed first: its summary, if it has
// one, is returned to be recorded before e. Callers hold r.mu.
func (r *Recorder) absorb(e Entry) (absorbed bool, closed []Entry) {
	if !coalesces(e) {
		return false, nil
	}
	k := keyOf(e)
	if w, ok := r.windows[k]; ok {
		if e.Time.Sub(w.opened) < ReadWindow {
			if w.calls == 0 {
				w.first = e.Time
			}
			w.calls++
			w.last = e
			return true, nil
		}
		if w.calls > 0 {
			closed = append(closed, w.summary())
		}
		delete(r.windows, k)
	}
	if len(r.windows) < maxReadWindows {
		r.windows[k] = &readWindow{opened: e.Time}
	}
	return false, closed
}

// endWindows queues the summaries of the windows that ended by now (of
// every window when now is zero).
func (r *Recorder) endWindows(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.closeWindows(now) {
		r.enqueue(e)
	}
}

// closeWindows ends the windows opened ReadWindow or more before now (all
// of them when now is zero) and returns the summaries of those with
// repeats, oldest last read first. Callers hold r.mu.
func (r *Recorder) closeWindows(now time.Time) []Entry {
	var out []Entry
	for k, w := range r.windows {
		if !now.IsZero() && now.Sub(w.opened) < ReadWindow {
			continue
		}
		if w.calls > 0 {
			out = append(out, w.summary())
		}
		delete(r.windows, k)
	}
	slices.SortFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out
}
