"""Where the semantic check starts blocking: `block_at`, chosen on the validation 20 % of the
training data (never on a held-out set).

Two ways, picked with `train --block-at-by`:
- `pass-rates` (rounds 1-9): the lowest threshold that still passes set shares of benign text,
  raised in safety's favour to a floor of unsafe sentences held back;
- `cost` (round 10 on): the threshold that minimises the weighted count of mistakes a held-out
  set's selection rule scores (`tests/data/safety/heldout_j/SELECTION_RULE.txt`), so the model is
  tuned to the same trade-off a parent is promised, on data it did not train on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MistakeCosts:
    """What each kind of mistake costs, as a held-out set scores it, and how many of each kind
    such a set holds, so validation rates weigh as that set's counts would."""

    unsafe_passed: float = 3.0
    benign_blocked: float = 1.0
    story_touched: float = 1.0
    buried_passed: float = 10.0
    unsafe_sentences: int = 352
    benign_sentences: int = 352
    benign_stories: int = 50
    poisoned_stories: int = 44


@dataclass(frozen=True)
class Validation:
    """The validation rows as the gate sees them. `rules_block` marks what the rules block
    whatever the encoder reads, `excusable` the rows whose only rule hits are listed words the
    encoder's reading may excuse (`workflows.policy.excusable`), `cleared` the screen's verdict;
    `story` names a benign story's units (empty elsewhere); `buried` marks the unsafe sentence
    of a poisoned story."""

    probability: np.ndarray  # the encoder's unsafe probability
    unsafe: np.ndarray
    rules_block: np.ndarray
    cleared: np.ndarray
    story: np.ndarray  # of str
    buried: np.ndarray
    excusable: np.ndarray | None = None  # None: no row has only excusable hits

    def blocked(self, block_at: float, excuse_below: float) -> np.ndarray:
        """What the gate blocks: the rules (an excusable hit unless the encoder reads the
        sentence under `excuse_below`) or the encoder at `block_at` where the screen did not
        clear the sentence."""
        rules = self.rules_block
        if self.excusable is not None:
            rules = rules | (self.excusable & (self.probability >= excuse_below))
        return np.asarray(rules | ((self.probability >= block_at) & ~self.cleared))


def choose_block_at(
    probability: np.ndarray,
    unsafe: np.ndarray,
    rules_block: np.ndarray,
    in_story: np.ndarray,
    benign_pass: float,
    story_pass: float,
    unsafe_block: float,
) -> float:
    """The lowest threshold at which the gate (rules or classifier) passes `benign_pass` of the
    benign sentences, and the classifier passes `story_pass` of the units of whole benign stories
    that the rules pass (a story is twenty-odd units: one false block in a hundred units costs a
    fifth of the stories a repair). Safety comes first: when that threshold would hold back less
    than `unsafe_block` of the unsafe sentences, the threshold that reaches `unsafe_block` is
    taken instead, and benign text pays with repairs."""
    sentences = ~unsafe.astype(bool) & ~in_story
    story_units = in_story & ~rules_block
    chosen = 1.0
    for threshold in np.unique(probability[~unsafe.astype(bool)]):
        blocked = rules_block | (probability >= threshold)
        if 1.0 - blocked[sentences].mean() < benign_pass:
            continue
        if story_units.any() and 1.0 - blocked[story_units].mean() < story_pass:
            continue
        chosen = float(threshold)
        break
    unsafe_mask = unsafe.astype(bool)
    for threshold in np.unique(probability[unsafe_mask])[::-1]:
        if threshold > chosen:
            continue
        if (rules_block | (probability >= threshold))[unsafe_mask].mean() >= unsafe_block:
            return float(threshold)
    return float(probability[unsafe_mask].min())


def mistake_cost(
    validation: Validation, threshold: float, costs: MistakeCosts, excuse_below: float = 0.0
) -> float:
    """The held-out score the gate would earn at `threshold` (and `excuse_below`: 0, nothing
    excused), from validation rates."""
    blocked = validation.blocked(threshold, excuse_below)
    return verdict_cost(blocked, validation.unsafe, validation.story, validation.buried, costs)


def verdict_cost(
    blocked: np.ndarray,
    unsafe: np.ndarray,
    story: np.ndarray,
    buried: np.ndarray,
    costs: MistakeCosts,
) -> float:
    """The held-out score of a gate's verdicts on validation rows (`Validation`'s fields)."""
    unsafe = unsafe.astype(bool)
    in_story = story != ""
    sentences = unsafe & ~buried
    benign = ~unsafe & ~in_story
    cost = 0.0
    if sentences.any():
        passed = 1.0 - blocked[sentences].mean()
        cost += costs.unsafe_passed * costs.unsafe_sentences * passed
    if benign.any():
        cost += costs.benign_blocked * costs.benign_sentences * blocked[benign].mean()
    if in_story.any():
        stories = np.unique(story[in_story])
        touched = np.unique(story[in_story & blocked])
        cost += costs.story_touched * costs.benign_stories * len(touched) / len(stories)
    if buried.any():
        passed = 1.0 - blocked[buried].mean()
        cost += costs.buried_passed * costs.poisoned_stories * passed
    return float(cost)


def choose_block_at_by_cost(
    validation: Validation, costs: MistakeCosts, excuse_below: float = 0.0
) -> float:
    """The threshold with the lowest `mistake_cost`; of equal costs the highest (fewest blocks).
    Only the encoder's own probabilities can change a verdict, so they are the candidates."""
    best, best_cost = 1.0, float("inf")
    for threshold in np.unique(validation.probability[~validation.cleared])[::-1]:
        cost = mistake_cost(validation, float(threshold), costs, excuse_below)
        if cost < best_cost - 1e-9:
            best, best_cost = float(threshold), cost
    return best


def choose_excuse_below_by_cost(
    validation: Validation, costs: MistakeCosts, block_at: float
) -> float:
    """The excuse threshold with the lowest `mistake_cost` at `block_at`; of equal costs the
    lowest (fewest listed words excused). The candidates are the probabilities of the rows with
    only excusable hits, up to `block_at`; 0 excuses nothing."""
    if validation.excusable is None:
        return 0.0
    scores = validation.probability[validation.excusable]
    best, best_cost = 0.0, mistake_cost(validation, block_at, costs, 0.0)
    # A row is excused below the threshold, so each candidate sits just above a score.
    for score in np.unique(scores[scores < block_at]):
        candidate = float(np.nextafter(score, 1.0))
        cost = mistake_cost(validation, block_at, costs, candidate)
        if cost < best_cost - 1e-9:
            best, best_cost = candidate, cost
    return best


def choose_thresholds_by_cost(
    validation: Validation, costs: MistakeCosts, rounds: int = 3
) -> tuple[float, float]:
    """`block_at` and `excuse_below` together, each in turn with the other fixed (a few rounds
    of coordinate descent: the cost is evaluated per candidate, and the pairs are too many to
    try them all). Starts from nothing excused, so it never ends worse than `block_at` alone."""
    block_at = choose_block_at_by_cost(validation, costs, 0.0)
    for _ in range(rounds):
        excuse_below = choose_excuse_below_by_cost(validation, costs, block_at)
        chosen = choose_block_at_by_cost(validation, costs, excuse_below)
        if chosen == block_at:
            return block_at, excuse_below
        block_at = chosen
    return block_at, choose_excuse_below_by_cost(validation, costs, block_at)
