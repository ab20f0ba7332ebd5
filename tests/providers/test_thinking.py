"""The think-tag filter: examples, and the property that chunking never changes the result."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmcontrol.providers.thinking import ThinkFilter, split_thinking


@pytest.mark.parametrize(("text", "answer", "reasoning", "leaked"), [
    ("plain answer", "plain answer", "", False),
    ("<think>plan</think>\n\nanswer", "answer", "plan", True),
    ("<thinking>plan</thinking>answer", "answer", "plan", True),
    ("<think>never closed", "", "never closed", True),
    ("a <think>b</think> c", "a c", "b", True),
    ("<think>one</think>x<think>two</think>y", "xy", "onetwo", True),
    ("stray </think> closing tag", "stray closing tag", "", True),
    ("<think>a</thinking>b</think>c", "c", "a</thinking>b", True),  # closes only its own tag
    ("1 < 2 and <b>bold</b>", "1 < 2 and <b>bold</b>", "", False),
    ("ends with <thi", "ends with <thi", "", False),  # a tag prefix at the end is text
    ("<THINK>upper</THINK>", "<THINK>upper</THINK>", "", False),
])
def test_split_thinking(text: str, answer: str, reasoning: str, leaked: bool) -> None:
    assert split_thinking(text) == (answer, reasoning, leaked)


def test_tag_split_across_chunks_is_never_shown_as_answer() -> None:
    thinking = ThinkFilter()

    out = [thinking.feed(chunk) for chunk in ["Hi <", "thi", "nk>secret</", "think>", " there"]]

    assert out == [[(False, "Hi ")], [], [(True, "secret")], [], [(False, "there")]]
    assert thinking.flush() == []
    assert thinking.leaked is True


def test_reasoning_streams_out_before_the_closing_tag_arrives() -> None:
    thinking = ThinkFilter()

    assert thinking.feed("<think>step one, ") == [(True, "step one, ")]
    assert thinking.feed("step two</th") == [(True, "step two")]
    assert thinking.feed("ink>done") == [(False, "done")]


PIECES = ["<think>", "</think>", "<thinking>", "</thinking>", "<", ">", "/", "think", "ing",
          "t", "h", "a", " ", "\n", "<th", "nk>", "ink>", "</"]


@st.composite
def text_and_chunking(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = "".join(draw(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=25)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@given(text_and_chunking())
def test_any_chunking_gives_the_same_answer_and_reasoning(case: tuple[str, list[str]]) -> None:
    text, chunks = case
    thinking = ThinkFilter()
    segments = [s for chunk in chunks for s in thinking.feed(chunk)] + thinking.flush()

    answer = "".join(t for is_reasoning, t in segments if not is_reasoning)
    reasoning = "".join(t for is_reasoning, t in segments if is_reasoning)
    assert (answer, reasoning, thinking.leaked) == split_thinking(text)
    assert all(t for _, t in segments)  # no empty deltas


@given(st.text(alphabet=st.characters(blacklist_characters="<")))
def test_text_without_tags_passes_through_untouched(text: str) -> None:
    assert split_thinking(text) == (text, "", False)


@given(st.text(max_size=40))
def test_nothing_is_lost_except_tags_and_the_space_after_closing_ones(text: str) -> None:
    answer, reasoning, leaked = split_thinking(text)
    if not leaked:
        assert (answer, reasoning) == (text, "")
    else:
        assert len(answer) + len(reasoning) < len(text)
