package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/anishathalye/porcupine"
)

// The stock of one item (oversell's sequential spec): buy(qty) sells when stock >= qty and
// then decrements, else answers sold_out; read returns the stock; restock(qty) adds; reset sets.
// Items are independent, so the history is checked item by item.

const (
	stockSet = iota
	stockBuy
	stockRead
	stockRestock
)

type stockInput struct {
	op   int
	item string
	qty  int
}

type stockOutput struct {
	sold    bool // buy
	stock   int  // read
	unknown bool // crashed or timed out: took effect at some point after the call, or never
}

func stockStep(state, input, output interface{}) (bool, interface{}) {
	st := state.(int)
	in := input.(stockInput)
	out := output.(stockOutput)
	switch in.op {
	case stockSet:
		return true, in.qty
	case stockRestock:
		return true, st + in.qty
	case stockRead:
		return out.unknown || out.stock == st, st
	default:
		canSell := st >= in.qty
		next := st
		if canSell {
			next = st - in.qty
		}
		// An unknown buy that never took effect is the same as one linearized after every
		// other op, since its return is placed at the end of the history.
		return out.unknown || out.sold == canSell, next
	}
}

func stockPartition(ops []porcupine.Operation) [][]porcupine.Operation {
	return groupByKey(ops, func(op porcupine.Operation) string { return op.Input.(stockInput).item })
}

var stockModel = porcupine.Model{
	Partition: stockPartition,
	Init:      func() interface{} { return 0 },
	Step:      stockStep,
	Hash:      func(state interface{}) uint64 { return mix64(uint64(state.(int))) },
	DescribeOperation: func(input, output interface{}) string {
		return fmt.Sprintf("%+v -> %+v", input.(stockInput), output.(stockOutput))
	},
	DescribeState: func(state interface{}) string { return fmt.Sprintf("stock=%d", state.(int)) },
}

// jsonlEvent is one line of oversell's history format; Value is decoded once `f` is known.
type jsonlEvent struct {
	Time    int64           `json:"time"`
	Type    string          `json:"type"`
	Process json.RawMessage `json:"process"`
	F       string          `json:"f"`
	Value   json.RawMessage `json:"value"`
}

type stockValue struct {
	Item    string         `json:"item"`
	Qty     int            `json:"qty"`
	Outcome string         `json:"outcome"`
	Stock   *int           `json:"stock"`
	Items   map[string]int `json:"items"`
}

// openStockOp is an invocation waiting for its completion.
type openStockOp struct {
	inputs []stockInput // several for a reset of several items
	call   int64
}

type stockChecker struct{}

// parse reads oversell JSONL. `fail` ops and reads without an answer are dropped (they cannot
// constrain anything); `info` and unfinished buys, restocks and resets return, unknown, after
// every other event. Final `orders` reads and nemesis ops are not part of the model.
func (stockChecker) parse(path string) (history, error) {
	f, err := os.Open(path)
	if err != nil {
		return history{}, err
	}
	defer f.Close()
	var ops []porcupine.Operation
	var unknown []openStockOp
	open := map[int]openStockOp{}
	var lastTime int64
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<30)
	for lineNo := 1; scanner.Scan(); lineNo++ {
		line := scanner.Bytes()
		if len(line) == 0 {
			continue
		}
		var ev jsonlEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return history{}, fmt.Errorf("%s:%d: %v", path, lineNo, err)
		}
		if ev.Time > lastTime {
			lastTime = ev.Time
		}
		var process int
		if err := json.Unmarshal(ev.Process, &process); err != nil {
			continue // "nemesis"
		}
		if ev.F == "orders" {
			continue
		}
		var v stockValue
		if len(ev.Value) > 0 {
			if err := json.Unmarshal(ev.Value, &v); err != nil {
				return history{}, fmt.Errorf("%s:%d: value: %v", path, lineNo, err)
			}
		}
		fail := func(msg string, args ...interface{}) (history, error) {
			return history{}, fmt.Errorf("%s:%d: %s", path, lineNo, fmt.Sprintf(msg, args...))
		}
		if ev.Type == "invoke" {
			if _, busy := open[process]; busy {
				return fail("process %d invoked while its previous op is open", process)
			}
			inputs, err := stockInputs(ev.F, v)
			if err != nil {
				return fail("%v", err)
			}
			open[process] = openStockOp{inputs: inputs, call: ev.Time}
			continue
		}
		pending, ok := open[process]
		if !ok {
			return fail("%s completion for process %d with no open invocation", ev.Type, process)
		}
		delete(open, process)
		switch ev.Type {
		case "ok":
			out, err := stockOutputOf(ev.F, v)
			if err != nil {
				return fail("%v", err)
			}
			for _, in := range pending.inputs {
				ops = append(ops, porcupine.Operation{ClientId: process, Input: in, Call: pending.call, Output: out, Return: ev.Time})
			}
		case "fail":
		case "info":
			unknown = append(unknown, pending)
		default:
			return fail("unknown type %q", ev.Type)
		}
	}
	if err := scanner.Err(); err != nil {
		return history{}, err
	}
	for _, pending := range open {
		unknown = append(unknown, pending)
	}
	end := lastTime + 1
	for _, pending := range unknown {
		for _, in := range pending.inputs {
			if in.op == stockRead {
				continue
			}
			ops = append(ops, porcupine.Operation{Input: in, Call: pending.call, Output: stockOutput{unknown: true}, Return: end})
		}
	}
	return history{model: stockModel, ops: ops, nOps: len(ops)}, nil
}

func stockInputs(f string, v stockValue) ([]stockInput, error) {
	switch f {
	case "reset":
		items := make([]string, 0, len(v.Items))
		for item := range v.Items {
			items = append(items, item)
		}
		sort.Strings(items)
		inputs := make([]stockInput, 0, len(items))
		for _, item := range items {
			inputs = append(inputs, stockInput{op: stockSet, item: item, qty: v.Items[item]})
		}
		return inputs, nil
	case "buy":
		return []stockInput{{op: stockBuy, item: v.Item, qty: v.Qty}}, nil
	case "read":
		return []stockInput{{op: stockRead, item: v.Item}}, nil
	case "restock":
		return []stockInput{{op: stockRestock, item: v.Item, qty: v.Qty}}, nil
	}
	return nil, fmt.Errorf("unknown f %q", f)
}

func stockOutputOf(f string, v stockValue) (stockOutput, error) {
	switch f {
	case "buy":
		switch v.Outcome {
		case "sold":
			return stockOutput{sold: true}, nil
		case "sold_out":
			return stockOutput{sold: false}, nil
		}
		return stockOutput{}, fmt.Errorf("buy outcome %q is neither sold nor sold_out", v.Outcome)
	case "read":
		if v.Stock == nil {
			return stockOutput{}, fmt.Errorf("read without stock")
		}
		return stockOutput{stock: *v.Stock}, nil
	}
	return stockOutput{}, nil
}
