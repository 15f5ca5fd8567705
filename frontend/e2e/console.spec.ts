import { expect, test } from "@playwright/test";
import { expectAccessible, family, pairDevice, pairingCode, PASSWORD, watchConsole } from "./helpers";

test("a parent edits a child, sees the service's messages inline, and deletes with confirmation", async ({
  browser,
  request,
}) => {
  const home = await family(request, "Noah");
  const page = await (await browser.newContext()).newPage();
  const errors = watchConsole(page);
  await page.goto("/parent");
  await page.getByLabel("Email").fill(home.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Noah, 6" }).click();

  await page.getByLabel("Age").fill("8");
  await page.getByLabel("Blocked topics (separated by commas)").fill("spiders, thunder");
  await page.getByLabel("Story length").selectOption("short");
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page.getByRole("button", { name: "Noah, 8" })).toBeVisible();
  const saved = await request.get(`/api/v1/children/${home.childId}`, { headers: { Authorization: `Bearer ${home.token}` } });
  expect(await saved.json()).toMatchObject({ age: 8, blocked_topics: ["spiders", "thunder"], story_length: "short" });

  await page.getByLabel("Name").fill("Noah<script>");
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page.getByText(/String should match pattern/)).toBeVisible();
  await expect(page.getByLabel("Name")).toHaveAttribute("aria-describedby", /name-error/);

  await page.getByRole("tab", { name: "Themes" }).click();
  await page.getByLabel("Theme title").fill("ab");
  await page.getByLabel("What it is about").fill("Too short");
  await page.getByRole("button", { name: "Add theme" }).click();
  await expect(page.getByText(/at least 3 characters/)).toBeVisible();
  await page.getByLabel("Theme title").fill("Grandma's Garden");
  await page.getByLabel("What it is about").fill("Growing tomatoes and beans with Grandma in the summer");
  await page.getByRole("button", { name: "Add theme" }).click();
  await expect(page.getByRole("switch", { name: /Grandma's Garden.*family theme/ })).toBeVisible();
  await expectAccessible(page, "console themes with errors");

  await page.getByRole("tab", { name: "Profile" }).click();
  await page.getByRole("button", { name: "Delete Noah" }).click();
  await page.getByRole("button", { name: "Keep Noah" }).click();
  await page.getByRole("button", { name: "Delete Noah" }).click();
  await page.getByRole("button", { name: "Yes, delete Noah" }).click();
  await expect(page.getByRole("button", { name: /Noah, / })).toHaveCount(0);
  // The failed saves above answered 422: the browser logs those requests; nothing else.
  expect(errors.filter((text) => !text.includes("422"))).toEqual([]);
});

test("a revoked device goes back to pairing", async ({ browser, request }) => {
  const home = await family(request);
  const child = await (await browser.newContext()).newPage();
  await pairDevice(child, await pairingCode(request, home));

  const parent = await (await browser.newContext()).newPage();
  const errors = watchConsole(parent);
  await parent.goto("/parent");
  await parent.getByLabel("Email").fill(home.email);
  await parent.getByLabel("Password").fill(PASSWORD);
  await parent.getByRole("button", { name: "Sign in" }).click();
  await expect(parent.getByRole("button", { name: "Mia, 6" })).toBeVisible();
  // A reload keeps the parent signed in (the refresh token), without a failed request first.
  await parent.reload();
  await parent.getByRole("button", { name: "Mia, 6" }).click();
  await parent.getByRole("tab", { name: "Devices" }).click();
  await parent.getByRole("button", { name: "Revoke reading app" }).click();
  await expect(parent.getByText("(revoked)")).toBeVisible();
  await expectAccessible(parent, "console devices");

  await child.reload();
  await expect(child.getByLabel("Pairing code")).toBeVisible();
  expect(errors).toEqual([]);
});
