#!/bin/sh
# tests/ir/eval_order.sh -- the graph-building code builds its nodes in one
# order whatever the compiler (tests/ir/eval_order.py says why and how).
src="${top_srcdir:-.}"
exec python3 "$src/tests/ir/eval_order.py" "$src"/ir/*.c "$src"/ir/*.h "$src"/runtime/*.c
