"""Properties of the routing core that must hold for every input."""

from hypothesis import given, settings
from hypothesis import strategies as st

from llmcontrol.routing import RouteRequest, bucket_for, decide
from tests.routing.factories import snapshot

STAGES = st.sampled_from([0, 5, 25, 50, 100])
names = st.one_of(st.none(), st.sampled_from(["EXEC", "PLAN", "TESTING", "QUICKFIX",
                                              "classification", "security", "generation"]),
                  st.text(max_size=12))
requests = st.builds(RouteRequest, purpose=names, sub_agent=names, phase=names,
                     allow_local=st.booleans(), routing_key=st.one_of(st.none(), st.text()),
                     local_enabled=st.booleans())


@given(requests, STAGES, STAGES, STAGES)
def test_opus_is_never_local(request_: RouteRequest, haiku: int, sonnet: int, opus: int) -> None:
    decision = decide(request_, snapshot(stages={"haiku": haiku, "sonnet": sonnet, "opus": opus}))
    if decision.tier == "opus":
        assert decision.local is False


@given(requests, STAGES)
def test_use_local_llm_off_is_never_local(request_: RouteRequest, stage: int) -> None:
    off = RouteRequest(**{**{f: getattr(request_, f) for f in RouteRequest.__slots__},
                          "local_enabled": False})
    decision = decide(off, snapshot(stages={"haiku": stage, "sonnet": stage}))
    assert decision.local is False


@given(st.text(), STAGES)
def test_the_same_key_always_gets_the_same_answer(key: str, stage: int) -> None:
    snap = snapshot(stages={"haiku": stage})
    request_ = RouteRequest(purpose="classification", routing_key=key, local_enabled=True)
    first = decide(request_, snap)
    for _ in range(3):
        again = decide(request_, snap)
        assert (again.bucket, again.local, again.model) == (first.bucket, first.local, first.model)


@settings(max_examples=5, deadline=None)
@given(STAGES)
def test_share_routed_local_matches_the_stage(stage: int) -> None:
    snap = snapshot(stages={"haiku": stage})
    keys = 100_000
    local = sum(
        decide(RouteRequest(purpose="classification", routing_key=f"user-{i}", local_enabled=True),
               snap).local
        for i in range(keys)
    )
    assert abs(local / keys - stage / 100) <= 0.01, f"stage {stage}%: {local / keys:.4f} local"


def test_buckets_are_uniform_enough() -> None:
    counts = [0] * 10
    for i in range(100_000):
        counts[bucket_for(f"session-{i}") // 1000] += 1
    assert max(counts) - min(counts) < 1_000, counts
