// Test fixture: TLS certificates made with Debian's openssl at test time
// (never committed). rustls refuses a self-signed certificate that is also
// its own CA, so this makes a CA and a leaf it signs: the leaf has
// basicConstraints CA:FALSE, keyUsage digitalSignature/keyEncipherment,
// extendedKeyUsage serverAuth/clientAuth, and subjectAltName
// DNS:localhost, IP:127.0.0.1. A second, unrelated CA is made for the
// "wrong CA" tests.

import { hasCommand } from "../../_helpers.ts";

/** PEM texts and the files holding them. */
export interface TestCerts {
  /** The temporary directory (removed when the test process exits). */
  dir: string;
  /** The CA that signed `cert`. */
  caPem: string;
  /** A CA that signed nothing we serve. */
  otherCaPem: string;
  /** The leaf certificate for localhost / 127.0.0.1. */
  certPem: string;
  /** The leaf's private key. */
  keyPem: string;
  /** Paths of the same. */
  caFile: string;
  otherCaFile: string;
  certFile: string;
  keyFile: string;
}

let made: Promise<TestCerts | null> | undefined;

/**
 * The certificates, made once per process; null (with the reason printed)
 * when openssl is absent.
 */
export function testCerts(): Promise<TestCerts | null> {
  made ??= make();
  return made;
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

async function makeCA(dir: string, name: string): Promise<void> {
  await openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=twisted-deno test ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
}

async function make(): Promise<TestCerts | null> {
  if (!hasCommand("openssl")) {
    console.log("skipping TLS tests: openssl is not installed");
    return null;
  }
  const dir = await Deno.makeTempDir({ prefix: "twisted-deno-tls-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  await makeCA(dir, "ca");
  await makeCA(dir, "other-ca");
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "",
    ].join("\n"),
  );
  await openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "2",
    "-extfile",
    "leaf.ext",
  );
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    caPem: await read("ca.pem"),
    otherCaPem: await read("other-ca.pem"),
    certPem: await read("leaf.pem"),
    keyPem: await read("leaf.key"),
    caFile: `${dir}/ca.pem`,
    otherCaFile: `${dir}/other-ca.pem`,
    certFile: `${dir}/leaf.pem`,
    keyFile: `${dir}/leaf.key`,
  };
}
