#!/usr/bin/env python3
"""tests/ir/eval_order.py -- a lint for graph-building code (TAP output).

C leaves the order in which a call's arguments are evaluated unspecified, and
gcc and clang pick different orders. Graph builders append nodes, so a call
like mul(g, exp(g, a), tanh(g, b)) numbers its nodes differently under the
two compilers: the printed graph changes, and so would anything keyed by
build order (Philox streams). This lint flags every call in the given C
files with two or more arguments that themselves call something on the graph
(a call whose first argument is the graph variable `g`, to a function that
does not take it as `const ir_graph *`: those only read). Build them into
locals first, one statement each.
usage: eval_order.py FILE...   (headers among the files only declare readers)
"""
import re
import sys

CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
BUILDS = re.compile(r"\b[A-Za-z_]\w*\s*\(\s*g\s*[,)]")
KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "_Static_assert"}
READER = re.compile(r"\b([A-Za-z_]\w*)\s*\(\s*const\s+ir_graph\s*\*")


def strip(text):
    """Comments and string literals out, newlines kept (so line numbers hold)."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def split_args(text, start):
    """Arguments of the call whose '(' is at text[start-1]; None if unbalanced."""
    depth, args, cur = 0, [], start
    for i in range(start, len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append(text[cur:i])
                return args
            depth -= 1
        elif c == "," and depth == 0:
            args.append(text[cur:i])
            cur = i + 1
    return None


def builds(arg, readers):
    """True when the argument text calls something that appends to the graph."""
    return any(m.group(0).split("(")[0].strip() not in readers for m in BUILDS.finditer(arg))


def main(paths):
    n, failed = 0, 0
    readers = set()
    for path in paths:
        readers.update(READER.findall(strip(open(path).read())))
    for path in (p for p in paths if p.endswith(".c")):
        text = strip(open(path).read())
        bad = []
        for m in CALL.finditer(text):
            if m.group(1) in KEYWORDS:
                continue
            args = split_args(text, m.end())
            if args and sum(1 for a in args if builds(a, readers)) >= 2:
                bad.append(text.count("\n", 0, m.start()) + 1)
        n += 1
        if bad:
            failed += 1
            print("not ok %d - %s: calls with two graph-building arguments at lines %s"
                  % (n, path, ", ".join(map(str, sorted(set(bad))))))
        else:
            print("ok %d - %s builds its graph in one order" % (n, path))
    print("1..%d" % n)
    return 1 if failed else 0   # the exit status is the verdict (doc/architecture.md#tests)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
