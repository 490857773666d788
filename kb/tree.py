"""The decision tree of a runbook (DESIGN.md §5). Pure: plain data in, nodes out.

symptom → gate ("when this is not the issue": its items and pivots) → patterns (+ "none of
these") → causes, most probable first → checks that confirm each cause and its fixes; drill
paths hang under each pattern and under "none of these", and expand lazily into the target
runbook's own tree. A drill or pivot to a runbook already on the path is marked, never
expanded, so cycles terminate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass(frozen=True)
class TreeCheck:
    key: str
    title: str
    detail: str
    minutes: int
    cause_keys: tuple[str, ...]


@dataclass(frozen=True)
class TreeCause:
    key: str
    title: str
    detail: str


@dataclass(frozen=True)
class TreeFix:
    text: str
    cause_keys: tuple[str, ...]


@dataclass(frozen=True)
class TreePattern:
    key: str
    observation: str
    diagnosis: str
    cause_keys: tuple[str, ...]


@dataclass(frozen=True)
class TreeLink:
    target: str
    text: str
    exists: bool
    title: str = ""


@dataclass(frozen=True)
class TreeRunbook:
    slug: str
    title: str
    symptom: str
    condition: str
    not_the_issue_items: tuple[str, ...]
    pivots: tuple[TreeLink, ...]
    patterns: tuple[TreePattern, ...]
    causes: tuple[TreeCause, ...]  # authored rank order
    checks: tuple[TreeCheck, ...]  # authored position order
    fixes: tuple[TreeFix, ...]
    drill_paths: tuple[TreeLink, ...]


@dataclass
class Node:
    id: str  # path of this node inside its runbook's tree, e.g. "p-errors/c-missing-env"
    kind: str  # root | gate | item | pivot | pattern | none | cause | check | fix | drill | note
    label: str
    detail: str = ""
    children: list[Node] = field(default_factory=list)
    target: str = ""  # drill and pivot: the runbook slug
    target_title: str = ""
    exists: bool = True
    on_path: bool = False  # drill/pivot target already on the path: shown, not followed
    minutes: int | None = None
    general: bool = False  # a check shown because none is linked to this cause
    expanded: bool = False

    @property
    def expandable(self) -> bool:
        return self.kind in {"gate", "pattern", "none", "cause"} and bool(self.children)

    @property
    def dom_id(self) -> str:
        return self.id.replace("/", "--")

    def find(self, node_id: str) -> Node | None:
        if self.id == node_id:
            return self
        for child in self.children:
            if node_id == child.id or node_id.startswith(child.id + "/"):
                return child.find(node_id)
        return None

    def path_to(self, node_id: str) -> list[Node]:
        """Nodes from just below the root down to ``node_id`` (for breadcrumbs)."""
        path: list[Node] = []
        node = self
        while node is not None and node.id != node_id:
            node = next(
                (c for c in node.children if node_id == c.id or node_id.startswith(c.id + "/")),
                None,
            )
            if node is not None:
                path.append(node)
        return path


def build_tree(
    runbook: TreeRunbook,
    *,
    trail: Sequence[str] = (),
    cause_order: Mapping[str, Sequence[str]] | None = None,
    open_id: str = "",
) -> Node:
    """The whole tree of one runbook; nodes on the way to ``open_id`` are marked expanded.

    ``trail`` is the runbooks above this one (drilled from). ``cause_order`` maps a pattern
    key ("" for no pattern) to cause keys, most probable first; by default the authored rank.
    """
    on_path = set(trail) | {runbook.slug}
    by_key = {c.key: c for c in runbook.causes}
    default_order = [c.key for c in runbook.causes]

    def ordered(pattern_key: str, keys: Sequence[str]) -> list[TreeCause]:
        order = list((cause_order or {}).get(pattern_key) or default_order)
        rank = {key: i for i, key in enumerate(order)}
        chosen = [k for k in keys if k in by_key]
        return [by_key[k] for k in sorted(chosen, key=lambda k: (rank.get(k, len(rank)), k))]

    def link_node(node_id: str, kind: str, link: TreeLink) -> Node:
        return Node(
            id=node_id,
            kind=kind,
            label=link.text,
            target=link.target,
            target_title=link.title,
            exists=link.exists,
            on_path=link.target in on_path,
        )

    def cause_node(parent: str, cause: TreeCause) -> Node:
        node = Node(id=f"{parent}/c-{cause.key}", kind="cause", label=cause.title)
        node.detail = cause.detail
        checks = [c for c in runbook.checks if cause.key in c.cause_keys]
        general = not checks
        if general:
            # Same fallback as the guided triage: checks linked to no cause, else all.
            checks = [c for c in runbook.checks if not c.cause_keys] or list(runbook.checks)
        for check in checks:
            node.children.append(
                Node(
                    id=f"{node.id}/k-{check.key}",
                    kind="check",
                    label=check.title,
                    detail=check.detail,
                    minutes=check.minutes,
                    general=general,
                )
            )
        for i, fix in enumerate(runbook.fixes, start=1):
            if cause.key in fix.cause_keys:
                node.children.append(Node(id=f"{node.id}/f-{i}", kind="fix", label=fix.text))
        return node

    def drills(parent: str) -> list[Node]:
        return [
            link_node(f"{parent}/d-{i}", "drill", link)
            for i, link in enumerate(runbook.drill_paths, start=1)
        ]

    root = Node(id="", kind="root", label=runbook.title, detail=runbook.symptom)
    if runbook.condition or runbook.not_the_issue_items or runbook.pivots:
        gate = Node(id="gate", kind="gate", label=runbook.condition or "Is this the wrong runbook?")
        gate.children = [
            Node(id=f"gate/i-{i}", kind="item", label=text)
            for i, text in enumerate(runbook.not_the_issue_items, start=1)
        ] + [link_node(f"gate/v-{i}", "pivot", link) for i, link in enumerate(runbook.pivots, 1)]
        root.children.append(gate)
    for pattern in runbook.patterns:
        node = Node(
            id=f"p-{pattern.key}",
            kind="pattern",
            label=pattern.observation,
            detail=pattern.diagnosis,
        )
        keys = pattern.cause_keys or tuple(default_order)
        node.children = [cause_node(node.id, c) for c in ordered(pattern.key, keys)]
        node.children += drills(node.id)
        root.children.append(node)
    none = Node(id="none", kind="none", label="None of these patterns match")
    none.children = [cause_node("none", c) for c in ordered("", default_order)] + drills("none")
    root.children.append(none)

    for step in root.path_to(open_id) if open_id else []:
        step.expanded = True
    return root


MAX_TRAIL = 20  # runbooks drilled through that a tree keeps; deeper trails keep the first ones


@dataclass(frozen=True)
class TreeView:
    """Where in the tree a request is: the runbooks drilled through, the open node, and
    ``via``, the DOM id of the container a lazily loaded subtree goes into."""

    slug: str
    trail: tuple[str, ...]
    open_id: str
    via: str
    fold: bool

    @classmethod
    def from_params(cls, slug: str, params: Mapping) -> TreeView:
        """The view asked for by ``params`` (kb.forms.TreeForm's, already validated)."""
        trail = tuple(s for s in params["trail"] if s != slug)[:MAX_TRAIL]
        return cls(
            slug=slug, trail=trail, open_id=params["open"], via=params["via"], fold=params["fold"]
        )

    def context(self) -> dict:
        params = {"trail": ",".join(self.trail), "via": self.via}
        return {
            "trail": self.trail,
            "trail_param": ",".join(self.trail),
            "child_trail": ",".join([*self.trail, self.slug]),
            "via": self.via,
            # Subtrees loaded into the same page need their own DOM ids.
            "prefix": "t" + hashlib.sha1((self.via or "page").encode()).hexdigest()[:8],
            "base_query": urlencode({k: v for k, v in params.items() if v}),
        }
