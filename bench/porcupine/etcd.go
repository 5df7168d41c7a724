package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The etcd register from Jepsen's etcd test: read, write, compare-and-set on one key that
// starts absent (nil).

const (
	etcdRead = iota
	etcdWrite
	etcdCas
)

type etcdInput struct {
	op       int
	arg      int // write value, or the cas expected value
	casValue int // the cas new value
}

type etcdOutput struct {
	casOK   bool
	present bool // read saw a value (false: nil)
	value   int
	unknown bool // crashed or timed out: any outcome is acceptable
}

// etcdState is the register: absent (nil) or holding a value. A struct, so == compares it.
type etcdState struct {
	present bool
	value   int
}

func etcdStep(state, input, output interface{}) (bool, interface{}) {
	st := state.(etcdState)
	in := input.(etcdInput)
	out := output.(etcdOutput)
	switch in.op {
	case etcdRead:
		return out.unknown || out.present == st.present && (!st.present || out.value == st.value), st
	case etcdWrite:
		return true, etcdState{present: true, value: in.arg}
	default:
		matches := st.present && st.value == in.arg
		next := st
		if matches {
			next = etcdState{present: true, value: in.casValue}
		}
		return out.unknown || out.casOK == matches, next
	}
}

var etcdModel = porcupine.Model{
	Init: func() interface{} { return etcdState{} },
	Step: etcdStep,
	Hash: func(state interface{}) uint64 {
		st := state.(etcdState)
		if !st.present {
			return 0
		}
		return mix64(uint64(st.value)) | 1
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(etcdInput), output.(etcdOutput)
		return fmt.Sprintf("%+v -> %+v", in, out)
	},
}

type etcdChecker struct{}

// jepsenLogPrefix starts every op line of Jepsen's etcd logs: `INFO  jepsen.util - P\t:type\t:f\tvalue`.
const jepsenLogPrefix = "jepsen.util - "

// parse reads a Jepsen etcd log the way Porcupine's own etcd test interprets it: `:fail :cas`
// is a cas whose comparison failed (the register must not have held the expected value),
// `:fail :read :timed-out` and `:info` ops have unknown outcomes, and ops left open at the end
// return, unknown, after everything else.
func (etcdChecker) parse(path string) (history, error) {
	f, err := os.Open(path)
	if err != nil {
		return history{}, err
	}
	defer f.Close()
	log := newCallLog()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<26)
	for lineNo := 1; scanner.Scan(); lineNo++ {
		line := scanner.Text()
		at := strings.Index(line, jepsenLogPrefix)
		if !strings.HasPrefix(line, "INFO") || at < 0 {
			continue
		}
		if err := parseEtcdLine(log, line[at+len(jepsenLogPrefix):]); err != nil {
			return history{}, fmt.Errorf("%s:%d: %v", path, lineNo, err)
		}
	}
	if err := scanner.Err(); err != nil {
		return history{}, err
	}
	events, n := log.finish(etcdOutput{unknown: true})
	return history{model: etcdModel, events: events, nOps: n}, nil
}

func parseEtcdLine(log *callLog, rest string) error {
	fields := strings.Split(rest, "\t")
	if len(fields) != 4 {
		return fmt.Errorf("want 4 tab-separated fields after %q, got %d", jepsenLogPrefix, len(fields))
	}
	if fields[0] == ":nemesis" || fields[0] == "nemesis" {
		return nil
	}
	process, err := strconv.Atoi(strings.TrimSpace(fields[0]))
	if err != nil {
		return fmt.Errorf("bad process %q", fields[0])
	}
	kind, fn, value := fields[1], fields[2], strings.TrimSpace(fields[3])
	switch kind {
	case ":invoke":
		in, err := parseEtcdInput(fn, value)
		if err != nil {
			return err
		}
		log.call(process, in)
		return nil
	case ":ok":
		out, err := parseEtcdOK(fn, value)
		if err != nil {
			return err
		}
		return completed(log.ret(process, out), process)
	case ":fail":
		switch fn {
		case ":cas":
			return completed(log.ret(process, etcdOutput{casOK: false}), process)
		case ":read":
			return completed(log.ret(process, etcdOutput{unknown: true}), process)
		}
		return completed(log.drop(process), process)
	case ":info":
		return nil // stays open: returns unknown at the end
	}
	return fmt.Errorf("unknown op type %q", kind)
}

func completed(matched bool, process int) error {
	if !matched {
		return fmt.Errorf("completion for process %d with no open invocation", process)
	}
	return nil
}

func parseEtcdInput(fn, value string) (etcdInput, error) {
	switch fn {
	case ":read":
		return etcdInput{op: etcdRead}, nil
	case ":write":
		v, err := strconv.Atoi(value)
		if err != nil {
			return etcdInput{}, fmt.Errorf("bad write value %q", value)
		}
		return etcdInput{op: etcdWrite, arg: v}, nil
	case ":cas":
		from, to, err := parseCasPair(value)
		if err != nil {
			return etcdInput{}, err
		}
		return etcdInput{op: etcdCas, arg: from, casValue: to}, nil
	}
	return etcdInput{}, fmt.Errorf("unknown f %q", fn)
}

func parseEtcdOK(fn, value string) (etcdOutput, error) {
	switch fn {
	case ":read":
		if value == "nil" {
			return etcdOutput{}, nil
		}
		v, err := strconv.Atoi(value)
		if err != nil {
			return etcdOutput{}, fmt.Errorf("bad read value %q", value)
		}
		return etcdOutput{present: true, value: v}, nil
	case ":write":
		return etcdOutput{}, nil
	case ":cas":
		return etcdOutput{casOK: true}, nil
	}
	return etcdOutput{}, fmt.Errorf("unknown f %q", fn)
}

// parseCasPair reads `[from to]`.
func parseCasPair(value string) (int, int, error) {
	parts := strings.Fields(strings.Trim(value, "[]"))
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("bad cas value %q", value)
	}
	from, err1 := strconv.Atoi(parts[0])
	to, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad cas value %q", value)
	}
	return from, to, nil
}
