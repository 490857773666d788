from triage.flow import (
    CHECKS,
    GATE,
    NONE_OF_THESE,
    PATTERN,
    PIVOT,
    FlowRunbook,
    FlowStep,
    checks_for,
    progress,
    runbook_stack,
)

RB = FlowRunbook(
    id=1,
    has_gate=True,
    cause_ids=(10, 11, 12),
    pattern_causes={100: (10, 12), 101: ()},
    check_ids=(20, 21, 22),
    check_causes={20: (10, 11), 21: (12,), 22: ()},
)


def step(kind, **kw) -> FlowStep:
    return FlowStep(kind=kind, runbook_id=kw.pop("runbook_id", 1), **kw)


def test_progress_starts_at_the_gate():
    assert progress(RB, []).stage == GATE


def test_progress_gate_yes_offers_pivots_and_no_asks_for_pattern():
    assert progress(RB, [step("gate", gate_holds=True)]).stage == PIVOT
    assert progress(RB, [step("gate", gate_holds=False)]).stage == PATTERN


def test_progress_later_answer_wins():
    steps = [step("gate", gate_holds=True), step("gate", gate_holds=False)]
    assert progress(RB, steps).stage == PATTERN


def test_progress_pattern_limits_candidates_and_recommends_first_check():
    state = progress(RB, [step("gate", gate_holds=False), step("pattern", pattern_id=100)])
    assert state.stage == CHECKS
    assert state.candidates == [10, 12]
    assert state.best_guess == 10
    assert state.next_check == (10, 20)


def test_progress_ruling_out_moves_to_the_next_cause():
    steps = [
        step("gate", gate_holds=False),
        step("pattern", pattern_id=100),
        step("check", check_id=20, cause_id=10, result="rules_out"),
    ]
    state = progress(RB, steps)
    assert state.ruled_out == [10]
    assert state.candidates == [12]
    assert state.next_check == (12, 21)


def test_progress_confirmation_ends_the_search():
    steps = [
        step("gate", gate_holds=False),
        step("pattern", pattern_id=100),
        step("check", check_id=20, cause_id=10, result="confirms"),
    ]
    state = progress(RB, steps)
    assert state.confirmed == [10]
    assert state.best_guess == 10
    assert state.next_check is None


def test_progress_none_of_these_considers_every_cause():
    state = progress(RB, [step("gate", gate_holds=False), step("pattern", pattern_id=None)])
    assert state.pattern_id == NONE_OF_THESE
    assert state.candidates == [10, 11, 12]


def test_progress_inconclusive_check_is_not_recommended_again():
    steps = [
        step("gate", gate_holds=False),
        step("pattern", pattern_id=None),
        step("check", check_id=20, cause_id=10, result="inconclusive"),
    ]
    state = progress(RB, steps)
    assert state.next_check is not None and state.next_check[1] != 20


def test_progress_recommends_by_probability_times_speed():
    learned = FlowRunbook(
        id=1,
        has_gate=False,
        cause_ids=(10, 11),
        pattern_causes={},
        check_ids=(20, 21),
        check_causes={20: (10,), 21: (11,)},
        probabilities={NONE_OF_THESE: {10: 0.3, 11: 0.6}},
        minutes={20: 2.0, 21: 10.0},
        detection={(20, 10): 1.0, (20, 11): 0.0, (21, 10): 0.0, (21, 11): 1.0},
    )
    state = progress(learned, [step("pattern", pattern_id=None)])
    assert state.candidates == [11, 10]  # learned probability reorders the causes
    assert state.best_guess == 11
    # but the fast check for the less likely cause is worth more per minute: 0.33/2 > 0.67/10
    assert state.next_check == (10, 20)
    assert round(state.next_efficiency, 3) == round((0.3 / 0.9) / 2.0, 3)


def test_progress_renormalises_after_a_cause_is_ruled_out():
    steps = [
        step("gate", gate_holds=False),
        step("pattern", pattern_id=None),
        step("check", check_id=20, cause_id=10, result="rules_out"),
    ]
    state = progress(RB, steps)
    assert 10 not in state.probabilities
    assert abs(sum(state.probabilities.values()) - 1.0) < 1e-12


def test_progress_without_gate_goes_straight_to_patterns():
    no_gate = FlowRunbook(2, False, (1,), {}, (), {})
    assert progress(no_gate, []).stage == PATTERN


def test_progress_ignores_steps_taken_in_other_runbooks():
    assert progress(RB, [step("gate", gate_holds=False, runbook_id=2)]).stage == GATE


def test_checks_for_falls_back_to_every_check_when_none_is_linked():
    assert checks_for(RB, 12) == [21]
    assert checks_for(RB, 99) == [22]  # no linked check: the general ones (linked to nothing)
    assert checks_for(FlowRunbook(3, False, (1,), {}, (5, 6), {}), 1) == [5, 6]


def test_runbook_stack_follows_drills_returns_and_pivots():
    steps = [step("drill", target_id=2), step("drill", target_id=3), step("return")]
    assert runbook_stack(1, steps) == [1, 2]
    assert runbook_stack(1, [*steps, step("pivot", target_id=9)]) == [9]
    assert runbook_stack(1, [step("return")]) == [1]
