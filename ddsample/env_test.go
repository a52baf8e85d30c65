package ddsample

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// settings is what the environment configured, in comparable form.
type settings struct {
	Service, Env  string
	Rules         []Rule
	SampleRate    float64
	HasSampleRate bool
	RateLimit     float64
	SpanRules     []SpanRule
}

func envSettings(env map[string]string) (settings, error) {
	opts, err := envOptions(lookupIn(env))
	if err != nil {
		return settings{}, err
	}
	c := newConfig(opts)
	return settings{c.service, c.env, c.rules, c.sampleRate, c.hasSampleRate, c.rateLimit, c.spanRules}, nil
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rulesFile := write("rules.json", `[{"service":"from-file","sample_rate":0.5}]`)
	spanFile := write("span.json", `[{"name":"from-file"}]`)
	def := settings{RateLimit: DefaultRateLimit}
	with := func(f func(*settings)) settings {
		s := def
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want settings
	}{
		{"nothing set", nil, def},
		{"empty values", map[string]string{"DD_TRACE_SAMPLING_RULES": " ", "DD_TRACE_SAMPLE_RATE": "", "DD_TRACE_RATE_LIMIT": " "}, def},
		{"service and env", map[string]string{"DD_SERVICE": " shop ", "DD_ENV": "prod"},
			with(func(s *settings) { s.Service, s.Env = "shop", "prod" })},
		{"service and env from DD_TAGS", map[string]string{"DD_TAGS": "team:apm env:staging service:shop version:2"},
			with(func(s *settings) { s.Service, s.Env = "shop", "staging" })},
		{"DD_TAGS as ddexport reads it: commas, trimmed, the last of a key", map[string]string{"DD_TAGS": " service : a:b , env:x,env: y ,team"},
			with(func(s *settings) { s.Service, s.Env = "a:b", "y" })},
		{"DD_SERVICE and DD_ENV beat DD_TAGS", map[string]string{"DD_SERVICE": "shop", "DD_ENV": "prod", "DD_TAGS": "service:other,env:staging"},
			with(func(s *settings) { s.Service, s.Env = "shop", "prod" })},
		{"sample rate and limit", map[string]string{"DD_TRACE_SAMPLE_RATE": "0.25", "DD_TRACE_RATE_LIMIT": "0"},
			with(func(s *settings) { s.SampleRate, s.HasSampleRate, s.RateLimit = 0.25, true, 0 })},
		{"sample rate 1", map[string]string{"DD_TRACE_SAMPLE_RATE": "1"}, with(func(s *settings) { s.SampleRate, s.HasSampleRate = 1, true })},
		{"fractional limit", map[string]string{"DD_TRACE_RATE_LIMIT": "2.5"}, with(func(s *settings) { s.RateLimit = 2.5 })},
		{"rules, every field", map[string]string{"DD_TRACE_SAMPLING_RULES": `[
			{"service":"s*","name":"n?","resource":"r","tags":{"k":"v*"},"sample_rate":0.5,"max_per_second":3,"provenance":"CUSTOMER","type":1},
			{"sample_rate":"0.25","provenance":" dynamic "},
			{"provenance":"local","unknown":"ignored"},
			{"Sample_Rate":0.75}
		]`}, with(func(s *settings) {
			s.Rules = []Rule{
				{Service: "s*", Name: "n?", Resource: "r", Tags: map[string]string{"k": "v*"}, SampleRate: 0.5, Provenance: Customer},
				{SampleRate: 0.25, Provenance: Dynamic},
				{SampleRate: 1},
				{SampleRate: 0.75}, // keys match in any case, as encoding/json matches them
			}
		})},
		{"no rules", map[string]string{"DD_TRACE_SAMPLING_RULES": "[]"}, with(func(s *settings) { s.Rules = []Rule{} })},
		{"rules from a file", map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": rulesFile},
			with(func(s *settings) { s.Rules = []Rule{{Service: "from-file", SampleRate: 0.5}} })},
		{"the variable beats the file", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"service":"var"}]`, "DD_TRACE_SAMPLING_RULES_FILE": "/nonexistent"},
			with(func(s *settings) { s.Rules = []Rule{{Service: "var", SampleRate: 1}} })},
		{"span rules", map[string]string{"DD_SPAN_SAMPLING_RULES": `[{"service":"s","name":"n","sample_rate":0.5,"max_per_second":10},{"resource":"*","tags":{"k":""}}]`},
			with(func(s *settings) {
				s.SpanRules = []SpanRule{{Service: "s", Name: "n", SampleRate: 0.5, MaxPerSecond: 10}, {SampleRate: 1}}
			})},
		{"span rules from a file", map[string]string{"DD_SPAN_SAMPLING_RULES_FILE": spanFile},
			with(func(s *settings) { s.SpanRules = []SpanRule{{Name: "from-file", SampleRate: 1}} })},
	} {
		got, err := envSettings(tc.env)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"sample_rate":2}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte("["+strings.Repeat(" ", 1<<20)+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := `[{"service":"` + strings.Repeat("x", 300) + `","sample_rate":7}]`
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"sample rate not a number", map[string]string{"DD_TRACE_SAMPLE_RATE": "half"},
			`ddsample: DD_TRACE_SAMPLE_RATE="half": want a number between 0 and 1`},
		{"sample rate above 1", map[string]string{"DD_TRACE_SAMPLE_RATE": "1.01"},
			`ddsample: DD_TRACE_SAMPLE_RATE="1.01": want a number between 0 and 1`},
		{"sample rate negative", map[string]string{"DD_TRACE_SAMPLE_RATE": "-0"},
			``}, // -0 is 0: valid
		{"sample rate NaN", map[string]string{"DD_TRACE_SAMPLE_RATE": "NaN"},
			`ddsample: DD_TRACE_SAMPLE_RATE="NaN": want a number between 0 and 1`},
		{"rate limit negative", map[string]string{"DD_TRACE_RATE_LIMIT": "-1"},
			`ddsample: DD_TRACE_RATE_LIMIT="-1": want a number of traces per second, 0 or more`},
		{"rate limit not a number", map[string]string{"DD_TRACE_RATE_LIMIT": "100/s"},
			`ddsample: DD_TRACE_RATE_LIMIT="100/s": want a number of traces per second, 0 or more`},
		{"rules not JSON", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"service":"a"`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"service\":\"a\"": not a JSON array of rules: *`},
		{"rules not an array", map[string]string{"DD_TRACE_SAMPLING_RULES": `{"service":"a"}`},
			`ddsample: DD_TRACE_SAMPLING_RULES="{\"service\":\"a\"}": not a JSON array of rules: *`},
		{"rule rate out of range", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"sample_rate":0.5},{"sample_rate":1.5}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"sample_rate\":0.5},{\"sample_rate\":1.5}]": rule 1: sample_rate 1.5 is not between 0 and 1`},
		{"rule rate negative", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"sample_rate":-0.5}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"sample_rate\":-0.5}]": rule 0: sample_rate -0.5 is not between 0 and 1`},
		{"rule rate a word", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"sample_rate":"half"}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"sample_rate\":\"half\"}]": not a JSON array of rules: *`},
		{"rule tags not strings", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"tags":{"k":1}}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"tags\":{\"k\":1}}]": not a JSON array of rules: *`},
		{"rule provenance unknown", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"provenance":"remote"}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"provenance\":\"remote\"}]": not a JSON array of rules: invalid provenance "remote": want local, customer or dynamic`},
		{"rule provenance null", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"provenance":null}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"provenance\":null}]": not a JSON array of rules: invalid provenance "": want local, customer or dynamic`},
		{"rule type not an integer", map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"type":"trace"}]`},
			`ddsample: DD_TRACE_SAMPLING_RULES="[{\"type\":\"trace\"}]": not a JSON array of rules: *`},
		{"long value cut in the message", map[string]string{"DD_TRACE_SAMPLING_RULES": long},
			`ddsample: DD_TRACE_SAMPLING_RULES="` + strings.ReplaceAll(long[:256], `"`, `\"`) + `…": rule 0: sample_rate 7 is not between 0 and 1`},
		{"rules file missing", map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": filepath.Join(dir, "none.json")},
			`ddsample: DD_TRACE_SAMPLING_RULES_FILE="` + filepath.Join(dir, "none.json") + `": open ` + filepath.Join(dir, "none.json") + `: no such file or directory`},
		{"rules file is a directory", map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": dir},
			`ddsample: DD_TRACE_SAMPLING_RULES_FILE="` + dir + `": read ` + dir + `: is a directory`},
		{"rules file bad", map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": bad},
			`ddsample: DD_TRACE_SAMPLING_RULES_FILE="` + bad + `": rule 0: sample_rate 2 is not between 0 and 1`},
		{"rules file too big", map[string]string{"DD_TRACE_SAMPLING_RULES_FILE": big},
			`ddsample: DD_TRACE_SAMPLING_RULES_FILE="` + big + `": file larger than 1 MiB`},
		{"span rules not JSON", map[string]string{"DD_SPAN_SAMPLING_RULES": `nope`},
			`ddsample: DD_SPAN_SAMPLING_RULES="nope": not a JSON array of rules: *`},
		{"span rule rate", map[string]string{"DD_SPAN_SAMPLING_RULES": `[{"sample_rate":3}]`},
			`ddsample: DD_SPAN_SAMPLING_RULES="[{\"sample_rate\":3}]": rule 0: sample_rate 3 is not between 0 and 1`},
		{"span rule resource", map[string]string{"DD_SPAN_SAMPLING_RULES": `[{"resource":"GET *"}]`},
			`ddsample: DD_SPAN_SAMPLING_RULES="[{\"resource\":\"GET *\"}]": rule 0: span rules match on service and name only, not resource or tags`},
		{"span rule tags", map[string]string{"DD_SPAN_SAMPLING_RULES": `[{"tags":{"k":"v"}}]`},
			`ddsample: DD_SPAN_SAMPLING_RULES="[{\"tags\":{\"k\":\"v\"}}]": rule 0: span rules match on service and name only, not resource or tags`},
		{"span rules file missing", map[string]string{"DD_SPAN_SAMPLING_RULES_FILE": filepath.Join(dir, "none.json")},
			`ddsample: DD_SPAN_SAMPLING_RULES_FILE="` + filepath.Join(dir, "none.json") + `": open ` + filepath.Join(dir, "none.json") + `: no such file or directory`},
	} {
		s, err := FromEnv(lookupIn(tc.env))
		if tc.want == "" {
			if err != nil || s == nil {
				t.Errorf("%s: FromEnv = %v, %v; want a sampler", tc.name, s, err)
			}
			continue
		}
		// A trailing * stands for the JSON decoder's own message.
		want, prefix := strings.CutSuffix(tc.want, "*")
		if err == nil || s != nil || !prefix && err.Error() != want || prefix && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: FromEnv = %v, %v\nwant nil, %s", tc.name, s, err, tc.want)
		}
	}
}

