"""The decision tree, without a database."""

from kb.tree import (
    TreeCause,
    TreeCheck,
    TreeFix,
    TreeLink,
    TreePattern,
    TreeRunbook,
    build_tree,
)


def make_runbook(slug="a", drill_to="b") -> TreeRunbook:
    return TreeRunbook(
        slug=slug,
        title=f"Runbook {slug}",
        symptom="Things break",
        condition="If it broke before the deploy:",
        not_the_issue_items=("Not a regression",),
        pivots=(TreeLink("debugging", "for a systematic approach", True, "Debugging"),),
        patterns=(
            TreePattern("all", "Errors everywhere", "App failing", ("env",)),
            TreePattern("some", "Errors on one path", "Bug", ()),
        ),
        causes=(TreeCause("env", "Env var missing", ""), TreeCause("bug", "Code bug", "")),
        checks=(
            TreeCheck("logs", "Read logs", "", 2, ("env", "bug")),
            TreeCheck("diff", "Diff deploy", "", 5, ("bug",)),
        ),
        fixes=(TreeFix("Roll back", ("bug",)),),
        drill_paths=(
            TreeLink(drill_to, "Go deeper", True, "B"),
            TreeLink("missing/one", "Unwritten", False),
        ),
    )


def ids(node) -> list[str]:
    return [child.id for child in node.children]


def test_build_tree_orders_gate_patterns_then_none():
    root = build_tree(make_runbook())
    assert ids(root) == ["gate", "p-all", "p-some", "none"]
    assert root.detail == "Things break"


def test_build_tree_gate_holds_items_and_pivots():
    gate = build_tree(make_runbook()).find("gate")
    assert [c.kind for c in gate.children] == ["item", "pivot"]
    assert gate.children[1].target == "debugging"


def test_build_tree_pattern_lists_its_causes_then_drill_paths():
    pattern = build_tree(make_runbook()).find("p-all")
    assert [c.label for c in pattern.children] == ["Env var missing", "Go deeper", "Unwritten"]
    assert [c.kind for c in pattern.children] == ["cause", "drill", "drill"]


def test_build_tree_pattern_without_links_lists_every_cause_by_rank():
    pattern = build_tree(make_runbook()).find("p-some")
    assert [c.label for c in pattern.children if c.kind == "cause"] == [
        "Env var missing",
        "Code bug",
    ]


def test_build_tree_cause_order_can_be_overridden_per_pattern():
    root = build_tree(make_runbook(), cause_order={"some": ["bug", "env"]})
    causes = [c.label for c in root.find("p-some").children if c.kind == "cause"]
    assert causes == ["Code bug", "Env var missing"]


def test_build_tree_cause_shows_its_checks_and_fixes():
    cause = build_tree(make_runbook()).find("p-some/c-bug")
    assert [(c.kind, c.label) for c in cause.children] == [
        ("check", "Read logs"),
        ("check", "Diff deploy"),
        ("fix", "Roll back"),
    ]
    assert cause.children[1].minutes == 5


def test_build_tree_marks_missing_targets():
    drill = build_tree(make_runbook()).find("p-all/d-2")
    assert drill.target == "missing/one"
    assert not drill.exists


def test_build_tree_marks_runbooks_already_on_the_path():
    # B drills back to A while A is above it on the path: a cycle, shown but not followed.
    root = build_tree(make_runbook(slug="b", drill_to="a"), trail=["a"])
    drill = root.find("p-all/d-1")
    assert drill.on_path
    self_loop = build_tree(make_runbook(slug="a", drill_to="a")).find("p-all/d-1")
    assert self_loop.on_path


def test_build_tree_expands_the_path_to_the_open_node():
    root = build_tree(make_runbook(), open_id="p-some/c-bug")
    assert root.find("p-some").expanded
    assert root.find("p-some/c-bug").expanded
    assert not root.find("p-all").expanded
    assert [n.label for n in root.path_to("p-some/c-bug")] == ["Errors on one path", "Code bug"]


def test_build_tree_ignores_an_unknown_open_node():
    root = build_tree(make_runbook(), open_id="p-nope/c-x")
    assert not any(child.expanded for child in root.children)
    assert root.find("p-nope/c-x") is None


def test_build_tree_cause_without_linked_checks_shows_general_checks():
    base = make_runbook()
    runbook = TreeRunbook(
        **{
            **base.__dict__,
            "causes": base.causes + (TreeCause("x", "Unlinked cause", ""),),
            "checks": base.checks + (TreeCheck("gen", "General check", "", 9, ()),),
        }
    )
    linked = build_tree(runbook).find("none/c-env")
    assert [(c.label, c.general) for c in linked.children] == [("Read logs", False)]
    unlinked = build_tree(runbook).find("none/c-x")
    assert [(c.label, c.general) for c in unlinked.children] == [("General check", True)]
