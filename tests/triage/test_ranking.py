"""The ranking maths of DESIGN.md §6 against hand-computed values."""

from datetime import UTC, datetime, timedelta

import pytest

from triage.ranking import (
    RankingParams,
    add_observation,
    after_miss,
    decay_factor,
    decayed,
    detection_probability,
    dirichlet_prior,
    efficiency,
    expected_cost,
    greedy_order,
    harmonic,
    learned_minutes,
    pattern_prior,
    posterior,
    rank_causes,
    without,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_dirichlet_prior_matches_hand_computation():
    # K=3, S=4: H_3 = 1 + 1/2 + 1/3 = 11/6; a_k = 4 * (1/k) / (11/6)
    assert harmonic(3) == pytest.approx(11 / 6)
    assert dirichlet_prior(3, 4.0) == pytest.approx([24 / 11, 12 / 11, 8 / 11])
    assert sum(dirichlet_prior(5, 4.0)) == pytest.approx(4.0)


def test_posterior_matches_hand_computation():
    prior = [24 / 11, 12 / 11, 8 / 11]
    # counts n = [0, 3, 1], unlisted a_0 = 0.5 with n_0 = 0.5: total = 4 + 4 + 1 = 9
    listed, unlisted = posterior(prior, [0, 3, 1], 0.5, 0.5)
    assert listed == pytest.approx([(24 / 11) / 9, (12 / 11 + 3) / 9, (8 / 11 + 1) / 9])
    assert unlisted == pytest.approx(1 / 9)
    assert sum(listed) + unlisted == pytest.approx(1.0)


def test_no_sessions_ranks_in_authored_order():
    keys = ["a", "b", "c", "d"]
    ranked, unlisted = rank_causes(keys, dirichlet_prior(4, 4.0), {}, {}, 0.5, 0.0)
    assert [c.key for c in ranked] == keys
    assert [c.authored_rank for c in ranked] == [1, 2, 3, 4]
    assert unlisted == pytest.approx(0.5 / 4.5)


def test_evidence_reorders_causes():
    keys = ["a", "b", "c"]
    ranked, _ = rank_causes(keys, dirichlet_prior(3, 4.0), {"c": 5.0}, {"c": 5}, 0.5, 0.0)
    assert [c.key for c in ranked] == ["c", "a", "b"]
    assert ranked[0].confirmations == 5


def test_without_renormalises_after_a_ruled_out_cause():
    probs = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert without(probs, {"a"}) == pytest.approx({"b": 0.6, "c": 0.4})
    assert without({"a": 1.0}, {"a"}) == {}


def test_decay_halves_weight_every_half_life():
    assert decay_factor(180, 180) == pytest.approx(0.5)
    assert decay_factor(360, 180) == pytest.approx(0.25)
    assert decay_factor(1000, None) == 1.0
    assert decayed(2.0, T0, T0 + timedelta(days=90), 180) == pytest.approx(2 * 2**-0.5)


def test_add_observation_is_incremental_and_order_independent():
    times = [T0 + timedelta(days=d) for d in (0, 10, 45, 200)]
    direct = sum(decay_factor((times[-1] - t).days, 180) for t in times)
    weight, as_of = 0.0, None
    for t in times:
        weight, as_of = add_observation(weight, as_of, t, 180)
    assert as_of == times[-1]
    assert weight == pytest.approx(direct, rel=1e-12)
    shuffled, as_of2 = 0.0, None
    for t in (times[2], times[0], times[3], times[1]):
        shuffled, as_of2 = add_observation(shuffled, as_of2, t, 180)
    assert decayed(shuffled, as_of2, times[-1], 180) == pytest.approx(direct, rel=1e-12)


def test_pattern_prior_spreads_strength_over_linked_causes():
    params = RankingParams()
    prior = pattern_prior(3, {1}, params)
    assert sum(prior) == pytest.approx(4.0)
    # weights 1*0.1, 1/2*1, 1/3*0.1 → normalised
    raw = [0.1, 0.5, 0.1 / 3]
    assert prior == pytest.approx([4 * w / sum(raw) for w in raw])
    assert pattern_prior(3, set(), params) == pytest.approx(dirichlet_prior(3, 4.0))


def test_learned_minutes_moves_from_authored_toward_recorded():
    assert learned_minutes(10, 0, 0, 2) == 10
    assert learned_minutes(10, 2, 4, 2) == pytest.approx((10 * 2 + 4) / 4)
    assert learned_minutes(10, 1000, 2000, 2) == pytest.approx(2.0, rel=0.01)


def test_detection_probability_has_linked_and_unlinked_priors():
    params = RankingParams()
    assert detection_probability(True, 0, 0, params) == pytest.approx(0.9)
    assert detection_probability(False, 0, 0, params) == pytest.approx(0.05)
    assert detection_probability(True, 8, 2, params) == pytest.approx((0.9 * 2 + 2) / 10)


def test_efficiency_and_greedy_order_prefer_likely_and_fast():
    probs = {"a": 0.6, "b": 0.4}
    detection = {("ka", "a"): 1.0, ("kb", "b"): 1.0}
    minutes = {"ka": 10.0, "kb": 2.0}
    assert efficiency("ka", probs, detection, minutes) == pytest.approx(0.06)
    assert efficiency("kb", probs, detection, minutes) == pytest.approx(0.2)
    assert greedy_order(["ka", "kb"], probs, detection, minutes) == ["kb", "ka"]


def test_after_miss_is_bayes_rule():
    updated = after_miss({"a": 0.5, "b": 0.5}, {("k", "a"): 0.8}, "k")
    assert updated == pytest.approx({"a": 0.1 / 0.6, "b": 0.5 / 0.6})


def test_expected_cost_matches_hand_computation():
    probs = {"a": 0.5, "b": 0.3, "c": 0.2}
    detection = {("ka", "a"): 1.0, ("kb", "b"): 1.0, ("kc", "c"): 1.0}
    minutes = {"ka": 1.0, "kb": 2.0, "kc": 3.0}
    # 1*1 + 2*(1-0.5) + 3*(1-0.8) = 2.6
    assert expected_cost(["ka", "kb", "kc"], probs, detection, minutes) == pytest.approx(2.6)
    # reversed: 3*1 + 2*0.8 + 1*0.5 = 5.1
    assert expected_cost(["kc", "kb", "ka"], probs, detection, minutes) == pytest.approx(5.1)
    best = greedy_order(["kc", "kb", "ka"], probs, detection, minutes)
    assert expected_cost(best, probs, detection, minutes) == pytest.approx(2.6)
