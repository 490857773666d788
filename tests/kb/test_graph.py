import random
import xml.etree.ElementTree as ET

import pytest
from django.template.loader import render_to_string

from kb.graph import GraphEdge, GraphLayout, GraphNode, layout_graph

SVG = "{http://www.w3.org/2000/svg}"

NODES = [
    GraphNode("db/replication-lag", "Replication lag", "db", True),
    GraphNode("db/connection-pool", "Connection pool exhausted", "db", True),
    GraphNode("cloud/kubernetes", "Kubernetes pods crash-looping", "cloud", True),
    GraphNode("cloud/dns", "DNS resolution failures", "cloud", True),
    GraphNode("network/latency", "High latency", "network", True),
]
EDGES = [
    GraphEdge("db/replication-lag", "db/connection-pool", "drill"),
    GraphEdge("db/connection-pool", "db/replication-lag", "pivot"),
    GraphEdge("cloud/kubernetes", "cloud/dns", "drill"),
    GraphEdge("cloud/kubernetes", "db/connection-pool", "connection"),
    GraphEdge("cloud/dns", "network/packet-loss", "pivot"),
    GraphEdge("db/replication-lag", "storage/disk-full", "connection"),
]


def slugs(layout: GraphLayout) -> list[str]:
    return [n.slug for n in layout.nodes]


def big_graph(count: int) -> tuple[list[GraphNode], list[GraphEdge]]:
    rng = random.Random(7)
    nodes = [
        GraphNode(f"c{i % 23}/rb-{i}", f"Runbook {i}", f"c{i % 23}", True) for i in range(count)
    ]
    edges = [
        GraphEdge(rng.choice(nodes).slug, rng.choice(nodes).slug, rng.choice(["drill", "pivot"]))
        for _ in range(count * 3)
    ]
    edges += [
        GraphEdge(n.slug, f"{n.category}/todo-{i % 5}", "connection") for i, n in enumerate(nodes)
    ]
    return nodes, edges


def test_layout_graph_is_deterministic_whatever_the_input_order():
    first = layout_graph(NODES, EDGES)
    shuffled_nodes, shuffled_edges = NODES[:], EDGES[:]
    random.Random(3).shuffle(shuffled_nodes)
    random.Random(4).shuffle(shuffled_edges)

    assert layout_graph(NODES, EDGES) == first
    assert layout_graph(shuffled_nodes, shuffled_edges) == first


def test_layout_graph_orders_nodes_by_category_then_slug():
    layout = layout_graph(NODES, EDGES)

    assert [(n.category, n.slug) for n in layout.nodes] == sorted(
        (n.category, n.slug) for n in layout.nodes
    )


def test_layout_graph_adds_missing_targets_as_missing_nodes():
    layout = layout_graph(NODES, EDGES)
    by_slug = {n.slug: n for n in layout.nodes}

    assert layout.missing == ["network/packet-loss", "storage/disk-full"]
    missing = by_slug["storage/disk-full"]
    assert (missing.exists, missing.title, missing.category) == (False, "", "storage")
    assert missing.incoming == 1
    assert layout.runbook_count == len(NODES)


def test_layout_graph_files_a_missing_single_segment_slug_where_the_importer_would():
    layout = layout_graph(NODES, [GraphEdge("cloud/dns", "resolvers", "drill")])

    assert {n.slug: n.category for n in layout.nodes}["resolvers"] == "general"


def test_layout_graph_lists_existing_runbooks_nobody_links_to_as_orphans():
    edges = [*EDGES, GraphEdge("network/latency", "network/latency", "drill")]

    layout = layout_graph(NODES, edges)

    # A self-link does not rescue network/latency; missing nodes are never orphans.
    assert layout.orphans == ["cloud/kubernetes", "network/latency"]


def test_layout_graph_sorts_orphans_by_slug_not_by_category():
    nodes = [GraphNode("a/first", "First", "zz", True), GraphNode("z/last", "Last", "aa", True)]

    assert layout_graph(nodes, []).orphans == ["a/first", "z/last"]


def test_layout_graph_drops_self_loops_and_duplicate_links():
    edges = [
        GraphEdge("cloud/dns", "cloud/dns", "drill"),
        GraphEdge("cloud/dns", "network/latency", "drill"),
        GraphEdge("cloud/dns", "network/latency", "drill"),
        GraphEdge("cloud/dns", "network/latency", "pivot"),
    ]

    layout = layout_graph(NODES, edges)

    assert [(e.source, e.target, e.kind) for e in layout.edges] == [
        ("cloud/dns", "network/latency", "drill"),
        ("cloud/dns", "network/latency", "pivot"),
    ]
    by_slug = {n.slug: n for n in layout.nodes}
    assert (by_slug["cloud/dns"].incoming, by_slug["cloud/dns"].outgoing) == (0, 1)
    assert by_slug["network/latency"].incoming == 1


def test_layout_graph_keeps_both_directions_of_a_cycle_apart():
    layout = layout_graph(NODES, EDGES)
    pair = [
        e
        for e in layout.edges
        if {e.source, e.target} == {"db/replication-lag", "db/connection-pool"}
    ]

    assert len(pair) == 2
    assert (pair[0].x1, pair[0].y1) != (pair[1].x2, pair[1].y2)


