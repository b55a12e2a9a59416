// The person's drawings, kept in this browser (IndexedDB, this origin only) and nowhere else: the
// device page reads them and hands them to its training worker; no request ever carries them.
import { drawingProblem, type Drawing } from '@fedbit/datasets/drawn';

const DB_NAME = 'fedbit';
const STORE = 'drawings';

export interface StoredDrawing extends Drawing {
  id: number;
  createdAt: number;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`this browser's storage (IndexedDB) could not be opened: ${request.error?.message ?? 'unknown error'}`));
  });
}

async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = act(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(`saving or reading drawings failed: ${request.error?.message ?? 'unknown error'}`));
    });
  } finally {
    db.close();
  }
}

/** Every stored drawing, oldest first; records this version cannot read are left out. */
export async function listDrawings(): Promise<StoredDrawing[]> {
  const all = (await run('readonly', (s) => s.getAll())) as unknown[];
  return all.filter((d): d is StoredDrawing => drawingProblem(d) === null && Number.isInteger((d as StoredDrawing).id));
}

export async function addDrawing(drawing: Drawing): Promise<void> {
  const problem = drawingProblem(drawing);
  if (problem) throw new Error(`this drawing cannot be kept: ${problem}`);
  await run('readwrite', (s) => s.add({ label: drawing.label, pixels: drawing.pixels, createdAt: Date.now() }));
}

export async function deleteDrawing(id: number): Promise<void> {
  await run('readwrite', (s) => s.delete(id));
}
