import { storeConformance } from "./_conformance.ts";
import { openMemoryDatabase } from "./memory_store.ts";

storeConformance(
  "memory",
  () => Promise.resolve({ db: openMemoryDatabase(), cleanup: () => Promise.resolve() }),
);
