package main

import "github.com/anishathalye/porcupine"

// callLog builds a Porcupine event list from logs that have an order but no times, pairing
// completions with invocations by process. Ops still open at the end (crashed, `:info`) get an
// unknown return after every other event: they may take effect at any later point, or never.
type callLog struct {
	events  []porcupine.Event
	open    map[int]int // process -> id of its open op
	crashed []int       // ids of ops whose process was reused while they were open
	nextID  int
}

func newCallLog() *callLog {
	return &callLog{open: map[int]int{}}
}

func (l *callLog) call(process int, input interface{}) {
	if id, busy := l.open[process]; busy {
		l.crashed = append(l.crashed, id)
	}
	l.events = append(l.events, porcupine.Event{ClientId: process, Kind: porcupine.CallEvent, Value: input, Id: l.nextID})
	l.open[process] = l.nextID
	l.nextID++
}

// ret completes the process's open op; it reports false when the process has none.
func (l *callLog) ret(process int, output interface{}) bool {
	id, busy := l.open[process]
	if !busy {
		return false
	}
	delete(l.open, process)
	l.events = append(l.events, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: output, Id: id})
	return true
}

// drop removes the process's open op entirely: for a completion that says it certainly did not
// happen, where the model has nothing to check.
func (l *callLog) drop(process int) bool {
	id, busy := l.open[process]
	if !busy {
		return false
	}
	delete(l.open, process)
	for i := len(l.events) - 1; i >= 0; i-- {
		if l.events[i].Kind == porcupine.CallEvent && l.events[i].Id == id {
			l.events = append(l.events[:i], l.events[i+1:]...)
			break
		}
	}
	return true
}

// finish closes every op still open with `unknown` and returns the events and the op count.
func (l *callLog) finish(unknown interface{}) ([]porcupine.Event, int) {
	for _, id := range l.crashed {
		l.events = append(l.events, porcupine.Event{Kind: porcupine.ReturnEvent, Value: unknown, Id: id})
	}
	for process, id := range l.open {
		l.events = append(l.events, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: unknown, Id: id})
	}
	n := 0
	for _, e := range l.events {
		if e.Kind == porcupine.CallEvent {
			n++
		}
	}
	return l.events, n
}
