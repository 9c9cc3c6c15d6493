import bcrypt from "bcryptjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "@/lib/api/errors";
import { parseScrypt, PasswordHasher, SCRYPT_PARAMS, type ScryptParams } from "@/lib/auth/password-hasher";
import { NextRequest } from "next/server";
import { PEER_ADDRESS_HEADER } from "@/lib/api/client-address";
import { verifyCredentials } from "@/lib/auth/passwords";
import { guardAuthPost } from "@/lib/auth/sign-in-guard";
import { AuthThrottle } from "@/lib/auth/throttle";
import { TrustedProxies } from "@/lib/trusted-proxies";
import { resolveDatabase } from "@/lib/db/database-url";
import { openDatabase, type Database } from "@/lib/server/database";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

/**
 * The password-hashing pool (lib/auth/password-hasher.ts): real worker threads, real scrypt and
 * real bcrypt hashes. Cheap scrypt parameters keep the suite fast, except where the defaults are
 * the point.
 */
const CHEAP: ScryptParams = { ln: 10, r: 8, p: 1, keyBytes: 32, saltBytes: 16 };

const hashers: PasswordHasher[] = [];
function hasher(options: ConstructorParameters<typeof PasswordHasher>[0] = {}): PasswordHasher {
  const made = new PasswordHasher({ params: CHEAP, ...options });
  hashers.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(hashers.splice(0).map((made) => made.close()));
});

