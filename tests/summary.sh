#!/bin/sh
# summary.sh BUILDDIR... - add up the counts of every suite that ran and
# print one closing line "check: N passed, M failed".
set -u
pass=0
fail=0
known=0
for b in "$@"; do
	for log in "$b"/test_*.log; do
		[ -f "$log" ] || continue
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log")
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed.*/\1/p' "$log")
		pass=$((pass + ${p:-0}))
		fail=$((fail + ${f:-0}))
	done
	for log in "$b"/*.out; do
		[ -f "$log" ] || continue
		line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		p=$(echo "$line" | sed -n 's/^[^:]*: \([0-9]*\) passed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
		k=$(echo "$line" | sed -n 's/.* \([0-9]*\) known failures.*/\1/p')
		pass=$((pass + ${p:-0}))
		fail=$((fail + ${f:-0}))
		known=$((known + ${k:-0}))
	done
done
if [ "$known" -gt 0 ]; then
	echo "check: $pass passed, $fail failed ($known known failures of the RFC suites, listed in the README)"
else
	echo "check: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
