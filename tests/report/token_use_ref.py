#!/usr/bin/env python3
"""tests/report/token_use_ref.py -- checks the record of moec's expert use by
token type (rp_token_use_compute_dump, runtime/report/token_types.h) with
Python alone.

    token_use_ref.py DUMP COUNTS VOCAB_DIR [MIN_AGREEMENT]

DUMP: "# T=.. S=.. code=.." then "SEQ POS ID TYPE E_0 .. E_{L-1}" per token.
COUNTS: token_use_main's output ("tokens N", "L TYPE c_0 .. c_{E-1}").
VOCAB_DIR: GPT-2's encoder.json.

1. The categories. The sequences of one data block (floor(S/T) of them)
   are put back together, decoded with GPT-2's byte-level vocabulary (its
   published byte <-> character table, rebuilt here), cut into texts at
   <|endoftext|>, and every text is classified byte by byte with Python's
   own `tokenize` (keyword.iskeyword for keywords); a token's category is
   that of its first byte that is not a space, tab, CR or LF, `other` when
   it has none or is <|endoftext|>. A block cuts texts anywhere, so a text
   may start inside a string or an indented block: each text is lexed
   inside brackets, where tokenize's indentation rules (which cover no
   byte) do not apply; tokens of a text that tokenize still gives up on (an
   unterminated triple-quoted string) are not compared; the tokens a text
   yields before `EOF in multi-line statement` are. The agreement over compared tokens must reach
   MIN_AGREEMENT (default 0.99): tokenize and moec's lexer differ only on
   text that is not Python, here a text cut inside a single-quoted string.
2. The counts. Per layer, category and expert, recounted from DUMP, must
   equal COUNTS exactly.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify_ref import categories  # noqa: E402  (tokenize's category of every byte)

NAMES = ['keyword', 'name', 'number', 'string', 'operator', 'comment', 'other']
OTHER = 6


def byte_decoder():
    # GPT-2's table: printable bytes map to themselves, the others to 256+n.
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[chr(b)] = b
        else:
            chars[chr(256 + n)] = b
            n += 1
    return chars


# A block cuts texts anywhere, so a text often starts inside an indented
# block and later dedents to a column tokenize has not seen (an
# IndentationError). Inside brackets tokenize skips its indentation rules,
# which emit no token covering a byte, so each text is lexed after OPEN
# opening brackets, whose bytes are then dropped.
OPEN = 64


def byte_categories(text):
    """tokenize's category of every byte of text; None where it gave up."""
    out = categories(b'(' * OPEN + text, partial=True)
    return out[OPEN:] if out is not None else None


def main():
    dump_path, counts_path, vocab_dir = sys.argv[1:4]
    need = float(sys.argv[4]) if len(sys.argv) > 4 else 0.99
    enc = json.load(open(vocab_dir + '/encoder.json', encoding='utf-8'))
    dec = byte_decoder()
    token_bytes = {i: bytes(dec[c] for c in s) for s, i in enc.items()}
    eos = enc['<|endoftext|>']
    with open(dump_path) as f:
        head = dict(kv.split('=') for kv in f.readline()[1:].split())
        rows = [list(map(int, ln.split())) for ln in f if ln.strip()]
    t, s = int(head['T']), int(head['S'])
    per_block = s // t * t
    compared = same = 0
    confusion = collections.Counter()
    examples = []
    for first in range(0, len(rows), per_block):
        block = rows[first:first + per_block]
        ids = [r[2] for r in block]
        # texts between <|endoftext|> tokens, each classified on its own
        texts, cur = [], []
        for k, i in enumerate(ids):
            if i == eos:
                texts.append(cur)
                cur = []
                continue
            cur.append(k)
        texts.append(cur)
        want = {}
        for ks in texts:
            data = b''.join(token_bytes[ids[k]] for k in ks)
            cats = byte_categories(data)
            if cats is None:
                continue
            at = 0
            for k in ks:
                b = token_bytes[ids[k]]
                cat = OTHER
                for j, ch in enumerate(b):
                    if ch not in b' \t\r\n':
                        cat = cats[at + j]
                        break
                want[k] = cat
                at += len(b)
        for k, i in enumerate(ids):
            if i == eos:
                want[k] = OTHER
            if k in want:
                compared += 1
                got = block[k][3]
                same += got == want[k]
                if got != want[k]:
                    confusion[(NAMES[want[k]], NAMES[got])] += 1
                    if len(examples) < 4:
                        examples.append(b''.join(token_bytes[x] for x in ids[max(0, k - 8):k + 3] if x != eos))
    agreement = same / compared if compared else 0.0
    print('tokens %d, compared with tokenize %d, agreement %.5f (%d differ)' %
          (len(rows), compared, agreement, compared - same))
    for (w, g), c in confusion.most_common(6):
        print('  tokenize %-8s moec %-8s %d tokens' % (w, g, c))
    for x in examples:
        print('  e.g. %r' % x)
    ok = compared >= len(rows) // 2 and agreement >= need
    # the counts
    layers = len(rows[0]) - 4 if rows else 0
    recount = collections.Counter()
    for r in rows:
        for i in range(layers):
            recount[(i, r[3], r[4 + i])] += 1
    lines = [ln.split() for ln in open(counts_path) if ln.strip()]
    tokens = int(lines[0][1])
    table = [ln for ln in lines[1:] if len(ln) > 2 and ln[1] in NAMES]
    order = []
    for ln in table:
        if ln[0] not in order:
            order.append(ln[0])
    bad = 0
    for ln in table:
        i, c = order.index(ln[0]), NAMES.index(ln[1])
        for e, x in enumerate(ln[2:]):
            if int(x) != recount[(i, c, e)]:
                bad += 1
    print('counts: %d layers, %d (layer, category, expert) cells, %d differ from the dump; tokens %d, dump %d' %
          (len(order), sum(len(ln) - 2 for ln in table), bad, tokens, len(rows)))
    ok = ok and bad == 0 and tokens == len(rows) and len(order) == layers
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
