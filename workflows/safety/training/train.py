"""Trains the semantic sentence check: writes `workflows/safety/classifier/safety_model.json`
(labels, thresholds, the head and the screen) and `safety_adapter.safetensors` (the encoder's
fine-tuned low-rank adapters).

Run from the repository root: `make train-safety` (PyTorch, transformers and scikit-learn in the
project's environment; about 80 minutes on 2 cores with all six layers trained on round 12's
data). Reproducible: a fixed seed, sentences in file order, and the sha256 of the training files
recorded in the model, which a test compares with the files.

Training data: see `dataset.py`; the held-out set still in use (l) is never read here.

The adapters and head are fine-tuned on a seeded 80 % of the training sentences and of the
training stories (a story's units all on one side); the other 20 % (validation, still training
data) sets `block_at`, measured through the int8 graph the service runs (`threshold.py`): by
default (`--block-at-by cost`, round 10 on) the threshold at which the whole gate (rules, screen,
encoder) makes the mistakes a held-out set's selection rule weighs least (3 per unsafe sentence
passed, 1 per benign sentence blocked, 1 per benign story touched, 10 per buried unsafe sentence
of a poisoned story passed), together with `excuse_below`, the unsafe probability under which
the encoder's reading excuses a listed word the rules found (round 11 on; before, a fixed 0.02
that round 10's scores never reached); `--block-at-by pass-rates` is rounds 1-9's way: the
lowest unsafe probability at which the gate still passes `--benign-pass` of the benign
validation sentences and the classifier `--story-pass` of the units of the validation stories.
The screen's `clear_below` comes from 5-fold out-of-fold scores: only `--screen-miss` of the
unsafe training sentences fall under it, so the screen hands almost every unsafe sentence to the
encoder.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from safetensors.numpy import save_file
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from workflows.policy import excusable
from workflows.safety import RuleCheck, load_rule_check
from workflows.safety.classifier.encoder import MODEL_PACKAGE, Matrix, MiniLMEncoder
from workflows.safety.classifier.features import encoder_features, screen_terms, static_features
from workflows.safety.classifier.model import (
    ADAPTER_FILE,
    FIXED_EXCUSE_BELOW,
    FORMAT_VERSION,
    MODEL_FILE,
    SAFE,
    Head,
    load_safety_model,
)
from workflows.safety.training.dataset import (
    LABELS,
    ROOT,
    SEED,
    Example,
    load_examples,
    training_digest,
    training_files,
)
from workflows.safety.training.threshold import (
    MistakeCosts,
    Validation,
    choose_block_at,
    choose_thresholds_by_cost,
)

OUTPUT = ROOT / "workflows" / "safety" / "classifier" / MODEL_FILE
ADAPTER_OUTPUT = OUTPUT.with_name(ADAPTER_FILE)
FOLDS = 5


@dataclass(frozen=True)
class ScreenFit:
    term_weights: dict[str, float]
    static_weights: Matrix
    bias: float


def fit_screen(texts: Sequence[str], static: Matrix, unsafe: np.ndarray, c: float) -> ScreenFit:
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, text in enumerate(texts):
        for term in dict.fromkeys(screen_terms(text)):
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
    lexical = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary)))
    scaler = StandardScaler().fit(static)
    matrix = hstack([lexical, csr_matrix(scaler.transform(static))]).tocsr()
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=SEED)
    model.fit(matrix, unsafe)
    coef = model.coef_[0]
    static_coef = coef[len(vocabulary) :] / scaler.scale_
    terms = {
        term: float(coef[index]) for term, index in vocabulary.items() if abs(coef[index]) > 1e-4
    }
    return ScreenFit(
        term_weights=terms,
        static_weights=static_coef.astype(np.float32),
        bias=float(model.intercept_[0] - scaler.mean_ @ static_coef),
    )


def screen_scores(fit: ScreenFit, texts: Sequence[str], static: Matrix) -> np.ndarray:
    lexical = np.array(
        [
            sum(fit.term_weights.get(term, 0.0) for term in dict.fromkeys(screen_terms(text)))
            for text in texts
        ]
    )
    return np.asarray(lexical + static @ fit.static_weights + fit.bias)


def screen_out_of_fold(
    texts: Sequence[str], static: Matrix, unsafe: np.ndarray, labels: np.ndarray, c: float
) -> np.ndarray:
    """Screen scores, each from a screen that did not see the sentence."""
    scores = np.zeros(len(texts))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(static, labels):
        fit = fit_screen([texts[i] for i in train], static[train], unsafe[train], c)
        scores[test] = screen_scores(fit, [texts[i] for i in test], static[test])
    return scores


def rule_verdicts(rules: RuleCheck, text: str) -> tuple[bool, bool]:
    """The rules' findings as the gate combines them with the encoder (`workflows.policy`), for
    the default reader, whose policy changes no severity: (blocked whatever the encoder reads,
    found only listed words the encoder's reading may excuse)."""
    issues = [issue for issue in rules.find_issues(text) if issue["severity"] != "low"]
    hard = any(not excusable(issue, rules) for issue in issues)
    return hard, bool(issues) and not hard


def split(examples: Sequence[Example], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 80/20 split: sentences stratified by label; the units of a whole story all on
    one side, so validation stories are stories the encoder never read."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(examples))
    in_story = np.array([bool(example.story) for example in examples])
    train, validation = train_test_split(
        index[~in_story], test_size=0.2, stratify=labels[~in_story], random_state=SEED
    )
    stories = sorted({example.story for example in examples if example.story})
    held = set(np.random.default_rng(SEED).permutation(stories)[: round(0.2 * len(stories))])
    story_validation = [i for i in index[in_story] if examples[i].story in held]
    story_train = [i for i in index[in_story] if examples[i].story not in held]
    return (
        np.sort(np.concatenate([train, story_train]).astype(int)),
        np.sort(np.concatenate([validation, story_validation]).astype(int)),
    )


def choose_clear_below(screen: np.ndarray, unsafe: np.ndarray, screen_miss: float) -> float:
    scores = np.sort(screen[unsafe == 1])
    return float(scores[int(np.floor(screen_miss * len(scores)))])


def report(
    examples: Sequence[Example], blocked: np.ndarray, by_rules: np.ndarray
) -> dict[str, float]:
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for example, is_blocked in zip(examples, blocked, strict=True):
        side = "unsafe " if example.label != SAFE else "benign "
        by_kind[side + example.kind].append(bool(is_blocked))
    unsafe = np.array([example.label != SAFE for example in examples])
    in_story = np.array([bool(example.story) for example in examples])
    sentences = ~unsafe & ~in_story
    stories: dict[str, bool] = defaultdict(bool)
    for example, is_blocked in zip(examples, blocked, strict=True):
        if example.story:
            stories[example.story] |= bool(is_blocked)
    rates = {
        "unsafe_blocked": float(blocked[unsafe].mean()),
        "benign_passed": float(1.0 - blocked[sentences].mean()),
        "unsafe_blocked_by_rules_alone": float(by_rules[unsafe].mean()),
        "benign_passed_by_rules_alone": float(1.0 - by_rules[sentences].mean()),
    }
    if stories:
        rates["story_units_passed"] = float(1.0 - blocked[in_story].mean())
        rates["stories_untouched"] = 1.0 - sum(stories.values()) / len(stories)
    print("validation (20 % of the training data; an estimate, not the held-out figure):")
    for name, value in rates.items():
        print(f"  {name:32} {100 * value:5.1f}%")
    for kind in sorted(by_kind):
        flags = by_kind[kind]
        if len(flags) < 5:
            continue
        unsafe_kind = kind.startswith("unsafe")
        share = sum(flags) / len(flags) if unsafe_kind else 1 - sum(flags) / len(flags)
        verb = "blocked" if unsafe_kind else "passed"
        print(f"  {kind:36} {verb} {100 * share:5.1f}% of {len(flags)}")
    return rates


def main(argv: Sequence[str] | None = None) -> None:
    from workflows.safety.training.finetune import FineTuneConfig, FineTuned, fine_tune

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = FineTuneConfig()
    parser.add_argument("--layers", type=int, default=defaults.layers, help="top layers trained")
    parser.add_argument(
        "--rank", type=int, default=defaults.rank, help="rank of each exported weight change"
    )
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--screen-c", type=float, default=1.0, help="inverse L2 strength, screen")
    parser.add_argument(
        "--benign-pass", type=float, default=0.975, help="share of benign validation passed"
    )
    parser.add_argument(
        "--unsafe-block",
        type=float,
        default=0.80,
        help="least share of unsafe validation sentences the gate holds back, before benign text",
    )
    parser.add_argument(
        "--story-pass",
        type=float,
        default=0.995,
        help="share of the units of benign validation stories the classifier passes",
    )
    parser.add_argument(
        "--screen-miss",
        type=float,
        default=0.003,
        help="share of unsafe training sentences the screen may clear",
    )
    parser.add_argument(
        "--block-at-by",
        choices=("pass-rates", "cost"),
        default="cost",
        help="choose block_at by the weighted mistake cost of a held-out set's selection rule "
        "(round 10 on), or by the pass-rate shares above (rounds 1-9)",
    )
    parser.add_argument(
        "--smoothing",
        choices=("class-weighted", "even"),
        default=defaults.smoothing,
        help="label smoothing weighted per class as PyTorch does (the shipped model), or even "
        "(round 11's candidate B, not kept)",
    )
    parser.add_argument(
        "--keep-encoder",
        action="store_true",
        help="keep the committed adapter and head; choose the thresholds and screen again",
    )
    args = parser.parse_args(argv)
    config = FineTuneConfig(
        layers=args.layers,
        rank=args.rank,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        smoothing=args.smoothing,
        seed=SEED,
    )

    files = training_files()
    examples = load_examples(files)
    counts = Counter(example.label for example in examples)
    print(f"{len(examples)} sentences: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    texts = [example.text for example in examples]
    labels = np.array([LABELS.index(example.label) for example in examples])
    unsafe = (labels != 0).astype(int)
    train_index, validation_index = split(examples, labels)

    if args.keep_encoder:
        # Thresholds and screen again over the committed adapter and head (trained on the
        # same seeded split, so validation is still unseen by them).
        committed = load_safety_model()
        if committed.adapter is None:
            raise SystemExit("--keep-encoder needs a committed adapter; train without it first")
        tuned = FineTuned(
            adapter=committed.adapter,
            head_weights=committed.head.weights,
            head_bias=committed.head.bias,
        )
        config = FineTuneConfig(**committed.trained_on["fine_tune"], seed=SEED)
        print(f"keeping the committed encoder adapter and head: {config}")
    else:
        print(f"fine-tuning on {len(train_index)} sentences: {config}")
        tuned = fine_tune(
            [texts[i] for i in train_index], labels[train_index].tolist(), len(LABELS), config
        )
    # Validation through the service's own NumPy encoder with the exported (float16) adapter.
    encoder = MiniLMEncoder.from_package(tuned.adapter, precision="int8")
    head = Head(weights=tuned.head_weights, bias=tuned.head_bias)
    validation_texts = [texts[i] for i in validation_index]
    batches = [validation_texts[i : i + 64] for i in range(0, len(validation_texts), 64)]
    probabilities = np.vstack(
        [head.probabilities(encoder_features(encoder.encode(batch))) for batch in batches]
    )
    unsafe_probability = 1.0 - probabilities[:, 0]
    rules = load_rule_check()
    verdicts = np.array([rule_verdicts(rules, text) for text in validation_texts], dtype=bool)
    hard, excusable_only = verdicts[:, 0], verdicts[:, 1]
    rules_alone = hard | excusable_only
    in_story = np.array([bool(examples[i].story) for i in validation_index])

    def rules_blocking(excuse_below: float) -> np.ndarray:
        # What the rules block once the encoder's reading under `excuse_below` excuses words.
        return np.asarray(hard | (excusable_only & (unsafe_probability >= excuse_below)))

    static = static_features(encoder, texts)
    screen = screen_out_of_fold(texts, static, unsafe, labels, args.screen_c)
    clear_below = choose_clear_below(screen, unsafe, args.screen_miss)
    cleared = screen[validation_index] < clear_below
    if args.block_at_by == "cost":
        # What a held-out set scores: sentences, benign stories and the buried sentences of
        # poisoned stories (their other units are scored by no rule).
        scored = np.array([examples[i].kind != "story poisoned" for i in validation_index])
        validation = Validation(
            probability=unsafe_probability[scored],
            unsafe=unsafe[validation_index][scored],
            rules_block=hard[scored],
            cleared=cleared[scored],
            story=np.array([examples[i].story for i in validation_index])[scored],
            buried=np.array([examples[i].buried for i in validation_index])[scored],
            excusable=excusable_only[scored],
        )
        block_at, excuse_below = choose_thresholds_by_cost(validation, MistakeCosts())
        # Stored to six places, rounded up: a sentence just under the threshold stays excused.
        excuse_below = math.ceil(excuse_below * 1e6) / 1e6
    else:
        excuse_below = FIXED_EXCUSE_BELOW
        block_at = choose_block_at(
            unsafe_probability,
            unsafe[validation_index],
            rules_blocking(excuse_below),
            in_story,
            args.benign_pass,
            args.story_pass,
            args.unsafe_block,
        )
    blocked = rules_blocking(excuse_below) | ((unsafe_probability >= block_at) & ~cleared)
    rates = report([examples[i] for i in validation_index], blocked, rules_alone)
    rates["benign_cleared_by_screen"] = float((screen[unsafe == 0] < clear_below).mean())
    rates["unsafe_cleared_by_screen"] = float((screen[unsafe == 1] < clear_below).mean())
    print(
        f"  screen clears {100 * rates['benign_cleared_by_screen']:.1f}% of benign and "
        f"{100 * rates['unsafe_cleared_by_screen']:.1f}% of unsafe training sentences (out of fold)"
    )
    fit = fit_screen(texts, static, unsafe, args.screen_c)

    save_file(tuned.adapter, str(ADAPTER_OUTPUT))
    document = {
        "format_version": FORMAT_VERSION,
        "encoder": f"all-MiniLM-L6-v2 from {MODEL_PACKAGE}, top {config.layers} layers fine-tuned "
        f"({ADAPTER_FILE}: rank-{config.rank} changes), mean and max pooled",
        "labels": list(LABELS),
        "block_at": round(block_at, 6),
        "excuse_below": excuse_below,
        "adapter": {"file": ADAPTER_FILE, "rank": config.rank},
        "trained_on": {
            "files": [str(path.relative_to(ROOT)) for path in files],
            "sha256": training_digest(files),
            "sentences": len(examples),
            "per_label": dict(sorted(counts.items())),
            "seed": SEED,
            "fine_tune": {
                "layers": config.layers,
                "rank": config.rank,
                "learning_rate": config.learning_rate,
                "epochs": config.epochs,
                "batch_size": config.batch_size,
                "label_smoothing": config.label_smoothing,
                "smoothing": config.smoothing,
            },
            "screen_c": args.screen_c,
            "benign_pass": args.benign_pass,
            "story_pass": args.story_pass,
            "unsafe_block": args.unsafe_block,
            "block_at_by": args.block_at_by,
            "screen_miss": args.screen_miss,
            "validation": {name: round(value, 4) for name, value in rates.items()},
        },
        "head": {
            "weights": [[_round(value) for value in row] for row in tuned.head_weights],
            "bias": [_round(value) for value in tuned.head_bias],
        },
        "screen": {
            "clear_below": round(clear_below, 6),
            "bias": _round(fit.bias),
            "static_weights": [_round(value) for value in fit.static_weights],
            "term_weights": {
                term: _round(value) for term, value in sorted(fit.term_weights.items())
            },
        },
    }
    OUTPUT.write_text(json.dumps(document, separators=(",", ":")) + "\n", "utf-8")
    print(
        f"wrote {OUTPUT.relative_to(ROOT)} and {ADAPTER_FILE} "
        f"(block_at {block_at:.4f}, clear_below {clear_below:.3f})"
    )


def _round(value: float) -> float:
    return float(f"{value:.5g}")


if __name__ == "__main__":
    main()
