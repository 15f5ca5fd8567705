"""The semantic sentence check: meaning, not words, judged offline by a packaged encoder."""

from workflows.safety.classifier.encoder import EncoderUnavailable
from workflows.safety.classifier.model import SafetyModelError
from workflows.safety.classifier.semantic import SemanticCheck, SemanticVerdict, load_semantic_check

__all__ = [
    "EncoderUnavailable",
    "SafetyModelError",
    "SemanticCheck",
    "SemanticVerdict",
    "load_semantic_check",
]
