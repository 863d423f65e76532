// Package textdist measures how far apart two names are, so configuration
// errors can suggest the name a user probably meant. It is shared by the
// configuration loader (unknown keys) and the preset catalogue (unknown
// provider types), which would otherwise each carry a copy.
package textdist

// Distance is the Levenshtein edit distance between a and b, counted in
// bytes (configuration names are ASCII).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
