// The README's "Use it in your project" recipe for a local clone, done as a
// stranger would: a fresh folder outside the checkout, the README's
// deno.json block (with the clone's path filled in), a script importing
// every entry of the exports map, then `deno check` and `deno run` there.
// (The two jsr: recipes cannot be run here: jsr.io is unreachable.)
import assert from "node:assert/strict";
import { ROOT, run } from "./_run.ts";

/** The JSON code block of the README's "Use it in your project" section. */
async function readmeImportMap(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("## Use it in your project");
  assert.notEqual(start, -1, "README.md has no 'Use it in your project'");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const block = section.match(/```json\n([\s\S]*?)```/);
  assert.ok(block, "the section has no ```json block");
  return block[1];
}

/** The package's exports map: entry ("." or "./x") -> file. */
async function exportsMap(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return config.exports;
}

/** "@twisted-deno/core" + the entry without its leading ".". */
function specifier(entry: string): string {
  return "@twisted-deno/core" + entry.slice(1);
}

Deno.test("the README's import map names every entry of the exports map, at its file", async () => {
  const map = JSON.parse(await readmeImportMap()).imports as Record<
    string,
    string
  >;
  const exports = await exportsMap();
  const expected = Object.fromEntries(
    Object.entries(exports).map((
      [entry, file],
    ) => [specifier(entry), "../twisted-deno/" + file.slice(2)]),
  );
  assert.deepEqual(map, expected);
});

Deno.test("from an empty folder outside the checkout, the README's recipe imports every entry", async () => {
  const home = await Deno.makeTempDir({ prefix: "twisted-deno-user-" });
  try {
    assert.ok(
      !home.startsWith(ROOT),
      "the project must be outside the checkout",
    );
    const checkout = ROOT.replace(/\/$/, "");
    const config = (await readmeImportMap()).replaceAll(
      '"../twisted-deno/',
      `"${checkout}/`,
    );
    await Deno.writeTextFile(`${home}/deno.json`, config);

    const exports = await exportsMap();
    const entries = Object.keys(exports);
    const lines = entries.map((entry, i) =>
      `import * as m${i} from "${specifier(entry)}";`
    );
    lines.push(
      `const modules = { ${
        entries.map((e, i) => `${JSON.stringify(e)}: m${i}`).join(", ")
      } };`,
      "for (const [entry, m] of Object.entries(modules)) {",
      "  console.log(`${entry} ${Object.keys(m).length}`);",
      "}",
      // A little real use: a Deferred chain and a Clock from two entries.
      'import { succeed } from "@twisted-deno/core/deferred";',
      'import { Clock } from "@twisted-deno/core/testing";',
      "const clock = new Clock();",
      "let fired = false;",
      "clock.callLater(1, () => fired = true);",
      "clock.advance(1);",
      "succeed(41).addCallback((n) => console.log(`works: ${n + 1} ${fired}`));",
    );
    await Deno.writeTextFile(`${home}/main.ts`, lines.join("\n") + "\n");

    const checked = await run(["check", "main.ts"], { cwd: home, ms: 120_000 });
    assert.equal(checked.code, 0, checked.stderr);

    const ran = await run(["run", "main.ts"], { cwd: home, ms: 60_000 });
    assert.equal(ran.code, 0, ran.stderr);
    const out = ran.stdout.trim().split("\n");
    assert.equal(out.pop(), "works: 42 true");
    assert.deepEqual(out.map((l) => l.split(" ")[0]), entries);
    for (const line of out) {
      assert.ok(Number(line.split(" ")[1]) > 0, `${line}: exports nothing`);
    }

    // Without the map, the same import fails as the issue describes.
    await Deno.writeTextFile(`${home}/deno.json`, "{}\n");
    const bare = await run(["run", "main.ts"], { cwd: home, ms: 60_000 });
    assert.notEqual(bare.code, 0);
    assert.match(
      bare.stderr,
      /"@twisted-deno\/core\/deferred" not a dependency|not a dependency/,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
