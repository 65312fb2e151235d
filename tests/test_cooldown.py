"""CooldownRegistry: scopes, expiry, ordering helpers, bounds, sharing."""

from __future__ import annotations

import math

import pytest

from amplifier_module_model_router.failover.cooldown import CooldownRegistry, shared_cooldowns


def test_free_until_cooled_and_free_again_after_expiry(registry, clock):
    assert registry.remaining("anthropic", "claude-sonnet-5") == 0.0
    registry.cool("anthropic", "claude-sonnet-5", seconds=30, reason="rate_limit")
    assert registry.remaining("anthropic", "claude-sonnet-5") == pytest.approx(30)
    clock.advance(29.5)
    assert registry.remaining("anthropic", "claude-sonnet-5") == pytest.approx(0.5)
    clock.advance(0.5)
    assert registry.remaining("anthropic", "claude-sonnet-5") == 0.0


def test_model_cooldown_leaves_the_providers_other_models_free(registry):
    registry.cool("anthropic", "claude-opus-5", seconds=60)
    assert registry.remaining("anthropic", "claude-opus-5") > 0
    assert registry.remaining("anthropic", "claude-haiku-4-5") == 0.0
    assert registry.remaining("anthropic") == 0.0


def test_provider_cooldown_covers_every_model_and_remaining_is_the_larger(registry):
    registry.cool("openai", seconds=20, reason="unavailable")
    registry.cool("openai", "gpt-5.5", seconds=50, reason="rate_limit")
    assert registry.remaining("openai", "gpt-5.5-mini") == pytest.approx(20)
    assert registry.remaining("openai", "gpt-5.5") == pytest.approx(50)
    assert registry.remaining("openai") == pytest.approx(20)


def test_a_shorter_cooldown_never_cuts_a_longer_one_short(registry):
    registry.cool("anthropic", seconds=1800, reason="auth")
    left = registry.cool("anthropic", seconds=5, reason="unavailable")
    assert left == pytest.approx(1800)
    assert registry.remaining("anthropic", "any") == pytest.approx(1800)
    assert registry.cool("anthropic", seconds=2000) == pytest.approx(2000)


@pytest.mark.parametrize("seconds", [0, -5, math.nan])
def test_non_positive_or_nan_seconds_cool_nothing(registry, seconds):
    assert registry.cool("anthropic", "m", seconds=seconds) == 0.0
    assert registry.remaining("anthropic", "m") == 0.0


def test_names_match_case_insensitively(registry):
    registry.cool("GitHub-Copilot", "Claude-Sonnet-5", seconds=10)
    assert registry.remaining("github-copilot", "claude-sonnet-5") > 0


def test_first_free_and_soonest_free(registry):
    chain = [("anthropic", "a"), ("openai", "b"), ("gemini", "c")]
    registry.cool("anthropic", "a", seconds=100)
    assert registry.first_free(chain) == ("openai", "b")
    registry.cool("openai", seconds=10)
    registry.cool("gemini", "c", seconds=40)
    assert registry.first_free(chain) is None
    assert registry.soonest_free(chain) == ("openai", "b")
    assert registry.soonest_free([]) is None


def test_helpers_accept_any_candidate_type_with_a_key(registry):
    class Cand:
        def __init__(self, name: str, model: str) -> None:
            self.name, self.model = name, model

    chain = [Cand("anthropic", "a"), Cand("openai", "b")]
    registry.cool("anthropic", "a", seconds=5)
    assert registry.first_free(chain, key=lambda c: (c.name, c.model)) is chain[1]


def test_registry_stays_bounded_and_evicts_the_soonest_to_expire(clock):
    registry = CooldownRegistry(clock=clock, max_entries=50)
    registry.cool("keeper", seconds=10_000)
    for i in range(5_000):
        registry.cool("p", f"model-{i}", seconds=60 + i % 7)
    assert len(registry) <= 50
    assert registry.remaining("keeper") > 0, "the longest cooldown survives eviction"


