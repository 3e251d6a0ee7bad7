"""`tabwright mcp --policy ask` with the official MCP Python SDK: approvals arrive as MCP
elicitation requests, answered here as a person would (approve the plan, refuse the deletion);
a client without elicitation support gets a clear tool error instead of a hang.

Usage: elicitation_check.py BINARY FIXTURES_URL
Prints PASS and exits 0 when every check passed; otherwise prints what failed and exits 1.
"""

import asyncio
import sys

import mcp.types as types
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from outline import ref_of


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


asked = []


async def person(context, params):
    message = params.message
    asked.append(message)
    if "proposes a plan" in message:
        return types.ElicitResult(action="accept", content={"approve": True})
    return types.ElicitResult(action="accept", content={"approve": False, "reason": "keep my account"})


async def with_person(binary, fixtures):
    params = StdioServerParameters(command=binary, args=["mcp", "--policy", "ask"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=person) as s:
            await s.initialize()
            names = {t.name for t in (await s.list_tools()).tools}
            if "update_plan" not in names:
                fail(f"update_plan is not offered under --policy ask: {sorted(names)}")
            page = fixtures + "injection.html"
            r = await s.call_tool("navigate", {"url": page})
            if not r.is_error or "update_plan" not in text_of(r):
                fail(f"acting without a plan was not refused: {text_of(r)}")
            host = page.split("/")[2].split(":")[0]
            r = await s.call_tool("update_plan", {"domains": [host], "approach": ["open the shop", "look", "report"]})
            if r.is_error or not text_of(r).startswith("approved"):
                fail(f"update_plan: {text_of(r)}")
            r = await s.call_tool("navigate", {"url": page})
            if r.is_error:
                fail(f"navigate on the plan: {text_of(r)}")
            outline = text_of(await s.call_tool("read_page", {}))
            if "untrusted_page_content" not in outline:
                fail("page content is not marked as untrusted")
            ref = ref_of(outline, "button", "Delete account")
            if ref is None:
                fail(f"no Delete account button:\n{outline[:1500]}")
            r = await s.call_tool("computer", {"action": "left_click", "ref": ref})
            if not r.is_error or "keep my account" not in text_of(r):
                fail(f"the refused deletion ran or said nothing: {text_of(r)}")
            st = text_of(await s.call_tool("get_page_text", {}))
            if "ready" not in st or "DELETED" in st:
                fail(f"status after the refusal: {st}")
            # Every page script is confirmed, even one that only reads.
            r = await s.call_tool("javascript_tool", {"code": "document.querySelector('#status').textContent"})
            if not r.is_error or "keep my account" not in text_of(r):
                fail(f"a page script ran without the person: {text_of(r)}")
            if len(asked) != 3 or "Delete account" not in asked[1] or "page scripts" not in asked[2]:
                fail(f"questions asked: {asked}")


async def without_elicitation(binary, fixtures):
    params = StdioServerParameters(command=binary, args=["mcp", "--policy", "auto"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            page = fixtures + "injection.html"
            r = await s.call_tool("navigate", {"url": page})
            if r.is_error:
                fail(f"auto mode navigate: {text_of(r)}")
            outline = text_of(await s.call_tool("read_page", {}))
            ref = ref_of(outline, "button", "Place order")
            if ref is None:
                fail(f"no Place order button:\n{outline[:1500]}")
            r = await asyncio.wait_for(s.call_tool("computer", {"action": "left_click", "ref": ref}), 30)
            if not r.is_error or "does not support elicitation" not in text_of(r):
                fail(f"a risky click without elicitation support: {text_of(r)}")


async def main():
    binary, fixtures = sys.argv[1], sys.argv[2]
    await with_person(binary, fixtures)
    await without_elicitation(binary, fixtures)
    print("PASS", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
