package challenges

import (
	"strconv"
	"testing"
)

func TestSeeded(t *testing.T) {
	t.Parallel()
	s := &Spec{Seed: &Seed{Vars: []SeedVar{
		{Name: "APP_PORT", Kind: SeedPort},
		{Name: "ADMIN_PORT", Kind: SeedPort, Min: 30000, Max: 30001},
		{Name: "OTHER_PORT", Kind: SeedPort, Min: 30000, Max: 30001},
		{Name: "COLOR", Kind: SeedWord, Words: []string{"red", "green"}},
		{Name: "WORD", Kind: SeedWord},
		{Name: "COUNT", Kind: SeedInt, Min: 3, Max: 5},
	}}}
	for seed := int64(-3); seed < 200; seed++ {
		a, b := s.Seeded(seed), s.Seeded(seed)
		if len(a) != 6 {
			t.Fatalf("seed %d: %v", seed, a)
		}
		for k, v := range a {
			if b[k] != v {
				t.Fatalf("seed %d: not deterministic: %v vs %v", seed, a, b)
			}
		}
		if p, _ := strconv.Atoi(a["APP_PORT"]); p < 20000 || p > 29999 {
			t.Fatalf("APP_PORT %d out of the default range", p)
		}
		if a["ADMIN_PORT"] == a["OTHER_PORT"] {
			t.Fatalf("seed %d: ports collide: %v", seed, a)
		}
		if n, _ := strconv.Atoi(a["COUNT"]); n < 3 || n > 5 {
			t.Fatalf("COUNT %d out of range", n)
		}
		if c := a["COLOR"]; c != "red" && c != "green" {
			t.Fatalf("COLOR %q", c)
		}
	}
	// Golden values: the derivation must never change, or running attempts
	// would see different values after an upgrade.
	pinned := (&Spec{Seed: &Seed{Vars: []SeedVar{{Name: "APP_PORT", Kind: SeedPort}, {Name: "WORD", Kind: SeedWord}, {Name: "COUNT", Kind: SeedInt, Min: 3, Max: 5}}}}).Seeded(42)
	for k, v := range map[string]string{"APP_PORT": "23260", "WORD": "indigo", "COUNT": "3"} {
		if pinned[k] != v {
			t.Errorf("Seeded(42)[%s] = %q, want %q (the derivation changed)", k, pinned[k], v)
		}
	}
	got := s.Seeded(42)
	if s.Seeded(1)["APP_PORT"] == s.Seeded(2)["APP_PORT"] && s.Seeded(2)["APP_PORT"] == s.Seeded(3)["APP_PORT"] {
		t.Error("seeds do not vary the values")
	}
	// Adding a variable does not change the others.
	s2 := &Spec{Seed: &Seed{Vars: append([]SeedVar{{Name: "EXTRA", Kind: SeedInt}}, s.Seed.Vars[0])}}
	if s2.Seeded(42)["APP_PORT"] != got["APP_PORT"] {
		t.Error("adding a variable changed APP_PORT")
	}
	if len((&Spec{}).Seeded(1)) != 0 {
		t.Error("no seed section should give no variables")
	}
}
