// The person's own photos, kept in this browser (local-store.ts) as 32x32 copies and nowhere else;
// the pictures themselves are read once, here, to make the copy.
import { MAX_PHOTOS, PHOTO_SIZE, centreSquare, framePhoto, photoProblem, type Photo } from '@fedbit/datasets/photos';
import { deleteFromStore, inStore, listStore } from './local-store';

export interface StoredPhoto extends Photo {
  id: number;
  createdAt: number;
}

/** Every stored photo, oldest first; records this version cannot read are left out. */
export function listPhotos(): Promise<StoredPhoto[]> {
  return listStore<StoredPhoto>('photos', photoProblem);
}

export function deletePhoto(id: number): Promise<void> {
  return deleteFromStore('photos', id);
}

/**
 * A picture file (JPEG, PNG, HEIC where the browser decodes it...) as a kept 32x32 photo: its centred
 * square drawn at 4x the kept size by the browser, then area-averaged (framePhoto).
 */
async function photoOf(file: File): Promise<Uint8Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: this browser cannot read it as a picture (expected a photo: JPEG, PNG, WebP...)`);
  }
  try {
    const { x, y, side } = centreSquare(bitmap.width, bitmap.height);
    const px = PHOTO_SIZE * 4;
    const canvas = document.createElement('canvas');
    canvas.width = px;
    canvas.height = px;
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, x, y, side, side, 0, 0, px, px);
    return framePhoto(ctx.getImageData(0, 0, px, px).data, px, px);
  } finally {
    bitmap.close();
  }
}

/** Keeps the chosen pictures; says which could not be read, and stops at MAX_PHOTOS. */
export async function addPhotos(files: readonly File[], kept: number): Promise<string[]> {
  const problems: string[] = [];
  let count = kept;
  for (const file of files) {
    if (count >= MAX_PHOTOS) {
      problems.push(`${files.length - files.indexOf(file)} not kept: a tab keeps at most ${MAX_PHOTOS} photos`);
      break;
    }
    try {
      const pixels = await photoOf(file);
      await inStore('photos', 'readwrite', (s) => s.add({ pixels, createdAt: Date.now() }));
      count++;
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}
