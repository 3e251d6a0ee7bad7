"""Reading refs out of a read_page outline (host/src/outline/GRAMMAR.md), for the MCP checks."""

import json
import re


def ref_of(outline, role, name):
    """The ref of the first element ROLE "NAME", written as a line (`- ROLE "NAME" [e4]`) or
    inline in a line's content (`[ROLE "NAME" e4 …]`); None when there is none."""
    head = re.escape(f"{role} {json.dumps(name, ensure_ascii=False)}")
    m = re.search(rf"(?:^\s*- {head} \[|\[{head} )((?:f\d+)?e\d+)", outline, re.M)
    return m.group(1) if m else None
