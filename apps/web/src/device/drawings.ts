// The person's drawings, kept in this browser (local-store.ts) and nowhere else.
import { drawingProblem, type Drawing } from '@fedbit/datasets/drawn';
import { inStore } from './local-store';

export interface StoredDrawing extends Drawing {
  id: number;
  createdAt: number;
}

/** Every stored drawing, oldest first; records this version cannot read are left out. */
export async function listDrawings(): Promise<StoredDrawing[]> {
  const all = (await inStore('drawings', 'readonly', (s) => s.getAll())) as unknown[];
  return all.filter((d): d is StoredDrawing => drawingProblem(d) === null && Number.isInteger((d as StoredDrawing).id));
}

export async function addDrawing(drawing: Drawing): Promise<void> {
  const problem = drawingProblem(drawing);
  if (problem) throw new Error(`this drawing cannot be kept: ${problem}`);
  await inStore('drawings', 'readwrite', (s) => s.add({ label: drawing.label, pixels: drawing.pixels, createdAt: Date.now() }));
}

export async function deleteDrawing(id: number): Promise<void> {
  await inStore('drawings', 'readwrite', (s) => s.delete(id));
}
