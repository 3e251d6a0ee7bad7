"""Drives `tabwright mcp` with the official MCP Python SDK (a real MCP client).

Usage:
  client_check.py stdio BINARY FIXTURES_URL
  client_check.py http  MCP_URL FIXTURES_URL [TOKEN]

Exits 0 when every check passed; otherwise prints what failed and exits 1.
"""

import asyncio
import base64
import sys

import httpx2 as httpx  # the SDK's own HTTP client
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from outline import ref_of

BROWSER_TOOLS = {
    "tabs_context", "tabs_create", "navigate", "read_page", "find", "computer", "form_input",
    "get_page_text", "javascript_tool", "read_console_messages", "read_network_requests",
    "resize_window", "upload_image",
}


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def exercise(session, fixtures):
    init = await session.initialize()
    if init.server_info.name != "tabwright":
        fail(f"server name is {init.server_info.name!r}")
    tools = await session.list_tools()
    names = {t.name for t in tools.tools}
    missing = BROWSER_TOOLS - names
    if missing:
        fail(f"tools/list lacks {sorted(missing)}")
    for t in tools.tools:
        if t.input_schema.get("type") != "object":
            fail(f"{t.name} has no object schema")

    nav = await session.call_tool("navigate", {"url": fixtures + "buttons.html"})
    if nav.is_error or "HTTP 200" not in text_of(nav):
        fail(f"navigate: {text_of(nav)}")
    page = await session.call_tool("read_page", {})
    outline = text_of(page)
    ref = ref_of(outline, "button", "Save")
    if ref is None:
        fail(f"read_page has no Save button:\n{outline[:2000]}")
    click = await session.call_tool("computer", {"action": "left_click", "ref": ref})
    if click.is_error:
        fail(f"click: {text_of(click)}")
    status = await session.call_tool("javascript_tool", {"code": "document.querySelector('#status').textContent"})
    if "clicked: Save" not in text_of(status):
        fail(f"the click did not reach the page: {text_of(status)}")

    shot = await session.call_tool("computer", {"action": "screenshot"})
    images = [c for c in shot.content if getattr(c, "type", "") == "image"]
    if shot.is_error or len(images) != 1 or images[0].mime_type != "image/png":
        fail(f"screenshot did not return one PNG image: {shot}")
    if base64.b64decode(images[0].data)[1:4] != b"PNG":
        fail("screenshot data is not a PNG")

    bad = await session.call_tool("navigate", {})
    if not bad.is_error or "missing field `url`" not in text_of(bad):
        fail(f"bad parameters were not a tool error naming the field: {bad}")
    stale = await session.call_tool("computer", {"action": "left_click", "ref": "e987654"})
    if not stale.is_error or "read_page" not in text_of(stale):
        fail(f"stale ref: {text_of(stale)}")
    try:
        unknown = await session.call_tool("teleport", {})
        if not unknown.is_error or "teleport" not in text_of(unknown):
            fail(f"unknown tool: {unknown}")
    except Exception as e:  # a protocol error is fine too, if it names the tool
        if "teleport" not in str(e):
            fail(f"unknown tool error does not name it: {e}")
    # The session still works after the errors.
    again = await session.call_tool("read_page", {"filter": "interactive"})
    if again.is_error or '- button "Save" [e' not in text_of(again):
        fail(f"session broken after errors: {text_of(again)}")


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        binary, fixtures = sys.argv[2], sys.argv[3]
        params = StdioServerParameters(command=binary, args=["mcp"])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session, fixtures)
    elif mode == "http":
        url, fixtures = sys.argv[2], sys.argv[3]
        token = sys.argv[4] if len(sys.argv) > 4 else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            async with streamable_http_client(url, http_client=client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await exercise(session, fixtures)
    else:
        fail(f"unknown mode {mode}")
    print("PASS", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
