"""The streamed line reader (issue 8 deliverable 4, read in blocks since stop 10): lines
split on ``\\n`` only, numbered from 1, whatever the block boundaries; a line longer than
the bound is refused naming its line, without reading it whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.checker import replay
from asfl.checker.replay import Unusable


def expected(data: bytes) -> list[tuple[int, bytes]]:
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # a final newline ends the last line, it starts none
    return list(enumerate(parts, 1))


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\xe2\x80\xa8", b"\n\n", b" "]), max_size=40),
    block=st.integers(1, 9),
)
def test_lines_split_on_newline_only_across_blocks(
    tmp_path_factory: pytest.TempPathFactory, data: list[bytes], block: int
) -> None:
    raw = b"".join(data)
    f = tmp_path_factory.getbasetemp() / "lines.jsonl"  # one file, rewritten per example
    f.write_bytes(raw)
    old = replay.BLOCK
    replay.BLOCK = block
    try:
        assert list(replay._lines(f)) == expected(raw)
    finally:
        replay.BLOCK = old


@pytest.mark.parametrize("block", [1, 3, 4, 64])
def test_line_over_the_bound_is_named(tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "BLOCK", block)
    monkeypatch.setattr(replay, "MAX_LINE_BYTES", 5)
    f = tmp_path / "t.jsonl"
    f.write_bytes(b"ab\n12345\n" + b"x" * 6 + b"\nc\n")
    got = []
    with pytest.raises(Unusable) as exc:
        for n, line in replay._lines(f):
            got.append((n, line))
    assert exc.value.line == 3 and "longer than 5 bytes" in exc.value.message
    assert got == [(1, b"ab"), (2, b"12345")]  # the lines before it were read
    f.write_bytes(b"ab\n" + b"y" * 9)  # unterminated last line, over the bound
    with pytest.raises(Unusable) as exc:
        list(replay._lines(f))
    assert exc.value.line == 2
