"""Writing a generated block into docs/BENCHMARKS.md (shared by the benchmarks)."""

from __future__ import annotations

from pathlib import Path


def replace_block(doc: Path, begin: str, end: str, body: str) -> None:
    """Replaces the text between the markers begin and end (inclusive) with
    begin, body and end; appends the block when the markers are absent."""
    text = doc.read_text()
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)
