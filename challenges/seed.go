package challenges

import (
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
)

var wordRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// defaultWords are short, unambiguous words for kind: word.
var defaultWords = []string{
	"amber", "birch", "cobalt", "delta", "ember", "falcon", "garnet", "harbor",
	"indigo", "juniper", "kestrel", "lumen", "maple", "nimbus", "onyx", "pepper",
	"quartz", "raven", "sierra", "tundra", "umber", "violet", "willow", "xenon",
	"yarrow", "zephyr",
}

func (v SeedVar) bounds() (lo, hi int) {
	lo, hi = v.Min, v.Max
	switch v.Kind {
	case SeedPort:
		if lo == 0 {
			lo = 20000
		}
		if hi == 0 {
			hi = 29999
		}
	case SeedInt:
		if hi == 0 && lo == 0 {
			hi = 100
		}
	}
	return lo, hi
}

// Seeded derives the seed variables for one attempt. It is deterministic:
// the same seed gives the same values on every machine and Go version
// (PCG with fixed inputs). Each variable draws from its own stream keyed by
// its name, so adding a variable does not change the others; ports are
// distinct from each other.
func (s *Spec) Seeded(seed int64) map[string]string {
	out := map[string]string{}
	if s.Seed == nil {
		return out
	}
	usedPorts := map[int]bool{}
	for _, v := range s.Seed.Vars {
		h := fnv.New64a()
		h.Write([]byte(v.Name))
		r := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
		lo, hi := v.bounds()
		switch v.Kind {
		case SeedPort:
			span := hi - lo + 1
			if span <= 0 {
				continue
			}
			p := lo + r.IntN(span)
			for i := 0; usedPorts[p] && i < span; i++ {
				p = lo + (p-lo+1)%span
			}
			usedPorts[p] = true
			out[v.Name] = strconv.Itoa(p)
		case SeedInt:
			if hi < lo {
				continue
			}
			out[v.Name] = strconv.Itoa(lo + r.IntN(hi-lo+1))
		case SeedWord:
			words := v.Words
			if len(words) == 0 {
				words = defaultWords
			}
			out[v.Name] = words[r.IntN(len(words))]
		}
	}
	return out
}
