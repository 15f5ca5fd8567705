import { describe, expect, it } from "vitest";
import { Api, ApiError } from "./api";

function recording(responses: Response[]) {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input), authorization: new Headers(init?.headers).get("Authorization") });
    const next = responses.shift();
    if (!next) throw new Error("no more responses");
    return next;
  };
  return { calls, fetch };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("Api", () => {
  it("refreshes once on a 401 and retries with the new token", async () => {
    let token = "old";
    const { calls, fetch } = recording([json({ detail: "expired" }, 401), json([])]);
    const api = new Api({ token: () => token, fetch, refresh: async () => ((token = "new"), true) });
    expect(await api.listChildren()).toEqual([]);
    expect(calls.map((call) => call.authorization)).toEqual(["Bearer old", "Bearer new"]);
  });

  it("refreshes before the first call when it has no access token (after a reload)", async () => {
    let token: string | null = null;
    const { calls, fetch } = recording([json([])]);
    const api = new Api({ token: () => token, fetch, refresh: async () => ((token = "fresh"), true) });
    await api.listChildren();
    expect(calls).toEqual([{ url: "/api/v1/children", authorization: "Bearer fresh" }]);
  });

  it("turns an error answer into an ApiError with the field messages", async () => {
    const { fetch } = recording([
      json({ detail: "name: String should match pattern", errors: [{ loc: ["body", "name"], msg: "String should match pattern" }] }, 422),
    ]);
    const api = new Api({ token: () => "t", fetch });
    const error = await api.createChild({ name: "<b>", age: 6 } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect((error as ApiError).errorFor("name")).toBe("String should match pattern");
  });
});
