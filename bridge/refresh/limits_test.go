package refresh

import "testing"

func TestProviderLimitOverrides(t *testing.T) {
	r := &Refresher{limits: Limits{ProviderConcurrency: 64, ProviderRate: 5, ProviderBurst: 2, PerProvider: map[string]ProviderLimit{
		"github": {Concurrency: 4, Rate: 1.5},
		"slack":  {Burst: 10},
	}}}
	for key, want := range map[string]ProviderLimit{
		"github": {Concurrency: 4, Rate: 1.5, Burst: 2},
		"slack":  {Concurrency: 64, Rate: 5, Burst: 10},
		"other":  {Concurrency: 64, Rate: 5, Burst: 2},
	} {
		if got := r.providerLimit(key); got != want {
			t.Errorf("%s: %+v, want %+v", key, got, want)
		}
	}
	if got := (&Refresher{limits: Limits{ProviderConcurrency: 8}}).providerLimit("x"); got.Burst != 1 || got.Rate != 0 {
		t.Errorf("defaults: %+v", got)
	}
}
