"""Records transformers' slow SiglipTokenizer on zero-shot prompts for the visiontext tests.

Run with the pinned venv (deterministic, offline):
  tools/fixtures/generate.sh $PWD/host/pipeline/visiontext/testdata/gen_siglip_tokens.py
Writes host/pipeline/visiontext/testdata/siglip_tokens.json: the prompts (the pipeline's
hypothesis template around each label) and the input_ids that
ZeroShotImageClassificationPipeline's tokenizer call gives for testdata/models/siglip
(padding="max_length", max_length=64, truncation=True).
"""
import json
import os

import transformers
from transformers import SiglipTokenizer

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", "..", ".."))
tok = SiglipTokenizer.from_pretrained(os.path.join(root, "testdata", "models", "siglip"))
labels = [
    "cat", "a big red car", "Über café", "naïve", "hello, world!", "multiple   spaces",
    "UPPER lower", "x-ray", "1234 numbers", "emoji \U0001F600", "tab\tsep", "日本語",
    "ＡＢＣ full width", "\ufb01 ligature", "", "   ", "a" * 100 + " long",
    "photo of a dog's tail", "x" * 70, "non\u00a0breaking", "ca t", "\u2581underline",
    "line\nbreak", "em\u2003space", "under_score", "quote \"q\" [b] {c}",
]
texts = ["This is a photo of {}.".format(l) for l in labels]
enc = tok(texts, padding="max_length", max_length=64, truncation=True)
out = {
    "transformers": transformers.__version__,
    "tokenizer_kwargs": {"padding": "max_length", "max_length": 64, "truncation": True},
    "labels": labels,
    "texts": texts,
    "input_ids": enc["input_ids"],
}
with open(os.path.join(here, "siglip_tokens.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=None)
    f.write("\n")
print(f"{len(texts)} prompts")
