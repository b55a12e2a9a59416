// The person's drawings, kept in this browser (local-store.ts) and nowhere else.
import { drawingProblem, type Drawing } from '@fedbit/datasets/drawn';
import { deleteFromStore, inStore, listStore } from './local-store';

export interface StoredDrawing extends Drawing {
  id: number;
  createdAt: number;
}

/** Every stored drawing, oldest first; records this version cannot read are left out. */
export function listDrawings(): Promise<StoredDrawing[]> {
  return listStore<StoredDrawing>('drawings', drawingProblem);
}

export async function addDrawing(drawing: Drawing): Promise<void> {
  const problem = drawingProblem(drawing);
  if (problem) throw new Error(`this drawing cannot be kept: ${problem}`);
  await inStore('drawings', 'readwrite', (s) => s.add({ label: drawing.label, pixels: drawing.pixels, createdAt: Date.now() }));
}

export function deleteDrawing(id: number): Promise<void> {
  return deleteFromStore('drawings', id);
}
