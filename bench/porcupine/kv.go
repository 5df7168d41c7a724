package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/anishathalye/porcupine"
)

// A string key-value store with get, put and append, checked key by key: each key is an
// independent register (P-compositionality), and a missing key reads as "".

const (
	kvGet = iota
	kvPut
	kvAppend
)

type kvInput struct {
	op    int
	key   string
	value string
}

type kvOutput struct {
	value   string
	unknown bool
}

func kvStep(state, input, output interface{}) (bool, interface{}) {
	st := state.(string)
	in := input.(kvInput)
	out := output.(kvOutput)
	switch in.op {
	case kvGet:
		return out.unknown || out.value == st, st
	case kvPut:
		return true, in.value
	default:
		return true, st + in.value
	}
}

// kvPartitionEvents splits a history by key (a return event takes its call's key).
func kvPartitionEvents(events []porcupine.Event) [][]porcupine.Event {
	keyOf := map[int]string{}
	return groupByKey(events, func(e porcupine.Event) string {
		if e.Kind == porcupine.CallEvent {
			keyOf[e.Id] = e.Value.(kvInput).key
		}
		return keyOf[e.Id]
	})
}

var kvModel = porcupine.Model{
	PartitionEvent: kvPartitionEvents,
	Init:           func() interface{} { return "" },
	Step:           kvStep,
	Hash:           func(state interface{}) uint64 { return fnv1a64(state.(string)) },
	DescribeOperation: func(input, output interface{}) string {
		return fmt.Sprintf("%+v -> %+v", input.(kvInput), output.(kvOutput))
	},
}

type kvChecker struct{}

// parse reads one EDN map per line: {:process P, :type T, :f :get|:put|:append, :key K, :value V}.
// `:fail` ops certainly did not happen and are dropped; `:info` and unfinished ops are unknown.
func (kvChecker) parse(path string) (history, error) {
	f, err := os.Open(path)
	if err != nil {
		return history{}, err
	}
	defer f.Close()
	log := newCallLog()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<26)
	for lineNo := 1; scanner.Scan(); lineNo++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		if err := parseKvLine(log, line); err != nil {
			return history{}, fmt.Errorf("%s:%d: %v", path, lineNo, err)
		}
	}
	if err := scanner.Err(); err != nil {
		return history{}, err
	}
	events, n := log.finish(kvOutput{unknown: true})
	return history{model: kvModel, events: events, nOps: n}, nil
}

func parseKvLine(log *callLog, line string) error {
	m, err := parseFlatEDNMap(line)
	if err != nil {
		return err
	}
	proc, kind, fn := m[":process"], m[":type"], m[":f"]
	if proc.kind != "int" {
		return nil // nemesis or other non-client ops
	}
	switch kind.text {
	case ":invoke":
		op, ok := map[string]int{":get": kvGet, ":put": kvPut, ":append": kvAppend}[fn.text]
		if !ok {
			return fmt.Errorf("unknown f %q", fn.text)
		}
		key := m[":key"]
		if key.kind != "string" && key.kind != "int" {
			return fmt.Errorf("bad key")
		}
		log.call(proc.num, kvInput{op: op, key: key.text, value: m[":value"].text})
	case ":ok":
		return completed(log.ret(proc.num, kvOutput{value: m[":value"].text}), proc.num)
	case ":fail":
		return completed(log.drop(proc.num), proc.num)
	case ":info":
		return nil // stays open: returns unknown at the end
	default:
		return fmt.Errorf("unknown type %q", kind.text)
	}
	return nil
}
