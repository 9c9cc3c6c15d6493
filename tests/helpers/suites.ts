import { afterAll, beforeAll } from "vitest";
import { startProductionStack, type ProductionStack } from "../fakes/production-stack";
import { createUserWithToken } from "./api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "./db";
import { startServer, type RunningServer } from "./server";

/**
 * Setup that describe blocks share. Each `use…` registers the block's beforeAll and afterAll and
 * returns an object its tests read once beforeAll has filled it in.
 */

export interface TestUser {
  userId: string;
  token: string;
}

export interface RouteSuite<Routes> {
  database: TestDatabase;
  routes: Routes;
  alice: TestUser;
  bob: TestUser;
}

/**
 * For tests that call route handlers in this process: a database on `provider` with the test
 * runtime installed (`env` on top), the routes loaded after it, and two users, alice and bob
 * (`<users>-alice-<provider>@example.com`). All gone after the block.
 */
export function useRouteSuite<Routes>(provider: Provider, options: { users: string; env: Record<string, string>; loadRoutes: () => Promise<Routes> }): RouteSuite<Routes> {
  const suite = {} as RouteSuite<Routes>;
  beforeAll(async () => {
    suite.database = await createTestDatabase(provider);
    await useTestEnvironment(suite.database, options.env);
    suite.routes = await options.loadRoutes();
    suite.alice = await createUserWithToken(`${options.users}-alice-${provider}@example.com`);
    suite.bob = await createUserWithToken(`${options.users}-bob-${provider}@example.com`);
  });
  afterAll(async () => {
    await closeTestEnvironment();
    await suite.database.drop();
  });
  return suite;
}

export interface ServerSuite {
  database: TestDatabase;
  /** An API token of the block's user. */
  token: string;
  /** Starts the production server on the block's database (DATABASE_URL, DATA_DIR) with `env` on top. */
  start(env?: Record<string, string>): Promise<RunningServer>;
}

/**
 * For tests that run the real server as a process (and kill it): a database on `provider` with the
 * test runtime installed in this process too (to read what the servers wrote), and one user. Every
 * server the block started is stopped after it, then the database dropped.
 */
export function useServerSuite(provider: Provider, email: string): ServerSuite {
  const servers: RunningServer[] = [];
  const suite: ServerSuite = {
    database: undefined as unknown as TestDatabase,
    token: "",
    async start(env = {}) {
      const server = await startServer({ DATABASE_URL: suite.database.url, DATA_DIR: suite.database.dataDir, ...env });
      servers.push(server);
      return server;
    },
  };
  beforeAll(async () => {
    suite.database = await createTestDatabase(provider);
    await useTestEnvironment(suite.database);
    ({ token: suite.token } = await createUserWithToken(email));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await closeTestEnvironment();
    await suite.database.drop();
  });
  return suite;
}

export interface ProductionStackSuite {
  stack: ProductionStack;
  database: TestDatabase;
}

/**
 * For tests of the production providers: the Replicate and Cloudinary fakes (the real SDKs talk to
 * them), a SQLite database, and the test runtime on both. All stopped after the block.
 */
export function useProductionStackSuite(): ProductionStackSuite {
  const suite = {} as ProductionStackSuite;
  beforeAll(async () => {
    suite.stack = await startProductionStack();
    suite.database = await createTestDatabase("sqlite");
    await useTestEnvironment(suite.database, suite.stack.env({}));
  });
  afterAll(async () => {
    await closeTestEnvironment();
    await suite.database.drop();
    await suite.stack.stop();
  });
  return suite;
}
