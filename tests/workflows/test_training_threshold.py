"""Where the semantic check starts blocking (`workflows/safety/training/threshold.py`): the
mistake cost a held-out set's selection rule scores, from validation rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from workflows.safety.training.threshold import (
    MistakeCosts,
    Validation,
    choose_block_at_by_cost,
    choose_excuse_below_by_cost,
    choose_thresholds_by_cost,
    mistake_cost,
)

# Every count 1, so each cost is the weight times a share.
ONE_EACH = MistakeCosts(
    unsafe_sentences=1, benign_sentences=1, benign_stories=1, poisoned_stories=1
)


def validation(
    rows: list[tuple[float, bool, str, bool]],
    rules_block: list[bool] | None = None,
    cleared: list[bool] | None = None,
) -> Validation:
    """Rows of (unsafe probability, unsafe, benign story id or "", buried)."""
    count = len(rows)
    return Validation(
        probability=np.array([row[0] for row in rows]),
        unsafe=np.array([int(row[1]) for row in rows]),
        rules_block=np.array(rules_block or [False] * count),
        cleared=np.array(cleared or [False] * count),
        story=np.array([row[2] for row in rows]),
        buried=np.array([row[3] for row in rows]),
    )


def test_the_cost_weighs_each_kind_of_mistake_by_its_rate_and_weight() -> None:
    rows = validation(
        [
            (0.95, True, "", False),  # unsafe sentence, blocked at 0.9
            (0.50, True, "", False),  # unsafe sentence, passed: half of them
            (0.92, False, "", False),  # benign sentence, blocked: half of them
            (0.10, False, "", False),
            (0.91, False, "s1", False),  # story s1 touched: one of two stories
            (0.10, False, "s1", False),
            (0.20, False, "s2", False),
            (0.30, True, "", True),  # buried sentence passed: all of them
        ]
    )
    assert mistake_cost(rows, 0.9, ONE_EACH) == 3.0 * 0.5 + 1.0 * 0.5 + 1.0 * 0.5 + 10.0 * 1.0


def test_what_the_rules_block_counts_as_blocked_and_what_the_screen_clears_does_not() -> None:
    rows = validation(
        [(0.10, True, "", False), (0.99, True, "", False)],
        rules_block=[True, False],
        cleared=[False, True],
    )
    # The first is held back by the rules, the second cleared before the encoder: one in two
    # unsafe sentences passes.
    assert mistake_cost(rows, 0.5, ONE_EACH) == 3.0 * 0.5


def test_a_buried_sentence_weighs_enough_to_lower_the_threshold() -> None:
    rows = validation(
        [
            (0.99, True, "", False),
            (0.40, True, "", True),  # buried, passed unless block_at <= 0.40
            (0.50, False, "", False),
            (0.45, False, "", False),
            (0.10, False, "", False),
            (0.10, False, "", False),
        ]
    )
    # At 0.40 both benign sentences above it are blocked (cost 0.5), against 10 for the buried one.
    assert choose_block_at_by_cost(rows, ONE_EACH) == 0.40
    assert choose_block_at_by_cost(rows, replace(ONE_EACH, benign_blocked=30.0)) == 0.99


def test_of_equal_costs_the_highest_threshold_is_kept() -> None:
    rows = validation([(0.99, True, "", False), (0.80, False, "", False), (0.70, False, "", False)])
    # 0.99 and anything in (0.80, 0.99] cost the same (nothing missed, nothing blocked).
    assert choose_block_at_by_cost(rows, ONE_EACH) == 0.99


def test_an_excuse_threshold_frees_listed_words_the_encoder_reads_as_safe() -> None:
    # Two benign sentences with a listed word (0.81, 0.83), one unsafe one (0.97), all blocked
    # by the rules unless excused; block_at 0.95 blocks the unsafe one anyway.
    rows = validation([(0.81, False, "", False), (0.83, False, "", False), (0.97, True, "", False)])
    listed = replace(rows, excusable=np.array([True, True, True]))
    assert mistake_cost(listed, 0.95, ONE_EACH, 0.0) == 1.0  # both benign blocked
    excuse = choose_excuse_below_by_cost(listed, ONE_EACH, 0.95)
    assert 0.83 < excuse < 0.831
    assert mistake_cost(listed, 0.95, ONE_EACH, excuse) == 0.0


def test_an_excuse_that_would_free_an_unsafe_sentence_is_not_taken_when_it_costs_more() -> None:
    # Excusing the benign 0.90 would also excuse the unsafe 0.85: 3 for the unsafe sentence
    # passed against 1 for the benign one blocked, so nothing is excused.
    rows = validation([(0.90, False, "", False), (0.85, True, "", False)])
    listed = replace(rows, excusable=np.array([True, True]))
    assert choose_excuse_below_by_cost(listed, ONE_EACH, 0.99) == 0.0


def test_block_at_and_the_excuse_are_chosen_together_and_never_cost_more_than_block_at_alone() -> (
    None
):
    rows = validation(
        [
            (0.81, False, "", False),  # listed word, benign
            (0.97, True, "", False),  # listed word, unsafe
            (0.93, True, "", False),  # unsafe, no listed word
            (0.20, False, "s1", False),
        ]
    )
    listed = replace(rows, excusable=np.array([True, True, False, False]))
    block_at, excuse = choose_thresholds_by_cost(listed, ONE_EACH)
    alone = choose_block_at_by_cost(listed, ONE_EACH)
    assert mistake_cost(listed, block_at, ONE_EACH, excuse) <= mistake_cost(listed, alone, ONE_EACH)
    assert mistake_cost(listed, block_at, ONE_EACH, excuse) == 0.0
    assert validation([(0.5, False, "", False)]).excusable is None
