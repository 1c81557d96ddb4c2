#!/bin/sh
# tests/cli.sh -- the `moec` command's contract: help, version, exit codes.
moec="${top_builddir:-.}/moec"
. "${top_srcdir:-.}/tests/tap.sh"

"$moec" --help > help.out 2>&1; ok $? "moec --help exits 0"
for c in check ir emit train eval grad init sample data tokenize report bench; do
    grep -q "^  $c " help.out; ok $? "--help lists '$c'"
done
"$moec" --version > version.out 2>&1; ok $? "moec --version exits 0"
grep -q "^cpu backend:" version.out; ok $? "--version names the cpu backend"
grep -q "^cuda backend:" version.out; ok $? "--version names the cuda backend"
grep -q "^distributed:" version.out; ok $? "--version says whether MPI is built"
"$moec" frobnicate > /dev/null 2>&1; [ $? = 2 ]; ok $? "an unknown command exits 2"
"$moec" report x > /dev/null 2> usage.out; [ $? = 2 ]; ok $? "report without -o DIR is a usage error (exit 2)"
grep -q "^usage: moec report RUN" usage.out; ok $? "and prints its usage"
"$moec" check > /dev/null 2>&1; [ $? = 2 ]; ok $? "check without a file is a usage error"
rm -f help.out version.out usage.out
tap_done
