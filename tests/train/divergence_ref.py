#!/usr/bin/env python3
"""tests/train/divergence_ref.py -- an independent reference for the weight
divergence between experts (doc/names-and-metrics.md, "Definitions"): reads
a safetensors file with the standard library only, takes every tensor named
PREFIX.experts.E.REST as part of expert E of layer PREFIX, flattens each
expert's tensors (sorted by REST) and prints, per layer, the mean over pairs
of experts of 1 - cos, one line "PREFIX VALUE" each.

    python3 divergence_ref.py W.safetensors
"""
import array
import json
import math
import re
import struct
import sys


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        if t['dtype'] != 'F32':
            raise SystemExit('%s: dtype %s, only F32 is read' % (name, t['dtype']))
        a, b = t['data_offsets']
        v = array.array('f')
        v.frombytes(data[base + a:base + b])
        if sys.byteorder != 'little':
            v.byteswap()
        out[name] = v
    return out


def main():
    tensors = read_safetensors(sys.argv[1])
    layers = {}
    for name, v in tensors.items():
        m = re.match(r'^(.*)\.experts\.(\d+)\.(.*)$', name)
        if m:
            layers.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = v
    for prefix in sorted(layers):
        experts = layers[prefix]
        flat = []
        for e in sorted(experts):
            x = []
            for rest in sorted(experts[e]):
                x.extend(experts[e][rest])
            flat.append(x)
        norms = [math.sqrt(math.fsum(a * a for a in x)) for x in flat]
        dist = []
        for i in range(len(flat)):
            for j in range(i + 1, len(flat)):
                dot = math.fsum(a * b for a, b in zip(flat[i], flat[j]))
                dist.append(1.0 - dot / (norms[i] * norms[j]))
        print(prefix, repr(sum(dist) / len(dist)) if dist else 'nan')


if __name__ == '__main__':
    main()
