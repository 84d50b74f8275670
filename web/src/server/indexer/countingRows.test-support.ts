/** Test support (not a test: the runner's glob is *.test.ts): a store that counts the SQL rows it answers. */
import type { StatementSync } from "node:sqlite";
import type { Store } from "./store.ts";

/** `store` counting the rows its statements answer (`all`, `get`): the SQL rows a read costs. */
export function countingRows(store: Store): { db: Store; rows: () => number } {
  let rows = 0;
  const bound = (target: object, key: string | symbol) => {
    const value: unknown = Reflect.get(target, key, target);
    return typeof value === "function" ? value.bind(target) : value;
  };
  const statement = (s: StatementSync) =>
    new Proxy(s, {
      get(target, key) {
        if (key === "all")
          return (...params: Parameters<StatementSync["all"]>) => {
            const answer = target.all(...params);
            rows += answer.length;
            return answer;
          };
        if (key === "get")
          return (...params: Parameters<StatementSync["get"]>) => {
            const answer = target.get(...params);
            if (answer !== undefined) rows += 1;
            return answer;
          };
        return bound(target, key);
      },
    });
  const db = new Proxy(store, {
    get(target, key) {
      if (key === "prepare") return (sql: string) => statement(target.prepare(sql));
      return bound(target, key);
    },
  });
  return { db, rows: () => rows };
}
