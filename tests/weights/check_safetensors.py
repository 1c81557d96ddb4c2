#!/usr/bin/python3
# tests/weights/check_safetensors.py -- an independent reader for the files `moec init` writes.
# Parses the safetensors layout with struct + json (no moec code), then checks
# names, shapes and dtypes against the parameter table of `moec ir --stage elab`,
# the layout (8-byte aligned data, back-to-back offsets covering the data), and
# values: ones and zeros exact, normal tensors' std, and a few elements
# recomputed with a Python Philox4x32-10 under doc/weights.md's key layout.
# Uses torch for the statistics when it imports, the array module otherwise.
# usage: check_safetensors.py FILE ELAB_DUMP SEED [--total N] [--no-values]
import array
import json
import math
import re
import struct
import sys

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox(ctr, key):
    x, k = list(ctr), list(key)
    for r in range(10):
        if r:
            k = [(k[0] + W0) & MASK, (k[1] + W1) & MASK]
        p0, p1 = M0 * x[0], M1 * x[2]
        x = [((p1 >> 32) ^ x[1] ^ k[0]) & MASK, p1 & MASK, ((p0 >> 32) ^ x[3] ^ k[1]) & MASK, p0 & MASK]
    return x


def philox_normal(seed, step, stream, element):
    r = philox([element & MASK, element >> 32, stream, step], [seed & MASK, seed >> 32])
    u1 = (r[0] >> 8) / 16777216.0 + 1.0 / 16777216.0
    u2 = (r[1] >> 8) / 16777216.0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def read_params(dump):
    """name -> (shape, init, std) from the parameter table of an elab dump."""
    params, on = [], False
    for line in open(dump):
        if line.startswith('parameters ('):
            on = True
            continue
        if on and not line.strip():
            break
        if on:
            m = re.match(r'\s+(\S+)\s+\[([\d, ]*)\]\s+(normal\(([\d.e+-]+)\)|zeros|ones)', line)
            if not m:
                raise SystemExit('cannot read the elab dump line: ' + line)
            shape = [int(d) for d in m.group(2).split(',')] if m.group(2) else []
            init = 'normal' if m.group(4) else m.group(3)
            params.append((m.group(1), shape, init, float(m.group(4)) if m.group(4) else 0.0))
    return params


def stats(buf):
    try:
        import torch
        t = torch.frombuffer(bytearray(buf), dtype=torch.float32).double()
        return t.mean().item(), t.std().item(), t.min().item(), t.max().item()
    except ImportError:
        a = array.array('f')
        a.frombytes(buf)
        n = len(a)
        mean = sum(a) / n
        var = sum((v - mean) ** 2 for v in a) / (n - 1)
        return mean, math.sqrt(var), min(a), max(a)


def main():
    path, dump, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    total = int(sys.argv[sys.argv.index('--total') + 1]) if '--total' in sys.argv else None
    values = '--no-values' not in sys.argv
    errors = []
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n).decode('utf-8'))
        f.seek(0, 2)
        size = f.tell()
        data_start = 8 + n
        if data_start % 8:
            errors.append('data starts at %d, not a multiple of 8' % data_start)
        meta = header.pop('__metadata__', {})
        if meta.get('format') != 'pt':
            errors.append('__metadata__ format is %r, not "pt"' % meta.get('format'))
        params = read_params(dump)
        names = list(header)
        if names != [p[0] for p in params]:
            errors.append('names differ from the model\'s, in order')
        at, floats = 0, 0
        for name, shape, init, std in params:
            e = header.get(name)
            if e is None:
                errors.append('missing ' + name)
                continue
            if e['dtype'] != 'F32' or e['shape'] != shape:
                errors.append('%s: %s %s, model %s' % (name, e['dtype'], e['shape'], shape))
            numel = math.prod(shape)
            floats += numel
            b, end = e['data_offsets']
            if b != at or end - b != 4 * numel:
                errors.append('%s: offsets %s, expected [%d, %d]' % (name, e['data_offsets'], at, at + 4 * numel))
            at = end
            if values:
                f.seek(data_start + b)
                errors += check_values(name, f.read(end - b), init, std, params.index((name, shape, init, std)), seed)
        if data_start + at != size:
            errors.append('data ends at %d, the file at %d' % (data_start + at, size))
        if total is not None and floats != total:
            errors.append('%d floats, expected %d' % (floats, total))
    for e in errors:
        print('error: ' + e)
    print('%s: %d tensors, %d floats, %s' % (path, len(names), floats, 'ok' if not errors else 'BAD'))
    return 1 if errors else 0


def check_values(name, buf, init, std, index, seed):
    n = len(buf) // 4
    if init in ('zeros', 'ones'):
        want = 0.0 if init == 'zeros' else 1.0
        mean, sd, lo, hi = stats(buf)
        return [] if lo == hi == want else ['%s: %s expected, min %g max %g' % (name, init, lo, hi)]
    errs = []
    for e in (0, 1, 2, n // 2, n - 1):
        v = struct.unpack_from('<f', buf, 4 * e)[0]
        want = f32(std * philox_normal(seed, 0, index, e))
        # both round the same double to float32, but this Philox/Box-Muller's
        # libm (log, cos) may differ from C's by an ulp, moving the float32 by
        # one step (6e-8 relative): 1e-5 relative (+1e-9 near 0) covers that
        if abs(v - want) > 1e-5 * abs(want) + 1e-9:
            errs.append('%s[%d] = %r, philox says %r' % (name, e, v, want))
    if n >= 4096:
        mean, sd, lo, hi = stats(buf)
        # n >= 4096: the sample std's relative standard error is <= 1/sqrt(2n)
        # = 1.1% (0.05 ~4.5 sigma); the mean's is std/sqrt(n) (5 sigma)
        if abs(sd / std - 1) > 0.05 or abs(mean) > 5 * std / math.sqrt(n):
            errs.append('%s: mean %g std %g, expected 0 and %g' % (name, mean, sd, std))
    return errs


if __name__ == '__main__':
    sys.exit(main())