// TestFromEnvOptionsWin checks that options given to FromEnv beat the
// environment.
func TestFromEnvOptionsWin(t *testing.T) {
	s, err := FromEnv(lookupIn(map[string]string{
		"DD_SERVICE":              "env-svc",
		"DD_TRACE_SAMPLING_RULES": `[{"service":"env-svc","sample_rate":0}]`,
	}), WithService("opt-svc"), withClock(newFakeClock().now))
	if err != nil {
		t.Fatal(err)
	}
	// The rule of the environment still applies, to the option's service.
	if got := outcomeOf(s.ShouldSample(root(1, "op", trace.SpanKindServer))); got.Priority != "1" {
		t.Errorf("root of the option's service: %+v, want kept at the Agent's rate", got)
	}
	if got := outcomeOf(s.ShouldSample(root(1, "op", trace.SpanKindServer, attribute.String("service.name", "env-svc")))); got.Priority != "-1" {
		t.Errorf("root of the rule's service: %+v, want dropped by the rule", got)
	}
	s, err = FromEnv(lookupIn(map[string]string{"DD_TRACE_SAMPLING_RULES": `[{"sample_rate":0}]`}), WithRules())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.rules); n != 0 {
		t.Errorf("%d rules, want none: WithRules() replaces the environment's", n)
	}
}
