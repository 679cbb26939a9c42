package pricing

import "testing"

func BenchmarkLookupAndCost(b *testing.B) {
	c := mustBuiltin(b)
	u := Usage{Input: 12000, CacheRead: 8000, Output: 900, Reasoning: 300}
	for _, bb := range []struct{ name, provider, model string }{
		{"exact", "openai", "gpt-4o"},
		{"alias", "anthropic", "claude-sonnet-4-5-20250929"},
		{"pattern", "aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{"miss", "openai", "no-such-model"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink Amount
			for i := 0; i < b.N; i++ {
				if p, ok := c.Lookup(bb.provider, bb.model, at); ok {
					sink += p.Cost(u).Total
				}
			}
			_ = sink
		})
	}
	b.Run("cost-only-discounted-tiered", func(b *testing.B) {
		cd := c.Merge(mustLoad(b, "discounts: {gcp.gemini: 0.85}\nprices: []\n"))
		p, _ := cd.Lookup("gcp.gemini", "gemini-2.5-pro", at)
		big := Usage{Input: 250000, CacheRead: 50000, Output: 4000, Reasoning: 1000}
		b.ReportAllocs()
		var sink Amount
		for i := 0; i < b.N; i++ {
			sink += p.Cost(big).Total
		}
		_ = sink
	})
}
