#!/bin/sh
# tests/models.sh -- every line of models/catalogue.txt passes `moec check` with
# no diagnostics at all, and the GPT-2 models have the published sizes.
moec="${top_builddir:-.}/moec"
models="${top_srcdir:-.}/models"
. "${top_srcdir:-.}/tests/tap.sh"

while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    eval "set -- $line"
    file="$1"; shift
    "$moec" check "$models/$file" "$@" > check.out 2>&1
    status=$?
    [ $status = 0 ] && [ ! -s check.out ]; ok $? "moec check $line"
    [ $status = 0 ] && [ ! -s check.out ] || sed 's/^/# /' check.out
done < "$models/catalogue.txt"

count() { "$moec" ir "$models/$1" --stage elab 2>&1 | tail -n 1; }
[ "$(count gpt2-dense.moe)" = "parameters: 124,439,808" ]; ok $? "gpt2-dense has 124,439,808 parameters"
[ "$(count gpt2-moe.moe)" = "parameters: 256,692,480" ]; ok $? "gpt2-moe has 256,692,480 parameters"
rm -f check.out
tap_done
