#!/usr/bin/env python3
"""Reference token ids for bitsim's tokenizers, from Hugging Face `tokenizers` (PyPI).

Run once after scripts/fetch-models.sh; the output, tokenizer_vectors.json, is committed
and the C++ tests compare against it without Python.

  all-MiniLM-L6-v2: the model's own tokenizer.json (BertNormalizer, BertPreTokenizer,
                    WordPiece, [CLS]/[SEP] template) — the reference tokenizer itself.
  SmolLM2-135M:     a byte-level BPE built from the GGUF's vocabulary and merges, with the
                    pre-tokenizer Hugging Face ships for SmolLM (Digits(individual) then
                    ByteLevel(add_prefix_space=False)); llama.cpp names it "smollm".

  pip install tokenizers gguf && python3 tests/data/tokenizers/gen_tokenizer_vectors.py
"""
import json
import pathlib

import gguf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[3]
PRETRAINED = ROOT / "models" / "pretrained"

TEXTS = [
    "Hello, world!",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "  leading spaces and trailing   ",
    "tabs\tand\nnewlines\n\n  indented",
    "numbers: 3.14159, 2024-11-29, 1,000,000 and 42nd",
    "don't won't I'm you're they've we'll she'd IT'S",
    "Café naïve résumé coöperate Ångström",
    "ÉCOLE façade Straße",
    "東京は日本の首都です。",
    "emoji 🙂👍🏽 and symbols ©®™ ± § ¶",
    "math: x^2 + y_1 <= z~3 | a & b $5 #tag @user `code` {braces} [brackets]",
    "a\u00a0non-breaking\u2003em space\u200bzero-width",
    "ОДНАЖДЫ в студёную зимнюю пору",
    "مرحبا بالعالم",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "URL https://example.com/path?q=1&r=two#frag",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>",
    "trailing newline\n",
    "",
    " ",
    "\n",
    "x" * 120,
    "Mr. Darcy's \"pride\" -- and Elizabeth's 'prejudice'...",
    "C++20 std::vector<int> v{1,2,3}; // comment",
]


def minilm():
    tok = Tokenizer.from_file(str(PRETRAINED / "all-minilm-l6-v2" / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return [{"text": t, "ids": tok.encode(t).ids} for t in TEXTS]


def smollm2():
    reader = gguf.GGUFReader(str(PRETRAINED / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ", 1)) for m in reader.fields["tokenizer.ggml.merges"].contents()]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TEXTS]


def main():
    out = {"minilm": minilm(), "smollm2": smollm2()}
    path = pathlib.Path(__file__).with_name("tokenizer_vectors.json")
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}: {len(TEXTS)} texts per tokenizer")


if __name__ == "__main__":
    main()
