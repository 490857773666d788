"""Lay out the runbook link graph for a server-side SVG picture. Pure: no ORM, no I/O.

The picture answers "what links where, what is missing, what nobody reaches", so a
predictable circular layout beats a force-directed one: the same runbooks always land in the
same place (a reader can find "their" cluster again), categories form visible wedges, and the
cost is linear in runbooks plus links, with no iteration that could fail to settle.

Every category owns whole columns (rays from the centre) and the categories are separated by
one empty column, so a cluster stays a wedge even when there are several rings.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby

EDGE_KINDS = ("drill", "pivot", "connection")

# Arc length between neighbouring nodes on the innermost ring; wider than two of the largest
# circles so nodes never touch.
NODE_SPACING = 28.0
RING_GAP = 44.0
MIN_RADIUS = 200.0
MIN_SIZE = 800
# Up to this many runbooks one ring still leaves room for each rotated label.
SINGLE_RING_MAX = 60
MAX_RINGS = 40
# Room outside the outer ring for the labels, which run outward along their ray.
LABEL_MAX_CHARS = 24
LABEL_ROOM = 180.0
LABEL_GAP = 4.0
BASE_NODE_RADIUS = 6.0
MAX_NODE_RADIUS = 12.0
# Lines stop this far from a circle so the arrowhead tip is not hidden under it.
EDGE_GAP = 2.0
# Sideways distance between lines joining the same pair, so A→B and B→A stay distinguishable.
PARALLEL_SPACING = 3.0


@dataclass(frozen=True)
class GraphNode:
    slug: str
    title: str  # "" for a missing runbook
    category: str
    exists: bool


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    kind: str  # one of EDGE_KINDS


@dataclass(frozen=True)
class PlacedNode:
    slug: str
    title: str
    category: str
    exists: bool
    x: float
    y: float
    incoming: int  # distinct other runbooks linking here (what the detail page calls backlinks)
    outgoing: int  # distinct runbooks this one links to
    radius: float
    # The label runs outward along the node's ray; on the left half it is flipped (and anchored
    # at its end) so it never reads upside down.
    label_x: float
    label_y: float
    label_angle: float
    label_anchor: str  # "start" | "end"

    @property
    def label(self) -> str:
        last = self.slug.rsplit("/", 1)[-1]
        if len(last) <= LABEL_MAX_CHARS:
            return last
        return last[: LABEL_MAX_CHARS - 1] + "…"

    @property
    def is_orphan(self) -> bool:
        return self.exists and self.incoming == 0


@dataclass(frozen=True)
class PlacedEdge:
    source: str
    target: str
    kind: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class GraphLayout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int
    orphans: list[str]  # existing runbooks no other runbook links to, sorted
    missing: list[str]  # slugs shown but not (yet) written, sorted

    @property
    def runbook_count(self) -> int:
        return len(self.nodes) - len(self.missing)


def missing_category(slug: str) -> str:
    """Where a not-yet-written runbook is drawn: where the importer will file it.

    Mirrors ``kb.services.default_category``, which this module cannot import (ORM).
    """
    return slug.split("/", 1)[0] if "/" in slug else "general"


def layout_graph(nodes: list[GraphNode], edges: list[GraphEdge]) -> GraphLayout:
    """Place ``nodes`` and ``edges`` on a square canvas; output depends only on the input.

    Link targets (or sources) not among ``nodes`` become missing nodes. Self-links are
    dropped and repeated (source, target, kind) triples collapse to one.
    """
    kept = _clean_edges(edges)
    by_slug = _collect_nodes(nodes, kept)

    sources: dict[str, set[str]] = defaultdict(set)
    targets: dict[str, set[str]] = defaultdict(set)
    for edge in kept:
        sources[edge.target].add(edge.source)
        targets[edge.source].add(edge.target)

    ordered = sorted(by_slug.values(), key=lambda n: (n.category, n.slug))
    groups = [list(g) for _category, g in groupby(ordered, key=lambda n: n.category)]
    sizes = [len(g) for g in groups]
    rings = _choose_rings(sizes)
    columns = _column_count(sizes, rings)
    inner = _inner_radius(columns)
    outer = inner + (rings - 1) * RING_GAP
    size = max(MIN_SIZE, math.ceil(2 * (outer + MAX_NODE_RADIUS + LABEL_ROOM)))
    centre = size / 2
    step = 2 * math.pi / max(columns, 1)

    placed: list[PlacedNode] = []
    column = 0
    for group in groups:
        for index, node in enumerate(group):
            ring = index % rings
            # Rings are staggered by a fraction of a column so no label runs straight through
            # the node on the ring outside it.
            angle = -math.pi / 2 + (column + index // rings + ring / rings) * step
            placed.append(
                _place_node(
                    node,
                    centre,
                    inner + ring * RING_GAP,
                    angle,
                    incoming=len(sources[node.slug]),
                    outgoing=len(targets[node.slug]),
                )
            )
        column += math.ceil(len(group) / rings) + (1 if len(groups) > 1 else 0)

    return GraphLayout(
        nodes=placed,
        edges=_place_edges(kept, {n.slug: n for n in placed}),
        width=size,
        height=size,
        orphans=sorted(n.slug for n in placed if n.is_orphan),
        missing=sorted(n.slug for n in placed if not n.exists),
    )


def _clean_edges(edges: list[GraphEdge]) -> list[GraphEdge]:
    for edge in edges:
        if edge.kind not in EDGE_KINDS:
            raise ValueError(f"unknown link kind {edge.kind!r} ({edge.source} → {edge.target})")
    unique = {e for e in edges if e.source != e.target}
    return sorted(unique, key=lambda e: (e.source, e.target, e.kind))


def _collect_nodes(nodes: list[GraphNode], edges: list[GraphEdge]) -> dict[str, GraphNode]:
    by_slug: dict[str, GraphNode] = {}
    for node in nodes:
        # A slug listed twice is trusted as existing if either entry says so.
        if node.slug not in by_slug or (node.exists and not by_slug[node.slug].exists):
            by_slug[node.slug] = node
    for edge in edges:
        for slug in (edge.source, edge.target):
            if slug not in by_slug:
                by_slug[slug] = GraphNode(slug, "", missing_category(slug), False)
    return by_slug


def _column_count(sizes: list[int], rings: int) -> int:
    gaps = len(sizes) if len(sizes) > 1 else 0
    return sum(math.ceil(s / rings) for s in sizes) + gaps


def _inner_radius(columns: int) -> float:
    return max(MIN_RADIUS, columns * NODE_SPACING / (2 * math.pi))


def _choose_rings(sizes: list[int]) -> int:
    """Ring count giving the smallest picture: few rings crowd the circumference, many waste
    the partly-filled columns each category ends with."""
    total = sum(sizes)
    if total <= SINGLE_RING_MAX:
        return 1

    def outer_radius(rings: int) -> float:
        return _inner_radius(_column_count(sizes, rings)) + (rings - 1) * RING_GAP

    return min(range(2, min(total, MAX_RINGS) + 1), key=lambda r: (outer_radius(r), r))


def _place_node(
    node: GraphNode, centre: float, radius: float, angle: float, *, incoming: int, outgoing: int
) -> PlacedNode:
    cos, sin = math.cos(angle), math.sin(angle)
    # Much-linked runbooks are drawn a little larger: they are the hubs worth knowing.
    node_radius = min(MAX_NODE_RADIUS, BASE_NODE_RADIUS + 0.75 * incoming)
    x, y = centre + radius * cos, centre + radius * sin
    reach = node_radius + LABEL_GAP
    degrees = math.degrees(angle)
    right_half = cos >= -1e-9
    return PlacedNode(
        slug=node.slug,
        title=node.title,
        category=node.category,
        exists=node.exists,
        x=round(x, 2),
        y=round(y, 2),
        incoming=incoming,
        outgoing=outgoing,
        radius=node_radius,
        label_x=round(x + reach * cos, 2),
        label_y=round(y + reach * sin, 2),
        label_angle=round(degrees if right_half else degrees - 180, 2),
        label_anchor="start" if right_half else "end",
    )


def _place_edges(edges: list[GraphEdge], nodes: dict[str, PlacedNode]) -> list[PlacedEdge]:
    # Every link between the same two runbooks, whichever direction, shares a straight line,
    # so they are spread sideways around it.
    bundles: dict[tuple[str, str], list[GraphEdge]] = defaultdict(list)
    for edge in edges:
        bundles[min(edge.source, edge.target), max(edge.source, edge.target)].append(edge)

    placed: list[PlacedEdge] = []
    for edge in edges:
        low, high = sorted((edge.source, edge.target))
        bundle = bundles[low, high]
        offset = (bundle.index(edge) - (len(bundle) - 1) / 2) * PARALLEL_SPACING
        placed.append(_place_edge(edge, nodes[edge.source], nodes[edge.target], offset))
    return placed


def _place_edge(
    edge: GraphEdge, source: PlacedNode, target: PlacedNode, offset: float
) -> PlacedEdge:
    dx, dy = target.x - source.x, target.y - source.y
    length = math.hypot(dx, dy)
    if length == 0:
        return PlacedEdge(
            edge.source, edge.target, edge.kind, source.x, source.y, target.x, target.y
        )
    ux, uy = dx / length, dy / length
    # The sideways direction is taken from the pair's canonical order, so opposite links get
    # opposite sides instead of both shifting onto the same parallel.
    sign = 1.0 if edge.source < edge.target else -1.0
    nx, ny = -uy * sign * offset, ux * sign * offset
    head = min(source.radius + EDGE_GAP, length * 0.4)
    tail = min(target.radius + EDGE_GAP, length * 0.4)
    return PlacedEdge(
        source=edge.source,
        target=edge.target,
        kind=edge.kind,
        x1=round(source.x + ux * head + nx, 2),
        y1=round(source.y + uy * head + ny, 2),
        x2=round(target.x - ux * tail + nx, 2),
        y2=round(target.y - uy * tail + ny, 2),
    )
