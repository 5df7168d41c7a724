package main

// State hashes for Model.Hash. Porcupine's cache keys a search state by the set of linearized
// ops, XORed with Model.Hash(state) when there is one; without it every state reached with the
// same set of ops lands in one bucket and is compared one by one (for the kv model, long
// appended strings). Porcupine's own test models define Hash, so ours do too.

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv1a64 is FNV-1a over the bytes of s, without converting s to a []byte.
func fnv1a64(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// mix64 spreads the bits of an integer state (the splitmix64 finaliser), so that nearby
// values do not give nearby keys.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
