// The person's own data, kept in this browser (IndexedDB, this origin only) and nowhere else: one
// database, a store per kind (drawings, photos). The device page reads them and hands them to its
// training worker; no request ever carries them.
const DB_NAME = 'fedbit';
/** 1: drawings; 2: photos added beside them (an upgrade from 1 keeps the drawings). */
const DB_VERSION = 2;
export type LocalStore = 'drawings' | 'photos';
const STORES: readonly LocalStore[] = ['drawings', 'photos'];

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      for (const name of STORES) if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name, { keyPath: 'id', autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`this browser's storage (IndexedDB) could not be opened: ${request.error?.message ?? 'unknown error'}`));
  });
}

/** One request on one store, in its own transaction. */
export async function inStore<T>(store: LocalStore, mode: IDBTransactionMode, act: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = act(db.transaction(store, mode).objectStore(store));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(`saving or reading ${store} failed: ${request.error?.message ?? 'unknown error'}`));
    });
  } finally {
    db.close();
  }
}

/** Every record of a store, oldest first, less those this version cannot read (`problem` says why, or null). */
export async function listStore<T extends { id: number }>(store: LocalStore, problem: (record: unknown) => string | null): Promise<T[]> {
  const all = (await inStore(store, 'readonly', (s) => s.getAll())) as unknown[];
  return all.filter((r): r is T => problem(r) === null && Number.isInteger((r as T).id));
}

export async function deleteFromStore(store: LocalStore, id: number): Promise<void> {
  await inStore(store, 'readwrite', (s) => s.delete(id));
}
