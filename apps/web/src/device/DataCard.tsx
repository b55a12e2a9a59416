// Where this device's training images come from: the organiser's dataset (downloaded once), digits
// the person draws here, or photos the person chooses; drawings and photos are kept in this tab.
// Whichever it is, only model updates leave it.
import { useCallback, useEffect, useState } from 'react';
import { addDrawing, deleteDrawing, listDrawings, type StoredDrawing } from './drawings';
import { DrawCard } from './DrawCard';
import { addPhotos, deletePhoto, listPhotos, type StoredPhoto } from './photos';
import { PhotoCard } from './PhotoCard';

export type DataMode = 'dataset' | 'drawn' | 'photos';
const MODES: readonly DataMode[] = ['dataset', 'drawn', 'photos'];

const MODE_KEY = 'fedbit.dataMode';

/** The data choice (remembered in this browser) and the kept drawings. */
export function useDataChoice() {
  const [mode, setModeState] = useState<DataMode>(() => {
    const kept = localStorage.getItem(MODE_KEY) as DataMode | null;
    return kept && MODES.includes(kept) ? kept : 'dataset';
  });
  const [drawings, setDrawings] = useState<StoredDrawing[]>([]);
  const [photos, setPhotos] = useState<StoredPhoto[]>([]);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(
    () => Promise.all([listDrawings().then(setDrawings), listPhotos().then(setPhotos)]).catch((e: Error) => setError(e.message)),
    [],
  );
  useEffect(() => void refresh(), [refresh]);
  const setMode = (next: DataMode) => {
    localStorage.setItem(MODE_KEY, next);
    setModeState(next);
  };
  const save = async (label: number, pixels: Uint8Array) => {
    await addDrawing({ label, pixels });
    await refresh();
  };
  const remove = (id: number) => void deleteDrawing(id).then(refresh, (e: Error) => setError(e.message));
  const addPhotoFiles = async (files: File[]) => {
    const problems = await addPhotos(files, photos.length);
    await refresh();
    return problems;
  };
  const removePhoto = (id: number) => void deletePhoto(id).then(refresh, (e: Error) => setError(e.message));
  /** How many images of the person's own the chosen mode trains on (0 in dataset mode). */
  const ownCount = mode === 'drawn' ? drawings.length : mode === 'photos' ? photos.length : 0;
  return { mode, setMode, drawings, save, remove, photos, addPhotoFiles, removePhoto, ownCount, error };
}

export type DataChoice = ReturnType<typeof useDataChoice>;

/** What the privacy line says, true to the data source chosen. */
export function dataNote(mode: DataMode, count: number): string {
  if (mode === 'photos') return `This device trains on your ${count} photo${count === 1 ? '' : 's'} (small copies kept in this browser). They never leave it: only a compressed model update is sent.`;
  return mode === 'drawn'
    ? `This device trains on your ${count} drawing${count === 1 ? '' : 's'}. They stay in this browser: only a compressed model update is sent.`
    : 'This device downloads a public set of handwritten digits (MNIST) from the organiser and trains on its share of it. It sends back only a compressed model update.';
}

export function DataCard({ choice, locked }: { choice: DataChoice; locked: boolean }) {
  const { mode, setMode, drawings, save, remove, photos, addPhotoFiles, removePhoto, ownCount, error } = choice;
  if (locked) {
    return (
      <div className="card small muted" data-testid="data-source" data-mode={mode}>
        {dataNote(mode, ownCount)}
      </div>
    );
  }
  return (
    <div className="card" data-testid="data-source" data-mode={mode} style={{ display: 'grid', gap: '0.6rem' }}>
      <h2 style={{ margin: 0 }}>Training images</h2>
      <label className="choice">
        <input type="radio" name="data-mode" data-testid="mode-dataset" checked={mode === 'dataset'} onChange={() => setMode('dataset')} />
        Digits from the organiser (downloaded once)
      </label>
      <label className="choice">
        <input type="radio" name="data-mode" data-testid="mode-drawn" checked={mode === 'drawn'} onChange={() => setMode('drawn')} />
        My own drawings ({drawings.length} kept in this browser)
      </label>
      <label className="choice">
        <input type="radio" name="data-mode" data-testid="mode-photos" checked={mode === 'photos'} onChange={() => setMode('photos')} />
        My own photos ({photos.length} kept in this browser; best in a run on colour pictures)
      </label>
      {mode === 'drawn' && <DrawCard drawings={drawings} onSave={save} onDelete={remove} />}
      {mode === 'photos' && <PhotoCard photos={photos} onAdd={addPhotoFiles} onDelete={removePhoto} />}
      {error && (
        <p className="small error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
