#!/usr/bin/env python3
"""tests/data/adversarial.py -- writes the adversarial texts of the tokenizer
parity test to the file named by argv[1], separated by lines of "%%SEP%%".
Every text is valid UTF-8 (node reads strings, so invalid bytes are tested in
tests/data/test_bpe.c instead) and avoids U+0085 and U+FEFF, where GPT-2's
\\s and JavaScript's differ (doc/data.md)."""
import sys

TEXTS = [
    "Hello world", "hello  world", "   leading spaces", "trailing spaces   ", "tabs\t\tand\ttabs\t",
    "line\nbreaks\n\n\nand\r\nCRLF\r\n", "\n\n\n", " ", "  ", "\t", "x \n y", "a\u00a0b \u00a0c\u3000d\u2028e\u2029f",
    "don't we'll they're I've I'm he'd it's", "DON'T WE'LL 'S 'T", "''s '''t rock'n'roll", " 's 't", "'",
    "O'Neil's l'homme c'est", "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇯🇵🇩🇪 ❤️ ☃", "🎉" * 50,
    "中文文本，日本語のテキスト、한국어 텍스트。", "漢字かなカナ混じり文", "Ελληνικά Русский язык עברית العربية",
    "हिन्दी भाषा ภาษาไทย ქართული", "combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o",
    "Ⅻ Ⅳ ½ ¾ ² ³ ① ٣٤٥ ๑๒๓ 𝟘𝟙𝟚", "𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 𝄞", "private \ue000\uf8ff zero\u200bwidth \u200d joiner",
    "<|endoftext|> is text here", "$$$ %%% ^^^ &&& *** ((( ))) --- +++", "a-b_c.d,e;f:g!h?i",
    "x" * 3000, " " * 1000 + "word", "word" + " " * 1000, "\n" * 500 + "x", "1" * 5000, "3.14159 2,718 1e10 0x1F",
    "12345678901234567890 " * 50, "   \t  \n  \t x", "ａｂｃ　ＡＢＣ　１２３", "ﬁ ﬂ ß ẞ İ ı ŉ",
    "mixed123abc456 abc123 123abc", "snake_case camelCase PascalCase kebab-case", "def f(x):\n    return x ** 2\n",
    "\u00ad soft hyphen \u034f cgj", "\u0600\u0601 arabic number signs \u06dd", "ÿþ½¼¾ latin-1 bytes as text",
]


def main():
    with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
        for t in TEXTS:
            assert "\x85" not in t and "\ufeff" not in t and "%%SEP%%" not in t
            f.write(t + "\n%%SEP%%\n")


if __name__ == "__main__":
    main()
