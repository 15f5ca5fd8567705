import { expect, test } from "@playwright/test";
import { expectAccessible, newEmail, PASSWORD, screenshot, storyText, watchConsole, watchGrowth } from "./helpers";

test("a parent sets up a child and a device; the child reads two chapters", async ({ browser }) => {
  const parentContext = await browser.newContext();
  const parent = await parentContext.newPage();
  const parentErrors = watchConsole(parent);

  await parent.goto("/parent");
  await expectAccessible(parent, "sign in");
  await parent.getByRole("button", { name: "Create an account" }).click();
  await parent.getByLabel("Email").fill(newEmail());
  await parent.getByLabel("Password").fill(PASSWORD);
  await parent.getByRole("button", { name: "Create account" }).click();
  await expect(parent.getByRole("heading", { name: "Your children" })).toBeVisible();

  await parent.getByRole("button", { name: "Add a child" }).click();
  await parent.getByLabel("Name").fill("Mia");
  await parent.getByLabel("Age").fill("6");
  await parent.getByLabel("Interests (separated by commas)").fill("owls, boats");
  await parent.getByRole("button", { name: "Add child" }).click();
  await parent.getByRole("switch", { name: /Space Adventure/ }).check();
  await expect(parent.getByRole("switch", { name: /Space Adventure/ })).toBeChecked();
  await parent.getByRole("switch", { name: /Under the Sea/ }).check();
  await expect(parent.getByRole("switch", { name: /Under the Sea/ })).toBeChecked();
  await expectAccessible(parent, "console themes");
  await screenshot(parent, "console-themes");

  await parent.getByRole("tab", { name: "Devices" }).click();
  await parent.getByRole("button", { name: "Pair a reading app" }).click();
  const code = (await parent.getByLabel("Pairing code").innerText()).trim();
  expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  await screenshot(parent, "parent-console", true);

  const childContext = await browser.newContext({ viewport: { width: 820, height: 1180 } });
  const child = await childContext.newPage();
  const childErrors = watchConsole(child);
  await child.goto("/");
  await expectAccessible(child, "pairing");
  await screenshot(child, "pairing");
  await child.getByLabel("Pairing code").fill(code);
  await child.getByRole("button", { name: "Pair this device" }).click();
  await expect(child.getByRole("heading", { name: "Hello, Mia!" })).toBeVisible();
  // The device token lives in local storage, never in the address.
  expect(child.url()).not.toContain("token");
  await expect(child.getByRole("button", { name: /Under the Sea/ })).toBeVisible();
  await expectAccessible(child, "home");
  await screenshot(child, "home");

  await child.getByRole("button", { name: /Space Adventure/ }).click();
  await expect(child.getByLabel("Story text")).toHaveAttribute("aria-busy", "true");
  await expect.poll(async () => (await storyText(child)).length, { timeout: 30_000 }).toBeGreaterThan(80);
  await screenshot(child, "reading-mid-stream", true);
  const lengths = await watchGrowth(child);
  expect(lengths.length).toBeGreaterThanOrEqual(3);
  expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
  await expect(child.getByRole("status")).toHaveText("The end of this chapter.");
  const choices = child.getByRole("region", { name: /What|happen/ }).getByRole("button");
  await expect(choices.first()).toBeVisible();
  expect(await choices.count()).toBeGreaterThanOrEqual(2);
  await expectAccessible(child, "reading, chapter done");
  await screenshot(child, "chapter-done");
  const chapterOne = await storyText(child);

  await choices.first().click();
  await expect(child.getByLabel("Story text")).toHaveAttribute("aria-busy", "true");
  await expect(child.getByRole("status")).toHaveText("The end of this chapter.", { timeout: 60_000 });
  const chapterTwo = await storyText(child);
  expect(chapterTwo.length).toBeGreaterThan(40);
  expect(chapterTwo).not.toEqual(chapterOne);

  // The parent's library review shows both chapters with their verdicts.
  await parent.getByRole("tab", { name: "Library" }).click();
  await expect(parent.getByRole("row").filter({ hasText: "chapter 2" })).toContainText("Approved");
  await parent.getByRole("button", { name: /Review chapter 1/ }).click();
  await expect(parent.getByText("Reading time")).toBeVisible();
  await expectAccessible(parent, "console library");
  await screenshot(parent, "console-library");

  // The child's library: the series, its chapters, favourite and read marks.
  await child.getByRole("button", { name: "Back to stories" }).click();
  await child.getByRole("link", { name: "My library" }).click();
  await child.getByRole("link", { name: /Space Adventure/ }).click();
  await child.getByRole("link", { name: "Chapter 1" }).click();
  await child.getByRole("button", { name: "☆ Make favourite" }).click();
  await expect(child.getByRole("button", { name: "★ Favourite" })).toBeVisible();
  await child.getByRole("button", { name: "Mark as read" }).click();
  await expect(child.getByRole("button", { name: "Read ✓" })).toBeDisabled();
  await expectAccessible(child, "library chapter");
  await screenshot(child, "library-chapter");

  // The parent signs out; the console asks to sign in again.
  await parent.getByRole("button", { name: "Sign out" }).click();
  await expect(parent.getByRole("heading", { name: "Sign in" })).toBeVisible();

  expect(parentErrors).toEqual([]);
  expect(childErrors).toEqual([]);
});
