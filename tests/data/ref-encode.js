// tests/data/ref-encode.js -- the reference encoder for the tokenizer parity tests.
// Runs the npm package gpt-3-encoder (an independent JavaScript GPT-2 encoder)
// over texts and prints one line of token ids per text, the format of
// `moec tokenize --ids`. Usage: node ref-encode.js PACKAGE_DIR FILE [SEPARATOR]
// FILE is read as UTF-8; a line equal to SEPARATOR ends a text (as moec does).
'use strict';
const fs = require('fs');

const [pkgDir, file, sep] = process.argv.slice(2);
if (!pkgDir || !file) {
  console.error('usage: node ref-encode.js PACKAGE_DIR FILE [SEPARATOR]');
  process.exit(2);
}
const { encode } = require(pkgDir);

// The texts of FILE: lines equal to sep end a text; empty texts are dropped.
function splitTexts(data) {
  if (sep === undefined) return data.length ? [data] : [];
  const texts = [];
  let start = 0;
  let i = 0;
  while (i < data.length) {
    const nl = data.indexOf('\n', i);
    const end = nl < 0 ? data.length : nl;
    const next = nl < 0 ? data.length : nl + 1;
    if (data.slice(i, end) === sep) {
      if (i > start) texts.push(data.slice(start, i));
      start = next;
    }
    i = next;
  }
  if (data.length > start) texts.push(data.slice(start));
  return texts;
}

// The package's encode() appends with Array.concat, quadratic in a text's
// length, so long texts go in pieces. A piece starts only where a newline
// stands alone between two non-space characters ("x\ny"): no match of GPT-2's
// pattern crosses that point, and the whitespace run before it is that one
// newline whether or not more text follows (a longer run would be split by
// the look-ahead \s+(?!\S) differently at the end of a piece), so the ids are
// those of the whole text.
function encodeLong(text) {
  const out = [];
  let start = 0;
  for (let i = 1; i < text.length; i++) {
    if (i - start >= 2000 && text[i - 1] === '\n' && /\S/u.test(text[i]) && /\S/u.test(text[i - 2])) {
      out.push(...encode(text.slice(start, i)));
      start = i;
    }
  }
  if (start < text.length) out.push(...encode(text.slice(start)));
  return out;
}

const lines = splitTexts(fs.readFileSync(file, 'utf8')).map((t) => encodeLong(t).join(' '));
process.stdout.write(lines.length ? lines.join('\n') + '\n' : '');
