import { storeConformance } from "./_conformance.ts";
import { openDatabase } from "./level_store.ts";

storeConformance("level", async () => {
  const dir = await Deno.makeTempDir({ prefix: "virgo-kv-" });
  const subject = {
    db: await openDatabase(dir),
    reopen: async () => {
      await subject.db.close();
      return await openDatabase(dir);
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
  return subject;
});
