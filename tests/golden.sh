#!/bin/sh
# golden.sh SPFPD - golden tests of what an administrator reads:
#   tests/golden/*.conf   `spfpd -n -c FILE` output (stdout+stderr) and exit
#                         status, compared with FILE.ref ("@DIR@" = the dir)
#   documentation         every option that `spfpd -p` prints is defined
#                         in spfpd.conf.5 (a .TP entry whose tag is
#                         `.BI "NAME = " ...` or `.B "NAME = ..."`) and in
#                         etc/spfpd.conf (a line `#NAME =` or `NAME =`):
#                         a mention in prose does not count
# Prints "golden: N passed, M failed"; exits 1 on any failure.
set -u
spfpd=$1
dir=tests/golden
pass=0
fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for conf in "$dir"/*.conf; do
	ref=${conf%.conf}.ref
	"$spfpd" -n -c "$conf" >"$tmp" 2>&1
	echo "exit $?" >>"$tmp"
	if sed "s|@DIR@|$dir|g" "$ref" | diff -u - "$tmp"; then
		pass=$((pass + 1))
	else
		echo "FAIL golden $conf"
		fail=$((fail + 1))
	fi
done

# every option documented, in the man page and in the sample config;
# option names are [a-z_]: no quoting for the regular expressions
defined() {	# defined OPTION FILE
	case $2 in
	*.5)	awk -v re="^[.]BI? \"?$1 = " '
		    prev == ".TP" && $0 ~ re { found = 1 }
		    { prev = $0 }
		    END { exit !found }' "$2" ;;
	*)	grep -Eq "^#?$1 =( |\$)" "$2" ;;
	esac
}
for opt in $("$spfpd" -p -c /dev/null | sed 's/ =.*//'); do
	for doc in spfpd.conf.5 etc/spfpd.conf; do
		if defined "$opt" "$doc"; then
			pass=$((pass + 1))
		else
			echo "FAIL option $opt is not documented in $doc"
			fail=$((fail + 1))
		fi
	done
done

# the sample config is valid as shipped
if "$spfpd" -n -c etc/spfpd.conf >/dev/null; then
	pass=$((pass + 1))
else
	echo "FAIL etc/spfpd.conf does not pass spfpd -n"
	fail=$((fail + 1))
fi

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
