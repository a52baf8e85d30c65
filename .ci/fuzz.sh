#!/usr/bin/env bash
# Runs every fuzz target of the repository for a bounded time each
# (FUZZTIME, default 5s), from the seed corpora committed under
# <package>/testdata/fuzz and the seeds in the code. Exits non-zero as soon as
# a target fails, after running the others; go test writes each failing
# input to the package's testdata/fuzz/<Target>/, to be replayed with
#   go test -run '<Target>/<file>' <package>
# (commit it only with the fix, or the package's tests fail meanwhile).
#
# Targets are listed explicitly: a new fuzz target must be added here.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-5s}
PARALLEL=${FUZZPARALLEL:-2} # the CI machine has two cores

targets=(
	# module                             package                target
	".                                   .                      FuzzHandler"         # handler records, groups, JSON output
	".                                   ./ddprop               FuzzExtract"         # trace context headers
	".                                   ./ddexport             FuzzEncode"          # v0.4/v0.5 encoders
	".                                   ./ddexport             FuzzParseAgentURL"   # DD_TRACE_AGENT_URL
	".                                   ./ddexport             FuzzForEachTag"      # DD_TAGS
	".                                   ./ddexport             FuzzParseContainerID" # /proc/self/cgroup
	".                                   ./ddexport             FuzzDetectContainer" # /proc/self/cgroup, /proc/self/mountinfo, inodes
	".                                   ./ddsample             FuzzGlob"            # sampling-rule globs against dd-trace-go's regexps
	".                                   ./ddsample             FuzzInherit"         # the sampler's dd= rewrite against ddprop's
	".                                   ./ddexport/ddtest      FuzzDecodeV04"       # the fake agent's decoders
	".                                   ./ddexport/ddtest      FuzzDecodeV05"
	".                                   ./ddexport/ddtest      FuzzDecodeStats"     # the fake agent's /v0.6/stats decoder
	".                                   ./internal/reliability FuzzExportSpan"      # arbitrary spans end to end to the strict agent
	".                                   ./internal/reliability FuzzRecordToEvent"   # slog value -> span event attribute table
	".                                   ./internal/reliability FuzzExporterEnv"     # DD_* variables through ddexport.New
	"ddexport/ddtest/internal/agentdiff  .                      FuzzAgainstAgent"    # ddtest's decoder against the Agent's
	"ddexport/ddtest/internal/agentdiff  .                      FuzzStatsAgainstAgent" # ddtest's /v0.6/stats decoder against the Agent's
)

start=$SECONDS
failed=()
for t in "${targets[@]}"; do
	read -r mod pkg name _ <<<"$t"
	printf '\n=== fuzz %s %s (%s)\n' "$(cd "$mod" && go list "$pkg")" "$name" "$FUZZTIME"
	if ! (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$pkg"); then
		failed+=("$mod/$pkg $name")
	fi
done
printf '\n=== fuzz: %d targets in %ds\n' "${#targets[@]}" "$((SECONDS - start))"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
