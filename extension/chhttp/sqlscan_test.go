package chhttp

import "testing"

func TestFirstKeyword(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1":                          "SELECT",
		"  \n\tset readonly = 0":            "SET",
		"-- a comment\nUSE aiops":           "USE",
		"/* one /* nested */ */ KILL QUERY": "KILL",
		"# note\nSYSTEM STOP MERGES":        "SYSTEM",
		"'literal' SELECT":                  "",
		"(SELECT 1)":                        "SELECT",
		"":                                  "",
	} {
		if got := firstKeyword(q); got != want {
			t.Errorf("firstKeyword(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestFormatClause(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1 FORMAT JSONEachRow":                      "JSONEachRow",
		"SELECT 1 FORMAT Native;":                          "Native",
		"SELECT 1 format CSV SETTINGS max_threads = 1":     "CSV",
		"SELECT 1 SETTINGS max_threads = 1 FORMAT TSV":     "TSV",
		"SELECT format FROM t":                             "",
		"SELECT 1 AS format":                               "",
		"SELECT 'x FORMAT JSON'":                           "",
		"SELECT (SELECT 1 FORMAT JSON)":                    "",
		"SELECT 1 -- FORMAT JSON":                          "",
		"SELECT 1 FORMAT JSON /* trailing */":              "JSON",
		"SELECT `FORMAT` FROM t FORMAT Pretty":             "Pretty",
		"SELECT \"a\" FROM t WHERE s = 'it''s' FORMAT XML": "XML",
		"SELECT 'unterminated FORMAT JSON":                 "",
		"SELECT 1 FORMAT":                                  "",
	} {
		if got := formatClause(q); got != want {
			t.Errorf("formatClause(%q) = %q, want %q", q, got, want)
		}
	}
}
