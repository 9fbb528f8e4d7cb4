// sysconfig's ciphertext is standard age: the real `age` CLI decrypts what sysconfig encrypts and
// sysconfig decrypts what `age -r … -a` encrypts; fingerprints identify a ciphertext, not a value.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { InvalidInputError } from "../reconciler/errors.js";
import { decryptWith, encryptTo } from "../reconciler/secrets/age.js";
import { fingerprintOf } from "../reconciler/secrets/fingerprint.js";
import { newIdentity, parseIdentities, readIdentities } from "../reconciler/secrets/identity.js";
import { isRecipient } from "../reconciler/secrets/recipients.js";
import { ageCli, ageKeygen } from "./helpers/age-cli.js";
import { tempDir } from "./helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("sysconfig-age-"));
});
afterAll(() => cleanup());

describe("age interoperability with the age CLI", () => {
  it("age -d -i decrypts what sysconfig encrypted to an age-keygen recipient", async () => {
    const key = ageKeygen();
    const file = path.join(dir, "cli-key.txt");
    await writeFile(file, key.text, { mode: 0o600 });
    const armored = await encryptTo("s3cret value\nwith a second line", [key.recipient]);
    expect(armored).toMatch(
      /^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+-----END AGE ENCRYPTED FILE-----\n$/,
    );
    expect(ageCli("age", ["-d", "-i", file], armored)).toBe("s3cret value\nwith a second line");
  });

  it("sysconfig decrypts what age -r … -a encrypted to a sysconfig keygen recipient", async () => {
    const key = await newIdentity();
    const armored = ageCli("age", ["-r", key.recipient, "-a"], "from the age CLI");
    const identities = await parseIdentities(key.text, "key.txt");
    expect(identities.recipients).toEqual([key.recipient]);
    expect(await decryptWith(armored, identities.identities)).toBe("from the age CLI");
  });

  it("encrypts to several recipients, each of which decrypts alone", async () => {
    const a = ageKeygen();
    const b = await newIdentity();
    const armored = await encryptTo("shared", [a.recipient, b.recipient]);
    const fileA = path.join(dir, "a.txt");
    await writeFile(fileA, a.text, { mode: 0o600 });
    expect(ageCli("age", ["-d", "-i", fileA], armored)).toBe("shared");
    expect(await decryptWith(armored, (await parseIdentities(b.text, "b")).identities)).toBe("shared");
  });

  it("a keygen identity file is read by age -d -i too", async () => {
    const key = await newIdentity();
    const file = path.join(dir, "sysconfig-key.txt");
    await writeFile(file, key.text, { mode: 0o600 });
    const armored = await encryptTo("both ways", [key.recipient]);
    expect(ageCli("age", ["-d", "-i", file], armored)).toBe("both ways");
    expect(ageCli("age-keygen", ["-y", file]).trim()).toBe(key.recipient);
  });

  it("a wrong identity cannot decrypt", async () => {
    const right = await newIdentity();
    const wrong = await newIdentity();
    const armored = await encryptTo("not for you", [right.recipient]);
    await expect(
      decryptWith(armored, (await parseIdentities(wrong.text, "wrong")).identities),
    ).rejects.toThrow();
  });
});

describe("fingerprints", () => {
  it("are the same for the same ciphertext whatever its armor line breaks, and differ per encryption", async () => {
    const key = await newIdentity();
    const one = await encryptTo("same value", [key.recipient]);
    const two = await encryptTo("same value", [key.recipient]);
    expect(fingerprintOf(one)).toMatch(/^age:[0-9a-f]{16}$/);
    expect(fingerprintOf(one)).toBe(fingerprintOf(one.replace(/\n/g, "\r\n")));
    expect(fingerprintOf(one)).not.toBe(fingerprintOf(two));
  });
});

describe("recipients and identity files", () => {
  it("accepts an age X25519 recipient and refuses a bad checksum, a post-quantum one and garbage", async () => {
    const { recipient } = await newIdentity();
    expect(isRecipient(recipient)).toBe(true);
    const flipped = recipient.slice(0, -1) + (recipient.endsWith("q") ? "p" : "q");
    expect(isRecipient(flipped)).toBe(false);
    expect(isRecipient("age1pq1" + "q".repeat(60))).toBe(false);
    expect(isRecipient("ssh-ed25519 AAAA")).toBe(false);
  });

  it("refuses an identity file line that is not a key, naming the line but not echoing it", async () => {
    const text = "# comment\nAGE-SECRET-KEY-1NOTAKEY hunter2\n";
    const error = await parseIdentities(text, "bad.txt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain("bad.txt: line 2");
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("a missing identity file is exit 3 naming the file", async () => {
    const error = await readIdentities(path.join(dir, "absent.txt")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain("absent.txt");
  });
});
