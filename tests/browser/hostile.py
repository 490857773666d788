# ruff: noqa: E501  (payload lines are long on purpose)
"""A runbook with hostile text in every section (issue 3: rendered inert in the browser)."""

# Every payload tries alert() and sets window.__pwned. ``P(tag)`` builds one per section so a
# failure can be traced to the section whose payload ran.


def P(tag: str) -> str:
    return (
        f"<script>window.__pwned=1;alert('{tag}')</script>"
        f" <img src=x onerror=\"window.__pwned=1;alert('{tag}-img')\">"
        f" <svg onload=\"window.__pwned=1;alert('{tag}-svg')\"></svg>"
        f" [{tag} link](javascript:window.__pwned=1;alert('{tag}-link'))"
        f" <a href=\"javascript:window.__pwned=1;alert('{tag}-a')\">{tag} anchor</a>"
        f" <b onmouseover=\"window.__pwned=1;alert('{tag}-hover')\">{tag} hover</b>"
        f' <div hx-get="/" hx-on:htmx:load="window.__pwned=1;alert(\'{tag}-htmx\')">x</div>'
        f" {{{{ request.user }}}} {{% now 'Y' %}} {{{{ 7|add:'1' }}}} zorblax{tag}"
    )


def cell(tag: str) -> str:
    # Table cells: no block HTML (it would break the table row), but inline payloads.
    return (
        f"<img src=x onerror=\"window.__pwned=1;alert('{tag}-img')\">"
        f" <svg onload=\"window.__pwned=1;alert('{tag}-svg')\"></svg>"
        f" [{tag}](javascript:window.__pwned=1;alert('{tag}-link'))"
        f" <script>window.__pwned=1;alert('{tag}')</script>"
        f" {{{{ request.user }}}} {{% now 'Y' %}} zorblax{tag}"
    )


HOSTILE_RUNBOOK = f"""# Debug: Zorblax <script>window.__pwned=1;alert('title')</script> <img src=x onerror="window.__pwned=1;alert('title-img')"> {{{{ request.user }}}} {{% now 'Y' %}}

{P("summary")}

**Symptom:** {P("symptom")}

## Quick Diagnosis

| Pattern | Likely cause |
|---|---|
| Zorblax first pattern {cell("pattern")} | {cell("diagnosis")} |
| Zorblax second pattern {cell("pattern2")} | {cell("diagnosis2")} |

## Likely Causes (ranked by frequency)

1. Zorblax first cause {cell("cause")} — {P("causedetail")}
2. Zorblax second cause {cell("cause2")} — {P("cause2detail")}

## First Checks (fastest signal first)

- Zorblax first check {cell("check")} — {P("checkdetail")}
- Zorblax second check {cell("check2")} — {P("check2detail")}

**Signal example:** {P("signal")}

## Drill Paths

| Suspect | Go to |
|---|---|
| {cell("suspect")} | cloud/kubernetes |
| {cell("suspect2")} | javascript:alert('drill') |
| {cell("suspect3")} | <script>alert('drilltarget')</script> |

## Fix Patterns

- {P("fix")}
- Zorblax second cause fix {cell("fix2")}

## When This Is Not the Issue

If {P("condition")}:

- {P("nti1")}
- {P("nti2")}

Pivot to cloud/blue-green-deployment {P("pivot")}
Pivot to javascript:alert('pivot') {P("pivot2")}

## Connections

cloud/kubernetes · javascript:alert('conn') · <script>alert('conn2')</script> · [x](javascript:alert('conn3')) · {{{{ request.user }}}}

## Open Questions

- {P("question")}

## Related reading

- {P("reading")}

## Zorblax <script>window.__pwned=1;alert('extra-title')</script> Extra {{{{ request.user }}}}

{P("extra")}

<iframe src="javascript:window.__pwned=1;alert('iframe')"></iframe>
<form action="javascript:alert('form')"><button formaction="javascript:alert('btn')">go</button></form>
<object data="javascript:alert('object')"></object>
<meta http-equiv="refresh" content="0;url=javascript:alert('meta')">
<style>body{{background:url("javascript:alert('style')")}}</style>
"""
