# Shared by the bench scripts: timing, and the report of interleaved pairs.
# Source it after setting WORK (where the last command's output goes).

now() { date +%s%N; }
declare -A T
# timed KEY COMMAND...: runs it, appends its time in ms to T[KEY]; a failure
# stops the benchmark with the command's output.
timed() {
    local key=$1; shift
    local s; s=$(now)
    "$@" > "$WORK/last.log" 2>&1 || { echo "FAILED: $key" >&2; cat "$WORK/last.log" >&2; exit 1; }
    T[$key]="${T[$key]:-} $(( ($(now) - s) / 1000000 ))"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m() { echo "${T[$1]:-}" | median; }
# Every key's median and runs.
table() {
    for key in $(printf '%s\n' "${!T[@]}" | sort); do printf '%-26s %8s   %s\n' "$key" "$(m "$key")" "${T[$key]}"; done
}
# pairs LABEL FERRY_KEY PEER_KEY GOAL: the ratio of each pair (ferry's run
# over the peer's run of the same pair), their median, min and max, and in
# how many pairs ferry was at or under the goal and strictly faster.
pairs() {
    local label=$1 a=$2 b=$3 goal=$4
    read -ra A <<< "${T[$a]}"
    read -ra B <<< "${T[$b]}"
    local ratios
    ratios=$(for i in "${!A[@]}"; do awk -v x="${A[$i]}" -v y="${B[$i]}" 'BEGIN { printf "%.3f\n", x / y }'; done | sort -n)
    local med lo hi within faster
    med=$(echo "$ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    lo=$(echo "$ratios" | head -1); hi=$(echo "$ratios" | tail -1)
    within=$(echo "$ratios" | awk -v g="$goal" '$1 <= g {n++} END {print n+0}')
    faster=$(echo "$ratios" | awk '$1 < 1 {n++} END {print n+0}')
    printf '%s: %s ms / %s ms, ratio median %s (min %s, max %s); at or under %s in %s of %s pairs, faster in %s\n' \
        "$label" "$(m "$a")" "$(m "$b")" "$med" "$lo" "$hi" "$goal" "$within" "${#A[@]}" "$faster"
}
