// Where this device's training images come from: the organiser's dataset (downloaded once), or
// digits the person draws here and keeps in this tab. Either way only model updates leave it.
import { useCallback, useEffect, useState } from 'react';
import { addDrawing, deleteDrawing, listDrawings, type StoredDrawing } from './drawings';
import { DrawCard } from './DrawCard';

export type DataMode = 'dataset' | 'drawn';

const MODE_KEY = 'fedbit.dataMode';

/** The data choice (remembered in this browser) and the kept drawings. */
export function useDataChoice() {
  const [mode, setModeState] = useState<DataMode>(() => (localStorage.getItem(MODE_KEY) === 'drawn' ? 'drawn' : 'dataset'));
  const [drawings, setDrawings] = useState<StoredDrawing[]>([]);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(() => listDrawings().then(setDrawings, (e: Error) => setError(e.message)), []);
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
  return { mode, setMode, drawings, save, remove, error };
}

export type DataChoice = ReturnType<typeof useDataChoice>;

/** What the privacy line says, true to the data source chosen. */
export function dataNote(mode: DataMode, count: number): string {
  return mode === 'drawn'
    ? `This device trains on your ${count} drawing${count === 1 ? '' : 's'}. They stay in this browser: only a compressed model update is sent.`
    : 'This device downloads a public set of handwritten digits (MNIST) from the organiser and trains on its share of it. It sends back only a compressed model update.';
}

export function DataCard({ choice, locked }: { choice: DataChoice; locked: boolean }) {
  const { mode, setMode, drawings, save, remove, error } = choice;
  if (locked) {
    return (
      <div className="card small muted" data-testid="data-source" data-mode={mode}>
        {dataNote(mode, drawings.length)}
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
      {mode === 'drawn' && <DrawCard drawings={drawings} onSave={save} onDelete={remove} />}
      {error && (
        <p className="small error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
