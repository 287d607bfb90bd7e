"""Writes tests/text/fixture.json: what CPython and scikit-learn compute for
the text vectorizer ops (core/engine/ops_vectorize_test.go reads it).

    .venv/bin/python tests/text/gen_fixture.py

- props: for every code point, CPython's \\w (str patterns), and the
  Cased / Case_Ignorable properties str.lower's Final_Sigma rule uses,
  observed through str.lower itself; lower: str.lower of every code point
  it changes.
- analyze: documents and scikit-learn's word analyzer output (lowercase,
  n-grams, stop words); long documents by repetition, with a digest.
- murmur: sklearn.utils.murmurhash3_32(token, seed=0) of many tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys
import unicodedata

import sklearn
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.utils import murmurhash3_32

PATTERN = re.compile(r"(?u)\b\w\w+\b")
SIGMA, SMALL, FINAL = "\u03a3", "\u03c3", "\u03c2"


def ranges(pred) -> list[list[int]]:
    out, start = [], None
    for cp in range(0x110001):
        ok = cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF and pred(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append([start, cp - 1])
            start = None
    return out


def case_ignorable(cp: int) -> bool:
    # "AΣ" + c: final unless c is cased and not case-ignorable;
    # "AΣ" + c + "a": not final when c is case-ignorable (then 'a' decides).
    c = chr(cp)
    return ("A" + SIGMA + c).lower()[1] == FINAL and ("A" + SIGMA + c + "a").lower()[1] == SMALL


def cased(cp: int) -> bool:  # of the characters that are not case-ignorable
    return ("A" + SIGMA + chr(cp)).lower()[1] == SMALL


CASES = [
    "café naïve 東京 ok", "Café NAÏVE 東京 OK", "İstanbul İİ ıi I", "ΣΑΣ ΟΔΥΣΣΕΥΣ Σ σ ς", "AΣ AΣ. A.Σ AΣ́ AΣ\u200db",
    "ΣΑΣ'Β AΣ'", "Στρατός ΣΤΡΑΤΟΣ ΜΑΣ.", "Straße STRASSE ẞ ß", "2024 1st ½ Ⅻ ٣٤ ① ²³ x²", "__init__ snake_case _ a_ __",
    "cafe\u0301 e\u0301e\u0301 a\u0308b", "👍🏽 ok👍ok 🇫🇷 emoji😀emoji", "ab\x00cd\x00\x00e", "tab\tnew\nline\r\nend",
    "ǅungla ǆ Ǆ", "K K Ω", "ﬁne ﬂow", "ᏣᎳᎩ Ꭰꭰ", "ᲐᲑᲒ აბგ", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีครับ",
    "안녕하세요 세계", "Привет МИР", "𐐀𐐨 𞤀𞤢", "\U00011f04\U00011f05 \U00031350\U00031351 a\U00011f04b", "", " ", "a", "ab",
    "a b c", "it's don't l'été", "e-mail co-op", "3.14 1,000 10:30", "C++ C# .NET", "ÀÉÎÕÜ àéîõü",
    "Ǆ\u0301Σ", "ΑΣ\u0345",
    "Aʰ Σ", "ꭰΣ", "ⅠΣ", "ⓐΣ", "A\u00adΣ\u00ad", "\ufeffBOM text", "ℌℑℜ", "Ⓐⓑ", "ǈǋǲ", "ᾈᾼῌ",
]


def random_docs(n: int) -> list[str]:
    rng = random.Random(7)
    pools = ["abcXYZ_09 ", "ΣσςΑαΒβ'.: ", "İıIiÀé\u0301\u0308\u200d ", "東京안녕ÑñßẞǅK½Ⅻ٣ ", "👍🏽\x00\t\n-,"]
    docs = []
    for _ in range(n):
        pool = "".join(rng.sample(pools, 3))
        docs.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    return docs


def analyzer(lowercase: bool, ngram: tuple[int, int], stop) -> object:
    return CountVectorizer(lowercase=lowercase, ngram_range=ngram, stop_words=stop).build_analyzer()


def main() -> None:
    props = {"word": ranges(lambda cp: re.match(r"\w", chr(cp)) is not None),
             "case_ignorable": ranges(case_ignorable), "cased": ranges(cased)}
    lower = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        low = chr(cp).lower()
        if low != chr(cp):
            lower[str(cp)] = [ord(c) for c in low]
    analyze = []
    docs = CASES + random_docs(400)
    settings = [(True, (1, 1), None), (False, (1, 1), None), (True, (1, 3), None), (True, (2, 2), ["ok", "σας"]),
                (True, (1, 2), "english")]
    for k, doc in enumerate(docs):
        for lc, ng, stop in settings if k < len(CASES) else settings[:2]:
            want = PATTERN.findall(doc.lower() if lc else doc)
            grams = analyzer(lc, ng, stop)(doc)
            stop_list = sorted(ENGLISH_STOP_WORDS) if stop == "english" else stop
            if ng == (1, 1) and stop is None:
                assert grams == want, (doc, grams, want)
            analyze.append({"text": doc, "lowercase": lc, "ngram": list(ng),
                            "stop": stop_list, "grams": grams})
    long = []
    for unit, reps in [("Lorem ipsum ΣΑΣ İstanbul café 東京 ok_1 ", 20000), ("a", 1 << 20), ("ab ", 349525),
                       ("Σ\u0301", 200000), ("AΣ", 250000)]:
        doc = unit * reps
        assert len(doc.encode()) <= 1 << 20
        for lc in (True, False):
            toks = PATTERN.findall(doc.lower() if lc else doc)
            long.append({"unit": unit, "repeat": reps, "lowercase": lc, "count": len(toks),
                         "sha256": hashlib.sha256("\n".join(toks).encode()).hexdigest()})
    rng = random.Random(11)
    tokens = {"", "a", "ab", "abc", "abcd", "abcde", "café", "東京", "ok ok", "i\u0307stanbul", "σας", "\x00", "👍🏽"}
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_ éß東京Σσς👍\x00"
    while len(tokens) < 3000:
        tokens.add("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
    murmur = [[t, int(murmurhash3_32(t, seed=0))] for t in sorted(tokens)]
    meta = {"python": sys.version.split()[0], "unicode": unicodedata.unidata_version, "sklearn": sklearn.__version__}
    out = {"meta": meta, "props": props, "lower": lower, "analyze": analyze, "long": long, "murmur": murmur}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
