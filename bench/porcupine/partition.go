package main

import "sort"

// groupByKey splits xs by key, groups in key order so runs are reproducible, each group keeping
// the order of xs (the models' Partition functions).
func groupByKey[T any](xs []T, key func(T) string) [][]T {
	groups := map[string][]T{}
	for _, x := range xs {
		k := key(x)
		groups[k] = append(groups[k], x)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, groups[k])
	}
	return out
}
