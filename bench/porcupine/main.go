// Command porcupine-bench checks history files with Porcupine, so oversell's checker can be
// timed against it on the same inputs. It prints one JSON line per file.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

// fileResult is one output line. Seconds covers the check only; ParseSeconds the reading and
// parsing of the file, so a caller can compare with or without parsing. The Cpu fields are the
// same spans in CPU time (all threads).
type fileResult struct {
	File            string  `json:"file"`
	Verdict         string  `json:"verdict"`
	Seconds         float64 `json:"seconds"`
	ParseSeconds    float64 `json:"parse_seconds"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	ParseCPUSeconds float64 `json:"parse_cpu_seconds"`
	Ops             int     `json:"ops"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"` // process high-water mark so far (all files up to this one)
	Error           string  `json:"error,omitempty"`
}

// checker parses one file and checks it, returning the op count and Porcupine's verdict.
type checker interface {
	parse(path string) (history, error)
}

// history is a parsed file ready for Porcupine: either an event list (logs without times) or an
// operation list (our JSONL, which has times).
type history struct {
	model  porcupine.Model
	events []porcupine.Event
	ops    []porcupine.Operation
	nOps   int
}

func (h history) check(timeout time.Duration) porcupine.CheckResult {
	if h.events != nil {
		return porcupine.CheckEventsTimeout(h.model, h.events, timeout)
	}
	return porcupine.CheckOperationsTimeout(h.model, h.ops, timeout)
}

func verdictName(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "not_linearizable"
	default:
		return "unknown"
	}
}

func checkerFor(model string) (checker, error) {
	switch model {
	case "etcd":
		return etcdChecker{}, nil
	case "kv":
		return kvChecker{}, nil
	case "stock":
		return stockChecker{}, nil
	}
	return nil, fmt.Errorf("unknown model %q (want etcd, kv or stock)", model)
}

func runFile(c checker, path string, timeout time.Duration) fileResult {
	res := fileResult{File: path}
	parseStart, parseCPU := time.Now(), cpuTime()
	h, err := c.parse(path)
	res.ParseSeconds = time.Since(parseStart).Seconds()
	res.ParseCPUSeconds = (cpuTime() - parseCPU).Seconds()
	if err != nil {
		res.Verdict = "error"
		res.Error = err.Error()
		return res
	}
	res.Ops = h.nOps
	checkStart, checkCPU := time.Now(), cpuTime()
	verdict := h.check(timeout)
	res.Seconds = time.Since(checkStart).Seconds()
	res.CPUSeconds = (cpuTime() - checkCPU).Seconds()
	res.Verdict = verdictName(verdict)
	return res
}

func main() {
	model := flag.String("model", "", "etcd | kv | stock")
	timeout := flag.Duration("timeout", 60*time.Second, "per-file time limit (0 = none); past it the verdict is unknown")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: porcupine-bench -model etcd|kv|stock [-timeout 60s] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	c, err := checkerFor(*model)
	if err != nil || flag.NArg() == 0 {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		flag.Usage()
		os.Exit(254)
	}
	out := json.NewEncoder(os.Stdout)
	failed := false
	for _, path := range flag.Args() {
		res := runFile(c, path, *timeout)
		res.PeakRSSBytes = peakRSSBytes()
		if res.Verdict == "error" {
			failed = true
		}
		if err := out.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(254)
		}
	}
	if failed {
		os.Exit(254)
	}
}