def test_ended_entries_are_swept_after_the_probe_window(clock):
    registry = CooldownRegistry(clock=clock, keep_ended_s=60)
    for i in range(20):
        registry.cool("p", f"m{i}", seconds=5)
    registry.cool("q", seconds=500)
    clock.advance(6)
    active = registry.active()
    assert [(c.provider, c.model, c.scope) for c in active] == [("q", None, "provider")]
    clock.advance(60)
    registry.active()
    assert len(registry) == 1


def test_one_probe_after_a_cooldown_ends_then_the_others_wait_for_its_outcome(clock):
    registry = CooldownRegistry(clock=clock, probe_lease_s=10)
    registry.cool("anthropic", "claude-sonnet-5", seconds=30, reason="rate_limit")
    assert registry.claim("anthropic", "claude-sonnet-5") is False, "still cooling"
    clock.advance(30)
    assert registry.claim("anthropic", "claude-sonnet-5") is True, "the first caller probes"
    assert registry.claim("anthropic", "claude-sonnet-5") is False, "siblings wait for the probe"
    assert registry.remaining("anthropic", "claude-sonnet-5") == pytest.approx(10)
    (lease,) = registry.active()
    assert lease.probing and lease.reason == "rate_limit"
    assert registry.claim("anthropic", "claude-haiku-4-5") is True, "other models are not held"

    registry.cool("anthropic", "claude-sonnet-5", seconds=30)  # the probe got another 429
    assert registry.remaining("anthropic", "claude-sonnet-5") == pytest.approx(30)
    clock.advance(30)
    assert registry.claim("anthropic", "claude-sonnet-5") is True
    registry.settle("anthropic", "claude-sonnet-5")  # the probe answered
    assert registry.claim("anthropic", "claude-sonnet-5") is True
    assert registry.claim("anthropic", "claude-sonnet-5") is True, "healthy again: no lease"
    assert len(registry) == 0


def test_a_probe_lease_runs_out_on_its_own(clock):
    registry = CooldownRegistry(clock=clock, probe_lease_s=10)
    registry.cool("openai", seconds=5)
    clock.advance(5)
    assert registry.claim("openai", "gpt-5.5") is True
    clock.advance(10)
    assert registry.claim("openai", "gpt-5.5") is True


def test_settle_keeps_a_cooldown_set_meanwhile(registry, clock):
    registry.cool("openai", "gpt-5.5", seconds=5)
    clock.advance(5)
    assert registry.claim("openai", "gpt-5.5")
    registry.cool("openai", seconds=60)  # a sibling saw the provider go down
    registry.settle("openai", "gpt-5.5")
    assert registry.remaining("openai", "gpt-5.5") == pytest.approx(60)
    registry.settle("openai", "gpt-5.5", proven=True)  # it answered while cooling
    assert registry.remaining("openai", "gpt-5.5") == 0.0


def test_active_reports_reason_and_time_left_soonest_first(registry, clock):
    registry.cool("openai", "gpt-5.5", seconds=30, reason="rate_limit (RateLimitError)")
    registry.cool("anthropic", seconds=10, reason="unavailable")
    clock.advance(4)
    first, second = registry.active()
    assert (first.provider, first.reason, first.remaining) == ("anthropic", "unavailable", pytest.approx(6))
    assert (second.model, second.scope, second.remaining) == ("gpt-5.5", "model", pytest.approx(26))


def test_clear_scopes(registry):
    registry.cool("a", "m1", seconds=10)
    registry.cool("a", "m2", seconds=10)
    registry.cool("b", seconds=10)
    registry.clear("a", "m1")
    assert registry.remaining("a", "m1") == 0 and registry.remaining("a", "m2") > 0
    registry.clear("a")
    assert registry.remaining("a", "m2") == 0 and registry.remaining("b") > 0
    registry.clear()
    assert len(registry) == 0


def test_cool_needs_a_provider_and_max_entries_must_be_positive(registry):
    with pytest.raises(ValueError):
        registry.cool("", seconds=1)
    with pytest.raises(ValueError):
        CooldownRegistry(max_entries=0)


def test_shared_registry_is_one_instance_per_process():
    assert shared_cooldowns() is shared_cooldowns()
