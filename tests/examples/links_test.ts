// The repository stands alone: every relative link in README.md, docs/*.md
// and bench/README.md points at a file or folder inside the checkout.
import assert from "node:assert/strict";
import { ROOT } from "./_run.ts";

/** The Markdown files whose links are checked. */
async function documents(): Promise<string[]> {
  const docs = ["README.md", "bench/README.md", "examples/README.md"];
  for await (const entry of Deno.readDir(`${ROOT}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      docs.push(`docs/${entry.name}`);
    }
  }
  return docs.sort();
}

/**
 * The link targets of a Markdown text: inline links and images
 * `[text](target)`, and reference definitions `[name]: target`. Code spans
 * and fenced code blocks are skipped.
 *
 * @example
 * assert.deepEqual(linksOf("[a](x.md) `[b](y.md)` [c]: z.md"), ["x.md", "z.md"])
 */
export function linksOf(markdown: string): string[] {
  const text = markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/`[^`\n]*`/g, "");
  const out: string[] = [];
  for (
    const m of text.matchAll(
      /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    )
  ) {
    out.push(m[1]);
  }
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) {
    out.push(m[1]);
  }
  return out;
}

/**
 * Whether deno.json's `publish.exclude` leaves `path` (relative to the
 * root) out of the JSR package: folder prefixes, with `!path` taking a
 * file back in.
 */
function unpublished(path: string, exclude: string[]): boolean {
  if (exclude.includes(`!${path}`)) return false;
  return exclude.some((e) =>
    !e.startsWith("!") &&
    (path === e || (e.endsWith("/") && path.startsWith(e)))
  );
}

/** Whether `target` leaves the document's folder for somewhere else. */
function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//");
}

Deno.test("linksOf finds inline, image and reference links, not code", () => {
  assert.deepEqual(
    linksOf(
      [
        'See [the docs](docs/a.md) and ![logo](img/x.png "Logo").',
        "Not `[code](skip.md)`.",
        "```md",
        "[fenced](skip2.md)",
        "```",
        "[ref]: ../b.md",
        "[site](https://example.com/x)",
      ].join("\n"),
    ),
    ["docs/a.md", "img/x.png", "https://example.com/x", "../b.md"],
  );
});

Deno.test("every relative link in README.md and docs/ resolves inside the repository", async (t) => {
  const root = new URL("../../", import.meta.url);
  const rootPath = decodeURIComponent(root.pathname);
  const config = JSON.parse(await Deno.readTextFile(`${rootPath}deno.json`));
  const exclude: string[] = config.publish.exclude;
  let checked = 0;
  for (const doc of await documents()) {
    await t.step(doc, async () => {
      const text = await Deno.readTextFile(`${rootPath}${doc}`);
      const broken: string[] = [];
      for (const link of linksOf(text)) {
        if (isExternal(link) || link.startsWith("#")) continue;
        const path = link.split("#")[0].split("?")[0];
        if (path === "") continue;
        const target = new URL(path, new URL(doc, root));
        const targetPath = decodeURIComponent(target.pathname);
        if (!targetPath.startsWith(rootPath)) {
          broken.push(`${link} (outside the repository)`);
          continue;
        }
        try {
          await Deno.stat(target);
          checked++;
        } catch {
          broken.push(`${link} (no such file)`);
          continue;
        }
        // Readers on JSR see the published files only.
        const relative = targetPath.slice(rootPath.length);
        if (!unpublished(doc, exclude) && unpublished(relative, exclude)) {
          broken.push(`${link} (left out of the JSR package)`);
        }
      }
      assert.deepEqual(broken, [], `${doc} has broken links`);
    });
  }
  assert.ok(checked >= 10, `only ${checked} relative links checked`);
});

Deno.test("README.md and docs/ never point into ../shared", async () => {
  for (const doc of await documents()) {
    const text = await Deno.readTextFile(`${ROOT}${doc}`);
    assert.doesNotMatch(text, /\.\.\/shared\b/, doc);
  }
});
