/** Shared steps of the browser journeys: accounts through the API, pairing, checks. */
import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const PASSWORD = "a long enough password";
// The README's two screenshots are kept in docs/; every other screen in test-results/.
const README_SCREENSHOTS = join(import.meta.dirname, "..", "..", "docs", "screenshots");
const SCREENSHOTS = join(import.meta.dirname, "..", "test-results", "screenshots");

let counter = 0;
export function newEmail(): string {
  counter += 1;
  return `parent-${Date.now()}-${counter}@example.com`;
}

/** Every console error and uncaught exception on the page; the test asserts none. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

/** Console errors that are the test's own doing: the browser reports a dropped stream. */
export function unexpected(errors: string[]): string[] {
  return errors.filter((text) => !/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED/.test(text));
}

export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    serious.map((v) => `${screen}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

export async function screenshot(page: Page, name: string, readme = false): Promise<void> {
  const folder = readme ? README_SCREENSHOTS : SCREENSHOTS;
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`), fullPage: false });
}

export interface Family {
  email: string;
  token: string;
  childId: number;
}

/** A parent with a child allowed two themes, made through the API (for the shorter journeys). */
export async function family(request: APIRequestContext, name = "Mia"): Promise<Family> {
  const email = newEmail();
  expect((await request.post("/api/v1/auth/register", { data: { email, password: PASSWORD } })).status()).toBe(202);
  const login = await request.post("/api/v1/auth/login", { data: { email, password: PASSWORD } });
  const token = (await login.json()).access_token as string;
  const headers = { Authorization: `Bearer ${token}` };
  const child = await request.post("/api/v1/children", { data: { name, age: 6 }, headers });
  const childId = (await child.json()).id as number;
  await request.put(`/api/v1/children/${childId}/themes`, { data: { theme_ids: ["space", "ocean"] }, headers });
  return { email, token, childId };
}

export async function pairingCode(request: APIRequestContext, family: Family): Promise<string> {
  const response = await request.post(`/api/v1/children/${family.childId}/pairing-codes`, {
    headers: { Authorization: `Bearer ${family.token}` },
  });
  return (await response.json()).code as string;
}

export async function pairDevice(page: Page, code: string, name = "Mia"): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Pairing code").fill(code);
  await page.getByRole("button", { name: "Pair this device" }).click();
  await expect(page.getByRole("heading", { name: `Hello, ${name}!` })).toBeVisible();
}

/** The story text as the reader sees it, in lengths sampled until the chapter ends. */
export async function watchGrowth(page: Page): Promise<number[]> {
  const story = page.getByLabel("Story text");
  const lengths: number[] = [];
  for (let i = 0; i < 400; i += 1) {
    const busy = await story.getAttribute("aria-busy");
    const length = (await story.innerText()).length;
    if (lengths.at(-1) !== length) lengths.push(length);
    if (busy === "false") break;
    await page.waitForTimeout(150);
  }
  return lengths;
}

export async function storyText(page: Page): Promise<string> {
  return page.getByLabel("Story text").innerText();
}

export async function latestStory(request: APIRequestContext, family: Family) {
  const headers = { Authorization: `Bearer ${family.token}` };
  const page = await (await request.get(`/api/v1/children/${family.childId}/stories`, { headers })).json();
  const id = page.items[0].id as number;
  return (await (await request.get(`/api/v1/stories/${id}`, { headers })).json()) as { content: string; chapter_number: number };
}
