"""Section names as real runbook collections write them → Fieldguide's parts. Pure.

Headings are matched ignoring case, Markdown emphasis and code marks, leading numbering
("2.", "Step 3:", "IV)"), a trailing parenthetical ("(ranked by frequency)"), punctuation
and repeated spaces. A heading not in ``SECTION_ALIASES`` is kept verbatim as an extra
section.

The alias table (canonical part ← names seen in public collections: the seed, GitLab's
runbooks, prometheus-operator, OpenShift, KubeVirt, government platform teams' playbooks):

=================  ===========================================================================
symptom            Symptom(s), Meaning, Overview, Alert description, Problem, Problem
                   description, Description, Summary of the problem, What is happening,
                   Background
patterns           Quick diagnosis, Patterns, Diagnosis table, Triage table
causes             Likely causes, Causes, Possible causes, Common causes, Root causes, Probable
                   causes, Potential causes
checks             First checks, Checks, Diagnosis, Diagnostics, Possible checks, Troubleshooting,
                   Troubleshooting steps, Debugging, How to investigate, Investigation,
                   Investigation steps, Verification, Triage, Steps to diagnose
signal_examples    Signal example(s), Example(s) of the signal
drill_paths        Drill paths
fix_patterns       Fix patterns, Fixes, Fix, Mitigation, Mitigations, Resolution, Resolution
                   steps, Resolving, Potential resolution steps, Solution(s), Remediation,
                   Workaround(s), Recovery, Recovery steps, How to fix, Remedy
not_the_issue      When this is not the issue
connections        Connections, Related runbooks ("See also" and "Related alerts" are prose:
                   kept as sections of their own, their links still read)
open_questions     Open questions
related_reading    Related reading, Further reading, References, Links, Resources
=================  ===========================================================================
"""

from __future__ import annotations

import unicodedata

_ALIASES: dict[str, tuple[str, ...]] = {
    "symptom": (
        "symptom", "symptoms", "meaning", "overview", "alert description", "problem",
        "problem description", "description", "summary of the problem", "what is happening",
        "background",
    ),
    "patterns": ("quick diagnosis", "patterns", "diagnosis table", "triage table"),
    "causes": (
        "likely causes", "causes", "possible causes", "common causes", "root causes",
        "probable causes", "potential causes",
    ),
    "checks": (
        "first checks", "checks", "diagnosis", "diagnostics", "possible checks", "troubleshooting",
        "troubleshooting steps", "debugging", "how to investigate", "investigation",
        "investigation steps", "verification", "triage", "steps to diagnose",
    ),
    "signal_examples": ("signal example", "signal examples", "example of the signal",
                        "examples of the signal"),
    "drill_paths": ("drill paths",),
    "fix_patterns": (
        "fix patterns", "fixes", "fix", "mitigation", "mitigations", "resolution",
        "resolution steps", "resolving", "potential resolution steps", "solution", "solutions",
        "remediation", "workaround", "workarounds", "recovery", "recovery steps", "how to fix",
        "remedy",
    ),
    "not_the_issue": ("when this is not the issue",),
    "connections": ("connections", "related runbooks"),
    "open_questions": ("open questions",),
    "related_reading": ("related reading", "further reading", "references", "links", "resources"),
}  # fmt: skip

SECTION_ALIASES: dict[str, str] = {name: kind for kind, names in _ALIASES.items() for name in names}

_ROMAN = set("ivxlc")


def normalise_heading(text: str) -> str:
    """``"2. **Likely Causes** (ranked by frequency):"`` → ``"likely causes"``. Linear."""
    text = text.strip().rstrip(":").strip()
    # A trailing parenthetical is a hint, not part of the name.
    if text.endswith(")") and "(" in text:
        text = text[: text.rfind("(")]
    words = []
    for raw in text.split():
        word = "".join(
            ch for ch in raw.lower() if unicodedata.category(ch)[0] in "LN" or ch in "'-"
        ).strip("-'")
        if word:
            words.append(word)
    # Leading numbering: "2", "2.1", "step 3", "iv".
    if words and words[0] == "step" and len(words) > 1 and words[1].isdigit():
        words = words[2:]
    while words and (words[0].isdigit() or (set(words[0]) <= _ROMAN and len(words) > 1)):
        if not words[0].isdigit() and words[0] not in {"i", "ii", "iii", "iv", "v", "vi", "vii"}:
            break
        words = words[1:]
    return " ".join(words)


def section_kind(heading: str) -> str | None:
    """The canonical part a heading names, or None for an extra section."""
    return SECTION_ALIASES.get(normalise_heading(heading))
