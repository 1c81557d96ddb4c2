#!/usr/bin/env python3
"""tests/report/classify_ref.py -- the Python lexer of moec's token-type
analysis (runtime/report/token_types.h) against Python's own `tokenize`.

    classify_ref.py CLASSIFY_MAIN FILE SEPARATOR N [MIN_AGREEMENT]

Splits FILE into texts at lines equal to SEPARATOR (as `moec data
--separator` does: lines keep their newlines, the separator line is dropped,
empty texts too), takes the first N, and gives every byte of each the
category of the tokenize token covering it: NAME that keyword.iskeyword
accepts -> keyword, other NAME -> name, NUMBER, STRING, OP (operator),
COMMENT; bytes of no token, NEWLINE, NL, INDENT, DEDENT and ERRORTOKEN ->
other. Token columns count characters of the line's text, so they are
turned into byte offsets. A text tokenize rejects (IndentationError, EOF in
a multi-line string or statement, not UTF-8) is left out and counted.
Runs CLASSIFY_MAIN on the same texts and prints the agreement over bytes,
the disagreements by (tokenize, moec) category and a few examples; exits 1
when the agreement is below MIN_AGREEMENT (default 0.999).
"""
import collections
import io
import keyword
import subprocess
import sys
import token
import tokenize

NAMES = ['keyword', 'name', 'number', 'string', 'operator', 'comment', 'other']
KEYWORD, NAME, NUMBER, STRING, OPERATOR, COMMENT, OTHER = range(7)


def split_texts(data, sep):
    texts, start, i = [], 0, 0
    sep = sep.encode()
    while i < len(data):
        nl = data.find(b'\n', i)
        end = nl if nl >= 0 else len(data)
        nxt = nl + 1 if nl >= 0 else len(data)
        if data[i:end] == sep:
            if i > start:
                texts.append(data[start:i])
            start = nxt
        i = nxt
    if len(data) > start:
        texts.append(data[start:])
    return texts


def categories(text, partial=False):
    """Per-byte categories of text (bytes) by tokenize, or None when it fails.
    partial: a text that ends inside a bracketed statement keeps the
    categories of the tokens tokenize gave before it gave up."""
    lines = text.split(b'\n')
    line_start, at = [], 0          # byte offset of each line (1-based rows)
    for ln in lines:
        line_start.append(at)
        at += len(ln) + 1
    try:
        decoded = [ln.decode('utf-8') for ln in lines]
    except UnicodeDecodeError:
        return None

    def offset(row, col):
        return line_start[row - 1] + len(decoded[row - 1][:col].encode('utf-8'))

    out = bytearray([OTHER] * len(text))
    kind = {token.NUMBER: NUMBER, token.STRING: STRING, token.OP: OPERATOR, token.COMMENT: COMMENT}
    try:
        for tok in tokenize.tokenize(io.BytesIO(text).readline):
            if tok.type == token.NAME:
                cat = KEYWORD if keyword.iskeyword(tok.string) else NAME
            elif tok.type in kind:
                cat = kind[tok.type]
            else:
                continue
            a, b = offset(*tok.start), offset(*tok.end)
            out[a:b] = bytes([cat]) * (b - a)
    except tokenize.TokenError as e:
        if not (partial and 'statement' in str(e.args[0])):
            return None
    except (SyntaxError, UnicodeDecodeError):
        return None
    return out


def main():
    prog, path, sep, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    need = float(sys.argv[5]) if len(sys.argv) > 5 else 0.999
    texts = split_texts(open(path, 'rb').read(), sep)[:n]
    got = subprocess.run([prog, path, sep, str(n)], check=True, stdout=subprocess.PIPE).stdout.split(b'\n')
    same = total = skipped = 0
    confusion = collections.Counter()
    examples = []
    for k, text in enumerate(texts):
        want = categories(text)
        if want is None:
            skipped += 1
            continue
        mine = bytes(c - ord('0') for c in got[k])
        if len(mine) != len(text):
            print('text %d: moec gave %d categories for %d bytes' % (k, len(mine), len(text)))
            return 1
        for i, (w, m) in enumerate(zip(want, mine)):
            total += 1
            if w == m:
                same += 1
                continue
            confusion[(NAMES[w], NAMES[m])] += 1
            if len(examples) < 8 and (not examples or examples[-1][0] != k or i - examples[-1][1] > 40):
                examples.append((k, i, text[max(0, i - 30):i + 30]))
    agreement = same / total if total else 0.0
    print('texts %d (%d that tokenize rejects left out), bytes %d, agreement %.6f (%d bytes differ)' %
          (len(texts), skipped, total, agreement, total - same))
    for (w, m), c in confusion.most_common():
        print('  tokenize %-8s moec %-8s %d bytes' % (w, m, c))
    for k, i, ctx in examples:
        print('  text %d byte %d: %r' % (k, i, ctx))
    return 0 if total and agreement >= need else 1


if __name__ == '__main__':
    sys.exit(main())
