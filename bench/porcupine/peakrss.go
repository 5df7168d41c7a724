package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// peakRSSBytes is this process's resident-memory high-water mark (VmHWM). Unlike the
// getrusage/wait4 maximum it starts afresh at exec, so it does not inherit the RSS of the
// process that started this one. 0 where /proc is not available.
func peakRSSBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "VmHWM:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				kb, err := strconv.ParseInt(fields[1], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}
