// better-sqlite3 comes in through @prisma/adapter-better-sqlite3 without its types; the part the bench uses.
declare module "better-sqlite3" {
  namespace Database {
    interface Statement {
      run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }
    interface Database {
      prepare(sql: string): Statement;
      pragma(source: string): unknown;
      close(): void;
    }
  }
  const Database: new (file: string, options?: { readonly?: boolean; timeout?: number }) => Database.Database;
  export default Database;
}