def test_layout_graph_stops_lines_short_of_the_circles():
    layout = layout_graph(NODES, EDGES)
    by_slug = {n.slug: n for n in layout.nodes}

    for edge in layout.edges:
        source, target = by_slug[edge.source], by_slug[edge.target]
        assert ((edge.x1 - source.x) ** 2 + (edge.y1 - source.y) ** 2) ** 0.5 > source.radius
        assert ((edge.x2 - target.x) ** 2 + (edge.y2 - target.y) ** 2) ** 0.5 > target.radius


def test_layout_graph_keeps_categories_contiguous():
    nodes, edges = big_graph(300)
    layout = layout_graph(nodes, edges)

    categories = [n.category for n in layout.nodes]
    runs = [c for i, c in enumerate(categories) if i == 0 or categories[i - 1] != c]
    assert len(runs) == len(set(categories))


@pytest.mark.parametrize("count", [0, 1, 2, 12, 60, 61, 250, 1000])
def test_layout_graph_keeps_everything_inside_the_canvas(count):
    nodes, edges = big_graph(count)
    layout = layout_graph(nodes, edges)

    assert layout.width >= 800 and layout.height >= 800
    for node in layout.nodes:
        assert node.radius <= node.x <= layout.width - node.radius
        assert node.radius <= node.y <= layout.height - node.radius
        assert 0 <= node.label_x <= layout.width and 0 <= node.label_y <= layout.height
    for edge in layout.edges:
        for x in (edge.x1, edge.x2):
            assert 0 <= x <= layout.width
        for y in (edge.y1, edge.y2):
            assert 0 <= y <= layout.height


def test_layout_graph_never_puts_two_nodes_on_top_of_each_other():
    nodes, edges = big_graph(400)
    layout = layout_graph(nodes, edges)

    positions = {(round(n.x), round(n.y)) for n in layout.nodes}
    assert len(positions) == len(layout.nodes)


def test_layout_graph_grows_the_canvas_with_the_node_count():
    small = layout_graph(NODES, EDGES)
    large = layout_graph(*big_graph(1000))

    assert small.width == small.height == 800
    assert large.width == large.height > 800


def test_layout_graph_lays_out_a_thousand_runbooks():
    nodes, edges = big_graph(1000)

    layout = layout_graph(nodes, edges)

    assert layout.runbook_count == 1000
    assert len(layout.missing) == 23 * 5


def test_layout_graph_rejects_an_unknown_link_kind():
    with pytest.raises(ValueError, match="unknown link kind"):
        layout_graph(NODES, [GraphEdge("cloud/dns", "network/latency", "related")])


def test_layout_graph_of_nothing_is_an_empty_canvas():
    layout = layout_graph([], [])

    assert (layout.nodes, layout.edges, layout.orphans, layout.missing) == ([], [], [], [])
    assert layout.width == layout.height == 800


def svg_root(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])  # also proves the SVG is well-formed XML


def test_graph_svg_escapes_titles_and_slugs_and_links_only_existing_runbooks():
    hostile = [
        *NODES,
        GraphNode("db/evil", "<script>alert(1)</script>", "db", True),
    ]
    edges = [*EDGES, GraphEdge("db/evil", 'x/"><b>owned</b>', "drill")]
    layout = layout_graph(hostile, edges)

    html = render_to_string("kb/_graph_svg.html", {"layout": layout})

    assert "<script>" not in html and "<b>owned" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    root = svg_root(html)
    assert root.get("role") == "group" and root.get("aria-label")
    assert root.get("viewBox") == f"0 0 {layout.width} {layout.height}"
    assert root.get("width") == "100%"

    nodes = [el for el in root.iter() if (el.get("class") or "").startswith("node ")]
    assert len(nodes) == len(layout.nodes)
    missing = [el for el in nodes if "node-missing" in el.get("class")]
    assert sorted(el.get("data-slug") for el in missing) == layout.missing
    for el in missing:
        assert el.tag == f"{SVG}g"
        assert not list(el.iter(f"{SVG}a"))
        assert el.find(f"{SVG}title").text == f"missing runbook: {el.get('data-slug')}"
    links = {el.get("data-slug"): el.get("href") for el in nodes if el.tag == f"{SVG}a"}
    assert links["db/replication-lag"] == "/runbooks/db/replication-lag/"
    assert len(links) == layout.runbook_count


def test_graph_svg_draws_one_styled_line_per_edge():
    layout = layout_graph(NODES, EDGES)

    html = render_to_string("kb/_graph_svg.html", {"layout": layout})

    assert html.count('class="edge ') == len(layout.edges)
    lines = [el for el in svg_root(html).iter(f"{SVG}line") if "edge" in el.get("class").split()]
    assert [(el.get("data-source"), el.get("data-target")) for el in lines] == [
        (e.source, e.target) for e in layout.edges
    ]
    for el, edge in zip(lines, layout.edges, strict=True):
        assert el.get("class") == f"edge edge-{edge.kind}"
        assert el.get("marker-end") == f"url(#kb-graph-arrow-{edge.kind})"


def test_graph_svg_says_so_when_there_is_nothing_to_draw():
    html = render_to_string("kb/_graph_svg.html", {"layout": layout_graph([], [])})

    assert "<svg" not in html
    assert "No runbooks" in html