describe("PasswordHasher", () => {
  it("hashes with scrypt in its stored format and verifies only the right password", async () => {
    const pool = hasher({ threads: 2 });
    const hash = await pool.hash("correct horse battery");
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await pool.hash("correct horse battery")).not.toBe(hash); // a salt of its own
    expect(await pool.verify("correct horse battery", hash)).toEqual({ ok: true, rehash: false });
    expect(await pool.verify("correct horse batterY", hash)).toEqual({ ok: false, rehash: false });
    expect(await pool.verifyNothing("correct horse battery")).toEqual({ ok: false, rehash: false });
  });

  it("answers many hashes at once correctly, each to its own caller", async () => {
    const pool = hasher({ threads: 2, maxQueued: 64 });
    const passwords = Array.from({ length: 24 }, (_, i) => `password number ${i}`);
    const hashes = await Promise.all(passwords.map((password) => pool.hash(password)));
    const checks = await Promise.all(hashes.map((hash, i) => Promise.all([pool.verify(passwords[i]!, hash), pool.verify(passwords[(i + 1) % passwords.length]!, hash)])));
    expect(checks.map(([own, other]) => [own.ok, other.ok])).toEqual(passwords.map(() => [true, false]));
    expect(pool.load).toEqual({ running: 0, queued: 0 });
  });

  it("with the default parameters (32 MiB of scrypt memory) too", async () => {
    const pool = new PasswordHasher({ threads: 1 });
    hashers.push(pool);
    const hash = await pool.hash("correct horse battery");
    expect(parseScrypt(hash)?.params).toEqual({ ln: SCRYPT_PARAMS.ln, r: SCRYPT_PARAMS.r, p: SCRYPT_PARAMS.p, keyBytes: SCRYPT_PARAMS.keyBytes, saltBytes: SCRYPT_PARAMS.saltBytes });
    expect((await pool.verify("correct horse battery", hash)).ok).toBe(true);
  });

  it("refuses a flood past its queue at once with 503 server_busy and Retry-After, and still answers the rest", async () => {
    const pool = hasher({ threads: 1, maxQueued: 3 });
    const flood = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => pool.hash(`flood ${i}`)));
    const accepted = flood.filter((result) => result.status === "fulfilled");
    const refused = flood.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    // One running, three waiting; the other eight refused without waiting.
    expect(accepted).toHaveLength(4);
    expect(refused).toHaveLength(8);
    for (const { reason } of refused) {
      expect(isApiError(reason)).toBe(true);
      expect(reason).toMatchObject({ code: "server_busy", status: 503 });
      expect(Number((reason as { headers: Record<string, string> }).headers["Retry-After"])).toBeGreaterThanOrEqual(1);
    }
    for (const [i, result] of flood.entries()) {
      if (result.status === "fulfilled") expect((await pool.verify(`flood ${i}`, result.value)).ok).toBe(true);
    }
  });

  it("says when it is full before any work is queued (requireCapacity)", async () => {
    const pool = hasher({ threads: 1, maxQueued: 1 });
    pool.requireCapacity();
    const running = pool.hash("one");
    const waiting = pool.hash("two");
    expect(pool.load).toEqual({ running: 1, queued: 1 });
    expect(() => pool.requireCapacity()).toThrowError(expect.objectContaining({ code: "server_busy" }) as Error);
    await Promise.all([running, waiting]);
    expect(() => pool.requireCapacity()).not.toThrow();
  });

  it("verifies hashes made before with bcrypt (in a thread too) and asks for them to be replaced", async () => {
    const pool = hasher();
    const legacy = bcrypt.hashSync("correct horse battery", 4);
    expect(await pool.verify("correct horse battery", legacy)).toEqual({ ok: true, rehash: true });
    expect(await pool.verify("wrong horse battery", legacy)).toEqual({ ok: false, rehash: false });
  });

  it("asks for a hash with other parameters to be replaced, and never matches an unreadable one", async () => {
    const older = await hasher({ params: { ...CHEAP, ln: 9 } }).hash("correct horse battery");
    const pool = hasher();
    expect(await pool.verify("correct horse battery", older)).toEqual({ ok: true, rehash: true });
    for (const stored of ["", "plain text", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$2b$12$short", older.slice(0, -4)]) {
      expect((await pool.verify("correct horse battery", stored)).ok).toBe(false);
    }
  });

  it("refuses hashes asked for after close", async () => {
    const pool = hasher();
    await pool.close();
    await expect(pool.hash("late")).rejects.toMatchObject({ code: "server_busy" });
    expect(() => pool.requireCapacity()).toThrowError(expect.objectContaining({ code: "server_busy" }) as Error);
  });

  it("makes the sign-in guard answer 503 in the error shape, with the sign-in page's ServerBusy, before next-auth runs", async () => {
    const pool = hasher();
    await pool.close(); // a pool with no room, without depending on how long a hash takes
    const throttle = new AuthThrottle({ RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: 0, RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE: 0, SIGNIN_FAILURES_BEFORE_DELAY: 3 });
    const deps = { config: { trustedProxies: new TrustedProxies(""), publicBaseUrl: "http://localhost:3999" }, authThrottle: throttle, passwordHasher: pool };
    const request = (action: string) =>
      new NextRequest(`http://localhost:3999/api/auth/${action}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", [PEER_ADDRESS_HEADER]: "192.0.2.7" },
        body: new URLSearchParams({ email: "a@example.com", password: "correct horse battery" }).toString(),
      });
    const refused = await guardAuthPost(deps, request("callback/credentials"), ["callback", "credentials"]);
    expect(refused).toBeInstanceOf(Response);
    const answer = refused as Response;
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await answer.json()).toMatchObject({ success: false, error: { code: "server_busy" }, url: "http://localhost:3999/signin?error=ServerBusy" });
    // Other next-auth POSTs (sign-out) hash nothing and pass.
    expect(await guardAuthPost(deps, request("signout"), ["signout"])).toBeInstanceOf(NextRequest);
  });
});

describe.each(["sqlite", "postgresql"] as const)("sign-in on %s with an account hashed before with bcrypt", (provider) => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase(provider);
    database = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
  });

  afterAll(async () => {
    await database.close();
    await testDb.drop();
  });

  it("signs in, and the stored hash becomes scrypt; a wrong password changes nothing", async () => {
    const pool = hasher();
    const legacy = bcrypt.hashSync("correct horse battery", 4);
    const user = await database.prisma.user.create({ data: { email: `legacy-${provider}@example.com`, passwordHash: legacy } });
    const stored = async () => (await database.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash!;

    expect(await verifyCredentials({ store: database.store, passwordHasher: pool }, { email: user.email, password: "wrong horse battery" })).toBeNull();
    expect(await stored()).toBe(legacy);

    expect(await verifyCredentials({ store: database.store, passwordHasher: pool }, { email: user.email, password: "correct horse battery" })).toEqual({ id: user.id, email: user.email, name: null });
    const upgraded = await stored();
    expect(upgraded).toMatch(/^\$scrypt\$/);
    expect((await pool.verify("correct horse battery", upgraded)).ok).toBe(true);

    // The next sign-in uses the new hash and leaves it as it is.
    expect(await verifyCredentials({ store: database.store, passwordHasher: pool }, { email: user.email, password: "correct horse battery" })).not.toBeNull();
    expect(await stored()).toBe(upgraded);
    expect(await verifyCredentials({ store: database.store, passwordHasher: pool }, { email: "nobody@example.com", password: "correct horse battery" })).toBeNull();
  });
});
